// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-test: reach PCI devices through VFIO as a userspace driver would,
 * in the boot tests' guest, and say whether VFIO let it.
 *
 *   vfio-test [--refused|--busy] [--hold] container|iommufd|cdev BDF...
 *   vfio-test --try [--hold-ms MS] container|iommufd|cdev BDF...
 *   vfio-test [--nocap] [--fail-nth N] write FILE TEXT [ERRNO]
 *   vfio-test faults MANAGER_FILE NAME
 *   vfio-test rescan-faults [--points FIRST-LAST] BDF...
 *
 * container: the legacy container (/dev/vfio/vfio): VFIO_GET_API_VERSION;
 *	for the VFIO group of each device, VFIO_GROUP_GET_STATUS and
 *	VFIO_GROUP_SET_CONTAINER; VFIO_SET_IOMMU with type1v2 and
 *	VFIO_IOMMU_MAP_DMA; then VFIO_GROUP_GET_DEVICE_FD and
 *	VFIO_DEVICE_GET_INFO for each device.
 * iommufd: the groups with iommufd (/dev/iommu) as their container:
 *	VFIO_GROUP_GET_STATUS, VFIO_GROUP_SET_CONTAINER, IOMMU_VFIO_IOAS and
 *	IOMMU_IOAS_MAP on the compatibility IOAS, then
 *	VFIO_GROUP_GET_DEVICE_FD for each device.
 * cdev: each device's own cdev (/dev/vfio/devices/vfioN), all with one
 *	iommufd: IOMMU_IOAS_ALLOC, IOMMU_IOAS_MAP, then for each device
 *	VFIO_DEVICE_BIND_IOMMUFD and VFIO_DEVICE_ATTACH_IOMMUFD_PT.
 *
 * One run is one user: its devices may be in several VFIO groups.
 *
 * --refused: their isolation group is not locked, so VFIO must refuse: the
 *	groups not viable, and VFIO_GROUP_SET_CONTAINER or
 *	VFIO_DEVICE_BIND_IOMMUFD failing with EBUSY.
 * --busy: another user has their isolation group (a VFIO group of it
 *	attached, or a device of it open): the groups are viable, but
 *	attaching them (VFIO_GROUP_SET_CONTAINER) or opening a device
 *	(VFIO_DEVICE_BIND_IOMMUFD) fails with EBUSY.
 * --hold: once everything worked, say "holding" and keep the devices open
 *	until killed.
 * --try: for the stress, where anything may be refused: a refusal, or any
 *	failure, ends the run quietly with 0; a run that worked keeps the
 *	devices MS milliseconds (--hold-ms, default 0) and says
 *	"held <BDF> <from> <to>", monotonic nanoseconds within the time it had
 *	them.
 *
 * write: write TEXT to FILE in one write(2), as "echo -n" would; expect it
 * to succeed, or to fail with ERRNO (a name such as EBUSY).  TEXT may hold
 * the escapes \n, \\, \0 and \xHH, for bytes a shell argument cannot.
 * --nocap: write without CAP_SYS_ADMIN, still as root.
 * --fail-nth N: the N-th allocation of the write fails
 *	(/proc/thread-self/fail-nth, failslab); the run fails if the write
 *	made fewer.
 *
 * faults: claim the group of MANAGER_FILE for the manager NAME, then
 * release it, with allocation failures injected one point after another
 * (/proc/thread-self/fail-nth, failslab) until each runs clean: every
 * failure must fail the write, or be absorbed by a write that succeeds,
 * and a failed write must leave the group's manager and state as they
 * were.  Says how many points it injected, and fails if none was met.
 *
 * rescan-faults: remove the first BDF (the top of a PCI subtree, with the
 * others below it) and rescan, with allocation failures injected into the
 * rescan one point after another until it runs clean.  Where a failure
 * left a device present but in no isolation group, it may be on any
 * driver: each isolation group of the others must refuse a claim for
 * "vfio" (EBUSY).  The clean rescan must put every device in one group,
 * which a claim takes.  Says how many points it injected and how many left
 * a device out, and fails if none did.  --points injects only those points,
 * so that a long run can be split across steps: the first range must leave
 * a device out, the last one must end clean.
 *
 * Exits 0 if everything went as expected, 1 otherwise, and says why.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <sys/syscall.h>

