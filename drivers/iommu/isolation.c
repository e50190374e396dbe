// SPDX-License-Identifier: GPL-2.0
/*
 * Isolation groups from the IOMMU core
 *
 * An IOMMU driver provides isolation groups
 * (Documentation/driver-api/isolation.rst) by registering a provider for its
 * iommu_ops with iommu_isolation_register().  The IOMMU core then puts every
 * device that it probes for the driver into an isolation group, here, as
 * soon as the device is in its iommu group: when the device is added to its
 * bus, when the IOMMU registers, or when a driver's dma_configure() finds
 * the IOMMU (the firmware "replay", as virtio-iommu's devices do), before
 * the driver probes.  So the rules are written once for every IOMMU, and
 * each driver adds only its registration:
 *
 * - An isolation group is a union of whole iommu groups: a device whose
 *   iommu group has a member in an isolation group joins that group.
 *
 * - PCI devices are grouped by the rules that pci_device_group() applies
 *   to iommu groups.  DMA aliases: everything behind a bridge that takes
 *   over the requester ID (pci_for_each_dma_alias()) shares a group, and
 *   so do devices that PCI quirks make aliases of each other.  ACS: from
 *   there up to the root, a bridge without ACS (SV, RR, CR, UF) takes
 *   everything below it into one group.  Functions of a multifunction
 *   device without ACS share a group.  One rule is coarser on purpose: a
 *   switch one of whose downstream ports lacks ACS routes peer-to-peer
 *   traffic from that port to every other, so everything below the
 *   switch shares one group, where pci_device_group() gives each port
 *   its own.  The rules look up isolation groups rather than iommu groups,
 *   and walk the device's path to the root and its own bus rather than
 *   every PCI device, so that grouping N devices stays linear; hence this
 *   copy rather than a call to pci_device_group().
 *
 * - A rule ties a device to a bridge, port or function, usually upstream of
 *   it.  Devices are met in any order (virtio-iommu meets them as their
 *   drivers probe, not parents first), so a device tied to a bridge that is
 *   in no group yet joins a group already below that bridge, and a bridge
 *   that ties the devices below it joins theirs.
 *
 * A device whose rules point to two different groups, or whose placement
 * fails, is left out of every group and logged, and the groups it belongs
 * in can no longer be locked (isolation_group_mark_incomplete()).  That
 * holds for a failure before those groups are known, too: the first
 * device of a group that could not be allocated, a placement that could
 * not be deferred, a device that its IOMMU failed to probe.  Such a device
 * is marked unplaced (isolation_device_mark_unplaced()), and each later
 * placement asks it again where it belongs, so that the groups that form
 * around it, below the same switch for one, cannot be locked either.
 * iommu_isolation_check() refuses to hand out a device that should be in a
 * group and is not, or whose iommu group is not whole in its isolation
 * group: an isolation group must never be finer than the hardware isolates.
 *
 * Each member records the rule that placed it and its IOMMU unit (the name
 * of its iommu_device in /sys/class/iommu), e.g. "behind PCIe-to-PCI
 * bridge 0000:02:00.0 (dmar0)".
 *
 * Locking: a device is placed with its device lock held, so that no driver
 * binds meanwhile.  iommu_isolation_lock serialises placements, so that
 * devices tied to each other find each other's groups, and protects the
 * providers; it nests inside the device lock and outside the locks of the
 * isolation core and of iommu groups.  A caller that may hold other device
 * locks (an IOMMU registering from a driver's probe) only tries the device
 * lock, and defers the placement to a work item if it cannot have it.
 */

#define pr_fmt(fmt) "iommu: isolation: " fmt

#include <kunit/visibility.h>
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/isolation.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "iommu-priv.h"

#define ISOLATION_REASON_LEN	128
#define MF_REASON		"function of multifunction device %s without ACS"
#define SWITCH_REASON		"below switch %s, a downstream port of which has no ACS"

static DEFINE_MUTEX(iommu_isolation_lock);
static LIST_HEAD(iommu_isolation_providers);	/* of struct iommu_isolation */
static LIST_HEAD(iommu_isolation_deferred);	/* of struct iommu_isolation_deferral */

