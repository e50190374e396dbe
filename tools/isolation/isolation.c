// SPDX-License-Identifier: GPL-2.0
/*
 * isolation - show and manage device isolation groups
 *
 * An isolation group is a set of devices that the IOMMU cannot isolate from
 * each other; a VM (through VFIO) gets a whole group or nothing.  This tool
 * reads /sys/kernel/isolation_groups/ (see
 * Documentation/ABI/testing/sysfs-kernel-isolation_groups) and the PCI
 * devices in sysfs, and writes only a group's "manager" file, to claim or
 * release the group.  See isolation(8) and
 * Documentation/driver-api/isolation.rst.
 *
 * Every path is built under $ISOLATION_SYSFS (default /sys), so that
 * tests/tool/run can point the tool at a fake tree; links in such a tree
 * are relative, and realpath() resolves them as it does in sysfs.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/compiler.h>		/* tools/include: __printf, __noreturn */

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define VERSION		"1.0"
#define VFIO		"vfio"		/* VFIO's manager name */
#define MANAGER_MAX	32		/* ISOLATION_MANAGER_NAME_MAX */
#define WRAP		76		/* where "why" wraps its paragraph */

/* Exit status, one per class of outcome: isolation(8), EXIT STATUS. */
enum {
	RC_OK		= 0,
	RC_REFUSED	= 1,	/* the kernel refused a write; other errors */
	RC_USAGE	= 2,	/* bad command line */
	RC_NOENT	= 3,	/* no such group or device */
	RC_NOSUPPORT	= 4,	/* no /sys/kernel/isolation_groups */
	RC_PERM		= 5,	/* EPERM, EACCES, EROFS */
	RC_NOTREADY	= 6,	/* why: the device is not ready for a VM */
};

static const char *sysroot = "/sys";

/* ---- errors, memory, strings ---- */

static void __printf(1, 0)
vwarn(const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("isolation: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* One line on stderr, starting with "isolation: " like every error. */
static void __printf(1, 2)
warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

static void __printf(2, 3) __noreturn
fail(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	exit(status);
}

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p)
		fail(RC_REFUSED, "out of memory");
	return p;
}

static void *xzalloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	if (!p)
		fail(RC_REFUSED, "out of memory");
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		fail(RC_REFUSED, "out of memory");
	return p;
}

static __printf(1, 2) char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fail(RC_REFUSED, "out of memory");
	return s;
}

/* A growing string, for output that is printed in one piece. */
struct sbuf {
	char *s;
	size_t len, size;
};

static void sb_init(struct sbuf *sb)
{
	sb->size = 256;
	sb->len = 0;
	sb->s = xzalloc(sb->size);
}

static void __printf(2, 3)
sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(sb->s + sb->len, sb->size - sb->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			fail(RC_REFUSED, "cannot format output");
		if ((size_t)n < sb->size - sb->len) {
			sb->len += n;
			return;
		}
		sb->size = (sb->len + n + 1) * 2;
		sb->s = xrealloc(sb->s, sb->size);
	}
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* A group number as sysfs and the user write it, or -1. */
static int parse_id(const char *s)
{
	long v;

	if (!all_digits(s) || strlen(s) > 9)
		return -1;
	v = strtol(s, NULL, 10);
	return (int)v;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* ---- PCI addresses ---- */

#define ADDR_MAX	24	/* "dddddddd:bb:dd.f" and a NUL, with room */

static size_t hex_run(const char *s)
{
	size_t n = 0;

	while (isxdigit((unsigned char)s[n]))
		n++;
	return n;
}

/*
 * Parse "dddd:bb:dd.f" at @s, or "bb:dd.f" if @short_ok (domain 0), into
 * the kernel's spelling in @out; return the length parsed, or 0.  Domains
 * are 4 to 8 digits (VMD's are 5); function numbers 0-7.
 */
static size_t pci_addr_at(const char *s, bool short_ok, char out[ADDR_MAX])
{
	unsigned long dom = 0, bus, dev, fn;
	const char *p = s;
	size_t n = hex_run(p);

	if (n >= 4 && n <= 8 && p[n] == ':') {
		dom = strtoul(p, NULL, 16);
		p += n + 1;
		n = hex_run(p);
	} else if (!short_ok) {
		return 0;
	}
	if (n != 2 || p[2] != ':')
		return 0;
	bus = strtoul(p, NULL, 16);
	p += 3;
	if (hex_run(p) != 2 || p[2] != '.' || p[3] < '0' || p[3] > '7')
		return 0;
	dev = strtoul(p, NULL, 16);
	fn = p[3] - '0';
	if (dev > 0x1f)
		return 0;
	p += 4;
	snprintf(out, ADDR_MAX, "%04lx:%02lx:%02lx.%lx", dom, bus, dev, fn);
	return p - s;
}

/* Whether @s is exactly a PCI address; normalised into @out. */
static bool parse_pci_addr(const char *s, bool short_ok, char out[ADDR_MAX])
{
	size_t n = pci_addr_at(s, short_ok, out);

	return n && !s[n];
}

/*
 * The first full PCI address in @text, a reason such as "behind PCIe-to-PCI
 * bridge 0000:01:00.0 (dmar0)": the device that merged a member into its
 * group.  Copied into @out; false if there is none.
 */
static bool find_pci_addr(const char *text, char out[ADDR_MAX])
{
	const char *s;
	size_t n;

	for (s = text; *s; s++) {
		if (s > text && (isalnum((unsigned char)s[-1]) || s[-1] == ':'))
			continue;
		n = pci_addr_at(s, false, out);
		if (n && !isalnum((unsigned char)s[n]))
			return true;
	}
	return false;
}

/* ---- sysfs ---- */

static __printf(1, 2) char *
sys_path(const char *fmt, ...)
{
	va_list ap;
	char *rel, *path;

	va_start(ap, fmt);
	if (vasprintf(&rel, fmt, ap) < 0)
		fail(RC_REFUSED, "out of memory");
	va_end(ap);
	path = xasprintf("%s/%s", sysroot, rel);
	free(rel);
	return path;
}

/* A whole file, NUL-terminated, or NULL with errno set. */
static char *read_text(const char *path)
{
	size_t len = 0, size = 4096;
	ssize_t n;
	char *buf;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = xrealloc(NULL, size);
	for (;;) {
		if (len + 1 >= size) {
			size *= 2;
			buf = xrealloc(buf, size);
		}
		n = read(fd, buf + len, size - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	err = errno;
	close(fd);
	if (n < 0) {
		free(buf);
		errno = err;
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* The first line of a file without its newline, or NULL. */
static char *read_line(const char *path)
{
	char *s = read_text(path);

	if (s)
		s[strcspn(s, "\n")] = '\0';
	return s;
}

/* As read_line(), for the file @name in the directory @dir. */
static char *read_attr(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	char *s = read_line(path);

	free(path);
	return s;
}

/* A file of one hex number, such as "0x020000". */
static bool read_hex(const char *dir, const char *name, unsigned int *val)
{
	char *s = read_attr(dir, name), *end;
	unsigned long v;
	bool ok;

	if (!s)
		return false;
	errno = 0;
	v = strtoul(s, &end, 16);
	ok = !errno && end != s && v <= 0xffffff;
	free(s);
	if (ok)
		*val = v;
	return ok;
}

/* The last component of where the link @dir/@name points, or NULL. */
static char *link_base(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	char target[PATH_MAX];
	ssize_t n;
	char *slash;

	n = readlink(path, target, sizeof(target) - 1);
	free(path);
	if (n <= 0)
		return NULL;
	target[n] = '\0';
	slash = strrchr(target, '/');
	return xstrdup(slash ? slash + 1 : target);
}

static bool exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

/*
 * The directory of all groups, checked first by every command: without
 * it this kernel has no isolation groups, which is no error of the user's.
 */
static DIR *open_groups_dir(void)
{
	char *path = sys_path("kernel/isolation_groups");
	DIR *d = opendir(path);

	if (!d && errno == ENOENT)
		fail(RC_NOSUPPORT,
		     "this kernel has no isolation groups (%s is missing): it needs the device isolation groups series (CONFIG_ISOLATION)",
		     path);
	if (!d)
		fail(errno == EACCES || errno == EPERM ? RC_PERM : RC_REFUSED,
		     "cannot read %s: %s", path, strerror(errno));
	free(path);
	return d;
}

/* ---- devices and groups ---- */

struct pci_ids {
	unsigned int class;			/* 0xccsspp */
	unsigned int vendor, device;
	char *class_name;			/* from pci.ids, or NULL */
	char *vendor_name, *device_name;
};

struct dev {
	char *name;		/* as the kernel names it: 0000:02:01.0 */
	char *path;		/* its directory, resolved; NULL if gone */
	char *driver;		/* NULL: none */
	char *unit;		/* its IOMMU unit, e.g. dmar0, or NULL */
	int iommu_group;	/* or -1 */
	bool pci;		/* and so ids is valid */
	struct pci_ids ids;
	char *entry;		/* its name in its group's devices/, or NULL */
	char *reason;		/* why it is in its group, or NULL */
	char *link;		/* the device the reason names, or NULL */
};

struct blocker {
	char *device, *driver;
};

struct group {
	int id;
	char *provider, *manager, *state;	/* "" when empty */
	struct dev *devs;
	size_t ndevs;
	struct blocker *blockers;
	size_t nblockers;
};

struct groups {
	struct group *v;
	size_t n;
};

/* Read the device whose directory is @path (NULL if it went away). */
static void dev_read(struct dev *d, const char *path, const char *name)
{
	const char *slash = path ? strrchr(path, '/') : NULL;
	char addr[ADDR_MAX];
	char *ig;

	memset(d, 0, sizeof(*d));
	d->iommu_group = -1;
	d->name = xstrdup(slash ? slash + 1 : name);
	if (!path)
		return;
	d->path = xstrdup(path);
	d->driver = link_base(path, "driver");
	d->unit = link_base(path, "iommu");
	ig = link_base(path, "iommu_group");
	if (ig)
		d->iommu_group = parse_id(ig);
	free(ig);
	d->pci = parse_pci_addr(d->name, false, addr) &&
		 read_hex(path, "class", &d->ids.class) &&
		 read_hex(path, "vendor", &d->ids.vendor) &&
		 read_hex(path, "device", &d->ids.device);
}

static void dev_free(struct dev *d)
{
	free(d->name);
	free(d->path);
	free(d->driver);
	free(d->unit);
	free(d->ids.class_name);
	free(d->ids.vendor_name);
	free(d->ids.device_name);
	free(d->entry);
	free(d->reason);
	free(d->link);
}

static int dev_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dev *)a)->name,
		      ((const struct dev *)b)->name);
}

static void group_free(struct group *g)
{
	size_t i;

	for (i = 0; i < g->ndevs; i++)
		dev_free(&g->devs[i]);
	for (i = 0; i < g->nblockers; i++) {
		free(g->blockers[i].device);
		free(g->blockers[i].driver);
	}
	free(g->devs);
	free(g->blockers);
	free(g->provider);
	free(g->manager);
	free(g->state);
}

static void groups_free(struct groups *gs)
{
	size_t i;

	for (i = 0; i < gs->n; i++)
		group_free(&gs->v[i]);
	free(gs->v);
	gs->v = NULL;
	gs->n = 0;
}

/* The next line of the text at *@pos, cut out in place, or NULL. */
static char *next_line(char **pos)
{
	char *line = *pos, *nl;

	if (!line || !*line)
		return NULL;
	nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		*pos = nl + 1;
	} else {
		*pos = line + strlen(line);
	}
	return line;
}