#define DMA_SIZE	(1UL << 20)
#define DMA_IOVA	(1UL << 32)
#define MAX_DEVICES	8
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* What VFIO must do: let the user in, or refuse it at the gate or the door. */
static enum { WORKS, REFUSED, BUSY } expect;
static bool trying;

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vfio-test: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	va_end(ap);
}

static void __attribute__((noreturn)) fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs(trying ? "vfio-test: gave up: " : "vfio-test: FAIL: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	exit(trying ? 0 : 1);
}

static int open_or_fail(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		fail("open %s: %s", path, strerror(errno));
	return fd;
}

/* An ioctl that must succeed. */
#define CHECK(fd, req, arg)						\
	do {								\
		if (ioctl(fd, req, arg) < 0)				\
			fail("%s: %s", #req, strerror(errno));		\
		say("%s: ok", #req);					\
	} while (0)

/*
 * A call where VFIO checks the isolation group: it must succeed, or fail
 * with EBUSY if @refuse.  Returns whether it succeeded.
 */
static bool gate(const char *what, int ret, bool refuse)
{
	if (!refuse && ret < 0)
		fail("%s: %s", what, strerror(errno));
	if (refuse && ret >= 0)
		fail("%s succeeded, but VFIO had to refuse it", what);
	if (refuse && errno != EBUSY)
		fail("%s refused with %s, not EBUSY", what, strerror(errno));
	say("%s: %s", what, refuse ? "refused (EBUSY)" : "ok");
	return ret >= 0;
}

static int iommu_group_of(const char *bdf)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		fail("%s has no iommu group: %s", bdf, strerror(errno));
	link[n] = '\0';
	return atoi(strrchr(link, '/') + 1);
}

/* The VFIO groups of the devices, each opened once: fd[i] for device i. */
static void open_groups(int argc, char **argv, int *fd, bool *first)
{
	int id[MAX_DEVICES], i, j;
	char path[32];

	for (i = 0; i < argc; i++) {
		id[i] = iommu_group_of(argv[i]);
		for (j = 0; j < i && id[j] != id[i]; j++)
			;
		first[i] = j == i;
		if (!first[i]) {
			fd[i] = fd[j];
			continue;
		}
		snprintf(path, sizeof(path), "/dev/vfio/%d", id[i]);
		say("%s: group %s", argv[i], path);
		fd[i] = open_or_fail(path);
	}
}

/* GET_STATUS must say viable, unless the isolation group is not locked. */
static void check_viable(int group)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	bool viable;

	CHECK(group, VFIO_GROUP_GET_STATUS, &status);
	viable = status.flags & VFIO_GROUP_FLAGS_VIABLE;
	say("the group is %sviable", viable ? "" : "not ");
	if (viable == (expect == REFUSED))
		fail("the group must %sbe viable", viable ? "not " : "");
}

/* Attach each group once; false if VFIO refused, as it had to. */
static bool set_containers(int argc, int *fd, const bool *first, int container)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (!first[i])
			continue;
		check_viable(fd[i]);
		if (!gate("VFIO_GROUP_SET_CONTAINER",
			  ioctl(fd[i], VFIO_GROUP_SET_CONTAINER, &container),
			  expect != WORKS))
			return false;
	}
	return true;
}

static void *dma_buffer(void)
{
	void *buf = mmap(NULL, DMA_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (buf == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	return buf;
}

static void get_devices(int argc, char **argv, const int *group)
{
	char what[64];
	int i, fd;

	for (i = 0; i < argc; i++) {
		struct vfio_device_info info = { .argsz = sizeof(info) };

		fd = ioctl(group[i], VFIO_GROUP_GET_DEVICE_FD, argv[i]);
		snprintf(what, sizeof(what), "VFIO_GROUP_GET_DEVICE_FD %s",
			 argv[i]);
		if (!gate(what, fd, expect == BUSY))
			continue;
		CHECK(fd, VFIO_DEVICE_GET_INFO, &info);
		say("%s: %u regions, %u irqs", argv[i], info.num_regions,
		    info.num_irqs);
	}
}

static void ioas_map(int iommufd, unsigned int ioas)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
		.user_va = (unsigned long)dma_buffer(),
		.length = DMA_SIZE,
		.iova = DMA_IOVA,
	};

	CHECK(iommufd, IOMMU_IOAS_MAP, &map);
}

