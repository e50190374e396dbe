// SPDX-License-Identifier: GPL-2.0
/*
 * A benchmark of device isolation groups against what the kernel does
 * already, on the same fake devices in the same boot: iommu groups for
 * adding and removing devices, the bus's own match for matching, a plain
 * unbind and bind for a claim and a release.  Built in
 * (CONFIG_ISOLATION_BENCHMARK, for a benchmark kernel only), it runs once
 * at the end of a boot whose command line has isolation_bench.run=1, and
 * prints its figures to the kernel log, one per line, each line starting
 * "isolation-bench:"; a script turns them into a table of ratios.
 *
 * Timings under emulation are noisy: each figure is the median of
 * ISOBENCH_REPS runs, with the minimum and maximum, and the two sides of a
 * ratio are measured in turn within each run, so that both meet the same
 * noise.
 */

#define pr_fmt(fmt) "isolation-bench: " fmt

#include <linux/device.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/interrupt.h>
#include <linux/iommu.h>
#include <linux/isolation.h>
#include <linux/jump_label.h>
#include <linux/ktime.h>
#include <linux/mmzone.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/printk.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmstat.h>

#include "../base.h"

#define ISOBENCH_REPS		9
#define ISOBENCH_MATCH_LOOPS	100000
#define ISOBENCH_MAX_DEVICES	16000
#define ISOBENCH_CLAIM_MAX	4096

static const char * const isobench_host_name = "isobench-host";
static const char * const isobench_mgr_name = "isobench-mgr";

struct isobench_device {
	struct device dev;
	const char *want;	/* the name of the driver the bus matches */
};

#define to_isobench_device(d) container_of(d, struct isobench_device, dev)

/* A bus whose match is a name compare, as platform's is. */
static int isobench_match(struct device *dev, const struct device_driver *drv)
{
	return !strcmp(to_isobench_device(dev)->want, drv->name);
}

static const struct bus_type isobench_bus = {
	.name = "isobench",
	.match = isobench_match,
};

static int isobench_probe(struct device *dev)
{
	return 0;
}

static struct device_driver isobench_host_driver = {
	.name = isobench_host_name,
	.bus = &isobench_bus,
	.probe = isobench_probe,
};

static struct device_driver isobench_mgr_driver = {
	.name = isobench_mgr_name,
	.bus = &isobench_bus,
	.probe = isobench_probe,
};

static int isobench_claim_device(struct isolation_manager *mgr,
				 struct device *dev)
{
	return device_driver_attach(&isobench_mgr_driver, dev);
}

static const struct isolation_manager_ops isobench_manager_ops = {
	.claim_device = isobench_claim_device,
};

static struct isolation_manager isobench_manager = {
	.name = "isobench",
	.owner = THIS_MODULE,
	.ops = &isobench_manager_ops,
};

static struct isolation_provider isobench_provider = {
	.name = "isobench",
};

static struct device *isobench_root;
static struct vfsmount *isobench_sysfs;

/*
 * The figures, kept until the end: the run keeps the console quiet, so that
 * the iommu groups' log lines cost what they cost with "quiet", and prints
 * them once it is over.
 */
static char isobench_out[8192];
static size_t isobench_len;
static int isobench_error;

static __printf(1, 2) void isobench_say(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	isobench_len += vscnprintf(isobench_out + isobench_len,
				   sizeof(isobench_out) - isobench_len, fmt,
				   args);
	va_end(args);
}

static void isobench_fail(const char *what, int err)
{
	if (!isobench_error)
		pr_err("%s failed: %d\n", what, err);
	isobench_error = err ?: -EINVAL;
}

static void isobench_release(struct device *dev)
{
	kfree(to_isobench_device(dev));
}

static struct device *isobench_device_add(const char *prefix, int i,
					  const char *want)
{
	struct isobench_device *bdev = kzalloc(sizeof(*bdev), GFP_KERNEL);
	int ret;

	if (!bdev)
		return NULL;
	bdev->want = want;
	device_initialize(&bdev->dev);
	bdev->dev.bus = &isobench_bus;
	bdev->dev.parent = isobench_root;
	bdev->dev.release = isobench_release;
	ret = dev_set_name(&bdev->dev, "%s%d", prefix, i);
	if (!ret)
		ret = device_add(&bdev->dev);
	if (ret) {
		put_device(&bdev->dev);
		return NULL;
	}
	return &bdev->dev;
}

