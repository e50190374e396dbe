// SPDX-License-Identifier: GPL-2.0
/*
 * Device isolation groups
 *
 * An isolation group is the smallest set of devices that can be handed to
 * a userspace driver: the devices of one group may reach each other
 * (peer-to-peer DMA, a shared requester ID), devices of different groups
 * cannot, because an IOMMU stands between them.  Providers, such as an
 * IOMMU driver, allocate groups and add devices to them.  Each group shows
 * in sysfs as /sys/kernel/isolation_groups/<id>/, with a devices/ directory
 * of links to its members, and each member gets an "isolation_group" link
 * back to its group.
 *
 * Locking:
 *
 * group->mutex protects the group's member list.  dev->isolation_group
 * only changes with device_lock(dev) held and then group->mutex, so
 * whoever holds either of them reads a stable value.  The order is always
 * the device lock first, then the group mutex; nothing here calls back
 * into the driver core while holding a group mutex.
 *
 * Lifetime:
 *
 * group->users counts the provider's reference from isolation_group_alloc(),
 * one reference per member and one per isolation_group_get().  The last put
 * takes the group out of sysfs at once, so that a user never sees an empty
 * group nobody owns; the memory goes with the kobject's last reference.  A
 * device leaves its group at the latest in device_del(), so a group never
 * points to a device that is gone.
 */

#define pr_fmt(fmt) "isolation: " fmt

#include <linux/device.h>
#include <linux/idr.h>
#include <linux/init.h>
#include <linux/isolation.h>
#include <linux/kobject.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "base.h"

struct isolation_group {
	struct kobject kobj;
	struct kobject *devices_kobj;
	struct kref users;
	struct mutex mutex;		/* protects devices */
	struct list_head devices;	/* of struct isolation_member */
	int id;
};

struct isolation_member {
	struct list_head list;
	struct device *dev;
	char *link_name;		/* the member's name in devices/ */
};

#define ISOLATION_GROUP_LINK	"isolation_group"

/* A bound on renames when two members share a name (different buses). */
#define ISOLATION_MAX_LINK_RETRIES	64

static struct kset *isolation_groups_kset;
static DEFINE_IDA(isolation_group_ida);

static void isolation_group_release(struct kobject *kobj)
{
	struct isolation_group *group =
		container_of(kobj, struct isolation_group, kobj);

	ida_free(&isolation_group_ida, group->id);
	mutex_destroy(&group->mutex);
	kfree(group);
}

static const struct kobj_type isolation_group_ktype = {
	.sysfs_ops = &kobj_sysfs_ops,
	.release = isolation_group_release,
};

/**
 * isolation_group_alloc - allocate a new, empty isolation group
 *
 * Called by a provider.  The group appears at once in sysfs as
 * /sys/kernel/isolation_groups/<id>/.  The caller holds the only
 * reference; each device added takes one more, so the group lives as long
 * as it has members or the caller keeps its reference, whichever is longer.
 *
 * Context: process context, may sleep.
 * Return: the new group, or an ERR_PTR(): -ENOMEM, or -ENODEV when the
 * isolation core failed to initialise.
 */
struct isolation_group *isolation_group_alloc(void)
{
	struct isolation_group *group;
	int ret;

	if (!isolation_groups_kset)
		return ERR_PTR(-ENODEV);

	group = kzalloc(sizeof(*group), GFP_KERNEL);
	if (!group)
		return ERR_PTR(-ENOMEM);

	ret = ida_alloc(&isolation_group_ida, GFP_KERNEL);
	if (ret < 0) {
		kfree(group);
		return ERR_PTR(ret);
	}
	group->id = ret;
	kref_init(&group->users);
	mutex_init(&group->mutex);
	INIT_LIST_HEAD(&group->devices);

	group->kobj.kset = isolation_groups_kset;
	ret = kobject_init_and_add(&group->kobj, &isolation_group_ktype, NULL,
				   "%d", group->id);
	if (ret) {
		/* The release callback frees the id and the group. */
		kobject_put(&group->kobj);
		return ERR_PTR(ret);
	}

