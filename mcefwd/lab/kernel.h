/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The lab's kernel: Debian's own package (the default, or the newest of a
 * series), fetched with apt-get and unpacked once into the cache, a package
 * file the user names, or a bzImage with its modules directory. Its config
 * is checked before it boots, and the modules the lab loads are found with
 * everything they depend on and kept uncompressed, in the order they load.
 */
#ifndef MCEFWD_LAB_KERNEL_H
#define MCEFWD_LAB_KERNEL_H

#include <limits.h>
#include <stdbool.h>

#include "mcefwd/cli/kernel_arg.h"
#include "mcefwd/lab/modinfo.h"
#include "mcefwd/lab/note.h"

#define LAB_KERNEL_MAX_MODS 64

struct lab_kernel_opts {
	const char *cache;		/* the cache directory (created if need be) */
	const struct kernel_series *series;	/* Debian's kernel of this series, or NULL */
	const char *deb;		/* a linux-image-*.deb, or NULL */
	const char *bzimage;		/* a bzImage, with modules, or NULL */
	const char *modules;		/* /lib/modules/RELEASE or an INSTALL_MOD_PATH */
	const struct lab_notes *notes;
};

struct lab_kmod {
	char name[MODINFO_NAME_MAX];
	char path[PATH_MAX];		/* uncompressed */
	bool required;
};

struct lab_kernel {
	char dir[PATH_MAX];		/* the cache entry, or a temporary one */
	char vmlinuz[PATH_MAX];
	/*
	 * The same kernel uncompressed, booted through its PVH entry: under
	 * TCG, decompressing an xz bzImage costs about 3 s of every boot.
	 * "" when it could not be had (then vmlinuz boots).
	 */
	char vmlinux[PATH_MAX];
	char config[PATH_MAX];		/* "" if no config was found */
	char release[128];		/* "6.1.0-57-amd64" */
	char source[PATH_MAX];		/* where it came from, in words */
	unsigned int nr_mods;
	struct lab_kmod mods[LAB_KERNEL_MAX_MODS];	/* in load order */
	bool kvm_amd_builtin;		/* its parameters go on the command line */
	bool temporary;			/* dir is removed by lab_kernel_put() */
	/* After a failure: the host lacks something (network, apt), the kernel is fine. */
	bool host_lacks;
};

/* Sets o's series, deb, bzimage and modules to what --kernel asked for. */
void lab_kernel_opts_set(struct lab_kernel_opts *o, const struct kernel_arg *k);

/* 0, or -errno with error_get() saying what failed and what to do. */
int lab_kernel_get(const struct lab_kernel_opts *o, struct lab_kernel *k);
void lab_kernel_put(struct lab_kernel *k);

/* The cache directory: $MCEFWD_LAB_CACHE, $XDG_CACHE_HOME/mcefwd/lab or ~/.cache/mcefwd/lab. */
void lab_kernel_cache_dir(char *buf, size_t len);

/* The release string in an x86 boot image's header ("6.1.0-57-amd64"). Pure. 0/-EINVAL. */
int lab_bzimage_release(const void *img, size_t len, char *release, size_t rlen);

/*
 * Where a bzImage's compressed kernel lies (payload_offset and
 * payload_length of the boot protocol, the trailing 4-byte size left out)
 * and the tool that uncompresses it ("xz", "zstd", "gzip"). Pure. 0/-EINVAL.
 */
int lab_bzimage_payload(const void *img, size_t len, size_t *off, size_t *plen,
			const char **tool);

#endif