/* Why the member is in its group, from its device's isolation_reason. */
static void dev_read_reason(struct dev *d)
{
	char addr[ADDR_MAX];

	if (!d->path)
		return;
	d->reason = read_attr(d->path, "isolation_reason");
	if (d->reason && find_pci_addr(d->reason, addr))
		d->link = xstrdup(addr);
}

static void group_read_devices(struct group *g, const char *dir)
{
	char *ddir = xasprintf("%s/devices", dir);
	DIR *d = opendir(ddir);
	struct dirent *de;
	char *link, *real;

	if (!d && errno != ENOENT)
		fail(RC_REFUSED, "cannot read %s: %s", ddir, strerror(errno));
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		link = xasprintf("%s/%s", ddir, de->d_name);
		real = realpath(link, NULL);
		g->devs = xrealloc(g->devs, (g->ndevs + 1) * sizeof(*g->devs));
		dev_read(&g->devs[g->ndevs], real, de->d_name);
		g->devs[g->ndevs].entry = xstrdup(de->d_name);
		dev_read_reason(&g->devs[g->ndevs++]);
		free(real);
		free(link);
	}
	if (d)
		closedir(d);
	free(ddir);
	qsort(g->devs, g->ndevs, sizeof(*g->devs), dev_cmp);
}

/*
 * The "blockers" file names members as devices/ does, one a line; their
 * drivers are theirs (NULL if the member is gone meanwhile).
 */
static void group_read_blockers(struct group *g, const char *dir)
{
	char *path = xasprintf("%s/blockers", dir);
	char *text = read_text(path);
	char *pos = text, *line;
	const char *drv;
	struct blocker *b;
	size_t i;

	while ((line = next_line(&pos))) {
		drv = NULL;
		for (i = 0; i < g->ndevs && !drv; i++)
			if (g->devs[i].entry && !strcmp(g->devs[i].entry, line))
				drv = g->devs[i].driver;
		g->blockers = xrealloc(g->blockers,
				       (g->nblockers + 1) * sizeof(*b));
		b = &g->blockers[g->nblockers++];
		b->device = xstrdup(line);
		b->driver = drv ? xstrdup(drv) : NULL;
	}
	free(text);
	free(path);
}

/*
 * A group's attribute, "" if the file is gone with its group.  Any other
 * error ends the command: a wrong answer is worse than none.
 */
static char *attr_or_empty(const char *dir, const char *name)
{
	char *s = read_attr(dir, name);

	if (!s && errno != ENOENT)
		fail(RC_REFUSED, "cannot read %s/%s: %s", dir, name,
		     strerror(errno));
	return s ? s : xstrdup("");
}

/* Read group @id; false if it is gone (groups come and go). */
static bool group_read(struct group *g, int id)
{
	char *dir = sys_path("kernel/isolation_groups/%d", id);

	memset(g, 0, sizeof(*g));
	if (!exists(dir)) {
		free(dir);
		return false;
	}
	g->id = id;
	g->provider = attr_or_empty(dir, "provider");
	g->manager = attr_or_empty(dir, "manager");
	g->state = attr_or_empty(dir, "state");
	if (!*g->state) {		/* gone meanwhile */
		group_free(g);
		free(dir);
		return false;
	}
	group_read_devices(g, dir);
	group_read_blockers(g, dir);
	free(dir);
	return true;
}

static int group_cmp(const void *a, const void *b)
{
	return int_cmp(&((const struct group *)a)->id,
		       &((const struct group *)b)->id);
}

static void load_groups(struct groups *gs)
{
	DIR *d = open_groups_dir();
	struct dirent *de;
	int id;

	gs->v = NULL;
	gs->n = 0;
	while ((de = readdir(d))) {
		id = parse_id(de->d_name);
		if (id < 0)
			continue;
		gs->v = xrealloc(gs->v, (gs->n + 1) * sizeof(*gs->v));
		if (group_read(&gs->v[gs->n], id))
			gs->n++;
	}
	closedir(d);
	qsort(gs->v, gs->n, sizeof(*gs->v), group_cmp);
}

static struct group *find_group(struct groups *gs, int id)
{
	size_t i;

	for (i = 0; i < gs->n; i++)
		if (gs->v[i].id == id)
			return &gs->v[i];
	return NULL;
}

/* The group that has the device @name, and the member in *@dp. */
static struct group *find_member(struct groups *gs, const char *name,
				 struct dev **dp)
{
	size_t i, j;

	for (i = 0; i < gs->n; i++)
		for (j = 0; j < gs->v[i].ndevs; j++)
			if (!strcmp(gs->v[i].devs[j].name, name)) {
				if (dp)
					*dp = &gs->v[i].devs[j];
				return &gs->v[i];
			}
	return NULL;
}

static char *pci_dev_path(const char *addr)
{
	return sys_path("bus/pci/devices/%s", addr);
}

/*
 * A group given as a number or by one of its devices (its form checked by
 * check_target()); fails with RC_NOENT if there is none.
 */
static struct group *lookup_group(struct groups *gs, const char *target)
{
	char addr[ADDR_MAX];
	struct group *g;
	char *path;
	int id = parse_id(target);

	if (id >= 0) {
		g = find_group(gs, id);
		if (!g)
			fail(RC_NOENT, "no isolation group %d (isolation list shows them)",
			     id);
		return g;
	}
	parse_pci_addr(target, true, addr);
	g = find_member(gs, addr, NULL);
	if (g)
		return g;
	path = pci_dev_path(addr);
	if (exists(path))
		fail(RC_NOENT, "%s is in no isolation group (isolation why %s tells why)",
		     addr, addr);
	fail(RC_NOENT, "no device %s (%s is missing)", addr, path);
}

