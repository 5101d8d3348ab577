/* SPDX-License-Identifier: GPL-2.0-only */
/* Payload images: an ELF64 x86-64 executable, checked, copied into guest RAM. */
#ifndef MCEFWD_LOADER_H
#define MCEFWD_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "mcefwd/vmm/mem.h"

/*
 * Validates img (every offset and size is checked: a payload is input) and
 * copies each PT_LOAD segment to its gpa, zeroing the rest of memsz.
 * Segments must lie in [MCEFWD_GPA_LOAD, MCEFWD_GPA_LOAD_END).
 */
int loader_load_elf(const void *img, size_t len, struct guest_mem *mem,
		    uint64_t *entry);

/*
 * Calls fn with the name and value of every symbol in img's .symtab (each
 * name NUL-terminated inside its string table) until fn returns non-zero,
 * which it then returns; 0 when all were seen, -errno for a bad image.
 */
int loader_for_each_symbol(const void *img, size_t len,
			   int (*fn)(const char *name, uint64_t value, void *ctx), void *ctx);

/* Value of a symbol in img's .symtab; 0 and *value set, or -ENOENT. */
int loader_find_symbol(const void *img, size_t len, const char *name,
		       uint64_t *value);

#endif