static void isobench_devices_del(struct device **devs, int n)
{
	while (n--)
		device_unregister(devs[n]);
}

/* Add @n devices named @prefix<i>; false if one failed (all undone). */
static bool isobench_devices_add(struct device **devs, int n,
				 const char *prefix, const char *want)
{
	int i;

	for (i = 0; i < n; i++) {
		devs[i] = isobench_device_add(prefix, i, want);
		if (!devs[i]) {
			isobench_devices_del(devs, i);
			return false;
		}
	}
	return true;
}

static int isobench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Say "<what> <median> <min> <max>" of @v[ISOBENCH_REPS]. */
static void isobench_report(const char *what, u64 *v)
{
	sort(v, ISOBENCH_REPS, sizeof(*v), isobench_cmp_u64, NULL);
	isobench_say("%s %llu %llu %llu\n", what, v[ISOBENCH_REPS / 2], v[0],
		     v[ISOBENCH_REPS - 1]);
}

/* Write @s to a group's manager file, as a user would. */
static int isobench_write_manager(struct isolation_group *group,
				  const char *s)
{
	char path[64];
	struct file *f;
	loff_t pos = 0;
	ssize_t ret;

	snprintf(path, sizeof(path), "kernel/isolation_groups/%d/manager",
		 isolation_group_id(group));
	f = file_open_root_mnt(isobench_sysfs, path, O_WRONLY, 0);
	if (IS_ERR(f))
		return PTR_ERR(f);
	ret = kernel_write(f, s, strlen(s), &pos);
	filp_close(f, NULL);
	return ret < 0 ? ret : 0;
}

/* The matches' results, so that the compiler keeps the calls. */
static u64 isobench_sink;

/*
 * Picoseconds per call of the bus's match alone.  Each timed loop of
 * matches runs with interrupts off: under emulation a timer tick costs
 * more than the thousands of calls it would land among.
 */
static noinline u64 isobench_bus_match(const struct device_driver *drv,
				       struct device *dev)
{
	unsigned long flags;
	int i, r = 0;
	u64 t;

	local_irq_save(flags);
	t = ktime_get_ns();
	for (i = 0; i < ISOBENCH_MATCH_LOOPS; i++) {
		OPTIMIZER_HIDE_VAR(dev);
		r += drv->bus->match(dev, drv);
	}
	t = ktime_get_ns() - t;
	local_irq_restore(flags);
	isobench_sink += r;
	return t * 1000 / ISOBENCH_MATCH_LOOPS;
}

/*
 * Picoseconds per call of driver_match_device() as it is without the
 * series: the kernel's own cost, which a system with no group held must
 * not measurably exceed.
 */
static noinline u64 isobench_unhooked_match(const struct device_driver *drv,
					    struct device *dev)
{
	unsigned long flags;
	int i, r = 0;
	u64 t;

	local_irq_save(flags);
	t = ktime_get_ns();
	for (i = 0; i < ISOBENCH_MATCH_LOOPS; i++) {
		OPTIMIZER_HIDE_VAR(dev);
		r += drv->bus->match ? drv->bus->match(dev, drv) : 1;
	}
	t = ktime_get_ns() - t;
	local_irq_restore(flags);
	isobench_sink += r;
	return t * 1000 / ISOBENCH_MATCH_LOOPS;
}

/* Picoseconds per call of driver_match_device(), with the isolation filter. */
static noinline u64 isobench_driver_match(const struct device_driver *drv,
					  struct device *dev)
{
	unsigned long flags;
	int i, r = 0;
	u64 t;

	local_irq_save(flags);
	t = ktime_get_ns();
	for (i = 0; i < ISOBENCH_MATCH_LOOPS; i++) {
		OPTIMIZER_HIDE_VAR(dev);
		r += driver_match_device(drv, dev);
	}
	t = ktime_get_ns() - t;
	local_irq_restore(flags);
	isobench_sink += r;
	return t * 1000 / ISOBENCH_MATCH_LOOPS;
}

static void isobench_match_case(const char *name,
				const struct device_driver *drv,
				struct device *dev)
{
	u64 bus[ISOBENCH_REPS], unhooked[ISOBENCH_REPS], full[ISOBENCH_REPS];
	char what[64];
	int r, k;

