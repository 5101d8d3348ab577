/* SPDX-License-Identifier: GPL-2.0-only */
/* The mcefwd command line, parsed into one struct (pure: no I/O). */
#ifndef MCEFWD_CLI_H
#define MCEFWD_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "inject/inject.h"
#include "mcefwd/scenario/run.h"
#include "mcefwd/cli/kernel_arg.h"
#include "mcefwd/cli/where.h"

enum cli_cmd {
	CLI_RUN, CLI_CAPS, CLI_LIST, CLI_HELP, CLI_VERSION, CLI_MATRIX, CLI_WHERE, CLI_ENCODINGS,
};

#define CLI_DEFAULT_RAM		(64UL << 20)
#define CLI_DEFAULT_TIMEOUT_MS	30000u

enum cli_mce_kill { CLI_MCE_KILL_EARLY, CLI_MCE_KILL_LATE, CLI_MCE_KILL_DEFAULT };

struct cli {
	enum cli_cmd cmd;
	struct run_opts run;
	bool poison_auto;		/* --poison=auto (the default) */
	enum inject_method poison;
	enum cli_mce_kill mce_kill;
	bool json;
	bool markdown;
	enum where_on on;		/* --on: where the VMs run (default auto) */
	bool on_set;			/* --on was given (not implied by --kernel) */
	struct kernel_arg kernel;	/* --kernel, --modules: the lab's kernel (and the lab) */
	bool quiet;			/* -q: where prints one word */
	uint64_t gpa;			/* encodings --gpa (default MCEFWD_GPA_TEST) */
	bool encoding_set;		/* --encoding given: encodings shows that profile only */
	bool model_set;			/* --model given */
	bool ao_target_set, mce_kill_set;	/* given: a QEMU model refuses them */
	bool vmm_qemu;			/* --vmm=qemu: QEMU is the VMM under test */
	const char *qemu_path;		/* --vmm=qemu=PATH; NULL: qemu-system-x86_64 on PATH */
	const char *qemu_cpu;		/* --qemu-cpu; NULL: host */
	const char *help_topic;		/* "mcefwd help run" */
	char **names;			/* positional arguments after the command */
	int nr_names;
};

/* 0, or -EINVAL with error_get() naming the bad argument. */
int cli_parse(int argc, char **argv, struct cli *c);

/* "64M", "1G", "65536", "2MiB": bytes. */
int cli_parse_size(const char *s, uint64_t *out);
/* "30", "2.5", "500ms", "2s": milliseconds, 1 ms to 1 day. */
int cli_parse_timeout(const char *s, unsigned int *ms);
/* Decimal or 0x-hex, the whole string, no overflow. */
int cli_parse_u64(const char *s, uint64_t *out);

#endif