static void via_container(int argc, char **argv)
{
	int container = open_or_fail("/dev/vfio/vfio");
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = DMA_IOVA,
		.size = DMA_SIZE,
	};
	int version = ioctl(container, VFIO_GET_API_VERSION);
	int group[MAX_DEVICES];
	bool first[MAX_DEVICES];

	if (version != VFIO_API_VERSION)
		fail("VFIO_GET_API_VERSION: %d, not %d", version,
		     VFIO_API_VERSION);
	say("VFIO_GET_API_VERSION: %d", version);
	if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1)
		fail("the container has no type1v2 IOMMU");

	open_groups(argc, argv, group, first);
	if (!set_containers(argc, group, first, container))
		return;
	CHECK(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
	map.vaddr = (unsigned long)dma_buffer();
	CHECK(container, VFIO_IOMMU_MAP_DMA, &map);
	get_devices(argc, argv, group);
}

static void via_iommufd(int argc, char **argv)
{
	int iommufd = open_or_fail("/dev/iommu");
	struct iommu_vfio_ioas compat = {
		.size = sizeof(compat),
		.op = IOMMU_VFIO_IOAS_GET,
	};
	int group[MAX_DEVICES];
	bool first[MAX_DEVICES];

	open_groups(argc, argv, group, first);
	if (!set_containers(argc, group, first, iommufd))
		return;
	CHECK(iommufd, IOMMU_VFIO_IOAS, &compat);
	ioas_map(iommufd, compat.ioas_id);
	get_devices(argc, argv, group);
}

/* The cdev of a device: /dev/vfio/devices/vfioN, from its vfio-dev/ in sysfs. */
static int open_cdev(const char *bdf)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	dir = opendir(path);
	if (!dir)
		fail("%s has no VFIO device cdev: %s", bdf, strerror(errno));
	while ((d = readdir(dir)) && strncmp(d->d_name, "vfio", 4))
		;
	if (!d)
		fail("%s: no vfioN in %s", bdf, path);
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", d->d_name);
	closedir(dir);
	say("%s: %s", bdf, path);
	return open_or_fail(path);
}

static void via_cdev(int argc, char **argv)
{
	int iommufd = open_or_fail("/dev/iommu");
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int i, dev;

	CHECK(iommufd, IOMMU_IOAS_ALLOC, &alloc);
	ioas_map(iommufd, alloc.out_ioas_id);
	for (i = 0; i < argc; i++) {
		struct vfio_device_bind_iommufd bind = {
			.argsz = sizeof(bind),
			.iommufd = iommufd,
		};
		struct vfio_device_attach_iommufd_pt attach = {
			.argsz = sizeof(attach),
			.pt_id = alloc.out_ioas_id,
		};

		dev = open_cdev(argv[i]);
		if (!gate("VFIO_DEVICE_BIND_IOMMUFD",
			  ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind),
			  expect != WORKS))
			continue;
		CHECK(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
	}
}

static int errno_of(const char *name)
{
	static const struct { const char *name; int err; } names[] = {
		{ "EBUSY", EBUSY }, { "EINVAL", EINVAL }, { "ENODEV", ENODEV },
		{ "EPERM", EPERM }, { "ENOENT", ENOENT }, { "EEXIST", EEXIST },
		{ "EACCES", EACCES }, { "ENXIO", ENXIO },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(names[i].name, name))
			return names[i].err;
	fail("unknown errno name %s", name);
}

/* TEXT with its escapes turned into bytes, into @out; the length. */
static size_t unescape(const char *text, char *out, size_t size)
{
	size_t n = 0;

	for (; *text && n < size; text++) {
		if (*text != '\\') {
			out[n++] = *text;
			continue;
		}
		switch (*++text) {
		case 'n':
			out[n++] = '\n';
			break;
		case '0':
			out[n++] = '\0';
			break;
		case '\\':
			out[n++] = '\\';
			break;
		case 'x':
			if (!text[1] || !text[2])
				fail("\\x needs two hex digits");
			out[n++] = strtol((char[]){ text[1], text[2], 0 }, NULL, 16);
			text += 2;
			break;
		default:
			fail("unknown escape in '%s'", text - 1);
		}
	}
	return n;
}

