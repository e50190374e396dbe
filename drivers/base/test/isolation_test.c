// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for device isolation groups.
 *
 * The test doubles: two providers and two managers, registered for each
 * case; platform devices named "isokunit", which join the case's group as
 * they are added (a bus notifier does what a real provider does) and are
 * steered to a driver with driver_override, or to none; and platform
 * drivers: a host driver (foreign to the managers), the manager's driver
 * (which holds its device's group for the manager while bound, as VFIO's
 * drivers do), a compatible stub, and drivers that probe asynchronously,
 * defer, or cannot be unbound.  sysfs is not mounted while built-in tests
 * run, so the suite mounts its own, to write to bind, drivers_probe and the
 * groups' files as a user would and see the errors a user would.
 *
 * Every group and device is tied to its case, so a failing case leaks
 * nothing.
 */
#include <kunit/device.h>
#include <kunit/resource.h>
#include <kunit/static_stub.h>
#include <kunit/test-bug.h>
#include <kunit/test.h>
#include <linux/cred.h>
#include <linux/ctype.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/isolation.h>
#include <linux/kernfs.h>
#include <linux/kobject.h>
#include <linux/mount.h>
#include <linux/platform_device.h>
#include <linux/sched.h>
#include <linux/sprintf.h>
#include <linux/string.h>

#include "../base.h"

#define ISO_DEV		"isokunit"

struct iso_ctx {
	struct isolation_provider prov, prov_b;
	struct isolation_manager mgr, other;
	struct isolation_group *group;	/* where new isokunit devices go */
	unsigned int events[ISOLATION_EVENT_UNLOCKED + 1];
	struct device *event_dev;
	int claim_error;		/* what the manager's claim returns */
	int check_error;		/* what its check of check_dev returns */
	struct device *check_dev;
	bool claim_sets_up;		/* the claim sets devices up */
	unsigned int releases;		/* release_device calls */
	bool claim_takes_owner;		/* the claim tries to set an owner */
	int claim_owner_ret;		/* and what that returned */
	unsigned int uevents;
	enum isolation_state uevent_state;
	unsigned int dev_uevents;	/* of devices placed late */
	int dev_uevent_id;
	/* The last device that prepare_device steered. */
	struct device *prepared;
	bool mgr_gone;			/* the case unregistered ctx->mgr */
};

/*
 * The running case's context, for the callbacks that the driver core makes
 * in the case's thread (a manager's ops, the bus notifier, a static stub):
 * NULL in any other thread.
 */
static struct iso_ctx *iso_current_ctx(void)
{
	struct kunit *test = kunit_get_current_test();

	return test ? test->priv : NULL;
}

static struct vfsmount *iso_sysfs;
static unsigned int iso_probes, iso_defers;

KUNIT_DEFINE_ACTION_WRAPPER(isolation_group_put_action, isolation_group_put,
			    struct isolation_group *);
KUNIT_DEFINE_ACTION_WRAPPER(root_device_unregister_action,
			    root_device_unregister, struct device *);
KUNIT_DEFINE_ACTION_WRAPPER(platform_device_unregister_action,
			    platform_device_unregister,
			    struct platform_device *);
KUNIT_DEFINE_ACTION_WRAPPER(platform_driver_unregister_action,
			    platform_driver_unregister,
			    struct platform_driver *);

/* Drivers. */

static int iso_probe(struct platform_device *pdev)
{
	iso_probes++;
	return 0;
}

static int iso_probe_defer(struct platform_device *pdev)
{
	iso_defers++;
	return -EPROBE_DEFER;
}

static struct platform_driver iso_host_driver = {
	.probe = iso_probe,
	.driver.name = "isokunit-host",
};

static struct platform_driver iso_mgr_driver = {
	.probe = iso_probe,
	.driver.name = "isokunit-mgr",
};

static struct platform_driver iso_stub_driver = {
	.probe = iso_probe,
	.driver.name = "isokunit-stub",
	/* As pci-stub: the platform bus passes the flag to the driver core. */
	.driver_managed_dma = true,
};

static struct platform_driver iso_async_driver = {
	.probe = iso_probe,
	.driver = {
		.name = "isokunit-async",
		.probe_type = PROBE_PREFER_ASYNCHRONOUS,
	},
};

static struct platform_driver iso_defer_driver = {
	.probe = iso_probe_defer,
	.driver.name = "isokunit-defer",
};

static struct platform_driver iso_pinned_driver = {
	.probe = iso_probe,
	.driver = {
		.name = "isokunit-pinned",
		.suppress_bind_attrs = true,
	},
};

/* Registered by the case that tests driver registration. */
static struct platform_driver iso_late_driver = {
	.probe = iso_probe,
	.driver.name = "isokunit-late",
};

static struct platform_driver *iso_drivers[] = {
	&iso_host_driver, &iso_mgr_driver,
	&iso_stub_driver, &iso_async_driver, &iso_defer_driver,
	&iso_pinned_driver,
};

/*
 * A bus of its own whose dma_configure() puts the device into a group, as
 * an IOMMU that finds its devices as their drivers probe does (virtio-iommu
 * through the firmware replay), and whose dma_cleanup() is counted.  Every
 * driver of the bus matches every device.  iso_bus_dma_group is the group
 * that dma_configure() puts a device in, iso_bus_probe_group the one that
 * its driver's probe does.
 */
static struct isolation_group *iso_bus_dma_group;
static struct isolation_group *iso_bus_probe_group;
static unsigned int iso_bus_cleanups;

static int iso_bus_match(struct device *dev, const struct device_driver *drv)
{
	return 1;
}

static int iso_bus_dma_configure(struct device *dev)
{
	device_lock_assert(dev);
	if (iso_bus_dma_group && !dev->isolation_group)
		return isolation_group_add_device(iso_bus_dma_group, dev,
						  "placed by dma_configure()");
	return 0;
}

static void iso_bus_dma_cleanup(struct device *dev)
{
	iso_bus_cleanups++;
}

static const struct bus_type iso_bus = {
	.name = "isokunit-bus",
	.match = iso_bus_match,
	.dma_configure = iso_bus_dma_configure,
	.dma_cleanup = iso_bus_dma_cleanup,
};

static int iso_bus_probe(struct device *dev)
{
	return 0;
}

/* A driver that makes its device's IOMMU find the device in its probe. */
static int iso_bus_self_probe(struct device *dev)
{
	device_lock_assert(dev);
	return isolation_group_add_device(iso_bus_probe_group, dev,
					  "placed by its driver's probe");
}

static struct device_driver iso_bus_host_driver = {
	.name = "isokunit-bus-host",
	.bus = &iso_bus,
	.probe = iso_bus_probe,
};

static struct device_driver iso_bus_mgr_driver = {
	.name = "isokunit-bus-mgr",
	.bus = &iso_bus,
	.probe = iso_bus_probe,
};

static struct device_driver iso_bus_self_driver = {
	.name = "isokunit-bus-self",
	.bus = &iso_bus,
	.probe = iso_bus_self_probe,
};

KUNIT_DEFINE_ACTION_WRAPPER(driver_unregister_action, driver_unregister,
			    struct device_driver *);
KUNIT_DEFINE_ACTION_WRAPPER(device_unregister_action, device_unregister,
			    struct device *);

static void iso_bus_release(struct device *dev)
{
	kfree(dev);
}

/* Whether the driver's directory is still in sysfs. */
static bool iso_bus_driver_in_sysfs(const struct device_driver *drv)
{
	char path[96];
	struct file *f;

	snprintf(path, sizeof(path), "bus/%s/drivers/%s", drv->bus->name,
		 drv->name);
	f = file_open_root_mnt(iso_sysfs, path, O_RDONLY | O_DIRECTORY, 0);
	if (IS_ERR(f))
		return false;
	filp_close(f, NULL);
	return true;
}

static void iso_bus_driver(struct kunit *test, struct device_driver *drv)
{
	int i;

	/*
	 * The same driver, registered by a case before, may still be in
	 * sysfs: CONFIG_DEBUG_KOBJECT_RELEASE delays its release by up to
	 * 4 s.
	 */
	for (i = 0; i < 200 && iso_bus_driver_in_sysfs(drv); i++)
		msleep(50);
	KUNIT_ASSERT_EQ(test, 0, driver_register(drv));
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, driver_unregister_action,
						  drv));
}

/* A device on the bus, which probes the bus's drivers as it is added. */
static struct device *iso_bus_device(struct kunit *test)
{
	struct device *dev = kzalloc(sizeof(*dev), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, dev);
	device_initialize(dev);
	dev->bus = &iso_bus;
	dev->release = iso_bus_release;
	if (dev_set_name(dev, "isokunit-bus-dev") || device_add(dev)) {
		put_device(dev);
		KUNIT_FAIL_AND_ABORT(test, "cannot add a device\n");
	}
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, device_unregister_action,
						  dev));
	return dev;
}

/* The managers. */

static void iso_notify(struct isolation_manager *mgr,
		       struct isolation_group *group, struct device *dev,
		       enum isolation_event event)
{
	struct iso_ctx *ctx = iso_current_ctx();

	if (ctx && mgr == &ctx->mgr) {
		ctx->events[event]++;
		ctx->event_dev = dev;
	}
}

static int iso_claim_device(struct isolation_manager *mgr, struct device *dev)
{
	struct iso_ctx *ctx = iso_current_ctx();
	struct isolation_group *group;
	int ret;

	if (!ctx)
		return -ENODEV;
	if (ctx->claim_takes_owner) {
		group = isolation_group_get_from_dev(dev);
		ctx->claim_owner_ret = isolation_group_set_owner(group, mgr, ctx);
		if (!ctx->claim_owner_ret)
			isolation_group_clear_owner(group, mgr, ctx);
		isolation_group_put(group);
	}
	if (ctx->claim_error)
		return ctx->claim_error;
	/* As vfio-pci: an override of its own, which only release undoes. */
	if (ctx->claim_sets_up &&
	    device_set_driver_override(dev, iso_mgr_driver.driver.name))
		return -ENOMEM;
	ret = device_driver_attach(&iso_mgr_driver.driver, dev);
	return ret ?: ctx->claim_sets_up;
}

static int iso_check_device(struct isolation_manager *mgr, struct device *dev)
{
	struct iso_ctx *ctx = iso_current_ctx();

	return ctx && dev == ctx->check_dev ? ctx->check_error : 0;
}

/* As vfio-pci does: a device steered to the host driver goes to ours. */
static bool iso_prepare_device(struct isolation_manager *mgr,
			       struct device *dev)
{
	struct iso_ctx *ctx = iso_current_ctx();

	if (!ctx ||
	    device_match_driver_override(dev, &iso_host_driver.driver) <= 0 ||
	    device_set_driver_override(dev, iso_mgr_driver.driver.name))
		return false;
	ctx->prepared = dev;
	return true;
}

static void iso_release_device(struct isolation_manager *mgr,
			       struct device *dev)
{
	struct iso_ctx *ctx = iso_current_ctx();

	if (!ctx)
		return;
	ctx->releases++;
	if (dev == ctx->prepared || ctx->claim_sets_up)
		device_set_driver_override(dev, iso_host_driver.driver.name);
}

static const struct isolation_manager_ops iso_mgr_ops = {
	.notify = iso_notify,
	.check_device = iso_check_device,
	.claim_device = iso_claim_device,
	.release_device = iso_release_device,
	.prepare_device = iso_prepare_device,
};

static const struct isolation_manager_ops iso_other_ops = {
	.notify = iso_notify,
};

/* What a provider does: add @dev to @group under the device lock. */
static int iso_add(struct isolation_group *group, struct device *dev,
		   const char *reason)
{
	int ret;

	device_lock(dev);
	ret = isolation_group_add_device(group, dev, reason);
	device_unlock(dev);
	return ret;
}

/* The bus notifier: a provider that groups every new isokunit device. */
static int iso_bus_notify(struct notifier_block *nb, unsigned long action,
			  void *data)
{
	struct iso_ctx *ctx = iso_current_ctx();
	struct device *dev = data;

	if (action == BUS_NOTIFY_ADD_DEVICE && ctx && ctx->group &&
	    !strncmp(dev_name(dev), ISO_DEV, strlen(ISO_DEV)))
		iso_add(ctx->group, dev, "on the kunit bus");
	return NOTIFY_DONE;
}

static struct notifier_block iso_bus_nb = {
	.notifier_call = iso_bus_notify,
};

/* Helpers. */

/* A group of @prov that the case holds until it ends, or releases earlier. */
static struct isolation_group *test_group_alloc_for(struct kunit *test,
						    struct isolation_provider *prov)
{
	struct isolation_group *group = isolation_group_alloc(prov);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, group);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, isolation_group_put_action,
						  group));
	return group;
}

static struct isolation_group *test_group_alloc(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;

	return test_group_alloc_for(test, &ctx->prov);
}

/* The case's own reference, dropped before the case ends. */
static void test_group_put(struct kunit *test, struct isolation_group *group)
{
	kunit_release_action(test, isolation_group_put_action, group);
}

/* A device on the KUnit bus, in no group. */
static struct device *test_device(struct kunit *test, const char *name)
{
	struct device *dev = kunit_device_register(test, name);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	return dev;
}

/*
 * A platform device named ISO_DEV.<id>, or with a number of its own for
 * PLATFORM_DEVID_AUTO, that joins ctx->group (if set) when added, and then
 * probes @driver, or no driver at all when @driver is NULL.
 */
static struct device *iso_device_id(struct kunit *test, const char *driver,
				    int id)
{
	struct platform_device *pdev;

	pdev = platform_device_alloc(ISO_DEV, id);
	KUNIT_ASSERT_NOT_NULL(test, pdev);
	if (device_set_driver_override(&pdev->dev, driver ?: "none") ||
	    platform_device_add(pdev)) {
		platform_device_put(pdev);
		KUNIT_FAIL_AND_ABORT(test, "cannot add a platform device\n");
	}
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test,
						  platform_device_unregister_action,
						  pdev));
	wait_for_device_probe();
	return &pdev->dev;
}

static struct device *iso_device(struct kunit *test, const char *driver)
{
	return iso_device_id(test, driver, PLATFORM_DEVID_AUTO);
}

static int iso_bind(struct device *dev, struct platform_driver *drv)
{
	return device_driver_attach(&drv->driver, dev);
}

static bool bound_to(struct device *dev, struct platform_driver *drv)
{
	return READ_ONCE(dev->driver) == &drv->driver;
}

#define EXPECT_STATE(test, group, want) \
	KUNIT_EXPECT_EQ(test, isolation_group_state(group), want)

/* Write @len bytes of @s to a sysfs file, as a user would; the result. */
static ssize_t iso_sysfs_write_len(const char *path, const char *s, size_t len)
{
	struct file *f = file_open_root_mnt(iso_sysfs, path, O_WRONLY, 0);
	loff_t pos = 0;
	ssize_t ret;

	if (IS_ERR(f))
		return PTR_ERR(f);
	ret = kernel_write(f, s, len, &pos);
	filp_close(f, NULL);
	return ret;
}

static ssize_t iso_sysfs_write(const char *path, const char *s)
{
	return iso_sysfs_write_len(path, s, strlen(s));
}

/* Read a sysfs file into @buf, NUL-terminated; the read's result. */
static ssize_t iso_sysfs_read(const char *path, char *buf, size_t len)
{
	struct file *f = file_open_root_mnt(iso_sysfs, path, O_RDONLY, 0);
	loff_t pos = 0;
	ssize_t ret;

	if (IS_ERR(f))
		return PTR_ERR(f);
	ret = kernel_read(f, buf, len - 1, &pos);
	filp_close(f, NULL);
	buf[ret < 0 ? 0 : ret] = '\0';
	return ret;
}

static const char *group_path(struct kunit *test, struct isolation_group *group,
			      const char *file)
{
	char *path = kunit_kzalloc(test, 96, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, path);
	snprintf(path, 96, "kernel/isolation_groups/%d/%s",
		 isolation_group_id(group), file);
	return path;
}