/* A placement or a removal that waits for the device lock. */
struct iommu_isolation_deferral {
	struct list_head node;
	struct device *dev;		/* with a reference */
	bool remove;
};

/* Where a device goes, and why. */
struct iommu_isolation_place {
	struct isolation_group *group;	/* with a reference, or NULL: a new one */
	struct isolation_group *other;	/* a second one, with a reference */
	char reason[ISOLATION_REASON_LEN];
};

/* The provider for @dev's IOMMU, or NULL. */
static struct isolation_provider *iommu_isolation_provider(struct device *dev)
{
	const struct iommu_ops *ops;
	struct iommu_isolation *iso;

	lockdep_assert_held(&iommu_isolation_lock);

	if (!dev->iommu || !dev->iommu->iommu_dev)
		return NULL;
	ops = dev_iommu_ops(dev);
	list_for_each_entry(iso, &iommu_isolation_providers, node)
		if (iso->ops == ops)
			return &iso->provider;
	return NULL;
}

/* The IOMMU unit of @dev as /sys/class/iommu names it, or NULL. */
static const char *iommu_isolation_unit(struct device *dev)
{
	struct iommu_device *iommu = dev->iommu ? dev->iommu->iommu_dev : NULL;

	return iommu && iommu->dev ? dev_name(iommu->dev) : NULL;
}

/*
 * A walk's callback: stop at the first device in an isolation group, and
 * keep a reference on that group, before the device can go.
 */
static int iommu_isolation_find_grouped(struct device *dev, void *data)
{
	struct isolation_group **group = data;

	*group = isolation_group_get_from_dev(dev);
	return !!*group;
}

#ifdef CONFIG_PCI
static int iommu_isolation_find_grouped_pci(struct pci_dev *pdev, void *data)
{
	return iommu_isolation_find_grouped(&pdev->dev, data);
}

/* A group of a device below @bridge, with a reference, or NULL. */
static struct isolation_group *iommu_isolation_group_below(struct pci_dev *bridge)
{
	struct isolation_group *group = NULL;

	if (bridge->subordinate)
		pci_walk_bus(bridge->subordinate,
			     iommu_isolation_find_grouped_pci, &group);
	return group;
}

/*
 * @pdev's rules tie it to @owner, a bridge, port or function: take
 * @owner's group into @place, or else the group of a device below @owner,
 * which the same rule ties to @owner.  The reason names the rule either
 * way, also for a new group.  Return 1 if there was a group, 0 if not.
 */
static int iommu_isolation_join(struct iommu_isolation_place *place,
				struct pci_dev *owner, const char *fmt)
{
	snprintf(place->reason, ISOLATION_REASON_LEN, fmt, pci_name(owner));
	place->group = isolation_group_get_from_dev(&owner->dev);
	if (!place->group)
		place->group = iommu_isolation_group_below(owner);
	return !!place->group;
}

/* pci_for_each_dma_alias() callback: stop at the first alias with a group. */
static int iommu_isolation_alias(struct pci_dev *pdev, u16 alias, void *data)
{
	struct pci_dev **top = data;

	*top = pdev;
	return !!READ_ONCE(pdev->dev.isolation_group);
}

static bool iommu_isolation_mf_open(struct pci_dev *pdev)
{
	return pdev->multifunction && !pci_acs_enabled(pdev, REQ_ACS_FLAGS);
}

/*
 * The upstream port of the switch that @bus is inside of, if a downstream
 * port of that switch lacks ACS: the switch then routes peer-to-peer
 * traffic between its ports, so everything below it shares one group.
 */
static struct pci_dev *iommu_isolation_open_switch(struct pci_bus *bus)
{
	struct pci_dev *up = bus->self, *port;
	bool open = false;
	int devfn;

