// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-test: reach PCI devices through VFIO as a userspace driver would,
 * in the boot tests' guest, and say whether VFIO let it.
 *
 *   vfio-test [--refused|--busy] [--hold] container|iommufd|cdev BDF...
 *   vfio-test write FILE TEXT [ERRNO]
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
 * --busy: another user has a device of their isolation group open: the
 *	groups are viable, but opening a device (VFIO_GROUP_GET_DEVICE_FD,
 *	VFIO_DEVICE_BIND_IOMMUFD) fails with EBUSY.
 * --hold: once everything worked, say "holding" and keep the devices open
 *	until killed.
 *
 * write: write TEXT to FILE in one write(2), as "echo -n" would; expect it
 * to succeed, or to fail with ERRNO (a name such as EBUSY).
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
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#define DMA_SIZE	(1UL << 20)
#define DMA_IOVA	(1UL << 32)
#define MAX_DEVICES	8
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* What VFIO must do: let the user in, or refuse it at the gate or the door. */
static enum { WORKS, REFUSED, BUSY } expect;

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
	fputs("vfio-test: FAIL: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	exit(1);
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
			  expect == REFUSED))
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
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(names[i].name, name))
			return names[i].err;
	fail("unknown errno name %s", name);
}

static int write_file(const char *file, const char *text, const char *want)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		fail("open %s: %s", file, strerror(errno));
	n = write(fd, text, strlen(text));
	if (n < 0 && !want)
		fail("write '%s' to %s: %s", text, file, strerror(errno));
	if (n >= 0 && want)
		fail("write '%s' to %s succeeded, but had to fail with %s",
		     text, file, want);
	if (n < 0 && errno != errno_of(want))
		fail("write '%s' to %s failed with %s, not %s", text, file,
		     strerror(errno), want);
	say("write '%s' to %s: %s", text, file, want ? want : "ok");
	close(fd);
	return 0;
}

static void __attribute__((noreturn)) usage(void)
{
	fputs("usage: vfio-test [--refused|--busy] [--hold] container|iommufd|cdev BDF...\n"
	      "       vfio-test write FILE TEXT [ERRNO]\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	bool hold = false;
	const char *mode;

	for (; argc > 1 && !strncmp(argv[1], "--", 2); argc--, argv++) {
		if (!strcmp(argv[1], "--refused"))
			expect = REFUSED;
		else if (!strcmp(argv[1], "--busy"))
			expect = BUSY;
		else if (!strcmp(argv[1], "--hold"))
			hold = true;
		else
			usage();
	}
	if (argc < 3)
		usage();
	mode = argv[1];
	if (!strcmp(mode, "write") && expect == WORKS && !hold &&
	    (argc == 4 || argc == 5))
		return write_file(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
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
	say("%s: %s as expected", mode,
	    expect == WORKS ? "worked" : "refused");
	if (hold && expect == WORKS) {
		say("holding");
		for (;;)
			pause();
	}
	return 0;
}
