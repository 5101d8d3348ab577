// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which poison methods this host supports, and why (not). Probing only
 * looks: it never poisons, loads a module or mounts anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/magic.h>

#include "inject/inject.h"

#define PROBE_MF_KNOB "/sys/vm/memory_failure_recovery"	/* under the proc root */
#define PROBE_DEBUGFS "/sys/kernel/debug"
#define PROBE_EINJ_TABLE "/sys/firmware/acpi/tables/EINJ"

/* Tests point the roots at fake files (inject_set_*_root): follow them. */
static bool probe_fake_debugfs(void)
{
	return strcmp(inject_debugfs_root(), PROBE_DEBUGFS) != 0;
}

static const char *probe_path(const char *root, const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", root, rel);
	return buf;
}

static __attribute__((format(printf, 2, 3)))
void probe_set(struct inject_probe *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
}

static bool probe_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* The knob exists exactly when the kernel has CONFIG_MEMORY_FAILURE. */
static bool probe_memory_failure(struct inject_probe *p)
{
	char knob[512];

	probe_path(inject_proc_root(), PROBE_MF_KNOB, knob, sizeof(knob));
	if (probe_exists(knob))
		return true;
	probe_set(p, "kernel without memory-failure support "
		  "(CONFIG_MEMORY_FAILURE: %s absent)", knob);
	return false;
}

static bool probe_sys_admin(struct inject_probe *p)
{
	if (inject_has_cap_sys_admin())
		return true;
	probe_set(p, "needs CAP_SYS_ADMIN: run as root");
	return false;
}

static bool probe_debugfs(struct inject_probe *p)
{
	struct statfs st;

	if (probe_fake_debugfs())
		return probe_exists(inject_debugfs_root());
	if (!statfs(PROBE_DEBUGFS, &st) && st.f_type == DEBUGFS_MAGIC)
		return true;
	probe_set(p, "debugfs not mounted at " PROBE_DEBUGFS
		  ": mount -t debugfs none " PROBE_DEBUGFS);
	return false;
}

/*
 * PFNs read as 0 without CAP_SYS_ADMIN (Linux 4.2), and may be hidden by
 * a restricted /proc. Ask about a page that is certainly present.
 */
static bool probe_pagemap(struct inject_probe *p)
{
	static volatile uint64_t present_page;
	uint64_t entry = 0;
	off_t off;
	int fd;
	ssize_t n;

	present_page = 1;
	off = (uintptr_t)&present_page / sysconf(_SC_PAGESIZE) * sizeof(entry);
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		probe_set(p, "/proc/self/pagemap not readable: %s", strerror(errno));
		return false;
	}
	n = pread(fd, &entry, sizeof(entry), off);
	close(fd);
	if (n != (ssize_t)sizeof(entry)) {
		probe_set(p, "/proc/self/pagemap not readable: %s",
			  n < 0 ? strerror(errno) : "short read");
		return false;
	}
	/* bit 63: present; bits 0-54: the PFN. */
	if ((entry >> 63) && (entry & ((1ULL << 55) - 1)))
		return true;
	probe_set(p, "/proc/self/pagemap hides PFNs: needs CAP_SYS_ADMIN in the initial user namespace");
	return false;
}

/* Whether modprobe could find hwpoison_inject: a line of modules.dep names it. */
static bool probe_module_on_disk(const char *name)
{
	char path[256], line[512];
	struct utsname u;
	bool found = false;
	FILE *f;

	if (uname(&u))
		return false;
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", u.release);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		char *base;

		if (!colon)
			continue;
		*colon = '\0';
		base = strrchr(line, '/');
		base = base ? base + 1 : line;
		found = !strncmp(base, name, strlen(name)) &&
			!strncmp(base + strlen(name), ".ko", 3);
	}
	fclose(f);
	return found;
}

static void probe_einj(struct inject_probe *p)
{
	if (!probe_exists(PROBE_EINJ_TABLE)) {
		probe_set(p, "no ACPI EINJ table (" PROBE_EINJ_TABLE ")");
		return;
	}
	if (!probe_sys_admin(p) || !probe_debugfs(p))
		return;
	if (!probe_exists(PROBE_DEBUGFS "/apei/einj")) {
		probe_set(p, "EINJ table present but no " PROBE_DEBUGFS
			  "/apei/einj: modprobe einj");
		return;
	}
	p->available = true;
	probe_set(p, "ACPI EINJ table and " PROBE_DEBUGFS "/apei/einj present");
}

