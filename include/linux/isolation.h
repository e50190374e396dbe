/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device isolation groups
 *
 * An isolation group is a set of devices between which the platform
 * guarantees no isolation: they may reach each other by peer-to-peer DMA,
 * or share a requester ID.  Between groups an IOMMU guarantees it.  A
 * device is in at most one group.
 *
 * Providers (the IOMMU drivers) build the groups.  A manager (VFIO) takes
 * whole groups: while it holds one, the group's devices only bind to the
 * manager's drivers, or to drivers that do no DMA of their own; the group
 * is locked once no device is bound to any other driver.  A device bound to
 * one of the manager's drivers holds its group for the manager, and so
 * does a claim from userspace; the group is let go when the last hold goes.
 * A reservation names a device and a manager: the device's group is held
 * for the manager from the moment the device is placed, or waits for the
 * manager to register.
 *
 * See Documentation/driver-api/isolation.rst.
 */
#ifndef _LINUX_ISOLATION_H
#define _LINUX_ISOLATION_H

#include <linux/err.h>
#include <linux/list.h>
#include <linux/types.h>

struct device;
struct device_driver;
struct isolation_group;
struct module;

/**
 * struct isolation_provider - something that builds isolation groups
 * @name: shown in each group's "provider" file, e.g. "intel-iommu"
 * @node: private to the isolation core
 * @groups: private to the isolation core
 */
struct isolation_provider {
	const char *name;
	struct list_head node;
	struct list_head groups;
};

/**
 * enum isolation_state - who may bind drivers to a group's devices
 * @ISOLATION_GROUP_UNMANAGED: no manager; any driver may bind
 * @ISOLATION_GROUP_RESERVED: a reservation holds the group for a manager
 *	that has not registered; only compatible drivers bind
 * @ISOLATION_GROUP_MANAGED: a manager holds the group, but some device is
 *	still bound to a driver that is neither the manager's nor compatible
 * @ISOLATION_GROUP_LOCKED: a manager holds the group and every device is
 *	bound to one of its drivers, to a compatible driver, or to none
 */
enum isolation_state {
	ISOLATION_GROUP_UNMANAGED,
	ISOLATION_GROUP_RESERVED,
	ISOLATION_GROUP_MANAGED,
	ISOLATION_GROUP_LOCKED,
};

/**
 * enum isolation_event - what a manager is told about the groups it holds
 * @ISOLATION_EVENT_DEVICE_ADDED: a device joined the group; a hot-added
 *	device has no driver yet, one a provider places late may have any
 * @ISOLATION_EVENT_DEVICE_REMOVED: a device left the group
 * @ISOLATION_EVENT_LOCKED: the group became locked
 * @ISOLATION_EVENT_UNLOCKED: the group stopped being locked: a device is
 *	bound to a foreign driver, or the manager let the group go
 */
enum isolation_event {
	ISOLATION_EVENT_DEVICE_ADDED,
	ISOLATION_EVENT_DEVICE_REMOVED,
	ISOLATION_EVENT_LOCKED,
	ISOLATION_EVENT_UNLOCKED,
};

struct isolation_manager;

