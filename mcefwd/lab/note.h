/* SPDX-License-Identifier: GPL-2.0-only */
/* What the lab is doing, said as it goes: one line at a time, to whoever listens. */
#ifndef MCEFWD_LAB_NOTE_H
#define MCEFWD_LAB_NOTE_H

#include <stddef.h>

struct lab_notes {
	void (*fn)(void *priv, const char *line);	/* NULL: nobody listens */
	void *priv;
};

void lab_note(const struct lab_notes *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * snprintf for paths and messages made of them: what does not fit is cut
 * short (a path cut short then fails to open, naming itself).
 */
void lab_fmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
