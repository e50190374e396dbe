// SPDX-License-Identifier: GPL-2.0
/*
 * Device isolation groups: the sets of devices that an IOMMU cannot isolate
 * from each other, and the managers (VFIO) that take them whole.  What they
 * are for, what the states mean and how providers and managers use them is
 * in Documentation/driver-api/isolation.rst; this comment says how the code
 * keeps them.
 *
 * A group's state is derived, never stored: "unmanaged" without a manager,
 * else "locked" while group->foreign, the number of members bound to a
 * driver that is neither the manager's nor compatible, is zero, else
 * "managed".  A manager holds a group while a member is bound to one of its
 * drivers (group->bound counts them) or while it has an explicit hold
 * (group->holds: a claim from userspace).  The first hold makes it the
 * group's manager, the last lets the group go.  Both counts move only where
 * a binding is committed or undone (isolation_device_bind(),
 * isolation_device_unbind(), under the device lock), where members come and
 * go, and where the manager or its drivers change, each time through
 * isolation_member_set_driver(), so asking for the state costs no walk.
 *
 * A device that a hold turned away (the match filter or
 * isolation_device_bind() refused it a driver) is marked so
 * (dev->p->isolation_refused) until a driver binds or a binding it had
 * goes, and when the group is let go, the marked members still without a
 * driver go on the driver core's deferred-probe list, which is probed
 * again: a group handed back one device at a time ends with each on its
 * host driver.  A device nobody asked a driver for (unbound by hand, or
 * steered to none by its driver_override) stays as it is.
 *
 * A reservation names a device and a manager.  A group with a member that
 * a reservation names is reserved (group->reserved): the manager holds it
 * with a claim's hold from the moment the device joins, or, while that
 * manager is not registered, the group waits for it on
 * isolation_waiting_groups, in state "reserved", where only compatible
 * drivers bind.  A manager that registers takes the groups waiting for it;
 * one that goes leaves its reserved groups waiting again.
 *
 * Locking, from the outside in:
 *
 *   isolation_manager_lock > device_lock(dev) > group->mutex > isolation_lock
 *
 * isolation_manager_lock serialises changes to a manager's drivers and its
 * unregistration, which judge the members of its groups anew.  group->mutex
 * protects the group's members, what each is bound to, the manager, the
 * holds, the counts and the owner.  dev->isolation_group changes only with
 * the device lock and then the group's mutex held, so whoever holds either
 * reads a stable value; others use isolation_group_get_from_dev().
 * isolation_lock protects the registries: the providers and their groups,
 * the managers and their groups and drivers, the reservations and the
 * groups waiting for their manager; nothing is taken under it.  The
 * driver core's deferred-probe lock is taken under group->mutex, to hand
 * it the devices a group turned away (isolation_group_reprobe()).
 * The managers and their drivers are also read under RCU, so that matching
 * takes no lock.  Matching first reads two hints that need no lock either:
 * the static key isolation_match_filter, on while any group has a manager
 * or is reserved (group->filtering), and dev->p->isolation_group_held,
 * which isolation_member_set_driver() keeps equal to group->filtering; a
 * device in an unmanaged group is then matched as one in no group.  No
 * lock of this file is held while calling into the driver core to bind or
 * unbind: claims and releases mark the group busy instead.
 *
 * Lifetime: group->users counts the provider's reference from
 * isolation_group_alloc() and one per member; a manager's hold takes none,
 * so a group whose members and provider are gone is gone, held or not.
 * The last put takes the group out of sysfs and out of the registries at
 * once, under isolation_lock (kref_put_mutex()), so a registry walk never
 * meets a dying group; the memory goes with the kobject's last reference,
 * after an RCU grace period for the lockless readers of
 * dev->isolation_group.  A device leaves its group at the latest in
 * device_del().
 *
 * A device that a provider could not place is marked so
 * (dev->p->isolation_unplaced, counted in isolation_unplaced_devices, both
 * under isolation_lock) until it joins a group or is deleted, so that the
 * provider can find it again when the groups it belongs in appear.
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
#include <linux/jump_label.h>
#include <linux/kmod.h>
#include <linux/kobject.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rculist.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "base.h"

/* The longest name a manager may register with. */
#define ISOLATION_MANAGER_NAME_MAX	32

struct isolation_group {
	struct kobject kobj;
	struct kobject *devices_kobj;
	struct kref users;
	struct rcu_head rcu;
	int id;

	struct mutex mutex;		/* see "Locking" above */
	struct list_head devices;	/* of struct isolation_member */
	struct isolation_manager *manager;
	unsigned int holds;		/* the manager's explicit holds */
	bool claimed;			/* one of them is a claim's */
	unsigned int bound;		/* members on the manager's drivers */
	unsigned int foreign;		/* members on foreign drivers */
	const void *owner;		/* the manager's user of the devices */
	unsigned int owner_cnt;
	bool busy;			/* a claim or release is running */
	bool incomplete;		/* a device that belongs in it is not */
	bool reserved;			/* a reservation names a member */
	char reserved_for[ISOLATION_MANAGER_NAME_MAX + 1];
	bool filtering;			/* counted in isolation_match_filter */
	/* The last refusal logged, so that a repeated one is not. */
	const struct device *refused_dev;
	const struct device_driver *refused_drv;

	/* isolation_lock */
	struct isolation_provider *provider;	/* NULL once unregistered */
	struct list_head provider_node;
	/* On its manager's groups, on isolation_waiting_groups, or alone. */
	struct list_head manager_node;
};

struct isolation_member {
	struct list_head list;
	struct device *dev;
	/* The driver the device is bound to, as the bind hooks saw it. */
	const struct device_driver *driver;
	bool held;			/* counted in group->bound */
	bool foreign;			/* counted in group->foreign */
	/* The manager set the device up, which release_device undoes. */
	bool prepared;
	char *link_name;		/* the member's name in devices/ */
	char *reason;
	/* The device's isolation_reason file. */
	struct device_attribute reason_attr;
};

struct isolation_manager_driver {
	struct list_head node;
	const struct device_driver *drv;
	struct rcu_head rcu;
};

/* A device, by its bus and name, whose group is held for a manager. */
struct isolation_reservation {
	struct list_head node;
	const struct bus_type *bus;
	char *name;
	char manager[ISOLATION_MANAGER_NAME_MAX + 1];
	bool boot;			/* from the kernel command line */
	bool found;			/* a device it names has been placed */
	/*
	 * The group it holds, set as it is applied and cleared as the group
	 * goes (isolation_lock; no reference): it holds the group while the
	 * device is away, removed on its own.
	 */
	struct isolation_group *group;
};

#define ISOLATION_GROUP_LINK	"isolation_group"
#define ISOLATION_REASON_FILE	"isolation_reason"

/* A bound on renames when two members share a name (different buses). */
#define ISOLATION_MAX_LINK_RETRIES	64

static DEFINE_MUTEX(isolation_manager_lock);
static DEFINE_MUTEX(isolation_lock);
static LIST_HEAD(isolation_providers);
static LIST_HEAD(isolation_managers);
static LIST_HEAD(isolation_reservations);
/*
 * Reservations of the kernel command line that no bus has taken yet: their
 * bus is NULL and their name as written.  A bus that registers takes those
 * that name its devices; the end of boot drops and logs the others.
 */
static LIST_HEAD(isolation_pending_reservations);
/* Of struct isolation_bus; their parse_name() runs under isolation_lock. */
static LIST_HEAD(isolation_buses);
static LIST_HEAD(isolation_waiting_groups);
static struct kset *isolation_groups_kset;
static DEFINE_IDA(isolation_group_ida);
/* The devices marked dev->p->isolation_unplaced; isolation_lock. */
static unsigned int isolation_unplaced_devices;

/*
 * On while a group has a manager or is reserved, of which it keeps the
 * count: otherwise driver_match_device() skips the isolation filter
 * altogether.
 */
DEFINE_STATIC_KEY_FALSE(isolation_match_filter);
EXPORT_SYMBOL_IF_KUNIT(isolation_match_filter);

static const char * const isolation_state_names[] = {
	[ISOLATION_GROUP_UNMANAGED] = "unmanaged",
	[ISOLATION_GROUP_RESERVED] = "reserved",
	[ISOLATION_GROUP_MANAGED] = "managed",
	[ISOLATION_GROUP_LOCKED] = "locked",
};

#define to_isolation_group(k) container_of(k, struct isolation_group, kobj)

/**
 * isolation_manager_owns - whether a driver is one of a manager's drivers
 * @mgr: a registered manager
 * @drv: a driver
 *
 * Context: any; takes no lock.
 * Return: true if @drv was added with isolation_manager_add_driver() and
 * not removed since.
 */
bool isolation_manager_owns(struct isolation_manager *mgr,
			    const struct device_driver *drv)
{
	struct isolation_manager_driver *md;
	bool ret = false;

	rcu_read_lock();
	list_for_each_entry_rcu(md, &mgr->drivers, node) {
		if (md->drv == drv) {
			ret = true;
			break;
		}
	}
	rcu_read_unlock();
	return ret;
}
EXPORT_SYMBOL_GPL(isolation_manager_owns);

/* The registered manager @drv belongs to, or NULL. */
static struct isolation_manager *
isolation_driver_manager(const struct device_driver *drv)
{
	struct isolation_manager *mgr;

	list_for_each_entry_rcu(mgr, &isolation_managers, node,
				lockdep_is_held(&isolation_lock))
		if (isolation_manager_owns(mgr, drv))
			return mgr;
	return NULL;
}

/*
 * Whether @drv may bind in any manager's group: it does no DMA through the
 * kernel's DMA API (driver_managed_dma, as DMA ownership reads it) and is
 * no manager's own driver.  A manager's drivers set the flag too, since
 * they hand DMA to the manager's users; in another manager's group they
 * are as foreign as any host driver.
 */
static bool isolation_driver_compatible(const struct device_driver *drv)
{
	bool ret;

	if (!drv->driver_managed_dma)
		return false;
	rcu_read_lock();
	ret = !isolation_driver_manager(drv);
	rcu_read_unlock();
	return ret;
}

/* Whether a device bound to @drv keeps a group held by @mgr from locking. */
static bool isolation_driver_foreign(struct isolation_manager *mgr,
				     const struct device_driver *drv)
{
	return drv && !isolation_manager_owns(mgr, drv) &&
	       !isolation_driver_compatible(drv);
}

/*
 * Whether a device bound to @drv is refused in a group, or keeps it from
 * locking: one with manager @mgr, or, with @mgr NULL, one @reserved for a
 * manager that has not registered, where only compatible drivers bind.
 */
static bool isolation_driver_refused(struct isolation_manager *mgr,
				     bool reserved,
				     const struct device_driver *drv)
{
	if (mgr)
		return isolation_driver_foreign(mgr, drv);
	return reserved && drv && !isolation_driver_compatible(drv);
}

static enum isolation_state
__isolation_group_state(struct isolation_group *group)
{
	lockdep_assert_held(&group->mutex);

	if (!group->manager)
		return group->reserved ? ISOLATION_GROUP_RESERVED :
					 ISOLATION_GROUP_UNMANAGED;
	if (group->foreign || group->incomplete)
		return ISOLATION_GROUP_MANAGED;
	return ISOLATION_GROUP_LOCKED;
}

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
					     enum isolation_state state)
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
 * @dev joined group @id, or left its group (@id < 0), after its "add"
 * uevent: tell userspace again, now that its isolation_group link and
 * isolation_reason are there or gone, so that a udev rule run on the event
 * reads them.  A device placed before its "add" (an IOMMU that probes it
 * as it is added to its bus) needs none, nor one that device_del() takes
 * out.  The caller holds the device lock.  The KUnit suite stubs the
 * sending.
 */
VISIBLE_IF_KUNIT void isolation_device_uevent(struct device *dev, int id)
{
	char env[32] = "ISOLATION_GROUP=";
	char *envp[2] = { env, NULL };

	/*
	 * device_add() sets the flag without the device lock: at worst a
	 * device placed as its "add" goes out gets both events.
	 */
	if (!data_race(!!dev->kobj.state_add_uevent_sent) || dev->p->dead)
		return;
	KUNIT_STATIC_STUB_REDIRECT(isolation_device_uevent, dev, id);
	if (id >= 0)
		snprintf(env, sizeof(env), "ISOLATION_GROUP=%d", id);
	kobject_uevent_env(&dev->kobj, KOBJ_CHANGE, envp);
}
EXPORT_SYMBOL_IF_KUNIT(isolation_device_uevent);

/*
 * Tell userspace and the manager if the state moved from @old.  @old_mgr
 * is the manager before the change: the one to tell when it let go.
 */
static void isolation_group_changed(struct isolation_group *group,
				    enum isolation_state old,
				    struct isolation_manager *old_mgr)
{
	enum isolation_state new = __isolation_group_state(group);
	struct isolation_manager *mgr = group->manager ?: old_mgr;