	if (!up || !pci_is_pcie(up) ||
	    pci_pcie_type(up) != PCI_EXP_TYPE_UPSTREAM)
		return NULL;
	for (devfn = 0; devfn < 256 && !open; devfn++) {
		port = pci_get_slot(bus, devfn);
		open = port && pci_is_pcie(port) &&
		       pci_pcie_type(port) == PCI_EXP_TYPE_DOWNSTREAM &&
		       !pci_acs_enabled(port, REQ_ACS_FLAGS);
		pci_dev_put(port);
	}
	return open ? up : NULL;
}

/*
 * Whether @pdev, a bridge, ties every device below it to itself: it takes
 * over their requester ID, or it is a port without ACS, or the upstream
 * port of a switch that forwards between its ports.
 */
static bool iommu_isolation_ties_below(struct pci_dev *pdev)
{
	if (!pdev->subordinate)
		return false;
	if (!pci_is_pcie(pdev) ||
	    pci_pcie_type(pdev) == PCI_EXP_TYPE_PCI_BRIDGE)
		return true;
	switch (pci_pcie_type(pdev)) {
	case PCI_EXP_TYPE_ROOT_PORT:
	case PCI_EXP_TYPE_DOWNSTREAM:
		return !pci_acs_enabled(pdev, REQ_ACS_FLAGS);
	case PCI_EXP_TYPE_UPSTREAM:
		return iommu_isolation_open_switch(pdev->subordinate);
	default:
		return false;
	}
}

/* Whether @a and @b, of one bus, are tied: quirked aliases, or open functions. */
static const char *iommu_isolation_tie(struct pci_dev *a, struct pci_dev *b)
{
	if (pci_devs_are_dma_aliases(a, b))
		return "DMA alias of %s";
	if (PCI_SLOT(a->devfn) == PCI_SLOT(b->devfn) &&
	    iommu_isolation_mf_open(a) && !pci_acs_enabled(b, REQ_ACS_FLAGS))
		return MF_REASON;
	return NULL;
}

/*
 * A group among the devices tied to @pdev on its bus: DMA aliases by quirk,
 * and functions of its slot when neither has ACS; transitively, like
 * get_pci_alias_group() and get_pci_function_alias_group(), but on @pdev's
 * bus only, where such ties live, rather than over every PCI device, and
 * with a work list rather than recursion.
 */
static int iommu_isolation_find_tied(struct iommu_isolation_place *place,
				     struct pci_dev *pdev)
{
	DECLARE_BITMAP(seen, 256);
	DECLARE_BITMAP(todo, 256);
	struct pci_dev *cur, *tmp;
	const char *fmt;
	int devfn, next;

	bitmap_zero(seen, 256);
	bitmap_zero(todo, 256);
	set_bit(pdev->devfn, todo);
	while ((next = find_first_bit(todo, 256)) < 256) {
		clear_bit(next, todo);
		set_bit(next, seen);
		cur = pci_get_slot(pdev->bus, next);
		if (!cur)
			continue;
		for (devfn = 0; devfn < 256 && !place->group; devfn++) {
			if (test_bit(devfn, seen) || test_bit(devfn, todo))
				continue;
			tmp = pci_get_slot(pdev->bus, devfn);
			fmt = tmp ? iommu_isolation_tie(cur, tmp) : NULL;
			if (fmt) {
				/* Not grouped yet is normal: tied devices come later. */
				place->group = isolation_group_get_from_dev(&tmp->dev);
				if (place->group)
					snprintf(place->reason, ISOLATION_REASON_LEN,
						 fmt, pci_name(tmp));
				else
					set_bit(devfn, todo);
			}
			pci_dev_put(tmp);
		}
		pci_dev_put(cur);
		if (place->group)
			return 1;
	}
	return 0;
}

/* Where a PCI device goes by the PCI rules; place->group NULL: a new one. */
static void iommu_isolation_place_pci(struct iommu_isolation_place *place,
				      struct pci_dev *pdev)
{
	struct pci_dev *top = pdev, *up;
	struct pci_bus *bus;

	snprintf(place->reason, ISOLATION_REASON_LEN,
		 "alone: ACS up to the root");

