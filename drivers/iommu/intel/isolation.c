// SPDX-License-Identifier: GPL-2.0
/*
 * Isolation groups for the devices behind Intel VT-d DMAR units
 *
 * Every device a DMAR unit translates for goes into an isolation group
 * (Documentation/driver-api/isolation.rst), by the rules the IOMMU core's
 * pci_device_group() uses for iommu groups, so that ours are never finer:
 *
 * - DMA aliases: a device joins the group of the first device on its
 *   pci_for_each_dma_alias() path that has one, so everything behind a
 *   PCIe-to-PCI or PCI bridge shares the bridge's group; devices that the
 *   PCI quirks make DMA aliases of each other share a group too.
 * - ACS: from there up to the root, a bridge without ACS (SV, RR, CR, UF)
 *   takes everything below it into its own group.
 * - Multifunction devices: functions without ACS share a group.
 *
 * One rule is coarser than pci_device_group(), on purpose: a switch one of
 * whose downstream ports lacks ACS routes peer-to-peer traffic from that
 * port to every other port inside the switch, so everything below its
 * downstream ports shares a group with its upstream port.
 * pci_device_group() gives each port a group of its own, which is finer
 * than the hardware isolates.
 *
 * Each member records the rule that placed it, and its DMAR unit.  Devices
 * are grouped one at a time in the order they are added, parents first,
 * as for iommu groups, and each finds the group of a device it is tied to
 * by the same walks.  If a bridge a device depends on should have a group
 * but has none (its add failed), the device stays out of every group, so
 * that no group is ever finer than the hardware isolates.  Non-PCI devices
 * in a DMAR unit's scope (ACPI namespace devices) get a group each.
 */

#define pr_fmt(fmt) "DMAR: isolation: " fmt

#include <linux/acpi.h>
#include <linux/device.h>
#include <linux/dmar.h>
#include <linux/isolation.h>
#include <linux/pci.h>

#include "iommu.h"

#define ISOLATION_ACS_FLAGS	(PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF)
#define REASON_LEN		128
#define MF_REASON		"function of multifunction device %s without ACS"
#define SWITCH_REASON		"below switch %s, a downstream port of which has no ACS"

static struct isolation_provider intel_isolation_provider = {
	.name = "intel-iommu",
};

/* Serialises placing a device and adding it to its group. */
static DEFINE_MUTEX(intel_isolation_lock);

/* Where a device goes, and why. */
struct intel_isolation_place {
	struct isolation_group *group;	/* with a reference, or NULL: a new one */
	char reason[REASON_LEN];
};

static struct intel_iommu *intel_isolation_unit(struct device *dev)
{
	struct device_domain_info *info = dev_iommu_priv_get(dev);

	return info ? info->iommu : NULL;
}

static struct isolation_group *pci_isolation_group(struct pci_dev *pdev)
{
	return isolation_group_get_from_dev(&pdev->dev);
}

/* pci_for_each_dma_alias() callback: stop at the first alias with a group. */
static int intel_isolation_alias(struct pci_dev *pdev, u16 alias, void *data)
{
	struct pci_dev **top = data;

	*top = pdev;
	return !!READ_ONCE(pdev->dev.isolation_group);
}

static bool intel_isolation_mf_open(struct pci_dev *pdev)
{
	return pdev->multifunction &&
	       !pci_acs_enabled(pdev, ISOLATION_ACS_FLAGS);
}

/*
 * Take the group of @owner, on which the device's isolation depends, into
 * @place.  Return: 1 if @owner has a group; 0 if it has none because no
 * DMAR unit translates for it; -ENODEV if it should have one and has none
 * (its add failed): the device then stays out of every group rather than
 * get one finer than the IOMMU's.
 */
static int intel_isolation_join(struct intel_isolation_place *place,
				struct pci_dev *owner, const char *fmt)
{
	place->group = pci_isolation_group(owner);
	if (place->group) {
		snprintf(place->reason, REASON_LEN, fmt, pci_name(owner));
		return 1;
	}
	if (intel_isolation_unit(&owner->dev)) {
		pci_err(owner, "in no isolation group: devices below it stay out\n");
		return -ENODEV;
	}
	return 0;
}

/*
 * The upstream port of the switch that @bus is inside of, if a downstream
 * port of that switch lacks ACS: the switch then routes peer-to-peer
 * traffic between its ports, so everything below it shares one group.
 */
static struct pci_dev *intel_isolation_open_switch(struct pci_bus *bus)
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
		       !pci_acs_enabled(port, ISOLATION_ACS_FLAGS);
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
static int intel_isolation_find_tied(struct intel_isolation_place *place,
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
			 intel_isolation_mf_open(pdev) &&
			 !pci_acs_enabled(tmp, ISOLATION_ACS_FLAGS))
			fmt = MF_REASON;
		else
			fmt = NULL;
		if (fmt) {
			/* Not grouped yet is normal here: tied devices come later. */
			place->group = pci_isolation_group(tmp);
			if (place->group) {
				snprintf(place->reason, REASON_LEN, fmt,
					 pci_name(tmp));
				ret = 1;
			} else {
				ret = intel_isolation_find_tied(place, tmp, seen);
			}
		}
		pci_dev_put(tmp);
	}
	return ret;
}

/*
 * Where a PCI device goes, by the rules at the top of this file.
 * Return: 0, with place->group NULL for a new group; -ENODEV to leave the
 * device out of every group.
 */
