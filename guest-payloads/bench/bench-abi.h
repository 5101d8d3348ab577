/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The benchmark guests' half of `mcefwd bench` (mcefwd/bench/ is the
 * other): where the host leaves the parameters of a run, where the guest
 * leaves what it measured, and the keys of its ucalls. Constants and plain
 * structs only, like abi.h, which it extends.
 *
 * Both live in the test-page region, which the benchmarks never poison
 * (the forward and storm events name pages from BENCH_EVENT_PAGE up and
 * the guest's own #MC entry retires nothing).
 */
#ifndef MCEFWD_BENCH_ABI_H
#define MCEFWD_BENCH_ABI_H

#include "abi.h"

/* Test pages 1 and 2 on: plain numbers, so guest assembly can use them too. */
#define BENCH_GPA_PARAMS	0x201000
#define BENCH_GPA_RESULTS	0x202000
#define BENCH_MAX_SAMPLES	4096	/* the results end within test page 10 */
/* Pages the forward and storm events name: BENCH_EVENT_PAGES of them. */
#define BENCH_EVENT_PAGE	64
#define BENCH_EVENT_PAGES	256

#define BENCH_MAGIC		0x68636e6562ULL	/* "bench": the host wrote the params */

/* What bench-forward does. */
#define BENCH_MODE_FORWARD	1	/* one event a round, timed at the #MC entry */
#define BENCH_MODE_STORM	2	/* exits until the host says stop; #MCs counted */

/* MCEFWD_UCALL_VALUE keys; value[1] and value[2] as each says. */
#define BENCH_KEY_LOOP		0x62650001	/* the exit loop's own ucall: nothing to do */
#define BENCH_KEY_START		0x62650002	/* a round starts: value[1] = round */
#define BENCH_KEY_END		0x62650003	/* a round ended: value[1] = round, value[2] = cycles */
#define BENCH_KEY_ARM		0x62650004	/* forward: raise the next event; value[1] = round */
#define BENCH_KEY_TICK		0x62650005	/* storm: an exit for the host to forward on */

/* Written by the host after loading the payload, before the first entry. */
struct bench_params {
	uint64_t magic;			/* BENCH_MAGIC, else the guest uses defaults */
	uint64_t mode;			/* BENCH_MODE_*, bench-forward only */
	uint64_t rounds;
	uint64_t iters;			/* exits per round, a multiple of 16 */
	uint64_t stop;			/* storm: the host sets it to end the run */
	uint64_t pad[3];
};

/* Written by the guest; read by the host after the vCPU is done (or live, for mc_count). */
struct bench_results {
	uint64_t rounds_done;
	uint64_t mc_count;		/* #MCs taken at the bench #MC entry */
	uint64_t mc_tsc;		/* guest TSC at the first instruction of the last one */
	uint64_t pad[5];
	uint64_t sample[BENCH_MAX_SAMPLES];	/* per round (exit) or per #MC (storm, a ring) */
};

/*
 * bench-exit as a QEMU PVH kernel: the host finds this header in the
 * loaded image (aligned to 8) and puts entry into the ELF's PVH note.
 */
_Static_assert(BENCH_GPA_PARAMS == MCEFWD_GPA_TEST + 1 * MCEFWD_PAGE_SIZE, "params page");
_Static_assert(BENCH_GPA_RESULTS == MCEFWD_GPA_TEST + 2 * MCEFWD_PAGE_SIZE, "results page");
_Static_assert(BENCH_GPA_RESULTS + sizeof(struct bench_results) <=
	       MCEFWD_GPA_TEST + BENCH_EVENT_PAGE * MCEFWD_PAGE_SIZE, "results below the event pages");
/* The #MC entries of bench-forward address these fields by hand. */
#define BENCH_RES_MC_COUNT	8
#define BENCH_RES_MC_TSC	16
#define BENCH_RES_SAMPLE	64
_Static_assert(__builtin_offsetof(struct bench_results, mc_count) == BENCH_RES_MC_COUNT, "layout");
_Static_assert(__builtin_offsetof(struct bench_results, mc_tsc) == BENCH_RES_MC_TSC, "layout");
_Static_assert(__builtin_offsetof(struct bench_results, sample) == BENCH_RES_SAMPLE, "layout");

#define BENCH_PVH_MAGIC		0x6876702d6863ULL	/* "ch-pvh" */
struct bench_pvh_header {
	uint64_t magic;
	uint64_t entry;			/* 32-bit protected-mode entry, paging off */
};

#endif /* MCEFWD_BENCH_ABI_H */