/**
 * struct isolation_manager_ops - what a manager does for the isolation core
 * @notify: told of each &enum isolation_event on a group it holds.  Called
 *	with the group's mutex held, and maybe a device lock: it must not
 *	take any device lock, call into the isolation core for this group,
 *	nor bind or unbind drivers.  @dev is NULL for the group events.
 *	Optional.
 * @check_device: whether a claim can take @dev, a device without a driver
 *	or whose foreign driver the claim is about to unbind: 0, or an error
 *	that refuses the claim before anything changes, said in the log.
 *	Called with no lock held.  Optional.
 * @claim_device: bind @dev, which has no driver, to one of the manager's
 *	drivers, for a claim from userspace (the "manager" file).  Called
 *	with no lock held.  Return 1 if it set @dev up in a way that
 *	@release_device must undo, 0 if not (also for a device the manager
 *	leaves unbound, a bridge), or an error that undoes the claim, having
 *	undone its own set-up.  Optional: without it every such device stays
 *	unbound.
 * @release_device: undo what @claim_device or @prepare_device set up on
 *	@dev, once it has no driver of the manager's: before host drivers
 *	probe it again on release, and when the manager's driver goes
 *	(isolation_manager_unprepare()).  Called for each set-up, with no
 *	lock held; maybe twice for one, when the manager's driver goes
 *	during a release: undoing must be harmless to repeat.  Optional.
 * @prepare_device: make @dev, which has no driver, bind to one of the
 *	manager's drivers when its bus next probes it (for PCI, a
 *	driver_override), for a group that the manager holds for a
 *	reservation: as the device joins it, before its bus probes it, or
 *	as the manager takes the group.  Called with the group's mutex held,
 *	and maybe the device lock: the rules of @notify.  Return true if it
 *	set @dev up, which @release_device then undoes.  Optional: without
 *	it such devices stay unbound until isolation_manager_claim_reserved().
 */
struct isolation_manager_ops {
	void (*notify)(struct isolation_manager *mgr,
		       struct isolation_group *group, struct device *dev,
		       enum isolation_event event);
	int (*check_device)(struct isolation_manager *mgr, struct device *dev);
	int (*claim_device)(struct isolation_manager *mgr, struct device *dev);
	void (*release_device)(struct isolation_manager *mgr,
			       struct device *dev);
	bool (*prepare_device)(struct isolation_manager *mgr,
			       struct device *dev);
};

/**
 * struct isolation_manager - something that takes whole isolation groups
 * @name: its name in the groups' "manager" file, e.g. "vfio"
 * @owner: the module that provides it, pinned while userspace claims
 * @ops: its callbacks
 * @node: private to the isolation core
 * @drivers: private to the isolation core
 * @groups: private to the isolation core
 */
struct isolation_manager {
	const char *name;
	struct module *owner;
	const struct isolation_manager_ops *ops;
	struct list_head node;
	struct list_head drivers;
	struct list_head groups;
};

/* The longest device name a reservation takes, with its NUL. */
#define ISOLATION_DEV_NAME_MAX	64

/**
 * struct isolation_bus - a bus whose devices reservations can name
 * @bus: the bus; a reservation names it as "<bus name>:<device>"
 * @parse_name: turn @len bytes at @s, which a user wrote for a device of
 *	@bus, into the name that @bus gives that device (its dev_name()),
 *	NUL-terminated, in @name, of ISOLATION_DEV_NAME_MAX bytes (@len is
 *	less than that).  It may accept the forms
 *	users write (e.g. in either case, a part left out) and must accept
 *	the name itself.  Return 0, or -EINVAL if @s cannot name a device of
 *	@bus.  Called under the isolation core's lock: it must not sleep on
 *	anything the core may wait for, and should only read @s.
 * @node: private to the isolation core
 *
 * A bus registers one so that the kernel command line and the
 * reservation files can name its devices; the isolation core knows no
 * bus's names of its own.
 */
struct isolation_bus {
	const struct bus_type *bus;
	int (*parse_name)(const char *s, size_t len, char *name);
	struct list_head node;
};

#ifdef CONFIG_ISOLATION

int isolation_bus_register(struct isolation_bus *ib);
void isolation_bus_unregister(struct isolation_bus *ib);

int isolation_provider_register(struct isolation_provider *prov);
void isolation_provider_unregister(struct isolation_provider *prov);

struct isolation_group *isolation_group_alloc(struct isolation_provider *prov);
void isolation_group_put(struct isolation_group *group);
int isolation_group_id(struct isolation_group *group);
struct isolation_group *isolation_group_get_from_dev(struct device *dev);

int isolation_group_add_device(struct isolation_group *group,
			       struct device *dev, const char *reason);
void isolation_group_remove_device(struct device *dev);
void isolation_group_mark_incomplete(struct isolation_group *group,
				     struct device *dev);
