/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `mcefwd bench`: the performance lab. Each benchmark runs real VMs (or
 * real processes) in this process, repeats a measurement over rounds and
 * reports median, p99 and spread in nanoseconds (host clock) and guest TSC
 * cycles, with the ratios issue 8 sets targets for computed within the same
 * run. docs/performance.md explains every figure and this host's.
 *
 *   bench.c           the command: options, the benchmark table, shared helpers
 *   bench_stats.c     statistics and the text and JSON reports (pure)
 *   bench_exit.c      exit: mcefwd's run loop against a bare KVM_RUN loop
 *   bench_kick.c      kick and pause: getting vCPUs out of KVM_RUN
 *   bench_forward.c   forward and storm: the SIGBUS-to-#MC path
 *   bench_proc.c      startup and qemu: whole processes, QEMU microvm beside us
 */
#ifndef MCEFWD_BENCH_H
#define MCEFWD_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mcefwd/util/error.h"
#include "mcefwd/vmm/kvm.h"
#include "mcefwd/vmm/vm.h"
#include "mcefwd/cli/kernel_arg.h"
#include "mcefwd/cli/where.h"

/*
 * `mcefwd bench [NAME...] [--json] [--rounds N] [--quick] [--on WHERE] [--kernel K]`,
 * with argv[0] the word "bench" (main.c passes its argv from there on, and
 * has already sent the command to the lab if --on says so; where says where
 * it runs, in words, for the report). Returns 0 when every benchmark asked
 * for ran (targets missed are reported, not failed), 1 when one failed, 2
 * for a usage error, 4 when all were skipped.
 */
int bench_main(int argc, char **argv, const char *where);

#define BENCH_MAX 16	/* benchmarks in the table, at most */

/* What the command line asks of bench, before anything runs. */
struct bench_args {
	bool want[BENCH_MAX], any;	/* the benchmarks named, in table order; none: all */
	bool json, quick, help;
	unsigned int rounds;
	enum where_on on;
	bool on_set;			/* --on was given (not implied by --kernel) */
	struct kernel_arg kernel;	/* --kernel, --modules: the lab's kernel (and the lab) */
};

/* Parses bench's arguments: 0, or 2 (usage) with the error printed. */
int bench_parse(int argc, char **argv, struct bench_args *a);

/* ---- statistics (bench_stats.c, pure) ------------------------------------ */

struct bench_stats {
	unsigned int n;
	double min, median, p99, max, mean;
	/* Interquartile range over the median: 0.05 means the middle half lies within 5%. */
	double spread;
};

/* The p-th percentile (0 to 100) of sorted[0..n), interpolated between ranks. */
double bench_percentile(const double *sorted, unsigned int n, double p);
/* Sorts x in place and fills *st. -EINVAL for no samples or a NaN among them. */
int bench_stats_compute(double *x, unsigned int n, struct bench_stats *st);

/* ---- results --------------------------------------------------------------- */

#define BENCH_MAX_METRICS	64
#define BENCH_MAX_RATIOS	24
#define BENCH_MAX_NOTES		16
#define BENCH_NOTE_MAX		400

enum bench_status { BENCH_OK, BENCH_SKIP, BENCH_FAIL };
/* How a ratio is held against its target. */
enum bench_cmp { BENCH_INFO, BENCH_AT_MOST, BENCH_AT_LEAST };

struct bench_metric {
	char name[48];			/* "mcefwd", "immediate.64", "host_share" */
	const char *unit;		/* "ns", "cycles", "events/s", "KiB" */
	struct bench_stats st;
};

struct bench_ratio {
	char name[64];			/* "mcefwd/bare" */
	double value;			/* NaN: could not be computed */
	enum bench_cmp cmp;
	double target;
	char basis[96];			/* what was divided: "median ns per exit" */
};

struct bench_result {
	const char *name;
	enum bench_status status;
	char reason[ERROR_MAX];		/* a skip's or a failure's */
	double seconds;			/* wall time the benchmark took */
	unsigned int nr_metrics, nr_ratios, nr_notes;
	struct bench_metric metric[BENCH_MAX_METRICS];
	struct bench_ratio ratio[BENCH_MAX_RATIOS];
	char note[BENCH_MAX_NOTES][BENCH_NOTE_MAX];
};

/* Where the figures came from, for the report's header. */
struct bench_host {
	char kernel[65];
	unsigned int cpus;
	double tsc_khz;			/* guest TSC (KVM_GET_TSC_KHZ); 0: unknown */
	bool quick;
	unsigned int rounds;		/* --rounds; 0: each benchmark's default */
	char qemu[128];			/* "QEMU emulator version ..." or "" */
	double load[2];			/* 1-minute load average at start and end; < 0: unknown */
	char where[1536];		/* where the VMs ran, and why */
};

/*
 * Adds samples x[0..n) (sorted in place) as a metric. 0, or -ENOSPC /
 * -EINVAL (no samples); nothing is added then.
 */
int bench_add_metric(struct bench_result *r, const char *name, const char *unit,
		     double *x, unsigned int n);