	/* The three in turn, each first in its turn, against warm-up effects. */
	for (r = 0; r < ISOBENCH_REPS; r++) {
		for (k = 0; k < 3; k++) {
			switch ((r + k) % 3) {
			case 0:
				bus[r] = isobench_bus_match(drv, dev);
				break;
			case 1:
				unhooked[r] = isobench_unhooked_match(drv, dev);
				break;
			default:
				full[r] = isobench_driver_match(drv, dev);
			}
		}
	}
	snprintf(what, sizeof(what), "match %s bus", name);
	isobench_report(what, bus);
	snprintf(what, sizeof(what), "match %s unhooked", name);
	isobench_report(what, unhooked);
	snprintf(what, sizeof(what), "match %s full", name);
	isobench_report(what, full);
}

/* Whether the match filter is off, as it must be while no group is held. */
static bool isobench_filter_off(void)
{
	if (!static_key_enabled(&isolation_match_filter))
		return true;
	isobench_fail("the match filter is on with no group held", -EBUSY);
	return false;
}

/*
 * A device in no group, one in a group that nobody holds, and, once a
 * third group is held, those two again and a device of the held group
 * with the manager's driver and with a foreign one; last, once the group
 * is released, the device in no group again.
 */
static int isobench_matching(void)
{
	struct isolation_group *unmanaged = NULL, *held = NULL;
	struct device *devs[3];
	int ret = -ENOMEM;

	/* "want" names a driver that is not registered: nothing binds. */
	if (!isobench_devices_add(devs, 3, "isobench-match", "isobench-none"))
		return -ENOMEM;
	unmanaged = isolation_group_alloc(&isobench_provider);
	held = isolation_group_alloc(&isobench_provider);
	if (IS_ERR(unmanaged) || IS_ERR(held)) {
		ret = PTR_ERR(IS_ERR(unmanaged) ? unmanaged : held);
		goto out;
	}
	device_lock(devs[1]);
	ret = isolation_group_add_device(unmanaged, devs[1], "bench");
	device_unlock(devs[1]);
	device_lock(devs[2]);
	ret = ret ?: isolation_group_add_device(held, devs[2], "bench");
	device_unlock(devs[2]);
	if (ret)
		goto out;

	/* The bus matches whichever driver a device "wants". */
	to_isobench_device(devs[0])->want = isobench_host_name;
	to_isobench_device(devs[1])->want = isobench_host_name;
	if (!isobench_filter_off()) {
		ret = -EBUSY;
		goto out;
	}
	isobench_match_case("none-nothing-held", &isobench_host_driver, devs[0]);
	isobench_match_case("unmanaged-nothing-held", &isobench_host_driver,
			    devs[1]);

	/* Held by a claim, which binds the device to the manager's driver. */
	to_isobench_device(devs[2])->want = "isobench-none";
	ret = isobench_write_manager(held, "isobench");
	if (ret)
		goto out;
	isobench_match_case("none", &isobench_host_driver, devs[0]);
	isobench_match_case("unmanaged", &isobench_host_driver, devs[1]);
	to_isobench_device(devs[2])->want = isobench_mgr_name;
	isobench_match_case("held-manager-driver", &isobench_mgr_driver,
			    devs[2]);
	to_isobench_device(devs[2])->want = isobench_host_name;
	isobench_match_case("held-foreign-driver", &isobench_host_driver,
			    devs[2]);
	to_isobench_device(devs[2])->want = "isobench-none";
	ret = isobench_write_manager(held, "\n");
	if (ret)
		goto out;

	/* Nothing held any more: the filter is off again. */
	if (!isobench_filter_off()) {
		ret = -EBUSY;
		goto out;
	}
	isobench_match_case("none-after-release", &isobench_host_driver,
			    devs[0]);
out:
	if (!IS_ERR_OR_NULL(unmanaged))
		isolation_group_put(unmanaged);
	if (!IS_ERR_OR_NULL(held))
		isolation_group_put(held);
	isobench_devices_del(devs, 3);
	return ret;
}

/* Nanoseconds per device to put @n devices into groups of @size. */
static u64 isobench_iso_add(struct device **devs, int n, int size)
{
	struct isolation_group *group = NULL;
	u64 t = ktime_get_ns();
	int i, ret;

	for (i = 0; i < n; i++) {
		if (i % size == 0) {
			if (group)
				isolation_group_put(group);
			group = isolation_group_alloc(&isobench_provider);
			if (IS_ERR(group)) {
				isobench_fail("isolation_group_alloc",
					      PTR_ERR(group));
				return 0;
			}
		}
		device_lock(devs[i]);
		ret = isolation_group_add_device(group, devs[i], "bench");
		device_unlock(devs[i]);
		if (ret) {
			isobench_fail("isolation_group_add_device", ret);
			break;
		}
	}
	isolation_group_put(group);
	return (ktime_get_ns() - t) / n;
}

