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
 * One rule is coarser than pci_device_group(), on purpose: the downstream
 * ports of one switch that lack ACS route peer-to-peer traffic between each
 * other inside the switch, so they and everything below them share a group
 * with the switch's upstream port.  pci_device_group() gives each such
 * port a group of its own, which is finer than the hardware isolates.
 *
 * Each member records the rule that placed it, and its DMAR unit.  Devices
 * are grouped in the order they are added, parents first, as for iommu
 * groups; a device that only the PCI core's rules could tie to a group
 * made earlier finds it by the same walks.  Non-PCI devices in a DMAR
 * unit's scope (ACPI namespace devices) get a group each.
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

static struct isolation_provider intel_isolation_provider = {
	.name = "intel-iommu",
};

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

/* A downstream port of a switch that forwards peer-to-peer between ports. */
static bool intel_isolation_open_switch_port(struct pci_dev *pdev)
{
	return pci_is_pcie(pdev) &&
	       pci_pcie_type(pdev) == PCI_EXP_TYPE_DOWNSTREAM &&
	       !pci_acs_enabled(pdev, ISOLATION_ACS_FLAGS) &&
	       !pci_is_root_bus(pdev->bus) && pdev->bus->self;
}

static bool intel_isolation_join(struct intel_isolation_place *place,
				 struct pci_dev *owner, const char *fmt,
				 struct pci_dev *why)
{
	place->group = pci_isolation_group(owner);
	if (place->group)
		snprintf(place->reason, REASON_LEN, fmt, pci_name(why));
	return place->group;
}

/*
 * Another function of @pdev's slot that has a group and no ACS, when @pdev
 * has none either.  Only the slot is looked at, not every PCI device.
 */
static bool intel_isolation_find_function(struct intel_isolation_place *place,
					  struct pci_dev *pdev)
{
	struct pci_dev *tmp;
	bool found = false;
	int fn;

	if (!intel_isolation_mf_open(pdev))
		return false;
	for (fn = 0; fn < 8 && !found; fn++) {
		tmp = pci_get_slot(pdev->bus,
				   PCI_DEVFN(PCI_SLOT(pdev->devfn), fn));
		if (tmp && tmp != pdev &&
		    !pci_acs_enabled(tmp, ISOLATION_ACS_FLAGS))
			found = intel_isolation_join(place, tmp, MF_REASON, tmp);
		pci_dev_put(tmp);
	}
	return found;
}

/* A device on @pdev's bus that the quirks make a DMA alias of it. */
static bool intel_isolation_find_quirk_alias(struct intel_isolation_place *place,
					     struct pci_dev *pdev)
{
	struct pci_dev *tmp;

	list_for_each_entry(tmp, &pdev->bus->devices, bus_list) {
		if (tmp != pdev && pci_devs_are_dma_aliases(pdev, tmp) &&
		    intel_isolation_join(place, tmp, "DMA alias of %s", tmp))
			return true;
	}
	return false;
}

/* Where a PCI device goes, by the rules at the top of this file. */
static void intel_isolation_place_pci(struct intel_isolation_place *place,
				      struct pci_dev *pdev)
{
	struct pci_dev *top = pdev;
	struct pci_bus *bus;

	/* Behind a bridge that takes over the requester ID. */
	pci_for_each_dma_alias(pdev, intel_isolation_alias, &top);
	if (top != pdev &&
	    intel_isolation_join(place, top,
				 pci_is_pcie(top) ? "behind PCIe-to-PCI bridge %s" :
						    "behind PCI bridge %s", top))
		return;

	/* Below a bridge without ACS on the way to the root. */
	for (bus = top->bus; !pci_is_root_bus(bus); bus = bus->parent) {
		if (!bus->self)
			continue;
		if (pci_acs_path_enabled(bus->self, NULL, ISOLATION_ACS_FLAGS))
			break;
		top = bus->self;
		if (intel_isolation_join(place, top, "no ACS on %s", top))
			return;
	}

	/* A downstream port without ACS: one group for the switch. */
	if (intel_isolation_open_switch_port(top) &&
	    intel_isolation_join(place, top->bus->self,
				 "downstream port without ACS of switch %s",
				 top->bus->self))
		return;

	if (intel_isolation_find_quirk_alias(place, top) ||
	    intel_isolation_find_function(place, top))
		return;

	snprintf(place->reason, REASON_LEN, "alone: ACS up to the root");
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

	if (dev_is_pci(dev))
		intel_isolation_place_pci(&place, to_pci_dev(dev));
	else
		snprintf(place.reason, REASON_LEN, "ACPI namespace device");

	group = place.group;
	if (!group) {
		group = isolation_group_alloc(&intel_isolation_provider);
		if (IS_ERR(group)) {
			dev_err(dev, "no isolation group: %ld\n", PTR_ERR(group));
			return;
		}
	}
	snprintf(reason, sizeof(reason), "%s (%s)", place.reason, iommu->name);
	ret = isolation_group_add_device(group, dev, reason);
	if (ret)
		dev_err(dev, "not added to isolation group %d: %d\n",
			isolation_group_id(group), ret);
	/* The members hold the group from now on. */
	isolation_group_put(group);
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
