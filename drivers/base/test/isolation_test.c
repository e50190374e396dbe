// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for device isolation groups.
 *
 * The devices are KUnit devices on the KUnit bus, unregistered when the
 * test ends; each group the test allocates is put when the test ends, so a
 * failing case leaks nothing.  sysfs is not mounted while built-in tests
 * run, so the cases read the kernfs tree directly.
 */
#include <kunit/device.h>
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/device.h>
#include <linux/isolation.h>
#include <linux/kernfs.h>
#include <linux/kobject.h>
#include <linux/sprintf.h>
#include <linux/string.h>

KUNIT_DEFINE_ACTION_WRAPPER(isolation_group_put_action, isolation_group_put,
			    struct isolation_group *);
KUNIT_DEFINE_ACTION_WRAPPER(root_device_unregister_action,
			    root_device_unregister, struct device *);

/* A group that the test holds until it ends, or releases earlier. */
static struct isolation_group *test_group_alloc(struct kunit *test)
{
	struct isolation_group *group = isolation_group_alloc();

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, group);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, isolation_group_put_action,
						  group));
	return group;
}

/* The test's own reference, dropped before the test ends. */
static void test_group_put(struct kunit *test, struct isolation_group *group)
{
	kunit_release_action(test, isolation_group_put_action, group);
}

static struct device *test_device(struct kunit *test, const char *name)
{
	struct device *dev = kunit_device_register(test, name);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	return dev;
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

static void isolation_group_alloc_appears_in_sysfs(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);

	KUNIT_EXPECT_GE(test, isolation_group_id(group), 0);
	KUNIT_EXPECT_TRUE(test, group_has(group, ""));
	KUNIT_EXPECT_TRUE(test, group_has(group, "devices"));
}

static void isolation_group_ids_are_distinct(struct kunit *test)
{
	struct isolation_group *a = test_group_alloc(test);
	struct isolation_group *b = test_group_alloc(test);

	KUNIT_EXPECT_NE(test, isolation_group_id(a), isolation_group_id(b));
}

static void isolation_group_last_put_leaves_sysfs(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	int id = isolation_group_id(group);

	KUNIT_ASSERT_TRUE(test, group_id_in_sysfs(id));
	test_group_put(test, group);
	KUNIT_EXPECT_FALSE(test, group_id_in_sysfs(id));
}

static void isolation_group_get_keeps_group(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);

	KUNIT_ASSERT_PTR_EQ(test, isolation_group_get(group), group);
	test_group_put(test, group);
	KUNIT_EXPECT_TRUE(test, group_has(group, "devices"));
	isolation_group_put(group);
}

static void isolation_group_put_null_is_noop(struct kunit *test)
{
	isolation_group_put(NULL);
}

static void isolation_add_device_links_both_ways(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-add-0");

	KUNIT_ASSERT_EQ(test, 0, isolation_group_add_device(group, dev));
	KUNIT_EXPECT_PTR_EQ(test, dev->isolation_group, group);
	KUNIT_EXPECT_TRUE(test, group_links_to(group, dev));
	KUNIT_EXPECT_TRUE(test, device_links_to(dev, group));
}

static void isolation_add_several_devices(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	struct device *a = test_device(test, "iso-several-a");
	struct device *b = test_device(test, "iso-several-b");

	KUNIT_ASSERT_EQ(test, 0, isolation_group_add_device(group, a));
	KUNIT_ASSERT_EQ(test, 0, isolation_group_add_device(group, b));
	KUNIT_EXPECT_TRUE(test, group_links_to(group, a));
	KUNIT_EXPECT_TRUE(test, group_links_to(group, b));
	KUNIT_EXPECT_PTR_EQ(test, a->isolation_group, b->isolation_group);
}

static void isolation_device_in_one_group_only(struct kunit *test)
{
	struct isolation_group *first = test_group_alloc(test);
	struct isolation_group *second = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-twice-0");

	KUNIT_ASSERT_EQ(test, 0, isolation_group_add_device(first, dev));
	KUNIT_EXPECT_EQ(test, -EBUSY, isolation_group_add_device(second, dev));
	KUNIT_EXPECT_EQ(test, -EBUSY, isolation_group_add_device(first, dev));
	/* The refusals changed nothing. */
	KUNIT_EXPECT_PTR_EQ(test, dev->isolation_group, first);
	KUNIT_EXPECT_TRUE(test, device_links_to(dev, first));
	KUNIT_EXPECT_TRUE(test, group_links_to(first, dev));
	KUNIT_EXPECT_FALSE(test, group_lists_name(second, dev));
}

static void isolation_add_unregistered_device_refused(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-gone-0");

	get_device(dev);
	kunit_device_unregister(test, dev);
	KUNIT_EXPECT_EQ(test, -ENODEV, isolation_group_add_device(group, dev));
	KUNIT_EXPECT_NULL(test, dev->isolation_group);
	KUNIT_EXPECT_FALSE(test, group_lists_name(group, dev));
	put_device(dev);
}

static void isolation_remove_device_unlinks(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-remove-0");

	KUNIT_ASSERT_EQ(test, 0, isolation_group_add_device(group, dev));
	isolation_group_remove_device(dev);
	KUNIT_EXPECT_NULL(test, dev->isolation_group);
	KUNIT_EXPECT_FALSE(test, device_links_to(dev, NULL));
	KUNIT_EXPECT_FALSE(test, group_lists_name(group, dev));
	/* The provider still holds the group. */
	KUNIT_EXPECT_TRUE(test, group_has(group, "devices"));
}

