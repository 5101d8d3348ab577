/* SPDX-License-Identifier: GPL-2.0-only */
/* `mcefwd matrix`: every scenario x method x encoding, and what the guest saw. */
#ifndef MCEFWD_MATRIX_H
#define MCEFWD_MATRIX_H

#include <stdbool.h>
#include <stdio.h>

#include "mcefwd/vmm/kvm.h"
#include "mcefwd/scenario/run.h"
#include "mcefwd/cli/where.h"

#include "mcefwd/util/version.h"

enum matrix_format { MATRIX_MARKDOWN, MATRIX_JSON };

/*
 * Runs the matrix with base's VM options (the encoding and emulated-access
 * choices are the matrix's own) and writes it to out. progress: a status
 * line on standard error. w: where it runs, for the fingerprint. 0, or
 * -errno (then error_get() says why; the tables were still written).
 */
int matrix_main(struct kvm *kvm, const struct run_opts *base, enum matrix_format fmt,
		FILE *out, bool progress, const struct where *w);

#endif
