// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: /proc/PID/pagemap decoding and the range reader
 * (inject/pagemap.c). Each 8 bytes of input is an entry to decode; the
 * first 12 also pick a range of this process's own pagemap to read, which
 * exercises the reader's chunking, wrap check and short reads at the top
 * of the address space.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inject/pagemap.h"
#include "mcefwd/util/error.h"

#define MAX_PAGES 1500

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_pagemap_decode(uint64_t raw)
{
	struct pagemap_info pi;

	pagemap_decode(raw, &pi);
	if (pi.present != !!(raw & PAGEMAP_PRESENT) || pi.pfn > PAGEMAP_PFN_MASK)
		abort();
	if (!pi.present && (pi.pfn || pi.pfn_hidden))
		abort();
	if (pi.present && pi.pfn_hidden != (pi.pfn == 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pagemap_info *out;
	uint64_t raw, vaddr;
	uint32_t nr;
	int r;

	for (size_t i = 0; i + sizeof(raw) <= size; i += sizeof(raw)) {
		memcpy(&raw, data + i, sizeof(raw));
		fuzz_pagemap_decode(raw);
	}
	if (size < 12)
		return 0;
	memcpy(&vaddr, data, sizeof(vaddr));
	memcpy(&nr, data + 8, sizeof(nr));
	nr %= MAX_PAGES + 1;
	/* Exactly nr entries: the reader must write no more. */
	out = malloc((nr ? nr : 1) * sizeof(*out));
	if (!out)
		abort();
	r = pagemap_read_range(getpid(), vaddr, nr, out);
	if (vaddr % PAGEMAP_PAGE_SIZE && r != -EINVAL)
		abort();
	pagemap_read(getpid(), vaddr, out);
	free(out);
	error_clear();
	return 0;
}
