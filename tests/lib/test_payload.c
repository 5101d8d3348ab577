// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>

#include "mcefwd/util/error.h"
#include "tests/lib/test_payload.h"

/* Emitted by the GNUmakefile (test-payload-blob.S): one row per test guest. */
extern const struct payload_blob test_payload_blobs[];

static const struct payload test_payload_info[] = {
	{ .name = "fault", .default_vcpus = 1,
	  .summary = "takes a #UD on purpose: the run must fail naming vector 6 and its RIP" },
	{ .name = "badio", .default_vcpus = 1,
	  .summary = "writes to an unserved port: the run must fail with a register dump" },
	{ .name = "idle", .default_vcpus = 1,
	  .summary = "halts forever: the watchdog must stop it" },
	{ .name = "bad-console",
	  .summary = "floods the console, case N by --vcpus N (1-5): must be stopped at 64 KiB" },
	{ .name = "bad-ucall",
	  .summary = "abuses the ucall port, case N by --vcpus N (1-10): must be stopped, not trusted" },
	{ .name = "bad-reset",
	  .summary = "every vCPU asks for a reset at once: they must be served in turn" },
	{ .name = "stress-storm",
	  .summary = "guest side of the storm (tests/stress/storm): counts every #MC by kind" },
};

const struct payload_table test_payload_table = {
	.blobs = test_payload_blobs,
	.info = test_payload_info,
	.nr_info = sizeof(test_payload_info) / sizeof(test_payload_info[0]),
};

int test_payload_get(const char *name, struct payload *out)
{
	if (payload_get_from(&test_payload_table, name, out) == 0 ||
	    payload_get_from(&payload_table, name, out) == 0)
		return 0;
	return error_set(ENOENT, "no test or built-in payload named '%s'", name);
}
