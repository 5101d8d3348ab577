/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Library functions return 0/-errno; the words for the user go here, into a
 * per-thread buffer that the caller (a main.c) prints.
 */
#ifndef MCEFWD_ERROR_H
#define MCEFWD_ERROR_H

#include <stddef.h>

#define ERROR_MAX 512

/* Sets the message and returns -err (err is a positive errno) for chaining. */
int error_set(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the current message: "what: <previous message>". */
int error_wrap(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *error_get(void);
void error_clear(void);

#endif