static int intel_isolation_place_pci(struct intel_isolation_place *place,
				     struct pci_dev *pdev)
{
	DECLARE_BITMAP(seen, 256);
	struct pci_dev *top = pdev, *up;
	struct pci_bus *bus;
	int ret;

	/* Behind a bridge that takes over the requester ID. */
	pci_for_each_dma_alias(pdev, intel_isolation_alias, &top);
	if (top != pdev) {
		ret = intel_isolation_join(place, top, pci_is_pcie(top) ?
					   "behind PCIe-to-PCI bridge %s" :
					   "behind PCI bridge %s");
		if (ret)
			return min(ret, 0);
	}

	/* Below a bridge without ACS on the way to the root. */
	for (bus = top->bus; !pci_is_root_bus(bus); bus = bus->parent) {
		if (!bus->self)
			continue;
		if (pci_acs_path_enabled(bus->self, NULL, ISOLATION_ACS_FLAGS))
			break;
		top = bus->self;
		ret = intel_isolation_join(place, top, "no ACS on %s");
		if (ret)
			return min(ret, 0);
	}

	/* Below a switch that forwards between its ports. */
	for (bus = top->bus; !pci_is_root_bus(bus); bus = bus->parent) {
		up = intel_isolation_open_switch(bus);
		if (!up)
			continue;
		ret = intel_isolation_join(place, up, SWITCH_REASON);
		if (ret)
			return min(ret, 0);
	}

	bitmap_zero(seen, 256);
	if (intel_isolation_find_tied(place, top, seen))
		return 0;

	snprintf(place->reason, REASON_LEN, "alone: ACS up to the root");
	return 0;
}

/* Put @dev in its group, making the group if it is the first member. */
static void intel_isolation_add_device(struct device *dev)
{
	struct intel_isolation_place place = {};
	struct intel_iommu *iommu = intel_isolation_unit(dev);
	struct isolation_group *group;
	char reason[REASON_LEN + 16];
	int ret;

	if (!iommu || READ_ONCE(dev->isolation_group))
		return;

	/* One device at a time, so that tied devices find each other's group. */
	mutex_lock(&intel_isolation_lock);
	if (!dev_is_pci(dev))
		snprintf(place.reason, REASON_LEN, "ACPI namespace device");
	else if (intel_isolation_place_pci(&place, to_pci_dev(dev)))
		goto out;

	group = place.group;
	if (!group) {
		group = isolation_group_alloc(&intel_isolation_provider);
		if (IS_ERR(group)) {
			dev_err(dev, "no isolation group: %ld\n", PTR_ERR(group));
			goto out;
		}
	}
	snprintf(reason, sizeof(reason), "%s (%s)", place.reason, iommu->name);
	ret = isolation_group_add_device(group, dev, reason);
	if (ret)
		dev_err(dev, "not added to isolation group %d: %d\n",
			isolation_group_id(group), ret);
	/* The members hold the group from now on. */
	isolation_group_put(group);
out:
	mutex_unlock(&intel_isolation_lock);
}

static int intel_isolation_notify(struct notifier_block *nb,
				  unsigned long action, void *data)
{
	/* The IOMMU core probed the device from its own notifier, before us. */
	if (action == BUS_NOTIFY_ADD_DEVICE)
		intel_isolation_add_device(data);
	/* device_del() takes removed devices out of their groups. */
	return NOTIFY_DONE;
}

static struct notifier_block intel_isolation_nb = {
	.notifier_call = intel_isolation_notify,
};

/* The ACPI namespace devices in the DMAR units' scope, as the probe saw them. */
static void intel_isolation_add_acpi_devices(void)
{
	struct acpi_device_physical_node *pn;
	struct dmar_drhd_unit *drhd;
	struct intel_iommu *iommu __maybe_unused;
	struct acpi_device *adev;
	struct device *dev;
	int i;

	down_read(&dmar_global_lock);
	for_each_active_iommu(iommu, drhd) {
		for_each_active_dev_scope(drhd->devices, drhd->devices_cnt,
					  i, dev) {
			if (dev->bus != &acpi_bus_type)
				continue;
			/* As probe_acpi_namespace_devices() does, for the same reason. */
			up_read(&dmar_global_lock);
			adev = to_acpi_device(dev);
			mutex_lock(&adev->physical_node_lock);
			list_for_each_entry(pn, &adev->physical_node_list, node)
				intel_isolation_add_device(pn->dev);
			mutex_unlock(&adev->physical_node_lock);
			down_read(&dmar_global_lock);
		}
	}
	up_read(&dmar_global_lock);
}

/**
 * intel_isolation_init - group the devices behind the DMAR units
 *
 * Called once DMA remapping is enabled.  Registers the provider, groups
 * every device the DMAR units translate for, and groups hot-added PCI
 * devices as they appear.
 */
void __init intel_isolation_init(void)
{
	struct pci_dev *pdev = NULL;

	if (isolation_provider_register(&intel_isolation_provider))
		return;
	/* First, so that a device added meanwhile is not missed. */
	if (bus_register_notifier(&pci_bus_type, &intel_isolation_nb))
		pr_err("hot-added devices will not be grouped\n");

	/* Parents come before their children, as the groups need. */
	for_each_pci_dev(pdev)
		intel_isolation_add_device(&pdev->dev);
	intel_isolation_add_acpi_devices();
}