/* ---- pci.ids ---- */

static FILE *pci_ids_open(void)
{
	static const char *const paths[] = {
		"/usr/share/misc/pci.ids",
		"/usr/share/hwdata/pci.ids",
		"/usr/share/pci.ids",
	};
	const char *env = getenv("ISOLATION_PCI_IDS");
	FILE *f;
	size_t i;

	/* Set, it is the only one: tests must not depend on the host's. */
	if (env)
		return *env ? fopen(env, "re") : NULL;
	for (i = 0; i < ARRAY_SIZE(paths); i++) {
		f = fopen(paths[i], "re");
		if (f)
			return f;
	}
	return NULL;
}

/* "<@digits hex digits>  <name>" at @s: the id, and the name in *@name. */
static bool pci_ids_entry(const char *s, size_t digits, unsigned int *id,
			  const char **name)
{
	if (hex_run(s) != digits || s[digits] != ' ')
		return false;
	*id = strtoul(s, NULL, 16);
	s += digits;
	while (*s == ' ')
		s++;
	*name = s;
	return *s;
}

static void set_name(char **slot, const char *name)
{
	free(*slot);
	*slot = xstrdup(name);
}

/*
 * Fill in the names of the @n devices in @want from pci.ids, in one pass
 * that looks only for their ids.  Vendors come first, "\tdddd" devices
 * below their vendor; then classes, "C cc", with "\tss" subclasses.
 */
static void pci_ids_resolve(struct pci_ids **want, size_t n)
{
	unsigned int vendor = ~0u, class = ~0u, id;
	bool classes = false;
	const char *name;
	size_t cap = 0, i;
	char *line = NULL;
	ssize_t len;
	FILE *f;

	if (!n)
		return;
	f = pci_ids_open();
	if (!f)
		return;
	while ((len = getline(&line, &cap, f)) >= 0) {
		while (len && isspace((unsigned char)line[len - 1]))
			line[--len] = '\0';
		if (line[0] == '#' || !line[0])
			continue;
		if (line[0] == 'C' && line[1] == ' ') {
			classes = true;
			if (!pci_ids_entry(line + 2, 2, &class, &name))
				class = ~0u;
			for (i = 0; class != ~0u && i < n; i++)
				if (want[i]->class >> 16 == class)
					set_name(&want[i]->class_name, name);
		} else if (classes) {
			if (line[0] != '\t' || line[1] == '\t' ||
			    !pci_ids_entry(line + 1, 2, &id, &name))
				continue;
			/* The subclass says more than the class. */
			for (i = 0; i < n; i++)
				if (want[i]->class >> 8 == (class << 8 | id))
					set_name(&want[i]->class_name, name);
		} else if (line[0] != '\t') {
			if (!pci_ids_entry(line, 4, &vendor, &name))
				vendor = ~0u;
			for (i = 0; vendor != ~0u && i < n; i++)
				if (want[i]->vendor == vendor)
					set_name(&want[i]->vendor_name, name);
		} else if (line[1] != '\t' &&
			   pci_ids_entry(line + 1, 4, &id, &name)) {
			for (i = 0; i < n; i++)
				if (want[i]->vendor == vendor &&
				    want[i]->device == id)
					set_name(&want[i]->device_name, name);
		}
	}
	free(line);
	fclose(f);
}

/* Names for every PCI member of the @ngroups groups at @g. */
static void resolve_names(struct group *g, size_t ngroups)
{
	struct pci_ids **want = NULL;
	size_t i, j, n = 0;

	for (i = 0; i < ngroups; i++)
		for (j = 0; j < g[i].ndevs; j++) {
			if (!g[i].devs[j].pci)
				continue;
			want = xrealloc(want, (n + 1) * sizeof(*want));
			want[n++] = &g[i].devs[j].ids;
		}
	pci_ids_resolve(want, n);
	free(want);
}

/* "Ethernet controller", or "0x020000" without pci.ids, or "-". */
static char *class_str(const struct dev *d)
{
	if (!d->pci)
		return xstrdup("-");
	if (d->ids.class_name)
		return xstrdup(d->ids.class_name);
	return xasprintf("0x%06x", d->ids.class);
}

/* "Intel Corporation 82574L [8086:10d3]", as much as pci.ids knows. */
static char *ids_str(const struct dev *d)
{
	const struct pci_ids *p = &d->ids;

	if (!d->pci)
		return xstrdup("-");
	if (!p->vendor_name)
		return xasprintf("[%04x:%04x]", p->vendor, p->device);
	return xasprintf("%s %s [%04x:%04x]", p->vendor_name,
			 p->device_name ? p->device_name : "Device",
			 p->vendor, p->device);
}

/* ---- JSON ---- */

/*
 * The length of the valid UTF-8 sequence at @s, or 0: no overlong forms,
 * no surrogates, nothing past U+10FFFF.
 */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;

	if (*s < 0xc2 || *s > 0xf4)
		return 0;
	n = *s >= 0xf0 ? 4 : *s >= 0xe0 ? 3 : 2;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((*s == 0xe0 && s[1] < 0xa0) || (*s == 0xed && s[1] >= 0xa0) ||
	    (*s == 0xf0 && s[1] < 0x90) || (*s == 0xf4 && s[1] >= 0x90))
		return 0;
	return n;
}

/*
 * A JSON string, or null for NULL.  Sysfs text is bytes: a byte that is
 * not part of valid UTF-8 is written as the code point of its value, so
 * that the document always parses.
 */
static void json_str(struct sbuf *sb, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	if (!s) {
		sb_printf(sb, "null");
		return;
	}
	sb_printf(sb, "\"");
	for (; *s; s += n) {
		n = *s < 0x80 ? 1 : utf8_len(s);
		if (*s == '"' || *s == '\\') {
			sb_printf(sb, "\\%c", *s);
		} else if (*s == '\n') {
			sb_printf(sb, "\\n");
		} else if (*s == '\t') {
			sb_printf(sb, "\\t");
		} else if (*s < 0x20 || *s == 0x7f || !n) {
			sb_printf(sb, "\\u%04x", *s);
			n = 1;
		} else {
			sb_printf(sb, "%.*s", (int)n, s);
		}
	}
	sb_printf(sb, "\"");
}

/* Empty sysfs lines are null in JSON. */
static const char *or_null(const char *s)
{
	return s && *s ? s : NULL;
}

static void json_hex(struct sbuf *sb, bool valid, int width, unsigned int v)
{
	if (valid)
		sb_printf(sb, "\"0x%0*x\"", width, v);
	else
		sb_printf(sb, "null");
}

static void json_dev(struct sbuf *sb, const struct dev *d)
{
	sb_printf(sb, "{\"address\":");
	json_str(sb, d->name);
	sb_printf(sb, ",\"pci\":%s,\"class\":", d->pci ? "true" : "false");
	json_hex(sb, d->pci, 6, d->ids.class);
	sb_printf(sb, ",\"class_name\":");
	json_str(sb, d->ids.class_name);
	sb_printf(sb, ",\"vendor\":");
	json_hex(sb, d->pci, 4, d->ids.vendor);
	sb_printf(sb, ",\"device\":");
	json_hex(sb, d->pci, 4, d->ids.device);
	sb_printf(sb, ",\"vendor_name\":");
	json_str(sb, d->ids.vendor_name);
	sb_printf(sb, ",\"device_name\":");
	json_str(sb, d->ids.device_name);
	sb_printf(sb, ",\"driver\":");
	json_str(sb, d->driver);
	sb_printf(sb, ",\"iommu_unit\":");
	json_str(sb, d->unit);
	if (d->iommu_group >= 0)
		sb_printf(sb, ",\"iommu_group\":%d", d->iommu_group);
	else
		sb_printf(sb, ",\"iommu_group\":null");
	sb_printf(sb, ",\"reason\":");
	json_str(sb, d->reason);
	sb_printf(sb, ",\"reason_device\":");
	json_str(sb, d->link);
	sb_printf(sb, "}");
}

/* The distinct IOMMU units of @g's members, sorted; returns the count. */
static size_t group_units(const struct group *g, char ***out)
{
	char **v = xzalloc((g->ndevs + 1) * sizeof(*v));
	size_t i, n = 0;

	for (i = 0; i < g->ndevs; i++)
		if (g->devs[i].unit)
			v[n++] = g->devs[i].unit;
	qsort(v, n, sizeof(*v), str_cmp);
	for (i = 1; n && i < n; )
		if (!strcmp(v[i], v[i - 1]))
			memmove(&v[i], &v[i + 1], (--n - i) * sizeof(*v));
		else
			i++;
	*out = v;
	return n;
}