	/* Behind a bridge that takes over the requester ID. */
	pci_for_each_dma_alias(pdev, iommu_isolation_alias, &top);
	if (top != pdev &&
	    iommu_isolation_join(place, top, pci_is_pcie(top) ?
				 "behind PCIe-to-PCI bridge %s" :
				 "behind PCI bridge %s"))
		return;

	/* Below a bridge without ACS on the way to the root. */
	for (bus = top->bus; !pci_is_root_bus(bus); bus = bus->parent) {
		if (!bus->self)
			continue;
		if (pci_acs_path_enabled(bus->self, NULL, REQ_ACS_FLAGS))
			break;
		top = bus->self;
		if (iommu_isolation_join(place, top, "no ACS on %s"))
			return;
	}

	/* Below a switch that forwards between its ports. */
	for (bus = top->bus; !pci_is_root_bus(bus); bus = bus->parent) {
		up = iommu_isolation_open_switch(bus);
		if (up && iommu_isolation_join(place, up, SWITCH_REASON))
			return;
	}

	if (iommu_isolation_find_tied(place, top))
		return;

	/* A bridge met after devices it ties to it: theirs. */
	if (iommu_isolation_ties_below(pdev)) {
		place->group = iommu_isolation_group_below(pdev);
		if (place->group)
			snprintf(place->reason, ISOLATION_REASON_LEN,
				 "ties the devices below it to it");
	}
}

/*
 * A bridge that ties the devices below it to it, which its own rules put in
 * @group: the devices below must be in @group too.  Return -EBUSY, with a
 * reference on the group below in *@other, if one of them is in another.
 */
static int iommu_isolation_check_below(struct pci_dev *pdev,
				       struct isolation_group *group,
				       struct isolation_group **other)
{
	*other = NULL;
	if (!group || !iommu_isolation_ties_below(pdev))
		return 0;
	*other = iommu_isolation_group_below(pdev);
	if (!*other || *other == group) {
		isolation_group_put(*other);
		*other = NULL;
		return 0;
	}
	return -EBUSY;
}
#else
static void iommu_isolation_place_pci(struct iommu_isolation_place *place,
				      struct pci_dev *pdev)
{
}

static int iommu_isolation_check_below(struct pci_dev *pdev,
				       struct isolation_group *group,
				       struct isolation_group **other)
{
	*other = NULL;
	return 0;
}
#endif /* CONFIG_PCI */

/* The isolation group of another member of @dev's iommu group, or NULL. */
static struct isolation_group *iommu_isolation_sibling_group(struct device *dev)
{
	struct iommu_group *igroup = iommu_group_get(dev);
	struct isolation_group *group = NULL;

	if (!igroup)
		return NULL;
	iommu_group_for_each_dev(igroup, &group, iommu_isolation_find_grouped);
	iommu_group_put(igroup);
	return group;
}

/*
 * Where @dev goes: with the members of its iommu group, and by the PCI
 * rules.  Return: 0, with place->group NULL for a new group; -EBUSY if the
 * rules tie @dev to two different groups, both in @place.  It only looks,
 * so that it can be asked again for a device that could not be placed.
 */
static int iommu_isolation_place(struct iommu_isolation_place *place,
				 struct device *dev)
{
	struct isolation_group *sibling, *below;

	if (dev_is_pci(dev))
		iommu_isolation_place_pci(place, to_pci_dev(dev));
	else
		snprintf(place->reason, ISOLATION_REASON_LEN,
			 "alone: not a PCI device");

	sibling = iommu_isolation_sibling_group(dev);
	if (sibling && place->group && sibling != place->group) {
		place->other = sibling;
		return -EBUSY;
	}
	if (sibling && !place->group) {
		place->group = sibling;
		snprintf(place->reason, ISOLATION_REASON_LEN,
			 "in its iommu group's isolation group");
	} else {
		isolation_group_put(sibling);
	}

	if (dev_is_pci(dev) &&
	    iommu_isolation_check_below(to_pci_dev(dev), place->group, &below)) {
		place->other = below;
		return -EBUSY;
	}
	return 0;
}