/* The contents of one of the group's files. */
static const char *group_file(struct kunit *test,
			      struct isolation_group *group, const char *file)
{
	char *buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_GE(test, iso_sysfs_read(group_path(test, group, file),
					     buf, PAGE_SIZE), 0);
	return buf;
}

static ssize_t group_write(struct kunit *test, struct isolation_group *group,
			   const char *file, const char *s)
{
	return iso_sysfs_write(group_path(test, group, file), s);
}

/*
 * Look up a path below a kernfs directory, following no links.  Returns the
 * node with a reference held, or NULL.
 */
static struct kernfs_node *kn_walk(struct kernfs_node *kn, const char *path)
{
	char buf[128], *p = buf, *name;

	if (strscpy(buf, path, sizeof(buf)) < 0)
		return NULL;
	kernfs_get(kn);
	while (kn && (name = strsep(&p, "/"))) {
		struct kernfs_node *next = kernfs_find_and_get(kn, name);

		kernfs_put(kn);
		kn = next;
	}
	return kn;
}

/* The node at /sys/kernel/isolation_groups/<id>/<path>, or NULL. */
static struct kernfs_node *group_node(struct isolation_group *group,
				      const char *path)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "isolation_groups/%d%s%s",
		 isolation_group_id(group), *path ? "/" : "", path);
	return kn_walk(kernel_kobj->sd, buf);
}

/*
 * Whether a group of this id is in sysfs.  Takes the id rather than the
 * group, to be asked after the group may have been freed.
 */
static bool group_id_in_sysfs(int id)
{
	char buf[64];
	struct kernfs_node *kn;

	snprintf(buf, sizeof(buf), "isolation_groups/%d", id);
	kn = kn_walk(kernel_kobj->sd, buf);
	kernfs_put(kn);
	return kn;
}

static bool group_has(struct isolation_group *group, const char *path)
{
	struct kernfs_node *kn = group_node(group, path);

	kernfs_put(kn);
	return kn;
}

/* Whether devices/<name> in @group is a link to @dev. */
static bool group_links_as(struct isolation_group *group, const char *name,
			   struct device *dev)
{
	char path[96];
	struct kernfs_node *kn;
	bool ret;

	snprintf(path, sizeof(path), "devices/%s", name);
	kn = group_node(group, path);
	ret = kn && kernfs_type(kn) == KERNFS_LINK &&
	      kn->symlink.target_kn == dev->kobj.sd;
	kernfs_put(kn);
	return ret;
}

/* Whether @group lists @dev under its own name. */
static bool group_links_to(struct isolation_group *group, struct device *dev)
{
	return group_links_as(group, dev_name(dev), dev);
}

/* Whether @group has anything in devices/ under the name of @dev. */
static bool group_lists_name(struct isolation_group *group, struct device *dev)
{
	char path[96];

	snprintf(path, sizeof(path), "devices/%s", dev_name(dev));
	return group_has(group, path);
}

/* Whether @dev has an isolation_group link, to @group if that is not NULL. */
static bool device_links_to(struct device *dev, struct isolation_group *group)
{
	struct kernfs_node *kn = kernfs_find_and_get(dev->kobj.sd,
						     "isolation_group");
	bool ret = kn && kernfs_type(kn) == KERNFS_LINK;

	if (ret && group) {
		struct kernfs_node *target = group_node(group, "");

		ret = kn->symlink.target_kn == target;
		kernfs_put(target);
	}
	kernfs_put(kn);
	return ret;
}

/* Groups, members, references. */

static void isolation_group_alloc_appears_in_sysfs_test(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);

	KUNIT_EXPECT_GE(test, isolation_group_id(group), 0);
	KUNIT_EXPECT_TRUE(test, group_has(group, ""));
	KUNIT_EXPECT_TRUE(test, group_has(group, "devices"));
}

static void isolation_group_ids_are_distinct_test(struct kunit *test)
{
	struct isolation_group *a = test_group_alloc(test);
	struct isolation_group *b = test_group_alloc(test);

	KUNIT_EXPECT_NE(test, isolation_group_id(a), isolation_group_id(b));
}

static void isolation_group_last_put_leaves_sysfs_test(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	int id = isolation_group_id(group);

	KUNIT_ASSERT_TRUE(test, group_id_in_sysfs(id));
	test_group_put(test, group);
	KUNIT_EXPECT_FALSE(test, group_id_in_sysfs(id));
}

/* A reference from isolation_group_get_from_dev() keeps the group. */
static void isolation_group_get_keeps_group_test(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-get-0");

	KUNIT_ASSERT_EQ(test, 0, iso_add(group, dev, "r"));
	KUNIT_ASSERT_PTR_EQ(test, isolation_group_get_from_dev(dev), group);
	test_group_put(test, group);
	isolation_group_remove_device(dev);
	KUNIT_EXPECT_TRUE(test, group_has(group, "devices"));
	isolation_group_put(group);
}

static void isolation_add_device_links_both_ways_test(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-add-0");

	KUNIT_ASSERT_EQ(test, 0, iso_add(group, dev, "r"));
	KUNIT_EXPECT_PTR_EQ(test, dev->isolation_group, group);
	KUNIT_EXPECT_TRUE(test, group_links_to(group, dev));
	KUNIT_EXPECT_TRUE(test, device_links_to(dev, group));
}

static void isolation_get_from_dev_finds_group_test(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-from-0");
	struct device *loner = test_device(test, "iso-from-1");
	struct isolation_group *found;

	KUNIT_ASSERT_EQ(test, 0, iso_add(group, dev, "r"));
	found = isolation_group_get_from_dev(dev);
	KUNIT_EXPECT_PTR_EQ(test, found, group);
	isolation_group_put(found);
	KUNIT_EXPECT_NULL(test, isolation_group_get_from_dev(loner));
}

static void isolation_device_in_one_group_only_test(struct kunit *test)
{
	struct isolation_group *first = test_group_alloc(test);
	struct isolation_group *second = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-twice-0");

	KUNIT_ASSERT_EQ(test, 0, iso_add(first, dev, "r"));
	KUNIT_EXPECT_EQ(test, -EBUSY,
			iso_add(second, dev, "r"));
	KUNIT_EXPECT_EQ(test, -EBUSY,
			iso_add(first, dev, "r"));
	/* The refusals changed nothing. */
	KUNIT_EXPECT_PTR_EQ(test, dev->isolation_group, first);
	KUNIT_EXPECT_TRUE(test, device_links_to(dev, first));
	KUNIT_EXPECT_TRUE(test, group_links_to(first, dev));
	KUNIT_EXPECT_FALSE(test, group_lists_name(second, dev));
}

static void isolation_add_unregistered_device_refused_test(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-gone-0");

	get_device(dev);
	kunit_device_unregister(test, dev);
	KUNIT_EXPECT_EQ(test, -ENODEV,
			iso_add(group, dev, "r"));
	KUNIT_EXPECT_NULL(test, dev->isolation_group);
	KUNIT_EXPECT_FALSE(test, group_lists_name(group, dev));
	put_device(dev);
}

static void isolation_remove_device_unlinks_test(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-remove-0");

	KUNIT_ASSERT_EQ(test, 0, iso_add(group, dev, "r"));
	isolation_group_remove_device(dev);
	KUNIT_EXPECT_NULL(test, dev->isolation_group);
	KUNIT_EXPECT_FALSE(test, device_links_to(dev, NULL));
	KUNIT_EXPECT_FALSE(test, group_lists_name(group, dev));
	/* The provider still holds the group. */
	KUNIT_EXPECT_TRUE(test, group_has(group, "devices"));
}

static void isolation_removed_device_can_join_again_test(struct kunit *test)
{
	struct isolation_group *first = test_group_alloc(test);
	struct isolation_group *second = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-rejoin-0");

	KUNIT_ASSERT_EQ(test, 0, iso_add(first, dev, "r"));
	isolation_group_remove_device(dev);
	KUNIT_ASSERT_EQ(test, 0, iso_add(second, dev, "r"));
	KUNIT_EXPECT_PTR_EQ(test, dev->isolation_group, second);
	KUNIT_EXPECT_TRUE(test, device_links_to(dev, second));
	KUNIT_EXPECT_TRUE(test, group_links_to(second, dev));
}

static void isolation_remove_ungrouped_device_is_noop_test(struct kunit *test)
{
	struct device *dev = test_device(test, "iso-none-0");

	isolation_group_remove_device(dev);
	KUNIT_EXPECT_NULL(test, dev->isolation_group);
}

static void isolation_member_keeps_group_test(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-keep-0");

	KUNIT_ASSERT_EQ(test, 0, iso_add(group, dev, "r"));
	test_group_put(test, group);
	/* The member's reference keeps the group, and the group in sysfs. */
	KUNIT_EXPECT_TRUE(test, group_links_to(group, dev));
	KUNIT_EXPECT_TRUE(test, device_links_to(dev, group));
}

static void isolation_last_member_frees_group_test(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-last-0");
	int id = isolation_group_id(group);

	KUNIT_ASSERT_EQ(test, 0, iso_add(group, dev, "r"));
	test_group_put(test, group);
	KUNIT_EXPECT_TRUE(test, group_id_in_sysfs(id));

	isolation_group_remove_device(dev);
	KUNIT_EXPECT_FALSE(test, group_id_in_sysfs(id));
}

static void isolation_device_del_leaves_group_test(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-del-0");
	struct device *other = test_device(test, "iso-del-1");

	KUNIT_ASSERT_EQ(test, 0, iso_add(group, dev, "r"));
	KUNIT_ASSERT_EQ(test, 0, iso_add(group, other, "r"));
	get_device(dev);
	kunit_device_unregister(test, dev);
	KUNIT_EXPECT_NULL(test, dev->isolation_group);
	KUNIT_EXPECT_FALSE(test, group_lists_name(group, dev));
	KUNIT_EXPECT_TRUE(test, group_links_to(group, other));
	put_device(dev);
}

static void isolation_device_del_frees_orphan_group_test(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-orphan-0");
	int id = isolation_group_id(group);

	KUNIT_ASSERT_EQ(test, 0, iso_add(group, dev, "r"));
	test_group_put(test, group);
	kunit_device_unregister(test, dev);
	KUNIT_EXPECT_FALSE(test, group_id_in_sysfs(id));
}

/* A device of the same name on another bus gets a suffix, not a failure. */
static void isolation_same_name_members_both_linked_test(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	struct device *kdev = test_device(test, "iso-dup-0");
	struct device *rdev = root_device_register(dev_name(kdev));
	char suffixed[96];

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, rdev);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test,
						  root_device_unregister_action,
						  rdev));
	snprintf(suffixed, sizeof(suffixed), "%s.0", dev_name(kdev));

	KUNIT_EXPECT_EQ(test, 0, iso_add(group, kdev, "r"));
	KUNIT_EXPECT_EQ(test, 0, iso_add(group, rdev, "r"));
	KUNIT_EXPECT_TRUE(test, group_links_to(group, kdev));
	KUNIT_EXPECT_TRUE(test, group_links_as(group, suffixed, rdev));

	kunit_release_action(test, root_device_unregister_action, rdev);
	KUNIT_EXPECT_FALSE(test, group_links_as(group, suffixed, rdev));
	KUNIT_EXPECT_TRUE(test, group_links_to(group, kdev));
}

/* Providers. */

static void isolation_two_providers_at_once_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct isolation_group *a = test_group_alloc_for(test, &ctx->prov);
	struct isolation_group *b = test_group_alloc_for(test, &ctx->prov_b);
	struct device *da = test_device(test, "iso-prov-0");
	struct device *db = test_device(test, "iso-prov-1");

	KUNIT_EXPECT_STREQ(test, group_file(test, a, "provider"), "kunit-a\n");
	KUNIT_EXPECT_STREQ(test, group_file(test, b, "provider"), "kunit-b\n");
	KUNIT_EXPECT_EQ(test, 0, iso_add(a, da, "r"));
	KUNIT_EXPECT_EQ(test, 0, iso_add(b, db, "r"));
}

static void isolation_provider_unregister_empties_groups_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct isolation_group *group = test_group_alloc_for(test, &ctx->prov_b);
	struct isolation_group *other = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-unreg-0");
	struct device *bystander = test_device(test, "iso-unreg-1");

	KUNIT_ASSERT_EQ(test, 0, iso_add(group, dev, "r"));
	KUNIT_ASSERT_EQ(test, 0,
			iso_add(other, bystander, "r"));
	isolation_provider_unregister(&ctx->prov_b);
	ctx->prov_b.name = NULL;	/* so that exit does not do it again */

	KUNIT_EXPECT_NULL(test, dev->isolation_group);
	KUNIT_EXPECT_FALSE(test, group_lists_name(group, dev));
	KUNIT_EXPECT_STREQ(test, group_file(test, group, "provider"), "\n");
	/* A group whose provider is gone takes no one. */
	KUNIT_EXPECT_EQ(test, -ENODEV,
			iso_add(group, dev, "r"));
	/* Other providers' groups are untouched. */
	KUNIT_EXPECT_PTR_EQ(test, bystander->isolation_group, other);
}

/* The state machine. */

static void isolation_new_group_is_unmanaged_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;

	iso_device(test, "isokunit-host");
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "state"),
			   "unmanaged\n");
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"), "\n");
}

static void isolation_manager_locks_group_without_drivers_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;

	iso_device(test, NULL);
	iso_device(test, NULL);
	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	KUNIT_EXPECT_EQ(test, ctx->events[ISOLATION_EVENT_LOCKED], 1);
}

/*
 * Matching reads a hint in the device, not the group: it must follow the
 * manager as devices join, leave, and the group is taken and let go.
 */
static void isolation_match_hint_follows_manager_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *a = iso_device(test, NULL);
	struct device *b;

	KUNIT_EXPECT_FALSE(test, READ_ONCE(a->p->isolation_group_held));
	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	KUNIT_EXPECT_TRUE(test, READ_ONCE(a->p->isolation_group_held));
	KUNIT_EXPECT_TRUE(test, static_key_enabled(&isolation_match_filter));

	b = iso_device(test, NULL);
	KUNIT_EXPECT_TRUE(test, READ_ONCE(b->p->isolation_group_held));
	isolation_group_remove_device(b);
	KUNIT_EXPECT_FALSE(test, READ_ONCE(b->p->isolation_group_held));

	isolation_group_clear_manager(ctx->group, &ctx->mgr);
	KUNIT_EXPECT_FALSE(test, READ_ONCE(a->p->isolation_group_held));
}

static void isolation_foreign_driver_keeps_group_managed_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_device(test, "isokunit-host");

	KUNIT_ASSERT_TRUE(test, bound_to(dev, &iso_host_driver));
	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_MANAGED);
	/* Setting a manager unbinds nothing by itself. */
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_host_driver));
	KUNIT_EXPECT_EQ(test, ctx->events[ISOLATION_EVENT_LOCKED], 0);
}

static void isolation_last_foreign_unbind_locks_group_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *a = iso_device(test, "isokunit-host");
	struct device *b = iso_device(test, "isokunit-host");

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	device_release_driver(a);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_MANAGED);
	KUNIT_EXPECT_EQ(test, ctx->events[ISOLATION_EVENT_LOCKED], 0);
	device_release_driver(b);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	KUNIT_EXPECT_EQ(test, ctx->events[ISOLATION_EVENT_LOCKED], 1);
}

static void isolation_manager_and_compatible_drivers_lock_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *a = iso_device(test, "isokunit-mgr");
	struct device *b = iso_device(test, "isokunit-stub");

	KUNIT_ASSERT_TRUE(test, bound_to(a, &iso_mgr_driver));
	KUNIT_ASSERT_TRUE(test, bound_to(b, &iso_stub_driver));
	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
}

