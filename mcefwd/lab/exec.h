/* SPDX-License-Identifier: GPL-2.0-only */
/* Running the host's tools the lab needs (apt-get, dpkg-deb, xz): one helper. */
#ifndef MCEFWD_LAB_EXEC_H
#define MCEFWD_LAB_EXEC_H

#include <stddef.h>

struct exec_out {
	char *data;		/* standard output, NUL-terminated (malloc'd), or NULL */
	size_t len;
	char err[1024];		/* the end of standard error */
};

/*
 * Runs argv (searched in PATH) in dir (NULL: here) with stdin from
 * /dev/null, and waits. Its stdout is captured into out->data, the last
 * part of its stderr into out->err. Returns its exit status (128 + N if
 * killed by signal N), or -errno if it could not be started (-ENOENT: not
 * installed). out->data is the caller's to free.
 */
int exec_run(char *const argv[], const char *dir, struct exec_out *out);

/*
 * Appends buf[0..n) to the NUL-terminated tail[0..size), keeping its last
 * size - 1 bytes: the end of a tool's complaint is what matters.
 */
void exec_keep_tail(char *tail, size_t size, const char *buf, size_t n);

/* Whether a program is in PATH (executable). */
int exec_found(const char *prog);

#endif
