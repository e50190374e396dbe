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
 * A manager, such as VFIO, takes whole groups.  While it holds a group, the
 * group's devices may only bind to the manager's drivers or to compatible
 * drivers, which do no DMA of their own (device_driver.isolation_compatible);
 * any other driver is foreign.  The group is "locked" when no member is
 * bound to a foreign driver, "managed" while one still is, and "unmanaged"
 * without a manager.  The state is not stored but derived from the manager
 * and group->foreign, the number of members on foreign drivers, which moves
 * only where a binding is committed or undone (isolation_device_bind(),
 * isolation_device_unbind(), both under the device lock) and where members
 * come and go, so asking for it costs no walk over the members.
 *
 * A manager's hold on a group is counted, as the IOMMU core counts DMA
 * ownership: VFIO takes one for each device it drives, so that the group
 * stays with it until the last of them is unbound, and a claim from
 * userspace (the "manager" file) is one more.  The group is let go when
 * the last hold is dropped, or at once when the manager unregisters.
 *
 * A manager that hands a group's devices to users also records the user,
 * the group's owner (VFIO: the container or iommufd context that a device
 * is opened with): one owner at a time for the whole group, however many
 * iommu groups it spans, or two users could reach each other's devices.
 *
 * Locking, from the outside in:
 *
 *   isolation_manager_lock  >  device_lock(dev)  >  group->mutex  >
 *   isolation_lock
 *
 * isolation_manager_lock serialises changes to a manager's drivers and its
 * unregistration, which recount its groups.  group->mutex protects the
 * group's members, what each is bound to and whether that is foreign, its
 * manager with the manager's holds and owner, and the foreign count.
 * dev->isolation_group only changes with the device lock and then the
 * group mutex held, so whoever holds either reads a stable value; others
 * use isolation_group_get_from_dev().
 * isolation_lock protects the registries: the providers and the groups of
 * each, the managers and the drivers and groups of each; nothing is taken
 * under it.  A group's last reference is dropped with it held
 * (kref_put_mutex()), so a registry walk never meets a dying group.
 *
 * No lock of this file is held while calling into the driver core to bind
 * or unbind: claims and releases mark the group busy instead.
 *
 * Lifetime:
 *
 * group->users counts the provider's reference from isolation_group_alloc(),
 * one per member, one for the manager that holds the group, and one per
 * isolation_group_get().  The last put takes the group out of sysfs at
 * once, so that a user never sees an empty group nobody owns; the memory
 * goes with the kobject's last reference, after an RCU grace period for
 * the lockless readers of dev->isolation_group.  A device leaves its group
 * at the latest in device_del(), so a group never points to a device that
 * is gone.
 */

#define pr_fmt(fmt) "isolation: " fmt

#include <kunit/static_stub.h>
#include <kunit/visibility.h>
#include <linux/capability.h>
#include <linux/ctype.h>
#include <linux/device.h>
#include <linux/idr.h>
#include <linux/init.h>
#include <linux/isolation.h>
#include <linux/kobject.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "base.h"

struct isolation_group {
	struct kobject kobj;
	struct kobject *devices_kobj;
	struct kref users;
	struct rcu_head rcu;
	int id;

	struct mutex mutex;		/* see "Locking" above */
	struct list_head devices;	/* of struct isolation_member */
	struct isolation_manager *manager;
	unsigned int holds;		/* the manager's, while it is set */
	bool claimed;			/* one hold is isolation_group_claim()'s */
	const void *owner;		/* the manager's user of the devices */
	unsigned int owner_cnt;
	unsigned int foreign;		/* members on foreign drivers */
	bool busy;			/* a claim or release is running */

	/* isolation_lock */
	struct isolation_provider *provider;	/* NULL once unregistered */
	struct list_head provider_node;
	struct list_head manager_node;
};

struct isolation_member {
	struct list_head list;
	struct device *dev;
	/* The driver the device is bound to, as the bind hooks saw it. */
	const struct device_driver *driver;
	bool foreign;			/* counted in group->foreign */
	char *link_name;		/* the member's name in devices/ */
	char *reason;
};

struct isolation_manager_driver {
	struct list_head node;
	const struct device_driver *drv;
};

#define ISOLATION_GROUP_LINK	"isolation_group"

/* A bound on renames when two members share a name (different buses). */
#define ISOLATION_MAX_LINK_RETRIES	64

/* The longest manager name that a write to the "manager" file accepts. */
#define ISOLATION_MANAGER_NAME_MAX	32

static DEFINE_MUTEX(isolation_manager_lock);
static DEFINE_MUTEX(isolation_lock);
static LIST_HEAD(isolation_providers);
static LIST_HEAD(isolation_managers);
static struct kset *isolation_groups_kset;
static DEFINE_IDA(isolation_group_ida);

static const char * const isolation_state_names[] = {
	[ISOLATION_GROUP_UNMANAGED] = "unmanaged",
	[ISOLATION_GROUP_MANAGED] = "managed",
	[ISOLATION_GROUP_LOCKED] = "locked",
};

#define to_isolation_group(k) container_of(k, struct isolation_group, kobj)

/* --- providers ----------------------------------------------------------- */

/**
 * isolation_provider_register - make a provider known to the isolation core
 * @prov: the provider, with its name set; it stays in use until
 *	  isolation_provider_unregister() returns
 *
 * Return: 0, or -EINVAL without a name.
 */
int isolation_provider_register(struct isolation_provider *prov)
{
	if (!prov->name || !*prov->name)
		return -EINVAL;

	INIT_LIST_HEAD(&prov->groups);
	mutex_lock(&isolation_lock);
	list_add_tail(&prov->node, &isolation_providers);
	mutex_unlock(&isolation_lock);
	pr_info("provider %s registered\n", prov->name);
	return 0;
}
EXPORT_SYMBOL_GPL(isolation_provider_register);

static void isolation_group_remove_all(struct isolation_group *group);

/**
 * isolation_provider_unregister - take a provider out, and its devices with it
 * @prov: a registered provider
 *
 * Every device leaves the provider's groups, whose "provider" file then
 * reads empty: nothing is isolated by a provider that is gone.  A group
 * that a manager holds stays, empty, until the manager lets it go.  The
 * provider still drops its own references to its groups.
 *
 * Context: process context, may sleep.  The provider must not add devices
 * while it unregisters.
 */
void isolation_provider_unregister(struct isolation_provider *prov)
{
	struct isolation_group *group;

	mutex_lock(&isolation_lock);
	list_del(&prov->node);
	mutex_unlock(&isolation_lock);

	for (;;) {
		mutex_lock(&isolation_lock);
		group = list_first_entry_or_null(&prov->groups,
						 struct isolation_group,
						 provider_node);
		if (group) {
			list_del_init(&group->provider_node);
			group->provider = NULL;
			isolation_group_get(group);
		}
		mutex_unlock(&isolation_lock);
		if (!group)
			break;
		isolation_group_remove_all(group);
		isolation_group_put(group);
	}
	pr_info("provider %s unregistered\n", prov->name);
}
EXPORT_SYMBOL_GPL(isolation_provider_unregister);

