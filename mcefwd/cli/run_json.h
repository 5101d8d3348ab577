/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `mcefwd run --json`: one JSON document for the whole run, what each test
 * found as data (docs/json.md has the schema). 64-bit register values and
 * addresses are hex strings: a JSON number loses their low bits in most
 * readers (jq's are doubles).
 */
#ifndef MCEFWD_RUN_JSON_H
#define MCEFWD_RUN_JSON_H

#include <stdbool.h>
#include <stdio.h>

#include "mcefwd/qemu/qemu.h"
#include "mcefwd/scenario/run.h"
#include "mcefwd/cli/where.h"

#define RUN_JSON_VERSION 1

/* What the whole run was asked and chose. */
struct run_json_head {
	const struct where *where;
	const char *poison;		/* the method used */
	bool poison_auto;
	const char *poison_why;		/* why auto picked it ("" if not auto) */
	const char *encoding;
	const char *model;		/* forwarding model: "mcefwd", "qemu-7.2" */
	unsigned int bank;
	const char *mce_kill;		/* the run's PR_MCE_KILL */
	const char *capabilities;	/* what the run kept */
	const struct qemu_vmm *vmm;	/* --vmm=qemu: which QEMU; NULL: mcefwd's own */
};

/* An event's verdict as the JSON says it: "inject", "stop-vm", "ignore". */
const char *run_json_verdict(enum mce_verdict v);

void run_json_begin(FILE *out, const struct run_json_head *h);
/* What the guest saw, as the fields "outcome" ... "note" (no braces): run's and matrix's. */
void run_json_observation_fields(FILE *out, const struct run_observation *o);
/*
 * One test: its name, whether it is a scenario, its result, and its
 * diagnostics (the KTAP comment lines, "# " stripped) from diag[0..len).
 */
void run_json_test(FILE *out, bool first, const char *name, bool scenario,
		   const struct run_result *res, const char *diag, size_t len);
void run_json_end(FILE *out, unsigned int passed, unsigned int failed, unsigned int skipped);

#endif