void isolation_device_mark_unplaced(struct device *dev);
bool isolation_device_unplaced(struct device *dev);
unsigned int isolation_unplaced_count(void);

int isolation_manager_register(struct isolation_manager *mgr);
void isolation_manager_unregister(struct isolation_manager *mgr);
int isolation_manager_add_driver(struct isolation_manager *mgr,
				 const struct device_driver *drv);
void isolation_manager_remove_driver(struct isolation_manager *mgr,
				     const struct device_driver *drv);
bool isolation_manager_owns(struct isolation_manager *mgr,
			    const struct device_driver *drv);
void isolation_manager_claim_reserved(struct isolation_manager *mgr);
void isolation_manager_unprepare(struct isolation_manager *mgr);

enum isolation_state
isolation_group_state(struct isolation_group *group);
int isolation_group_check_locked(struct isolation_group *group,
				 struct isolation_manager *mgr);
int isolation_group_set_owner(struct isolation_group *group,
			      struct isolation_manager *mgr, const void *owner);
void isolation_group_clear_owner(struct isolation_group *group,
				 struct isolation_manager *mgr,
				 const void *owner);

#else /* !CONFIG_ISOLATION */

static inline int isolation_bus_register(struct isolation_bus *ib)
{
	return 0;
}

static inline void isolation_bus_unregister(struct isolation_bus *ib)
{
}

static inline int isolation_provider_register(struct isolation_provider *prov)
{
	return 0;
}

static inline void
isolation_provider_unregister(struct isolation_provider *prov)
{
}

static inline struct isolation_group *
isolation_group_alloc(struct isolation_provider *prov)
{
	return ERR_PTR(-ENODEV);
}

static inline void isolation_group_put(struct isolation_group *group)
{
}

static inline int isolation_group_id(struct isolation_group *group)
{
	return -ENODEV;
}

static inline struct isolation_group *
isolation_group_get_from_dev(struct device *dev)
{
	return NULL;
}

static inline int isolation_group_add_device(struct isolation_group *group,
					     struct device *dev,
					     const char *reason)
{
	return -ENODEV;
}

static inline void isolation_group_remove_device(struct device *dev)
{
}

static inline void
isolation_group_mark_incomplete(struct isolation_group *group,
				struct device *dev)
{
}

static inline void isolation_device_mark_unplaced(struct device *dev)
{
}

static inline bool isolation_device_unplaced(struct device *dev)
{
	return false;
}

static inline unsigned int isolation_unplaced_count(void)
{
	return 0;
}

static inline int isolation_manager_register(struct isolation_manager *mgr)
{
	return 0;
}

static inline void isolation_manager_unregister(struct isolation_manager *mgr)
{
}

static inline int
isolation_manager_add_driver(struct isolation_manager *mgr,
			     const struct device_driver *drv)
{
	return 0;
}

static inline void
isolation_manager_remove_driver(struct isolation_manager *mgr,
				const struct device_driver *drv)
{
}

static inline bool isolation_manager_owns(struct isolation_manager *mgr,
					  const struct device_driver *drv)
{
	return false;
}

static inline void
isolation_manager_claim_reserved(struct isolation_manager *mgr)
{
}

static inline void isolation_manager_unprepare(struct isolation_manager *mgr)
{
}

static inline enum isolation_state
isolation_group_state(struct isolation_group *group)
{
	return ISOLATION_GROUP_UNMANAGED;
}

static inline int
isolation_group_check_locked(struct isolation_group *group,
			     struct isolation_manager *mgr)
{
	return -ENODEV;
}

static inline int isolation_group_set_owner(struct isolation_group *group,
					    struct isolation_manager *mgr,
					    const void *owner)
{
	return -ENODEV;
}

static inline void
isolation_group_clear_owner(struct isolation_group *group,
			    struct isolation_manager *mgr, const void *owner)
{
}

#endif /* CONFIG_ISOLATION */

#endif /* _LINUX_ISOLATION_H */
