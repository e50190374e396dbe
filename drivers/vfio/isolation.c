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
 * - A device bound to one of VFIO's drivers holds its isolation group for
 *   VFIO, which the isolation core counts where the binding is committed:
 *   from the moment the first device of a group binds to a VFIO driver, no
 *   host driver can bind to the others; when the last one unbinds, the
 *   group is let go and host drivers may probe again, unless userspace
 *   claimed the group (below), which is a hold of its own.
 *
 * - Userspace reaches a device only while its isolation group is locked,
 *   whichever the way: the group with a container or with iommufd, or the
 *   device cdev with iommufd.  VFIO_GROUP_GET_STATUS reports a group viable
 *   exactly then.  A refusal returns -EBUSY and logs each device that
 *   blocks, with its driver.  The group is looked up at each check, so a
 *   device that its IOMMU placed late, or that left its group, is judged
 *   by the group it is in now.
 *
 * - Where the device's IOMMU provides isolation groups, a device that is in
 *   none, or whose iommu group is not whole in its isolation group, is
 *   refused (iommu_isolation_check()): its placement failed, and its
 *   isolation is unknown.  A device whose IOMMU provides none is left to
 *   the iommu group and DMA ownership rules of the IOMMU core, as before.
 *
 * - An isolation group belongs to the container or iommufd context that a
 *   VFIO group of it is attached to, or that a device of it is opened
 *   with, its owner: no other one can attach a VFIO group of it nor open a
 *   device of it, even where the isolation group spans several iommu
 *   groups, or two users could reach each other's devices.
 *
 * - Writing "vfio" to a group's "manager" file claims it in one step: the
 *   isolation core unbinds the host drivers and asks VFIO to bind each
 *   device left without a driver, which the VFIO driver of the device's bus
 *   does (vfio_isolation_add_claim(); vfio-pci for PCI).  Both load on
 *   demand: a distribution's vfio.ko and vfio-pci.ko need no step of
 *   their own before a claim.
 *
 * - A group that a reservation holds for VFIO goes to VFIO's drivers with
 *   no step in userspace: a device that joins it is prepared for the VFIO
 *   driver of its bus before the bus probes it (vfio-pci sets the device's
 *   driver_override), and when that driver registers its claim, after
 *   VFIO took the groups that waited for it, it binds their devices.
 *
 * - A user must never keep a group while a host driver runs in it.  No host
 *   driver can bind to a device of a group that VFIO holds, but a group
 *   can stop being locked under a user all the same: a device that its
 *   IOMMU placed late joins it on a host driver, or a device that belongs
 *   in it could not join it.  VFIO cannot take devices back, so it asks the
 *   user to give them back with the device request, as on hot-unplug (a
 *   user such as QEMU unplugs them from its guest), and the checks at open
 *   refuse new access meanwhile.
 *
 * The isolation core calls VFIO's notify and prepare callbacks under the
 * group's mutex, which VFIO takes before its own lock: notify only logs,
 * and leaves the device requests to a work item.
 * vfio_isolation_lock protects the list of claims and their users, and
 * nothing is called under it.  A claim is used only while counted in its
 * users, and vfio_isolation_remove_claim() waits for them: the module of
 * a VFIO driver never goes while its code runs.
 */

#include <linux/completion.h>
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/isolation.h>
#include <linux/kmod.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/vfio.h>
#include <linux/workqueue.h>

#include "vfio.h"

static DEFINE_MUTEX(vfio_isolation_lock);
static LIST_HEAD(vfio_isolation_claims);

/*
 * The claim for @dev's bus, counted in its users, or NULL.  A claim being
 * removed is handed out only @to_release: its driver's exit undoes what it
 * set up (vfio_isolation_remove_claim()), and nothing new is set up.
 */
static struct vfio_isolation_claim *vfio_isolation_claim_get(struct device *dev,
							     bool to_release)
{
	struct vfio_isolation_claim *claim;

	mutex_lock(&vfio_isolation_lock);
	list_for_each_entry(claim, &vfio_isolation_claims, node) {
		if (claim->bus == dev->bus && (to_release || !claim->removing)) {
			claim->users++;
			goto out;
		}
	}
	claim = NULL;
out:
	mutex_unlock(&vfio_isolation_lock);
	return claim;
}

