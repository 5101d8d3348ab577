/* SPDX-License-Identifier: GPL-2.0-only */
/* A KTAP (version 1) writer and the kselftest exit codes it maps to. */
#ifndef MCEFWD_KTAP_H
#define MCEFWD_KTAP_H

#include <stdio.h>

#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_USAGE 2
#define KSFT_SKIP 4

enum ktap_status { KTAP_PASS, KTAP_FAIL, KTAP_SKIP };

struct ktap {
	FILE *out;
	unsigned int planned;
	unsigned int n;
	unsigned int passed, failed, skipped;
};

void ktap_begin(struct ktap *k, FILE *out, unsigned int planned);
/* "ok 3 name", "not ok 3 name # reason", "ok 3 name # SKIP reason". */
void ktap_result(struct ktap *k, enum ktap_status st, const char *name,
		 const char *reason);
void ktap_diag(struct ktap *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The "# Totals" line; flags a plan that does not match what ran. */
void ktap_end(struct ktap *k);
/* 1 if anything failed (or the plan was not met), 4 if all skipped, else 0. */
int ktap_exit_code(const struct ktap *k);

#endif