static void isolation_removed_device_can_join_again(struct kunit *test)
{
	struct isolation_group *first = test_group_alloc(test);
	struct isolation_group *second = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-rejoin-0");

	KUNIT_ASSERT_EQ(test, 0, isolation_group_add_device(first, dev));
	isolation_group_remove_device(dev);
	KUNIT_ASSERT_EQ(test, 0, isolation_group_add_device(second, dev));
	KUNIT_EXPECT_PTR_EQ(test, dev->isolation_group, second);
	KUNIT_EXPECT_TRUE(test, device_links_to(dev, second));
	KUNIT_EXPECT_TRUE(test, group_links_to(second, dev));
}

static void isolation_remove_ungrouped_device_is_noop(struct kunit *test)
{
	struct device *dev = test_device(test, "iso-none-0");

	isolation_group_remove_device(dev);
	KUNIT_EXPECT_NULL(test, dev->isolation_group);
}

static void isolation_member_keeps_group(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-keep-0");

	KUNIT_ASSERT_EQ(test, 0, isolation_group_add_device(group, dev));
	test_group_put(test, group);
	/* The member's reference keeps the group, and the group in sysfs. */
	KUNIT_EXPECT_TRUE(test, group_links_to(group, dev));
	KUNIT_EXPECT_TRUE(test, device_links_to(dev, group));
}

static void isolation_last_member_frees_group(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-last-0");
	int id = isolation_group_id(group);

	KUNIT_ASSERT_EQ(test, 0, isolation_group_add_device(group, dev));
	test_group_put(test, group);
	KUNIT_EXPECT_TRUE(test, group_id_in_sysfs(id));

	isolation_group_remove_device(dev);
	KUNIT_EXPECT_FALSE(test, group_id_in_sysfs(id));
}

static void isolation_device_del_leaves_group(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-del-0");
	struct device *other = test_device(test, "iso-del-1");

	KUNIT_ASSERT_EQ(test, 0, isolation_group_add_device(group, dev));
	KUNIT_ASSERT_EQ(test, 0, isolation_group_add_device(group, other));
	get_device(dev);
	kunit_device_unregister(test, dev);
	KUNIT_EXPECT_NULL(test, dev->isolation_group);
	KUNIT_EXPECT_FALSE(test, group_lists_name(group, dev));
	KUNIT_EXPECT_TRUE(test, group_links_to(group, other));
	put_device(dev);
}

static void isolation_device_del_frees_orphan_group(struct kunit *test)
{
	struct isolation_group *group = test_group_alloc(test);
	struct device *dev = test_device(test, "iso-orphan-0");
	int id = isolation_group_id(group);

	KUNIT_ASSERT_EQ(test, 0, isolation_group_add_device(group, dev));
	test_group_put(test, group);
	kunit_device_unregister(test, dev);
	KUNIT_EXPECT_FALSE(test, group_id_in_sysfs(id));
}

/* A device of the same name on another bus gets a suffix, not a failure. */
static void isolation_same_name_members_both_linked(struct kunit *test)
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

	KUNIT_EXPECT_EQ(test, 0, isolation_group_add_device(group, kdev));
	KUNIT_EXPECT_EQ(test, 0, isolation_group_add_device(group, rdev));
	KUNIT_EXPECT_TRUE(test, group_links_to(group, kdev));
	KUNIT_EXPECT_TRUE(test, group_links_as(group, suffixed, rdev));

	kunit_release_action(test, root_device_unregister_action, rdev);
	KUNIT_EXPECT_FALSE(test, group_links_as(group, suffixed, rdev));
	KUNIT_EXPECT_TRUE(test, group_links_to(group, kdev));
}

static struct kunit_case isolation_group_test_cases[] = {
	KUNIT_CASE(isolation_group_alloc_appears_in_sysfs),
	KUNIT_CASE(isolation_group_ids_are_distinct),
	KUNIT_CASE(isolation_group_last_put_leaves_sysfs),
	KUNIT_CASE(isolation_group_get_keeps_group),
	KUNIT_CASE(isolation_group_put_null_is_noop),
	KUNIT_CASE(isolation_add_device_links_both_ways),
	KUNIT_CASE(isolation_add_several_devices),
	KUNIT_CASE(isolation_device_in_one_group_only),
	KUNIT_CASE(isolation_add_unregistered_device_refused),
	KUNIT_CASE(isolation_remove_device_unlinks),
	KUNIT_CASE(isolation_removed_device_can_join_again),
	KUNIT_CASE(isolation_remove_ungrouped_device_is_noop),
	KUNIT_CASE(isolation_member_keeps_group),
	KUNIT_CASE(isolation_last_member_frees_group),
	KUNIT_CASE(isolation_device_del_leaves_group),
	KUNIT_CASE(isolation_device_del_frees_orphan_group),
	KUNIT_CASE(isolation_same_name_members_both_linked),
	{}
};

static struct kunit_suite isolation_group_test_suite = {
	.name = "isolation_group",
	.test_cases = isolation_group_test_cases,
};

kunit_test_suite(isolation_group_test_suite);

MODULE_DESCRIPTION("KUnit tests for device isolation groups");
MODULE_LICENSE("GPL");