/* A manager's driver is foreign to another manager; a compatible one is not. */
static void isolation_manager_driver_foreign_to_other_manager_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *a = iso_device(test, NULL);
	struct device *b = iso_device(test, NULL);

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->other));
	KUNIT_EXPECT_EQ(test, -EBUSY, iso_bind(a, &iso_mgr_driver));
	KUNIT_EXPECT_EQ(test, 0, iso_bind(b, &iso_stub_driver));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"),
			   "kunit-other\n");
}

static void iso_mgr_driver_dma_flag_clear(void *unused)
{
	iso_mgr_driver.driver.driver_managed_dma = false;
}

/*
 * A manager's drivers set driver_managed_dma, as VFIO's do: that does not
 * make them compatible in another manager's group.  Once no manager owns
 * the driver, the flag makes it compatible, as a port driver is.
 */
static void isolation_manager_driver_with_dma_flag_stays_foreign_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev;

	iso_mgr_driver.driver.driver_managed_dma = true;
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test,
						  iso_mgr_driver_dma_flag_clear,
						  NULL));
	dev = iso_device(test, NULL);
	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->other));
	KUNIT_EXPECT_EQ(test, -EBUSY, iso_bind(dev, &iso_mgr_driver));
	isolation_manager_remove_driver(&ctx->mgr, &iso_mgr_driver.driver);
	KUNIT_EXPECT_EQ(test, 0, iso_bind(dev, &iso_mgr_driver));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
}

static void isolation_clear_manager_unmanages_group_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_device(test, NULL);

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	isolation_group_clear_manager(ctx->group, &ctx->mgr);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
	KUNIT_EXPECT_EQ(test, ctx->events[ISOLATION_EVENT_UNLOCKED], 1);
	/* Host drivers bind again. */
	KUNIT_EXPECT_EQ(test, 0, iso_bind(dev, &iso_host_driver));
}

static void isolation_clear_by_non_holder_is_ignored_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	isolation_group_clear_manager(ctx->group, &ctx->other);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
}

static void isolation_second_manager_is_refused_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	KUNIT_EXPECT_EQ(test, -EBUSY,
			isolation_group_set_manager(ctx->group, &ctx->other));
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"),
			   "kunit-mgr\n");
}

static void isolation_manager_holds_are_counted_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	KUNIT_EXPECT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	KUNIT_EXPECT_EQ(test, ctx->events[ISOLATION_EVENT_LOCKED], 1);
	/* The group stays with the manager until its last hold goes. */
	isolation_group_clear_manager(ctx->group, &ctx->mgr);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	KUNIT_EXPECT_EQ(test, ctx->events[ISOLATION_EVENT_UNLOCKED], 0);
	isolation_group_clear_manager(ctx->group, &ctx->mgr);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
	KUNIT_EXPECT_EQ(test, ctx->events[ISOLATION_EVENT_UNLOCKED], 1);
}

/*
 * VFIO's pattern: the first device bound to a manager's driver makes the
 * manager hold the group, and the group is let go when the last unbinds.
 */
static void isolation_manager_driver_holds_group_while_bound_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *host = iso_device(test, "isokunit-host");
	struct device *a = iso_device(test, "isokunit-mgr");
	struct device *b = iso_device(test, "isokunit-mgr");

	KUNIT_ASSERT_TRUE(test, bound_to(a, &iso_mgr_driver));
	KUNIT_ASSERT_TRUE(test, bound_to(b, &iso_mgr_driver));
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"),
			   "kunit-mgr\n");
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_MANAGED);
	device_release_driver(host);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	device_release_driver(a);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	device_release_driver(b);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
	KUNIT_EXPECT_EQ(test, 0, iso_bind(host, &iso_host_driver));
}

static void isolation_check_locked_names_blockers_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *host = iso_device(test, "isokunit-host");

	iso_device(test, "isokunit-stub");
	/* Not held at all, then held but not locked, then locked. */
	KUNIT_EXPECT_EQ(test, -EBUSY,
			isolation_group_check_locked(ctx->group, &ctx->mgr));
	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	KUNIT_EXPECT_EQ(test, -EBUSY,
			isolation_group_check_locked(ctx->group, &ctx->mgr));
	device_release_driver(host);
	KUNIT_EXPECT_EQ(test, 0,
			isolation_group_check_locked(ctx->group, &ctx->mgr));
	/* Locked, but for another manager than the one that asks. */
	KUNIT_EXPECT_EQ(test, -EBUSY,
			isolation_group_check_locked(ctx->group, &ctx->other));
}

static void isolation_unregistered_manager_is_refused_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct isolation_manager stray = { .name = "stray", .ops = &iso_other_ops };

	INIT_LIST_HEAD(&stray.node);
	KUNIT_EXPECT_EQ(test, -ENODEV,
			isolation_group_set_manager(ctx->group, &stray));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
}

static void isolation_bound_device_joining_unlocks_group_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct isolation_group *group = ctx->group;
	struct device *dev;

	KUNIT_ASSERT_EQ(test, 0, isolation_group_set_manager(group, &ctx->mgr));
	/* Bound before it joins: a provider that comes late. */
	ctx->group = NULL;
	dev = iso_device(test, "isokunit-host");
	KUNIT_ASSERT_TRUE(test, bound_to(dev, &iso_host_driver));
	KUNIT_ASSERT_EQ(test, 0, iso_add(group, dev, "r"));
	EXPECT_STATE(test, group, ISOLATION_GROUP_MANAGED);
	KUNIT_EXPECT_EQ(test, ctx->events[ISOLATION_EVENT_UNLOCKED], 1);
	KUNIT_EXPECT_EQ(test, ctx->events[ISOLATION_EVENT_DEVICE_ADDED], 1);
	ctx->group = group;
}

static void isolation_removing_foreign_member_locks_group_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_device(test, "isokunit-host");

	iso_device(test, NULL);
	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_MANAGED);
	isolation_group_remove_device(dev);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	KUNIT_EXPECT_EQ(test, ctx->events[ISOLATION_EVENT_DEVICE_REMOVED], 1);
	KUNIT_EXPECT_PTR_EQ(test, ctx->event_dev, NULL);
	/* It keeps its driver: leaving a group unbinds nothing. */
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_host_driver));
}

/*
 * Providers may place a device late, after its driver bound (an IOMMU that
 * finds its devices late).  A device already on a manager's driver takes
 * an unmanaged group for the manager, as binding it would have: its
 * siblings on host drivers keep the group from locking, and are named.
 */
static void isolation_late_manager_driver_takes_group_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct isolation_group *group = ctx->group;
	struct device *host = iso_device(test, "isokunit-host");
	struct device *dev;

	ctx->group = NULL;
	dev = iso_device(test, "isokunit-mgr");
	KUNIT_ASSERT_TRUE(test, bound_to(dev, &iso_mgr_driver));
	KUNIT_ASSERT_EQ(test, 0, iso_add(group, dev, "r"));
	KUNIT_EXPECT_STREQ(test, group_file(test, group, "manager"),
			   "kunit-mgr\n");
	EXPECT_STATE(test, group, ISOLATION_GROUP_MANAGED);
	KUNIT_EXPECT_EQ(test, -EBUSY,
			isolation_group_check_locked(group, &ctx->mgr));
	/* The group is the manager's for good: host drivers stay off. */
	device_release_driver(host);
	EXPECT_STATE(test, group, ISOLATION_GROUP_LOCKED);
	KUNIT_EXPECT_EQ(test, -EBUSY, iso_bind(host, &iso_host_driver));
	/* Until the device that took it unbinds. */
	device_release_driver(dev);
	EXPECT_STATE(test, group, ISOLATION_GROUP_UNMANAGED);
	ctx->group = group;
}

/* A device on another manager's driver is foreign to the group's manager. */
static void isolation_late_other_manager_driver_blocks_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct isolation_group *group = ctx->group;
	struct device *dev;

	KUNIT_ASSERT_EQ(test, 0, isolation_group_set_manager(group, &ctx->other));
	ctx->group = NULL;
	dev = iso_device(test, "isokunit-mgr");
	KUNIT_ASSERT_EQ(test, 0, iso_add(group, dev, "r"));
	KUNIT_EXPECT_STREQ(test, group_file(test, group, "manager"),
			   "kunit-other\n");
	EXPECT_STATE(test, group, ISOLATION_GROUP_MANAGED);
	ctx->group = group;
}

/*
 * A device on a host driver joins a locked group that a user owns: the
 * group is no longer locked, so no new user of it, nor the same one again,
 * gets in until the device is gone; the owner it had stays, counted.
 */
static void isolation_late_host_driver_unlocks_owned_group_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct isolation_group *group = ctx->group;
	struct device *dev;
	int a;

	iso_device(test, NULL);
	KUNIT_ASSERT_EQ(test, 0, isolation_group_set_manager(group, &ctx->mgr));
	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_owner(group, &ctx->mgr, &a));
	ctx->group = NULL;
	dev = iso_device(test, "isokunit-host");
	KUNIT_ASSERT_EQ(test, 0, iso_add(group, dev, "r"));
	EXPECT_STATE(test, group, ISOLATION_GROUP_MANAGED);
	KUNIT_EXPECT_EQ(test, ctx->events[ISOLATION_EVENT_UNLOCKED], 1);
	KUNIT_EXPECT_EQ(test, -EBUSY,
			isolation_group_set_owner(group, &ctx->mgr, &a));
	KUNIT_EXPECT_EQ(test, -EBUSY,
			isolation_group_check_locked(group, &ctx->mgr));
	isolation_group_remove_device(dev);
	EXPECT_STATE(test, group, ISOLATION_GROUP_LOCKED);
	KUNIT_EXPECT_EQ(test, 0,
			isolation_group_set_owner(group, &ctx->mgr, &a));
	isolation_group_clear_owner(group, &ctx->mgr, &a);
	isolation_group_clear_owner(group, &ctx->mgr, &a);
	ctx->group = group;
}

/*
 * A provider that goes away takes its devices out of their groups: a group
 * held only by its devices' bindings is let go, and its devices keep their
 * drivers.
 */
static void isolation_provider_gone_lets_held_group_go_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_device(test, "isokunit-mgr");

	KUNIT_ASSERT_STREQ(test, group_file(test, ctx->group, "manager"),
			   "kunit-mgr\n");
	isolation_provider_unregister(&ctx->prov);
	ctx->prov.name = NULL;		/* so that exit does not do it again */
	KUNIT_EXPECT_NULL(test, dev->isolation_group);
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"), "\n");
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_mgr_driver));
}

/*
 * A device put into a held group by its bus's dma_configure(), as its first
 * driver probes: the driver core checks the binding again after
 * dma_configure(), refuses the host driver, undoes dma_configure() once,
 * and goes on to the next driver, the manager's, which binds.
 */
static void isolation_dma_configure_placement_refuses_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev;

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	KUNIT_ASSERT_EQ(test, 0,
			isolation_manager_add_driver(&ctx->mgr,
						     &iso_bus_mgr_driver));
	iso_bus_driver(test, &iso_bus_host_driver);
	iso_bus_driver(test, &iso_bus_mgr_driver);
	iso_bus_dma_group = ctx->group;
	iso_bus_cleanups = 0;
	dev = iso_bus_device(test);
	KUNIT_EXPECT_PTR_EQ(test, dev->isolation_group, ctx->group);
	KUNIT_EXPECT_PTR_EQ(test, dev->driver, &iso_bus_mgr_driver);
	KUNIT_EXPECT_EQ(test, iso_bus_cleanups, 1);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
}

/*
 * A driver that makes its device join a group from its own probe, after
 * the driver core checked the binding: the binding is counted where it is
 * committed, so the held group does not read "locked" with a foreign
 * driver bound.
 */
static void isolation_placed_by_own_probe_is_counted_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev;

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	iso_bus_driver(test, &iso_bus_self_driver);
	iso_bus_probe_group = ctx->group;
	dev = iso_bus_device(test);
	KUNIT_ASSERT_PTR_EQ(test, dev->driver, &iso_bus_self_driver);
	KUNIT_EXPECT_PTR_EQ(test, dev->isolation_group, ctx->group);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_MANAGED);
	KUNIT_EXPECT_EQ(test, -EBUSY,
			isolation_group_check_locked(ctx->group, &ctx->mgr));
}

/*
 * A device that belongs in a group but could not join it may be on any
 * driver: the group is never locked again, and its manager is refused.
 */
static void isolation_incomplete_group_never_locks_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *stray = test_device(test, "iso-stray-0");

	iso_device(test, NULL);
	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	isolation_group_mark_incomplete(ctx->group, stray);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_MANAGED);
	KUNIT_EXPECT_EQ(test, -EBUSY,
			isolation_group_check_locked(ctx->group, &ctx->mgr));
	KUNIT_EXPECT_EQ(test, ctx->events[ISOLATION_EVENT_UNLOCKED], 1);
}

/* Every route to a driver. */

/* Hotplug: probing at device_add() refuses the host driver. */
static void isolation_hotplug_into_locked_group_stays_driverless_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev;

	iso_device(test, NULL);
	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	dev = iso_device(test, "isokunit-host");
	KUNIT_EXPECT_PTR_EQ(test, dev->isolation_group, ctx->group);
	KUNIT_EXPECT_NULL(test, dev->driver);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	KUNIT_EXPECT_EQ(test, ctx->events[ISOLATION_EVENT_DEVICE_ADDED], 1);
	KUNIT_EXPECT_PTR_EQ(test, ctx->event_dev, dev);
}

static void isolation_driver_register_refuses_foreign_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_device(test, "isokunit-late");
	struct device *free_dev;

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	ctx->group = NULL;
	free_dev = iso_device(test, "isokunit-late");
	KUNIT_ASSERT_EQ(test, 0, platform_driver_register(&iso_late_driver));
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test,
						  platform_driver_unregister_action,
						  &iso_late_driver));
	wait_for_device_probe();
	KUNIT_EXPECT_NULL(test, dev->driver);
	/* The same driver binds where no manager stands in the way. */
	KUNIT_EXPECT_TRUE(test, bound_to(free_dev, &iso_late_driver));
}

static ssize_t iso_dev_write(struct device *dev, const char *file,
			     const char *s)
{
	char path[128];

	snprintf(path, sizeof(path), "bus/platform/devices/%s/%s",
		 dev_name(dev), file);
	return iso_sysfs_write(path, s);
}

/*
 * sysfs bind: refused with an error for a device of a managed group, while
 * the same write binds a device of no group.  Both devices match the host
 * driver (driver_override), so only the isolation filter tells them apart.
 */
static void isolation_sysfs_bind_of_foreign_fails_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	const char *bind = "bus/platform/drivers/isokunit-host/bind";
	struct device *dev = iso_device(test, NULL);
	struct device *free_dev;

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	ctx->group = NULL;
	free_dev = iso_device(test, NULL);
	KUNIT_ASSERT_EQ(test, 0, device_set_driver_override(dev, "isokunit-host"));
	KUNIT_ASSERT_EQ(test, 0,
			device_set_driver_override(free_dev, "isokunit-host"));

	KUNIT_EXPECT_LT(test, iso_sysfs_write(bind, dev_name(dev)), 0);
	KUNIT_EXPECT_NULL(test, dev->driver);
	EXPECT_STATE(test, dev->isolation_group, ISOLATION_GROUP_LOCKED);
	KUNIT_EXPECT_GT(test, iso_sysfs_write(bind, dev_name(free_dev)), 0);
	KUNIT_EXPECT_TRUE(test, bound_to(free_dev, &iso_host_driver));
}

/*
 * libvirt's give-back of one device: unbind it from the manager's driver,
 * clear its driver_override (here: set it to the host driver, which the
 * platform bus matches by name), and probe it through drivers_probe.
 */
static void iso_give_back(struct kunit *test, struct device *dev)
{
	device_release_driver(dev);
	KUNIT_ASSERT_GT(test, iso_dev_write(dev, "driver_override",
					    "isokunit-host"), 0);
	iso_sysfs_write("bus/platform/drivers_probe", dev_name(dev));
	wait_for_device_probe();
}

/*
 * A group given back one device at a time: the host driver is refused
 * while another device still holds the group; once the last lets the
 * group go, the devices turned away are probed again.
 */