	if (new == old)
		return;

	pr_debug("group %d: %s -> %s\n", group->id, isolation_state_names[old],
		 isolation_state_names[new]);
	WRITE_ONCE(group->refused_dev, NULL);
	isolation_group_uevent(group, new);

	if (new == ISOLATION_GROUP_LOCKED)
		isolation_notify(mgr, group, NULL, ISOLATION_EVENT_LOCKED);
	else if (old == ISOLATION_GROUP_LOCKED)
		isolation_notify(mgr, group, NULL, ISOLATION_EVENT_UNLOCKED);
}

/*
 * Record @drv as @member's driver, and keep the group's counts: a member
 * bound to one of the manager's drivers holds the group, one bound to a
 * driver that is neither the manager's nor compatible is foreign, and so
 * is one bound to a driver that is not compatible in a reserved group that
 * waits for its manager.  Every change of a member's driver, of the
 * manager, of the manager's drivers or of the reservation comes through
 * here, so the counts never drift from the flags, nor the device's
 * isolation_group_held hint from group->filtering.
 */
static void isolation_member_set_driver(struct isolation_group *group,
					struct isolation_member *member,
					const struct device_driver *drv)
{
	struct isolation_manager *mgr = group->manager;
	bool held = mgr && drv && isolation_manager_owns(mgr, drv);
	bool foreign = !held &&
		       isolation_driver_refused(mgr, group->reserved, drv);

	lockdep_assert_held(&group->mutex);

	WRITE_ONCE(member->dev->p->isolation_group_held, group->filtering);
	if (held && !member->held)
		group->bound++;
	else if (!held && member->held)
		group->bound--;
	if (foreign && !member->foreign)
		group->foreign++;
	else if (!foreign && member->foreign)
		group->foreign--;
	member->held = held;
	member->foreign = foreign;
	member->driver = drv;
	/* A driver bound: the device is no longer waiting for one. */
	if (drv)
		WRITE_ONCE(member->dev->p->isolation_refused, false);
}

/* Judge every member anew: the manager or its drivers changed. */
static void isolation_group_recount(struct isolation_group *group)
{
	struct isolation_member *member;

	list_for_each_entry(member, &group->devices, list)
		isolation_member_set_driver(group, member, member->driver);
}

/* Whether a hold turned @member away, and it still has no driver. */
static bool isolation_member_turned_away(struct isolation_member *member)
{
	return !member->driver &&
	       READ_ONCE(member->dev->p->isolation_refused);
}

/*
 * @group is let go: put each member that its hold turned away, and that is
 * still without a driver, on the driver core's deferred-probe list, and
 * have that list probed, as a driver that binds does for deferred devices:
 * outside every lock, in a work item (not in async context, where a probe
 * that loads a module would wait for itself), and wait_for_device_probe()
 * waits for it.  The probe meets the group as it is then: a group held
 * again turns the device away again, and marks it again.
 */
static void isolation_group_reprobe(struct isolation_group *group)
{
	struct isolation_member *member;
	bool any = false;

	lockdep_assert_held(&group->mutex);

	/*
	 * Pairs with __isolation_driver_allowed(), which marks a device it
	 * refuses before it reads the group again: either the mark is seen
	 * here, or the filter sees the group let go and refuses nothing.
	 */
	smp_mb();
	list_for_each_entry(member, &group->devices, list) {
		if (!isolation_member_turned_away(member))
			continue;
		WRITE_ONCE(member->dev->p->isolation_refused, false);
		/* A driver matched it, as for a match that asked to defer. */
		member->dev->can_match = true;
		driver_deferred_probe_add(member->dev);
		any = true;
	}
	if (any)
		driver_deferred_probe_trigger();
}

/*
 * The manager or the reservation changed: count the group in
 * isolation_match_filter while it has either, before its members' hints
 * say so and after they stop saying so, and judge its members anew.  A
 * group let go probes the members its hold turned away.
 */
static void isolation_group_refilter(struct isolation_group *group)
{
	bool filtering = group->manager || group->reserved;
	bool was = group->filtering;

	lockdep_assert_held(&group->mutex);

	if (filtering && !was)
		static_branch_inc(&isolation_match_filter);
	group->filtering = filtering;
	isolation_group_recount(group);
	if (!filtering && was) {
		static_branch_dec(&isolation_match_filter);
		isolation_group_reprobe(group);
	}
}

/* Make @mgr, which has just put @group on its list, the group's manager. */
static void __isolation_group_take(struct isolation_group *group,
				   struct isolation_manager *mgr)
{
	lockdep_assert_held(&group->mutex);

	WRITE_ONCE(group->manager, mgr);
	isolation_group_refilter(group);
	pr_debug("group %d: taken by %s\n", group->id, mgr->name);
}

/*
 * @drv is about to be a member's driver: if the group has no manager and
 * @drv is a manager's driver, that manager takes the group, which the
 * binding will hold.
 */
static void isolation_group_take_for(struct isolation_group *group,
				     const struct device_driver *drv)
{
	struct isolation_manager *mgr;

	lockdep_assert_held(&group->mutex);

	/* A reserved group waits for its own manager. */
	if (group->manager || group->reserved || !drv)
		return;
	mutex_lock(&isolation_lock);
	mgr = isolation_driver_manager(drv);
	if (mgr)
		list_move_tail(&group->manager_node, &mgr->groups);
	mutex_unlock(&isolation_lock);
	if (mgr)
		__isolation_group_take(group, mgr);
}

/*
 * The manager lets the group go, whatever holds it.  A reserved group
 * waits for the manager to come back.
 */
static void __isolation_group_unmanage(struct isolation_group *group)
{
	struct isolation_manager *mgr = group->manager;

	lockdep_assert_held(&group->mutex);

	mutex_lock(&isolation_lock);
	if (group->reserved)
		list_move_tail(&group->manager_node, &isolation_waiting_groups);
	else
		list_del_init(&group->manager_node);
	mutex_unlock(&isolation_lock);
	WRITE_ONCE(group->manager, NULL);
	group->holds = 0;
	group->claimed = false;
	group->owner = NULL;
	group->owner_cnt = 0;
	isolation_group_refilter(group);
	pr_debug("group %d: no longer managed by %s\n", group->id, mgr->name);
}

/* Let the group go if its last hold is gone. */
static void isolation_group_unmanage_if_unheld(struct isolation_group *group)
{
	lockdep_assert_held(&group->mutex);

	if (group->manager && !group->holds && !group->bound)
		__isolation_group_unmanage(group);
}

/* The registered manager named @name, or NULL. */
static struct isolation_manager *isolation_manager_find(const char *name)
{
	struct isolation_manager *mgr;

	lockdep_assert_held(&isolation_lock);

	list_for_each_entry(mgr, &isolation_managers, node)
		if (!strcmp(mgr->name, name))
			return mgr;
	return NULL;
}

static bool isolation_manager_registered(struct isolation_manager *mgr)
{
	struct isolation_manager *m;

	lockdep_assert_held(&isolation_lock);

	list_for_each_entry(m, &isolation_managers, node)
		if (m == mgr)
			return true;
	return false;
}

static int __isolation_group_set_manager(struct isolation_group *group,
					 struct isolation_manager *mgr)
{
	bool registered;

	lockdep_assert_held(&group->mutex);

	if (group->manager == mgr) {
		group->holds++;
		return 0;
	}
	if (group->manager) {
		pr_debug("group %d: %s cannot take it: held by %s\n",
			 group->id, mgr->name, group->manager->name);
		return -EBUSY;
	}
	if (group->reserved && strcmp(group->reserved_for, mgr->name)) {
		pr_info_ratelimited("group %d: %s cannot take it: reserved for %s\n",
				    group->id, mgr->name, group->reserved_for);
		return -EBUSY;
	}

	mutex_lock(&isolation_lock);
	registered = isolation_manager_registered(mgr);
	if (registered)
		list_move_tail(&group->manager_node, &mgr->groups);
	mutex_unlock(&isolation_lock);
	if (!registered)
		return -ENODEV;

	group->holds = 1;
	__isolation_group_take(group, mgr);
	return 0;
}

/*
 * Explicit holds by hand, for the KUnit suite: a claim takes its own (the
 * only kind outside tests), and unbinds foreign drivers too.
 */
#if IS_ENABLED(CONFIG_KUNIT)
/**
 * isolation_group_set_manager - take an explicit hold on a group
 * @group: the group; the caller holds a reference
 * @mgr: a registered manager
 *
 * The first hold, of either kind, makes @mgr the group's manager: from then
 * on the group's devices only bind to @mgr's drivers and to compatible
 * drivers.  Devices already bound to other drivers keep them, and keep the
 * group "managed" until they unbind.  Each hold is dropped with
 * isolation_group_clear_manager(); the group stays with @mgr until its
 * last hold goes, explicit or a member bound to one of @mgr's drivers.
 *
 * Context: process context, may sleep.
 * Return: 0; -EBUSY if another manager holds the group, -ENODEV if @mgr is
 * not registered.
 */
int isolation_group_set_manager(struct isolation_group *group,
				struct isolation_manager *mgr)
{
	enum isolation_state old;
	int ret;

	mutex_lock(&group->mutex);
	old = __isolation_group_state(group);
	ret = __isolation_group_set_manager(group, mgr);
	isolation_group_changed(group, old, NULL);
	mutex_unlock(&group->mutex);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(isolation_group_set_manager);

/**
 * isolation_group_clear_manager - drop an explicit hold on a group
 * @group: the group; the caller holds a reference
 * @mgr: the manager that took the hold; nothing happens if it has none
 *
 * When no hold is left, the group is unmanaged again: its devices keep
 * their drivers, and host drivers may bind to the unbound ones.
 *
 * Context: process context, may sleep.
 */
void isolation_group_clear_manager(struct isolation_group *group,
				   struct isolation_manager *mgr)
{
	enum isolation_state old;

