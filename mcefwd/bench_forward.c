// SPDX-License-Identifier: GPL-2.0-only
#include "mcefwd/bench.h"
int bench_forward_run(struct bench_ctx *c, struct bench_result *r) { (void)c; r->status = BENCH_SKIP; return 0; }
int bench_storm_run(struct bench_ctx *c, struct bench_result *r) { (void)c; r->status = BENCH_SKIP; return 0; }