static void isolation_let_go_probes_devices_turned_away_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *a = iso_device(test, "isokunit-mgr");
	struct device *b = iso_device(test, "isokunit-mgr");

	KUNIT_ASSERT_TRUE(test, bound_to(a, &iso_mgr_driver));
	KUNIT_ASSERT_TRUE(test, bound_to(b, &iso_mgr_driver));

	iso_give_back(test, a);
	KUNIT_EXPECT_NULL(test, a->driver);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);

	iso_give_back(test, b);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
	KUNIT_EXPECT_TRUE(test, bound_to(a, &iso_host_driver));
	KUNIT_EXPECT_TRUE(test, bound_to(b, &iso_host_driver));
}

/*
 * What a let-go leaves alone: a device unbound by hand and never asked
 * for a driver again, the device whose driver held the group, and one
 * that was turned away but bound a driver since (the manager's) and was
 * unbound by hand.  Only the device still waiting for the driver it was
 * refused is probed.
 */
static void isolation_let_go_leaves_unrequested_devices_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *unbound = iso_device(test, "isokunit-host");
	struct device *holder = iso_device(test, "isokunit-mgr");
	struct device *rebound = iso_device(test, "isokunit-host");
	struct device *refused = iso_device(test, "isokunit-host");

	KUNIT_ASSERT_TRUE(test, bound_to(holder, &iso_mgr_driver));
	KUNIT_ASSERT_NULL(test, rebound->driver);
	KUNIT_ASSERT_NULL(test, refused->driver);
	device_release_driver(unbound);
	KUNIT_ASSERT_EQ(test, 0, iso_bind(rebound, &iso_mgr_driver));
	device_release_driver(rebound);

	device_release_driver(holder);
	wait_for_device_probe();
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
	KUNIT_EXPECT_TRUE(test, bound_to(refused, &iso_host_driver));
	KUNIT_EXPECT_NULL(test, unbound->driver);
	KUNIT_EXPECT_NULL(test, holder->driver);
	KUNIT_EXPECT_NULL(test, rebound->driver);
}

/*
 * A driver that registers meets every device of its bus, bound or not: a
 * bound device that the hold refuses it is waiting for no driver, so once
 * unbound by hand it stays unbound when the group is let go.
 */
static void isolation_let_go_leaves_device_refused_while_bound_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev;

	KUNIT_ASSERT_EQ(test, 0,
			isolation_manager_add_driver(&ctx->mgr,
						     &iso_bus_mgr_driver));
	iso_bus_driver(test, &iso_bus_mgr_driver);
	iso_bus_dma_group = ctx->group;
	dev = iso_bus_device(test);
	KUNIT_ASSERT_PTR_EQ(test, dev->driver, &iso_bus_mgr_driver);
	iso_bus_driver(test, &iso_bus_host_driver);
	KUNIT_ASSERT_PTR_EQ(test, dev->driver, &iso_bus_mgr_driver);

	device_release_driver(dev);
	wait_for_device_probe();
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
	KUNIT_EXPECT_NULL(test, dev->driver);
}

/*
 * Every way a group is let go probes the devices it turned away, not only
 * the last unbind of a manager's driver: here the last explicit hold
 * dropped, and a manager that goes.
 */
static void isolation_every_let_go_probes_devices_turned_away_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct isolation_group *second;
	struct device *dev, *other;

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	dev = iso_device(test, "isokunit-host");
	KUNIT_ASSERT_NULL(test, dev->driver);
	isolation_group_clear_manager(ctx->group, &ctx->mgr);
	wait_for_device_probe();
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_host_driver));

	second = test_group_alloc(test);
	ctx->group = second;
	KUNIT_ASSERT_EQ(test, 0, isolation_group_set_manager(second, &ctx->mgr));
	other = iso_device(test, "isokunit-host");
	KUNIT_ASSERT_NULL(test, other->driver);
	isolation_manager_unregister(&ctx->mgr);
	ctx->mgr_gone = true;
	wait_for_device_probe();
	EXPECT_STATE(test, second, ISOLATION_GROUP_UNMANAGED);
	KUNIT_EXPECT_TRUE(test, bound_to(other, &iso_host_driver));
}

/* driver_override, then drivers_probe: the same, through the bus. */
static void isolation_driver_override_probe_refused_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	const char *probe = "bus/platform/drivers_probe";
	struct device *dev = iso_device(test, NULL);
	struct device *free_dev;

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	ctx->group = NULL;
	free_dev = iso_device(test, NULL);
	KUNIT_ASSERT_GT(test, iso_dev_write(dev, "driver_override",
					    "isokunit-host"), 0);
	KUNIT_ASSERT_GT(test, iso_dev_write(free_dev, "driver_override",
					    "isokunit-host"), 0);

	iso_sysfs_write(probe, dev_name(dev));
	iso_sysfs_write(probe, dev_name(free_dev));
	wait_for_device_probe();
	KUNIT_EXPECT_NULL(test, dev->driver);
	EXPECT_STATE(test, dev->isolation_group, ISOLATION_GROUP_LOCKED);
	KUNIT_EXPECT_TRUE(test, bound_to(free_dev, &iso_host_driver));
}

static void isolation_async_probe_refuses_foreign_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev;

	iso_device(test, NULL);
	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	iso_probes = 0;
	dev = iso_device(test, "isokunit-async");
	KUNIT_EXPECT_NULL(test, dev->driver);
	KUNIT_EXPECT_EQ(test, iso_probes, 0);
	/* Without a manager, the same device probes the same way. */
	ctx->group = NULL;
	dev = iso_device(test, "isokunit-async");
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_async_driver));
}

static void isolation_deferred_probe_refuses_foreign_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_device(test, "isokunit-defer");
	struct device *trigger;

	KUNIT_ASSERT_EQ(test, iso_defers, 1);
	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	/* A driver binding anywhere retries deferred probes. */
	ctx->group = NULL;
	trigger = iso_device(test, "isokunit-host");
	KUNIT_ASSERT_TRUE(test, bound_to(trigger, &iso_host_driver));
	wait_for_device_probe();
	KUNIT_EXPECT_EQ(test, iso_defers, 1);
	KUNIT_EXPECT_NULL(test, dev->driver);
}

/* What driver_match_device() says of @drv, with the bus matching it. */
static int iso_match(struct kunit *test, struct device *dev,
		     struct platform_driver *drv)
{
	KUNIT_EXPECT_EQ(test, 0,
			device_set_driver_override(dev, drv->driver.name));
	return driver_match_device(&drv->driver, dev);
}

/* The match filter alone, which every route to a driver goes through. */
static void isolation_match_filters_foreign_driver_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_device(test, NULL);

	KUNIT_EXPECT_EQ(test, 1, iso_match(test, dev, &iso_host_driver));
	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	KUNIT_EXPECT_EQ(test, 0, iso_match(test, dev, &iso_host_driver));
	KUNIT_EXPECT_EQ(test, 1, iso_match(test, dev, &iso_mgr_driver));
	KUNIT_EXPECT_EQ(test, 1, iso_match(test, dev, &iso_stub_driver));
}

/* A manager set between match and probe is caught where probe commits. */
static void isolation_probe_rechecks_after_match_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_device(test, NULL);

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	/* device_driver_attach() is what bind does after its match. */
	KUNIT_EXPECT_EQ(test, -EBUSY, iso_bind(dev, &iso_host_driver));
	KUNIT_EXPECT_NULL(test, dev->driver);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
}

static void isolation_manager_driver_binds_in_locked_group_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_device(test, NULL);

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	KUNIT_EXPECT_EQ(test, 0, iso_bind(dev, &iso_mgr_driver));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	device_release_driver(dev);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
}

static void isolation_compatible_driver_binds_in_locked_group_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_device(test, NULL);

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	KUNIT_EXPECT_EQ(test, 0, iso_bind(dev, &iso_stub_driver));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
}

static void isolation_unmanaged_group_binds_any_driver_test(struct kunit *test)
{
	struct device *dev = iso_device(test, NULL);

	KUNIT_EXPECT_EQ(test, 0, iso_bind(dev, &iso_host_driver));
	device_release_driver(dev);
	KUNIT_EXPECT_EQ(test, 0, iso_bind(dev, &iso_mgr_driver));
}

/* A device bound to a driver the manager gave up: unbinding it relocks. */
static void isolation_unbind_after_driver_removal_relocks_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_device(test, "isokunit-mgr");

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	isolation_manager_remove_driver(&ctx->mgr, &iso_mgr_driver.driver);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_MANAGED);
	device_release_driver(dev);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "blockers"), "");
	KUNIT_EXPECT_EQ(test, 0,
			isolation_manager_add_driver(&ctx->mgr,
						     &iso_mgr_driver.driver));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
}

static void isolation_removed_manager_driver_unlocks_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;

	iso_device(test, "isokunit-mgr");
	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	isolation_manager_remove_driver(&ctx->mgr, &iso_mgr_driver.driver);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_MANAGED);
	KUNIT_EXPECT_FALSE(test, isolation_manager_owns(&ctx->mgr,
							&iso_mgr_driver.driver));
	KUNIT_EXPECT_EQ(test, 0,
			isolation_manager_add_driver(&ctx->mgr,
						     &iso_mgr_driver.driver));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	KUNIT_EXPECT_TRUE(test, isolation_manager_owns(&ctx->mgr,
						       &iso_mgr_driver.driver));
}

/* Managers going away. */

static void isolation_manager_unregister_frees_groups_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_device(test, NULL);

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->other));
	isolation_manager_unregister(&ctx->other);
	ctx->other.name = NULL;		/* so that exit does not do it again */
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
	KUNIT_EXPECT_EQ(test, 0, iso_bind(dev, &iso_host_driver));
}

/*
 * A hold does not keep a group: a claimed group whose devices are all gone
 * (hot-unplugged, or its provider went away) is gone, rather than left in
 * sysfs, empty and "locked", for a user to believe in.
 */
static void isolation_held_group_goes_with_last_member_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct isolation_group *group = ctx->group;
	struct device *dev = iso_device(test, NULL);
	int id = isolation_group_id(group);

	KUNIT_ASSERT_EQ(test, 0, isolation_group_claim(group, &ctx->mgr));
	KUNIT_ASSERT_TRUE(test, bound_to(dev, &iso_mgr_driver));
	ctx->group = NULL;
	test_group_put(test, group);
	KUNIT_EXPECT_TRUE(test, group_id_in_sysfs(id));
	kunit_release_action(test, platform_device_unregister_action,
			     to_platform_device(dev));
	KUNIT_EXPECT_FALSE(test, group_id_in_sysfs(id));
}

/*
 * A manager that goes and comes back starts afresh: a device that held the
 * group for it before cannot, by unbinding, let go of a group that a device
 * holds for it now.
 */
static void isolation_manager_reregister_starts_afresh_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *old = iso_device(test, "isokunit-mgr");
	struct device *new;

	KUNIT_ASSERT_STREQ(test, group_file(test, ctx->group, "manager"),
			   "kunit-mgr\n");
	isolation_manager_unregister(&ctx->mgr);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
	KUNIT_ASSERT_EQ(test, 0, isolation_manager_register(&ctx->mgr));
	KUNIT_ASSERT_EQ(test, 0,
			isolation_manager_add_driver(&ctx->mgr,
						     &iso_mgr_driver.driver));
	new = iso_device(test, "isokunit-mgr");
	KUNIT_ASSERT_TRUE(test, bound_to(new, &iso_mgr_driver));
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"),
			   "kunit-mgr\n");
	device_release_driver(old);
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"),
			   "kunit-mgr\n");
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	device_release_driver(new);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
}

/* Sysfs. */

static void isolation_sysfs_blockers_name_foreign_members_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *host = iso_device(test, "isokunit-host");
	char want[96];

	iso_device(test, "isokunit-stub");
	iso_device(test, NULL);
	snprintf(want, sizeof(want), "%s\n", dev_name(host));
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "blockers"), want);
	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "blockers"), want);
	device_release_driver(host);
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "blockers"), "");
}

/*
 * Each member's reason, in its own directory, until it leaves: a reader
 * that opened the file before then reads nothing of the freed member.
 */
static void isolation_sysfs_reason_is_per_member_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_device(test, NULL);
	char path[96], buf[64];
	struct file *f;
	loff_t pos = 0;

	snprintf(path, sizeof(path), "devices/%s/isolation_reason",
		 dev_name(dev));
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, path),
			   "on the kunit bus\n");
	snprintf(path, sizeof(path), "bus/platform/devices/%s/isolation_reason",
		 dev_name(dev));
	f = file_open_root_mnt(iso_sysfs, path, O_RDONLY, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(f));
	isolation_group_remove_device(dev);
	KUNIT_EXPECT_EQ(test, kernel_read(f, buf, sizeof(buf), &pos),
			(ssize_t)-ENODEV);
	filp_close(f, NULL);
	KUNIT_EXPECT_EQ(test, iso_sysfs_read(path, buf, sizeof(buf)),
			(ssize_t)-ENOENT);
}

static void isolation_sysfs_manager_write_claims_group_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *host = iso_device(test, "isokunit-host");
	struct device *stub = iso_device(test, "isokunit-stub");
	struct device *idle = iso_device(test, NULL);

	KUNIT_EXPECT_GT(test, group_write(test, ctx->group, "manager",
					  "kunit-mgr\n"), 0);
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "state"),
			   "locked\n");
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"),
			   "kunit-mgr\n");
	KUNIT_EXPECT_TRUE(test, bound_to(host, &iso_mgr_driver));
	KUNIT_EXPECT_TRUE(test, bound_to(idle, &iso_mgr_driver));
	/* Compatible drivers stay. */
	KUNIT_EXPECT_TRUE(test, bound_to(stub, &iso_stub_driver));
}

static void isolation_sysfs_manager_write_empty_releases_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *host = iso_device(test, "isokunit-host");
	struct device *stub = iso_device(test, "isokunit-stub");

	KUNIT_ASSERT_GT(test, group_write(test, ctx->group, "manager",
					  "kunit-mgr"), 0);
	KUNIT_ASSERT_TRUE(test, bound_to(host, &iso_mgr_driver));
	KUNIT_EXPECT_GT(test, group_write(test, ctx->group, "manager", "\n"), 0);
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "state"),
			   "unmanaged\n");
	/* Host drivers probed again. */
	KUNIT_EXPECT_TRUE(test, bound_to(host, &iso_host_driver));
	KUNIT_EXPECT_TRUE(test, bound_to(stub, &iso_stub_driver));
	/* Releasing an unmanaged group is nothing to do, and no error. */
	KUNIT_EXPECT_EQ(test, 1, group_write(test, ctx->group, "manager", "\n"));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
}

/* Every refused write leaves the group exactly as it was. */
static void expect_group_untouched(struct kunit *test, struct device *host)
{
	struct iso_ctx *ctx = test->priv;

	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"), "\n");
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
	KUNIT_EXPECT_TRUE(test, bound_to(host, &iso_host_driver));
}

static void isolation_sysfs_manager_unknown_is_enodev_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *host = iso_device(test, "isokunit-host");

	KUNIT_EXPECT_EQ(test, -ENODEV, group_write(test, ctx->group, "manager",
						   "no-such-manager"));
	expect_group_untouched(test, host);
}

