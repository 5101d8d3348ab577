/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * /proc/PID/pagemap: one 64-bit entry per 4 KiB virtual page. The bits, as
 * Documentation/admin-guide/mm/pagemap.rst gives them:
 *
 *   63     page present
 *   62     page swapped
 *   61     page is a file page or shared anonymous (since 3.5)
 *   56     page exclusively mapped (since 4.2)
 *   55     pte is soft-dirty
 *   0-54   page frame number, if present; if swapped, the swap entry:
 *          its type in bits 0-4, its offset above (a hwpoison or
 *          migration entry's offset is the frame it stands for)
 *
 * Without CAP_SYS_ADMIN the kernel reports the PFN as 0 (since 4.2).
 */
#ifndef MCEFWD_INJECT_PAGEMAP_H
#define MCEFWD_INJECT_PAGEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PAGEMAP_PAGE_SIZE ((uint64_t)4096)	/* x86-64: the unit pagemap counts in */

#define PAGEMAP_PRESENT		(1ULL << 63)
#define PAGEMAP_SWAPPED		(1ULL << 62)
#define PAGEMAP_FILE_OR_SHARED	(1ULL << 61)
#define PAGEMAP_EXCLUSIVE	(1ULL << 56)
#define PAGEMAP_SOFT_DIRTY	(1ULL << 55)
#define PAGEMAP_PFN_MASK	((1ULL << 55) - 1)
#define PAGEMAP_SWAP_TYPE_BITS	5	/* the kernel's MAX_SWAPFILES_SHIFT */

struct pagemap_info {
	bool present, swapped, exclusive, file_or_shared, soft_dirty;
	bool pfn_hidden;	/* present but PFN 0: the reader lacks CAP_SYS_ADMIN */
	uint64_t pfn;		/* 0 unless present */
	uint64_t swap_offset;	/* 0 unless swapped: the frame of a hwpoison or migration entry */
};

/* Pure. */
void pagemap_decode(uint64_t raw, struct pagemap_info *out);

/*
 * The entry of the page holding vaddr in process pid (pread at
 * vaddr / 4096 * 8). 0/-errno, with error_get() naming the file.
 */
int pagemap_read(pid_t pid, uint64_t vaddr, struct pagemap_info *out);

/* out[0..nr) for the nr pages from the page-aligned vaddr, with one open. 0/-errno. */
int pagemap_read_range(pid_t pid, uint64_t vaddr, size_t nr, struct pagemap_info *out);

#endif /* MCEFWD_INJECT_PAGEMAP_H */