static void vfio_isolation_claim_put(struct vfio_isolation_claim *claim)
{
	mutex_lock(&vfio_isolation_lock);
	if (!--claim->users && claim->removing)
		complete(&claim->idle);
	mutex_unlock(&vfio_isolation_lock);
}

/*
 * The claim for @dev's bus, loading the VFIO driver that provides it (it
 * says MODULE_ALIAS("vfio-claim-pci")), or NULL, logged.
 */
static struct vfio_isolation_claim *vfio_isolation_claim_load(struct device *dev)
{
	struct vfio_isolation_claim *claim = vfio_isolation_claim_get(dev, false);
	const char *bus = dev->bus ? dev->bus->name : "bus-less";

	if (!claim && dev->bus && !request_module("vfio-claim-%s", bus))
		claim = vfio_isolation_claim_get(dev, false);
	if (!claim)
		dev_err(dev, "vfio: cannot claim: no VFIO driver claims %s devices\n",
			bus);
	return claim;
}

static int vfio_isolation_check_device(struct isolation_manager *mgr,
				       struct device *dev)
{
	struct vfio_isolation_claim *claim = vfio_isolation_claim_load(dev);
	int ret;

	if (!claim)
		return -ENODEV;
	ret = claim->check ? claim->check(dev) : 0;
	vfio_isolation_claim_put(claim);
	return ret;
}

static int vfio_isolation_claim_device(struct isolation_manager *mgr,
				       struct device *dev)
{
	struct vfio_isolation_claim *claim = vfio_isolation_claim_load(dev);
	int ret;

	if (!claim)
		return -ENODEV;
	ret = claim->claim(dev);
	vfio_isolation_claim_put(claim);
	return ret;
}

static void vfio_isolation_release_device(struct isolation_manager *mgr,
					  struct device *dev)
{
	struct vfio_isolation_claim *claim = vfio_isolation_claim_get(dev, true);

	if (claim) {
		claim->release(dev);
		vfio_isolation_claim_put(claim);
	}
}

/*
 * Under the isolation group's mutex: no module is loaded here.  Without a
 * claim for the bus yet, vfio_isolation_add_claim() binds the device.
 */
static bool vfio_isolation_prepare_device(struct isolation_manager *mgr,
					  struct device *dev)
{
	struct vfio_isolation_claim *claim = vfio_isolation_claim_get(dev, false);
	bool ret = false;

	if (!claim)
		return false;
	if (claim->prepare)
		ret = claim->prepare(dev);
	vfio_isolation_claim_put(claim);
	return ret;
}

static void vfio_isolation_request_fn(struct work_struct *work)
{
	vfio_request_unisolated_devices();
}

static DECLARE_WORK(vfio_isolation_request_work, vfio_isolation_request_fn);

/* It runs under the isolation group's mutex: only logs, or queues. */
static void vfio_isolation_notify(struct isolation_manager *mgr,
				  struct isolation_group *group,
				  struct device *dev, enum isolation_event event)
{
	int id = isolation_group_id(group);

	switch (event) {
	case ISOLATION_EVENT_DEVICE_ADDED:
		dev_dbg(dev, "vfio: joined isolation group %d, which VFIO holds\n",
			id);
		break;
	case ISOLATION_EVENT_DEVICE_REMOVED:
		dev_dbg(dev, "vfio: left isolation group %d\n", id);
		break;
	case ISOLATION_EVENT_UNLOCKED:
		/* Its users, if it has any, must give its devices back. */
		schedule_work(&vfio_isolation_request_work);
		break;
	default:
		break;
	}
}

static const struct isolation_manager_ops vfio_isolation_ops = {
	.notify = vfio_isolation_notify,
	.check_device = vfio_isolation_check_device,
	.claim_device = vfio_isolation_claim_device,
	.release_device = vfio_isolation_release_device,
	.prepare_device = vfio_isolation_prepare_device,
};