static u64 isobench_iso_remove(struct device **devs, int n)
{
	u64 t = ktime_get_ns();
	int i;

	for (i = 0; i < n; i++)
		isolation_group_remove_device(devs[i]);
	return (ktime_get_ns() - t) / n;
}

static u64 isobench_iommu_add(struct device **devs, int n, int size)
{
	struct iommu_group *group = NULL;
	u64 t = ktime_get_ns();
	int i, ret;

	for (i = 0; i < n; i++) {
		if (i % size == 0) {
			if (group)
				iommu_group_put(group);
			group = iommu_group_alloc();
			if (IS_ERR(group)) {
				isobench_fail("iommu_group_alloc",
					      PTR_ERR(group));
				return 0;
			}
		}
		ret = iommu_group_add_device(group, devs[i]);
		if (ret) {
			isobench_fail("iommu_group_add_device", ret);
			break;
		}
	}
	iommu_group_put(group);
	return (ktime_get_ns() - t) / n;
}

static u64 isobench_iommu_remove(struct device **devs, int n)
{
	u64 t = ktime_get_ns();
	int i;

	for (i = 0; i < n; i++)
		iommu_group_remove_device(devs[i]);
	return (ktime_get_ns() - t) / n;
}

/* One run of both sides on @n devices, each side first in turn. */
static void isobench_add_remove_once(struct device **devs, int n, int size,
				     bool iommu_first, u64 *v)
{
	if (iommu_first) {
		v[2] = isobench_iommu_add(devs, n, size);
		v[3] = isobench_iommu_remove(devs, n);
	}
	v[0] = isobench_iso_add(devs, n, size);
	v[1] = isobench_iso_remove(devs, n);
	if (!iommu_first) {
		v[2] = isobench_iommu_add(devs, n, size);
		v[3] = isobench_iommu_remove(devs, n);
	}
	rcu_barrier();
}

#define ISOBENCH_MAX_COUNTS	2

/*
 * Add and remove @counts[i] devices in groups of @size, both sides and
 * every count within each run, so that the ratios between sides and
 * between counts meet the same noise.  One untimed run of the largest
 * count first grows the slab caches, which the first timed run would
 * otherwise pay for alone.
 */
static void isobench_add_remove(struct device **devs, const int *counts,
				int nr_counts, int size, const char *tag)
{
	static const char * const names[] = {
		"isolation add", "isolation remove", "iommu add", "iommu remove",
	};
	u64 v[ISOBENCH_MAX_COUNTS][4][ISOBENCH_REPS];
	u64 once[4];
	char what[64];
	int r, c, k;

	isobench_add_remove_once(devs, counts[nr_counts - 1], size, false,
				 once);
	for (r = 0; r < ISOBENCH_REPS; r++) {
		for (c = 0; c < nr_counts; c++) {
			int i = r % 2 ? nr_counts - 1 - c : c;

			isobench_add_remove_once(devs, counts[i], size, r % 2,
						 once);
			for (k = 0; k < 4; k++)
				v[i][k][r] = once[k];
		}
	}
	for (c = 0; c < nr_counts; c++) {
		for (k = 0; k < 4; k++) {
			snprintf(what, sizeof(what), "%s %d %d %s", tag, size,
				 counts[c], names[k]);
			isobench_report(what, v[c][k]);
		}
	}
}

static long isobench_slab_bytes(void)
{
	rcu_barrier();
	return (global_node_page_state_pages(NR_SLAB_RECLAIMABLE_B) +
		global_node_page_state_pages(NR_SLAB_UNRECLAIMABLE_B)) *
		PAGE_SIZE;
}

static void isobench_memory(struct device **devs, int n, int size)
{
	long before, iso, iommu;

	before = isobench_slab_bytes();
	isobench_iso_add(devs, n, size);
	iso = isobench_slab_bytes() - before;
	isobench_iso_remove(devs, n);

	before = isobench_slab_bytes();
	isobench_iommu_add(devs, n, size);
	iommu = isobench_slab_bytes() - before;
	isobench_iommu_remove(devs, n);

	isobench_say("memory %d %d isolation %ld\n", size, n, iso / n);
	isobench_say("memory %d %d iommu %ld\n", size, n, iommu / n);
}

