/* SPDX-License-Identifier: GPL-2.0-only */
/* What kernel.c, kmod.c, debian.c and list.c share and nobody else calls. */
#ifndef MCEFWD_LAB_KERNEL_INT_H
#define MCEFWD_LAB_KERNEL_INT_H

#include "mcefwd/lab/kernel.h"

/*
 * Bumped when what an entry holds changes (another module set): an old
 * entry is then unpacked again instead of being used short of a module.
 */
#define LAB_CACHE_FORMAT "v1"

/* kmod.c: the modules the lab loads, with their dependencies, uncompressed into dir. */
int lab_kmod_collect(const struct lab_kernel_opts *o, const char *root, const char *release,
		     const char *config_text, const char *dir);
/* kmod.c: k->mods from the order file collect wrote into k->dir. */
int lab_kmod_order(struct lab_kernel *k);
/* kernel.c: refuses a kernel whose config lacks what the lab needs, naming it. */
int lab_kernel_check_config(struct lab_kernel *k, const struct lab_kernel_opts *o);
/* kernel.c: dir/vmlinux from bzimage, for the PVH entry (nothing if it cannot). */
void lab_kernel_extract_vmlinux(const struct lab_kernel_opts *o, const char *bzimage,
				const char *config_text, const char *dir);
/* debian.c: Debian's package, downloaded or named, unpacked once into the cache. */
int lab_debian_get(const struct lab_kernel_opts *o, struct lab_kernel *k);
/* debian.c: whether the cache entry dir was unpacked to the end, in this format. */
bool lab_debian_entry_done(const char *entry);

#endif