static struct isolation_manager vfio_isolation_manager = {
	.name = "vfio",
	.owner = THIS_MODULE,
	.ops = &vfio_isolation_ops,
};

/* A claim for "vfio" loads VFIO when it is a module that is not loaded yet. */
MODULE_ALIAS("isolation-manager-vfio");

/**
 * vfio_isolation_add_driver - make a driver one of VFIO's isolation drivers
 * @drv: a VFIO driver, before it registers with its bus
 *
 * Devices of the isolation groups VFIO holds may then bind to @drv, and a
 * device bound to it does not keep its group from locking.
 *
 * Context: process context, may sleep.
 * Return: 0; -EBUSY if @drv is another manager's already, -ENOMEM.
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

/**
 * vfio_isolation_add_claim - bind a bus's devices for claims from userspace
 * @claim: how, for one bus; it stays in use until
 *	   vfio_isolation_remove_claim() returns
 *
 * A claim of an isolation group through its manager file asks @claim to
 * bind each device of @claim->bus that is left without a driver.  The
 * module that provides it should say MODULE_ALIAS("vfio-claim-<bus>"), so
 * that a claim loads it.  The groups that reservations hold for VFIO are
 * claimed at once, which binds their devices of @claim->bus that have no
 * driver yet.
 *
 * Context: process context, may sleep; the driver of @claim is registered
 * with its bus.
 * Return: 0, or -EEXIST if the bus has a claim already.
 */
int vfio_isolation_add_claim(struct vfio_isolation_claim *claim)
{
	struct vfio_isolation_claim *c;
	int ret = 0;

	claim->users = 0;
	claim->removing = false;
	init_completion(&claim->idle);
	mutex_lock(&vfio_isolation_lock);
	list_for_each_entry(c, &vfio_isolation_claims, node)
		if (c->bus == claim->bus)
			ret = -EEXIST;
	if (!ret)
		list_add_tail(&claim->node, &vfio_isolation_claims);
	mutex_unlock(&vfio_isolation_lock);
	if (!ret)
		isolation_manager_claim_reserved(&vfio_isolation_manager);
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_isolation_add_claim);

/**
 * vfio_isolation_remove_claim - undo vfio_isolation_add_claim()
 * @claim: the claim
 *
 * From now on @claim takes no device and sets none up.  The devices without
 * a driver in the isolation groups that VFIO holds, claimed or reserved,
 * are given back what @claim set up on them, so that none is left steered
 * to a driver that is gone and a release lets host drivers bind; the
 * groups stay held, and the reserved ones wait for the next claim of their
 * bus.  Returns once no one uses @claim any more, so that its module may
 * go: a claim, release or placement that met it has finished with it.
 *
 * Context: process context, may sleep; the driver of @claim has
 * unregistered from its bus.
 */
void vfio_isolation_remove_claim(struct vfio_isolation_claim *claim)
{
	bool busy;

	mutex_lock(&vfio_isolation_lock);
	claim->removing = true;
	mutex_unlock(&vfio_isolation_lock);
	isolation_manager_unprepare(&vfio_isolation_manager);
	mutex_lock(&vfio_isolation_lock);
	list_del(&claim->node);
	/* Only the users from now on, which no get can add to, count. */
	reinit_completion(&claim->idle);
	busy = claim->users;
	mutex_unlock(&vfio_isolation_lock);
	if (busy)
		wait_for_completion(&claim->idle);
}
EXPORT_SYMBOL_GPL(vfio_isolation_remove_claim);

/*
 * A device VFIO drives must be bound to one of VFIO's isolation drivers, or
 * its binding would keep its own isolation group from locking: refuse it at
 * registration, under the device lock, and say why.
 */