static void isolation_sysfs_manager_garbage_is_einval_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *host = iso_device(test, "isokunit-host");

	KUNIT_EXPECT_EQ(test, -EINVAL, group_write(test, ctx->group, "manager",
						   "kunit mgr"));
	KUNIT_EXPECT_EQ(test, -EINVAL, group_write(test, ctx->group, "manager",
						   "kunit-mgr\n\n"));
	KUNIT_EXPECT_EQ(test, -EINVAL, group_write(test, ctx->group, "manager",
						   "\x01\x02"));
	KUNIT_EXPECT_EQ(test, -EINVAL,
			group_write(test, ctx->group, "manager",
				    "a-name-much-longer-than-any-manager-has"));
	/* One longer than a manager's name may be, newline or not. */
	KUNIT_EXPECT_EQ(test, -EINVAL,
			group_write(test, ctx->group, "manager",
				    "kunit-mgr-with-a-name-of-33-chars"));
	KUNIT_EXPECT_EQ(test, -EINVAL,
			group_write(test, ctx->group, "manager",
				    "kunit-mgr-with-a-name-of-33-chars\n"));
	/* A NUL byte anywhere is garbage, not the end of the name. */
	KUNIT_EXPECT_EQ(test, -EINVAL,
			iso_sysfs_write_len(group_path(test, ctx->group,
						       "manager"),
					    "kunit-mgr\0junk", 14));
	KUNIT_EXPECT_EQ(test, -EINVAL,
			iso_sysfs_write_len(group_path(test, ctx->group,
						       "manager"),
					    "\0kunit-mgr", 10));
	KUNIT_EXPECT_EQ(test, -EINVAL,
			iso_sysfs_write_len(group_path(test, ctx->group,
						       "manager"),
					    "\xff\xfe", 2));
	expect_group_untouched(test, host);
}

/* Garbage does not release a claimed group either: "\0" is not empty. */
static void isolation_sysfs_manager_garbage_keeps_claim_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;

	iso_device(test, "isokunit-host");
	KUNIT_ASSERT_GT(test, group_write(test, ctx->group, "manager",
					  "kunit-mgr"), 0);
	KUNIT_EXPECT_EQ(test, -EINVAL,
			iso_sysfs_write_len(group_path(test, ctx->group,
						       "manager"),
					    "\0kunit-mgr", 10));
	KUNIT_EXPECT_EQ(test, -EINVAL,
			iso_sysfs_write_len(group_path(test, ctx->group,
						       "manager"), "\0\n", 2));
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"),
			   "kunit-mgr\n");
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
}

/*
 * A release while a user has the group's devices would wait for the user
 * to let go, uninterruptibly: it is refused instead, and changes nothing.
 */
static void isolation_release_refused_while_owned_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_device(test, "isokunit-host");
	int a;

	KUNIT_ASSERT_GT(test, group_write(test, ctx->group, "manager",
					  "kunit-mgr"), 0);
	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_owner(ctx->group, &ctx->mgr, &a));
	KUNIT_EXPECT_EQ(test, -EBUSY,
			group_write(test, ctx->group, "manager", "\n"));
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"),
			   "kunit-mgr\n");
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_mgr_driver));
	isolation_group_clear_owner(ctx->group, &ctx->mgr, &a);
	KUNIT_EXPECT_GT(test, group_write(test, ctx->group, "manager", "\n"), 0);
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_host_driver));
}

/* While a claim runs, no user gets the group: the claim could not see it. */
static void isolation_no_owner_during_claim_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;

	iso_device(test, NULL);
	ctx->claim_takes_owner = true;
	KUNIT_ASSERT_GT(test, group_write(test, ctx->group, "manager",
					  "kunit-mgr"), 0);
	KUNIT_EXPECT_EQ(test, -EBUSY, ctx->claim_owner_ret);
}

static void isolation_sysfs_manager_held_is_ebusy_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *host = iso_device(test, "isokunit-host");

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->other));
	KUNIT_EXPECT_EQ(test, -EBUSY, group_write(test, ctx->group, "manager",
						  "kunit-mgr"));
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"),
			   "kunit-other\n");
	KUNIT_EXPECT_TRUE(test, bound_to(host, &iso_host_driver));
}

static void isolation_sysfs_manager_needs_cap_sys_admin_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *host = iso_device(test, "isokunit-host");
	const struct cred *old;
	struct cred *cred;
	ssize_t ret;

	cred = prepare_creds();
	KUNIT_ASSERT_NOT_NULL(test, cred);
	cap_lower(cred->cap_effective, CAP_SYS_ADMIN);
	old = override_creds(cred);
	ret = group_write(test, ctx->group, "manager", "kunit-mgr");
	revert_creds(old);
	put_cred(cred);
	KUNIT_EXPECT_EQ(test, -EPERM, ret);
	expect_group_untouched(test, host);
}

static void isolation_claim_rolls_back_on_manager_error_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *host = iso_device(test, "isokunit-host");

	iso_device(test, NULL);
	ctx->claim_error = -EIO;
	KUNIT_EXPECT_EQ(test, -EIO, group_write(test, ctx->group, "manager",
						"kunit-mgr"));
	expect_group_untouched(test, host);
}

/*
 * A claim refused by what can be known before it unbinds anything changes
 * nothing, not even for a moment: the manager says it cannot take a device
 * (as VFIO for a driver_override that names a host driver), or a device
 * that belongs in the group could not join it.  No host driver is unbound:
 * none probes again.
 */
static void isolation_claim_refused_before_any_unbind_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *host = iso_device(test, "isokunit-host");
	struct device *other = iso_device(test, "isokunit-host");
	unsigned int probes = iso_probes;

	ctx->check_dev = other;
	ctx->check_error = -EBUSY;
	KUNIT_EXPECT_EQ(test, -EBUSY,
			isolation_group_claim(ctx->group, &ctx->mgr));
	KUNIT_EXPECT_EQ(test, iso_probes, probes);
	KUNIT_EXPECT_TRUE(test, bound_to(host, &iso_host_driver));
	KUNIT_EXPECT_TRUE(test, bound_to(other, &iso_host_driver));
	expect_group_untouched(test, host);

	ctx->check_error = 0;
	isolation_group_mark_incomplete(ctx->group, other);
	KUNIT_EXPECT_EQ(test, -EBUSY,
			isolation_group_claim(ctx->group, &ctx->mgr));
	KUNIT_EXPECT_EQ(test, iso_probes, probes);
	KUNIT_EXPECT_TRUE(test, bound_to(host, &iso_host_driver));
	expect_group_untouched(test, host);
}

static void isolation_claim_refuses_unbindable_driver_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *pinned = iso_device(test, "isokunit-pinned");
	struct device *host = iso_device(test, "isokunit-host");

	KUNIT_EXPECT_EQ(test, -EBUSY,
			isolation_group_claim(ctx->group, &ctx->mgr));
	KUNIT_EXPECT_TRUE(test, bound_to(pinned, &iso_pinned_driver));
	expect_group_untouched(test, host);
}

/* One user at a time has the group's devices, counted; another waits. */
static void isolation_one_owner_at_a_time_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	int a, b;

	iso_device(test, NULL);
	KUNIT_EXPECT_EQ(test, -EBUSY,
			isolation_group_set_owner(ctx->group, &ctx->mgr, &a));
	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	KUNIT_EXPECT_EQ(test, 0,
			isolation_group_set_owner(ctx->group, &ctx->mgr, &a));
	KUNIT_EXPECT_EQ(test, 0,
			isolation_group_set_owner(ctx->group, &ctx->mgr, &a));
	KUNIT_EXPECT_EQ(test, -EBUSY,
			isolation_group_set_owner(ctx->group, &ctx->mgr, &b));
	/* Only the owner lets go, once for each time it took the group. */
	isolation_group_clear_owner(ctx->group, &ctx->mgr, &b);
	isolation_group_clear_owner(ctx->group, &ctx->mgr, &a);
	KUNIT_EXPECT_EQ(test, -EBUSY,
			isolation_group_set_owner(ctx->group, &ctx->mgr, &b));
	isolation_group_clear_owner(ctx->group, &ctx->mgr, &a);
	KUNIT_EXPECT_EQ(test, 0,
			isolation_group_set_owner(ctx->group, &ctx->mgr, &b));
	isolation_group_clear_owner(ctx->group, &ctx->mgr, &b);
}

/* A user gets the devices of a locked group only. */
static void isolation_owner_needs_locked_group_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *host = iso_device(test, "isokunit-host");
	int a;

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	KUNIT_EXPECT_EQ(test, -EBUSY,
			isolation_group_set_owner(ctx->group, &ctx->mgr, &a));
	device_release_driver(host);
	KUNIT_EXPECT_EQ(test, 0,
			isolation_group_set_owner(ctx->group, &ctx->mgr, &a));
	/* Held by the owner's manager only. */
	KUNIT_EXPECT_EQ(test, -EBUSY,
			isolation_group_set_owner(ctx->group, &ctx->other, &a));
	isolation_group_clear_owner(ctx->group, &ctx->mgr, &a);
}

/* A claim takes one hold, however often written: one release undoes it. */
static void isolation_claim_takes_one_hold_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *host = iso_device(test, "isokunit-host");

	KUNIT_ASSERT_GT(test, group_write(test, ctx->group, "manager",
					  "kunit-mgr"), 0);
	KUNIT_ASSERT_GT(test, group_write(test, ctx->group, "manager",
					  "kunit-mgr"), 0);
	KUNIT_ASSERT_TRUE(test, bound_to(host, &iso_mgr_driver));
	KUNIT_EXPECT_GT(test, group_write(test, ctx->group, "manager", "\n"), 0);
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"), "\n");
	KUNIT_EXPECT_TRUE(test, bound_to(host, &iso_host_driver));
}

/*
 * A release gives up the claim and unbinds the manager's drivers, but a
 * hold the manager took for its own use keeps the group: the write says
 * so, and host drivers stay off.
 */
static void isolation_release_keeps_other_holds_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *host = iso_device(test, "isokunit-host");

	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	KUNIT_ASSERT_GT(test, group_write(test, ctx->group, "manager",
					  "kunit-mgr"), 0);
	KUNIT_ASSERT_TRUE(test, bound_to(host, &iso_mgr_driver));
	KUNIT_EXPECT_EQ(test, -EBUSY,
			group_write(test, ctx->group, "manager", "\n"));
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"),
			   "kunit-mgr\n");
	KUNIT_EXPECT_NULL(test, host->driver);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	isolation_group_clear_manager(ctx->group, &ctx->mgr);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
}

/* A group held only by its devices' drivers is released by unbinding them. */
static void isolation_release_unbinds_holding_drivers_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_device(test, "isokunit-mgr");

	KUNIT_ASSERT_TRUE(test, bound_to(dev, &iso_mgr_driver));
	/* Where the device goes once its group is let go. */
	KUNIT_ASSERT_EQ(test, 0, device_set_driver_override(dev, "isokunit-host"));
	KUNIT_EXPECT_GT(test, group_write(test, ctx->group, "manager", "\n"), 0);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_host_driver));
}

/* A failed claim never lets go of a group its manager held before. */
static void isolation_failed_claim_keeps_held_group_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *host = iso_device(test, "isokunit-host");

	iso_device(test, NULL);
	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	ctx->claim_error = -EIO;
	KUNIT_EXPECT_EQ(test, -EIO,
			isolation_group_claim(ctx->group, &ctx->mgr));
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"),
			   "kunit-mgr\n");
	KUNIT_EXPECT_EQ(test, ctx->events[ISOLATION_EVENT_UNLOCKED], 0);
	/* The host driver it unbound cannot come back while it holds it. */
	KUNIT_EXPECT_NULL(test, host->driver);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
}

static void iso_uevent_stub(struct isolation_group *group,
			    enum isolation_state state)
{
	struct iso_ctx *ctx = iso_current_ctx();

	ctx->uevents++;
	ctx->uevent_state = state;
}

static void isolation_state_change_sends_uevent_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_device(test, "isokunit-host");

	kunit_activate_static_stub(test, isolation_group_uevent,
				   iso_uevent_stub);
	KUNIT_ASSERT_EQ(test, 0,
			isolation_group_set_manager(ctx->group, &ctx->mgr));
	KUNIT_EXPECT_EQ(test, ctx->uevents, 1);
	KUNIT_EXPECT_EQ(test, ctx->uevent_state, ISOLATION_GROUP_MANAGED);
	device_release_driver(dev);
	KUNIT_EXPECT_EQ(test, ctx->uevents, 2);
	KUNIT_EXPECT_EQ(test, ctx->uevent_state, ISOLATION_GROUP_LOCKED);
	/* No change, no event. */
	KUNIT_EXPECT_EQ(test, 0, iso_bind(dev, &iso_mgr_driver));
	KUNIT_EXPECT_EQ(test, ctx->uevents, 2);
	device_release_driver(dev);
	KUNIT_EXPECT_EQ(test, ctx->uevents, 2);
	isolation_group_clear_manager(ctx->group, &ctx->mgr);
	KUNIT_EXPECT_EQ(test, ctx->uevents, 3);
	KUNIT_EXPECT_EQ(test, ctx->uevent_state, ISOLATION_GROUP_UNMANAGED);
}

static void iso_device_uevent_stub(struct device *dev, int id)
{
	struct iso_ctx *ctx = iso_current_ctx();

	ctx->dev_uevents++;
	ctx->dev_uevent_id = id;
}

/*
 * A device placed after its "add" uevent is announced again once its
 * files are there, and again when it leaves its group; one placed as it
 * is added, or taken out of its group by device_del(), is not.
 */
static void isolation_late_placement_sends_uevent_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *late = test_device(test, "iso-late");
	struct device *early;

	kunit_activate_static_stub(test, isolation_device_uevent,
				   iso_device_uevent_stub);
	early = iso_device(test, NULL);
	KUNIT_ASSERT_PTR_EQ(test, early->isolation_group, ctx->group);
	KUNIT_EXPECT_EQ(test, ctx->dev_uevents, 0);

	device_lock(late);
	KUNIT_EXPECT_EQ(test, 0, isolation_group_add_device(ctx->group, late,
							    "late"));
	device_unlock(late);
	KUNIT_EXPECT_EQ(test, ctx->dev_uevents, 1);
	KUNIT_EXPECT_EQ(test, ctx->dev_uevent_id,
			isolation_group_id(ctx->group));
	isolation_group_remove_device(late);
	KUNIT_EXPECT_EQ(test, ctx->dev_uevents, 2);
	KUNIT_EXPECT_EQ(test, ctx->dev_uevent_id, -1);

	kunit_release_action(test, platform_device_unregister_action,
			     to_platform_device(early));
	KUNIT_EXPECT_EQ(test, ctx->dev_uevents, 2);
}

/* Reservations. */

/* The device that the reservation cases reserve: isokunit.7 */
#define ISO_RES_ID	7
#define ISO_RES_NAME	ISO_DEV ".7"
#define ISO_RES_PCI	"0000:fe:1f.7"
#define ISO_RES2_ID	8
#define ISO_RES2_NAME	ISO_DEV ".8"

/* Whether "reservations" lists @line. */
static bool iso_reservation_listed(struct kunit *test, const char *line)
{
	char *buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	size_t n = strlen(line);
	const char *p;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_GE(test, iso_sysfs_read("kernel/isolation_groups/reservations",
					     buf, PAGE_SIZE), 0);
	for (p = buf; (p = strstr(p, line)); p += n)
		if ((p == buf || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

/* Whether "reservations" lists ISO_RES_NAME reserved for @mgr. */
static bool iso_reserved_for(struct kunit *test, const char *mgr)
{
	char *line = kunit_kzalloc(test, ISOLATION_DEV_NAME_MAX + 32,
				   GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, line);
	snprintf(line, ISOLATION_DEV_NAME_MAX + 32, "%s@platform:%s", mgr,
		 ISO_RES_NAME);
	return iso_reservation_listed(test, line);
}

static void iso_unreserve_action(void *name)
{
	isolation_unreserve(&platform_bus_type, name, NULL);
}

/* Reserve the platform device @name for @manager until the case ends. */
static void iso_reserve(struct kunit *test, const char *name,
			const char *manager)
{
	KUNIT_ASSERT_EQ(test, 0,
			isolation_reserve(&platform_bus_type, name, manager));
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, iso_unreserve_action,
						  (void *)name));
}

/*
 * The reserved device, ISO_RES_NAME, reserved for ctx->mgr until the case
 * ends, steered to the host driver and placed in ctx->group: held and
 * prepared, it binds the manager's driver instead.
 */
static struct device *iso_reserved_device(struct kunit *test)
{
	struct device *dev;

	iso_reserve(test, ISO_RES_NAME, "kunit-mgr");
	dev = iso_device_id(test, "isokunit-host", ISO_RES_ID);
	KUNIT_ASSERT_TRUE(test, bound_to(dev, &iso_mgr_driver));
	return dev;
}

static void isolation_reservation_holds_group_at_placement_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev, *host, *stub;

	iso_reserve(test, ISO_RES_NAME, "kunit-mgr");
	dev = iso_device_id(test, "isokunit-host", ISO_RES_ID);
	/* Held and prepared before the match: the host driver never probed. */
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"),
			   "kunit-mgr\n");
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_mgr_driver));
	KUNIT_EXPECT_EQ(test, iso_probes, 1);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	/* The rest of the group goes to the manager too; stubs stay. */
	host = iso_device(test, "isokunit-host");
	stub = iso_device(test, "isokunit-stub");
	KUNIT_EXPECT_TRUE(test, bound_to(host, &iso_mgr_driver));
	KUNIT_EXPECT_TRUE(test, bound_to(stub, &iso_stub_driver));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	/* The claim's hold outlives the manager's drivers. */
	device_release_driver(dev);
	device_release_driver(host);
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"),
			   "kunit-mgr\n");
}

