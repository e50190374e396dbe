// SPDX-License-Identifier: GPL-2.0
/*
 * PCI device names in isolation group reservations
 *
 * A reservation (isolation.reserve=, /sys/kernel/isolation_groups/reserve)
 * names a device on its bus, and the bus says which names it takes (see
 * Documentation/driver-api/isolation.rst).  A PCI device is named by its
 * address as the kernel names it, <domain>:<bus>:<slot>.<function>; the
 * domain may be left out, as lspci leaves out domain 0, and the hex digits
 * may be in either case.
 */

#include <linux/ctype.h>
#include <linux/init.h>
#include <linux/isolation.h>
#include <linux/kernel.h>
#include <linux/pci.h>
#include <linux/string.h>

/*
 * [<domain>:]<bus>:<slot>.<function> in @len bytes at @s, into @name as
 * pci_name() would print it: 4 to 8 hex digits of domain, 2 of bus and of
 * slot, 1 of function.
 */
static int pci_isolation_parse_name(const char *s, size_t len, char *name)
{
	static const struct {
		unsigned int min, max;
		char sep;
	} fields[] = { { 4, 8, ':' }, { 2, 2, ':' }, { 2, 2, '.' }, { 1, 1 } };
	const char *end = s + len, *colon = memchr(s, ':', len);
	unsigned int i, n;
	u32 v[4] = { 0 };

	if (!colon)
		return -EINVAL;
	/* One colon: no domain. */
	i = memchr(colon + 1, ':', end - colon - 1) ? 0 : 1;
	for (; i < ARRAY_SIZE(fields); i++) {
		for (n = 0; s < end && isxdigit(*s) && n < fields[i].max; n++)
			v[i] = v[i] << 4 | hex_to_bin(*s++);
		if (n < fields[i].min)
			return -EINVAL;
		if (fields[i].sep && (s == end || *s++ != fields[i].sep))
			return -EINVAL;
	}
	if (s != end || v[2] > 0x1f || v[3] > 7)
		return -EINVAL;
	snprintf(name, ISOLATION_DEV_NAME_MAX, "%04x:%02x:%02x.%u", v[0], v[1],
		 v[2], v[3]);
	return 0;
}

static struct isolation_bus pci_isolation_bus = {
	.bus = &pci_bus_type,
	.parse_name = pci_isolation_parse_name,
};

static int __init pci_isolation_init(void)
{
	return isolation_bus_register(&pci_isolation_bus);
}
postcore_initcall(pci_isolation_init);
