/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the methods' probes share (probe.c): each check fills p->why with
 * what is missing and what to do when it answers false. Probing only
 * looks: it never poisons, loads a module or mounts anything.
 */
#ifndef MCEFWD_INJECT_PROBE_H
#define MCEFWD_INJECT_PROBE_H

#include <stdbool.h>

#include "inject/inject.h"

#define PROBE_DEBUGFS "/sys/kernel/debug"

void probe_set(struct inject_probe *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool probe_exists(const char *path);

/* CONFIG_MEMORY_FAILURE, seen in sys/vm/memory_failure_recovery under the proc root. */
bool probe_memory_failure(struct inject_probe *p);
bool probe_sys_admin(struct inject_probe *p);
/* debugfs mounted at PROBE_DEBUGFS, or the fake root tests set exists. */
bool probe_debugfs(struct inject_probe *p);

#endif /* MCEFWD_INJECT_PROBE_H */
