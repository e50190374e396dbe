// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the IOMMU core's isolation groups: that an isolation
 * group is a union of whole iommu groups, by construction, and that a
 * device whose iommu group is not whole in its isolation group is refused.
 *
 * The devices are on the KUnit bus, in iommu groups made with
 * iommu_group_alloc() as a driver without an IOMMU does (VFIO's no-IOMMU
 * mode); the test places them for its own provider, as the IOMMU core
 * places the devices of an IOMMU driver.  The PCI rules need a PCI
 * topology, which the boot tests give.
 */
#include <kunit/device.h>
#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/isolation.h>

#include "iommu-priv.h"

struct iommu_isolation_test {
	struct isolation_provider prov;
	struct isolation_manager mgr;
	struct device_driver *drv;	/* the manager's */
	bool mgr_registered, prov_registered;
};

static const struct isolation_manager_ops iommu_isolation_test_mgr_ops = {};

KUNIT_DEFINE_ACTION_WRAPPER(iommu_group_put_action, iommu_group_put,
			    struct iommu_group *);
KUNIT_DEFINE_ACTION_WRAPPER(iommu_group_remove_device_action,
			    iommu_group_remove_device, struct device *);
KUNIT_DEFINE_ACTION_WRAPPER(isolation_group_remove_device_action,
			    isolation_group_remove_device, struct device *);

static struct iommu_group *test_iommu_group(struct kunit *test)
{
	struct iommu_group *igroup = iommu_group_alloc();

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, igroup);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, iommu_group_put_action,
						  igroup));
	return igroup;
}

/* A device in @igroup, in no isolation group yet. */
static struct device *test_device(struct kunit *test, const char *name,
				  struct iommu_group *igroup)
{
	struct device *dev = kunit_device_register(test, name);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	KUNIT_ASSERT_EQ(test, 0, iommu_group_add_device(igroup, dev));
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test,
						  iommu_group_remove_device_action,
						  dev));
	/* Out of its isolation group before it leaves its iommu group. */
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test,
						  isolation_group_remove_device_action,
						  dev));
	return dev;
}

/* What the IOMMU core does once @dev is in its iommu group. */
static void test_place(struct kunit *test, struct device *dev)
{
	struct iommu_isolation_test *t = test->priv;

	device_lock(dev);
	iommu_isolation_place_device(&t->prov, dev);
	device_unlock(dev);
}

/* A device placed by a provider that does not follow the rules. */
static void test_place_in(struct kunit *test, struct device *dev,
			  struct isolation_group *group)
{
	device_lock(dev);
	KUNIT_EXPECT_EQ(test, 0, isolation_group_add_device(group, dev, "r"));
	device_unlock(dev);
}

static void iommu_isolation_joins_iommu_group_test(struct kunit *test)
{
	struct iommu_group *igroup = test_iommu_group(test);
	struct device *a = test_device(test, "iommu-iso-a", igroup);
	struct device *b = test_device(test, "iommu-iso-b", igroup);

	test_place(test, a);
	test_place(test, b);
	KUNIT_ASSERT_NOT_NULL(test, a->isolation_group);
	KUNIT_EXPECT_PTR_EQ(test, b->isolation_group, a->isolation_group);
	KUNIT_EXPECT_EQ(test, 0, iommu_isolation_check_whole(a));
	KUNIT_EXPECT_EQ(test, 0, iommu_isolation_check_whole(b));
}

static void iommu_isolation_separate_iommu_groups_test(struct kunit *test)
{
	struct device *a = test_device(test, "iommu-iso-c",
				       test_iommu_group(test));
	struct device *b = test_device(test, "iommu-iso-d",
				       test_iommu_group(test));

	test_place(test, a);
	test_place(test, b);
	KUNIT_ASSERT_NOT_NULL(test, a->isolation_group);
	KUNIT_ASSERT_NOT_NULL(test, b->isolation_group);
	KUNIT_EXPECT_PTR_NE(test, a->isolation_group, b->isolation_group);
}