	group->devices_kobj = kobject_create_and_add("devices", &group->kobj);
	if (!group->devices_kobj) {
		kobject_del(&group->kobj);
		kobject_put(&group->kobj);
		return ERR_PTR(-ENOMEM);
	}

	kobject_uevent(&group->kobj, KOBJ_ADD);
	pr_debug("isolation group %d allocated\n", group->id);
	return group;
}
EXPORT_SYMBOL_GPL(isolation_group_alloc);

/**
 * isolation_group_get - take a reference on a group
 * @group: the group; the caller must already hold a reference, or hold the
 *	   device lock of one of its members
 *
 * Return: @group, for the caller's convenience.
 */
struct isolation_group *isolation_group_get(struct isolation_group *group)
{
	kref_get(&group->users);
	return group;
}
EXPORT_SYMBOL_GPL(isolation_group_get);

static void isolation_group_last_put(struct kref *kref)
{
	struct isolation_group *group =
		container_of(kref, struct isolation_group, users);

	pr_debug("isolation group %d released\n", group->id);
	/*
	 * Remove the directories now rather than in the release callback,
	 * which CONFIG_DEBUG_KOBJECT_RELEASE may delay: a group without
	 * members and without a provider must not linger in sysfs.
	 */
	kobject_del(group->devices_kobj);
	kobject_put(group->devices_kobj);
	kobject_uevent(&group->kobj, KOBJ_REMOVE);
	kobject_del(&group->kobj);
	kobject_put(&group->kobj);
}

/**
 * isolation_group_put - drop a reference on a group
 * @group: the group, or NULL
 *
 * The last reference takes the group out of sysfs and frees it.
 *
 * Context: process context, may sleep.
 */
void isolation_group_put(struct isolation_group *group)
{
	if (group)
		kref_put(&group->users, isolation_group_last_put);
}
EXPORT_SYMBOL_GPL(isolation_group_put);

/**
 * isolation_group_id - the number that names a group in sysfs
 * @group: the group; the caller holds a reference
 *
 * Return: the id, which stays the same for the group's lifetime and is not
 * given to another group while this one is in sysfs.
 */
int isolation_group_id(struct isolation_group *group)
{
	return group->id;
}
EXPORT_SYMBOL_GPL(isolation_group_id);

/*
 * Link the member into devices/ under its device's name.  Two members can
 * share a name when they sit on different buses; like iommu groups, the
 * second gets a ".<n>" suffix rather than a failure.
 */
static int isolation_member_link(struct isolation_group *group,
				 struct isolation_member *member)
{
	struct device *dev = member->dev;
	int i, ret;

	ret = sysfs_create_link(&dev->kobj, &group->kobj, ISOLATION_GROUP_LINK);
	if (ret)
		return ret;

	member->link_name = kstrdup(dev_name(dev), GFP_KERNEL);
	for (i = 0; member->link_name; i++) {
		ret = sysfs_create_link_nowarn(group->devices_kobj, &dev->kobj,
					       member->link_name);
		if (ret != -EEXIST || i == ISOLATION_MAX_LINK_RETRIES)
			break;
		kfree(member->link_name);
		member->link_name = kasprintf(GFP_KERNEL, "%s.%d",
					      dev_name(dev), i);
	}
	if (!member->link_name)
		ret = -ENOMEM;
	if (ret) {
		kfree(member->link_name);
		sysfs_remove_link(&dev->kobj, ISOLATION_GROUP_LINK);
	}
	return ret;
}

static void isolation_member_unlink(struct isolation_group *group,
				    struct isolation_member *member)
{
	sysfs_remove_link(group->devices_kobj, member->link_name);
	sysfs_remove_link(&member->dev->kobj, ISOLATION_GROUP_LINK);
	kfree(member->link_name);
}