/*
 * The same adds and removes with the console at the default log level, as
 * a boot without "quiet" has it: a boot that adds many devices must not be
 * spent printing.  The rest of the run is at "quiet"'s.
 */
static void isobench_printing(struct device **devs, int n)
{
	int saved = console_loglevel;

	console_loglevel = CONSOLE_LOGLEVEL_DEFAULT;
	isobench_add_remove(devs, &n, 1, 1, "log-default");
	console_loglevel = saved;
}

/* The same unbinds and binds by hand, on @n devices in no group. */
static int isobench_claim_by_hand(struct device **devs, int n, u64 *claim,
				  u64 *release)
{
	u64 t = ktime_get_ns();
	int i, ret;

	for (i = 0; i < n; i++) {
		device_release_driver(devs[i]);
		ret = device_driver_attach(&isobench_mgr_driver, devs[i]);
		if (ret)
			return ret;
	}
	*claim = (ktime_get_ns() - t) / n;
	t = ktime_get_ns();
	for (i = 0; i < n; i++) {
		device_release_driver(devs[i]);
		if (device_attach(devs[i]) != 1)
			return -ENODEV;
	}
	*release = (ktime_get_ns() - t) / n;
	return 0;
}

/*
 * Nanoseconds per device to claim a group of @n devices bound to a host
 * driver, and to release it: each device unbound from the host driver and
 * bound to the manager's, then back.  Against the same unbinds and binds
 * done by hand on @n devices in no group.
 */
static int isobench_claim(int n)
{
	u64 ic[ISOBENCH_REPS], ir[ISOBENCH_REPS];
	u64 pc[ISOBENCH_REPS], pr[ISOBENCH_REPS];
	struct isolation_group *group;
	struct device **devs, **plain;
	char what[64];
	int i, r, ret = -ENOMEM;
	u64 t;

	devs = kvcalloc(2 * n, sizeof(*devs), GFP_KERNEL);
	if (!devs)
		return -ENOMEM;
	plain = devs + n;
	if (!isobench_devices_add(devs, n, "isobench-claim", isobench_host_name))
		goto free;
	if (!isobench_devices_add(plain, n, "isobench-plain",
				  isobench_host_name))
		goto del;
	group = isolation_group_alloc(&isobench_provider);
	if (IS_ERR(group)) {
		ret = PTR_ERR(group);
		goto del_plain;
	}
	for (i = 0; i < n; i++) {
		device_lock(devs[i]);
		ret = isolation_group_add_device(group, devs[i], "bench");
		device_unlock(devs[i]);
		if (ret)
			goto put;
	}

	/* Each side first in turn. */
	for (r = 0; r < ISOBENCH_REPS; r++) {
		if (r % 2) {
			ret = isobench_claim_by_hand(plain, n, &pc[r], &pr[r]);
			if (ret)
				goto put;
		}
		t = ktime_get_ns();
		ret = isobench_write_manager(group, "isobench");
		ic[r] = (ktime_get_ns() - t) / n;
		if (ret)
			goto put;
		t = ktime_get_ns();
		ret = isobench_write_manager(group, "\n");
		ir[r] = (ktime_get_ns() - t) / n;
		if (ret)
			goto put;
		if (!(r % 2)) {
			ret = isobench_claim_by_hand(plain, n, &pc[r], &pr[r]);
			if (ret)
				goto put;
		}
	}
	snprintf(what, sizeof(what), "claim %d isolation claim", n);
	isobench_report(what, ic);
	snprintf(what, sizeof(what), "claim %d isolation release", n);
	isobench_report(what, ir);
	snprintf(what, sizeof(what), "claim %d plain claim", n);
	isobench_report(what, pc);
	snprintf(what, sizeof(what), "claim %d plain release", n);
	isobench_report(what, pr);
	ret = 0;
put:
	isolation_group_put(group);
del_plain:
	isobench_devices_del(plain, n);
del:
	isobench_devices_del(devs, n);
free:
	kvfree(devs);
	return ret;
}