/* The distinct iommu groups that @g spans, sorted; returns the count. */
static size_t group_iommu_groups(const struct group *g, int **out)
{
	int *v = xzalloc((g->ndevs + 1) * sizeof(*v));
	size_t i, n = 0;

	for (i = 0; i < g->ndevs; i++)
		if (g->devs[i].iommu_group >= 0)
			v[n++] = g->devs[i].iommu_group;
	qsort(v, n, sizeof(*v), int_cmp);
	for (i = 1; n && i < n; )
		if (v[i] == v[i - 1])
			memmove(&v[i], &v[i + 1], (--n - i) * sizeof(*v));
		else
			i++;
	*out = v;
	return n;
}

static void json_group(struct sbuf *sb, const struct group *g)
{
	char **units;
	size_t i, n;
	int *igs;

	sb_printf(sb, "{\"id\":%d,\"provider\":", g->id);
	json_str(sb, or_null(g->provider));
	sb_printf(sb, ",\"manager\":");
	json_str(sb, or_null(g->manager));
	sb_printf(sb, ",\"state\":");
	json_str(sb, g->state);
	sb_printf(sb, ",\"iommu_units\":[");
	n = group_units(g, &units);
	for (i = 0; i < n; i++) {
		sb_printf(sb, i ? "," : "");
		json_str(sb, units[i]);
	}
	free(units);
	sb_printf(sb, "],\"iommu_groups\":[");
	n = group_iommu_groups(g, &igs);
	for (i = 0; i < n; i++)
		sb_printf(sb, "%s%d", i ? "," : "", igs[i]);
	free(igs);
	sb_printf(sb, "],\"devices\":[");
	for (i = 0; i < g->ndevs; i++) {
		sb_printf(sb, i ? "," : "");
		json_dev(sb, &g->devs[i]);
	}
	sb_printf(sb, "],\"blockers\":[");
	for (i = 0; i < g->nblockers; i++) {
		sb_printf(sb, "%s{\"device\":", i ? "," : "");
		json_str(sb, g->blockers[i].device);
		sb_printf(sb, ",\"driver\":");
		json_str(sb, g->blockers[i].driver);
		sb_printf(sb, "}");
	}
	sb_printf(sb, "]}");
}

/* The document goes out in one piece, on one line. */
static void sb_flush_line(struct sbuf *sb)
{
	puts(sb->s);
	free(sb->s);
}

/* ---- list ---- */

enum {
	COL_GROUP, COL_PROVIDER, COL_MANAGER, COL_STATE, COL_DEVICE,
	COL_CLASS, COL_IDS, COL_DRIVER, NCOLS
};

static const char *const col_names[NCOLS] = {
	"GROUP", "PROVIDER", "MANAGER", "STATE", "DEVICE", "CLASS",
	"VENDOR:DEVICE", "DRIVER",
};

static const char *dash(const char *s)
{
	return s && *s ? s : "-";
}

/* One table row: the group's columns on its first row only. */
static void list_row(char **row, const struct group *g, const struct dev *d,
		     bool first)
{
	row[COL_GROUP] = first ? xasprintf("%d", g->id) : xstrdup("");
	row[COL_PROVIDER] = xstrdup(first ? dash(g->provider) : "");
	row[COL_MANAGER] = xstrdup(first ? dash(g->manager) : "");
	row[COL_STATE] = xstrdup(first ? dash(g->state) : "");
	row[COL_DEVICE] = xstrdup(d ? d->name : "-");
	row[COL_CLASS] = d ? class_str(d) : xstrdup("-");
	row[COL_IDS] = d ? ids_str(d) : xstrdup("-");
	row[COL_DRIVER] = xstrdup(d ? dash(d->driver) : "-");
}

static void print_table(char **cells, size_t rows)
{
	size_t w[NCOLS], i, c, len;

	for (c = 0; c < NCOLS; c++)
		w[c] = strlen(col_names[c]);
	for (i = 0; i < rows; i++)
		for (c = 0; c < NCOLS; c++) {
			len = strlen(cells[i * NCOLS + c]);
			if (len > w[c])
				w[c] = len;
		}
	for (c = 0; c < NCOLS; c++)
		printf("%-*s%s", c + 1 < NCOLS ? (int)w[c] : 0, col_names[c],
		       c + 1 < NCOLS ? "  " : "\n");
	for (i = 0; i < rows; i++)
		for (c = 0; c < NCOLS; c++)
			printf("%-*s%s", c + 1 < NCOLS ? (int)w[c] : 0,
			       cells[i * NCOLS + c],
			       c + 1 < NCOLS ? "  " : "\n");
}

static void say_no_groups(void)
{
	printf("No isolation groups: no IOMMU places devices in them.\n"
	       "If the machine has an IOMMU, boot with intel_iommu=on (or amd_iommu=on)\n"
	       "on the kernel command line.\n");
}

static int cmd_list(char **args, bool json)
{
	struct groups gs;
	size_t i, j, rows = 0;
	char **cells = NULL;
	struct sbuf sb;

	(void)args;
	load_groups(&gs);
	resolve_names(gs.v, gs.n);
	if (json) {
		sb_init(&sb);
		sb_printf(&sb, "{\"version\":1,\"groups\":[");
		for (i = 0; i < gs.n; i++) {
			sb_printf(&sb, i ? "," : "");
			json_group(&sb, &gs.v[i]);
		}
		sb_printf(&sb, "]}");
		sb_flush_line(&sb);
	} else if (!gs.n) {
		say_no_groups();
	} else {
		for (i = 0; i < gs.n; i++) {
			const struct group *g = &gs.v[i];

			for (j = 0; j < g->ndevs || (!j && !g->ndevs); j++) {
				cells = xrealloc(cells, (rows + 1) * NCOLS *
						 sizeof(*cells));
				list_row(cells + rows++ * NCOLS, g,
					 g->ndevs ? &g->devs[j] : NULL, !j);
			}
		}
		print_table(cells, rows);
		for (i = 0; i < rows * NCOLS; i++)
			free(cells[i]);
		free(cells);
	}
	groups_free(&gs);
	return RC_OK;
}

/* ---- show ---- */

static void show_group(const struct group *g)
{
	char **units, *cls, *ids;
	size_t i, n;
	int *igs;

	printf("group %d\n", g->id);
	printf("  provider:      %s\n", dash(g->provider));
	printf("  manager:       %s\n", dash(g->manager));
	printf("  state:         %s\n", dash(g->state));
	n = group_units(g, &units);
	printf("  iommu units:  ");
	for (i = 0; i < n; i++)
		printf(" %s", units[i]);
	printf("%s\n", n ? "" : " -");
	free(units);
	n = group_iommu_groups(g, &igs);
	printf("  iommu groups: ");
	for (i = 0; i < n; i++)
		printf(" %d", igs[i]);
	printf("%s\n", n ? "" : " -");
	free(igs);
	printf("  devices:\n");
	for (i = 0; i < g->ndevs; i++) {
		const struct dev *d = &g->devs[i];

		cls = class_str(d);
		ids = ids_str(d);
		printf("    %s  %s: %s\n", d->name, cls, ids);
		printf("      driver: %s", dash(d->driver));
		if (d->iommu_group >= 0)
			printf(", iommu group %d", d->iommu_group);
		printf("\n      why:    %s\n", dash(d->reason));
		free(cls);
		free(ids);
	}
	if (!g->ndevs)
		printf("    none\n");
	printf("  blocking the lock:%s\n", g->nblockers ? "" : " nothing");
	for (i = 0; i < g->nblockers; i++)
		printf("    %s on %s\n", g->blockers[i].device,
		       dash(g->blockers[i].driver));
}

static int cmd_show(char **args, bool json)
{
	struct groups gs;
	struct group *g;
	struct sbuf sb;

	load_groups(&gs);
	g = lookup_group(&gs, args[0]);
	resolve_names(g, 1);
	if (json) {
		sb_init(&sb);
		sb_printf(&sb, "{\"version\":1,\"group\":");
		json_group(&sb, g);
		sb_printf(&sb, "}");
		sb_flush_line(&sb);
	} else {
		show_group(g);
	}
	groups_free(&gs);
	return RC_OK;
}

/* ---- tree ---- */

/* A device where groups merge: what a reason says about it. */
struct mark {
	const char *why;
	int group;
};

struct node {
	struct dev dev;
	char *parent_path;	/* the directory it is in */
	int parent;		/* index of the PCI device above, or -1 */
	struct group *group;	/* or NULL */
	struct mark *marks;	/* where groups merge at this device */
	size_t nmarks;
};

