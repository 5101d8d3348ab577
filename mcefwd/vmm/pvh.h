/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A payload image as a PVH kernel for QEMU's -kernel: its PT_LOAD segments,
 * and a PT_NOTE with XEN_ELFNOTE_PHYS32_ENTRY pointing at the entry whose
 * address the image carries in a header { magic, entry } (8-aligned
 * somewhere in its loaded bytes).
 */
#ifndef MCEFWD_PVH_H
#define MCEFWD_PVH_H

#include <stddef.h>
#include <stdint.h>

/* Writes it to path (created 0600). 0, or -errno with error_get(). */
int pvh_write(const uint8_t *image, size_t len, uint64_t magic, const char *path);

/* The image as it is (an ELF for `mcefwd run PATH`), to path (created 0600). */
int pvh_write_image(const uint8_t *image, size_t len, const char *path);

#endif
