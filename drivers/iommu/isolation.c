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
 * - A rule ties a device to another device, usually a bridge or port
 *   upstream of it.  If that device is in no isolation group yet (virtio-
 *   iommu meets devices in the order their drivers probe, not parents
 *   first), the device joins a group already below it, so that two devices
 *   tied to the same bridge never end up apart.
 *
 * A device whose rules point to two different groups is left out of every
 * group and logged, as is one whose placement fails.  Either way
 * iommu_isolation_check() refuses to hand its iommu group to userspace:
 * an isolation group must never be finer than the hardware isolates.
 *
 * Each member records the rule that placed it and its IOMMU unit (the name
 * of its iommu_device in /sys/class/iommu), e.g. "behind PCIe-to-PCI
 * bridge 0000:02:00.0 (dmar0)".
 *
 * iommu_isolation_lock serialises placements, so that devices tied to each
 * other find each other's groups, and the list of providers.  It nests in
 * the device lock of the device being placed and outside the locks of the
 * isolation core and of iommu groups.
 */

#define pr_fmt(fmt) "iommu: isolation: " fmt

#include <kunit/visibility.h>
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/isolation.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "iommu-priv.h"

#define ISOLATION_REASON_LEN	128
#define MF_REASON		"function of multifunction device %s without ACS"
#define SWITCH_REASON		"below switch %s, a downstream port of which has no ACS"

struct iommu_isolation {
	struct list_head node;
	struct isolation_provider *prov;
	const struct iommu_ops *ops;
};

static DEFINE_MUTEX(iommu_isolation_lock);
static LIST_HEAD(iommu_isolation_providers);

/* Where a device goes, and why. */
struct iommu_isolation_place {
	struct isolation_group *group;	/* with a reference, or NULL: a new one */
	char reason[ISOLATION_REASON_LEN];
};

/**
 * iommu_isolation_register - provide isolation groups for an IOMMU driver
 * @prov: the provider, with its name set, e.g. "amd-iommu"
 * @ops: the driver's iommu_ops; the devices the IOMMU core probes with
 *	 them go into @prov's groups
 *
 * Call it before the driver registers its first iommu_device, so that no
 * device is probed before its group can be made.
 *
 * Context: process context, may sleep.
 * Return: 0, -EBUSY if @ops has a provider already, -ENOMEM, or an error
 * from isolation_provider_register().
 */
int iommu_isolation_register(struct isolation_provider *prov,
			     const struct iommu_ops *ops)
{
	struct iommu_isolation *ii, *tmp;
	int ret;

	ii = kzalloc(sizeof(*ii), GFP_KERNEL);
	if (!ii)
		return -ENOMEM;
	ii->prov = prov;
	ii->ops = ops;

	mutex_lock(&iommu_isolation_lock);
	list_for_each_entry(tmp, &iommu_isolation_providers, node) {
		if (tmp->ops == ops) {
			ret = -EBUSY;
			goto err;
		}
	}
	ret = isolation_provider_register(prov);
	if (ret)
		goto err;
	list_add_tail(&ii->node, &iommu_isolation_providers);
	mutex_unlock(&iommu_isolation_lock);
	return 0;

err:
	mutex_unlock(&iommu_isolation_lock);
	kfree(ii);
	return ret;
}
EXPORT_SYMBOL_GPL(iommu_isolation_register);

/**
 * iommu_isolation_unregister - undo iommu_isolation_register()
 * @prov: the provider
 *
 * Every device leaves @prov's groups.  Call it once the driver's
 * iommu_devices are unregistered.
 *
 * Context: process context, may sleep.
 */
void iommu_isolation_unregister(struct isolation_provider *prov)
{
	struct iommu_isolation *ii, *found = NULL;

	mutex_lock(&iommu_isolation_lock);
	list_for_each_entry(ii, &iommu_isolation_providers, node) {
		if (ii->prov == prov) {
			list_del(&ii->node);
			found = ii;
			break;
		}
	}
	mutex_unlock(&iommu_isolation_lock);
	if (!found)
		return;
	isolation_provider_unregister(prov);
	kfree(found);
}
EXPORT_SYMBOL_GPL(iommu_isolation_unregister);

/* The provider for @dev's IOMMU, or NULL. */
static struct isolation_provider *iommu_isolation_provider(struct device *dev)
{
	const struct iommu_ops *ops;
	struct iommu_isolation *ii;

	lockdep_assert_held(&iommu_isolation_lock);

	if (!dev->iommu || !dev->iommu->iommu_dev)
		return NULL;
	ops = dev_iommu_ops(dev);
	list_for_each_entry(ii, &iommu_isolation_providers, node)
		if (ii->ops == ops)
			return ii->prov;
	return NULL;
}