static void iommu_isolation_place_put(struct iommu_isolation_place *place)
{
	isolation_group_put(place->group);
	isolation_group_put(place->other);
	place->group = NULL;
	place->other = NULL;
}

/*
 * @dev, which could not be placed, may be on any driver and reach the
 * groups that its rules tie it to: mark them incomplete, now that they are
 * known.
 */
static void iommu_isolation_fail_closed(struct device *dev)
{
	struct iommu_isolation_place place = {};

	lockdep_assert_held(&iommu_isolation_lock);

	iommu_isolation_place(&place, dev);
	if (place.group)
		isolation_group_mark_incomplete(place.group, dev);
	if (place.other)
		isolation_group_mark_incomplete(place.other, dev);
	iommu_isolation_place_put(&place);
}

/*
 * A placement of @dev failed.  The groups it belongs in may not exist
 * yet (it was the first of its group, or its IOMMU did not even probe
 * it), and devices that its rules tie to it may still come: mark it, so
 * that each placement after this one looks for it again
 * (iommu_isolation_sweep()), and mark the groups it belongs in now.
 */
static void iommu_isolation_unplaced(struct device *dev)
{
	lockdep_assert_held(&iommu_isolation_lock);

	isolation_device_mark_unplaced(dev);
	iommu_isolation_fail_closed(dev);
}

/* iommu_group_for_each_dev() callback: the first unplaced device, held. */
static int iommu_isolation_find_unplaced(struct device *dev, void *data)
{
	struct device **unplaced = data;

	if (!isolation_device_unplaced(dev))
		return 0;
	*unplaced = get_device(dev);
	return 1;
}

#ifdef CONFIG_PCI
static int iommu_isolation_sweep_pci(struct device *dev, void *data)
{
	if (isolation_device_unplaced(dev))
		iommu_isolation_fail_closed(dev);
	return 0;
}
#endif

/*
 * @dev has just joined @group: if a device could not be placed before, the
 * group may be one it belongs in.  On any bus, that is so if it is in
 * @dev's iommu group; the PCI rules tie devices beyond their iommu groups
 * (below a switch), so each unplaced PCI device is asked where it belongs
 * now.  That is a walk of every PCI device for each placement, but only
 * while a placement has failed; otherwise it costs one read.
 */
static void iommu_isolation_sweep(struct isolation_group *group,
				  struct device *dev)
{
	struct iommu_group *igroup;
	struct device *unplaced = NULL;

	lockdep_assert_held(&iommu_isolation_lock);

	if (!isolation_unplaced_count())
		return;
	igroup = iommu_group_get(dev);
	if (igroup) {
		iommu_group_for_each_dev(igroup, &unplaced,
					 iommu_isolation_find_unplaced);
		iommu_group_put(igroup);
	}
	if (unplaced) {
		isolation_group_mark_incomplete(group, unplaced);
		put_device(unplaced);
	}
#ifdef CONFIG_PCI
	bus_for_each_dev(&pci_bus_type, NULL, NULL, iommu_isolation_sweep_pci);
#endif
}

/*
 * Put @dev, which is in an iommu group, into its isolation group of @prov.
 * The caller holds the device lock and iommu_isolation_lock.
 */
static void __iommu_isolation_place_device(struct isolation_provider *prov,
					   struct device *dev)
{
	struct iommu_isolation_place place = {};
	char reason[ISOLATION_REASON_LEN + 32];
	struct isolation_group *group;
	const char *unit;
	int ret;

	lockdep_assert_held(&iommu_isolation_lock);

	if (dev->isolation_group)
		return;
	if (iommu_isolation_place(&place, dev)) {
		dev_err(dev, "its rules tie isolation groups %d and %d together\n",
			isolation_group_id(place.group),
			isolation_group_id(place.other));
		iommu_isolation_place_put(&place);
		iommu_isolation_unplaced(dev);
		return;
	}
	group = place.group;
	if (!group) {
		group = isolation_group_alloc(prov);
		if (IS_ERR(group)) {
			dev_err(dev, "no isolation group for it: %pe\n", group);
			iommu_isolation_unplaced(dev);
			return;
		}
	}
	unit = iommu_isolation_unit(dev);
	if (unit)
		snprintf(reason, sizeof(reason), "%s (%s)", place.reason, unit);
	else
		strscpy(reason, place.reason, sizeof(reason));
	ret = isolation_group_add_device(group, dev, reason);
	if (!ret)
		iommu_isolation_sweep(group, dev);
	/* Not on -ENODEV: @dev is being deleted, or @prov is going away. */
	else if (ret != -ENODEV)
		iommu_isolation_unplaced(dev);
	/* The members hold the group from now on. */
	isolation_group_put(group);
}