static void probe_hwpoison(struct inject_probe *p)
{
	if (!probe_memory_failure(p) || !probe_sys_admin(p))
		return;
	p->available = true;
	probe_set(p, "madvise(MADV_HWPOISON) with CAP_SYS_ADMIN and CONFIG_MEMORY_FAILURE");
}

static void probe_soft_offline(struct inject_probe *p)
{
	if (!probe_memory_failure(p) || !probe_sys_admin(p))
		return;
	p->available = true;
	probe_set(p, "madvise(MADV_SOFT_OFFLINE) with CAP_SYS_ADMIN and CONFIG_MEMORY_FAILURE");
}

static void probe_pfn(struct inject_probe *p)
{
	char corrupt[512];

	if (!probe_memory_failure(p) || !probe_sys_admin(p) ||
	    !probe_pagemap(p) || !probe_debugfs(p))
		return;
	probe_path(inject_debugfs_root(), "/hwpoison/corrupt-pfn", corrupt, sizeof(corrupt));
	if (probe_exists(corrupt)) {
		p->available = true;
		probe_set(p, "debugfs hwpoison/corrupt-pfn present, pagemap gives PFNs");
	} else if (probe_module_on_disk("hwpoison_inject") ||
		   probe_module_on_disk("hwpoison-inject")) {
		p->available = true;
		probe_set(p, "hwpoison_inject module on disk (loaded when first used), "
			  "pagemap gives PFNs");
	} else {
		probe_set(p, "hwpoison_inject module not found "
			  "(needs CONFIG_HWPOISON_INJECT and its module installed)");
	}
}

void inject_probe(enum inject_method m, struct inject_probe *p)
{
	p->available = false;
	p->why[0] = '\0';
	switch (m) {
	case INJECT_EINJ:
		probe_einj(p);
		break;
	case INJECT_HWPOISON:
		probe_hwpoison(p);
		break;
	case INJECT_PFN:
		probe_pfn(p);
		break;
	case INJECT_SOFT_OFFLINE:
		probe_soft_offline(p);
		break;
	case INJECT_UFFD:
		p->available = inject_uffd_available(p->why, sizeof(p->why));
		break;
	case INJECT_SIGNAL:
		p->available = true;
		probe_set(p, "always available: the vCPU thread sends itself "
			  "SIGBUS BUS_MCEERR_AR/AO (no memory is poisoned)");
		break;
	default:
		probe_set(p, "unknown poison method %d", (int)m);
		break;
	}
}

static __attribute__((format(printf, 4, 5)))
void probe_append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*pos >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += n;
}

enum inject_method inject_auto(char *why, size_t len)
{
	struct inject_probe p[INJECT_METHOD_COUNT];
	bool told[INJECT_METHOD_COUNT] = { false };
	enum inject_method m, r, o;
	size_t pos = 0;

	/* EINJ raises a real hardware error on the host: only when asked. */
	for (m = INJECT_EINJ + 1; m < INJECT_SIGNAL; m++) {
		inject_probe(m, &p[m]);
		if (p[m].available)
			break;
	}
	if (m == INJECT_SIGNAL)
		inject_probe(m, &p[m]);
	if (!why || !len)
		return m;
	why[0] = '\0';
	probe_append(why, len, &pos, "%s: %s", inject_method_name(m), p[m].why);
	/* One reason often rules out several methods: name them together. */
	for (r = INJECT_EINJ + 1; r < m; r++) {
		if (told[r])
			continue;
		probe_append(why, len, &pos, "; not %s", inject_method_name(r));
		for (o = r + 1; o < m; o++) {
			if (!told[o] && !strcmp(p[o].why, p[r].why)) {
				told[o] = true;
				probe_append(why, len, &pos, ", %s", inject_method_name(o));
			}
		}
		probe_append(why, len, &pos, " (%s)", p[r].why);
	}
	probe_append(why, len, &pos, "; einj is never chosen automatically");
	return m;
}
