/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Diagnostics: "# ..." lines, one at a time from any thread, to a stream a
 * run chooses (its KTAP output, a scratch file in tests, /dev/null in bench).
 */
#ifndef MCEFWD_DIAG_H
#define MCEFWD_DIAG_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

struct diag {
	FILE *out;
	pthread_mutex_t lock;
};

void diag_init(struct diag *d, FILE *out);
void diag_destroy(struct diag *d);
/* "# " fmt "\n", flushed, whole. */
void diag_say(struct diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_vsay(struct diag *d, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#endif