/* Give up CAP_SYS_ADMIN, staying root, so that only the capability check fails. */
static void drop_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		fail("capget: %s", strerror(errno));
	data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	if (syscall(SYS_capset, &hdr, data))
		fail("capset: %s", strerror(errno));
	say("dropped CAP_SYS_ADMIN");
}

static unsigned int fail_nth;

/* Arm the fail_nth-th allocation failure of this thread, or disarm it. */
static void arm_fail_nth(bool arm)
{
	static int nth_fd = -1;
	char text[16] = "";

	if (!fail_nth)
		return;
	if (nth_fd < 0)
		nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (nth_fd < 0)
		fail("/proc/thread-self/fail-nth: %s", strerror(errno));
	if (!arm) {
		if (pread(nth_fd, text, sizeof(text) - 1, 0) < 0 ||
		    pwrite(nth_fd, "0", 1, 0) < 0)
			fail("fail-nth: %s", strerror(errno));
		if (atoi(text))
			fail("the write made fewer than %u allocations",
			     fail_nth);
		return;
	}
	snprintf(text, sizeof(text), "%u", fail_nth);
	if (pwrite(nth_fd, text, strlen(text), 0) < 0)
		fail("fail-nth: %s", strerror(errno));
}

static int write_file(const char *file, const char *text, const char *want)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC);
	static char buf[8192];
	size_t len = unescape(text, buf, sizeof(buf));
	ssize_t n;
	int err;

	/* A file that cannot be written at all refuses at the open. */
	if (fd < 0 && (!want || errno != errno_of(want)))
		fail("open %s: %s", file, strerror(errno));
	arm_fail_nth(true);
	n = fd < 0 ? -1 : write(fd, buf, len);
	err = errno;
	arm_fail_nth(false);
	errno = err;
	if (n < 0 && !want)
		fail("write '%s' to %s: %s", text, file, strerror(errno));
	if (n >= 0 && want)
		fail("write '%s' to %s succeeded, but had to fail with %s",
		     text, file, want);
	if (n < 0 && errno != errno_of(want))
		fail("write '%s' to %s failed with %s, not %s", text, file,
		     strerror(errno), want);
	say("write '%s' to %s: %s", text, file, want ? want : "ok");
	if (fd >= 0)
		close(fd);
	return 0;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* A sysfs file's first line, into @buf. */
static void read_line(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		fail("open %s: %s", path, strerror(errno));
	n = read(fd, buf, size - 1);
	if (n < 0)
		fail("read %s: %s", path, strerror(errno));
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	close(fd);
}

/* One write of @text to @path, its result: 0 or an errno. */
static int write_once(const char *path, const char *text, int nth_fd,
		      unsigned int nth)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;
	char arm[16];

	if (fd < 0)
		fail("open %s: %s", path, strerror(errno));

	snprintf(arm, sizeof(arm), "%u", nth);
	if (nth && pwrite(nth_fd, arm, strlen(arm), 0) < 0)
		fail("fail-nth: %s", strerror(errno));
	if (write(fd, text, strlen(text)) < 0)
		ret = errno;
	close(fd);
	return ret;
}

/* Whether the armed failure was met; disarms it either way. */
static bool fault_met(int nth_fd)
{
	char left[16] = "";

	if (pread(nth_fd, left, sizeof(left) - 1, 0) < 0)
		fail("fail-nth: %s", strerror(errno));
	if (pwrite(nth_fd, "0", 1, 0) < 0)
		fail("fail-nth: %s", strerror(errno));
	return atoi(left) == 0;
}

/*
 * Write @text to @file with the n-th allocation failing, n = 1, 2, ...,
 * until the write runs clean; @undo, written clean, takes back a write that
 * succeeded anyway.  The number of points injected.
 */