static void isolation_reservation_waits_for_manager_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev, *stub;

	iso_reserve(test, ISO_RES_NAME, "kunit-mgr");
	isolation_manager_unregister(&ctx->mgr);
	ctx->mgr_gone = true;
	dev = iso_device_id(test, "isokunit-host", ISO_RES_ID);
	stub = iso_device(test, "isokunit-stub");
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "state"),
			   "reserved\n");
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"),
			   "kunit-mgr\n");
	/* Only compatible drivers bind meanwhile, whoever asks. */
	KUNIT_EXPECT_NULL(test, dev->driver);
	KUNIT_EXPECT_TRUE(test, bound_to(stub, &iso_stub_driver));
	KUNIT_EXPECT_EQ(test, -EBUSY, iso_bind(dev, &iso_host_driver));
	KUNIT_EXPECT_EQ(test, -EBUSY, group_write(test, ctx->group, "manager",
						  "kunit-other"));
	KUNIT_EXPECT_EQ(test, iso_probes, 1);

	/* The manager comes: it takes the group, and binds it once it can. */
	KUNIT_ASSERT_EQ(test, 0, isolation_manager_register(&ctx->mgr));
	ctx->mgr_gone = false;
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"),
			   "kunit-mgr\n");
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	KUNIT_ASSERT_EQ(test, 0,
			isolation_manager_add_driver(&ctx->mgr,
						     &iso_mgr_driver.driver));
	isolation_manager_claim_reserved(&ctx->mgr);
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_mgr_driver));
	KUNIT_EXPECT_TRUE(test, bound_to(stub, &iso_stub_driver));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
}

static void isolation_reservation_outlives_its_manager_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev;

	dev = iso_reserved_device(test);
	device_release_driver(dev);
	isolation_manager_unregister(&ctx->mgr);
	ctx->mgr_gone = true;
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_RESERVED);
	KUNIT_EXPECT_EQ(test, -EBUSY, iso_bind(dev, &iso_host_driver));
	KUNIT_ASSERT_EQ(test, 0, isolation_manager_register(&ctx->mgr));
	ctx->mgr_gone = false;
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"),
			   "kunit-mgr\n");
}

static void isolation_reservation_survives_readd_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct isolation_group *group;
	struct device *dev;

	dev = iso_reserved_device(test);
	kunit_release_action(test, platform_device_unregister_action,
			     to_platform_device(dev));

	/* Placed again, into a group of its own this time. */
	group = test_group_alloc(test);
	ctx->group = group;
	dev = iso_device_id(test, "isokunit-host", ISO_RES_ID);
	KUNIT_EXPECT_TRUE(test, device_links_to(dev, group));
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_mgr_driver));
	KUNIT_EXPECT_STREQ(test, group_file(test, group, "manager"),
			   "kunit-mgr\n");
	EXPECT_STATE(test, group, ISOLATION_GROUP_LOCKED);
	KUNIT_EXPECT_EQ(test, iso_probes, 2);
}

static void isolation_unreserve_lets_group_go_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev;

	dev = iso_reserved_device(test);
	/* The manager file cannot release what a reservation holds. */
	KUNIT_EXPECT_EQ(test, -EBUSY,
			group_write(test, ctx->group, "manager", "\n"));
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_mgr_driver));

	KUNIT_EXPECT_EQ(test, 0, isolation_unreserve(&platform_bus_type,
						     ISO_RES_NAME, NULL));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_host_driver));
	KUNIT_EXPECT_EQ(test, -ENODEV, isolation_unreserve(&platform_bus_type,
							   ISO_RES_NAME, NULL));
}

static void isolation_unreserve_of_removed_device_lets_group_go_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev, *other;

	iso_reserve(test, ISO_RES_NAME, "kunit-mgr");
	dev = iso_device_id(test, "isokunit-host", ISO_RES_ID);
	other = iso_device(test, "isokunit-host");
	KUNIT_ASSERT_TRUE(test, bound_to(other, &iso_mgr_driver));
	/* The reserved device goes on its own; its group stays held. */
	kunit_release_action(test, platform_device_unregister_action,
			     to_platform_device(dev));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	KUNIT_EXPECT_EQ(test, -EBUSY,
			group_write(test, ctx->group, "manager", "\n"));
	/* Its reservation goes too: the group is let go. */
	KUNIT_EXPECT_EQ(test, 0, isolation_unreserve(&platform_bus_type,
						     ISO_RES_NAME, NULL));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
	KUNIT_EXPECT_TRUE(test, bound_to(other, &iso_host_driver));
}

/*
 * Two reservations, in two groups.  The device of the first goes on its
 * own (its group stays, with its sibling); taking out the second lets only
 * the second's group go: the first still holds its group, and the device
 * comes back into it, held.
 */
static void isolation_unreserve_keeps_groups_others_hold_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct isolation_group *first = ctx->group, *second;
	struct device *dev, *sibling, *other;

	iso_reserve(test, ISO_RES_NAME, "kunit-mgr");
	dev = iso_device_id(test, "isokunit-host", ISO_RES_ID);
	sibling = iso_device(test, "isokunit-host");
	KUNIT_ASSERT_TRUE(test, bound_to(sibling, &iso_mgr_driver));
	second = test_group_alloc(test);
	ctx->group = second;
	iso_reserve(test, ISO_RES2_NAME, "kunit-mgr");
	other = iso_device_id(test, "isokunit-host", ISO_RES2_ID);
	KUNIT_ASSERT_TRUE(test, bound_to(other, &iso_mgr_driver));

	kunit_release_action(test, platform_device_unregister_action,
			     to_platform_device(dev));
	KUNIT_EXPECT_EQ(test, 0, isolation_unreserve(&platform_bus_type,
						     ISO_RES2_NAME, NULL));
	EXPECT_STATE(test, second, ISOLATION_GROUP_UNMANAGED);
	KUNIT_EXPECT_TRUE(test, bound_to(other, &iso_host_driver));
	EXPECT_STATE(test, first, ISOLATION_GROUP_LOCKED);
	KUNIT_EXPECT_STREQ(test, group_file(test, first, "manager"),
			   "kunit-mgr\n");
	KUNIT_EXPECT_TRUE(test, bound_to(sibling, &iso_mgr_driver));

	ctx->group = first;
	dev = iso_device_id(test, "isokunit-host", ISO_RES_ID);
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_mgr_driver));
	EXPECT_STATE(test, first, ISOLATION_GROUP_LOCKED);
}

/*
 * An unreserve that is refused changes nothing: while a user of the
 * manager has the group's devices, the reservation stays, and so does the
 * group, held and locked.
 */
static void isolation_refused_unreserve_keeps_reservation_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_reserved_device(test);
	int owner;

	KUNIT_ASSERT_EQ(test, 0, isolation_group_set_owner(ctx->group,
							   &ctx->mgr, &owner));
	KUNIT_EXPECT_EQ(test, -EBUSY, isolation_unreserve(&platform_bus_type,
							  ISO_RES_NAME, NULL));
	KUNIT_EXPECT_TRUE(test, iso_reserved_for(test, "kunit-mgr"));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_mgr_driver));
	isolation_group_clear_owner(ctx->group, &ctx->mgr, &owner);
	KUNIT_EXPECT_EQ(test, 0, isolation_unreserve(&platform_bus_type,
						     ISO_RES_NAME, NULL));
	KUNIT_EXPECT_FALSE(test, iso_reserved_for(test, "kunit-mgr"));
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_host_driver));
}

/*
 * A reservation that could not hold anything is refused when it is made,
 * with no reservation left behind: one for a manager nobody registers,
 * even while its device is not there, and one for a device that is bound
 * to a driver in no isolation group, which no IOMMU isolates.
 */
static void isolation_reserve_refuses_what_it_cannot_hold_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev;

	KUNIT_EXPECT_EQ(test, -ENODEV, isolation_reserve(&platform_bus_type,
							 ISO_RES_NAME,
							 "kunit-none"));
	KUNIT_EXPECT_FALSE(test, iso_reserved_for(test, "kunit-none"));
	ctx->group = NULL;
	dev = iso_device_id(test, "isokunit-host", ISO_RES_ID);
	KUNIT_ASSERT_TRUE(test, bound_to(dev, &iso_host_driver));
	KUNIT_EXPECT_EQ(test, -ENXIO, isolation_reserve(&platform_bus_type,
							ISO_RES_NAME,
							"kunit-mgr"));
	KUNIT_EXPECT_FALSE(test, iso_reserved_for(test, "kunit-mgr"));
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_host_driver));
}

static void isolation_release_reserved_unprepares_devices_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev;

	dev = iso_reserved_device(test);
	/* The manager's driver goes: the device is steered back. */
	device_release_driver(dev);
	isolation_manager_unprepare(&ctx->mgr);
	KUNIT_EXPECT_GT(test,
			device_match_driver_override(dev, &iso_host_driver.driver),
			0);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	KUNIT_EXPECT_EQ(test, -EBUSY, iso_bind(dev, &iso_host_driver));
	/* It comes back: the group's devices are bound to it again. */
	isolation_manager_claim_reserved(&ctx->mgr);
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_mgr_driver));
}

/*
 * What the manager sets up is undone once, and only what it set up: on
 * release, and when its driver goes (vfio-pci unloaded) from a claimed
 * group too, not only a reserved one, so that a release after it lets
 * host drivers bind.  A claim that set nothing up is released without a
 * call.
 */
static void isolation_unprepare_undoes_what_the_manager_set_up_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *a = iso_device(test, "isokunit-host");
	struct device *b = iso_device(test, "isokunit-host");

	KUNIT_ASSERT_EQ(test, 0, isolation_group_claim(ctx->group, &ctx->mgr));
	KUNIT_EXPECT_GT(test, group_write(test, ctx->group, "manager", "\n"),
			0);
	KUNIT_EXPECT_EQ(test, ctx->releases, 0);
	KUNIT_EXPECT_TRUE(test, bound_to(a, &iso_host_driver));

	ctx->claim_sets_up = true;
	KUNIT_ASSERT_EQ(test, 0, isolation_group_claim(ctx->group, &ctx->mgr));
	KUNIT_ASSERT_TRUE(test, bound_to(a, &iso_mgr_driver));
	/* The manager's driver goes: both devices are given back their set-up. */
	device_release_driver(a);
	device_release_driver(b);
	isolation_manager_unprepare(&ctx->mgr);
	KUNIT_EXPECT_EQ(test, ctx->releases, 2);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	/* The release that follows lets host drivers bind, undoing nothing twice. */
	KUNIT_EXPECT_GT(test, group_write(test, ctx->group, "manager", "\n"),
			0);
	KUNIT_EXPECT_EQ(test, ctx->releases, 2);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
	KUNIT_EXPECT_TRUE(test, bound_to(a, &iso_host_driver));
	KUNIT_EXPECT_TRUE(test, bound_to(b, &iso_host_driver));
}

static void isolation_unreserve_of_waiting_group_probes_host_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev;

	/* Reserved for a manager that then goes: the group waits for it. */
	iso_reserve(test, ISO_RES_NAME, "kunit-other");
	isolation_manager_unregister(&ctx->other);
	ctx->other.name = NULL;
	dev = iso_device_id(test, "isokunit-host", ISO_RES_ID);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_RESERVED);
	KUNIT_EXPECT_NULL(test, dev->driver);
	/* A reservation for another manager is not this one. */
	KUNIT_EXPECT_EQ(test, -ENODEV, isolation_unreserve(&platform_bus_type,
							   ISO_RES_NAME,
							   "kunit-mgr"));
	KUNIT_EXPECT_EQ(test, 0, isolation_unreserve(&platform_bus_type,
						     ISO_RES_NAME, NULL));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_host_driver));
}

static void isolation_reserve_of_placed_device_claims_group_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_device_id(test, "isokunit-host", ISO_RES_ID);

	KUNIT_ASSERT_TRUE(test, bound_to(dev, &iso_host_driver));
	iso_reserve(test, ISO_RES_NAME, "kunit-mgr");
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_mgr_driver));
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
	KUNIT_EXPECT_EQ(test, -EEXIST, isolation_reserve(&platform_bus_type,
							 ISO_RES_NAME,
							 "kunit-mgr"));
}

static void isolation_failed_reserve_leaves_nothing_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_device_id(test, "isokunit-host", ISO_RES_ID);

	/* No such manager: no claim, and no reservation left behind. */
	KUNIT_EXPECT_EQ(test, -ENODEV, isolation_reserve(&platform_bus_type,
							 ISO_RES_NAME,
							 "kunit-none"));
	expect_group_untouched(test, dev);
	KUNIT_EXPECT_EQ(test, -ENODEV, isolation_unreserve(&platform_bus_type,
							   ISO_RES_NAME, NULL));
	/* A manager that fails the claim: rolled back, no reservation. */
	ctx->claim_error = -EIO;
	KUNIT_EXPECT_EQ(test, -EIO, isolation_reserve(&platform_bus_type,
						      ISO_RES_NAME,
						      "kunit-mgr"));
	expect_group_untouched(test, dev);
	KUNIT_EXPECT_EQ(test, -ENODEV, isolation_unreserve(&platform_bus_type,
							   ISO_RES_NAME, NULL));
}

/* How the cases name platform devices: "isokunit.<n>", in either case. */
static int iso_parse_platform_name(const char *s, size_t len, char *name)
{
	size_t i;

	if (len >= ISOLATION_DEV_NAME_MAX || len <= strlen(ISO_DEV ".") ||
	    strncasecmp(s, ISO_DEV ".", strlen(ISO_DEV ".")))
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (!isalnum(s[i]) && s[i] != '.')
			return -EINVAL;
		name[i] = tolower(s[i]);
	}
	name[len] = '\0';
	return 0;
}

static struct isolation_bus iso_platform_names = {
	.bus = &platform_bus_type,
	.parse_name = iso_parse_platform_name,
};

static void iso_bus_unregister_action(void *ib)
{
	isolation_bus_unregister(ib);
}

static void iso_unreserve_line_action(void *line)
{
	iso_sysfs_write("kernel/isolation_groups/unreserve", line);
}