int vfio_device_check_isolation_driver(struct vfio_device *device)
{
	const struct device_driver *drv = device->dev->driver;

	if (!drv || !READ_ONCE(device->dev->isolation_group) ||
	    isolation_manager_owns(&vfio_isolation_manager, drv))
		return 0;
	dev_err(device->dev, "vfio: %s is not one of VFIO's isolation drivers (vfio_isolation_add_driver())\n",
		drv->name);
	return -EINVAL;
}

/*
 * Whether userspace may reach @device: 0 if its IOMMU provides no isolation
 * groups, or if its isolation group is whole and locked; otherwise -EBUSY,
 * with what blocks logged.
 */
int vfio_device_check_isolation(struct vfio_device *device)
{
	struct isolation_group *group;
	int ret;

	ret = iommu_isolation_check(device->dev);
	if (ret)
		return ret;
	group = isolation_group_get_from_dev(device->dev);
	if (!group)
		return 0;
	ret = isolation_group_check_locked(group, &vfio_isolation_manager);
	isolation_group_put(group);
	return ret;
}

/*
 * The device is about to be opened with @owner, the container or iommufd
 * context its DMA goes to: refused with -EBUSY, logged, if its isolation
 * group is not locked or another owner has a device of it open.  The group
 * and the owner are remembered, so that vfio_device_disown_isolation() at
 * the last close gives back what was taken even if the device has left it
 * since.
 */
int vfio_device_own_isolation(struct vfio_device *device, const void *owner)
{
	struct isolation_group *group;
	int ret;

	group = isolation_group_get_from_dev(device->dev);
	if (!group)
		return 0;
	ret = isolation_group_set_owner(group, &vfio_isolation_manager, owner);
	if (ret) {
		isolation_group_put(group);
		return ret;
	}
	device->isolation_owned = group;
	device->isolation_owner = owner;
	return 0;
}

/* Give back what vfio_device_own_isolation() took, whatever owns it now. */
void vfio_device_disown_isolation(struct vfio_device *device)
{
	struct isolation_group *group = device->isolation_owned;

	if (!group)
		return;
	device->isolation_owned = NULL;
	isolation_group_clear_owner(group, &vfio_isolation_manager,
				    device->isolation_owner);
	isolation_group_put(group);
}

/*
 * The VFIO group is about to be attached to @owner, the container or
 * iommufd context its devices' DMA will go to: refused with -EBUSY, logged,
 * if another owner has a device of its isolation group, which may span
 * several iommu groups, or if the group is not locked.  The devices of one
 * VFIO group share an iommu group, so they share an isolation group
 * (iommu_isolation_check() refused them otherwise).  Undone by
 * vfio_group_disown_isolation() when the group is detached.
 */
int vfio_group_own_isolation(struct vfio_group *group, const void *owner)
{
	struct isolation_group *igroup = NULL;
	struct vfio_device *device;
	int ret;

	lockdep_assert_held(&group->group_lock);

	mutex_lock(&group->device_lock);
	device = list_first_entry_or_null(&group->device_list,
					  struct vfio_device, group_next);
	if (device)
		igroup = isolation_group_get_from_dev(device->dev);
	mutex_unlock(&group->device_lock);
	if (!igroup)
		return 0;
	ret = isolation_group_set_owner(igroup, &vfio_isolation_manager, owner);
	if (ret) {
		isolation_group_put(igroup);
		return ret;
	}
	group->isolation_owned = igroup;
	group->isolation_owner = owner;
	return 0;
}

void vfio_group_disown_isolation(struct vfio_group *group)
{
	struct isolation_group *igroup = group->isolation_owned;

	lockdep_assert_held(&group->group_lock);

	if (!igroup)
		return;
	group->isolation_owned = NULL;
	isolation_group_clear_owner(igroup, &vfio_isolation_manager,
				    group->isolation_owner);
	isolation_group_put(igroup);
}

int __init vfio_isolation_init(void)
{
	return isolation_manager_register(&vfio_isolation_manager);
}

void vfio_isolation_exit(void)
{
	isolation_manager_unregister(&vfio_isolation_manager);
	/* No notify from now on, so nothing queues it again. */
	cancel_work_sync(&vfio_isolation_request_work);
}
