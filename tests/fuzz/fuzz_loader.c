// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the ELF payload loader (mcefwd/vmm/loader.c). Any file can
 * be a payload (mcefwd run ./x.elf), so every header, offset and size in it
 * is hostile. Guest RAM here is exactly the payload area, in a malloc'd
 * block ASan guards: a segment written one byte outside the area is a
 * crash, not a silent overwrite of the page tables or the test pages.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest-payloads/abi.h"
#include "mcefwd/util/error.h"
#include "mcefwd/vmm/loader.h"
#include "mcefwd/vmm/mem.h"

#define AREA (MCEFWD_GPA_LOAD_END - MCEFWD_GPA_LOAD)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_mem mem;
static uint8_t *area;

static void fuzz_loader_init(void)
{
	area = malloc(AREA);
	if (!area)
		abort();
	mem_init_table(&mem);
	if (mem_slot_add(&mem, MCEFWD_GPA_LOAD, AREA, area))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The last bytes, NUL-terminated, are a symbol name to look up too. */
	size_t name_len = size > 16 ? 16 : size;
	uint64_t entry = 0, value;
	char name[17];
	uint8_t *img;

	if (!area)
		fuzz_loader_init();
	/* An exact-size copy, so a read one byte past the image is caught. */
	img = malloc(size ? size : 1);
	if (!img)
		abort();
	memcpy(img, data, size);
	memcpy(name, data + size - name_len, name_len);
	name[name_len] = '\0';

	if (loader_load_elf(img, size, &mem, &entry) == 0 &&
	    (entry < MCEFWD_GPA_LOAD || entry >= MCEFWD_GPA_LOAD_END))
		abort();	/* accepted an entry point outside the payload area */
	loader_find_symbol(img, size, "_start", &value);
	loader_find_symbol(img, size, "mce_ar_load", &value);
	loader_find_symbol(img, size, "", &value);
	loader_find_symbol(img, size, name, &value);
	free(img);
	error_clear();
	return 0;
}