/* The reservation files, over a bus that names its devices. */
static void isolation_reservation_files_test(struct kunit *test)
{
	static const char * const garbage[] = {
		"\n", "kunit-mgr", "kunit-mgr@", "@platform:" ISO_RES_NAME,
		"kunit mgr@platform:" ISO_RES_NAME,
		"kunit-mgr@platform:" ISO_RES_NAME "\n\n",
		"kunit-mgr\n@platform:" ISO_RES_NAME,
		"kunit-mgr@@platform:" ISO_RES_NAME,
		"kunit-mgr@platform:" ISO_RES_NAME ",kunit-mgr@" ISO_RES2_NAME,
		"kunit-mgr@platform:" ISO_RES_NAME " x",
		"kunit-mgr@platform:", "kunit-mgr@platform:x" ISO_RES_NAME,
		"kunit-mgr@nobus:" ISO_RES_NAME, "kunit-mgr@:" ISO_RES_NAME,
		"platform:" ISO_RES_NAME, ISO_RES_NAME "\n",
	};
	struct isolation_bus unnamed = { .bus = &platform_bus_type };
	const char *list = "kernel/isolation_groups/reservations";
	const char *reserve = "kernel/isolation_groups/reserve";
	const char *unreserve = "kernel/isolation_groups/unreserve";
	char *before, *buf;
	unsigned int i;
	size_t n;

	before = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, before);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_GE(test, iso_sysfs_read(list, before, PAGE_SIZE), 0);

	/* A bus that names no devices: none of its devices can be named. */
	KUNIT_EXPECT_EQ(test, -EINVAL, iso_sysfs_write(reserve, "kunit-mgr@"
						       ISO_RES_NAME));
	KUNIT_EXPECT_EQ(test, -EINVAL, isolation_bus_register(&unnamed));
	KUNIT_ASSERT_EQ(test, 0, isolation_bus_register(&iso_platform_names));
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test,
						  iso_bus_unregister_action,
						  &iso_platform_names));
	KUNIT_EXPECT_EQ(test, -EEXIST,
			isolation_bus_register(&iso_platform_names));

	/* The bus's forms; listed with the bus, as the bus names it. */
	KUNIT_ASSERT_EQ(test, 30, iso_sysfs_write(reserve,
						  "kunit-mgr@platform:IsoKunit.7\n"));
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test,
						  iso_unreserve_line_action,
						  "platform:" ISO_RES_NAME));
	KUNIT_EXPECT_TRUE(test, iso_reserved_for(test, "kunit-mgr"));
	/* The same device, named without its bus. */
	KUNIT_EXPECT_EQ(test, -EEXIST, iso_sysfs_write(reserve, "kunit-other@"
						       ISO_RES_NAME));
	for (i = 0; i < ARRAY_SIZE(garbage); i++)
		KUNIT_EXPECT_EQ_MSG(test, -EINVAL,
				    iso_sysfs_write(reserve, garbage[i]),
				    "reserve \"%s\"", garbage[i]);
	/* A name longer than any a reservation takes. */
	n = strlen("kunit-mgr@" ISO_DEV ".");
	memcpy(buf, "kunit-mgr@" ISO_DEV ".", n);
	memset(buf + n, '7', ISOLATION_DEV_NAME_MAX);
	buf[n + ISOLATION_DEV_NAME_MAX] = '\0';
	KUNIT_EXPECT_EQ(test, -EINVAL, iso_sysfs_write(reserve, buf));
	/*
	 * The longest it takes, without its bus, is taken out by the line
	 * that lists it, with its bus.
	 */
	buf[strlen("kunit-mgr@") + ISOLATION_DEV_NAME_MAX - 1] = '\0';
	KUNIT_EXPECT_GT(test, iso_sysfs_write(reserve, buf), 0);
	memmove(buf + strlen("kunit-mgr@platform:"), buf + strlen("kunit-mgr@"),
		ISOLATION_DEV_NAME_MAX);
	memcpy(buf, "kunit-mgr@platform:", strlen("kunit-mgr@platform:"));
	KUNIT_EXPECT_GT(test, iso_sysfs_write(unreserve, buf), 0);
	KUNIT_EXPECT_EQ(test, -EINVAL, iso_sysfs_write(unreserve,
						       "nobus:" ISO_RES_NAME));
	KUNIT_EXPECT_EQ(test, -ENODEV, iso_sysfs_write(unreserve, "kunit-other@"
						       ISO_RES_NAME));
	KUNIT_EXPECT_TRUE(test, iso_reserved_for(test, "kunit-mgr"));

	/* Taken out by the line that lists it. */
	KUNIT_EXPECT_GT(test, iso_sysfs_write(unreserve, "kunit-mgr@platform:"
					      ISO_RES_NAME "\n"), 0);
	iso_sysfs_read(list, buf, PAGE_SIZE);
	KUNIT_EXPECT_STREQ(test, buf, before);
	KUNIT_EXPECT_EQ(test, -ENODEV, iso_sysfs_write(unreserve, ISO_RES_NAME));
}

static void iso_unreserve_pci_action(void *unused)
{
	iso_sysfs_write("kernel/isolation_groups/unreserve", ISO_RES_PCI);
}

/* PCI's names: its address, the domain optional, in either case. */
static void isolation_reservation_names_pci_devices_test(struct kunit *test)
{
	static const char * const garbage[] = {
		"kunit-mgr@0000:fe:1f", "kunit-mgr@000:fe:1f.7",
		"kunit-mgr@0000:fe:20.7", "kunit-mgr@0000:fe:1f.8",
		"kunit-mgr@0000:fe:1f.7x", "kunit-mgr@000000000:fe:1f.7",
		"kunit-mgr@fe:1f", "kunit-mgr@e:1f.7", "kunit-mgr@pci:fe.1f.7",
		"kunit-mgr@pci:0000:0000:fe:1f.7", "kunit-mgr@pci:",
		"kunit-mgr@pci0000:fe:1f.7",
	};
	const char *list = "kernel/isolation_groups/reservations";
	const char *reserve = "kernel/isolation_groups/reserve";
	const char *unreserve = "kernel/isolation_groups/unreserve";
	char *before, *buf;
	unsigned int i;

	if (!IS_ENABLED(CONFIG_PCI))
		kunit_skip(test, "no PCI bus to name devices");
	before = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, before);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_GE(test, iso_sysfs_read(list, before, PAGE_SIZE), 0);

	KUNIT_ASSERT_EQ(test, 23, iso_sysfs_write(reserve,
						  "kunit-mgr@0000:FE:1f.7\n"));
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, iso_unreserve_pci_action,
						  NULL));
	iso_sysfs_read(list, buf, PAGE_SIZE);
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "kunit-mgr@pci:" ISO_RES_PCI "\n"));
	KUNIT_EXPECT_EQ(test, -EEXIST, iso_sysfs_write(reserve,
						       "kunit-other@fe:1f.7"));
	KUNIT_EXPECT_EQ(test, -EEXIST, iso_sysfs_write(reserve,
						       "kunit-other@pci:Fe:1F.7"));
	for (i = 0; i < ARRAY_SIZE(garbage); i++)
		KUNIT_EXPECT_EQ_MSG(test, -EINVAL,
				    iso_sysfs_write(reserve, garbage[i]),
				    "reserve \"%s\"", garbage[i]);

	/* Taken out in another form. */
	KUNIT_EXPECT_GT(test, iso_sysfs_write(unreserve, "pci:FE:1f.7\n"), 0);
	iso_sysfs_read(list, buf, PAGE_SIZE);
	KUNIT_EXPECT_STREQ(test, buf, before);
	KUNIT_EXPECT_EQ(test, -ENODEV, iso_sysfs_write(unreserve, ISO_RES_PCI));
}

static void isolation_reservation_files_need_cap_sys_admin_test(struct kunit *test)
{
	const struct cred *old;
	struct cred *cred;
	ssize_t reserved, unreserved;

	cred = prepare_creds();
	KUNIT_ASSERT_NOT_NULL(test, cred);
	cap_lower(cred->cap_effective, CAP_SYS_ADMIN);
	old = override_creds(cred);
	reserved = iso_sysfs_write("kernel/isolation_groups/reserve",
				   "kunit-mgr@" ISO_RES_PCI);
	unreserved = iso_sysfs_write("kernel/isolation_groups/unreserve",
				     ISO_RES_PCI);
	revert_creds(old);
	put_cred(cred);
	KUNIT_EXPECT_EQ(test, -EPERM, reserved);
	KUNIT_EXPECT_EQ(test, -EPERM, unreserved);
}

#if IS_ENABLED(CONFIG_FAILSLAB) && IS_ENABLED(CONFIG_FAULT_INJECTION_DEBUG_FS)
/*
 * Allocation failures, one point after another: the n-th allocation of
 * the case's task fails (task_struct.fail_nth, what /proc/self/fail-nth
 * sets), for n = 1, 2, ... until the operation runs without meeting one.
 * Each failure must return an error and leave everything as it was, or be
 * absorbed by an operation that succeeds anyway.  failslab is told to fail
 * sleeping allocations too, and to print nothing.  (Leaks are kmemleak's,
 * in the release check's debug boot kernel.)
 */
#define ISO_FAULT_MAX	1000

struct iso_failslab {
	struct vfsmount *debugfs;
	bool *ignore_gfp_wait, old_ignore;
	unsigned long *verbose, old_verbose;
};

/*
 * The value a debugfs attribute file shows, which its inode points to: the
 * files have no write_iter, which kernel_write() needs.
 */
static void *iso_debugfs_value(struct kunit *test, struct vfsmount *debugfs,
			       const char *path)
{
	struct file *f = file_open_root_mnt(debugfs, path, O_RDONLY, 0);
	void *value;

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(f), "no debugfs file %s", path);
	value = file_inode(f)->i_private;
	filp_close(f, NULL);
	KUNIT_ASSERT_NOT_NULL(test, value);
	return value;
}

static void iso_failslab_restore(void *data)
{
	struct iso_failslab *fs = data;

	*fs->ignore_gfp_wait = fs->old_ignore;
	*fs->verbose = fs->old_verbose;
	kern_unmount(fs->debugfs);
}

static void iso_failslab_setup(struct kunit *test)
{
	struct file_system_type *debugfs = get_fs_type("debugfs");
	struct iso_failslab *fs = kunit_kzalloc(test, sizeof(*fs), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, fs);
	KUNIT_ASSERT_NOT_NULL(test, debugfs);
	fs->debugfs = kern_mount(debugfs);
	KUNIT_ASSERT_FALSE(test, IS_ERR(fs->debugfs));
	fs->ignore_gfp_wait = iso_debugfs_value(test, fs->debugfs,
						"failslab/ignore-gfp-wait");
	fs->verbose = iso_debugfs_value(test, fs->debugfs, "failslab/verbose");
	fs->old_ignore = *fs->ignore_gfp_wait;
	fs->old_verbose = *fs->verbose;
	*fs->ignore_gfp_wait = false;
	*fs->verbose = 0;
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, iso_failslab_restore,
						  fs));
}

static void iso_fail_nth(unsigned int n)
{
	WRITE_ONCE(current->fail_nth, n);
}

/* Whether the operation met the armed failure; disarms it either way. */
static bool iso_fail_met(void)
{
	bool met = !READ_ONCE(current->fail_nth);

	WRITE_ONCE(current->fail_nth, 0);
	return met;
}

struct iso_dir_count {
	struct dir_context ctx;
	unsigned int n;
};

static bool iso_count_entry(struct dir_context *ctx, const char *name,
			    int len, loff_t pos, u64 ino, unsigned int type)
{
	struct iso_dir_count *c = container_of(ctx, struct iso_dir_count, ctx);

	if (strcmp(name, ".") && strcmp(name, ".."))
		c->n++;
	return true;
}

/* How many groups /sys/kernel/isolation_groups shows. */
static unsigned int iso_count_groups(struct kunit *test)
{
	struct iso_dir_count c = { .ctx.actor = iso_count_entry };
	struct file *dir;

	dir = file_open_root_mnt(iso_sysfs, "kernel/isolation_groups",
				 O_RDONLY | O_DIRECTORY, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(dir));
	KUNIT_EXPECT_EQ(test, 0, iterate_dir(dir, &c.ctx));
	filp_close(dir, NULL);
	return c.n;
}

static void iso_fault_report(struct kunit *test, const char *what,
			     unsigned int n, unsigned int points)
{
	KUNIT_EXPECT_LT_MSG(test, n, ISO_FAULT_MAX, "%s never ran clean", what);
	KUNIT_EXPECT_GT(test, points, 0);
	kunit_info(test, "%s: %u allocation failure points injected, each refused or absorbed, nothing changed\n",
		   what, points);
}

static void isolation_fault_group_alloc_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	unsigned int n, points = 0, before = iso_count_groups(test);
	struct isolation_group *group;

	iso_failslab_setup(test);
	for (n = 1; n < ISO_FAULT_MAX; n++) {
		iso_fail_nth(n);
		group = isolation_group_alloc(&ctx->prov);
		if (!iso_fail_met()) {
			KUNIT_ASSERT_FALSE(test, IS_ERR(group));
			isolation_group_put(group);
			break;
		}
		points++;
		if (!IS_ERR(group))
			isolation_group_put(group);
		KUNIT_EXPECT_EQ(test, iso_count_groups(test), before);
	}
	iso_fault_report(test, "group alloc", n, points);
}

static void isolation_fault_add_device_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = test_device(test, "iso-fault-0");
	unsigned int n, points = 0;
	int ret;

	iso_failslab_setup(test);
	for (n = 1; n < ISO_FAULT_MAX; n++) {
		iso_fail_nth(n);
		ret = iso_add(ctx->group, dev, "r");
		if (!iso_fail_met()) {
			KUNIT_ASSERT_EQ(test, 0, ret);
			break;
		}
		points++;
		if (!ret) {
			isolation_group_remove_device(dev);
			continue;
		}
		KUNIT_EXPECT_LT(test, ret, 0);
		KUNIT_EXPECT_NULL(test, dev->isolation_group);
		KUNIT_EXPECT_FALSE(test, device_links_to(dev, NULL));
		KUNIT_EXPECT_FALSE(test, group_lists_name(ctx->group, dev));
	}
	iso_fault_report(test, "add device", n, points);
	KUNIT_EXPECT_PTR_EQ(test, dev->isolation_group, ctx->group);
}

/* What a refused claim must leave: the host's drivers, no manager. */
static void iso_expect_unclaimed(struct kunit *test, struct device *host,
				 struct device *idle)
{
	struct iso_ctx *ctx = test->priv;

	KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group, "manager"), "\n");
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
	KUNIT_EXPECT_TRUE(test, bound_to(host, &iso_host_driver));
	KUNIT_EXPECT_NULL(test, idle->driver);
}

static void isolation_fault_claim_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	const char *path = group_path(test, ctx->group, "manager");
	struct device *host = iso_device(test, "isokunit-host");
	struct device *idle = iso_device(test, NULL);
	unsigned int n, points = 0;
	ssize_t ret;

	iso_failslab_setup(test);
	for (n = 1; n < ISO_FAULT_MAX; n++) {
		iso_fail_nth(n);
		ret = iso_sysfs_write(path, "kunit-mgr");
		if (!iso_fail_met()) {
			KUNIT_ASSERT_GT(test, ret, 0);
			break;
		}
		points++;
		if (ret > 0) {
			/* Absorbed: claimed all the same. */
			EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
			KUNIT_ASSERT_GT(test, iso_sysfs_write(path, "\n"), 0);
		} else {
			KUNIT_EXPECT_LT(test, ret, 0);
		}
		/* A host driver that did not probe again is probed here. */
		if (!host->driver)
			iso_bind(host, &iso_host_driver);
		iso_expect_unclaimed(test, host, idle);
	}
	iso_fault_report(test, "claim", n, points);
	EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
}

static void isolation_fault_release_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	const char *path = group_path(test, ctx->group, "manager");
	struct device *host = iso_device(test, "isokunit-host");
	unsigned int n, points = 0;
	ssize_t ret;

	iso_failslab_setup(test);
	KUNIT_ASSERT_GT(test, iso_sysfs_write(path, "kunit-mgr"), 0);
	for (n = 1; n < ISO_FAULT_MAX; n++) {
		iso_fail_nth(n);
		ret = iso_sysfs_write(path, "\n");
		if (!iso_fail_met()) {
			KUNIT_ASSERT_GT(test, ret, 0);
			break;
		}
		points++;
		if (ret > 0) {
			/* Released; only a host driver's probe failed. */
			EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_UNMANAGED);
			KUNIT_ASSERT_GT(test, iso_sysfs_write(path, "kunit-mgr"), 0);
		} else {
			KUNIT_EXPECT_LT(test, ret, 0);
			KUNIT_EXPECT_STREQ(test, group_file(test, ctx->group,
							    "manager"),
					   "kunit-mgr\n");
			EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
			KUNIT_EXPECT_TRUE(test, bound_to(host, &iso_mgr_driver));
		}
	}
	iso_fault_report(test, "release", n, points);
	KUNIT_EXPECT_TRUE(test, bound_to(host, &iso_host_driver));
}

