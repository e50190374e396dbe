// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO as the manager of device isolation groups
 *
 * A VFIO user drives the DMA of the devices it opens, so it may only reach
 * a device whose whole isolation group (Documentation/driver-api/isolation.rst)
 * is out of the host's hands: every member bound to a VFIO driver, to a
 * driver that does no DMA of its own (a PCIe port, pci-stub), or to none.
 * VFIO is the isolation manager "vfio":
 *
 * - The drivers built on vfio-pci-core are its drivers; they register
 *   through vfio_pci_core_register_driver(), which adds them here.
 *
 * - Each device VFIO drives holds its isolation group for VFIO from its
 *   registration to its unregistration.  From the moment the first device
 *   of a group binds to a VFIO driver, no host driver can bind to the
 *   others; when the last one unbinds, the group is let go and host drivers
 *   may probe again, unless userspace claimed the group (below), which is
 *   a hold of its own.
 *
 * - Userspace reaches a device only while its isolation group is locked,
 *   whichever the way: the group with a container or with iommufd, or the
 *   device cdev with iommufd.  VFIO_GROUP_GET_STATUS reports a group viable
 *   exactly then.  A refusal returns -EBUSY and logs each device that
 *   blocks, with its driver.
 *
 * - Writing "vfio" to a group's "manager" file claims it in one step: the
 *   isolation core unbinds the host drivers and asks VFIO to bind each
 *   device left without a driver, which it does for PCI endpoints the way
 *   users do by hand, with driver_override and vfio-pci.
 *
 * A device in no isolation group (no provider covers it) is left to the
 * iommu group and DMA ownership rules of the IOMMU core, as before.
 *
 * The isolation core calls VFIO's notify callback under the group's mutex,
 * which VFIO takes last, under its own locks: the callback only logs.
 */

#include <linux/device.h>
#include <linux/isolation.h>
#include <linux/kmod.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/vfio.h>

#include "vfio.h"

/* The driver that takes a PCI endpoint for a claim from userspace. */
#define VFIO_ISOLATION_PCI_DRIVER	"vfio-pci"

/*
 * What @dev's driver_override says of vfio-pci, as
 * device_match_driver_override() would: 1 if it names it, 0 if it names
 * another driver, -1 if it is not set.
 */
static int vfio_isolation_override(struct device *dev)
{
	guard(spinlock)(&dev->driver_override.lock);
	if (!dev->driver_override.name)
		return -1;
	return !strcmp(dev->driver_override.name, VFIO_ISOLATION_PCI_DRIVER);
}

static const struct device_driver *vfio_isolation_pci_driver(struct device *dev)
{
	const struct device_driver *drv;

	drv = driver_find(VFIO_ISOLATION_PCI_DRIVER, dev->bus);
	if (!drv && !request_module(VFIO_ISOLATION_PCI_DRIVER))
		drv = driver_find(VFIO_ISOLATION_PCI_DRIVER, dev->bus);
	return drv;
}

/*
 * A claim from userspace: bind a PCI endpoint without a driver to vfio-pci.
 * Bridges stay as they are, unbound or on a compatible driver: vfio-pci
 * takes endpoints only.  A driver_override that names another driver is
 * the user's choice, which a claim does not overrule.
 */
static int vfio_isolation_claim_device(struct isolation_manager *mgr,
				       struct device *dev)
{
	const struct device_driver *drv;
	int override, ret;

	if (!dev_is_pci(dev) ||
	    to_pci_dev(dev)->hdr_type != PCI_HEADER_TYPE_NORMAL)
		return 0;

	drv = vfio_isolation_pci_driver(dev);
	if (!drv) {
		dev_err(dev, "vfio: cannot claim: no driver %s\n",
			VFIO_ISOLATION_PCI_DRIVER);
		return -ENODEV;
	}
	override = vfio_isolation_override(dev);
	if (!override) {
		dev_err(dev, "vfio: cannot claim: driver_override names another driver than %s\n",
			drv->name);
		return -EBUSY;
	}
	if (override < 0) {
		ret = device_set_driver_override(dev, drv->name);
		if (ret)
			return ret;
	}

