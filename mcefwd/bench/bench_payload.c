// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>

#include "mcefwd/bench/bench_payload.h"
#include "mcefwd/util/error.h"

/* Emitted by the GNUmakefile (bench-payload-blob.S): one row per bench guest. */
extern const struct payload_blob bench_payload_blobs[];

static const struct payload bench_payload_info[] = {
	{ .name = "bench-exit", .summary = "mcefwd bench: the out loop whose exits are timed" },
	{ .name = "bench-forward", .summary = "mcefwd bench: times SIGBUS to the first #MC instruction" },
	{ .name = "bench-null", .summary = "mcefwd bench: the smallest guest, for start-up time" },
};

const struct payload_table bench_payload_table = {
	.blobs = bench_payload_blobs,
	.info = bench_payload_info,
	.nr_info = sizeof(bench_payload_info) / sizeof(bench_payload_info[0]),
};

int bench_payload_get(const char *name, struct payload *out)
{
	if (payload_get_from(&bench_payload_table, name, out) == 0 ||
	    payload_get_from(&payload_table, name, out) == 0)
		return 0;
	return error_set(ENOENT, "no bench or built-in payload named '%s'", name);
}