static int isobench_setup(void)
{
	struct file_system_type *sysfs = get_fs_type("sysfs");
	int ret;

	if (!sysfs)
		return -ENODEV;
	isobench_sysfs = kern_mount(sysfs);
	put_filesystem(sysfs);
	if (IS_ERR(isobench_sysfs))
		return PTR_ERR(isobench_sysfs);
	isobench_root = root_device_register("isobench");
	if (IS_ERR(isobench_root)) {
		ret = PTR_ERR(isobench_root);
		goto unmount;
	}
	ret = bus_register(&isobench_bus);
	if (ret)
		goto root;
	ret = driver_register(&isobench_host_driver);
	if (ret)
		goto bus;
	ret = driver_register(&isobench_mgr_driver);
	if (ret)
		goto host;
	ret = isolation_provider_register(&isobench_provider);
	if (ret)
		goto mgr_drv;
	ret = isolation_manager_register(&isobench_manager);
	if (ret)
		goto provider;
	ret = isolation_manager_add_driver(&isobench_manager,
					   &isobench_mgr_driver);
	if (ret)
		goto manager;
	return 0;
manager:
	isolation_manager_unregister(&isobench_manager);
provider:
	isolation_provider_unregister(&isobench_provider);
mgr_drv:
	driver_unregister(&isobench_mgr_driver);
host:
	driver_unregister(&isobench_host_driver);
bus:
	bus_unregister(&isobench_bus);
root:
	root_device_unregister(isobench_root);
unmount:
	kern_unmount(isobench_sysfs);
	return ret;
}

static void isobench_teardown(void)
{
	isolation_manager_unregister(&isobench_manager);
	isolation_provider_unregister(&isobench_provider);
	driver_unregister(&isobench_mgr_driver);
	driver_unregister(&isobench_host_driver);
	bus_unregister(&isobench_bus);
	root_device_unregister(isobench_root);
	kern_unmount(isobench_sysfs);
}

static int isobench_groups(void)
{
	static const int counts[] = { 1000, ISOBENCH_MAX_DEVICES };
	static const int sizes[] = { 1, 8 };
	struct device **devs;
	int s;

	devs = kvcalloc(ISOBENCH_MAX_DEVICES, sizeof(*devs), GFP_KERNEL);
	if (!devs)
		return -ENOMEM;
	/* "want" names no registered driver: the devices stay unbound. */
	if (!isobench_devices_add(devs, ISOBENCH_MAX_DEVICES, "isobench",
				  "isobench-none")) {
		kvfree(devs);
		return -ENOMEM;
	}
	BUILD_BUG_ON(ARRAY_SIZE(counts) > ISOBENCH_MAX_COUNTS);
	for (s = 0; s < ARRAY_SIZE(sizes); s++)
		isobench_add_remove(devs, counts, ARRAY_SIZE(counts), sizes[s],
				    "add");
	for (s = 0; s < ARRAY_SIZE(sizes); s++)
		isobench_memory(devs, ISOBENCH_MAX_DEVICES, sizes[s]);
	isobench_printing(devs, 1000);
	isobench_devices_del(devs, ISOBENCH_MAX_DEVICES);
	kvfree(devs);
	return 0;
}

static void isobench_print(void)
{
	char *line, *rest = isobench_out;

	while ((line = strsep(&rest, "\n")) && *line)
		pr_info("%s\n", line);
}

/* Only when asked: isolation_bench.run=1 on the kernel's command line. */
static bool run;
module_param(run, bool, 0444);
MODULE_PARM_DESC(run, "run the isolation groups benchmark at boot");

static int __init isobench_init(void)
{
	static const int claims[] = { 1, 16, 256, ISOBENCH_CLAIM_MAX };
	int saved = console_loglevel;
	int i, ret;

	if (!run)
		return 0;
	ret = isobench_setup();
	if (ret) {
		pr_err("setup failed: %d\n", ret);
		return 0;
	}
	pr_info("start: %d runs per figure\n", ISOBENCH_REPS);
	console_loglevel = CONSOLE_LOGLEVEL_QUIET;
	ret = isobench_matching();
	if (ret)
		isobench_fail("matching", ret);
	ret = isobench_groups();
	if (ret)
		isobench_fail("groups", ret);
	for (i = 0; !isobench_error && i < ARRAY_SIZE(claims); i++) {
		ret = isobench_claim(claims[i]);
		if (ret)
			isobench_fail("claim", ret);
	}
	console_loglevel = saved;
	isobench_teardown();
	isobench_print();
	if (isobench_error)
		pr_err("failed: %d\n", isobench_error);
	else
		pr_info("done\n");
	return 0;
}
late_initcall(isobench_init);