/* A device of an IOMMU that provides groups, in none: fail closed. */
static void iommu_isolation_check_refuses_unplaced_test(struct kunit *test)
{
	struct iommu_group *igroup = test_iommu_group(test);
	struct device *a = test_device(test, "iommu-iso-e", igroup);
	struct device *b = test_device(test, "iommu-iso-f", igroup);

	test_place(test, a);
	/* b's placement "failed": a's iommu group is not whole in a's group. */
	KUNIT_EXPECT_EQ(test, -EBUSY, iommu_isolation_check_whole(a));
	KUNIT_EXPECT_EQ(test, -EBUSY, iommu_isolation_check_whole(b));
	test_place(test, b);
	KUNIT_EXPECT_EQ(test, 0, iommu_isolation_check_whole(a));
}

/*
 * Whatever a provider does, a device whose iommu group is split across
 * isolation groups is refused: the check, not only the rules, enforces
 * that a group is never finer than an iommu group.
 */
static void iommu_isolation_check_refuses_split_test(struct kunit *test)
{
	struct iommu_isolation_test *t = test->priv;
	struct iommu_group *igroup = test_iommu_group(test);
	struct device *a = test_device(test, "iommu-iso-g", igroup);
	struct device *b = test_device(test, "iommu-iso-h", igroup);
	struct isolation_group *ga = isolation_group_alloc(&t->prov);
	struct isolation_group *gb = isolation_group_alloc(&t->prov);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ga);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, gb);
	test_place_in(test, a, ga);
	test_place_in(test, b, gb);
	isolation_group_put(ga);
	isolation_group_put(gb);
	KUNIT_EXPECT_EQ(test, -EBUSY, iommu_isolation_check_whole(a));
	KUNIT_EXPECT_EQ(test, -EBUSY, iommu_isolation_check_whole(b));
}

static struct isolation_group *test_alloc_fails(struct isolation_provider *prov)
{
	return ERR_PTR(-ENOMEM);
}

/* The state of @dev's group, which the manager holds through @dev. */
static enum isolation_state test_held_state(struct kunit *test,
					    struct device *dev)
{
	struct iommu_isolation_test *t = test->priv;

	KUNIT_ASSERT_PTR_EQ(test, dev->driver, t->drv);
	return isolation_group_state(dev->isolation_group);
}

/*
 * The first device of a group could not be placed: the group that forms
 * around it later, without it, can never be locked, since the device may
 * be on any driver.  The device is marked until it joins a group.
 */
static void iommu_isolation_unplaced_keeps_later_group_unlocked_test(struct kunit *test)
{
	struct iommu_group *igroup = test_iommu_group(test);
	struct device *a = test_device(test, "iommu-iso-j", igroup);
	struct device *b = test_device(test, "iommu-iso-k", igroup);
	struct device *c = test_device(test, "iommu-iso-l",
				       test_iommu_group(test));
	unsigned int before = isolation_unplaced_count();

	kunit_activate_static_stub(test, isolation_group_alloc,
				   test_alloc_fails);
	test_place(test, a);
	kunit_deactivate_static_stub(test, isolation_group_alloc);
	KUNIT_EXPECT_NULL(test, a->isolation_group);
	KUNIT_EXPECT_TRUE(test, isolation_device_unplaced(a));
	KUNIT_EXPECT_EQ(test, isolation_unplaced_count(), before + 1);

	test_place(test, b);
	test_place(test, c);
	KUNIT_ASSERT_NOT_NULL(test, b->isolation_group);
	KUNIT_ASSERT_NOT_NULL(test, c->isolation_group);
	KUNIT_EXPECT_EQ(test, ISOLATION_GROUP_MANAGED,
			test_held_state(test, b));
	/* A device of another iommu group is not tied to a. */
	KUNIT_EXPECT_EQ(test, ISOLATION_GROUP_LOCKED,
			test_held_state(test, c));

	/* Placed at last: the mark goes, the group stays as it is. */
	test_place(test, a);
	KUNIT_EXPECT_PTR_EQ(test, a->isolation_group, b->isolation_group);
	KUNIT_EXPECT_FALSE(test, isolation_device_unplaced(a));
	KUNIT_EXPECT_EQ(test, isolation_unplaced_count(), before);
	KUNIT_EXPECT_EQ(test, ISOLATION_GROUP_MANAGED,
			test_held_state(test, b));
}