/**
 * isolation_group_add_device - make a device a member of a group
 * @group: the group; the caller holds a reference
 * @dev: a registered device that is in no isolation group
 *
 * Called by a provider, typically when the device is added to its bus.
 * The device takes its own reference on the group, which it drops when it
 * leaves: through isolation_group_remove_device(), or at the latest when
 * it is deleted.
 *
 * Context: process context, may sleep.  Takes the device lock of @dev, so
 * the caller must not hold it.
 * Return: 0 on success; -EBUSY if @dev is already in a group, -ENODEV if
 * it is not registered or being deleted, -ENOMEM, or an error from sysfs.
 * On failure nothing has changed.
 */
int isolation_group_add_device(struct isolation_group *group,
			       struct device *dev)
{
	struct isolation_member *member;
	int ret;

	member = kzalloc(sizeof(*member), GFP_KERNEL);
	if (!member)
		return -ENOMEM;
	member->dev = dev;

	device_lock(dev);
	if (dev->isolation_group) {
		ret = -EBUSY;
		dev_err(dev, "cannot join isolation group %d: already in group %d\n",
			group->id, dev->isolation_group->id);
		goto out_unlock;
	}
	/* Checked under the device lock, so device_del() cannot run past us. */
	if (!device_is_registered(dev) || dev->p->dead) {
		ret = -ENODEV;
		dev_err(dev, "cannot join isolation group %d: device is not registered\n",
			group->id);
		goto out_unlock;
	}

	ret = isolation_member_link(group, member);
	if (ret) {
		dev_err(dev, "cannot join isolation group %d: sysfs link failed: %d\n",
			group->id, ret);
		goto out_unlock;
	}

	isolation_group_get(group);
	mutex_lock(&group->mutex);
	list_add_tail(&member->list, &group->devices);
	dev->isolation_group = group;
	mutex_unlock(&group->mutex);
	device_unlock(dev);

	dev_info(dev, "added to isolation group %d\n", group->id);
	return 0;

out_unlock:
	device_unlock(dev);
	kfree(member);
	return ret;
}
EXPORT_SYMBOL_GPL(isolation_group_add_device);

static struct isolation_member *
isolation_group_find_member(struct isolation_group *group, struct device *dev)
{
	struct isolation_member *member;

	lockdep_assert_held(&group->mutex);

	list_for_each_entry(member, &group->devices, list)
		if (member->dev == dev)
			return member;
	return NULL;
}

/**
 * isolation_group_remove_device - take a device out of its group
 * @dev: the device; nothing happens if it is in no group
 *
 * Drops the reference the device held on its group, which frees the group
 * if that was the last one.
 *
 * Context: process context, may sleep.  Takes the device lock of @dev, so
 * the caller must not hold it.
 */
void isolation_group_remove_device(struct device *dev)
{
	struct isolation_group *group;
	struct isolation_member *member;

	device_lock(dev);
	group = dev->isolation_group;
	if (!group) {
		device_unlock(dev);
		return;
	}

	mutex_lock(&group->mutex);
	member = isolation_group_find_member(group, dev);
	list_del(&member->list);
	dev->isolation_group = NULL;
	mutex_unlock(&group->mutex);

	/* Under the device lock, so a new add cannot meet the old links. */
	isolation_member_unlink(group, member);
	device_unlock(dev);

	dev_info(dev, "removed from isolation group %d\n", group->id);
	kfree(member);
	isolation_group_put(group);
}
EXPORT_SYMBOL_GPL(isolation_group_remove_device);

/*
 * Called by device_del() after the device's driver is gone and the bus has
 * been told, so that a provider that removes devices from its own bus
 * notifier has already done so.  kill_device() ran under the device lock
 * before this, so an add that could still set the pointer has finished and
 * an unlocked test is enough to spare ungrouped devices the lock.
 */
void isolation_device_del(struct device *dev)
{
	if (dev->isolation_group)
		isolation_group_remove_device(dev);
}

static int __init isolation_init(void)
{
	isolation_groups_kset = kset_create_and_add("isolation_groups", NULL,
						    kernel_kobj);
	if (!isolation_groups_kset) {
		pr_err("cannot create /sys/kernel/isolation_groups\n");
		return -ENOMEM;
	}
	return 0;
}
postcore_initcall(isolation_init);
