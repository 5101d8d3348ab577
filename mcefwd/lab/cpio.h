/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The initramfs: a cpio archive in the "newc" format the kernel unpacks
 * (Documentation/driver-api/early-userspace/buffer-format.rst). Written to
 * any FILE, so a test can write into memory.
 */
#ifndef MCEFWD_LAB_CPIO_H
#define MCEFWD_LAB_CPIO_H

#include <stddef.h>
#include <stdio.h>

struct cpio {
	FILE *f;
	unsigned int ino;
	int err;		/* the first error, as -errno; later adds do nothing */
};

void cpio_begin(struct cpio *c, FILE *f);
/*
 * One entry: mode holds the type (S_IFDIR, S_IFREG) and the permissions;
 * data[0..len) is a regular file's contents (a directory has none). Owned by
 * root, mtime 0, so the same input makes the same archive.
 */
void cpio_add(struct cpio *c, const char *name, unsigned int mode, const void *data, size_t len);
/* The trailer. 0, or the first error of any add (-errno). */
int cpio_end(struct cpio *c);

#endif