/* A device deleted while marked unplaced takes its mark with it. */
static void iommu_isolation_unplaced_mark_goes_with_device_test(struct kunit *test)
{
	struct device *dev = kunit_device_register(test, "iommu-iso-m");
	unsigned int before = isolation_unplaced_count();

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	kunit_activate_static_stub(test, isolation_group_alloc,
				   test_alloc_fails);
	test_place(test, dev);
	kunit_deactivate_static_stub(test, isolation_group_alloc);
	KUNIT_EXPECT_TRUE(test, isolation_device_unplaced(dev));
	KUNIT_EXPECT_EQ(test, isolation_unplaced_count(), before + 1);
	kunit_device_unregister(test, dev);
	KUNIT_EXPECT_EQ(test, isolation_unplaced_count(), before);
}

/* A mark that comes as the device is deleted does not outlive it. */
static void iommu_isolation_unplaced_mark_after_delete_test(struct kunit *test)
{
	struct device *dev = kunit_device_register(test, "iommu-iso-d");
	unsigned int before = isolation_unplaced_count();

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	get_device(dev);
	kunit_device_unregister(test, dev);
	isolation_device_mark_unplaced(dev);
	KUNIT_EXPECT_FALSE(test, isolation_device_unplaced(dev));
	KUNIT_EXPECT_EQ(test, isolation_unplaced_count(), before);
	put_device(dev);
}

/* A device in no iommu group is none of the IOMMU core's business. */
static void iommu_isolation_check_ignores_untranslated_test(struct kunit *test)
{
	struct device *dev = kunit_device_register(test, "iommu-iso-i");

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	KUNIT_EXPECT_EQ(test, 0, iommu_isolation_check_whole(dev));
	KUNIT_EXPECT_EQ(test, 0, iommu_isolation_check(dev));
}

static int iommu_isolation_test_init(struct kunit *test)
{
	struct iommu_isolation_test *t;
	int ret;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	t->prov.name = "kunit-iommu";
	t->mgr.name = "kunit-iommu";
	t->mgr.ops = &iommu_isolation_test_mgr_ops;
	test->priv = t;
	/*
	 * The KUnit bus matches every device to every driver: the devices
	 * bind to the manager's driver as they are registered, so each group
	 * is held by the manager from its first member, locked if it can be.
	 */
	/*
	 * Named for the case: the driver of the case before may still be in
	 * sysfs, its release delayed (CONFIG_DEBUG_KOBJECT_RELEASE).
	 */
	t->drv = kunit_driver_create(test, test->name);
	if (IS_ERR(t->drv))
		return PTR_ERR(t->drv);
	ret = isolation_manager_register(&t->mgr);
	if (ret)
		return ret;
	t->mgr_registered = true;
	ret = isolation_manager_add_driver(&t->mgr, t->drv);
	if (ret)
		return ret;
	ret = isolation_provider_register(&t->prov);
	t->prov_registered = !ret;
	return ret;
}

static void iommu_isolation_test_exit(struct kunit *test)
{
	struct iommu_isolation_test *t = test->priv;

	/* KUnit calls it after a failed init too: undo what init did. */
	if (!t)
		return;
	/* Before KUnit's cleanup: the groups go with their members. */
	if (t->prov_registered)
		isolation_provider_unregister(&t->prov);
	if (t->mgr_registered) {
		isolation_manager_remove_driver(&t->mgr, t->drv);
		isolation_manager_unregister(&t->mgr);
	}
}

static struct kunit_case iommu_isolation_test_cases[] = {
	KUNIT_CASE(iommu_isolation_joins_iommu_group_test),
	KUNIT_CASE(iommu_isolation_separate_iommu_groups_test),
	KUNIT_CASE(iommu_isolation_check_refuses_unplaced_test),
	KUNIT_CASE(iommu_isolation_check_refuses_split_test),
	KUNIT_CASE(iommu_isolation_check_ignores_untranslated_test),
	KUNIT_CASE(iommu_isolation_unplaced_keeps_later_group_unlocked_test),
	KUNIT_CASE(iommu_isolation_unplaced_mark_goes_with_device_test),
	KUNIT_CASE(iommu_isolation_unplaced_mark_after_delete_test),
	{}
};

static struct kunit_suite iommu_isolation_test_suite = {
	.name = "iommu-isolation",
	.init = iommu_isolation_test_init,
	.exit = iommu_isolation_test_exit,
	.test_cases = iommu_isolation_test_cases,
};

kunit_test_suite(iommu_isolation_test_suite);

MODULE_DESCRIPTION("KUnit tests for the IOMMU core's isolation groups");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