#if IS_ENABLED(CONFIG_KUNIT)
/*
 * As __iommu_isolation_place_device(), for the KUnit suite, which places
 * devices without an IOMMU driver.  The caller holds the device lock.
 */
void iommu_isolation_place_device(struct isolation_provider *prov,
				  struct device *dev)
{
	mutex_lock(&iommu_isolation_lock);
	__iommu_isolation_place_device(prov, dev);
	mutex_unlock(&iommu_isolation_lock);
}
EXPORT_SYMBOL_IF_KUNIT(iommu_isolation_place_device);
#endif

/**
 * iommu_isolation_add_device_locked - put a device in its isolation group
 * @dev: a device that has just joined its iommu group
 *
 * Nothing happens if @dev's IOMMU provides no isolation groups, or if @dev
 * is in one already.  A device that cannot be placed is logged and left
 * out of every group, which iommu_isolation_check() refuses.
 *
 * Context: process context, may sleep.  The caller holds the device lock of
 * @dev, so that no driver binds meanwhile: the probe of a driver does, when
 * its dma_configure() finds the IOMMU.
 */
void iommu_isolation_add_device_locked(struct device *dev)
{
	struct isolation_provider *prov;

	mutex_lock(&iommu_isolation_lock);
	prov = iommu_isolation_provider(dev);
	if (prov) {
		device_lock_assert(dev);
		__iommu_isolation_place_device(prov, dev);
	}
	mutex_unlock(&iommu_isolation_lock);
}

/* Whether @dev's IOMMU provides isolation groups and @dev is in none yet. */
static bool iommu_isolation_wanted(struct device *dev)
{
	bool wanted;

	mutex_lock(&iommu_isolation_lock);
	wanted = iommu_isolation_provider(dev) && !dev->isolation_group;
	mutex_unlock(&iommu_isolation_lock);
	return wanted;
}

/**
 * iommu_isolation_add_device - put a device in its isolation group
 * @dev: a device that has just joined its iommu group, as it is added to
 *	 its bus: no driver can have it yet but one probing it
 *
 * As iommu_isolation_add_device_locked(), taking the device lock.
 *
 * Context: process context, may sleep; takes the device lock of @dev if
 * its IOMMU provides isolation groups.
 */
void iommu_isolation_add_device(struct device *dev)
{
	if (!iommu_isolation_wanted(dev))
		return;
	device_lock(dev);
	iommu_isolation_add_device_locked(dev);
	device_unlock(dev);
}

static void iommu_isolation_run_deferred(struct work_struct *work)
{
	struct iommu_isolation_deferral *d;

	for (;;) {
		mutex_lock(&iommu_isolation_lock);
		d = list_first_entry_or_null(&iommu_isolation_deferred,
					     struct iommu_isolation_deferral,
					     node);
		if (d)
			list_del(&d->node);
		mutex_unlock(&iommu_isolation_lock);
		if (!d)
			return;
		if (d->remove) {
			isolation_group_remove_device(d->dev);
		} else if (device_is_registered(d->dev)) {
			/* Its IOMMU gone meanwhile: nothing is placed. */
			device_lock(d->dev);
			iommu_isolation_add_device_locked(d->dev);
			device_unlock(d->dev);
		}
		put_device(d->dev);
		kfree(d);
	}
}

static DECLARE_WORK(iommu_isolation_work, iommu_isolation_run_deferred);