	mutex_lock(&group->mutex);
	old = __isolation_group_state(group);
	if (group->manager == mgr && group->holds) {
		group->holds--;
		isolation_group_unmanage_if_unheld(group);
	}
	isolation_group_changed(group, old, mgr);
	mutex_unlock(&group->mutex);
}
EXPORT_SYMBOL_IF_KUNIT(isolation_group_clear_manager);
#endif /* CONFIG_KUNIT */

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

/* @group goes: no reservation holds it any more.  isolation_lock held. */
static void isolation_reservations_forget(struct isolation_group *group)
{
	struct isolation_reservation *res;

	lockdep_assert_held(&isolation_lock);

	list_for_each_entry(res, &isolation_reservations, node)
		if (res->group == group)
			res->group = NULL;
}

/* Called by kref_put_mutex() with isolation_lock held, which it drops. */
static void isolation_group_last_put(struct kref *kref)
{
	struct isolation_group *group =
		container_of(kref, struct isolation_group, users);

	if (group->provider)
		list_del(&group->provider_node);
	list_del_init(&group->manager_node);
	isolation_reservations_forget(group);
	mutex_unlock(&isolation_lock);

	/* Nobody else can see the group: its last member is gone. */
	if (group->claimed && !group->reserved)
		pr_info("group %d: %s's claim ends: the group's last device is gone\n",
			group->id, group->manager->name);
	if (group->filtering)
		static_branch_dec(&isolation_match_filter);
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

/* The caller holds a reference, or isolation_lock with the group listed. */
static struct isolation_group *
isolation_group_get(struct isolation_group *group)
{
	kref_get(&group->users);
	return group;
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

	KUNIT_STATIC_STUB_REDIRECT(isolation_group_alloc, prov);

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
EXPORT_SYMBOL_IF_KUNIT(isolation_group_alloc);

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
 * returned.  The device may leave the group right after; the reference
 * keeps the group, not the membership.
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

/**
 * isolation_group_state - whether a group is unmanaged, managed or locked
 * @group: the group; the caller holds a reference
 *
 * Return: the state at the time of the call.  Only the manager that holds
 * a group can rely on it staying locked: no foreign driver can bind until
 * the manager lets the group go, though a provider may add a device that
 * is bound already.
 */
enum isolation_state isolation_group_state(struct isolation_group *group)
{
	enum isolation_state state;

	mutex_lock(&group->mutex);
	state = __isolation_group_state(group);
	mutex_unlock(&group->mutex);
	return state;
}
EXPORT_SYMBOL_GPL(isolation_group_state);

/* @dev's entry in @group, its group: no walk, so binding stays O(1). */
static struct isolation_member *
isolation_group_find_member(struct isolation_group *group, struct device *dev)
{
	lockdep_assert_held(&group->mutex);

	return dev->p->isolation_member;
}

/*
 * The member's reason, in its device's directory.  The file is the
 * member's own: removing it waits for a running read, and only then is the
 * member freed, so the read needs no lock.
 */
static ssize_t isolation_reason_show(struct device *dev,
				     struct device_attribute *attr, char *buf)
{
	struct isolation_member *member =
		container_of(attr, struct isolation_member, reason_attr);

	return sysfs_emit(buf, "%s\n", member->reason);
}

static int isolation_member_add_reason(struct isolation_member *member)
{
	struct device_attribute *attr = &member->reason_attr;

	sysfs_attr_init(&attr->attr);
	attr->attr.name = ISOLATION_REASON_FILE;
	attr->attr.mode = 0444;
	attr->show = isolation_reason_show;
	return sysfs_create_file(&member->dev->kobj, &attr->attr);
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
	ret = isolation_member_add_reason(member);
	if (ret) {
		sysfs_remove_link(&dev->kobj, ISOLATION_GROUP_LINK);
		return ret;
	}

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
		sysfs_remove_file(&dev->kobj, &member->reason_attr.attr);
		sysfs_remove_link(&dev->kobj, ISOLATION_GROUP_LINK);
	}
	return ret;
}

static void isolation_member_unlink(struct isolation_group *group,
				    struct isolation_member *member)
{
	sysfs_remove_link(group->devices_kobj, member->link_name);
	sysfs_remove_file(&member->dev->kobj, &member->reason_attr.attr);
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

/* The reservation that names @dev, or NULL. */
static struct isolation_reservation *
isolation_reservation_lookup(const struct device *dev)
{
	struct isolation_reservation *res;

	lockdep_assert_held(&isolation_lock);

	list_for_each_entry(res, &isolation_reservations, node)
		if (dev->bus == res->bus && !strcmp(dev_name(dev), res->name))
			return res;
	return NULL;
}

/* Whether a reservation holds @group. */
static bool isolation_group_held_by_reservation(struct isolation_group *group)
{
	struct isolation_reservation *res;

	lockdep_assert_held(&isolation_lock);

	list_for_each_entry(res, &isolation_reservations, node)
		if (res->group == group)
			return true;
	return false;
}

/*
 * A member without a driver, of a group that its manager holds for a
 * reservation: let the bus bind it to one of the manager's drivers when it
 * probes it.
 */
static void isolation_member_prepare(struct isolation_group *group,
				     struct isolation_member *member)
{
	struct isolation_manager *mgr = group->manager;

	lockdep_assert_held(&group->mutex);

	if (group->reserved && mgr && !member->driver &&
	    mgr->ops->prepare_device &&
	    mgr->ops->prepare_device(mgr, member->dev))
		member->prepared = true;
}

/*
 * @group is reserved for the manager named group->reserved_for, and no
 * other manager holds it: if that manager is registered, it holds the group
 * with a claim's hold, and the members without a driver are prepared for
 * its drivers; if not, the group waits for it.
 */
static void isolation_group_take_reserved(struct isolation_group *group)
{
	struct isolation_member *member;
	struct isolation_manager *mgr;

	lockdep_assert_held(&group->mutex);

	mgr = group->manager;
	if (!mgr) {
		mutex_lock(&isolation_lock);
		mgr = isolation_manager_find(group->reserved_for);
		list_move_tail(&group->manager_node,
			       mgr ? &mgr->groups : &isolation_waiting_groups);
		mutex_unlock(&isolation_lock);
		if (!mgr) {
			isolation_group_refilter(group);
			pr_debug("group %d: waits for %s\n", group->id,
				 group->reserved_for);
			return;
		}
		__isolation_group_take(group, mgr);
	}
	if (!group->claimed) {
		group->claimed = true;
		group->holds++;
	}
	list_for_each_entry(member, &group->devices, list)
		isolation_member_prepare(group, member);
}

/*
 * @dev has just joined @group: if a reservation names it, the group is
 * reserved for the reservation's manager from now on, unless another
 * manager holds it or it is reserved for another.  Return true if the
 * group is taken for the reservation, its members prepared.
 */
static bool isolation_group_apply_reservation(struct isolation_group *group,
					      struct device *dev)
{
	char manager[ISOLATION_MANAGER_NAME_MAX + 1];
	struct isolation_reservation *res;
	const char *holder = NULL;

	lockdep_assert_held(&group->mutex);

	if (group->manager)
		holder = group->manager->name;
	else if (group->reserved)
		holder = group->reserved_for;
	/* Looked up and taken at once, against an unreserve meanwhile. */
	mutex_lock(&isolation_lock);
	res = isolation_reservation_lookup(dev);
	if (res) {
		res->found = true;
		strscpy(manager, res->manager);
		if (!holder || !strcmp(holder, manager))
			res->group = group;
	}
	mutex_unlock(&isolation_lock);
	if (!res)
		return false;
	if (holder && strcmp(holder, manager)) {
		dev_err(dev, "reserved for %s, but isolation group %d is %s's: reservation not applied\n",
			manager, group->id, holder);
		return false;
	}
	if (!group->reserved) {
		WRITE_ONCE(group->reserved, true);
		strscpy(group->reserved_for, manager);
		dev_dbg(dev, "isolation group %d reserved for %s\n", group->id,
			manager);
	}
	isolation_group_take_reserved(group);
	return true;
}

/**
 * isolation_device_mark_unplaced - a provider could not place a device
 * @dev: a registered device that belongs in a group of the provider's and
 *	 is in none, because its placement failed, maybe before the group
 *	 it belongs in was known or even existed
 *
 * The mark lets the provider find @dev again (isolation_device_unplaced())
 * and mark incomplete the groups that its rules tie @dev to, also those
 * that form later: @dev may be on any driver, and reach them.  It costs no
 * allocation, so that it cannot fail where an allocation just did.  It
 * goes when @dev joins a group, or is deleted; a device that device_del()
 * is taking away is not marked.
 *
 * Context: process context, may sleep.
 */
void isolation_device_mark_unplaced(struct device *dev)
{
	bool dead;

	if (!dev->p)
		return;
	mutex_lock(&isolation_lock);
	if (!dev->p->isolation_unplaced) {
		WRITE_ONCE(dev->p->isolation_unplaced, true);
		WRITE_ONCE(isolation_unplaced_devices, isolation_unplaced_devices + 1);
	}
	/*
	 * A device that device_del() is taking away keeps no mark, which
	 * nothing would clear: either isolation_device_del() sees the mark,
	 * or we see the device dead (pairs with the barrier there).
	 */
	smp_mb();
	dead = dev->p->dead;
	if (dead) {
		WRITE_ONCE(dev->p->isolation_unplaced, false);
		WRITE_ONCE(isolation_unplaced_devices, isolation_unplaced_devices - 1);
	}
	mutex_unlock(&isolation_lock);
	if (!dead)
		dev_err(dev, "not in an isolation group: the groups it belongs in cannot be locked\n");
}
EXPORT_SYMBOL_IF_KUNIT(isolation_device_mark_unplaced);

/* The mark goes; a test without the lock first, as most devices have none. */
static void isolation_device_clear_unplaced(struct device *dev)
{
	if (!dev->p || !READ_ONCE(dev->p->isolation_unplaced))
		return;
	mutex_lock(&isolation_lock);
	if (dev->p->isolation_unplaced) {
		WRITE_ONCE(dev->p->isolation_unplaced, false);
		WRITE_ONCE(isolation_unplaced_devices, isolation_unplaced_devices - 1);
	}
	mutex_unlock(&isolation_lock);
}

/**
 * isolation_device_unplaced - whether a device is marked unplaced
 * @dev: the device
 *
 * Return: true if a provider marked @dev with isolation_device_mark_unplaced()
 * and it has joined no group since.  The answer may be stale at once; a
 * provider asks under its own lock, which its marks are made under.
 */
bool isolation_device_unplaced(struct device *dev)
{
	return dev->p && READ_ONCE(dev->p->isolation_unplaced);
}
EXPORT_SYMBOL_IF_KUNIT(isolation_device_unplaced);

/**
 * isolation_unplaced_count - how many devices are marked unplaced
 *
 * So that a provider looks for its unplaced devices only when there may be
 * some.
 *
 * Return: the number of devices marked with isolation_device_mark_unplaced()
 * that have neither joined a group nor been deleted since.
 */
unsigned int isolation_unplaced_count(void)
{
	return READ_ONCE(isolation_unplaced_devices);
}
EXPORT_SYMBOL_IF_KUNIT(isolation_unplaced_count);

/**
 * isolation_group_add_device - make a device a member of a group
 * @group: the group; the caller holds a reference
 * @dev: a registered device that is in no isolation group
 * @reason: why @dev is in this group, for its isolation_reason file, e.g.
 *	    "behind PCIe-to-PCI bridge 0000:03:00.0"; copied
 *
 * Called by the group's provider, typically as the device is added to its
 * bus, or as its driver probes (an IOMMU that finds its devices then).  The
 * device takes its own reference on the group, which it drops when it
 * leaves: through isolation_group_remove_device(), or at the latest when
 * it is deleted.
 *
 * If a manager holds the group, the device can only bind to the manager's
 * drivers from now on, and the manager is told.  A device that is bound
 * already keeps its driver: one of a manager's drivers takes the group for
 * the manager if nobody holds it, and any other driver that is foreign to
 * the group's manager keeps the group from locking.
 *
 * If a reservation names @dev, the group is held for the reservation's
 * manager at once, or waits for it, before any driver is matched to @dev:
 * call this before the device's bus probes it.
 *
 * Context: process context, may sleep.  The caller holds the device lock
 * of @dev, so that no driver binds or unbinds meanwhile.
 * Return: 0 on success; -EBUSY if @dev is already in a group, -ENODEV if
 * it is not registered or being deleted or the group's provider is gone,
 * -ENOMEM, or an error from sysfs.  On failure nothing has changed.
 */
int isolation_group_add_device(struct isolation_group *group,
			       struct device *dev, const char *reason)
{
	const struct device_driver *drv;
	struct isolation_manager *old_mgr;
	enum isolation_state old;
	struct isolation_member *member;
	int ret;

	device_lock_assert(dev);

	if (dev->isolation_group) {
		dev_err(dev, "cannot join isolation group %d: already in group %d\n",
			group->id, dev->isolation_group->id);
		return -EBUSY;
	}
	/* Checked under the device lock, so device_del() cannot run past us. */
	if (!device_is_registered(dev) || dev->p->dead) {
		dev_err(dev, "cannot join isolation group %d: device is not registered\n",
			group->id);
		return -ENODEV;
	}
	if (!isolation_group_has_provider(group)) {
		dev_err(dev, "cannot join isolation group %d: its provider is gone\n",
			group->id);
		return -ENODEV;
	}

	member = kzalloc(sizeof(*member), GFP_KERNEL);
	if (!member)
		return -ENOMEM;
	member->dev = dev;
	member->reason = kstrdup(reason ?: "", GFP_KERNEL);
	if (!member->reason) {
		kfree(member);
		return -ENOMEM;
	}
	ret = isolation_member_link(group, member);
	if (ret) {
		dev_err(dev, "cannot join isolation group %d: sysfs failed: %d\n",
			group->id, ret);
		isolation_member_free(member);
		return ret;
	}

	/*
	 * A driver that is still probing (an IOMMU that finds the device in
	 * the driver's dma_configure()) is judged by isolation_device_bind()
	 * right after, as any other.
	 */
	drv = device_is_bound(dev) ? dev->driver : NULL;

	isolation_group_get(group);
	mutex_lock(&group->mutex);
	old = __isolation_group_state(group);
	old_mgr = group->manager;
	list_add_tail(&member->list, &group->devices);
	dev->p->isolation_member = member;
	WRITE_ONCE(dev->isolation_group, group);
	isolation_group_take_for(group, drv);
	isolation_member_set_driver(group, member, drv);
	if (!isolation_group_apply_reservation(group, dev))
		isolation_member_prepare(group, member);
	isolation_notify(group->manager, group, dev,
			 ISOLATION_EVENT_DEVICE_ADDED);
	isolation_group_changed(group, old, old_mgr);
	mutex_unlock(&group->mutex);
	isolation_device_clear_unplaced(dev);
	isolation_device_uevent(dev, group->id);
	dev_dbg(dev, "added to isolation group %d: %s\n", group->id,
		member->reason);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(isolation_group_add_device);

/**
 * isolation_group_remove_device - take a device out of its group
 * @dev: the device; nothing happens if it is in no group
 *
 * The device keeps its driver; if that held the group for a manager, the
 * hold goes with it.  The device drops the reference it held on its group,
 * which frees the group if that was the last one.
 *
 * Context: process context, may sleep.  Takes the device lock of @dev, so
 * the caller must not hold it.
 */
void isolation_group_remove_device(struct device *dev)
{
	struct isolation_manager *mgr;
	enum isolation_state old;
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
	mgr = group->manager;
	member = isolation_group_find_member(group, dev);
	isolation_member_set_driver(group, member, NULL);
	list_del(&member->list);
	dev->p->isolation_member = NULL;
	WRITE_ONCE(dev->p->isolation_group_held, false);
	WRITE_ONCE(dev->p->isolation_refused, false);
	WRITE_ONCE(dev->isolation_group, NULL);
	if (group->refused_dev == dev)
		WRITE_ONCE(group->refused_dev, NULL);
	isolation_notify(mgr, group, dev, ISOLATION_EVENT_DEVICE_REMOVED);
	isolation_group_unmanage_if_unheld(group);
	isolation_group_changed(group, old, mgr);
	mutex_unlock(&group->mutex);

	/* Under the device lock, so a new add cannot meet the old links. */
	isolation_member_unlink(group, member);
	isolation_device_uevent(dev, -1);
	device_unlock(dev);

	dev_dbg(dev, "removed from isolation group %d\n", group->id);
	isolation_member_free(member);
	isolation_group_put(group);
}
EXPORT_SYMBOL_IF_KUNIT(isolation_group_remove_device);

/**
 * isolation_group_mark_incomplete - a device that belongs in a group is not
 * @group: the group; the caller holds a reference
 * @dev: the device that could not join it, for the log
 *
 * For a provider that could not add a device to the group it belongs in
 * (an allocation failed, or its rules tie it to two groups at once).  The
 * device is in no group, so any driver may bind to it, and it may reach
 * the group's devices: the group is never "locked" from now on, and a
 * manager that asks is refused, for as long as the group lives.
 *
 * Context: process context, may sleep.
 */
void isolation_group_mark_incomplete(struct isolation_group *group,
				     struct device *dev)
{
	enum isolation_state old;
	bool was;

	mutex_lock(&group->mutex);
	old = __isolation_group_state(group);
	was = group->incomplete;
	group->incomplete = true;
	isolation_group_changed(group, old, NULL);
	mutex_unlock(&group->mutex);
	/* Once: a provider tells a group again each time it looks. */
	if (!was)
		dev_err(dev, "belongs in isolation group %d but is not in it: the group can no longer be locked\n",
			group->id);
}
EXPORT_SYMBOL_IF_KUNIT(isolation_group_mark_incomplete);

/* Take every device out of @group; for a provider that goes away. */
static void isolation_group_remove_all(struct isolation_group *group)
{
	struct isolation_member *member;
	struct device *dev;

	for (;;) {
		mutex_lock(&group->mutex);
		member = list_first_entry_or_null(&group->devices,
						  struct isolation_member,
						  list);
		dev = member ? get_device(member->dev) : NULL;
		mutex_unlock(&group->mutex);
		if (!dev)
			return;
		isolation_group_remove_device(dev);
		put_device(dev);
	}
}

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
	pr_debug("provider %s registered\n", prov->name);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(isolation_provider_register);

/**
 * isolation_provider_unregister - take a provider out, and its devices with it
 * @prov: a registered provider
 *
 * Every device leaves the provider's groups: nothing is isolated by a
 * provider that is gone.  The groups go with their members, unless someone
 * still holds a reference; their "provider" file then reads empty.
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
	pr_debug("provider %s unregistered\n", prov->name);
}
EXPORT_SYMBOL_IF_KUNIT(isolation_provider_unregister);

/*
 * Walk @groups, the groups @mgr holds or those that wait for a manager, one
 * at a time and without isolation_lock held across @fn, which is called
 * with the group's mutex held.  Each group moves to a list of its own once
 * visited; isolation_manager_lock keeps other walks out meanwhile, and a
 * group that @fn moves to another list leaves the walk.
 */
static void isolation_groups_walk(struct list_head *groups,
				  struct isolation_manager *mgr,
				  void (*fn)(struct isolation_group *group,
					     struct isolation_manager *mgr))
{
	struct isolation_manager *old_mgr;
	enum isolation_state old;
	struct isolation_group *group;
	LIST_HEAD(done);

	lockdep_assert_held(&isolation_manager_lock);

	for (;;) {
		mutex_lock(&isolation_lock);
		group = list_first_entry_or_null(groups, struct isolation_group,
						 manager_node);
		if (group) {
			list_move_tail(&group->manager_node, &done);
			isolation_group_get(group);
		} else {
			list_splice(&done, groups);
		}
		mutex_unlock(&isolation_lock);
		if (!group)
			return;

		mutex_lock(&group->mutex);
		old = __isolation_group_state(group);
		old_mgr = group->manager;
		fn(group, mgr);
		isolation_group_changed(group, old, old_mgr);
		mutex_unlock(&group->mutex);
		isolation_group_put(group);
	}
}

/*
 * @mgr's drivers changed: judge the members of a group it holds anew, and
 * let the group go if that left no hold.
 */
static void isolation_group_rejudge(struct isolation_group *group,
				    struct isolation_manager *mgr)
{
	if (group->manager != mgr)
		return;
	isolation_group_recount(group);
	isolation_group_unmanage_if_unheld(group);
}

/* @mgr goes: it lets go of a group it holds. */
static void isolation_group_abandon(struct isolation_group *group,
				    struct isolation_manager *mgr)
{
	if (group->manager == mgr)
		__isolation_group_unmanage(group);
}

/* @mgr has registered: it takes a group that waits for it. */
static void isolation_group_take_waiting(struct isolation_group *group,
					 struct isolation_manager *mgr)
{
	if (!group->manager && group->reserved &&
	    !strcmp(group->reserved_for, mgr->name))
		isolation_group_take_reserved(group);
}

/**
 * isolation_manager_register - make a manager known to the isolation core
 * @mgr: the manager, with its name and ops set
 *
 * The manager takes at once the groups that reservations hold for it and
 * that waited for it to register; their devices without a driver are
 * prepared for its drivers (&isolation_manager_ops.prepare_device).
 *
 * Context: process context, may sleep.
 * Return: 0; -EINVAL without a name or ops, or with a name of more than 32
 * characters; -EEXIST if another manager has the name.
 */
int isolation_manager_register(struct isolation_manager *mgr)
{
	int ret = 0;

	if (!mgr->name || !*mgr->name || !mgr->ops ||
	    strlen(mgr->name) > ISOLATION_MANAGER_NAME_MAX)
		return -EINVAL;

	INIT_LIST_HEAD(&mgr->drivers);
	INIT_LIST_HEAD(&mgr->groups);
	mutex_lock(&isolation_manager_lock);
	mutex_lock(&isolation_lock);
	if (isolation_manager_find(mgr->name))
		ret = -EEXIST;
	else
		list_add_tail_rcu(&mgr->node, &isolation_managers);
	mutex_unlock(&isolation_lock);
	if (!ret)
		isolation_groups_walk(&isolation_waiting_groups, mgr,
				      isolation_group_take_waiting);
	mutex_unlock(&isolation_manager_lock);
	if (!ret)
		pr_debug("manager %s registered\n", mgr->name);
	return ret;
}
EXPORT_SYMBOL_GPL(isolation_manager_register);

/**
 * isolation_manager_unregister - take a manager out, letting its groups go
 * @mgr: a registered manager
 *
 * Each group the manager holds is left unmanaged at once, whatever its
 * holds: devices stay bound to the manager's drivers, which are the
 * manager's no more, and host drivers may bind again; a reserved group
 * waits for the manager to register again, where only compatible drivers
 * bind.
 *
 * Context: process context, may sleep.  The manager must not take groups
 * or add drivers while it unregisters.
 */
void isolation_manager_unregister(struct isolation_manager *mgr)
{
	struct isolation_manager_driver *md, *tmp;

	mutex_lock(&isolation_manager_lock);
	mutex_lock(&isolation_lock);
	list_del_rcu(&mgr->node);
	mutex_unlock(&isolation_lock);

	isolation_groups_walk(&mgr->groups, mgr, isolation_group_abandon);

	mutex_lock(&isolation_lock);
	list_for_each_entry_safe(md, tmp, &mgr->drivers, node) {
		list_del_rcu(&md->node);
		kfree_rcu(md, rcu);
	}
	mutex_unlock(&isolation_lock);
	mutex_unlock(&isolation_manager_lock);
	/* The match filter may still be looking at @mgr without a lock. */
	synchronize_rcu();
	pr_debug("manager %s unregistered\n", mgr->name);
}
EXPORT_SYMBOL_GPL(isolation_manager_unregister);

/**
 * isolation_manager_add_driver - let a manager's groups bind to a driver
 * @mgr: a registered manager
 * @drv: one of the manager's drivers, before it registers with its bus
 *
 * Devices of the groups @mgr holds may bind to @drv, and a device that
 * binds to it takes the group for @mgr if no manager holds it.  Drivers
 * that do no DMA through the kernel's DMA API need not be added: they set
 * driver_managed_dma.
 *
 * Context: process context, may sleep.
 * Return: 0; -EBUSY if @drv is a driver of a manager already, -ENOMEM.
 */
int isolation_manager_add_driver(struct isolation_manager *mgr,
				 const struct device_driver *drv)
{
	struct isolation_manager_driver *md;
	int ret = 0;

	md = kzalloc(sizeof(*md), GFP_KERNEL);
	if (!md)
		return -ENOMEM;
	md->drv = drv;

	mutex_lock(&isolation_manager_lock);
	mutex_lock(&isolation_lock);
	if (isolation_driver_manager(drv))
		ret = -EBUSY;
	else
		list_add_tail_rcu(&md->node, &mgr->drivers);
	mutex_unlock(&isolation_lock);
	/* Devices already on @drv hold the group instead of blocking it. */
	if (!ret)
		isolation_groups_walk(&mgr->groups, mgr,
				      isolation_group_rejudge);
	mutex_unlock(&isolation_manager_lock);
	if (ret)
		kfree(md);
	return ret;
}
EXPORT_SYMBOL_GPL(isolation_manager_add_driver);

/**
 * isolation_manager_remove_driver - take a driver from a manager
 * @mgr: a registered manager
 * @drv: a driver added with isolation_manager_add_driver()
 *
 * A device still bound to @drv no longer holds its group for @mgr, and
 * keeps a group that @mgr holds otherwise from locking.
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
			list_del_rcu(&md->node);
			found = md;
			break;
		}
	}
	mutex_unlock(&isolation_lock);
	if (found) {
		kfree_rcu(found, rcu);
		isolation_groups_walk(&mgr->groups, mgr,
				      isolation_group_rejudge);
	}
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
	mgr = isolation_manager_find(name);
	if (mgr && !try_module_get(mgr->owner))
		mgr = NULL;
	mutex_unlock(&isolation_lock);
	return mgr;
}

/* Like isolation_manager_find_get(), loading the manager's module first. */
static struct isolation_manager *isolation_manager_load(const char *name)
{
	struct isolation_manager *mgr = isolation_manager_find_get(name);

	/* A manager in a module says MODULE_ALIAS("isolation-manager-<name>"). */
	if (!mgr && !request_module("isolation-manager-%s", name))
		mgr = isolation_manager_find_get(name);
	return mgr;
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
	if (group->incomplete) {
		pr_err_ratelimited("group %d cannot be handed out: a device that belongs in it could not join it\n",
				   group->id);
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
 * a device bound to a foreign driver joins it or @mgr lets it go.
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
 * Return: 0; -EBUSY, logged, if the group is not locked under @mgr, another
 * owner has it, or a claim or release of it is running.
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
	/* A release must not meet a user it did not see. */
	if (!ret && group->busy) {
		pr_info_ratelimited("group %d is being claimed or released\n",
				    group->id);
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

/*
 * Say once why @drv may not bind to @dev: a refusal that repeats the last
 * one of the group (a user's retry, the next match of the same pair) is not
 * logged again, and the rest are rate limited, so that a driver's
 * registration, which meets every device, cannot flood the log.
 */
static void isolation_log_refusal(struct device *dev,
				  const struct device_driver *drv,
				  struct isolation_group *group,
				  struct isolation_manager *mgr)
{
	if (READ_ONCE(group->refused_dev) == dev &&
	    READ_ONCE(group->refused_drv) == drv)
		return;
	WRITE_ONCE(group->refused_dev, dev);
	WRITE_ONCE(group->refused_drv, drv);
	if (mgr)
		dev_info_ratelimited(dev, "not binding driver %s: isolation group %d is held by %s\n",
				     drv->name, group->id, mgr->name);
	else
		dev_info_ratelimited(dev, "not binding driver %s: isolation group %d is reserved for a manager that has not registered\n",
				     drv->name, group->id);
}

/*
 * The match filter, from driver_match_device(): a device in a group that a
 * manager holds only matches the manager's drivers and compatible drivers,
 * and one in a reserved group that waits for its manager only compatible
 * drivers.
 * It runs without the device lock and takes none, so it is only a filter:
 * the binding is checked again where it is committed, in
 * isolation_device_bind().  isolation_manager_unregister() waits for RCU
 * readers before a manager goes.
 */
bool __isolation_driver_allowed(struct device *dev,
				const struct device_driver *drv)
{
	struct isolation_group *group;
	struct isolation_manager *mgr;
	bool allowed;

	rcu_read_lock();
	group = READ_ONCE(dev->isolation_group);
	if (!group) {
		rcu_read_unlock();
		return true;
	}
	mgr = READ_ONCE(group->manager);
	allowed = !isolation_driver_refused(mgr, READ_ONCE(group->reserved),
					    drv);
	/* A bound device meets new drivers too: it waits for none. */
	if (!allowed && !READ_ONCE(dev->driver)) {
		WRITE_ONCE(dev->p->isolation_refused, true);
		/* Mark, then look again: see isolation_group_reprobe(). */
		smp_mb();
		mgr = READ_ONCE(group->manager);
		allowed = !isolation_driver_refused(mgr,
						    READ_ONCE(group->reserved),
						    drv);
	}
	if (!allowed)
		isolation_log_refusal(dev, drv, group, mgr);
	rcu_read_unlock();
	return allowed;
}
EXPORT_SYMBOL_IF_KUNIT(__isolation_driver_allowed);

/*
 * Called with the device lock held from really_probe(), before the driver
 * probes (twice: before and after the bus's dma_configure(), which may put
 * the device into a group), and from device_bind_driver(), whose callers
 * may have run the driver already: refuse a foreign driver, or record the
 * binding.  A foreign driver cannot pass between the match and this point,
 * because a manager takes the group under the group mutex taken here too.
 * A manager's driver takes the group for its manager if nobody holds it.
 */
int isolation_device_bind(struct device *dev, const struct device_driver *drv)
{
	struct isolation_group *group = dev->isolation_group;
	struct isolation_member *member;
	enum isolation_state old;
	int ret = 0;

	if (!group)
		return 0;
	device_lock_assert(dev);

	mutex_lock(&group->mutex);
	old = __isolation_group_state(group);
	member = isolation_group_find_member(group, dev);
	isolation_group_take_for(group, drv);
	if (isolation_driver_refused(group->manager, group->reserved, drv)) {
		isolation_log_refusal(dev, drv, group, group->manager);
		if (!member->driver)
			WRITE_ONCE(dev->p->isolation_refused, true);
		ret = -EBUSY;
	} else {
		isolation_member_set_driver(group, member, drv);
	}
	isolation_group_changed(group, old, NULL);
	mutex_unlock(&group->mutex);
	return ret;
}

/*
 * Called from device_unbind_cleanup() with the device lock held, whenever
 * a driver goes: after a failed probe or an unbind.  If the driver held
 * the group and was the last hold, the manager lets the group go.
 */
void isolation_device_unbind(struct device *dev)
{
	struct isolation_group *group = dev->isolation_group;
	struct isolation_member *member;
	struct isolation_manager *mgr;
	enum isolation_state old;

	if (!group)
		return;
	device_lock_assert(dev);

	mutex_lock(&group->mutex);
	old = __isolation_group_state(group);
	mgr = group->manager;
	member = isolation_group_find_member(group, dev);
	/*
	 * A binding it had goes (an unbind, by hand or not): it waits for no
	 * driver.  A probe that the bind hook refused had none, and keeps
	 * its mark.
	 */
	if (member->driver)
		WRITE_ONCE(dev->p->isolation_refused, false);
	isolation_member_set_driver(group, member, NULL);
	isolation_group_unmanage_if_unheld(group);
	isolation_group_changed(group, old, mgr);
	mutex_unlock(&group->mutex);
}

/*
 * Called from driver_bound() with the device lock held, once a binding is
 * committed.  A device that a provider placed during its driver's own
 * probe, after isolation_device_bind() had run (a driver that makes its
 * IOMMU find the device), was added with no driver recorded: record it
 * now.  Nothing is refused here, it is too late for that; the driver
 * counts as any other, foreign or the manager's.
 */
void isolation_device_bound(struct device *dev)
{
	struct isolation_group *group = dev->isolation_group;
	struct isolation_member *member;
	enum isolation_state old;

	if (!group)
		return;
	device_lock_assert(dev);

	mutex_lock(&group->mutex);
	member = isolation_group_find_member(group, dev);
	if (member->driver != dev->driver) {
		old = __isolation_group_state(group);
		isolation_group_take_for(group, dev->driver);
		isolation_member_set_driver(group, member, dev->driver);
		isolation_group_changed(group, old, NULL);
	}
	mutex_unlock(&group->mutex);
}

/*
 * Called by device_del() after the device's driver is gone and the bus has
 * been told, before its sysfs directory goes.  kill_device() ran under the
 * device lock before this, so no add can follow.  The test is made under
 * the device lock, not before it: a provider may be taking the device out
 * from a work item right now, its pointer already cleared but its links
 * not yet, and the directory must outlive them.
 */
void isolation_device_del(struct device *dev)
{
	isolation_group_remove_device(dev);
	/*
	 * device_del() took @dev off the deferred-probe list before this, but
	 * a group let go meanwhile may have put it back there
	 * (isolation_group_reprobe(), under the group's mutex, for a member):
	 * now that it is no member, nothing can, and it must not stay on the
	 * list past its release.
	 */
	driver_deferred_probe_del(dev);
	/*
	 * kill_device() marked @dev dead: a provider's mark made after this
	 * sees that (isolation_device_mark_unplaced()), one made before is
	 * seen here.
	 */
	smp_mb();
	isolation_device_clear_unplaced(dev);
}

/* Let host drivers probe @dev, a member of @group that a manager let go. */
static void isolation_probe_host(struct isolation_group *group,
				 struct device *dev)
{
	if (device_attach(dev) < 0)
		dev_err(dev, "isolation group %d: host driver did not probe\n",
			group->id);
}

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
		bool set_up;		/* and the manager set it up */
	} m[];
};

static struct isolation_snapshot *
isolation_snapshot_take(struct isolation_group *group)
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

static void isolation_snapshot_drop(struct isolation_group *group,
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
static bool isolation_is_live_member(struct isolation_group *group,
				     struct device *dev)
{
	device_lock_assert(dev);
	return dev->isolation_group == group && !dev->p->dead;
}

/*
 * The driver of a live member of @group, if @wanted says it is one to
 * unbind, else NULL.  Decided under the device lock, and the caller unbinds
 * it with device_release_driver_internal(), which does nothing if the
 * driver changed meanwhile.
 */
static const struct device_driver *
isolation_driver_to_unbind(struct isolation_group *group,
			   struct isolation_manager *mgr, struct device *dev,
			   bool (*wanted)(struct isolation_manager *mgr,
					  const struct device_driver *drv))
{
	const struct device_driver *drv;

	device_lock(dev);
	drv = dev->driver;
	if (!isolation_is_live_member(group, dev) || !drv || !wanted(mgr, drv))
		drv = NULL;
	device_unlock(dev);
	if (drv)
		dev_dbg(dev, "isolation group %d: unbinding %s\n", group->id,
			drv->name);
	return drv;
}

/*
 * Record whether the manager has set up @dev, a member of @group, for its
 * drivers (&isolation_manager_ops.release_device undoes it): the record as
 * it was.
 */
static bool isolation_member_mark_prepared(struct isolation_group *group,
					   struct device *dev, bool set)
{
	struct isolation_member *member;
	bool was = false;

	mutex_lock(&group->mutex);
	if (dev->isolation_group == group) {
		member = isolation_group_find_member(group, dev);
		was = member->prepared;
		member->prepared = set;
	}
	mutex_unlock(&group->mutex);
	return was;
}

/* Whether the manager has set up @dev, a member of @group. */
static bool isolation_member_prepared(struct isolation_group *group,
				      struct device *dev)
{
	bool ret;

	mutex_lock(&group->mutex);
	ret = dev->isolation_group == group &&
	      isolation_group_find_member(group, dev)->prepared;
	mutex_unlock(&group->mutex);
	return ret;
}

/*
 * Unbind @dev from the manager's driver and, with @undo, undo what the
 * manager set up on it.  The record goes once the set-up is undone, not
 * before: whoever else undoes the manager's set-ups meanwhile sees it, and
 * an undo done twice is harmless.
 */
static void isolation_release_manager_driver(struct isolation_group *group,
					     struct isolation_manager *mgr,
					     struct device *dev, bool undo)
{
	const struct device_driver *drv;

	drv = isolation_driver_to_unbind(group, mgr, dev,
					 isolation_manager_owns);
	if (drv)
		device_release_driver_internal(dev, drv, dev->parent);

	if (undo && isolation_member_prepared(group, dev)) {
		if (mgr->ops->release_device)
			mgr->ops->release_device(mgr, dev);
		isolation_member_mark_prepared(group, dev, false);
	}
}

/*
 * Whether a claim for @mgr can take @dev, decided before anything changes:
 * a foreign driver must be one that can be unbound, and the manager must be
 * able to take a device that has, or will have, no driver.
 */
static int isolation_check_claim(struct isolation_group *group,
				 struct isolation_manager *mgr,
				 struct device *dev)
{
	const struct device_driver *drv;
	bool wanted;
	int ret = 0;

	device_lock(dev);
	drv = dev->driver;
	wanted = isolation_is_live_member(group, dev) &&
		 (!drv || isolation_driver_foreign(mgr, drv));
	if (wanted && drv && drv->suppress_bind_attrs) {
		dev_err(dev, "isolation group %d: cannot claim for %s: driver %s cannot be unbound\n",
			group->id, mgr->name, drv->name);
		ret = -EBUSY;
	}
	device_unlock(dev);
	if (!ret && wanted && mgr->ops->check_device)
		ret = mgr->ops->check_device(mgr, dev);
	return ret;
}

/* Unbind a foreign driver from @dev for a claim; true if it did. */
static bool isolation_unbind_foreign(struct isolation_group *group,
				     struct isolation_manager *mgr,
				     struct device *dev)
{
	const struct device_driver *drv;

	drv = isolation_driver_to_unbind(group, mgr, dev,
					 isolation_driver_foreign);
	if (drv)
		device_release_driver_internal(dev, drv, dev->parent);
	return drv;
}

/*
 * Bind a live member without a driver to one of the manager's drivers: 1 if
 * this claim did, 0 if the device is not for it, or the manager's error.
 * *@set_up says whether the manager set the device up.  The set-up is
 * recorded before the manager is called, and the record dropped if it set
 * nothing up, so that an undo of the manager's set-ups meanwhile sees it.
 */
static int isolation_claim_device(struct isolation_group *group,
				  struct isolation_manager *mgr,
				  struct device *dev, bool *set_up)
{
	bool wanted, was;
	int ret;

	*set_up = false;
	if (!mgr->ops->claim_device)
		return 0;
	device_lock(dev);
	wanted = isolation_is_live_member(group, dev) && !dev->driver;
	device_unlock(dev);
	if (!wanted)
		return 0;

	was = isolation_member_mark_prepared(group, dev, true);
	ret = mgr->ops->claim_device(mgr, dev);
	*set_up = ret > 0;
	if (ret <= 0 && !was)
		isolation_member_mark_prepared(group, dev, false);
	if (ret < 0) {
		dev_err(dev, "isolation group %d: %s could not take the device: %d\n",
			group->id, mgr->name, ret);
		return ret;
	}
	return 1;
}

/*
 * Take the claim's explicit hold on @group for @mgr: one, however many
 * claims.  Return 1 if this claim took it, for its rollback to drop.
 */
static int isolation_group_take_claim(struct isolation_group *group,
				      struct isolation_manager *mgr)
{
	enum isolation_state old;
	int ret = 0;

	mutex_lock(&group->mutex);
	old = __isolation_group_state(group);
	if (!group->claimed || group->manager != mgr) {
		ret = __isolation_group_set_manager(group, mgr);
		if (!ret) {
			group->claimed = true;
			ret = 1;
		}
	}
	isolation_group_changed(group, old, NULL);
	mutex_unlock(&group->mutex);
	return ret;
}

/*
 * Drop the claim's hold, if @mgr has one on @group and no reservation holds
 * the group with it.
 */
static void isolation_group_drop_claim(struct isolation_group *group,
				       struct isolation_manager *mgr)
{
	enum isolation_state old;

	mutex_lock(&group->mutex);
	old = __isolation_group_state(group);
	if (group->claimed && group->manager == mgr && !group->reserved) {
		group->claimed = false;
		group->holds--;
		isolation_group_unmanage_if_unheld(group);
	}
	isolation_group_changed(group, old, mgr);
	mutex_unlock(&group->mutex);
}

/**
 * isolation_group_claim - take a group for a manager, in one step
 * @group: the group; the caller holds a reference
 * @mgr: a registered manager
 *
 * Takes an explicit hold on the group for @mgr (one, however many claims),
 * unbinds every foreign driver, and asks the manager to bind each device
 * left without a driver (&isolation_manager_ops.claim_device).  Compatible
 * drivers stay.  On success the group is locked, and stays with @mgr until
 * isolation_group_release().
 *
 * Everything that can be known before the first unbind is checked first,
 * and a refusal then changes nothing: another manager, a group that a
 * device could not join (it never locks), a driver that cannot be unbound,
 * and a device the manager says it cannot take
 * (&isolation_manager_ops.check_device).  If the manager fails later, the
 * claim is undone: the manager's drivers bound here are unbound, what the
 * manager set up is undone, the hold taken here is dropped and, if that
 * lets the group go, the devices unbound here probe their host drivers
 * again.  A group that the manager still holds otherwise stays with it:
 * host drivers cannot bind meanwhile.
 *
 * Context: process context, may sleep.  Must not be called with any device
 * lock held.
 * Return: 0; -EBUSY if another manager holds the group, a claim or release
 * is running, a device that belongs in the group is not in it, a driver
 * cannot be unbound or a device joined on a foreign driver meanwhile;
 * -ENODEV if @mgr is not registered; an error from the manager; -ENOMEM.
 */
VISIBLE_IF_KUNIT int isolation_group_claim(struct isolation_group *group,
					   struct isolation_manager *mgr)
{
	struct isolation_snapshot *snap;
	unsigned int i;
	bool took;
	int ret;

	snap = isolation_snapshot_take(group);
	if (IS_ERR(snap))
		return PTR_ERR(snap);

	mutex_lock(&group->mutex);
	ret = group->incomplete ? -EBUSY : 0;
	mutex_unlock(&group->mutex);
	if (ret) {
		pr_err_ratelimited("group %d: cannot claim for %s: a device that belongs in it could not join it\n",
				   group->id, mgr->name);
		goto out;
	}
	for (i = 0; i < snap->n; i++) {
		ret = isolation_check_claim(group, mgr, snap->m[i].dev);
		if (ret)
			goto out;
	}
	ret = isolation_group_take_claim(group, mgr);
	if (ret < 0)
		goto out;
	took = ret;

	for (i = 0; i < snap->n; i++)
		snap->m[i].unbound = isolation_unbind_foreign(group, mgr,
							      snap->m[i].dev);
	for (i = 0; i < snap->n; i++) {
		ret = isolation_claim_device(group, mgr, snap->m[i].dev,
					     &snap->m[i].set_up);
		if (ret < 0)
			goto rollback;
		snap->m[i].claimed = ret;
	}
	ret = isolation_group_check_locked(group, mgr);
	if (!ret)
		goto out;

rollback:
	/* What the manager set up before this claim stays. */
	for (i = 0; i < snap->n; i++)
		if (snap->m[i].claimed)
			isolation_release_manager_driver(group, mgr,
							 snap->m[i].dev,
							 snap->m[i].set_up);
	if (took)
		isolation_group_drop_claim(group, mgr);
	/* Host drivers are refused while the group is still held. */
	if (isolation_group_state(group) == ISOLATION_GROUP_UNMANAGED) {
		for (i = 0; i < snap->n; i++)
			if (snap->m[i].unbound)
				isolation_probe_host(group, snap->m[i].dev);
	}
out:
	isolation_snapshot_drop(group, snap);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(isolation_group_claim);

/*
 * The groups that @mgr holds or, with @mgr NULL, those that any manager
 * holds and those that wait for one, each with a reference, in an array of
 * *@n for isolation_groups_put(); NULL if out of memory.  A reserved group
 * is among them.  isolation_manager_lock keeps walks of the same lists
 * out, which would hide the groups they visit.
 */
static struct isolation_group **
isolation_held_groups(struct isolation_manager *mgr, unsigned int *n)
{
	struct isolation_group *group, **groups = NULL;
	struct isolation_manager *m;
	unsigned int i = 0, pass;

	lockdep_assert_held(&isolation_manager_lock);

	/* Count, then fill: a group is on one list at a time. */
	mutex_lock(&isolation_lock);
	for (pass = 0; pass < 2; pass++) {
		list_for_each_entry(m, &isolation_managers, node) {
			if (mgr && m != mgr)
				continue;
			list_for_each_entry(group, &m->groups, manager_node) {
				if (groups)
					groups[i] = isolation_group_get(group);
				i++;
			}
		}
		list_for_each_entry(group, &isolation_waiting_groups,
				    manager_node) {
			if (mgr)
				break;
			if (groups)
				groups[i] = isolation_group_get(group);
			i++;
		}
		if (pass)
			break;
		groups = kcalloc(i, sizeof(*groups), GFP_KERNEL);
		if (!groups)
			break;
		*n = i;
		i = 0;
	}
	mutex_unlock(&isolation_lock);
	return groups;
}

static void isolation_groups_put(struct isolation_group **groups,
				 unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		isolation_group_put(groups[i]);
	kfree(groups);
}

/* Whether @mgr holds @group for a reservation. */
static bool isolation_group_reserved_by(struct isolation_group *group,
					struct isolation_manager *mgr)
{
	bool ret;

	mutex_lock(&group->mutex);
	ret = group->reserved && group->manager == mgr;
	mutex_unlock(&group->mutex);
	return ret;
}

/**
 * isolation_manager_claim_reserved - bind the devices of reserved groups
 * @mgr: a registered manager
 *
 * Claims each group that @mgr holds for a reservation, as a write of its
 * name to the group's "manager" file does: foreign drivers are unbound, and
 * each device left without a driver is bound to one of @mgr's drivers
 * (&isolation_manager_ops.claim_device).  For a manager whose drivers for a
 * bus come after it registers (a module of their own): it calls this once
 * it can bind the bus's devices, and the reserved groups it took as it
 * registered go to its drivers then.  A group whose claim fails stays
 * held for @mgr, and the failure is logged.
 *
 * Context: process context, may sleep.  Must not be called with any device
 * lock held.
 */
void isolation_manager_claim_reserved(struct isolation_manager *mgr)
{
	struct isolation_group **groups;
	unsigned int i, n = 0;
	int ret;

	mutex_lock(&isolation_manager_lock);
	groups = isolation_held_groups(mgr, &n);
	mutex_unlock(&isolation_manager_lock);
	if (!groups) {
		pr_err("%s: cannot bind the devices of reserved groups: out of memory\n",
		       mgr->name);
		return;
	}
	for (i = 0; i < n; i++) {
		if (!isolation_group_reserved_by(groups[i], mgr))
			continue;
		ret = isolation_group_claim(groups[i], mgr);
		if (ret)
			pr_err("group %d: reserved for %s, but its devices could not be bound to it: %d\n",
			       groups[i]->id, mgr->name, ret);
	}
	isolation_groups_put(groups, n);
}
EXPORT_SYMBOL_GPL(isolation_manager_claim_reserved);

/* Undo what @mgr set up on the members of @group without a driver. */
static void isolation_group_unprepare(struct isolation_group *group,
				      struct isolation_manager *mgr)
{
	struct isolation_member *member;
	struct device **devs = NULL;
	unsigned int i, n = 0;

	mutex_lock(&group->mutex);
	list_for_each_entry(member, &group->devices, list)
		n += group->manager == mgr && member->prepared &&
		     !member->driver;
	if (n)
		devs = kcalloc(n, sizeof(*devs), GFP_KERNEL);
	if (n && !devs)
		pr_err("group %d: cannot undo what %s set up: out of memory\n",
		       group->id, mgr->name);
	n = 0;
	list_for_each_entry(member, &group->devices, list)
		if (devs && group->manager == mgr && member->prepared &&
		    !member->driver)
			devs[n++] = get_device(member->dev);
	mutex_unlock(&group->mutex);

	/* The record goes once undone: see isolation_release_manager_driver(). */
	for (i = 0; i < n; i++) {
		mgr->ops->release_device(mgr, devs[i]);
		isolation_member_mark_prepared(group, devs[i], false);
		put_device(devs[i]);
	}
	kfree(devs);
}

/**
 * isolation_manager_unprepare - undo what a manager set up on unbound devices
 * @mgr: a registered manager
 *
 * For a manager whose driver for a bus is going (a module unloaded): each
 * device without a driver, in a group that @mgr holds (for a claim or a
 * reservation), is given back what &isolation_manager_ops.claim_device or
 * &isolation_manager_ops.prepare_device set up on it
 * (&isolation_manager_ops.release_device), so that none is left steered to
 * a driver that is gone and a release lets host drivers bind.  The groups
 * stay held; isolation_manager_claim_reserved() binds the reserved ones
 * again once the driver is back.
 *
 * Context: process context, may sleep.  Must not be called with any device
 * lock held.
 */
void isolation_manager_unprepare(struct isolation_manager *mgr)
{
	struct isolation_group **groups;
	unsigned int i, n = 0;

	if (!mgr->ops->release_device)
		return;
	mutex_lock(&isolation_manager_lock);
	groups = isolation_held_groups(mgr, &n);
	mutex_unlock(&isolation_manager_lock);
	if (!groups) {
		pr_err("%s: cannot undo the set-up of unbound devices: out of memory\n",
		       mgr->name);
		return;
	}
	for (i = 0; i < n; i++)
		isolation_group_unprepare(groups[i], mgr);
	isolation_groups_put(groups, n);
}
EXPORT_SYMBOL_GPL(isolation_manager_unprepare);

/*
 * The release of @group from @mgr, with @snap taken: see
 * isolation_group_release().
 */
static int __isolation_group_release(struct isolation_group *group,
				     struct isolation_manager *mgr,
				     struct isolation_snapshot *snap)
{
	unsigned int i, holds = 0;
	int ret = 0;

	mutex_lock(&group->mutex);
	if (group->manager != mgr) {
		ret = -EINVAL;
	} else if (group->reserved) {
		pr_info_ratelimited("group %d: not released: a reservation holds it; remove the reservation instead\n",
				    group->id);
		ret = -EBUSY;
	} else if (group->owner_cnt) {
		/*
		 * Unbinding the manager's drivers would wait for the user to
		 * let go of the devices, with the group busy meanwhile.
		 */
		pr_info_ratelimited("group %d: not released: a user of %s has its devices\n",
				    group->id, mgr->name);
		ret = -EBUSY;
	}
	mutex_unlock(&group->mutex);
	if (ret)
		return ret;

	for (i = 0; i < snap->n; i++)
		isolation_release_manager_driver(group, mgr, snap->m[i].dev,
						 true);
	isolation_group_drop_claim(group, mgr);

	mutex_lock(&group->mutex);
	if (group->manager == mgr)
		holds = group->holds + group->bound;
	mutex_unlock(&group->mutex);
	if (holds) {
		pr_info_ratelimited("group %d: still held by %s (%u holds): host drivers cannot probe\n",
				    group->id, mgr->name, holds);
		return -EBUSY;
	}
	/* Drivers that stayed (compatible ones) are left alone. */
	for (i = 0; i < snap->n; i++)
		isolation_probe_host(group, snap->m[i].dev);
	return 0;
}

/**
 * isolation_group_release - give a group back to host drivers, in one step
 * @group: the group; the caller holds a reference
 * @mgr: the manager that holds it
 *
 * Unbinds the manager's drivers (compatible drivers stay), each of which
 * held the group, lets the manager undo its per-device setup
 * (&isolation_manager_ops.release_device) and drops the hold of
 * isolation_group_claim().  Once no hold is left, the group is unmanaged
 * and host drivers probe its devices.
 *
 * Context: process context, may sleep.  Must not be called with any device
 * lock held.
 * Return: 0; -EINVAL if @mgr does not hold the group; -EBUSY, changing
 * nothing, if a claim or release is running, a reservation holds the
 * group, or a user of @mgr has the group's devices
 * (isolation_group_set_owner()), or, once its drivers are
 * unbound, if @mgr still holds the group (the devices then stay without a
 * driver); -ENOMEM.
 */
static int isolation_group_release(struct isolation_group *group,
				   struct isolation_manager *mgr)
{
	struct isolation_snapshot *snap;
	int ret;

	snap = isolation_snapshot_take(group);
	if (IS_ERR(snap))
		return PTR_ERR(snap);
	ret = __isolation_group_release(group, mgr, snap);
	isolation_snapshot_drop(group, snap);
	return ret;
}

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

/* The manager, or the one a reserved group waits for. */
static ssize_t manager_show(struct isolation_group *group, char *buf)
{
	ssize_t ret;

	mutex_lock(&group->mutex);
	ret = sysfs_emit(buf, "%s\n",
			 group->manager ? group->manager->name :
					  group->reserved_for);
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
		mgr = isolation_manager_load(name);
		if (!mgr) {
			pr_info_ratelimited("group %d: no manager named %s\n",
					    group->id, name);
			return -ENODEV;
		}
		ret = isolation_group_claim(group, mgr);
		if (ret)
			pr_info_ratelimited("group %d: claim for %s failed: %d\n",
					    group->id, name, ret);
	}
	module_put(mgr->owner);
	return ret;
}

/*
 * A manager's name as written to the "manager" file, into @name: ASCII
 * letters, digits, "-" and "_", at most ISOLATION_MANAGER_NAME_MAX of them
 * (the kernel's isalnum() takes Latin-1 letters too), and one newline at
 * most, at the end.  Empty means release.  Anything else, a NUL byte
 * anywhere among them, is garbage: -EINVAL, and nothing is done.
 */
static int isolation_parse_manager_name(const char *buf, size_t count,
					char *name)
{
	size_t i, len = count;

	if (len && buf[len - 1] == '\n')
		len--;
	if (len > ISOLATION_MANAGER_NAME_MAX)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (!isascii(buf[i]) ||
		    (!isalnum(buf[i]) && buf[i] != '-' && buf[i] != '_'))
			return -EINVAL;
	memcpy(name, buf, len);
	name[len] = '\0';
	return 0;
}

static ssize_t manager_store(struct isolation_group *group, const char *buf,
			     size_t count)
{
	char name[ISOLATION_MANAGER_NAME_MAX + 1];
	struct kernfs_node *kn;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = isolation_parse_manager_name(buf, count, name);
	if (ret)
		return ret;

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

/*
 * The members that keep the group from locking: with a manager or a
 * reservation, those on foreign drivers; without either, those on drivers
 * that no manager owns and that are not compatible, i.e. what a claim
 * would have to unbind.
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
		if (group->filtering) {
			blocks = member->foreign;
		} else {
			rcu_read_lock();
			blocks = drv && !drv->driver_managed_dma &&
				 !isolation_driver_manager(drv);
			rcu_read_unlock();
		}
		if (blocks)
			len += sysfs_emit_at(buf, len, "%s\n",
					     member->link_name);
	}
	mutex_unlock(&group->mutex);
	return len;
}

#define ISOLATION_GROUP_ATTR(_name, _mode)				\
	static struct isolation_group_attribute isolation_group_attr_##_name = \
		__ATTR(_name, _mode, _name##_show, NULL)

ISOLATION_GROUP_ATTR(provider, 0444);
ISOLATION_GROUP_ATTR(state, 0444);
ISOLATION_GROUP_ATTR(blockers, 0444);
static struct isolation_group_attribute isolation_group_attr_manager =
	__ATTR(manager, 0644, manager_show, manager_store);

static struct attribute *isolation_group_attrs[] = {
	&isolation_group_attr_provider.attr,
	&isolation_group_attr_manager.attr,
	&isolation_group_attr_state.attr,
	&isolation_group_attr_blockers.attr,
	NULL
};
ATTRIBUTE_GROUPS(isolation_group);

static const struct kobj_type isolation_group_ktype = {
	.sysfs_ops = &isolation_group_sysfs_ops,
	.default_groups = isolation_group_groups,
	.release = isolation_group_kobj_release,
};

/* A bound on reservations; their list must also fit its sysfs file. */
#define ISOLATION_MAX_RESERVATIONS	64

static void isolation_reservation_free(struct isolation_reservation *res)
{
	kfree(res->name);
	kfree(res);
}

/* The reservation of @name on @bus for @manager (any if NULL), or NULL. */
static struct isolation_reservation *
isolation_reservation_lookup_name(const struct bus_type *bus,
				  const char *name, const char *manager)
{
	struct isolation_reservation *res;

	lockdep_assert_held(&isolation_lock);

	list_for_each_entry(res, &isolation_reservations, node)
		if (res->bus == bus && !strcmp(res->name, name) &&
		    (!manager || !strcmp(res->manager, manager)))
			return res;
	return NULL;
}

/* A reservation of the device named @len bytes at @name, for @manager. */
static struct isolation_reservation *
isolation_reservation_new(const char *name, size_t len, const char *manager,
			  bool boot)
{
	struct isolation_reservation *res;

	res = kzalloc(sizeof(*res), GFP_KERNEL);
	if (!res)
		return NULL;
	res->name = kstrndup(name, len, GFP_KERNEL);
	if (!res->name) {
		kfree(res);
		return NULL;
	}
	strscpy(res->manager, manager);
	res->boot = boot;
	return res;
}

/* The length of @res's line in "reservations", "<manager>@<bus>:<name>\n". */
static size_t isolation_reservation_line_len(struct isolation_reservation *res)
{
	return strlen(res->manager) + strlen(res->name) + 3 +
	       (res->bus ? strlen(res->bus->name) : 0);
}

/*
 * Put @res, which names its bus, on the list.  Return 0; -EEXIST if a
 * reservation names the device already, -ENOSPC if there are too many,
 * or their list would not fit its file.
 */
static int isolation_reservation_insert(struct isolation_reservation *res)
{
	size_t len = isolation_reservation_line_len(res);
	struct isolation_reservation *r;
	unsigned int n = 0;

	lockdep_assert_held(&isolation_lock);

	if (isolation_reservation_lookup_name(res->bus, res->name, NULL))
		return -EEXIST;
	list_for_each_entry(r, &isolation_reservations, node) {
		n++;
		len += isolation_reservation_line_len(r);
	}
	list_for_each_entry(r, &isolation_pending_reservations, node) {
		n++;
		len += isolation_reservation_line_len(r);
	}
	if (n >= ISOLATION_MAX_RESERVATIONS || len >= PAGE_SIZE)
		return -ENOSPC;
	list_add_tail(&res->node, &isolation_reservations);
	return 0;
}

/*
 * Add a reservation of the device named @name on @bus for @manager.
 * Return 0; -EEXIST if a reservation names the device already, -ENOSPC if
 * there are too many, -ENOMEM.
 */
static int isolation_reservation_add(const struct bus_type *bus,
				     const char *name, const char *manager)
{
	struct isolation_reservation *res;
	int ret;

	res = isolation_reservation_new(name, strlen(name), manager, false);
	if (!res)
		return -ENOMEM;
	res->bus = bus;
	mutex_lock(&isolation_lock);
	ret = isolation_reservation_insert(res);
	mutex_unlock(&isolation_lock);
	if (ret)
		isolation_reservation_free(res);
	return ret;
}

/*
 * A new reservation names @dev: claim its group for @mgr, as a write to the
 * group's "manager" file does, and keep it reserved by the reservation, if
 * that is still there.  A device in no group and without a driver is left
 * alone: its provider applies the reservation as it places the device (an
 * IOMMU may meet a device only as a driver probes it).  One bound to a
 * driver in no group has not been placed by any IOMMU, and the reservation
 * could hold nothing now: -ENXIO (an IOMMU driver loaded later may still
 * place it; reserve it then).
 */
static int isolation_reserve_device(struct device *dev,
				    struct isolation_manager *mgr)
{
	struct isolation_reservation *res;
	struct isolation_group *group;
	bool bound;
	int ret;

	group = isolation_group_get_from_dev(dev);
	if (!group) {
		device_lock(dev);
		bound = dev->driver && !dev->isolation_group;
		device_unlock(dev);
		if (!bound)
			return 0;
		dev_info_ratelimited(dev, "not reserved for %s: the device is in no isolation group (no IOMMU isolates it)\n",
				     mgr->name);
		return -ENXIO;
	}
	ret = isolation_group_claim(group, mgr);
	if (!ret) {
		mutex_lock(&group->mutex);
		mutex_lock(&isolation_lock);
		res = isolation_reservation_lookup(dev);
		if (res && group->manager == mgr) {
			res->found = true;
			res->group = group;
			if (!group->reserved) {
				WRITE_ONCE(group->reserved, true);
				strscpy(group->reserved_for, mgr->name);
			}
		}
		mutex_unlock(&isolation_lock);
		mutex_unlock(&group->mutex);
	}
	isolation_group_put(group);
	return ret;
}

VISIBLE_IF_KUNIT int isolation_unreserve(const struct bus_type *bus,
					 const char *name, const char *manager);

/**
 * isolation_reserve - hold a device's group for a manager, now and later
 * @bus: the device's bus
 * @name: the device's name on @bus
 * @manager: the manager's name
 *
 * If the device is in a group, the group is claimed for @manager, as a
 * write of its name to the group's "manager" file does.  From then on, and
 * each time a provider places the device again (after a remove and
 * rescan, or a hot-unplug and re-plug), its group is held for @manager
 * before any driver is matched, or waits for @manager to register.
 *
 * Context: process context, may sleep.  Must not be called with any device
 * lock held.
 * Return: 0; -ENODEV if no manager is named @manager (one whose module
 * isolation-manager-<name> exists is loaded first); -ENXIO if the device
 * is bound to a driver but in no isolation group: no IOMMU isolates it;
 * -EEXIST if a reservation names the device already, -ENOSPC if there are
 * too many, -ENOMEM; the errors of a claim.  On failure no reservation is
 * left behind and every group is as it was.
 */
VISIBLE_IF_KUNIT int isolation_reserve(const struct bus_type *bus,
				       const char *name, const char *manager)
{
	struct isolation_manager *mgr;
	struct device *dev;
	int ret;

	mgr = isolation_manager_load(manager);
	if (!mgr) {
		pr_info_ratelimited("%s not reserved: no manager named %s\n",
				    name, manager);
		return -ENODEV;
	}
	ret = isolation_reservation_add(bus, name, manager);
	if (ret)
		goto out;
	dev = bus_find_device_by_name(bus, NULL, name);
	if (dev) {
		ret = isolation_reserve_device(dev, mgr);
		put_device(dev);
	}
	/* Through unreserve: a placement meanwhile may have applied it. */
	if (ret && isolation_unreserve(bus, name, manager))
		pr_err("%s: a failed reservation for %s could not be undone\n",
		       name, manager);
out:
	module_put(mgr->owner);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(isolation_reserve);

/*
 * Take out the reservation of @name on @bus for @manager (any if NULL),
 * which holds @group: -EAGAIN if it holds another group by now.  Checked
 * first, changed after: with the group busy, no claim, release or new
 * user of its manager comes between the checks and the release.  Unless
 * another reservation holds the group, it is reserved no more, and is let
 * go as a release does, or, if it waited for its manager, its devices
 * probe their host drivers.
 */
static int isolation_group_unreserve(struct isolation_group *group,
				     const struct bus_type *bus,
				     const char *name, const char *manager)
{
	struct isolation_reservation *res = NULL;
	struct isolation_manager *mgr = NULL;
	struct isolation_snapshot *snap;
	bool let_go = false, waited = false;
	enum isolation_state old;
	unsigned int i;
	int ret = 0;

	snap = isolation_snapshot_take(group);
	if (IS_ERR(snap))
		return PTR_ERR(snap);

	mutex_lock(&group->mutex);
	if (group->owner_cnt) {
		pr_info_ratelimited("group %d: reservation of %s kept: a user of its manager has its devices\n",
				    group->id, name);
		ret = -EBUSY;
		goto unlock;
	}
	mutex_lock(&isolation_lock);
	res = isolation_reservation_lookup_name(bus, name, manager);
	if (!res) {
		ret = -ENODEV;
	} else if (res->group != group) {
		ret = -EAGAIN;
	} else {
		list_del(&res->node);
		let_go = group->reserved &&
			 !isolation_group_held_by_reservation(group);
	}
	mutex_unlock(&isolation_lock);
	if (ret)
		res = NULL;	/* not ours to free */
	if (!let_go)
		goto unlock;

	old = __isolation_group_state(group);
	WRITE_ONCE(group->reserved, false);
	group->reserved_for[0] = '\0';
	waited = !group->manager;
	if (waited) {
		mutex_lock(&isolation_lock);
		list_del_init(&group->manager_node);
		mutex_unlock(&isolation_lock);
		isolation_group_refilter(group);
	} else if (try_module_get(group->manager->owner)) {
		mgr = group->manager;
	}
	/* else: a manager that is going lets the group go itself. */
	isolation_group_changed(group, old, NULL);
unlock:
	mutex_unlock(&group->mutex);

	if (let_go && waited) {
		for (i = 0; i < snap->n; i++)
			isolation_probe_host(group, snap->m[i].dev);
	} else if (mgr) {
		ret = __isolation_group_release(group, mgr, snap);
		module_put(mgr->owner);
	}
	isolation_snapshot_drop(group, snap);
	if (res)
		isolation_reservation_free(res);
	return ret;
}

/**
 * isolation_unreserve - take out a reservation
 * @bus: the device's bus
 * @name: the device's name on @bus
 * @manager: the manager the reservation is for, or NULL for any
 *
 * Unless another reservation holds the group that this one holds (the
 * device's, or the one it left, removed on its own), the group is let go
 * as a release does: its manager's drivers are unbound and host drivers
 * probe its devices.  Everything that can refuse is checked first.
 *
 * Context: process context, may sleep.  Must not be called with any device
 * lock held.
 * Return: 0; -ENODEV if no such reservation; -EBUSY, changing nothing, if a
 * user of the manager has the group's devices or a claim or release of it
 * is running; -ENOMEM, changing nothing; once the reservation is gone, the
 * errors of a release that fails past its checks (the group's devices then
 * stay without a driver).
 */
VISIBLE_IF_KUNIT int isolation_unreserve(const struct bus_type *bus,
					 const char *name, const char *manager)
{
	struct isolation_reservation *res;
	struct isolation_group *group;
	int ret;

	do {
		mutex_lock(&isolation_lock);
		res = isolation_reservation_lookup_name(bus, name, manager);
		group = res && res->group ? isolation_group_get(res->group) :
					    NULL;
		/* A reservation that holds no group has nothing to undo. */
		if (res && !group)
			list_del(&res->node);
		mutex_unlock(&isolation_lock);
		if (!res)
			return -ENODEV;
		if (!group) {
			isolation_reservation_free(res);
			return 0;
		}
		ret = isolation_group_unreserve(group, bus, name, manager);
		isolation_group_put(group);
	} while (ret == -EAGAIN);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(isolation_unreserve);

/*
 * The bus whose device @len bytes at @s name, into @name as the bus names
 * it, or NULL: "<bus>:<device>", or a bare device name that a bus takes,
 * the first registered that does (so that a bus which registers later
 * cannot take over names written for an earlier one); @only, if not NULL,
 * is the one bus asked.
 */
static const struct bus_type *
isolation_bus_parse(const struct isolation_bus *only, const char *s,
		    size_t len, char *name)
{
	const char *colon = memchr(s, ':', len);
	const struct isolation_bus *ib;
	size_t n;

	lockdep_assert_held(&isolation_lock);

	list_for_each_entry(ib, &isolation_buses, node) {
		n = strlen(ib->bus->name);
		if ((only && ib != only) || colon != s + n ||
		    memcmp(s, ib->bus->name, n))
			continue;
		if (len - n - 1 >= ISOLATION_DEV_NAME_MAX ||
		    ib->parse_name(colon + 1, len - n - 1, name))
			return NULL;
		return ib->bus;
	}
	if (len >= ISOLATION_DEV_NAME_MAX)
		return NULL;
	list_for_each_entry(ib, &isolation_buses, node)
		if ((!only || ib == only) && !ib->parse_name(s, len, name))
			return ib->bus;
	return NULL;
}

/*
 * "<manager>@<device>", or with @manager NULL a bare "<device>", in @len
 * bytes of @s (a newline at the end is dropped): the manager's name into
 * @manager, and where the device part is, unparsed, into @dev and @dev_len.
 * A device part is printable, without '@' or ',', not empty, and short
 * enough for a bus and a device name (isolation_bus_parse() bounds each).
 */
static int isolation_split_reservation(const char *s, size_t len,
				       char *manager, const char **dev,
				       size_t *dev_len)
{
	const char *at;
	size_t i;
	int ret;

	if (len && s[len - 1] == '\n')
		len--;
	at = memchr(s, '@', len);
	if (!at && manager)
		return -EINVAL;
	if (at) {
		if (!manager || at == s || memchr(s, '\n', at - s))
			return -EINVAL;
		ret = isolation_parse_manager_name(s, at - s, manager);
		if (ret)
			return ret;
		len -= at + 1 - s;
		s = at + 1;
	}
	if (!len || len >= 2 * ISOLATION_DEV_NAME_MAX)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (!isascii(s[i]) || !isgraph(s[i]) || s[i] == '@' ||
		    s[i] == ',')
			return -EINVAL;
	*dev = s;
	*dev_len = len;
	return 0;
}

/*
 * As isolation_split_reservation(), with the device looked up among the
 * buses: its bus into *@bus and its name into @name.
 */
static int isolation_parse_reservation(const char *s, size_t len,
				       char *manager,
				       const struct bus_type **bus,
				       char *name)
{
	const char *dev;
	size_t dev_len;
	int ret;

	ret = isolation_split_reservation(s, len, manager, &dev, &dev_len);
	if (ret)
		return ret;
	mutex_lock(&isolation_lock);
	*bus = isolation_bus_parse(NULL, dev, dev_len, name);
	mutex_unlock(&isolation_lock);
	if (!*bus) {
		pr_info_ratelimited("\"%.*s\" names no device: neither <bus>:<device> nor a device name that a bus taking reservations takes\n",
				    (int)dev_len, dev);
		return -EINVAL;
	}
	return 0;
}

static ssize_t reservations_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	struct isolation_reservation *res;
	int len = 0;

	mutex_lock(&isolation_lock);
	list_for_each_entry(res, &isolation_reservations, node)
		len += sysfs_emit_at(buf, len, "%s@%s:%s\n", res->manager,
				     res->bus->name, res->name);
	mutex_unlock(&isolation_lock);
	return len;
}

static ssize_t reserve_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	char manager[ISOLATION_MANAGER_NAME_MAX + 1];
	char name[ISOLATION_DEV_NAME_MAX];
	const struct bus_type *bus;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = isolation_parse_reservation(buf, count, manager, &bus, name);
	if (ret)
		return ret;
	ret = isolation_reserve(bus, name, manager);
	return ret ?: count;
}

/* "<manager>@<device>" as "reservations" lists it, or the device. */
static ssize_t unreserve_store(struct kobject *kobj,
			       struct kobj_attribute *attr, const char *buf,
			       size_t count)
{
	char manager[ISOLATION_MANAGER_NAME_MAX + 1] = "";
	char name[ISOLATION_DEV_NAME_MAX];
	bool named = memchr(buf, '@', count);
	const struct bus_type *bus;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = isolation_parse_reservation(buf, count, named ? manager : NULL,
					  &bus, name);
	if (ret)
		return ret;
	ret = isolation_unreserve(bus, name, named ? manager : NULL);
	return ret ?: count;
}

static struct kobj_attribute isolation_attr_reservations =
	__ATTR_RO(reservations);
static struct kobj_attribute isolation_attr_reserve = __ATTR_WO(reserve);
static struct kobj_attribute isolation_attr_unreserve = __ATTR_WO(unreserve);

static const struct attribute *isolation_reservation_attrs[] = {
	&isolation_attr_reservations.attr,
	&isolation_attr_reserve.attr,
	&isolation_attr_unreserve.attr,
	NULL
};

/* The values of isolation.reserve=, until isolation_init() reads them. */
#define ISOLATION_RESERVE_PARAMS	8
static char *isolation_reserve_params[ISOLATION_RESERVE_PARAMS] __initdata;

static int __init isolation_reserve_setup(char *list)
{
	unsigned int i;

	for (i = 0; i < ISOLATION_RESERVE_PARAMS; i++) {
		if (!isolation_reserve_params[i]) {
			isolation_reserve_params[i] = list;
			return 1;
		}
	}
	pr_err("isolation.reserve: given more than %d times: ignoring \"%s\"\n",
	       ISOLATION_RESERVE_PARAMS, list);
	return 1;
}
__setup("isolation.reserve=", isolation_reserve_setup);

/*
 * Make the reservations of the kernel command line whose device the bus of
 * @ib (or, if NULL, any registered bus) names, saying what it ignores.
 */
static void isolation_take_pending(const struct isolation_bus *ib)
{
	struct isolation_reservation *res, *tmp;
	char name[ISOLATION_DEV_NAME_MAX];
	const struct bus_type *bus;
	char *written;
	int ret;

	lockdep_assert_held(&isolation_lock);

	list_for_each_entry_safe(res, tmp, &isolation_pending_reservations,
				 node) {
		bus = isolation_bus_parse(ib, res->name, strlen(res->name),
					  name);
		if (!bus)
			continue;
		list_del(&res->node);
		written = res->name;
		res->name = kstrdup(name, GFP_KERNEL);
		res->bus = bus;
		ret = res->name ? isolation_reservation_insert(res) : -ENOMEM;
		if (ret == -EEXIST)
			pr_err("isolation.reserve: ignoring \"%s@%s\": %s:%s is reserved already\n",
			       res->manager, written, bus->name, name);
		else if (ret)
			pr_err("isolation.reserve: ignoring \"%s@%s\": %d\n",
			       res->manager, written, ret);
		kfree(written);
		if (ret)
			isolation_reservation_free(res);
	}
}

/**
 * isolation_bus_register - let reservations name the devices of a bus
 * @ib: the bus, and how it names its devices; in use until
 *	isolation_bus_unregister()
 *
 * Reservations of the kernel command line that name a device of @ib's bus
 * and waited for it are added now, to be applied as the bus's devices are
 * placed: a bus registers before any of its devices is placed (the PCI
 * core does so at postcore_initcall), and for good, as its reservations
 * keep pointing at it.  Only built-in code registers; the KUnit suite
 * registers a bus for a case and unregisters it.
 *
 * Context: process context, may sleep.
 * Return: 0; -EINVAL without a bus or a parser, -EEXIST if the bus has one.
 */
int isolation_bus_register(struct isolation_bus *ib)
{
	struct isolation_bus *b;

	if (!ib->bus || !ib->bus->name || !ib->parse_name)
		return -EINVAL;
	mutex_lock(&isolation_lock);
	list_for_each_entry(b, &isolation_buses, node) {
		if (b->bus == ib->bus) {
			mutex_unlock(&isolation_lock);
			return -EEXIST;
		}
	}
	list_add_tail(&ib->node, &isolation_buses);
	isolation_take_pending(ib);
	mutex_unlock(&isolation_lock);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(isolation_bus_register);

/**
 * isolation_bus_unregister - reservations name the devices of a bus no more
 * @ib: as given to isolation_bus_register()
 *
 * For the KUnit suite, which takes out the reservations of the bus's
 * devices first: one left would keep pointing at the bus, and could not be
 * named to take it out.
 *
 * Context: process context, may sleep.
 */
void isolation_bus_unregister(struct isolation_bus *ib)
{
	mutex_lock(&isolation_lock);
	list_del(&ib->node);
	mutex_unlock(&isolation_lock);
}
EXPORT_SYMBOL_IF_KUNIT(isolation_bus_unregister);

/*
 * Keep the reservations of one isolation.reserve= until a bus takes them,
 * saying what it ignores.
 */
static void __init isolation_reserve_parse(char *list)
{
	char manager[ISOLATION_MANAGER_NAME_MAX + 1];
	struct isolation_reservation *res;
	const char *dev;
	size_t dev_len;
	char *entry;
	int ret;

	while ((entry = strsep(&list, ","))) {
		ret = isolation_split_reservation(entry, strlen(entry), manager,
						  &dev, &dev_len);
		if (ret) {
			pr_err("isolation.reserve: ignoring \"%s\": not <manager>@[<bus>:]<device>\n",
			       entry);
			continue;
		}
		res = isolation_reservation_new(dev, dev_len, manager, true);
		if (!res) {
			pr_err("isolation.reserve: ignoring \"%s\": %d\n", entry,
			       -ENOMEM);
			continue;
		}
		mutex_lock(&isolation_lock);
		list_add_tail(&res->node, &isolation_pending_reservations);
		mutex_unlock(&isolation_lock);
	}
}

/*
 * Say which reservations of the kernel command line met no device during
 * boot (a typo, or a device that is not there yet), and which hold a group
 * for a manager that has not registered (a module loaded later, or a
 * misspelt name, which nothing else would ever tell).  They stay: for a
 * device that a hotplug or a provider loaded later brings, for the
 * manager's module.
 */
static int __init isolation_reserve_report(void)
{
	struct isolation_reservation *res, *tmp;

	mutex_lock(&isolation_lock);
	list_for_each_entry_safe(res, tmp, &isolation_pending_reservations,
				 node) {
		pr_err("isolation.reserve: ignoring \"%s@%s\": no bus names a device so\n",
		       res->manager, res->name);
		list_del(&res->node);
		isolation_reservation_free(res);
	}
	list_for_each_entry(res, &isolation_reservations, node) {
		if (!res->boot)
			continue;
		if (!res->found)
			pr_warn("isolation.reserve: no device %s:%s has joined an isolation group during boot; the reservation for %s waits for one\n",
				res->bus->name, res->name, res->manager);
		else if (!isolation_manager_find(res->manager))
			pr_notice("isolation.reserve: %s@%s:%s: no manager named %s has registered during boot; the device's group admits only drivers that do no DMA until one does (a module loaded later, or a misspelt name)\n",
				  res->manager, res->bus->name, res->name,
				  res->manager);
	}
	mutex_unlock(&isolation_lock);
	return 0;
}
late_initcall_sync(isolation_reserve_report);

static int __init isolation_init(void)
{
	unsigned int i;

	isolation_groups_kset = kset_create_and_add("isolation_groups", NULL,
						    kernel_kobj);
	if (!isolation_groups_kset) {
		pr_err("cannot create /sys/kernel/isolation_groups\n");
		return -ENOMEM;
	}
	if (sysfs_create_files(&isolation_groups_kset->kobj,
			       isolation_reservation_attrs))
		pr_err("cannot create the reservation files\n");
	for (i = 0; i < ISOLATION_RESERVE_PARAMS; i++)
		if (isolation_reserve_params[i])
			isolation_reserve_parse(isolation_reserve_params[i]);
	/* The buses registered before us. */
	mutex_lock(&isolation_lock);
	isolation_take_pending(NULL);
	mutex_unlock(&isolation_lock);
	return 0;
}
postcore_initcall(isolation_init);