/* The IOMMU unit of @dev as /sys/class/iommu names it, or NULL. */
static const char *iommu_isolation_unit(struct device *dev)
{
	struct iommu_device *iommu = dev->iommu ? dev->iommu->iommu_dev : NULL;

	return iommu && iommu->dev ? dev_name(iommu->dev) : NULL;
}

static int iommu_isolation_find_grouped(struct device *dev, void *data)
{
	struct device **found = data;

	if (!READ_ONCE(dev->isolation_group))
		return 0;
	*found = dev;
	return 1;
}

#ifdef CONFIG_PCI
static int iommu_isolation_find_grouped_pci(struct pci_dev *pdev, void *data)
{
	return iommu_isolation_find_grouped(&pdev->dev, data);
}

/*
 * Take into @place the group of @owner, a device that @pdev's rules tie it
 * to, or else the group of a device below @owner, which the same rule ties
 * to @owner.  Return 1 if there was one, 0 if not.
 */
static int iommu_isolation_join(struct iommu_isolation_place *place,
				struct pci_dev *owner, const char *fmt)
{
	struct device *below = NULL;

	place->group = isolation_group_get_from_dev(&owner->dev);
	if (!place->group && owner->subordinate) {
		pci_walk_bus(owner->subordinate,
			     iommu_isolation_find_grouped_pci, &below);
		if (below)
			place->group = isolation_group_get_from_dev(below);
	}
	if (!place->group)
		return 0;
	snprintf(place->reason, ISOLATION_REASON_LEN, fmt, pci_name(owner));
	return 1;
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
 * A group among the devices tied to @pdev on its bus: DMA aliases by quirk,
 * and functions of its slot when neither has ACS; transitively, like
 * get_pci_alias_group() and get_pci_function_alias_group(), but on @pdev's
 * bus only, where such ties live, rather than over every PCI device.
 * @seen marks the devfns looked at.
 */
static int iommu_isolation_find_tied(struct iommu_isolation_place *place,
				     struct pci_dev *pdev, unsigned long *seen)
{
	struct pci_dev *tmp;
	const char *fmt;
	int devfn, ret = 0;

	set_bit(pdev->devfn, seen);
	for (devfn = 0; devfn < 256 && !ret; devfn++) {
		if (test_bit(devfn, seen))
			continue;
		tmp = pci_get_slot(pdev->bus, devfn);
		if (!tmp)
			continue;
		if (pci_devs_are_dma_aliases(pdev, tmp))
			fmt = "DMA alias of %s";
		else if (PCI_SLOT(devfn) == PCI_SLOT(pdev->devfn) &&
			 iommu_isolation_mf_open(pdev) &&
			 !pci_acs_enabled(tmp, REQ_ACS_FLAGS))
			fmt = MF_REASON;
		else
			fmt = NULL;
		if (fmt) {
			/* Not grouped yet is normal here: tied devices come later. */
			place->group = isolation_group_get_from_dev(&tmp->dev);
			if (place->group) {
				snprintf(place->reason, ISOLATION_REASON_LEN,
					 fmt, pci_name(tmp));
				ret = 1;
			} else {
				ret = iommu_isolation_find_tied(place, tmp, seen);
			}
		}
		pci_dev_put(tmp);
	}
	return ret;
}

/* Where a PCI device goes by the PCI rules; place->group NULL: a new one. */
static void iommu_isolation_place_pci(struct iommu_isolation_place *place,
				      struct pci_dev *pdev)
{
	DECLARE_BITMAP(seen, 256);
	struct pci_dev *top = pdev, *up;
	struct pci_bus *bus;

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

	bitmap_zero(seen, 256);
	if (iommu_isolation_find_tied(place, top, seen))
		return;

	snprintf(place->reason, ISOLATION_REASON_LEN,
		 "alone: ACS up to the root");
}
#else
static void iommu_isolation_place_pci(struct iommu_isolation_place *place,
				      struct pci_dev *pdev)
{
}
#endif /* CONFIG_PCI */

/*
 * The isolation group of another member of @dev's iommu group, with a
 * reference and the member in *@sibling, or NULL.
 */
static struct isolation_group *
iommu_isolation_sibling_group(struct device *dev, struct device **sibling)
{
	struct iommu_group *igroup = iommu_group_get(dev);
	struct isolation_group *group = NULL;

	*sibling = NULL;
	if (!igroup)
		return NULL;
	iommu_group_for_each_dev(igroup, sibling, iommu_isolation_find_grouped);
	if (*sibling)
		group = isolation_group_get_from_dev(*sibling);
	iommu_group_put(igroup);
	return group;
}

/*
 * Where @dev goes: with the members of its iommu group, and by the PCI
 * rules.  Return: 0, with place->group NULL for a new group; -EBUSY if the
 * two disagree, which would join two groups into one.
 */
static int iommu_isolation_place(struct iommu_isolation_place *place,
				 struct device *dev)
{
	struct isolation_group *group;
	struct device *sibling;

