/* SPDX-License-Identifier: GPL-2.0-only */
/* Whole processes, timed: what bench_proc.c (startup) and bench_qemu.c share. */
#ifndef MCEFWD_BENCH_PROC_H
#define MCEFWD_BENCH_PROC_H

#include <stdint.h>

#include "mcefwd/bench/bench.h"

#define PROC_MAX_ARGS		40
/* Guest RAM of the QEMU runs, and of the mcefwd run timed beside them. */
#define QEMU_RAM		"1G"

struct bench_proc_run {
	uint64_t ns;			/* fork to wait4 */
	long maxrss_kib;
	int status;			/* wait4's */
};

/*
 * Runs argv[0] with stdin and stdout/stderr on /dev/null (or out, when
 * given), timed. 0, or -errno.
 */
int bench_proc_spawn(char *const argv[], const char *out, struct bench_proc_run *p);
/* The same, and its exit status must be want: 0, or -errno with error_get() saying why. */
int bench_proc_expect(char *const argv[], const char *out, int want, struct bench_proc_run *p);
/* One result row named name from n samples, in nanoseconds. */
void bench_proc_add_ns(struct bench_ctx *c, struct bench_result *res, const char *name,
		       double *ns, unsigned int n);

#endif