static unsigned int fault_points(const char *file, const char *text,
				 const char *undo, int nth_fd)
{
	char dir[PATH_MAX - 16], state[PATH_MAX], manager[PATH_MAX];
	char state0[64], manager0[64], state1[64], manager1[64];
	unsigned int n, points = 0;
	int err;

	snprintf(dir, sizeof(dir), "%s", file);
	*strrchr(dir, '/') = '\0';
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(manager, sizeof(manager), "%s/manager", dir);
	for (n = 1; n < 5000; n++) {
		read_line(state, state0, sizeof(state0));
		read_line(manager, manager0, sizeof(manager0));
		err = write_once(file, text, nth_fd, n);
		if (!fault_met(nth_fd)) {
			if (err)
				fail("'%s' failed without a fault: %s", text,
				     strerror(err));
			return points;
		}
		points++;
		if (!err) {
			if (write_once(file, undo, nth_fd, 0))
				fail("could not undo '%s'", text);
			continue;
		}
		read_line(state, state1, sizeof(state1));
		read_line(manager, manager1, sizeof(manager1));
		if (strcmp(state0, state1) || strcmp(manager0, manager1))
			fail("fault %u: '%s' failed (%s) but changed %s/%s to %s/%s",
			     n, text, strerror(err), state0, manager0, state1,
			     manager1);
	}
	fail("'%s' never ran clean", text);
}

/* The isolation group of @bdf, into @id ("" if none); whether it exists. */
static bool group_of(const char *bdf, char *id, size_t size)
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s", bdf);
	if (access(link, F_OK))
		return false;
	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/isolation_group",
		 bdf);
	n = readlink(link, target, sizeof(target) - 1);
	target[n < 0 ? 0 : n] = '\0';
	snprintf(id, size, "%s", n < 0 ? "" : strrchr(target, '/') + 1);
	return true;
}

/* A claim of group @id for vfio, taken back at once: 0 or the errno. */
static int claim_once(const char *id)
{
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "/sys/kernel/isolation_groups/%s/manager",
		 id);
	err = write_once(path, "vfio", -1, 0);
	if (!err && write_once(path, "\n", -1, 0))
		fail("could not release group %s", id);
	return err;
}

static int rescan_faults(int n_bdf, char **bdf, unsigned int first,
			 unsigned int last)
{
	int nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	char remove[PATH_MAX], id[MAX_DEVICES][32], *out;
	unsigned int n, points = 0, left_out = 0;
	bool present[MAX_DEVICES], met;
	int i, j, err;

	if (nth_fd < 0)
		fail("/proc/thread-self/fail-nth: %s", strerror(errno));
	if (n_bdf > MAX_DEVICES)
		fail("at most %d devices", MAX_DEVICES);
	snprintf(remove, sizeof(remove), "/sys/bus/pci/devices/%s/remove",
		 bdf[0]);
	for (n = first; n <= last; n++) {
		if (!access(remove, F_OK) && write_once(remove, "1", -1, 0))
			fail("could not remove %s", bdf[0]);
		write_once("/sys/bus/pci/rescan", "1", nth_fd, n);
		met = fault_met(nth_fd);

		out = NULL;
		for (i = 0; i < n_bdf; i++) {
			present[i] = group_of(bdf[i], id[i], sizeof(id[i]));
			if (present[i] && !*id[i])
				out = bdf[i];
		}
		if (!met) {
			for (i = 0; i < n_bdf; i++)
				if (!present[i] || strcmp(id[i], id[0]))
					fail("clean rescan: %s is %s", bdf[i],
					     present[i] ? "apart" : "missing");
			err = claim_once(id[0]);
			if (err)
				fail("clean rescan: group %s cannot be claimed: %s",
				     id[0], strerror(err));
			break;
		}
		points++;
		/* Where it is, should a step hang. */
		printf("rescan faults: point %u: %s\n", n,
		       out ? out : "every device placed");
		fflush(stdout);
		if (!out)
			continue;
		left_out++;
		for (i = 0; i < n_bdf; i++) {
			if (!present[i] || !*id[i])
				continue;
			for (j = 0; j < i && strcmp(id[j], id[i]); j++)
				;
			if (j < i)
				continue;	/* that group was tried */
			err = claim_once(id[i]);
			if (err != EBUSY)
				fail("fault %u: %s is in no isolation group, yet a claim of group %s (of %s) %s",
				     n, out, id[i], bdf[i],
				     err ? strerror(err) : "succeeded");
		}
	}
	if (n > last && last == 5000)
		fail("the rescan never ran clean");
	if (!left_out && first == 1)
		fail("no failure among %u left a device out of its group", points);
	printf("rescan faults: %u points (%u-%u%s), %u left a device out of its group, each group it belongs in refused a claim\n",
	       points, first, n > last ? last : n,
	       n > last ? ", not clean yet" : ", then clean", left_out);
	return 0;
}