	ret = device_attach(dev);
	if (ret > 0)
		return 0;
	dev_err(dev, "vfio: cannot claim: %s did not bind: %d\n", drv->name,
		ret);
	if (override < 0)
		device_set_driver_override(dev, "");
	return ret ?: -ENODEV;
}

/*
 * On release, before host drivers probe again: drop the driver_override
 * that sends the device to vfio-pci, a claim's or the user's own, since
 * the user gives the device back; one that names another driver stays.
 */
static void vfio_isolation_release_device(struct isolation_manager *mgr,
					  struct device *dev)
{
	if (vfio_isolation_override(dev) > 0)
		device_set_driver_override(dev, "");
}

/* Only logs: it runs under the isolation group's mutex. */
static void vfio_isolation_notify(struct isolation_manager *mgr,
				  struct isolation_group *group,
				  struct device *dev, enum isolation_event event)
{
	int id = isolation_group_id(group);

	switch (event) {
	case ISOLATION_DEVICE_ADDED:
		dev_info(dev, "vfio: joined isolation group %d, which VFIO holds\n",
			 id);
		break;
	case ISOLATION_DEVICE_REMOVED:
		dev_info(dev, "vfio: left isolation group %d\n", id);
		break;
	default:
		break;
	}
}

static const struct isolation_manager_ops vfio_isolation_ops = {
	.notify = vfio_isolation_notify,
	.claim_device = vfio_isolation_claim_device,
	.release_device = vfio_isolation_release_device,
};

static struct isolation_manager vfio_isolation_manager = {
	.name = "vfio",
	.owner = THIS_MODULE,
	.ops = &vfio_isolation_ops,
};

/**
 * vfio_isolation_add_driver - make a driver one of VFIO's isolation drivers
 * @drv: a VFIO driver, before it registers with its bus
 *
 * Devices of the isolation groups VFIO holds may then bind to @drv, and a
 * device bound to it does not keep its group from locking.
 *
 * Context: process context, may sleep.
 * Return: 0, or -ENOMEM.
 */
int vfio_isolation_add_driver(const struct device_driver *drv)
{
	return isolation_manager_add_driver(&vfio_isolation_manager, drv);
}
EXPORT_SYMBOL_GPL(vfio_isolation_add_driver);

/**
 * vfio_isolation_remove_driver - undo vfio_isolation_add_driver()
 * @drv: the driver, once it has unregistered from its bus
 *
 * Context: process context, may sleep.
 */
void vfio_isolation_remove_driver(const struct device_driver *drv)
{
	isolation_manager_remove_driver(&vfio_isolation_manager, drv);
}
EXPORT_SYMBOL_GPL(vfio_isolation_remove_driver);

/*
 * Hold the device's isolation group for VFIO, if it is in one, from now
 * until vfio_device_drop_isolation_group().  Runs from the probe of a VFIO
 * driver, under the device lock.
 */
int vfio_device_hold_isolation_group(struct vfio_device *device)
{
	struct isolation_group *group;
	int ret;

	group = isolation_group_get_from_dev(device->dev);
	if (!group)
		return 0;
	ret = isolation_group_set_manager(group, &vfio_isolation_manager);
	if (ret) {
		dev_err(device->dev, "vfio: cannot hold isolation group %d: %d\n",
			isolation_group_id(group), ret);
		isolation_group_put(group);
		return ret;
	}
	device->isolation_group = group;
	return 0;
}

void vfio_device_drop_isolation_group(struct vfio_device *device)
{
	struct isolation_group *group = device->isolation_group;

	if (!group)
		return;
	device->isolation_group = NULL;
	isolation_group_clear_manager(group, &vfio_isolation_manager);
	isolation_group_put(group);
}

/*
 * Whether userspace may reach @device: 0 if it is in no isolation group or
 * its group is locked; otherwise -EBUSY, with each device that blocks
 * logged with its driver.
 */
int vfio_device_check_isolation(struct vfio_device *device)
{
	if (!device->isolation_group)
		return 0;
	return isolation_group_check_locked(device->isolation_group,
					    &vfio_isolation_manager);
}

int __init vfio_isolation_init(void)
{
	return isolation_manager_register(&vfio_isolation_manager);
}

void vfio_isolation_exit(void)
{
	isolation_manager_unregister(&vfio_isolation_manager);
}