/* --- managers and their drivers ------------------------------------------ */

/**
 * isolation_manager_owns - whether a driver is one of a manager's drivers
 * @mgr: a registered manager
 * @drv: a driver
 *
 * Context: process context, may sleep.
 * Return: true if @drv was added with isolation_manager_add_driver().
 */
bool isolation_manager_owns(struct isolation_manager *mgr,
			    const struct device_driver *drv)
{
	struct isolation_manager_driver *md;
	bool ret = false;

	mutex_lock(&isolation_lock);
	list_for_each_entry(md, &mgr->drivers, node) {
		if (md->drv == drv) {
			ret = true;
			break;
		}
	}
	mutex_unlock(&isolation_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(isolation_manager_owns);

/* Whether a device bound to @drv keeps a group held by @mgr from locking. */
static bool isolation_driver_foreign(struct isolation_manager *mgr,
				     const struct device_driver *drv)
{
	return drv && !drv->isolation_compatible &&
	       !isolation_manager_owns(mgr, drv);
}

/**
 * isolation_manager_register - make a manager known to the isolation core
 * @mgr: the manager, with its name and ops set
 *
 * Return: 0; -EINVAL without a name or ops, -EEXIST if another manager has
 * the name.
 */
int isolation_manager_register(struct isolation_manager *mgr)
{
	struct isolation_manager *m;
	int ret = 0;

	if (!mgr->name || !*mgr->name || !mgr->ops ||
	    strlen(mgr->name) > ISOLATION_MANAGER_NAME_MAX)
		return -EINVAL;

	INIT_LIST_HEAD(&mgr->drivers);
	INIT_LIST_HEAD(&mgr->groups);
	mutex_lock(&isolation_lock);
	list_for_each_entry(m, &isolation_managers, node) {
		if (!strcmp(m->name, mgr->name)) {
			ret = -EEXIST;
			goto out;
		}
	}
	list_add_tail(&mgr->node, &isolation_managers);
out:
	mutex_unlock(&isolation_lock);
	if (!ret)
		pr_info("manager %s registered\n", mgr->name);
	return ret;
}
EXPORT_SYMBOL_GPL(isolation_manager_register);

static void isolation_group_let_go(struct isolation_group *group,
				   struct isolation_manager *mgr);

/**
 * isolation_manager_unregister - take a manager out, letting its groups go
 * @mgr: a registered manager
 *
 * Each group the manager holds is left unmanaged at once, whatever its
 * holds: devices stay bound to the manager's drivers until those are
 * unregistered, and host drivers may bind again.
 *
 * Context: process context, may sleep.  The manager must not set itself on
 * groups while it unregisters.
 */
void isolation_manager_unregister(struct isolation_manager *mgr)
{
	struct isolation_manager_driver *md, *tmp;
	struct isolation_group *group;

	mutex_lock(&isolation_manager_lock);
	mutex_lock(&isolation_lock);
	list_del_init(&mgr->node);
	mutex_unlock(&isolation_lock);

	for (;;) {
		mutex_lock(&isolation_lock);
		group = list_first_entry_or_null(&mgr->groups,
						 struct isolation_group,
						 manager_node);
		if (group)
			isolation_group_get(group);
		mutex_unlock(&isolation_lock);
		if (!group)
			break;
		isolation_group_let_go(group, mgr);
		isolation_group_put(group);
	}

	mutex_lock(&isolation_lock);
	list_for_each_entry_safe(md, tmp, &mgr->drivers, node) {
		list_del(&md->node);
		kfree(md);
	}
	mutex_unlock(&isolation_lock);
	mutex_unlock(&isolation_manager_lock);
	pr_info("manager %s unregistered\n", mgr->name);
}
EXPORT_SYMBOL_GPL(isolation_manager_unregister);

static void isolation_group_recount(struct isolation_group *group);

/*
 * Count anew, in every group @mgr holds, the members on foreign drivers.
 * Each group moves to a list of its own once counted, so that the walk
 * needs no lock across the groups' mutexes; isolation_manager_lock keeps
 * other walks of @mgr's groups out meanwhile.
 */
static void isolation_manager_recount(struct isolation_manager *mgr)
{
	struct isolation_group *group;
	LIST_HEAD(done);

	lockdep_assert_held(&isolation_manager_lock);

	for (;;) {
		mutex_lock(&isolation_lock);
		group = list_first_entry_or_null(&mgr->groups,
						 struct isolation_group,
						 manager_node);
		if (group) {
			list_move_tail(&group->manager_node, &done);
			isolation_group_get(group);
		} else {
			list_splice(&done, &mgr->groups);
		}
		mutex_unlock(&isolation_lock);
		if (!group)
			return;

		mutex_lock(&group->mutex);
		isolation_group_recount(group);
		mutex_unlock(&group->mutex);
		isolation_group_put(group);
	}
}

/**
 * isolation_manager_add_driver - let a manager's groups bind to a driver
 * @mgr: a registered manager
 * @drv: one of the manager's drivers
 *
 * Devices of the groups @mgr holds may bind to @drv.  Drivers that do no
 * DMA of their own need not be added: they set isolation_compatible.
 *
 * Context: process context, may sleep.
 * Return: 0, or -ENOMEM.
 */
int isolation_manager_add_driver(struct isolation_manager *mgr,
				 const struct device_driver *drv)
{
	struct isolation_manager_driver *md;

	md = kzalloc(sizeof(*md), GFP_KERNEL);
	if (!md)
		return -ENOMEM;
	md->drv = drv;

	mutex_lock(&isolation_manager_lock);
	mutex_lock(&isolation_lock);
	list_add_tail(&md->node, &mgr->drivers);
	mutex_unlock(&isolation_lock);
	/* Devices already on @drv no longer count against a lock. */
	isolation_manager_recount(mgr);
	mutex_unlock(&isolation_manager_lock);
	return 0;
}
EXPORT_SYMBOL_GPL(isolation_manager_add_driver);

/**
 * isolation_manager_remove_driver - take a driver from a manager
 * @mgr: a registered manager
 * @drv: a driver added with isolation_manager_add_driver()
 *
 * A group of @mgr with a device still bound to @drv is no longer locked.
 *
 * Context: process context, may sleep.
 */
void isolation_manager_remove_driver(struct isolation_manager *mgr,
				     const struct device_driver *drv)
{
	struct isolation_manager_driver *md, *found = NULL;

	mutex_lock(&isolation_manager_lock);
	mutex_lock(&isolation_lock);
	list_for_each_entry(md, &mgr->drivers, node) {
		if (md->drv == drv) {
			list_del(&md->node);
			found = md;
			break;
		}
	}
	mutex_unlock(&isolation_lock);
	kfree(found);
	if (found)
		isolation_manager_recount(mgr);
	mutex_unlock(&isolation_manager_lock);
}
EXPORT_SYMBOL_GPL(isolation_manager_remove_driver);

/*
 * Find a registered manager by name and pin its module, for a write to a
 * group's "manager" file.  Undo with module_put(mgr->owner).
 */
static struct isolation_manager *isolation_manager_find_get(const char *name)
{
	struct isolation_manager *mgr;

	mutex_lock(&isolation_lock);
	list_for_each_entry(mgr, &isolation_managers, node) {
		if (!strcmp(mgr->name, name) && try_module_get(mgr->owner))
			goto out;
	}
	mgr = NULL;
out:
	mutex_unlock(&isolation_lock);
	return mgr;
}

/* --- groups -------------------------------------------------------------- */

static void isolation_group_free_rcu(struct rcu_head *rcu)
{
	kfree(container_of(rcu, struct isolation_group, rcu));
}

static void isolation_group_kobj_release(struct kobject *kobj)
{
	struct isolation_group *group = to_isolation_group(kobj);

	ida_free(&isolation_group_ida, group->id);
	mutex_destroy(&group->mutex);
	/* Lockless readers of dev->isolation_group may still look at it. */
	call_rcu(&group->rcu, isolation_group_free_rcu);
}

static const struct kobj_type isolation_group_ktype;

/**
 * isolation_group_alloc - allocate a new, empty isolation group
 * @prov: the registered provider the group belongs to
 *
 * The group appears at once in sysfs as /sys/kernel/isolation_groups/<id>/.
 * The caller holds the only reference; each device added takes one more,
 * so the group lives as long as it has members or the caller keeps its
 * reference, whichever is longer.
 *
 * Context: process context, may sleep.
 * Return: the new group, or an ERR_PTR(): -ENOMEM, or -ENODEV when the
 * isolation core failed to initialise.
 */
struct isolation_group *isolation_group_alloc(struct isolation_provider *prov)
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
	INIT_LIST_HEAD(&group->manager_node);

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

	mutex_lock(&isolation_lock);
	group->provider = prov;
	list_add_tail(&group->provider_node, &prov->groups);
	mutex_unlock(&isolation_lock);

	kobject_uevent(&group->kobj, KOBJ_ADD);
	pr_debug("group %d allocated by %s\n", group->id, prov->name);
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

/* Called by kref_put_mutex() with isolation_lock held, which it drops. */
static void isolation_group_last_put(struct kref *kref)
{
	struct isolation_group *group =
		container_of(kref, struct isolation_group, users);

	if (group->provider)
		list_del(&group->provider_node);
	mutex_unlock(&isolation_lock);
	pr_debug("group %d released\n", group->id);
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
 * Context: process context, may sleep; not with isolation_lock held.
 */
void isolation_group_put(struct isolation_group *group)
{
	if (group)
		kref_put_mutex(&group->users, isolation_group_last_put,
			       &isolation_lock);
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

/**
 * isolation_group_get_from_dev - the group of a device, with a reference
 * @dev: any device
 *
 * Safe without the device lock: a group that is being freed is not
 * returned.
 *
 * Return: the group, to be put with isolation_group_put(), or NULL if the
 * device is in no group.
 */
struct isolation_group *isolation_group_get_from_dev(struct device *dev)
{
	struct isolation_group *group;

	rcu_read_lock();
	group = READ_ONCE(dev->isolation_group);
	if (group && !kref_get_unless_zero(&group->users))
		group = NULL;
	rcu_read_unlock();
	return group;
}
EXPORT_SYMBOL_GPL(isolation_group_get_from_dev);

static enum isolation_group_state
__isolation_group_state(struct isolation_group *group)
{
	lockdep_assert_held(&group->mutex);

	if (!group->manager)
		return ISOLATION_GROUP_UNMANAGED;
	return group->foreign ? ISOLATION_GROUP_MANAGED : ISOLATION_GROUP_LOCKED;
}

/**
 * isolation_group_state - whether a group is unmanaged, managed or locked
 * @group: the group; the caller holds a reference
 *
 * Return: the state at the time of the call.  Only the manager that holds
 * a group can rely on it staying locked: no foreign driver can bind until
 * the manager lets the group go.
 */
enum isolation_group_state isolation_group_state(struct isolation_group *group)
{
	enum isolation_group_state state;

	mutex_lock(&group->mutex);
	state = __isolation_group_state(group);
	mutex_unlock(&group->mutex);
	return state;
}
EXPORT_SYMBOL_GPL(isolation_group_state);

static void isolation_notify(struct isolation_manager *mgr,
			     struct isolation_group *group, struct device *dev,
			     enum isolation_event event)
{
	lockdep_assert_held(&group->mutex);

	if (mgr && mgr->ops->notify)
		mgr->ops->notify(mgr, group, dev, event);
}

/* Tell userspace the group's new state.  The KUnit suite stubs it. */
VISIBLE_IF_KUNIT void isolation_group_uevent(struct isolation_group *group,
					     enum isolation_group_state state)
{
	char env[48];
	char *envp[2] = { env, NULL };

	KUNIT_STATIC_STUB_REDIRECT(isolation_group_uevent, group, state);

	snprintf(env, sizeof(env), "ISOLATION_GROUP_STATE=%s",
		 isolation_state_names[state]);
	kobject_uevent_env(&group->kobj, KOBJ_CHANGE, envp);
}
EXPORT_SYMBOL_IF_KUNIT(isolation_group_uevent);

/*
 * Tell userspace and the manager if the state moved from @old.  @mgr is the
 * manager to tell, which is the one that just let go on a clear.
 */
static void isolation_group_changed(struct isolation_group *group,
				    enum isolation_group_state old,
				    struct isolation_manager *mgr)
{
	enum isolation_group_state new = __isolation_group_state(group);

	if (new == old)
		return;

	pr_info("group %d: %s -> %s\n", group->id, isolation_state_names[old],
		isolation_state_names[new]);
	isolation_group_uevent(group, new);

	if (new == ISOLATION_GROUP_LOCKED)
		isolation_notify(mgr, group, NULL, ISOLATION_GROUP_LOCKED_EVENT);
	else if (old == ISOLATION_GROUP_LOCKED)
		isolation_notify(mgr, group, NULL,
				 ISOLATION_GROUP_UNLOCKED_EVENT);
}

/*
 * Record @drv as @member's driver, and keep group->foreign the number of
 * members whose flag says their driver is foreign to the group's manager.
 * Every change of a member's driver, of the manager or of the manager's
 * drivers goes through here, so the count never drifts from the flags.
 */
static void isolation_member_set_driver(struct isolation_group *group,
					struct isolation_member *member,
					const struct device_driver *drv)
{
	bool foreign = group->manager &&
		       isolation_driver_foreign(group->manager, drv);

	lockdep_assert_held(&group->mutex);

	if (foreign && !member->foreign)
		group->foreign++;
	else if (!foreign && member->foreign)
		group->foreign--;
	member->foreign = foreign;
	member->driver = drv;
}

/* Judge every member anew: the manager or its drivers changed. */
static void isolation_group_recount(struct isolation_group *group)
{
	enum isolation_group_state old = __isolation_group_state(group);
	struct isolation_member *member;

	list_for_each_entry(member, &group->devices, list)
		isolation_member_set_driver(group, member, member->driver);
	isolation_group_changed(group, old, group->manager);
}

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

static void isolation_member_free(struct isolation_member *member)
{
	kfree(member->reason);
	kfree(member);
}

/* Whether the group can take members: its provider is still there. */
static bool isolation_group_has_provider(struct isolation_group *group)
{
	bool ret;

	mutex_lock(&isolation_lock);
	ret = group->provider;
	mutex_unlock(&isolation_lock);
	return ret;
}

/**
 * isolation_group_add_device - make a device a member of a group
 * @group: the group; the caller holds a reference
 * @dev: a registered device that is in no isolation group
 * @reason: why @dev is in this group, for the group's "reason" file, e.g.
 *	    "behind PCIe-to-PCI bridge 0000:03:00.0"; copied
 *
 * Called by the group's provider, typically when the device is added to
 * its bus.  The device takes its own reference on the group, which it drops
 * when it leaves: through isolation_group_remove_device(), or at the latest
 * when it is deleted.  If a manager holds the group, the device can only
 * bind to the manager's drivers from now on, and the manager is told.
 *
 * Context: process context, may sleep.  Takes the device lock of @dev, so
 * the caller must not hold it.
 * Return: 0 on success; -EBUSY if @dev is already in a group, -ENODEV if
 * it is not registered or being deleted or the group's provider is gone,
 * -ENOMEM, or an error from sysfs.  On failure nothing has changed.
 */
int isolation_group_add_device(struct isolation_group *group,
			       struct device *dev, const char *reason)
{
	enum isolation_group_state old;
	struct isolation_member *member;
	int ret;

	member = kzalloc(sizeof(*member), GFP_KERNEL);
	if (!member)
		return -ENOMEM;
	member->dev = dev;
	member->reason = kstrdup(reason ?: "", GFP_KERNEL);
	if (!member->reason) {
		kfree(member);
		return -ENOMEM;
	}

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
	if (!isolation_group_has_provider(group)) {
		ret = -ENODEV;
		dev_err(dev, "cannot join isolation group %d: its provider is gone\n",
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
	old = __isolation_group_state(group);
	list_add_tail(&member->list, &group->devices);
	isolation_member_set_driver(group, member, dev->driver);
	WRITE_ONCE(dev->isolation_group, group);
	isolation_notify(group->manager, group, dev, ISOLATION_DEVICE_ADDED);
	isolation_group_changed(group, old, group->manager);
	mutex_unlock(&group->mutex);
	dev_info(dev, "added to isolation group %d: %s\n", group->id,
		 member->reason);
	device_unlock(dev);
	return 0;

out_unlock:
	device_unlock(dev);
	isolation_member_free(member);
	return ret;
}
EXPORT_SYMBOL_GPL(isolation_group_add_device);

/**
 * isolation_group_remove_device - take a device out of its group
 * @dev: the device; nothing happens if it is in no group
 *
 * The device keeps its driver.  It drops the reference it held on its
 * group, which frees the group if that was the last one.
 *
 * Context: process context, may sleep.  Takes the device lock of @dev, so
 * the caller must not hold it.
 */
void isolation_group_remove_device(struct device *dev)
{
	enum isolation_group_state old;
	struct isolation_group *group;
	struct isolation_member *member;

	device_lock(dev);
	group = dev->isolation_group;
	if (!group) {
		device_unlock(dev);
		return;
	}

	mutex_lock(&group->mutex);
	old = __isolation_group_state(group);
	member = isolation_group_find_member(group, dev);
	isolation_member_set_driver(group, member, NULL);
	list_del(&member->list);
	WRITE_ONCE(dev->isolation_group, NULL);
	isolation_notify(group->manager, group, dev, ISOLATION_DEVICE_REMOVED);
	isolation_group_changed(group, old, group->manager);
	mutex_unlock(&group->mutex);

	/* Under the device lock, so a new add cannot meet the old links. */
	isolation_member_unlink(group, member);
	device_unlock(dev);

	dev_info(dev, "removed from isolation group %d\n", group->id);
	isolation_member_free(member);
	isolation_group_put(group);
}
EXPORT_SYMBOL_GPL(isolation_group_remove_device);

/* Take every device out of @group; for a provider that goes away. */
static void isolation_group_remove_all(struct isolation_group *group)
{
	struct isolation_member *member;
	struct device *dev;

	for (;;) {
		mutex_lock(&group->mutex);
		member = list_first_entry_or_null(&group->devices,
						  struct isolation_member, list);
		dev = member ? get_device(member->dev) : NULL;
		mutex_unlock(&group->mutex);
		if (!dev)
			return;
		isolation_group_remove_device(dev);
		put_device(dev);
	}
}

/**
 * isolation_group_walk_devices - call a function for each member
 * @group: the group; the caller holds a reference
 * @data: passed to @fn
 * @fn: called for each device, with the group's mutex held: it must not
 *	take any device lock, call back into the isolation core for this
 *	group, nor bind or unbind drivers.  A non-zero return stops the walk.
 *
 * Return: 0, or what @fn returned to stop the walk.
 */
int isolation_group_walk_devices(struct isolation_group *group, void *data,
				 int (*fn)(struct device *dev, void *data))
{
	struct isolation_member *member;
	int ret = 0;

	mutex_lock(&group->mutex);
	list_for_each_entry(member, &group->devices, list) {
		ret = fn(member->dev, data);
		if (ret)
			break;
	}
	mutex_unlock(&group->mutex);
	return ret;
}
EXPORT_SYMBOL_GPL(isolation_group_walk_devices);

/* --- managers on groups -------------------------------------------------- */

static int __isolation_group_set_manager(struct isolation_group *group,
					 struct isolation_manager *mgr)
{
	struct isolation_member *member;
	enum isolation_group_state old;
	bool registered;

	lockdep_assert_held(&group->mutex);

	if (group->manager == mgr) {
		group->holds++;
		return 0;
	}
	if (group->manager) {
		pr_info("group %d: %s cannot take it: held by %s\n",
			group->id, mgr->name, group->manager->name);
		return -EBUSY;
	}

	mutex_lock(&isolation_lock);
	registered = !list_empty(&mgr->node);
	if (registered) {
		list_add_tail(&group->manager_node, &mgr->groups);
		isolation_group_get(group);
	}
	mutex_unlock(&isolation_lock);
	if (!registered)
		return -ENODEV;

	old = __isolation_group_state(group);
	WRITE_ONCE(group->manager, mgr);
	group->holds = 1;
	list_for_each_entry(member, &group->devices, list)
		isolation_member_set_driver(group, member, member->driver);
	pr_info("group %d: taken by %s\n", group->id, mgr->name);
	isolation_group_changed(group, old, mgr);
	return 0;
}

/**
 * isolation_group_set_manager - take a hold on a group for a manager
 * @group: the group; the caller holds a reference
 * @mgr: a registered manager
 *
 * The first hold makes @mgr the group's manager: from then on the group's
 * devices only bind to @mgr's drivers and to compatible drivers.  Devices
 * already bound to other drivers keep them, and keep the group "managed"
 * rather than "locked" until they unbind; isolation_group_claim() unbinds
 * them.  Holds are counted, so that a manager may take one for each of its
 * users (VFIO takes one per device it drives): each is dropped with
 * isolation_group_clear_manager(), and the group stays with @mgr until the
 * last is.  The manager holds a reference on the group meanwhile.
 *
 * Context: process context, may sleep.  May be called with the device lock
 * of a member held, e.g. from the probe of one of @mgr's drivers.
 * Return: 0; -EBUSY if another manager holds the group, -ENODEV if @mgr is
 * not registered.
 */
int isolation_group_set_manager(struct isolation_group *group,
				struct isolation_manager *mgr)
{
	int ret;

	mutex_lock(&group->mutex);
	ret = __isolation_group_set_manager(group, mgr);
	mutex_unlock(&group->mutex);
	return ret;
}
EXPORT_SYMBOL_GPL(isolation_group_set_manager);

/*
 * The manager lets the group go, whatever its holds.  The caller drops the
 * manager's reference on the group once it has let go of the mutex.
 */
static void __isolation_group_let_go(struct isolation_group *group)
{
	enum isolation_group_state old = __isolation_group_state(group);
	struct isolation_manager *mgr = group->manager;
	struct isolation_member *member;

	lockdep_assert_held(&group->mutex);

	WRITE_ONCE(group->manager, NULL);
	group->holds = 0;
	group->claimed = false;
	group->owner = NULL;
	group->owner_cnt = 0;
	list_for_each_entry(member, &group->devices, list)
		isolation_member_set_driver(group, member, member->driver);
	mutex_lock(&isolation_lock);
	list_del_init(&group->manager_node);
	mutex_unlock(&isolation_lock);
	pr_info("group %d: let go by %s\n", group->id, mgr->name);
	isolation_group_changed(group, old, mgr);
}

/**
 * isolation_group_clear_manager - drop a manager's hold on a group
 * @group: the group; the caller holds a reference
 * @mgr: the manager that took the hold with isolation_group_set_manager();
 *	 nothing happens if it does not hold the group
 *
 * When the last hold goes, the group is unmanaged again: its devices keep
 * their drivers, and host drivers may bind to the unbound ones.
 * isolation_group_release() also unbinds the manager's drivers and lets
 * host drivers probe.
 *
 * Context: process context, may sleep.  May be called with the device lock
 * of a member held, e.g. from the remove of one of @mgr's drivers.
 */
void isolation_group_clear_manager(struct isolation_group *group,
				   struct isolation_manager *mgr)
{
	bool last;

	mutex_lock(&group->mutex);
	last = group->manager == mgr && !--group->holds;
	if (last)
		__isolation_group_let_go(group);
	mutex_unlock(&group->mutex);
	/* The manager's reference; the caller still holds its own. */
	if (last)
		isolation_group_put(group);
}
EXPORT_SYMBOL_GPL(isolation_group_clear_manager);

/* A manager that unregisters lets go at once, however many holds it has. */
static void isolation_group_let_go(struct isolation_group *group,
				   struct isolation_manager *mgr)
{
	bool held;

	mutex_lock(&group->mutex);
	held = group->manager == mgr;
	if (held)
		__isolation_group_let_go(group);
	mutex_unlock(&group->mutex);
	if (held)
		isolation_group_put(group);
}

/* Log why @group is not locked for @mgr: each member that blocks. */
static int __isolation_group_check_locked(struct isolation_group *group,
					  struct isolation_manager *mgr)
{
	struct isolation_member *member;

	lockdep_assert_held(&group->mutex);

	if (group->manager != mgr) {
		pr_info_ratelimited("group %d is not held by %s\n", group->id,
				    mgr->name);
		return -EBUSY;
	}
	if (!group->foreign)
		return 0;
	list_for_each_entry(member, &group->devices, list)
		if (member->foreign)
			dev_err_ratelimited(member->dev, "isolation group %d is not locked for %s: bound to %s\n",
					    group->id, mgr->name,
					    member->driver->name);
	return -EBUSY;
}

/**
 * isolation_group_check_locked - whether a manager may hand a group out
 * @group: the group; the caller holds a reference
 * @mgr: the manager about to let a user reach the group's devices
 *
 * For a manager's refusals: when the group is not locked under @mgr, each
 * member that keeps it from locking is logged with its driver, so that the
 * user learns what to unbind.  A group that @mgr holds stays locked until
 * a device bound to a foreign driver joins it or @mgr lets it go, so the
 * answer holds for as long as @mgr keeps the group and its drivers.
 *
 * Context: process context, may sleep.
 * Return: 0 if @mgr holds @group and it is locked; -EBUSY otherwise.
 */
int isolation_group_check_locked(struct isolation_group *group,
				 struct isolation_manager *mgr)
{
	int ret;

	mutex_lock(&group->mutex);
	ret = __isolation_group_check_locked(group, mgr);
	mutex_unlock(&group->mutex);
	return ret;
}
EXPORT_SYMBOL_GPL(isolation_group_check_locked);

/**
 * isolation_group_set_owner - let a user of a manager have a group's devices
 * @group: the group; the caller holds a reference
 * @mgr: the manager that holds the group
 * @owner: a cookie for the user, e.g. the address space its devices DMA to
 *
 * A group's devices may reach each other, so only one user at a time may
 * have any of them, even where the group spans several iommu groups.  The
 * first call sets @owner; later calls with the same @owner are counted,
 * and each is undone with isolation_group_clear_owner().
 *
 * Context: process context, may sleep.
 * Return: 0; -EBUSY, logged, if the group is not locked under @mgr or
 * another owner has it.
 */
int isolation_group_set_owner(struct isolation_group *group,
			      struct isolation_manager *mgr, const void *owner)
{
	int ret;

	mutex_lock(&group->mutex);
	ret = __isolation_group_check_locked(group, mgr);
	if (!ret && group->owner_cnt && group->owner != owner) {
		pr_info_ratelimited("group %d is in use by another user of %s\n",
				    group->id, mgr->name);
		ret = -EBUSY;
	}
	if (!ret) {
		group->owner = owner;
		group->owner_cnt++;
	}
	mutex_unlock(&group->mutex);
	return ret;
}
EXPORT_SYMBOL_GPL(isolation_group_set_owner);

/**
 * isolation_group_clear_owner - undo isolation_group_set_owner()
 * @group: the group; the caller holds a reference
 * @mgr: the manager that holds the group
 * @owner: the cookie given to isolation_group_set_owner(); nothing happens
 *	   if it does not own the group
 *
 * Context: process context, may sleep.
 */
void isolation_group_clear_owner(struct isolation_group *group,
				 struct isolation_manager *mgr,
				 const void *owner)
{
	mutex_lock(&group->mutex);
	if (group->manager == mgr && group->owner_cnt &&
	    group->owner == owner && !--group->owner_cnt)
		group->owner = NULL;
	mutex_unlock(&group->mutex);
}
EXPORT_SYMBOL_GPL(isolation_group_clear_owner);

/* --- driver-core hooks --------------------------------------------------- */

static void isolation_log_refusal(struct device *dev,
				  const struct device_driver *drv,
				  struct isolation_group *group,
				  struct isolation_manager *mgr)
{
	dev_info(dev, "not binding driver %s: isolation group %d is held by %s\n",
		 drv->name, group->id, mgr->name);
}

/*
 * The match filter, from driver_match_device(): a device in a group that a
 * manager holds only matches the manager's drivers and compatible drivers.
 * It may run without the device lock, so it is only a filter: the binding
 * is checked again where it is committed, in isolation_device_bind().
 */
bool __isolation_driver_allowed(struct device *dev,
				const struct device_driver *drv)
{
	struct isolation_group *group;
	struct isolation_manager *mgr;
	bool allowed;

	/* Most grouped devices are in unmanaged groups: no lock for them. */
	rcu_read_lock();
	group = READ_ONCE(dev->isolation_group);
	allowed = !group || !READ_ONCE(group->manager);
	rcu_read_unlock();
	if (allowed)
		return true;

	group = isolation_group_get_from_dev(dev);
	if (!group)
		return true;
	mutex_lock(&group->mutex);
	mgr = group->manager;
	allowed = !mgr || !isolation_driver_foreign(mgr, drv);
	if (!allowed)
		isolation_log_refusal(dev, drv, group, mgr);
	mutex_unlock(&group->mutex);
	isolation_group_put(group);
	return allowed;
}

/*
 * Called from really_probe() and device_bind_driver(), with the device lock
 * held, before dev->driver is set: refuse a foreign driver, or record the
 * binding.  A foreign driver cannot pass between the match and this point,
 * because a manager is set under the group mutex taken here too.
 */
int isolation_device_bind(struct device *dev, const struct device_driver *drv)
{
	struct isolation_group *group = dev->isolation_group;
	struct isolation_member *member;
	int ret = 0;

	if (!group)
		return 0;
	device_lock_assert(dev);

	mutex_lock(&group->mutex);
	if (group->manager && isolation_driver_foreign(group->manager, drv)) {
		isolation_log_refusal(dev, drv, group, group->manager);
		ret = -EBUSY;
	} else {
		member = isolation_group_find_member(group, dev);
		isolation_member_set_driver(group, member, drv);
	}
	mutex_unlock(&group->mutex);
	return ret;
}

/*
 * Called from device_unbind_cleanup() with the device lock held, whenever
 * dev->driver goes back to NULL: after a failed probe or an unbind.
 */
void isolation_device_unbind(struct device *dev)
{
	struct isolation_group *group = dev->isolation_group;
	struct isolation_member *member;
	enum isolation_group_state old;

	if (!group)
		return;
	device_lock_assert(dev);

	mutex_lock(&group->mutex);
	old = __isolation_group_state(group);
	member = isolation_group_find_member(group, dev);
	isolation_member_set_driver(group, member, NULL);
	isolation_group_changed(group, old, group->manager);
	mutex_unlock(&group->mutex);
}

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

/* --- claim and release --------------------------------------------------- */

/*
 * A claim or release works on a snapshot of the members, each with a
 * reference, taken while the group is marked busy: no lock is held while
 * drivers are unbound and probed, and a second claim or release of the
 * same group fails with -EBUSY instead of interleaving.
 */
struct isolation_snapshot {
	unsigned int n;
	struct {
		struct device *dev;
		bool unbound;		/* we unbound its host driver */
		bool claimed;		/* we bound it to a manager driver */
	} m[];
};

static struct isolation_snapshot *isolation_group_begin(struct isolation_group *group)
{
	struct isolation_snapshot *snap = ERR_PTR(-EBUSY);
	struct isolation_member *member;
	unsigned int n = 0;

	mutex_lock(&group->mutex);
	if (group->busy)
		goto out;
	list_for_each_entry(member, &group->devices, list)
		n++;
	snap = kzalloc(struct_size(snap, m, n), GFP_KERNEL);
	if (!snap) {
		snap = ERR_PTR(-ENOMEM);
		goto out;
	}
	list_for_each_entry(member, &group->devices, list)
		snap->m[snap->n++].dev = get_device(member->dev);
	group->busy = true;
out:
	mutex_unlock(&group->mutex);
	return snap;
}

static void isolation_group_end(struct isolation_group *group,
				struct isolation_snapshot *snap)
{
	unsigned int i;

	mutex_lock(&group->mutex);
	group->busy = false;
	mutex_unlock(&group->mutex);
	for (i = 0; i < snap->n; i++)
		put_device(snap->m[i].dev);
	kfree(snap);
}

/*
 * Whether @dev is still a live member of @group: a member of the snapshot
 * may have been deleted, or left the group, since.  Device lock held.
 */
static bool isolation_still_member(struct isolation_group *group,
				   struct device *dev)
{
	device_lock_assert(dev);
	return dev->isolation_group == group && !dev->p->dead;
}

/*
 * The driver of a live member of @group, if @wanted says it is one to
 * unbind, else NULL; logged as @what.  Decided under the device lock, and
 * the caller unbinds it with device_release_driver_internal(), which does
 * nothing if the driver changed meanwhile.
 */
static const struct device_driver *
isolation_driver_to_unbind(struct isolation_group *group,
			   struct isolation_manager *mgr, struct device *dev,
			   bool (*wanted)(struct isolation_manager *mgr,
					  const struct device_driver *drv),
			   const char *what)
{
	const struct device_driver *drv;

	device_lock(dev);
	drv = dev->driver;
	if (!isolation_still_member(group, dev) || !drv || !wanted(mgr, drv))
		drv = NULL;
	else
		dev_info(dev, "isolation group %d: unbinding %s (%s)\n",
			 group->id, drv->name, what);
	device_unlock(dev);
	return drv;
}

static void isolation_release_manager_driver(struct isolation_group *group,
					     struct isolation_manager *mgr,
					     struct device *dev)
{
	const struct device_driver *drv;
	bool member;

	drv = isolation_driver_to_unbind(group, mgr, dev,
					 isolation_manager_owns, "release");
	if (drv)
		device_release_driver_internal(dev, drv, dev->parent);

	device_lock(dev);
	member = isolation_still_member(group, dev);
	device_unlock(dev);
	if (member && mgr->ops->release_device)
		mgr->ops->release_device(mgr, dev);
}

/* Whether a claim could unbind @dev's foreign driver, if it has one. */
static int isolation_check_unbind(struct isolation_group *group,
				  struct isolation_manager *mgr,
				  struct device *dev)
{
	const struct device_driver *drv;
	int ret = 0;

	device_lock(dev);
	drv = dev->driver;
	if (isolation_still_member(group, dev) && drv &&
	    isolation_driver_foreign(mgr, drv) && drv->suppress_bind_attrs) {
		dev_err(dev, "isolation group %d: cannot claim for %s: driver %s cannot be unbound\n",
			group->id, mgr->name, drv->name);
		ret = -EBUSY;
	}
	device_unlock(dev);
	return ret;
}

/* Unbind a foreign driver from @dev for a claim; true if it did. */
static bool isolation_unbind_foreign(struct isolation_group *group,
				     struct isolation_manager *mgr,
				     struct device *dev)
{
	const struct device_driver *drv;

	drv = isolation_driver_to_unbind(group, mgr, dev,
					 isolation_driver_foreign, mgr->name);
	if (drv)
		device_release_driver_internal(dev, drv, dev->parent);
	return drv;
}

/* Bind a live member without a driver to one of the manager's drivers. */
static int isolation_claim_device(struct isolation_group *group,
				  struct isolation_manager *mgr,
				  struct device *dev)
{
	bool wanted;
	int ret;

	if (!mgr->ops->claim_device)
		return 0;
	device_lock(dev);
	wanted = isolation_still_member(group, dev) && !dev->driver;
	device_unlock(dev);
	if (!wanted)
		return 0;

	ret = mgr->ops->claim_device(mgr, dev);
	if (ret < 0) {
		dev_err(dev, "isolation group %d: %s could not take the device: %d\n",
			group->id, mgr->name, ret);
		return ret;
	}
	return 1;
}

/*
 * Take the claim's hold on @group for @mgr: one, however many claims.
 * *@took says whether this claim took it, for its rollback to drop.
 */
static int isolation_group_hold_claim(struct isolation_group *group,
				      struct isolation_manager *mgr, bool *took)
{
	int ret = 0;

	*took = false;
	mutex_lock(&group->mutex);
	if (!group->claimed || group->manager != mgr) {
		ret = __isolation_group_set_manager(group, mgr);
		if (!ret)
			group->claimed = *took = true;
	}
	mutex_unlock(&group->mutex);
	return ret;
}

/* Drop the claim's hold, if @mgr has one on @group. */
static void isolation_group_drop_claim(struct isolation_group *group,
				       struct isolation_manager *mgr)
{
	bool claimed;

	mutex_lock(&group->mutex);
	claimed = group->claimed && group->manager == mgr;
	group->claimed &= !claimed;
	mutex_unlock(&group->mutex);
	if (claimed)
		isolation_group_clear_manager(group, mgr);
}

/**
 * isolation_group_claim - take a group for a manager, in one step
 * @group: the group; the caller holds a reference
 * @mgr: a registered manager
 *
 * Takes a hold on the group for @mgr (one, however many claims), unbinds
 * every foreign driver, and asks the manager to bind each device left
 * without a driver (&isolation_manager_ops.claim_device).  Compatible
 * drivers stay.  On success the group is locked, and stays with @mgr until
 * isolation_group_release().
 *
 * Refusals that need no change (another manager, a driver that cannot be
 * unbound) come first and change nothing.  If the manager then fails, the
 * claim is undone: the manager's drivers bound here are unbound, the hold
 * taken here is dropped and, if that lets the group go, the devices
 * unbound here probe their host drivers again.  A group that the manager
 * still holds otherwise stays with it: host drivers cannot bind meanwhile.
 *
 * Context: process context, may sleep.  Must not be called with any device
 * lock held.
 * Return: 0; -EBUSY if another manager holds the group, a claim or release
 * is running, a driver cannot be unbound or a device joined on a foreign
 * driver meanwhile; -ENODEV if @mgr is not registered; an error from the
 * manager; -ENOMEM.
 */
int isolation_group_claim(struct isolation_group *group,
			  struct isolation_manager *mgr)
{
	struct isolation_snapshot *snap;
	unsigned int i;
	bool took;
	int ret;

	snap = isolation_group_begin(group);
	if (IS_ERR(snap))
		return PTR_ERR(snap);

	for (i = 0; i < snap->n; i++) {
		ret = isolation_check_unbind(group, mgr, snap->m[i].dev);
		if (ret)
			goto out;
	}
	ret = isolation_group_hold_claim(group, mgr, &took);
	if (ret)
		goto out;

	for (i = 0; i < snap->n; i++)
		snap->m[i].unbound = isolation_unbind_foreign(group, mgr,
							      snap->m[i].dev);
	for (i = 0; i < snap->n; i++) {
		ret = isolation_claim_device(group, mgr, snap->m[i].dev);
		if (ret < 0)
			goto rollback;
		snap->m[i].claimed = ret;
	}
	ret = isolation_group_check_locked(group, mgr);
	if (!ret)
		goto out;

rollback:
	for (i = 0; i < snap->n; i++)
		if (snap->m[i].claimed)
			isolation_release_manager_driver(group, mgr,
							 snap->m[i].dev);
	if (took)
		isolation_group_drop_claim(group, mgr);
	/* Host drivers are refused while the group is still held. */
	if (isolation_group_state(group) == ISOLATION_GROUP_UNMANAGED) {
		for (i = 0; i < snap->n; i++)
			if (snap->m[i].unbound &&
			    device_attach(snap->m[i].dev) < 0)
				dev_err(snap->m[i].dev, "isolation group %d: host driver did not probe again\n",
					group->id);
	}
out:
	isolation_group_end(group, snap);
	return ret;
}
EXPORT_SYMBOL_GPL(isolation_group_claim);

/**
 * isolation_group_release - give a group back to host drivers, in one step
 * @group: the group; the caller holds a reference
 * @mgr: the manager that holds it
 *
 * Unbinds the manager's drivers (compatible drivers stay), lets the
 * manager undo its per-device setup (&isolation_manager_ops.release_device)
 * and drops the hold of isolation_group_claim().  A manager that holds the
 * group for its drivers' devices, as VFIO does, drops those holds as the
 * drivers unbind; once no hold is left, the group is unmanaged and host
 * drivers probe its devices.
 *
 * Context: process context, may sleep.  Must not be called with any device
 * lock held.
 * Return: 0; -EINVAL if @mgr does not hold the group; -EBUSY if a claim or
 * release is running, or if @mgr still holds the group for another user
 * once its drivers are unbound (the devices then stay without a driver);
 * -ENOMEM.
 */
int isolation_group_release(struct isolation_group *group,
			    struct isolation_manager *mgr)
{
	struct isolation_snapshot *snap;
	unsigned int i, holds = 0;
	int ret = 0;

	snap = isolation_group_begin(group);
	if (IS_ERR(snap))
		return PTR_ERR(snap);

	mutex_lock(&group->mutex);
	if (group->manager != mgr)
		ret = -EINVAL;
	mutex_unlock(&group->mutex);
	if (ret)
		goto out;

	for (i = 0; i < snap->n; i++)
		isolation_release_manager_driver(group, mgr, snap->m[i].dev);
	isolation_group_drop_claim(group, mgr);

	mutex_lock(&group->mutex);
	if (group->manager == mgr)
		holds = group->holds;
	mutex_unlock(&group->mutex);
	if (holds) {
		pr_info("group %d: still held by %s (%u holds): host drivers cannot probe\n",
			group->id, mgr->name, holds);
		ret = -EBUSY;
		goto out;
	}
	for (i = 0; i < snap->n; i++) {
		/* Drivers that stayed (compatible ones) are left alone. */
		if (device_attach(snap->m[i].dev) < 0)
			dev_err(snap->m[i].dev, "isolation group %d: host driver did not probe\n",
				group->id);
	}
out:
	isolation_group_end(group, snap);
	return ret;
}
EXPORT_SYMBOL_GPL(isolation_group_release);

/* --- sysfs --------------------------------------------------------------- */

struct isolation_group_attribute {
	struct attribute attr;
	ssize_t (*show)(struct isolation_group *group, char *buf);
	ssize_t (*store)(struct isolation_group *group, const char *buf,
			 size_t count);
};

#define to_isolation_group_attr(a) \
	container_of(a, struct isolation_group_attribute, attr)

static ssize_t isolation_group_attr_show(struct kobject *kobj,
					 struct attribute *attr, char *buf)
{
	struct isolation_group_attribute *ga = to_isolation_group_attr(attr);

	return ga->show ? ga->show(to_isolation_group(kobj), buf) : -EIO;
}

static ssize_t isolation_group_attr_store(struct kobject *kobj,
					  struct attribute *attr,
					  const char *buf, size_t count)
{
	struct isolation_group_attribute *ga = to_isolation_group_attr(attr);

	return ga->store ? ga->store(to_isolation_group(kobj), buf, count) :
			   -EIO;
}

static const struct sysfs_ops isolation_group_sysfs_ops = {
	.show = isolation_group_attr_show,
	.store = isolation_group_attr_store,
};

static ssize_t provider_show(struct isolation_group *group, char *buf)
{
	ssize_t ret;

	mutex_lock(&isolation_lock);
	ret = sysfs_emit(buf, "%s\n",
			 group->provider ? group->provider->name : "");
	mutex_unlock(&isolation_lock);
	return ret;
}

static ssize_t manager_show(struct isolation_group *group, char *buf)
{
	ssize_t ret;

	mutex_lock(&group->mutex);
	ret = sysfs_emit(buf, "%s\n",
			 group->manager ? group->manager->name : "");
	mutex_unlock(&group->mutex);
	return ret;
}

/* The manager holding the group, with its module pinned, or NULL. */
static struct isolation_manager *
isolation_group_manager_get(struct isolation_group *group)
{
	struct isolation_manager *mgr;

	mutex_lock(&group->mutex);
	mgr = group->manager;
	if (mgr && !try_module_get(mgr->owner))
		mgr = NULL;
	mutex_unlock(&group->mutex);
	return mgr;
}

static struct isolation_group_attribute isolation_group_attr_manager;

/*
 * Write a manager's name to claim the group for it in one step; write an
 * empty line to release the group from whichever manager holds it.
 */
static int isolation_group_write_manager(struct isolation_group *group,
					 const char *name)
{
	struct isolation_manager *mgr;
	int ret;

	if (!*name) {
		mgr = isolation_group_manager_get(group);
		if (!mgr)
			return 0;
		ret = isolation_group_release(group, mgr);
	} else {
		mgr = isolation_manager_find_get(name);
		if (!mgr) {
			pr_info("group %d: no manager named %s\n", group->id,
				name);
			return -ENODEV;
		}
		ret = isolation_group_claim(group, mgr);
		if (ret)
			pr_info("group %d: claim for %s failed: %d\n",
				group->id, name, ret);
	}
	module_put(mgr->owner);
	return ret;
}

static ssize_t manager_store(struct isolation_group *group, const char *buf,
			     size_t count)
{
	char name[ISOLATION_MANAGER_NAME_MAX + 2];
	struct kernfs_node *kn;
	const char *p;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (count > ISOLATION_MANAGER_NAME_MAX + 1)
		return -EINVAL;
	memcpy(name, buf, count);
	name[count] = '\0';
	if (count && name[count - 1] == '\n')
		name[count - 1] = '\0';
	for (p = name; *p; p++)
		if (!isalnum(*p) && *p != '-' && *p != '_')
			return -EINVAL;

	/* The group may lose its last other user while we work. */
	if (!kref_get_unless_zero(&group->users))
		return -ENODEV;
	ret = isolation_group_write_manager(group, name);
	/*
	 * Our put may be the last, which removes this very file: let it go
	 * without waiting for this write to end.
	 */
	kn = sysfs_break_active_protection(&group->kobj,
					   &isolation_group_attr_manager.attr);
	isolation_group_put(group);
	if (kn)
		sysfs_unbreak_active_protection(kn);
	return ret ?: count;
}

static ssize_t state_show(struct isolation_group *group, char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  isolation_state_names[isolation_group_state(group)]);
}

/* Whether @drv belongs to any registered manager. */
static bool isolation_driver_managed(const struct device_driver *drv)
{
	struct isolation_manager_driver *md;
	struct isolation_manager *mgr;
	bool ret = false;

	mutex_lock(&isolation_lock);
	list_for_each_entry(mgr, &isolation_managers, node)
		list_for_each_entry(md, &mgr->drivers, node)
			if (md->drv == drv)
				ret = true;
	mutex_unlock(&isolation_lock);
	return ret;
}

/*
 * The members that keep the group from locking: with a manager, those on
 * foreign drivers; without one, those on drivers that no manager owns and
 * that are not compatible, i.e. what a claim would have to unbind.
 */
static ssize_t blockers_show(struct isolation_group *group, char *buf)
{
	struct isolation_member *member;
	const struct device_driver *drv;
	bool blocks;
	int len = 0;

	mutex_lock(&group->mutex);
	list_for_each_entry(member, &group->devices, list) {
		drv = member->driver;
		if (group->manager)
			blocks = isolation_driver_foreign(group->manager, drv);
		else
			blocks = drv && !drv->isolation_compatible &&
				 !isolation_driver_managed(drv);
		if (blocks)
			len += sysfs_emit_at(buf, len, "%s %s\n",
					     dev_name(member->dev), drv->name);
	}
	mutex_unlock(&group->mutex);
	return len;
}

static ssize_t reason_show(struct isolation_group *group, char *buf)
{
	struct isolation_member *member;
	int len = 0;

	mutex_lock(&group->mutex);
	list_for_each_entry(member, &group->devices, list)
		len += sysfs_emit_at(buf, len, "%s %s\n",
				     dev_name(member->dev), member->reason);
	mutex_unlock(&group->mutex);
	return len;
}

#define ISOLATION_GROUP_ATTR(_name, _mode)				\
	static struct isolation_group_attribute isolation_group_attr_##_name = \
		__ATTR(_name, _mode, _name##_show, NULL)

ISOLATION_GROUP_ATTR(provider, 0444);
ISOLATION_GROUP_ATTR(state, 0444);
ISOLATION_GROUP_ATTR(blockers, 0444);
ISOLATION_GROUP_ATTR(reason, 0444);
static struct isolation_group_attribute isolation_group_attr_manager =
	__ATTR(manager, 0644, manager_show, manager_store);

static struct attribute *isolation_group_attrs[] = {
	&isolation_group_attr_provider.attr,
	&isolation_group_attr_manager.attr,
	&isolation_group_attr_state.attr,
	&isolation_group_attr_blockers.attr,
	&isolation_group_attr_reason.attr,
	NULL
};
ATTRIBUTE_GROUPS(isolation_group);

static const struct kobj_type isolation_group_ktype = {
	.sysfs_ops = &isolation_group_sysfs_ops,
	.default_groups = isolation_group_groups,
	.release = isolation_group_kobj_release,
};

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