struct tree {
	struct node *v;
	size_t n;
	char **roots;		/* the root buses' directories, sorted */
	size_t nroots;
};

static int node_cmp(const void *a, const void *b)
{
	return dev_cmp(&((const struct node *)a)->dev,
		       &((const struct node *)b)->dev);
}

static void tree_read(struct tree *t, struct groups *gs)
{
	char *dir = sys_path("bus/pci/devices");
	DIR *d = opendir(dir);
	struct pci_ids **want;
	struct dirent *de;
	char *link, *real;
	struct node *nd;
	size_t i, j;

	memset(t, 0, sizeof(*t));
	if (!d && errno != ENOENT)
		fail(RC_REFUSED, "cannot read %s: %s", dir, strerror(errno));
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		link = xasprintf("%s/%s", dir, de->d_name);
		real = realpath(link, NULL);
		free(link);
		if (!real)
			continue;	/* gone meanwhile */
		t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
		nd = &t->v[t->n++];
		memset(nd, 0, sizeof(*nd));
		dev_read(&nd->dev, real, de->d_name);
		*strrchr(real, '/') = '\0';
		nd->parent_path = real;
	}
	if (d)
		closedir(d);
	free(dir);
	qsort(t->v, t->n, sizeof(*t->v), node_cmp);

	want = xzalloc((t->n + 1) * sizeof(*want));
	for (i = 0; i < t->n; i++) {
		nd = &t->v[i];
		nd->parent = -1;
		for (j = 0; j < t->n; j++)
			if (!strcmp(nd->parent_path, t->v[j].dev.path))
				nd->parent = j;
		nd->group = find_member(gs, nd->dev.name, NULL);
		want[i] = &nd->dev.ids;
		if (nd->parent >= 0)
			continue;
		for (j = 0; j < t->nroots; j++)
			if (!strcmp(t->roots[j], nd->parent_path))
				break;
		if (j == t->nroots) {
			t->roots = xrealloc(t->roots, (j + 1) * sizeof(char *));
			t->roots[t->nroots++] = nd->parent_path;
		}
	}
	pci_ids_resolve(want, t->n);
	free(want);
	qsort(t->roots, t->nroots, sizeof(*t->roots), str_cmp);
}

static void tree_free(struct tree *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		dev_free(&t->v[i].dev);
		free(t->v[i].parent_path);
		free(t->v[i].marks);
	}
	free(t->v);
	free(t->roots);
}

#define TIES	"ties the devices below it"	/* a bridge's own reason */

/*
 * What a member's reason says about the device it names, shortly: why the
 * groups of the devices around that device merge there.
 */
static const char *merge_why(const char *reason)
{
	static const struct {
		const char *prefix, *why;
	} kinds[] = {
		{ "behind PCIe-to-PCI bridge",
		  "PCIe-to-PCI bridge, one requester ID for all behind it" },
		{ "behind PCI bridge", "PCI bridge, one requester ID for all behind it" },
		{ "no ACS on", "no ACS, the devices below it reach each other" },
		{ "function of multifunction device", "multifunction device without ACS" },
		{ "below switch", "switch with a downstream port without ACS" },
		{ "DMA alias of", "DMA alias" },
		{ TIES, "ties the devices below it to it" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kinds); i++)
		if (!strncmp(reason, kinds[i].prefix, strlen(kinds[i].prefix)))
			return kinds[i].why;
	return NULL;
}

static struct node *tree_find(struct tree *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].dev.name, name))
			return &t->v[i];
	return NULL;
}

static void node_mark(struct node *nd, const char *why, int group)
{
	size_t i;

	for (i = 0; i < nd->nmarks; i++)
		if (nd->marks[i].why == why && nd->marks[i].group == group)
			return;
	nd->marks = xrealloc(nd->marks, (nd->nmarks + 1) * sizeof(*nd->marks));
	nd->marks[nd->nmarks].why = why;
	nd->marks[nd->nmarks++].group = group;
}

/* Mark each device where groups merge, once for each kind of merge. */
static void tree_mark(struct tree *t, struct groups *gs)
{
	const struct dev *d;
	struct node *nd;
	const char *why;
	size_t i, j;

	for (i = 0; i < gs->n; i++)
		for (j = 0; j < gs->v[i].ndevs; j++) {
			d = &gs->v[i].devs[j];
			why = d->reason ? merge_why(d->reason) : NULL;
			/* A bridge that ties: the reason names no device. */
			nd = why ? tree_find(t, d->link ? d->link : d->name) :
				   NULL;
			if (nd)
				node_mark(nd, why, gs->v[i].id);
		}
}

/*
 * "  <- isolation stops here: WHY (group N)"; a bridge that ties the
 * devices below it to it says so only if nothing says more.
 */
static void node_print_marks(const struct node *nd)
{
	size_t i, n = 0;

	for (i = 0; i < nd->nmarks; i++) {
		if (nd->nmarks > 1 && nd->marks[i].why == merge_why(TIES))
			continue;
		printf("%s%s (group %d)", n++ ? "; " :
		       "  <- isolation stops here: ", nd->marks[i].why,
		       nd->marks[i].group);
	}
}

static void tree_print_node(struct tree *t, size_t idx, const char *prefix,
			    bool last)
{
	struct node *nd = &t->v[idx];
	char *cls = class_str(&nd->dev), *ids = ids_str(&nd->dev);
	char *sub;
	size_t i, k, n = 0;

	printf("%s%s%s %s: %s", prefix, last ? "\\-" : "+-", nd->dev.name,
	       cls, ids);
	if (nd->dev.driver)
		printf(" (%s)", nd->dev.driver);
	if (nd->group)
		printf("  [group %d %s]", nd->group->id, nd->group->state);
	else
		printf("  [no group]");
	node_print_marks(nd);
	printf("\n");
	free(cls);
	free(ids);

	sub = xasprintf("%s%s", prefix, last ? "  " : "| ");
	for (i = 0; i < t->n; i++)
		n += t->v[i].parent == (int)idx;
	for (i = 0, k = 0; i < t->n; i++)
		if (t->v[i].parent == (int)idx)
			tree_print_node(t, i, sub, ++k == n);
	free(sub);
}

static void tree_print_root(struct tree *t, const char *root)
{
	size_t i, k, n = 0;

	printf("%s\n", strrchr(root, '/') ? strrchr(root, '/') + 1 : root);
	for (i = 0; i < t->n; i++)
		n += t->v[i].parent < 0 && !strcmp(t->v[i].parent_path, root);
	for (i = 0, k = 0; i < t->n; i++)
		if (t->v[i].parent < 0 && !strcmp(t->v[i].parent_path, root))
			tree_print_node(t, i, "", ++k == n);
}

/* Group members that are not PCI devices, after the tree. */
static void tree_print_others(struct tree *t, struct groups *gs)
{
	const struct dev *d;
	bool any = false;
	size_t i, j;

	for (i = 0; i < gs->n; i++)
		for (j = 0; j < gs->v[i].ndevs; j++) {
			d = &gs->v[i].devs[j];
			if (tree_find(t, d->name))
				continue;
			if (!any)
				printf("\nother devices\n");
			any = true;
			printf("  %s%s%s%s  [group %d %s]\n", d->name,
			       d->driver ? " (" : "", d->driver ? d->driver : "",
			       d->driver ? ")" : "", gs->v[i].id,
			       gs->v[i].state);
		}
}

static int cmd_tree(char **args, bool json)
{
	struct groups gs;
	struct tree t;
	size_t i;

	(void)args;
	(void)json;
	load_groups(&gs);
	tree_read(&t, &gs);
	tree_mark(&t, &gs);
	for (i = 0; i < t.nroots; i++)
		tree_print_root(&t, t.roots[i]);
	if (!t.n)
		printf("no PCI devices\n");
	tree_print_others(&t, &gs);
	printf("\n[group N state]   the device's isolation group, and its state\n"
	       "[no group]        no IOMMU places the device in an isolation group\n"
	       "<- isolation stops here: WHY (group N)\n"
	       "                  the IOMMU cannot tell apart the devices at this one\n"
	       "                  (below it, behind it, or its functions), so they are\n"
	       "                  all in group N, and go to a VM together or not at all\n");
	tree_free(&t);
	groups_free(&gs);
	return RC_OK;
}

/* ---- why ---- */

/* Print @text wrapped at WRAP columns, at spaces. */
static void print_wrapped(const char *text)
{
	const char *s = text, *end, *brk;

	while (*s == ' ')
		s++;
	while (*s) {
		end = s + strlen(s);
		if (end - s > WRAP) {
			brk = NULL;
			for (end = s; *end && end - s <= WRAP; end++)
				if (*end == ' ')
					brk = end;
			end = brk ? brk : s + strcspn(s, " ");
		}
		printf("%.*s\n", (int)(end - s), s);
		for (s = end; *s == ' '; s++)
			;
	}
}

