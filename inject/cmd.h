/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What mcefwd-inject's main.c hands to the command that poisons
 * (cmd_inject.c). Command files print and return exit statuses; they are
 * not part of the library.
 */
#ifndef MCEFWD_INJECT_CMD_H
#define MCEFWD_INJECT_CMD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "inject/inject.h"

#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2
#define EXIT_SKIP	4	/* the host lacks what the method needs */

struct inject_opts {
	pid_t pid;
	uint64_t addr;		/* --addr, page aligned; with --qmp set from --gpa */
	size_t pages;		/* whole pages from the page holding --addr (--gpa) */
	const char *qmp;	/* QEMU's QMP socket, or NULL */
	uint64_t gpa;		/* with qmp: the guest physical address */
	enum inject_method method;
	bool ao, keep, dry_run, any_process;
	long hold;		/* seconds; -1 until a signal */
	const char *state;	/* the state file */
	/*
	 * MCEFWD_INJECT_HOOK: a FIFO read to its end after each frame is
	 * looked up and before anything is checked again and written, so a
	 * test can change the target in between. main.c sets it only with
	 * MCEFWD_DEBUGFS (fake debugfs): it cannot exist in a real run.
	 */
	const char *hook;
};

/* Proves, pins, poisons, checks, records, holds, undoes: an exit status. */
int cmd_inject(struct inject_opts *o, const atomic_int *stop);

#endif /* MCEFWD_INJECT_CMD_H */
