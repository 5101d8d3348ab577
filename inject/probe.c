// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which poison methods this host supports, and why (not). Probing only
 * looks: it never poisons, loads a module or mounts anything.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "inject/probe.h"

#define PROBE_MF_KNOB "/sys/vm/memory_failure_recovery"	/* under the proc root */

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

void probe_set(struct inject_probe *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
}

bool probe_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* The knob exists exactly when the kernel has CONFIG_MEMORY_FAILURE. */
bool probe_memory_failure(struct inject_probe *p)
{
	char knob[512];

	probe_path(inject_proc_root(), PROBE_MF_KNOB, knob, sizeof(knob));
	if (probe_exists(knob))
		return true;
	probe_set(p, "kernel without memory-failure support "
		  "(CONFIG_MEMORY_FAILURE: %s absent)", knob);
	return false;
}

bool probe_sys_admin(struct inject_probe *p)
{
	if (inject_has_cap_sys_admin())
		return true;
	probe_set(p, "needs CAP_SYS_ADMIN: run as root");
	return false;
}

bool probe_debugfs(struct inject_probe *p)
{
	struct statfs st;

	if (probe_fake_debugfs()) {
		if (probe_exists(inject_debugfs_root()))
			return true;
		probe_set(p, "no %s (the debugfs root set for tests)", inject_debugfs_root());
		return false;
	}
	if (!statfs(PROBE_DEBUGFS, &st) && st.f_type == DEBUGFS_MAGIC)
		return true;
	probe_set(p, "debugfs not mounted at " PROBE_DEBUGFS
		  ": mount -t debugfs none " PROBE_DEBUGFS);
	return false;
}

void inject_probe(enum inject_method m, struct inject_probe *p)
{
	const struct inject_method_ops *ops = inject_method(m);

	p->available = false;
	p->why[0] = '\0';
	if (!ops) {
		probe_set(p, "unknown poison method %d", (int)m);
		return;
	}
	ops->probe(p);
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

static bool probe_auto(enum inject_method m)
{
	return inject_method(m)->flags & INJECT_F_AUTO;
}

enum inject_method inject_auto(char *why, size_t len)
{
	struct inject_probe p[INJECT_METHOD_COUNT];
	bool told[INJECT_METHOD_COUNT] = { false };
	enum inject_method m, pick = INJECT_METHOD_COUNT, r, o;
	size_t pos = 0;

	/*
	 * The first available in table order; the last one (signal) is always
	 * available. A method without INJECT_F_AUTO (EINJ raises a real
	 * hardware error on the host) is only ever used when asked for.
	 */
	for (m = 0; m < INJECT_METHOD_COUNT; m++) {
		if (!probe_auto(m))
			continue;
		inject_probe(m, &p[m]);
		pick = m;
		if (p[m].available)
			break;
	}
	if (!why || !len)
		return pick;
	why[0] = '\0';
	probe_append(why, len, &pos, "%s: %s", inject_method_name(pick), p[pick].why);
	/* One reason often rules out several methods: name them together. */
	for (r = 0; r < pick; r++) {
		if (told[r] || !probe_auto(r))
			continue;
		probe_append(why, len, &pos, "; not %s", inject_method_name(r));
		for (o = r + 1; o < pick; o++) {
			if (!told[o] && probe_auto(o) && !strcmp(p[o].why, p[r].why)) {
				told[o] = true;
				probe_append(why, len, &pos, ", %s", inject_method_name(o));
			}
		}
		probe_append(why, len, &pos, " (%s)", p[r].why);
	}
	for (m = 0; m < INJECT_METHOD_COUNT; m++) {
		if (!probe_auto(m))
			probe_append(why, len, &pos, "; %s is never chosen automatically",
				     inject_method_name(m));
	}
	return pick;
}