static void iommu_isolation_defer(struct device *dev, bool remove)
{
	struct iommu_isolation_deferral *d = kzalloc(sizeof(*d), GFP_KERNEL);

	mutex_lock(&iommu_isolation_lock);
	if (d) {
		d->dev = get_device(dev);
		d->remove = remove;
		list_add_tail(&d->node, &iommu_isolation_deferred);
	} else if (!remove) {
		/* Not removed stays in its group till deleted: closed. */
		dev_err(dev, "its placement in an isolation group could not be deferred\n");
		iommu_isolation_unplaced(dev);
	}
	mutex_unlock(&iommu_isolation_lock);
	if (d)
		schedule_work(&iommu_isolation_work);
}

/**
 * iommu_isolation_add_device_trylock - put a device in its isolation group
 * @dev: a device that has just joined its iommu group
 *
 * As iommu_isolation_add_device(), for a caller that may hold other device
 * locks, even @dev's (an IOMMU that registers from a driver's probe, and
 * probes every device of the bus then): if the device lock is taken, the
 * placement is left to a work item, which waits for it.  A device whose
 * driver is bound meanwhile is placed with it, as providers may.
 *
 * Context: process context, may sleep.
 */
void iommu_isolation_add_device_trylock(struct device *dev)
{
	if (!iommu_isolation_wanted(dev))
		return;
	if (!device_trylock(dev)) {
		iommu_isolation_defer(dev, false);
		return;
	}
	iommu_isolation_add_device_locked(dev);
	device_unlock(dev);
}

/**
 * iommu_isolation_probe_failed - an IOMMU failed to probe a device
 * @dev: a device that @ops's IOMMU failed to probe, for another reason
 *	 than that it is not behind it
 * @ops: the IOMMU driver's iommu_ops
 * @err: the error
 *
 * @dev is in no iommu group, may be on any driver, and may still reach the
 * devices that the PCI rules tie it to, below the same switch for one: if
 * @ops provides isolation groups, @dev is marked unplaced, and the groups
 * it belongs in cannot be locked.
 *
 * Context: process context, may sleep.
 */
void iommu_isolation_probe_failed(struct device *dev,
				  const struct iommu_ops *ops, int err)
{
	struct iommu_isolation *iso;

	mutex_lock(&iommu_isolation_lock);
	list_for_each_entry(iso, &iommu_isolation_providers, node) {
		/*
		 * A device still in a group has left its iommu group, and
		 * leaves this one too (iommu_isolation_remove_device()).
		 */
		if (iso->ops == ops && !READ_ONCE(dev->isolation_group)) {
			dev_err(dev, "%s could not probe it: %pe\n",
				iso->provider.name, ERR_PTR(err));
			iommu_isolation_unplaced(dev);
			break;
		}
	}
	mutex_unlock(&iommu_isolation_lock);
}

/**
 * iommu_isolation_register - provide isolation groups for an IOMMU driver
 * @iso: the provider, with @iso->provider.name set, e.g. "amd-iommu"; it
 *	 stays in use until iommu_isolation_unregister() returns
 * @ops: the driver's iommu_ops; the devices the IOMMU core probes with
 *	 them go into @iso's groups
 *
 * Call it before the driver registers its first iommu_device, so that no
 * device is probed before its group can be made.  It allocates nothing,
 * and fails only on a mistake of the caller's.
 *
 * Context: process context, may sleep.
 * Return: 0; -EINVAL without a name, -EBUSY if @ops has a provider already.
 */