/* A member's reason for prose: without its IOMMU unit, said elsewhere. */
static char *reason_text(const struct dev *d)
{
	char *unit, *r = xstrdup(dash(d->reason));
	size_t rl = strlen(r), ul;

	if (!d->unit)
		return r;
	unit = xasprintf(" (%s)", d->unit);
	ul = strlen(unit);
	if (rl > ul && !strcmp(r + rl - ul, unit))
		r[rl - ul] = '\0';
	free(unit);
	return r;
}

static bool is_bridge(const struct dev *d)
{
	unsigned int sub = d->ids.class >> 8;

	return d->pci && (sub == 0x0604 || sub == 0x0609);
}

static const char *list_sep(size_t i, size_t n)
{
	return !i ? "" : i + 1 < n ? ", " : " and ";
}

static void why_members(struct sbuf *sb, const struct group *g,
			const struct dev *me)
{
	char *r = reason_text(me);
	size_t i, k = 0;

	sb_printf(sb, " Why it is there: %s.", r);
	free(r);
	if (g->ndevs == 1) {
		sb_printf(sb, " It is alone in the group.");
		return;
	}
	sb_printf(sb, " The group also has ");
	for (i = 0; i < g->ndevs; i++) {
		if (&g->devs[i] == me)
			continue;
		r = reason_text(&g->devs[i]);
		sb_printf(sb, "%s%s (%s)", list_sep(k++, g->ndevs - 1),
			  g->devs[i].name, r);
		free(r);
	}
	sb_printf(sb,
		  ". The IOMMU cannot isolate them from each other, so the whole group goes to one VM: its other devices leave their host drivers too (bridges keep their port drivers), and no other VM can have them.");
}

/* "@intro X @on drv and Y @on drv." */
static void why_blockers(struct sbuf *sb, const struct group *g,
			 const char *intro, const char *on)
{
	size_t i;

	if (!g->nblockers)
		return;
	sb_printf(sb, " %s ", intro);
	for (i = 0; i < g->nblockers; i++)
		sb_printf(sb, "%s%s %s %s", list_sep(i, g->nblockers),
			  g->blockers[i].device, on,
			  dash(g->blockers[i].driver));
	sb_printf(sb, ".");
}

/*
 * VFIO refuses @d while its group is not locked.  When nothing that keeps
 * the group from locking is in @d's own iommu group, a tool that reads
 * only iommu_group (libvirt) sees nothing in the way and cannot know what
 * must go with @d: say so, and where to read the whole group.
 */
static void why_wider_than_iommu_group(struct sbuf *sb, const struct group *g,
				       const struct dev *d)
{
	size_t i, j;

	if (!d->pci || d->iommu_group < 0 || !g->nblockers)
		return;
	for (i = 0; i < g->nblockers; i++)
		for (j = 0; j < g->ndevs; j++)
			if (!strcmp(g->devs[j].name, g->blockers[i].device) &&
			    g->devs[j].iommu_group == d->iommu_group)
				return;
	sb_printf(sb,
		  " Its iommu group %d has nothing in the way, but its isolation group is wider, so a tool that reads only iommu_group (libvirt) cannot know what must go with it: assign every device of /sys/bus/pci/devices/%s/isolation_group/devices/ together.",
		  d->iommu_group, d->name);
}

/* A device in no group: no IOMMU placed it, or its placement failed. */
static int why_no_group(const char *addr)
{
	char *path = pci_dev_path(addr);
	struct sbuf sb;
	struct dev d;
	char *real;

	real = realpath(path, NULL);
	if (!real)
		fail(RC_NOENT, "no device %s (%s is missing)", addr, path);
	dev_read(&d, real, addr);
	sb_init(&sb);
	if (d.iommu_group >= 0) {
		sb_printf(&sb,
			  "%s is in iommu group %d but in no isolation group: its IOMMU driver does not provide isolation groups, or the rules tied it to two groups at once (the kernel log says so). VFIO will not hand it out.",
			  addr, d.iommu_group);
		print_wrapped(sb.s);
		printf("Run: dmesg | grep -i isolation\n");
	} else {
		sb_printf(&sb,
			  "%s is in no isolation group: no IOMMU places it, so nothing isolates it from the rest of the machine, and VFIO will not hand it to a VM. The IOMMU may be off, or missing.",
			  addr);
		print_wrapped(sb.s);
		printf("Run: turn the IOMMU on (firmware, and e.g. intel_iommu=on)\n");
	}
	free(sb.s);
	free(real);
	free(path);
	dev_free(&d);
	return RC_NOTREADY;
}

/* The VFIO device file of a device bound to vfio-pci, if it has one. */
static char *vfio_cdev(const struct dev *d)
{
	struct dirent *de;
	char *name = NULL;
	char *dir;
	DIR *dd;

	if (!d->path)		/* gone meanwhile */
		return NULL;
	dir = xasprintf("%s/vfio-dev", d->path);
	dd = opendir(dir);
	while (dd && (de = readdir(dd)))
		if (!strncmp(de->d_name, "vfio", 4) && !name)
			name = xasprintf("/dev/vfio/devices/%s", de->d_name);
	if (dd)
		closedir(dd);
	free(dir);
	return name;
}

/* In a group locked by VFIO: ready if VFIO's driver has the device. */
static int why_locked(struct sbuf *sb, const struct group *g,
		      const struct dev *d, char **cmd)
{
	struct utsname uts;
	char *cdev;

	/* vfio-pci, and the vfio-pci-core drivers, named <vendor>_vfio_pci. */
	if (d->driver &&
	    (strstr(d->driver, "vfio-pci") || strstr(d->driver, "vfio_pci"))) {
		sb_printf(sb,
			  " The group is locked by vfio: nothing stands in the way, the device is ready for a VM.");
		if (d->iommu_group >= 0)
			sb_printf(sb, " Its VFIO group is /dev/vfio/%d.",
				  d->iommu_group);
		cdev = vfio_cdev(d);
		if (cdev)
			sb_printf(sb, " Its VFIO device is %s.", cdev);
		free(cdev);
		/* QEMU's binary for this machine: qemu-system-x86_64, ... */
		*cmd = xasprintf("qemu-system-%s <your VM options> -device vfio-pci,host=%s",
				 uname(&uts) ? "<arch>" : uts.machine, d->name);
		return RC_OK;
	}
	if (!d->driver) {
		sb_printf(sb,
			  " The group is locked by vfio, but the device has no driver: it joined after the claim. Claiming again binds it to vfio-pci.");
		*cmd = xasprintf("isolation claim %d %s", g->id, VFIO);
	} else if (!strcmp(d->driver, "pci-stub")) {
		sb_printf(sb,
			  " The group is locked by vfio, but the device is on pci-stub: unbind it and claim again, which binds it to vfio-pci.");
		*cmd = xasprintf("echo %s > %s/unbind && isolation claim %d %s",
				 d->name, "/sys/bus/pci/drivers/pci-stub",
				 g->id, VFIO);
	} else {
		sb_printf(sb,
			  " The group is locked by vfio, but the device stays on %s, a driver that vfio lets stay: a VM cannot have it.",
			  d->driver);
		*cmd = xasprintf("isolation show %d", g->id);
	}
	return RC_NOTREADY;
}

/*
 * A bridge goes to no VM: while VFIO holds its group it stays with the
 * host.  Point to a device of the group that can go instead.
 */
static int why_bridge(struct sbuf *sb, const struct group *g, char **cmd)
{
	size_t i;

	sb_printf(sb,
		  " It is a bridge: bridges go to no VM, they stay with the host on their port driver, or none, while VFIO holds their group. Give a VM the devices below it instead.");
	for (i = 0; i < g->ndevs; i++)
		if (g->devs[i].pci && !is_bridge(&g->devs[i])) {
			*cmd = xasprintf("isolation why %s", g->devs[i].name);
			return RC_NOTREADY;
		}
	*cmd = xstrdup("isolation tree");
	return RC_NOTREADY;
}