static int faults(const char *file, const char *name)
{
	int nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	unsigned int claim, release;

	if (nth_fd < 0)
		fail("/proc/thread-self/fail-nth: %s", strerror(errno));
	claim = fault_points(file, name, "\n", nth_fd);
	release = fault_points(file, "\n", name, nth_fd);
	/* None met: the failslab filter misses the code under test. */
	if (!claim || !release)
		fail("no allocation failed in a claim (%u) or a release (%u)",
		     claim, release);
	printf("faults: %u points in a claim, %u in a release, "
	       "each refused or absorbed, nothing changed\n", claim, release);
	return 0;
}

static void __attribute__((noreturn)) usage(void)
{
	fputs("usage: vfio-test [--refused|--busy] [--hold] container|iommufd|cdev BDF...\n"
	      "       vfio-test --try [--hold-ms MS] container|iommufd|cdev BDF...\n"
	      "       vfio-test [--nocap] [--fail-nth N] write FILE TEXT [ERRNO]\n"
	      "       vfio-test faults MANAGER_FILE NAME\n"
	      "       vfio-test rescan-faults [--points FIRST-LAST] BDF...\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	bool hold = false, nocap = false;
	unsigned long long from;
	unsigned int hold_ms = 0;
	const char *mode;

	for (; argc > 1 && !strncmp(argv[1], "--", 2); argc--, argv++) {
		if (!strcmp(argv[1], "--refused"))
			expect = REFUSED;
		else if (!strcmp(argv[1], "--busy"))
			expect = BUSY;
		else if (!strcmp(argv[1], "--hold"))
			hold = true;
		else if (!strcmp(argv[1], "--nocap"))
			nocap = true;
		else if (!strcmp(argv[1], "--fail-nth") && argc > 2) {
			fail_nth = atoi(argv[2]);
			argc--;
			argv++;
		} else if (!strcmp(argv[1], "--try"))
			trying = true;
		else if (!strcmp(argv[1], "--hold-ms") && argc > 2) {
			hold_ms = atoi(argv[2]);
			argc--;
			argv++;
		} else {
			usage();
		}
	}
	if (argc < 3)
		usage();
	mode = argv[1];
	if (!strcmp(mode, "write") && expect == WORKS && !hold &&
	    (argc == 4 || argc == 5)) {
		if (nocap)
			drop_sys_admin();
		return write_file(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	}
	if (nocap || fail_nth)
		usage();
	if (!strcmp(mode, "faults") && argc == 4)
		return faults(argv[2], argv[3]);
	if (!strcmp(mode, "rescan-faults") && argc > 4 &&
	    !strcmp(argv[2], "--points")) {
		unsigned int first = 0, last = 0;

		if (sscanf(argv[3], "%u-%u", &first, &last) != 2 || !first ||
		    first > last)
			usage();
		return rescan_faults(argc - 4, argv + 4, first, last);
	}
	if (!strcmp(mode, "rescan-faults"))
		return rescan_faults(argc - 2, argv + 2, 1, 5000);
	if (argc - 2 > MAX_DEVICES)
		fail("at most %d devices", MAX_DEVICES);
	if (!strcmp(mode, "container"))
		via_container(argc - 2, argv + 2);
	else if (!strcmp(mode, "iommufd"))
		via_iommufd(argc - 2, argv + 2);
	else if (!strcmp(mode, "cdev"))
		via_cdev(argc - 2, argv + 2);
	else
		usage();
	if (trying) {
		from = now_ns();
		usleep(hold_ms * 1000);
		printf("held %s %llu %llu\n", argv[2], from, now_ns());
		return 0;
	}
	say("%s: %s as expected", mode,
	    expect == WORKS ? "worked" : "refused");
	if (hold && expect == WORKS) {
		say("holding");
		for (;;)
			pause();
	}
	return 0;
}