int iommu_isolation_register(struct iommu_isolation *iso,
			     const struct iommu_ops *ops)
{
	struct iommu_isolation *tmp;
	int ret = 0;

	mutex_lock(&iommu_isolation_lock);
	list_for_each_entry(tmp, &iommu_isolation_providers, node) {
		if (tmp->ops == ops) {
			ret = -EBUSY;
			goto out;
		}
	}
	ret = isolation_provider_register(&iso->provider);
	if (ret)
		goto out;
	iso->ops = ops;
	list_add_tail(&iso->node, &iommu_isolation_providers);
out:
	mutex_unlock(&iommu_isolation_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(iommu_isolation_register);

/**
 * iommu_isolation_unregister - undo iommu_isolation_register()
 * @iso: the provider
 *
 * Every device leaves @iso's groups.  Call it once the driver's
 * iommu_devices are unregistered.
 *
 * Context: process context, may sleep.
 */
void iommu_isolation_unregister(struct iommu_isolation *iso)
{
	mutex_lock(&iommu_isolation_lock);
	list_del(&iso->node);
	mutex_unlock(&iommu_isolation_lock);
	/* Deferred placements find no provider from now on. */
	flush_work(&iommu_isolation_work);
	isolation_provider_unregister(&iso->provider);
}
EXPORT_SYMBOL_GPL(iommu_isolation_unregister);

/**
 * iommu_isolation_remove_device - take a device out of its isolation group
 * @dev: a device leaving its iommu group, because it is deleted or its
 *	 IOMMU goes away
 *
 * The IOMMU core releases devices under locks of its drivers' (a DMAR unit
 * going away holds dmar_global_lock), and inside a driver's remove, where
 * the device lock that leaving a group takes could close a cycle: the
 * device leaves a little later, from a work item.  A device that is
 * deleted leaves first anyway, in device_del().
 *
 * Context: process context, may sleep.
 */
void iommu_isolation_remove_device(struct device *dev)
{
	if (READ_ONCE(dev->isolation_group))
		iommu_isolation_defer(dev, true);
}

/*
 * iommu_group_for_each_dev() callback: stop at a device in another isolation
 * group than @data's device, and keep a reference on it.
 */
static int iommu_isolation_find_stray(struct device *dev, void *data)
{
	struct device **stray = data;
	struct device *home = *stray;

	if (READ_ONCE(dev->isolation_group) == READ_ONCE(home->isolation_group))
		return 0;
	*stray = get_device(dev);
	return 1;
}

/*
 * Whether @dev and every other device of its iommu group are in one
 * isolation group; -EBUSY, logged, if not.  The KUnit suite calls it for
 * devices without an IOMMU driver.
 */
VISIBLE_IF_KUNIT int iommu_isolation_check_whole(struct device *dev)
{
	struct iommu_group *igroup = iommu_group_get(dev);
	struct device *stray = dev;

	if (!igroup)
		return 0;
	if (!READ_ONCE(dev->isolation_group)) {
		dev_err_ratelimited(dev, "is in iommu group %d but in no isolation group, so its isolation is unknown: not handed out\n",
				    iommu_group_id(igroup));
		iommu_group_put(igroup);
		return -EBUSY;
	}
	iommu_group_for_each_dev(igroup, &stray, iommu_isolation_find_stray);
	if (stray != dev) {
		dev_err_ratelimited(dev, "shares iommu group %d with %s, which is not in its isolation group: not handed out\n",
				    iommu_group_id(igroup), dev_name(stray));
		put_device(stray);
		iommu_group_put(igroup);
		return -EBUSY;
	}
	iommu_group_put(igroup);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(iommu_isolation_check_whole);

/**
 * iommu_isolation_check - whether a device may be handed to userspace
 * @dev: a device that a userspace driver framework (VFIO) is about to give
 *	 to a user
 *
 * The isolation group of a device is what such a framework must take
 * whole.  Where the device's IOMMU provides isolation groups, that is only
 * safe if the device is in one and its whole iommu group is in it too:
 * otherwise its placement failed, and the iommu group is all that is
 * known, which may be finer than the hardware isolates.  Fail closed then.
 *
 * Context: process context, may sleep.
 * Return: 0 if @dev's IOMMU provides no isolation groups, or if @dev and
 * every other device of its iommu group are in one isolation group;
 * -EBUSY, logged with the device that is out of place, otherwise.
 */
int iommu_isolation_check(struct device *dev)
{
	bool provided;

	mutex_lock(&iommu_isolation_lock);
	provided = iommu_isolation_provider(dev);
	mutex_unlock(&iommu_isolation_lock);
	return provided ? iommu_isolation_check_whole(dev) : 0;
}
EXPORT_SYMBOL_GPL(iommu_isolation_check);