/* What the group's manager and state mean for a VM; the command in *@cmd. */
static int why_state(struct sbuf *sb, const struct group *g,
		     const struct dev *d, char **cmd)
{
	if (!*g->manager) {
		sb_printf(sb,
			  " No manager holds the group (%s): host drivers may bind, and VFIO will not hand it out.",
			  g->state);
		why_blockers(sb, g, "Claiming it for vfio unbinds", "from");
		*cmd = xasprintf("isolation claim %d %s", g->id, VFIO);
		return RC_NOTREADY;
	}
	if (!strcmp(g->state, "reserved")) {
		sb_printf(sb,
			  " A reservation holds the group for %s, which has not registered (its module is not loaded, or no manager has that name: the kernel log names a misspelt isolation.reserve= entry at the end of boot): only drivers that do no DMA bind meanwhile, and %s takes the group as it registers.",
			  g->manager, g->manager);
		*cmd = strcmp(g->manager, VFIO) ?
		       xasprintf("modprobe isolation-manager-%s", g->manager) :
		       xstrdup("modprobe vfio-pci");
		return RC_NOTREADY;
	}
	if (strcmp(g->manager, VFIO)) {
		sb_printf(sb,
			  " It is held by %s (%s), not by vfio: release it, then claim it for vfio.",
			  g->manager, g->state);
		*cmd = xasprintf("isolation release %d", g->id);
		return RC_NOTREADY;
	}
	if (strcmp(g->state, "locked")) {
		sb_printf(sb,
			  " vfio holds the group, but it is not locked (%s), so VFIO will not hand it out yet.",
			  g->state);
		why_blockers(sb, g, "Still on host drivers:", "on");
		why_wider_than_iommu_group(sb, g, d);
		*cmd = xasprintf("isolation claim %d %s", g->id, VFIO);
		return RC_NOTREADY;
	}
	return why_locked(sb, g, d, cmd);
}

static int cmd_why(char **args, bool json)
{
	char addr[ADDR_MAX], *cls, *ids, *cmd = NULL;
	struct groups gs;
	struct group *g;
	struct dev *d;
	struct sbuf sb;
	int rc;

	(void)json;
	parse_pci_addr(args[0], true, addr);
	load_groups(&gs);
	g = find_member(&gs, addr, &d);
	if (!g) {
		groups_free(&gs);
		return why_no_group(addr);
	}
	resolve_names(g, 1);
	cls = class_str(d);
	ids = ids_str(d);
	sb_init(&sb);
	sb_printf(&sb, "%s (%s: %s, %s%s) is in isolation group %d.",
		  d->name, cls, ids, d->driver ? "driver " : "no driver",
		  d->driver ? d->driver : "", g->id);
	free(cls);
	free(ids);
	why_members(&sb, g, d);
	if (is_bridge(d)) {
		sb_printf(&sb, " The group is %s%s%s.", g->state,
			  *g->manager ? ", held by " : "", g->manager);
		rc = why_bridge(&sb, g, &cmd);
	} else {
		rc = why_state(&sb, g, d, &cmd);
	}
	print_wrapped(sb.s);
	printf("Run: %s\n", cmd);
	free(sb.s);
	free(cmd);
	groups_free(&gs);
	return rc;
}

/* ---- claim, release ---- */

/*
 * Test hook, in a build with -DISOLATION_TEST_HOOKS only (tests/tool/run
 * makes one): ISOLATION_TEST_ERRNO=<errno name> makes the write to the
 * manager file fail with that errno, and nothing is written.  A fake sysfs
 * tree of plain files cannot refuse a write the way the kernel does (EBUSY,
 * ENODEV, EPERM for root), and the test must see what the user is told
 * then.
 */
#ifdef ISOLATION_TEST_HOOKS
static int test_errno(void)
{
	static const struct {
		const char *name;
		int err;
	} names[] = {
		{ "EPERM", EPERM }, { "EACCES", EACCES }, { "EROFS", EROFS },
		{ "ENODEV", ENODEV }, { "EINVAL", EINVAL }, { "EBUSY", EBUSY },
		{ "ENOENT", ENOENT }, { "EIO", EIO }, { "ENOMEM", ENOMEM },
	};
	const char *s = getenv("ISOLATION_TEST_ERRNO");
	size_t i;

	if (!s || !*s)
		return 0;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i].name))
			return names[i].err;
	fail(RC_USAGE, "ISOLATION_TEST_ERRNO=%s: not an errno the test hook knows",
	     s);
}
#else
static int test_errno(void)
{
	return 0;
}
#endif

/* Write @text to the manager file @path in one write(); 0 or errno. */
static int write_manager(const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t n;
	int fd, err = test_errno();

	if (err)
		return err;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	n = write(fd, text, len);
	err = n < 0 ? errno : (size_t)n != len ? EIO : 0;
	if (close(fd) && !err)
		err = errno;
	return err;
}

/* What stands now, for a refused write. */
static void warn_group_now(int id)
{
	struct group g;
	size_t i;

	if (!group_read(&g, id))
		return;
	warn("group %d now: manager %s, state %s", id, dash(g.manager),
	     dash(g.state));
	for (i = 0; i < g.nblockers; i++)
		warn("  blocking: %s on %s", g.blockers[i].device,
		     dash(g.blockers[i].driver));
	group_free(&g);
}

static void warn_busy(int id, const char *mgr)
{
	warn("the group is busy; the kernel refuses with EBUSY when:");
	if (mgr) {
		warn("  - another manager holds the group: isolation release %d first",
		     id);
		warn("  - a claim or release of the group is running: try again");
		warn("  - a device's driver cannot be unbound");
	} else {
		warn("  - a claim or release of the group is running: try again");
		warn("  - a device's driver cannot be unbound");
		warn("  - a user of the manager has the group (for vfio: a device of it");
		warn("    is open, e.g. by a VM, or its VFIO group is set to a container):");
		warn("    stop that user first");
		warn("  - the manager still holds it once its drivers are unbound (a device");
		warn("    bound by hand to one of its drivers)");
	}
	warn("see: isolation show %d, and dmesg (the kernel log names the device and why)",
	     id);
	warn_group_now(id);
}

/* Say what to do about a refused claim (@mgr) or release (NULL). */
static int write_error(int err, int id, const char *mgr)
{
	char *what = mgr ? xasprintf("claim of group %d for %s", id, mgr) :
			   xasprintf("release of group %d", id);

	switch (err) {
	case EPERM:
	case EACCES:
		fail(RC_PERM,
		     "%s: permission denied: claiming and releasing a group needs root (CAP_SYS_ADMIN); try sudo",
		     what);
	case EROFS:
		fail(RC_PERM,
		     "%s: sysfs is mounted read-only (a container?): run it on the host, or remount /sys read-write",
		     what);
	case ENOENT:
		fail(RC_NOENT, "%s: the group is gone", what);
	case ENODEV:
		if (mgr)
			fail(RC_REFUSED,
			     "%s: no manager named %s is registered, and the kernel could not load one (for vfio: is CONFIG_VFIO set and vfio.ko installed?)",
			     what, mgr);
		fail(RC_REFUSED, "%s: the group went away", what);
	case EINVAL:
		fail(RC_REFUSED,
		     "%s: %s is not a valid manager name (letters, digits, '-' and '_', at most %d)",
		     what, mgr ? mgr : "\"\"", MANAGER_MAX);
	case EBUSY:
		warn("%s refused: %s", what, strerror(err));
		warn_busy(id, mgr);
		free(what);
		return RC_REFUSED;
	default:
		fail(RC_REFUSED, "%s failed: %s", what, strerror(err));
	}
}

/* After a write that worked: "group 3: locked, held by vfio". */
static void say_state(int id)
{
	struct group g;
	size_t i;

	if (!group_read(&g, id)) {
		printf("group %d: gone\n", id);
		return;
	}
	if (!strcmp(g.state, "reserved"))
		printf("group %d: reserved for %s\n", id, g.manager);
	else if (*g.manager)
		printf("group %d: %s, held by %s\n", id, g.state, g.manager);
	else
		printf("group %d: %s, no manager\n", id, g.state);
	for (i = 0; i < g.nblockers; i++)
		printf("  still blocking: %s on %s\n", g.blockers[i].device,
		       dash(g.blockers[i].driver));
	group_free(&g);
}

/* As the kernel takes them: ASCII letters, digits, "-" and "_". */
static bool valid_manager(const char *s)
{
	size_t n;

	for (n = 0; s[n]; n++)
		if (!isascii(s[n]) ||
		    (!isalnum((unsigned char)s[n]) && s[n] != '-' && s[n] != '_'))
			return false;
	return n && n <= MANAGER_MAX;
}