	if (dev_is_pci(dev))
		iommu_isolation_place_pci(place, to_pci_dev(dev));
	else
		snprintf(place->reason, ISOLATION_REASON_LEN,
			 "alone: not a PCI device");

	group = iommu_isolation_sibling_group(dev, &sibling);
	if (!group)
		return 0;
	if (place->group && place->group != group) {
		dev_err(dev, "not in an isolation group: its iommu group is in group %d, its PCI path in group %d\n",
			isolation_group_id(group),
			isolation_group_id(place->group));
		isolation_group_put(group);
		isolation_group_put(place->group);
		place->group = NULL;
		return -EBUSY;
	}
	if (place->group) {
		isolation_group_put(group);
	} else {
		place->group = group;
		snprintf(place->reason, ISOLATION_REASON_LEN,
			 "in the iommu group of %s", dev_name(sibling));
	}
	return 0;
}

/*
 * Put @dev, which is in an iommu group, into its isolation group of @prov.
 * The caller holds the device lock.  The KUnit suite calls it for devices
 * without an IOMMU driver.
 */
VISIBLE_IF_KUNIT void iommu_isolation_place_device(struct isolation_provider *prov,
						   struct device *dev)
{
	struct iommu_isolation_place place = {};
	char reason[ISOLATION_REASON_LEN + 32];
	struct isolation_group *group;
	const char *unit;
	int ret;

	mutex_lock(&iommu_isolation_lock);
	if (dev->isolation_group || iommu_isolation_place(&place, dev))
		goto out;
	group = place.group;
	if (!group) {
		group = isolation_group_alloc(prov);
		if (IS_ERR(group)) {
			dev_err(dev, "not in an isolation group: %pe\n", group);
			goto out;
		}
	}
	unit = iommu_isolation_unit(dev);
	if (unit)
		snprintf(reason, sizeof(reason), "%s (%s)", place.reason, unit);
	else
		strscpy(reason, place.reason, sizeof(reason));
	ret = isolation_group_add_device(group, dev, reason);
	if (ret)
		dev_err(dev, "not in an isolation group: joining group %d failed: %d\n",
			isolation_group_id(group), ret);
	/* The members hold the group from now on. */
	isolation_group_put(group);
out:
	mutex_unlock(&iommu_isolation_lock);
}
EXPORT_SYMBOL_IF_KUNIT(iommu_isolation_place_device);

/* The provider for @dev's IOMMU, or NULL. */
static struct isolation_provider *iommu_isolation_provider_of(struct device *dev)
{
	struct isolation_provider *prov;

	mutex_lock(&iommu_isolation_lock);
	prov = iommu_isolation_provider(dev);
	mutex_unlock(&iommu_isolation_lock);
	return prov;
}

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
	struct isolation_provider *prov = iommu_isolation_provider_of(dev);

	if (!prov)
		return;
	device_lock_assert(dev);
	iommu_isolation_place_device(prov, dev);
}

/**
 * iommu_isolation_add_device - put a device in its isolation group
 * @dev: a device that has just joined its iommu group
 *
 * As iommu_isolation_add_device_locked(), for a caller without the device
 * lock: as a device is added to its bus, or as its IOMMU registers.
 *
 * Context: process context, may sleep; takes the device lock of @dev if
 * its IOMMU provides isolation groups.
 */
void iommu_isolation_add_device(struct device *dev)
{
	struct isolation_provider *prov = iommu_isolation_provider_of(dev);

	if (!prov || READ_ONCE(dev->isolation_group))
		return;
	device_lock(dev);
	iommu_isolation_place_device(prov, dev);
	device_unlock(dev);
}

/**
 * iommu_isolation_remove_device - take a device out of its isolation group
 * @dev: a device leaving its iommu group, because it is deleted or its
 *	 IOMMU goes away
 *
 * Context: process context, may sleep; not with the device lock held.
 */
void iommu_isolation_remove_device(struct device *dev)
{
	/* Most devices are in none: spare them the device lock. */
	if (READ_ONCE(dev->isolation_group))
		isolation_group_remove_device(dev);
}

/* iommu_group_for_each_dev() callback: stop at a device of another group. */
static int iommu_isolation_find_stray(struct device *dev, void *data)
{
	struct device **stray = data;
	struct device *home = *stray;

	if (READ_ONCE(dev->isolation_group) == READ_ONCE(home->isolation_group))
		return 0;
	*stray = dev;
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
	if (stray != dev)
		dev_err_ratelimited(dev, "shares iommu group %d with %s, which is not in its isolation group: not handed out\n",
				    iommu_group_id(igroup), dev_name(stray));
	iommu_group_put(igroup);
	return stray != dev ? -EBUSY : 0;
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
	if (!iommu_isolation_provider_of(dev))
		return 0;
	return iommu_isolation_check_whole(dev);
}
EXPORT_SYMBOL_GPL(iommu_isolation_check);
