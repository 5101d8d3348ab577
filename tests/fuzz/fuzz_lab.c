// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: what the lab reads from files it did not write. The
 * first byte picks the reader, the rest is its input:
 *   0  a kernel module's .modinfo (mcefwd/lab/modinfo.c), from a package
 *   1  a bzImage header: its release and payload (mcefwd/lab/kernel.c)
 *   2  the lab's /lab/config records and control lines (mcefwd/lab/proto.c)
 * Every answer must lie inside the input and hold what the reader promises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mcefwd/lab/kernel.h"
#include "mcefwd/lab/modinfo.h"
#include "mcefwd/lab/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_modinfo(const uint8_t *d, size_t n)
{
	struct modinfo m;

	if (modinfo_parse(d, n, &m) == 0 &&
	    (strnlen(m.name, sizeof(m.name)) == sizeof(m.name) ||
	     strnlen(m.depends, sizeof(m.depends)) == sizeof(m.depends) ||
	     strnlen(m.vermagic, sizeof(m.vermagic)) == sizeof(m.vermagic)))
		abort();
}

static void fuzz_bzimage(const uint8_t *d, size_t n)
{
	char rel[64];
	const char *tool;
	size_t off, plen;

	if (lab_bzimage_release(d, n, rel, sizeof(rel)) == 0 &&
	    (!rel[0] || strnlen(rel, sizeof(rel)) == sizeof(rel)))
		abort();
	if (lab_bzimage_payload(d, n, &off, &plen, &tool) == 0 &&
	    (off > n || plen > n - off || !tool))
		abort();
}

static void fuzz_proto(const uint8_t *d, size_t n)
{
	const char *tag, *val;
	size_t pos = 0;
	int r;

	while ((r = proto_next((const char *)d, n, &pos, &tag, &val)) == 1) {
		char copy[512];
		struct proto_mod m;
		struct proto_line l;

		if (pos > n || tag < (const char *)d || val >= (const char *)d + n)
			abort();
		snprintf(copy, sizeof(copy), "%s", val);
		if (proto_mod_split(copy, &m) == 0 && (!*m.name || !*m.path))
			abort();
		proto_parse_line(val, &l);
		/* The rest is inside the line, or the empty string. */
		if (*l.rest && (l.rest < val || l.rest > val + strlen(val)))
			abort();
	}
	if (r < 0 && pos > n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (size < 1)
		return 0;
	/* An exact-size heap copy: any read past the input is ASan's to catch. */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		fuzz_modinfo(copy, size - 1);
		break;
	case 1:
		fuzz_bzimage(copy, size - 1);
		break;
	default:
		fuzz_proto(copy, size - 1);
		break;
	}
	free(copy);
	return 0;
}