static int claim_or_release(const char *target, const char *mgr)
{
	char addr[ADDR_MAX], *path, *text;
	struct groups gs;
	int id, err;

	load_groups(&gs);
	id = lookup_group(&gs, target)->id;
	groups_free(&gs);
	/*
	 * A device's group through its link, which the kernel follows at
	 * open: if the group went and its number was given to another one
	 * since the lookup, the write still reaches the device's group.
	 */
	if (parse_id(target) < 0 && parse_pci_addr(target, true, addr))
		path = sys_path("bus/pci/devices/%s/isolation_group/manager", addr);
	else
		path = sys_path("kernel/isolation_groups/%d/manager", id);
	text = xasprintf("%s\n", mgr ? mgr : "");
	err = write_manager(path, text);
	free(text);
	free(path);
	if (err)
		return write_error(err, id, mgr);
	say_state(id);
	return RC_OK;
}

static int cmd_claim(char **args, bool json)
{
	(void)json;
	if (!valid_manager(args[1]))
		fail(RC_USAGE,
		     "claim: '%s' is not a manager name (letters, digits, '-' and '_', at most %d), e.g. vfio",
		     args[1], MANAGER_MAX);
	return claim_or_release(args[0], args[1]);
}

static int cmd_release(char **args, bool json)
{
	(void)json;
	return claim_or_release(args[0], NULL);
}

/* ---- command line ---- */

enum target { T_NONE, T_GROUP_OR_DEV, T_DEV };

struct command {
	const char *name;
	int (*fn)(char **args, bool json);
	int nargs;
	enum target target;	/* what the first argument must be */
	bool json;		/* takes --json */
	const char *args;
	const char *summary;	/* for the usage's list */
	const char *help;
};

static int cmd_help(char **args, bool json);

static const struct command commands[] = {
	{ "list", cmd_list, 0, T_NONE, true, "[--json]",
	  "every group, its state and devices",
	  "List every isolation group: its number, provider, manager and state,\n"
	  "and each device in it with its class, vendor:device and driver." },
	{ "show", cmd_show, 1, T_GROUP_OR_DEV, true, "<group|device> [--json]",
	  "one group: devices, why, blockers",
	  "Show one group, given by number or by a device in it: its IOMMU\n"
	  "units and iommu groups, each device and why it is in the group, and\n"
	  "what keeps the group from locking." },
	{ "tree", cmd_tree, 0, T_NONE, false, "",
	  "the PCI hierarchy with the groups",
	  "Draw the PCI hierarchy with each device's group and state, and mark\n"
	  "the devices where isolation stops and groups merge." },
	{ "why", cmd_why, 1, T_DEV, false, "<device>",
	  "what keeps a device from a VM",
	  "Explain what stands between a device and a VM, and end with the\n"
	  "command that clears it.  Exits 0 if the device is ready, 6 if not." },
	{ "claim", cmd_claim, 2, T_GROUP_OR_DEV, false, "<group|device> <manager>",
	  "claim a group (e.g. for vfio)",
	  "Claim a group for a manager (vfio): host drivers are unbound from\n"
	  "its devices, and the manager's drivers bound.  Needs root." },
	{ "release", cmd_release, 1, T_GROUP_OR_DEV, false, "<group|device>",
	  "release a group from its manager",
	  "Release a group from its manager: host drivers may bind again.\n"
	  "Needs root." },
	{ "help", cmd_help, -1, T_NONE, false, "[command]",
	  "this help, or a command's",
	  "Show this help, or a command's." },
};

#define NCOMMANDS	ARRAY_SIZE(commands)

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void usage(void)
{
	size_t i;
	char *cmd;

	printf("Usage: isolation <command> [arguments]\n"
	       "       isolation --help | --version\n\n"
	       "Show and manage device isolation groups: the sets of devices that an\n"
	       "IOMMU cannot isolate from each other, and that go to a VM as a whole.\n\n"
	       "Commands:\n");
	for (i = 0; i < NCOMMANDS; i++) {
		cmd = xasprintf("%s %s", commands[i].name, commands[i].args);
		printf("  %-34s %s\n", cmd, commands[i].summary);
		free(cmd);
	}
	printf("\n<group> is a group number, <device> a PCI address (0000:02:01.0 or\n"
	       "02:01.0).  \"isolation help <command>\" says more about a command.\n\n"
	       "Options:\n"
	       "  -h, --help   this help; after a command, the command's\n"
	       "  --version    the version\n"
	       "  --json       (list, show) one JSON document on one line, see isolation(8)\n\n"
	       "Exit status:\n"
	       "  0  success; why: the device is ready for a VM\n"
	       "  1  the kernel refused a claim or release; other errors\n"
	       "  2  bad command line\n"
	       "  3  no such group or device\n"
	       "  4  this kernel has no isolation groups\n"
	       "  5  permission denied, or sysfs is read-only\n"
	       "  6  why: the device is not ready for a VM\n\n"
	       "Environment: ISOLATION_SYSFS (the sysfs root, default /sys),\n"
	       "ISOLATION_PCI_IDS (the pci.ids file for device names).\n");
}

static void command_usage(const struct command *c)
{
	printf("Usage: isolation %s%s%s\n\n%s\n", c->name, *c->args ? " " : "",
	       c->args, c->help);
}

static int cmd_help(char **args, bool json)
{
	const struct command *c;

	(void)json;
	if (!args[0]) {
		usage();
		return RC_OK;
	}
	if (args[1])
		fail(RC_USAGE, "help: extra argument '%s'", args[1]);
	c = find_command(args[0]);
	if (!c)
		fail(RC_USAGE, "help: unknown command '%s' (isolation --help lists them)",
		     args[0]);
	command_usage(c);
	return RC_OK;
}

/* Check the first argument's form before anything is read from sysfs. */
static void check_target(const struct command *c, const char *arg)
{
	char addr[ADDR_MAX];

	if (c->target == T_GROUP_OR_DEV && parse_id(arg) >= 0)
		return;
	if (c->target != T_NONE && !parse_pci_addr(arg, true, addr))
		fail(RC_USAGE, "%s: '%s' is not %s", c->name, arg,
		     c->target == T_DEV ?
		     "a PCI device address (0000:02:01.0 or 02:01.0)" :
		     "a group number nor a PCI device address (0000:02:01.0 or 02:01.0)");
}

/* Parse a command's options and arguments, and run it. */
static int run_command(const struct command *c, int argc, char **argv)
{
	char **args = xzalloc((argc + 1) * sizeof(*args));
	bool json = false, dashdash = false;
	int i, n = 0, rc;

	for (i = 0; i < argc; i++) {
		if (dashdash || argv[i][0] != '-' || !argv[i][1]) {
			args[n++] = argv[i];
		} else if (!strcmp(argv[i], "--")) {
			dashdash = true;
		} else if (!strcmp(argv[i], "-h") ||
			   !strcmp(argv[i], "--help")) {
			command_usage(c);
			free(args);
			return RC_OK;
		} else if (!strcmp(argv[i], "--json") && c->json) {
			json = true;
		} else {
			fail(RC_USAGE, "%s: unknown option '%s' (isolation help %s)",
			     c->name, argv[i], c->name);
		}
	}
	if (c->nargs >= 0 && n < c->nargs)
		fail(RC_USAGE, "%s: missing argument: usage: isolation %s %s",
		     c->name, c->name, c->args);
	if (c->nargs >= 0 && n > c->nargs)
		fail(RC_USAGE, "%s: extra argument '%s'", c->name,
		     args[c->nargs]);
	if (n)
		check_target(c, args[0]);
	rc = c->fn(args, json);
	free(args);
	return rc;
}

int main(int argc, char **argv)
{
	const char *root = getenv("ISOLATION_SYSFS");
	const struct command *c;
	static char rootbuf[PATH_MAX];
	size_t len;
	int rc;

	if (root && *root) {
		/* "/sys/" and "/sys" alike; "/" leaves an empty prefix. */
		len = strlen(root);
		while (len && root[len - 1] == '/')
			len--;
		if (len >= sizeof(rootbuf))
			fail(RC_USAGE, "ISOLATION_SYSFS is too long");
		memcpy(rootbuf, root, len);
		rootbuf[len] = '\0';
		sysroot = rootbuf;
	}
	if (argc < 2)
		fail(RC_USAGE, "no command given (isolation --help lists them)");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage();
		return RC_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("isolation %s\n", VERSION);
		return RC_OK;
	}
	if (argv[1][0] == '-')
		fail(RC_USAGE, "unknown option '%s' (isolation --help)", argv[1]);
	c = find_command(argv[1]);
	if (!c)
		fail(RC_USAGE, "unknown command '%s' (isolation --help lists them)",
		     argv[1]);
	rc = run_command(c, argc - 2, argv + 2);
	/* Scripts read the output: a short write must not exit 0. */
	if (fflush(stdout) || ferror(stdout))
		fail(RC_REFUSED, "cannot write the output: %s", strerror(errno));
	return rc;
}
