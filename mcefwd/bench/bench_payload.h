/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guests of mcefwd bench (guest-payloads/bench/): a table of their own,
 * embedded for bench alone; 'mcefwd list' and 'mcefwd run NAME' never see it.
 */
#ifndef MCEFWD_BENCH_PAYLOAD_H
#define MCEFWD_BENCH_PAYLOAD_H

#include "mcefwd/vmm/payload.h"

extern const struct payload_table bench_payload_table;

/* A bench guest by name, else the product's (spin): 0 or -ENOENT. */
int bench_payload_get(const char *name, struct payload *out);

#endif
