/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel modules without kmod: a module's name and dependencies from the
 * .modinfo section of its ELF image, and the order that loads a set of
 * modules after everything they depend on. Pure.
 */
#ifndef MCEFWD_LAB_MODINFO_H
#define MCEFWD_LAB_MODINFO_H

#include <stddef.h>

#define MODINFO_NAME_MAX 64
#define MODINFO_DEPS_MAX 512

struct modinfo {
	char name[MODINFO_NAME_MAX];	/* "kvm_amd" */
	char depends[MODINFO_DEPS_MAX];	/* "kvm,ccp": comma-separated, may be empty */
	char vermagic[128];		/* "6.1.0-57-amd64 SMP preempt mod_unload modversions " */
};

/*
 * Reads the .modinfo section of an uncompressed module (an ELF64 relocatable
 * file) in img[0..len). 0, or -EINVAL when it is not one (error_get() says how).
 */
int modinfo_parse(const void *img, size_t len, struct modinfo *out);

/* "kvm-amd.ko.xz" -> "kvm_amd": the module name a file name stands for. */
void modinfo_name_of_file(const char *file, char *name, size_t len);

/*
 * What a module needs, asked of the caller: 0 with depends[] filled, 1 if it
 * is built into the kernel (nothing to load), or -errno (-ENOENT: no such
 * module; the caller's message stands).
 */
typedef int (*modinfo_deps_fn)(void *ctx, const char *name, char *depends, size_t len);

/*
 * The load order of wanted[0..nr) and everything they depend on: each module
 * once, after its dependencies, built-in ones left out, appended to
 * order[0..*count) (what is there already counts as loaded). 0, or -errno:
 * a module missing (deps' error), -ELOOP for a dependency cycle, -ENOSPC for
 * more than max modules.
 */
int modinfo_load_order(const char *const *wanted, size_t nr, modinfo_deps_fn deps, void *ctx,
		       char (*order)[MODINFO_NAME_MAX], size_t max, size_t *count);

#endif
