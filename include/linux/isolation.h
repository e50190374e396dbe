/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device isolation groups
 *
 * An isolation group is a set of devices between which the platform
 * guarantees no isolation: they may reach each other by peer-to-peer DMA,
 * or share a requester ID.  Between groups an IOMMU guarantees isolation.
 * A device is in at most one group.  See Documentation/driver-api/isolation.rst.
 */
#ifndef _LINUX_ISOLATION_H
#define _LINUX_ISOLATION_H

#include <linux/err.h>
#include <linux/types.h>

struct device;
struct isolation_group;

#ifdef CONFIG_ISOLATION

struct isolation_group *isolation_group_alloc(void);
struct isolation_group *isolation_group_get(struct isolation_group *group);
void isolation_group_put(struct isolation_group *group);
int isolation_group_id(struct isolation_group *group);

int isolation_group_add_device(struct isolation_group *group,
			       struct device *dev);
void isolation_group_remove_device(struct device *dev);

#else /* !CONFIG_ISOLATION */

static inline struct isolation_group *isolation_group_alloc(void)
{
	return ERR_PTR(-ENODEV);
}

static inline struct isolation_group *
isolation_group_get(struct isolation_group *group)
{
	return group;
}

static inline void isolation_group_put(struct isolation_group *group)
{
}

static inline int isolation_group_id(struct isolation_group *group)
{
	return -ENODEV;
}

static inline int isolation_group_add_device(struct isolation_group *group,
					     struct device *dev)
{
	return -ENODEV;
}

static inline void isolation_group_remove_device(struct device *dev)
{
}

#endif /* CONFIG_ISOLATION */

#endif /* _LINUX_ISOLATION_H */