/*
 * Each allocation of an unreserve failed in turn: it fails with -ENOMEM
 * and changes nothing (the reservation listed, the group held and locked),
 * or it completes, having met the failure in a host driver's probe.
 */
static void isolation_fault_unreserve_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	struct device *dev = iso_reserved_device(test);
	unsigned int n, points = 0;
	int ret;

	iso_failslab_setup(test);
	for (n = 1; n < ISO_FAULT_MAX; n++) {
		iso_fail_nth(n);
		ret = isolation_unreserve(&platform_bus_type, ISO_RES_NAME,
					  NULL);
		if (!iso_fail_met()) {
			KUNIT_ASSERT_EQ(test, ret, 0);
			break;
		}
		points++;
		if (!ret) {
			EXPECT_STATE(test, ctx->group,
				     ISOLATION_GROUP_UNMANAGED);
			KUNIT_ASSERT_EQ(test, 0,
					isolation_reserve(&platform_bus_type,
							  ISO_RES_NAME,
							  "kunit-mgr"));
			continue;
		}
		KUNIT_EXPECT_EQ(test, ret, -ENOMEM);
		KUNIT_EXPECT_TRUE(test, iso_reserved_for(test, "kunit-mgr"));
		EXPECT_STATE(test, ctx->group, ISOLATION_GROUP_LOCKED);
		KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_mgr_driver));
	}
	iso_fault_report(test, "unreserve", n, points);
	KUNIT_EXPECT_TRUE(test, bound_to(dev, &iso_host_driver));
}

static void isolation_fault_add_driver_test(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;
	const struct device_driver *drv = &iso_late_driver.driver;
	unsigned int n, points = 0;
	int ret;

	iso_failslab_setup(test);
	for (n = 1; n < ISO_FAULT_MAX; n++) {
		iso_fail_nth(n);
		ret = isolation_manager_add_driver(&ctx->other, drv);
		if (!iso_fail_met()) {
			KUNIT_ASSERT_EQ(test, 0, ret);
			break;
		}
		points++;
		if (!ret) {
			/*
			 * Absorbed where it hit (kmemleak's own records fall
			 * back to a pool, a uevent may be lost): the driver
			 * was added.  Take it back for the next point.
			 */
			KUNIT_EXPECT_TRUE(test,
					  isolation_manager_owns(&ctx->other, drv));
			isolation_manager_remove_driver(&ctx->other, drv);
			continue;
		}
		KUNIT_EXPECT_EQ(test, -ENOMEM, ret);
		KUNIT_EXPECT_FALSE(test, isolation_manager_owns(&ctx->other, drv));
	}
	iso_fault_report(test, "manager add driver", n, points);
	KUNIT_EXPECT_TRUE(test, isolation_manager_owns(&ctx->other, drv));
}

#else
static void isolation_fault_unavailable_test(struct kunit *test)
{
	kunit_skip(test, "needs FAILSLAB and FAULT_INJECTION_DEBUG_FS");
}

#define isolation_fault_group_alloc_test	isolation_fault_unavailable_test
#define isolation_fault_add_device_test		isolation_fault_unavailable_test
#define isolation_fault_claim_test		isolation_fault_unavailable_test
#define isolation_fault_release_test		isolation_fault_unavailable_test
#define isolation_fault_add_driver_test		isolation_fault_unavailable_test
#define isolation_fault_unreserve_test		isolation_fault_unavailable_test
#endif

/* The fixture. */

static int isolation_test_init(struct kunit *test)
{
	struct iso_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	test->priv = ctx;
	ctx->prov.name = "kunit-a";
	ctx->prov_b.name = "kunit-b";
	ctx->mgr.name = "kunit-mgr";
	ctx->mgr.ops = &iso_mgr_ops;
	ctx->other.name = "kunit-other";
	ctx->other.ops = &iso_other_ops;
	KUNIT_ASSERT_EQ(test, 0, isolation_provider_register(&ctx->prov));
	KUNIT_ASSERT_EQ(test, 0, isolation_provider_register(&ctx->prov_b));
	KUNIT_ASSERT_EQ(test, 0, isolation_manager_register(&ctx->mgr));
	KUNIT_ASSERT_EQ(test, 0, isolation_manager_register(&ctx->other));
	KUNIT_ASSERT_EQ(test, 0,
			isolation_manager_add_driver(&ctx->mgr,
						     &iso_mgr_driver.driver));
	ctx->group = test_group_alloc(test);
	iso_probes = 0;
	iso_defers = 0;
	return 0;
}

static void isolation_test_exit(struct kunit *test)
{
	struct iso_ctx *ctx = test->priv;

	/* Before the case's devices and groups go, in KUnit's cleanup. */
	if (ctx->other.name)
		isolation_manager_unregister(&ctx->other);
	if (!ctx->mgr_gone)
		isolation_manager_unregister(&ctx->mgr);
	/* The probes of the groups they let go, before the devices go. */
	wait_for_device_probe();
	if (ctx->prov_b.name)
		isolation_provider_unregister(&ctx->prov_b);
	if (ctx->prov.name)
		isolation_provider_unregister(&ctx->prov);
	ctx->group = NULL;
	iso_bus_dma_group = NULL;
	iso_bus_probe_group = NULL;
}

static int isolation_suite_init(struct kunit_suite *suite)
{
	struct file_system_type *sysfs = get_fs_type("sysfs");
	int i, ret;

	if (!sysfs)
		return -ENODEV;
	iso_sysfs = kern_mount(sysfs);
	if (IS_ERR(iso_sysfs))
		return PTR_ERR(iso_sysfs);

	for (i = 0; i < ARRAY_SIZE(iso_drivers); i++) {
		ret = platform_driver_register(iso_drivers[i]);
		if (ret)
			goto err;
	}
	ret = bus_register_notifier(&platform_bus_type, &iso_bus_nb);
	if (ret)
		goto err;
	ret = bus_register(&iso_bus);
	if (ret)
		goto err_notifier;
	return 0;
err_notifier:
	bus_unregister_notifier(&platform_bus_type, &iso_bus_nb);
err:
	while (--i >= 0)
		platform_driver_unregister(iso_drivers[i]);
	kern_unmount(iso_sysfs);
	return ret;
}

static void isolation_suite_exit(struct kunit_suite *suite)
{
	int i;

	bus_unregister(&iso_bus);
	bus_unregister_notifier(&platform_bus_type, &iso_bus_nb);
	for (i = ARRAY_SIZE(iso_drivers) - 1; i >= 0; i--)
		platform_driver_unregister(iso_drivers[i]);
	kern_unmount(iso_sysfs);
}

static struct kunit_case isolation_test_cases[] = {
	/* groups, members, references */
	KUNIT_CASE(isolation_group_alloc_appears_in_sysfs_test),
	KUNIT_CASE(isolation_group_ids_are_distinct_test),
	KUNIT_CASE(isolation_group_last_put_leaves_sysfs_test),
	KUNIT_CASE(isolation_group_get_keeps_group_test),
	KUNIT_CASE(isolation_add_device_links_both_ways_test),
	KUNIT_CASE(isolation_get_from_dev_finds_group_test),
	KUNIT_CASE(isolation_device_in_one_group_only_test),
	KUNIT_CASE(isolation_add_unregistered_device_refused_test),
	KUNIT_CASE(isolation_remove_device_unlinks_test),
	KUNIT_CASE(isolation_removed_device_can_join_again_test),
	KUNIT_CASE(isolation_remove_ungrouped_device_is_noop_test),
	KUNIT_CASE(isolation_member_keeps_group_test),
	KUNIT_CASE(isolation_last_member_frees_group_test),
	KUNIT_CASE(isolation_device_del_leaves_group_test),
	KUNIT_CASE(isolation_device_del_frees_orphan_group_test),
	KUNIT_CASE(isolation_same_name_members_both_linked_test),
	/* providers */
	KUNIT_CASE(isolation_two_providers_at_once_test),
	KUNIT_CASE(isolation_provider_unregister_empties_groups_test),
	/* the state machine */
	KUNIT_CASE(isolation_new_group_is_unmanaged_test),
	KUNIT_CASE(isolation_manager_locks_group_without_drivers_test),
	KUNIT_CASE(isolation_match_hint_follows_manager_test),
	KUNIT_CASE(isolation_foreign_driver_keeps_group_managed_test),
	KUNIT_CASE(isolation_last_foreign_unbind_locks_group_test),
	KUNIT_CASE(isolation_manager_and_compatible_drivers_lock_test),
	KUNIT_CASE(isolation_manager_driver_foreign_to_other_manager_test),
	KUNIT_CASE(isolation_manager_driver_with_dma_flag_stays_foreign_test),
	KUNIT_CASE(isolation_clear_manager_unmanages_group_test),
	KUNIT_CASE(isolation_clear_by_non_holder_is_ignored_test),
	KUNIT_CASE(isolation_second_manager_is_refused_test),
	KUNIT_CASE(isolation_manager_holds_are_counted_test),
	KUNIT_CASE(isolation_manager_driver_holds_group_while_bound_test),
	KUNIT_CASE(isolation_check_locked_names_blockers_test),
	KUNIT_CASE(isolation_one_owner_at_a_time_test),
	KUNIT_CASE(isolation_owner_needs_locked_group_test),
	KUNIT_CASE(isolation_unregistered_manager_is_refused_test),
	KUNIT_CASE(isolation_bound_device_joining_unlocks_group_test),
	KUNIT_CASE(isolation_removing_foreign_member_locks_group_test),
	KUNIT_CASE(isolation_late_manager_driver_takes_group_test),
	KUNIT_CASE(isolation_late_other_manager_driver_blocks_test),
	KUNIT_CASE(isolation_late_host_driver_unlocks_owned_group_test),
	KUNIT_CASE(isolation_provider_gone_lets_held_group_go_test),
	KUNIT_CASE(isolation_dma_configure_placement_refuses_test),
	KUNIT_CASE(isolation_placed_by_own_probe_is_counted_test),
	KUNIT_CASE(isolation_incomplete_group_never_locks_test),
	KUNIT_CASE(isolation_removed_manager_driver_unlocks_test),
	KUNIT_CASE(isolation_unbind_after_driver_removal_relocks_test),
	/* every route to a driver */
	KUNIT_CASE(isolation_hotplug_into_locked_group_stays_driverless_test),
	KUNIT_CASE(isolation_driver_register_refuses_foreign_test),
	KUNIT_CASE(isolation_sysfs_bind_of_foreign_fails_test),
	KUNIT_CASE(isolation_driver_override_probe_refused_test),
	KUNIT_CASE(isolation_let_go_probes_devices_turned_away_test),
	KUNIT_CASE(isolation_let_go_leaves_unrequested_devices_test),
	KUNIT_CASE(isolation_let_go_leaves_device_refused_while_bound_test),
	KUNIT_CASE(isolation_every_let_go_probes_devices_turned_away_test),
	KUNIT_CASE(isolation_async_probe_refuses_foreign_test),
	KUNIT_CASE(isolation_deferred_probe_refuses_foreign_test),
	KUNIT_CASE(isolation_match_filters_foreign_driver_test),
	KUNIT_CASE(isolation_probe_rechecks_after_match_test),
	KUNIT_CASE(isolation_manager_driver_binds_in_locked_group_test),
	KUNIT_CASE(isolation_compatible_driver_binds_in_locked_group_test),
	KUNIT_CASE(isolation_unmanaged_group_binds_any_driver_test),
	/* managers going away */
	KUNIT_CASE(isolation_manager_unregister_frees_groups_test),
	KUNIT_CASE(isolation_manager_reregister_starts_afresh_test),
	KUNIT_CASE(isolation_held_group_goes_with_last_member_test),
	/* sysfs, claims and releases */
	KUNIT_CASE(isolation_sysfs_blockers_name_foreign_members_test),
	KUNIT_CASE(isolation_sysfs_reason_is_per_member_test),
	KUNIT_CASE(isolation_sysfs_manager_write_claims_group_test),
	KUNIT_CASE(isolation_sysfs_manager_write_empty_releases_test),
	KUNIT_CASE(isolation_sysfs_manager_unknown_is_enodev_test),
	KUNIT_CASE(isolation_sysfs_manager_garbage_is_einval_test),
	KUNIT_CASE(isolation_sysfs_manager_garbage_keeps_claim_test),
	KUNIT_CASE(isolation_release_refused_while_owned_test),
	KUNIT_CASE(isolation_no_owner_during_claim_test),
	KUNIT_CASE(isolation_sysfs_manager_held_is_ebusy_test),
	KUNIT_CASE(isolation_sysfs_manager_needs_cap_sys_admin_test),
	KUNIT_CASE(isolation_claim_rolls_back_on_manager_error_test),
	KUNIT_CASE(isolation_claim_refuses_unbindable_driver_test),
	KUNIT_CASE(isolation_claim_refused_before_any_unbind_test),
	KUNIT_CASE(isolation_failed_claim_keeps_held_group_test),
	KUNIT_CASE(isolation_claim_takes_one_hold_test),
	KUNIT_CASE(isolation_release_keeps_other_holds_test),
	KUNIT_CASE(isolation_release_unbinds_holding_drivers_test),
	KUNIT_CASE(isolation_state_change_sends_uevent_test),
	KUNIT_CASE(isolation_late_placement_sends_uevent_test),
	/* reservations */
	KUNIT_CASE(isolation_reservation_holds_group_at_placement_test),
	KUNIT_CASE(isolation_reservation_waits_for_manager_test),
	KUNIT_CASE(isolation_reservation_outlives_its_manager_test),
	KUNIT_CASE(isolation_reservation_survives_readd_test),
	KUNIT_CASE(isolation_unreserve_lets_group_go_test),
	KUNIT_CASE(isolation_unreserve_of_removed_device_lets_group_go_test),
	KUNIT_CASE(isolation_unreserve_keeps_groups_others_hold_test),
	KUNIT_CASE(isolation_refused_unreserve_keeps_reservation_test),
	KUNIT_CASE(isolation_reserve_refuses_what_it_cannot_hold_test),
	KUNIT_CASE(isolation_release_reserved_unprepares_devices_test),
	KUNIT_CASE(isolation_unprepare_undoes_what_the_manager_set_up_test),
	KUNIT_CASE(isolation_unreserve_of_waiting_group_probes_host_test),
	KUNIT_CASE(isolation_reserve_of_placed_device_claims_group_test),
	KUNIT_CASE(isolation_failed_reserve_leaves_nothing_test),
	KUNIT_CASE(isolation_reservation_files_test),
	KUNIT_CASE(isolation_reservation_names_pci_devices_test),
	KUNIT_CASE(isolation_reservation_files_need_cap_sys_admin_test),
	/* allocation failures */
	KUNIT_CASE(isolation_fault_group_alloc_test),
	KUNIT_CASE(isolation_fault_add_device_test),
	KUNIT_CASE(isolation_fault_claim_test),
	KUNIT_CASE(isolation_fault_release_test),
	KUNIT_CASE(isolation_fault_add_driver_test),
	KUNIT_CASE(isolation_fault_unreserve_test),
	{}
};

static struct kunit_suite isolation_test_suite = {
	.name = "isolation",
	.suite_init = isolation_suite_init,
	.suite_exit = isolation_suite_exit,
	.init = isolation_test_init,
	.exit = isolation_test_exit,
	.test_cases = isolation_test_cases,
};

kunit_test_suite(isolation_test_suite);

MODULE_DESCRIPTION("KUnit tests for device isolation groups");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