/* The metric called name in unit, or NULL. */
const struct bench_metric *bench_find_metric(const struct bench_result *r,
					     const char *name, const char *unit);
void bench_add_ratio(struct bench_result *r, const char *name, double value,
		     enum bench_cmp cmp, double target, const char *basis);
void bench_note(struct bench_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Whether a ratio with a target meets it; false for a NaN. */
bool bench_ratio_met(const struct bench_ratio *q);

/* Reports: one JSON document, or tables for people. */
void bench_print_json(FILE *f, const struct bench_host *h, const struct bench_result *r,
		      unsigned int n, double seconds);
void bench_print_text(FILE *f, const struct bench_result *r);
/* A JSON string literal of s, quotes included. */
void bench_json_string(FILE *f, const char *s);

/* ---- what the benchmarks share (bench.c) --------------------------------- */

struct bench_ctx {
	struct kvm *kvm;		/* NULL: no usable /dev/kvm (kvm_err says why) */
	char kvm_err[ERROR_MAX];
	bool quick;
	unsigned int rounds;		/* --rounds N, 0: the benchmark's own */
	double tsc_khz;			/* guest TSC rate */
	char exe[4096];			/* this mcefwd binary, for startup */
	FILE *null;			/* /dev/null: where bench VMs' diagnostics go */
	/*
	 * The figure later benchmarks hold theirs against, from the exit
	 * benchmark (0: not measured yet; bench_exit_reference() measures it).
	 */
	double exit_ns, exit_cycles;	/* mcefwd's exit round trip, median */
	char qemu_version[128];		/* what the qemu benchmark ran, for the report */
};

/* Rounds for a benchmark: --rounds, else full or quick as given. */
unsigned int bench_rounds(const struct bench_ctx *c, unsigned int full, unsigned int quick);

uint64_t bench_now_ns(void);
uint64_t bench_tsc(void);
/* Host nanoseconds as guest TSC cycles (this host's TSC runs at the guest's rate). */
double bench_ns_to_cycles(const struct bench_ctx *c, double ns);
double bench_cycles_to_ns(const struct bench_ctx *c, double cycles);

/*
 * A VM of nr vCPUs loaded with the guest of that name (bench_payload_get(): a
 * bench guest, or the product's such as spin), its diagnostics sent
 * to /dev/null, and (for the bench payloads) the parameters written:
 * BENCH_MAGIC, mode, rounds, iters. 0 or -errno (error_get()).
 */
int bench_vm_create(struct bench_ctx *c, struct vm *vm, const char *payload,
		    unsigned int nr, enum kick_mode kick, const struct vm_ops *ops);
struct bench_params *bench_vm_params(struct vm *vm);
struct bench_results *bench_vm_results(struct vm *vm);
/*
 * Starts the VM, waits up to timeout_ms for every vCPU to finish, stops and
 * joins it; 0 when every vCPU exited 0, else -errno with error_get().
 * bench_vm_finish() is the same for a VM already started.
 */
int bench_vm_run(struct vm *vm, long timeout_ms);
int bench_vm_finish(struct vm *vm, long timeout_ms);

/*
 * The median exit round trip through mcefwd's run loop, measured now with
 * a short run if the exit benchmark has not run yet. 0 or -errno.
 */
int bench_exit_reference(struct bench_ctx *c);

/* Each returns 0 with *r filled (ok, skip or fail); -errno only for setup failures. */
int bench_exit_run(struct bench_ctx *c, struct bench_result *r);
int bench_kick_run(struct bench_ctx *c, struct bench_result *r);
int bench_pause_run(struct bench_ctx *c, struct bench_result *r);
int bench_forward_run(struct bench_ctx *c, struct bench_result *r);
int bench_storm_run(struct bench_ctx *c, struct bench_result *r);
int bench_startup_run(struct bench_ctx *c, struct bench_result *r);
int bench_qemu_run(struct bench_ctx *c, struct bench_result *r);

/*
 * The exit loop under mcefwd's run loop alone, kicked the kick way: rounds
 * rounds of iters exits, per-round host ns and guest cycles per exit
 * appended at ns[*n] and cycles[*n]. 0 or -errno.
 */
int bench_exit_mcefwd_rounds(struct bench_ctx *c, enum kick_mode kick, unsigned int rounds,
			     unsigned int iters, double *ns, double *cycles, unsigned int *n);
/* One of two exit loops taking turns: the bare KVM_RUN loop, or mcefwd's with a kick strategy. */
struct bench_exit_side {
	bool bare;
	enum kick_mode kick;		/* mcefwd's loop only */
	double *ns, *cycles;		/* rounds per-round samples each, filled in */
};
/*
 * Two exit loops at once, each on its own thread, both on this CPU,
 * taking turns round by round (side[0] first): rounds rounds of iters
 * exits each. 0 or -errno.
 */
int bench_exit_pairs(struct bench_ctx *c, unsigned int rounds, unsigned int iters,
		     const struct bench_exit_side side[2]);

#endif
