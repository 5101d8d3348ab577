/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The emulated machine: QEMU's software emulation (TCG) of a PC with an AMD
 * CPU that offers SVM, the host's root shared read-only over virtio-9p, and
 * four serial ports whose bytes come back here as they are written.
 */
#ifndef MCEFWD_LAB_QEMU_H
#define MCEFWD_LAB_QEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct lab_qemu_cfg {
	const char *qemu;		/* the binary */
	const char *kernel, *initrd, *append;
	const char *share;		/* the host directory the lab sees as its root */
	unsigned int cpus, mem_mb;
};

/*
 * QEMU's command line, the serial ports on the child's fds 3 to 6 (console,
 * stdout, stderr, control). Pure: the strings it makes live in store.
 * Returns argc, or -ENOSPC.
 */
int lab_qemu_argv(const struct lab_qemu_cfg *c, char *argv[], size_t max, char *store,
		  size_t len);

struct lab_qemu_io {
	int out_fd, err_fd;		/* where the command's stdout and stderr go */
	FILE *console;			/* a copy of the kernel's console, or NULL */
	void (*on_control)(void *priv, const char *line);	/* each control line */
	void *priv;
	unsigned int timeout_s;		/* 0: none */
	/*
	 * 0, or: from "run" on, when /init says "alive" every PROTO_ALIVE_MS
	 * (proto.h), a control port silent for two of them is nudged (an
	 * empty line), and QEMU is stopped if it stays silent quiet_s in all.
	 * Until "exit", "signal" or "error".
	 */
	unsigned int quiet_s;
};

struct lab_qemu_end {
	int wait_status;		/* QEMU's, from waitpid */
	bool started;			/* QEMU ran (exec succeeded) */
	bool timed_out, interrupted;
	bool frozen;			/* silent for quiet_s, a nudge too: stopped */
	unsigned int nudges;		/* how often a silence was nudged */
	double silent_s;		/* the longest silence, up to its nudge or the stop */
	double woke_s;			/* the longest time from a nudge to the next line */
	char panic[256];		/* the console's first line of a panic or oops */
	char console_tail[2048];	/* the last of the console */
	char qemu_err[1024];		/* the last of what QEMU itself wrote */
	double wall_s;
};

/*
 * Runs QEMU until it exits (the lab powers off), the timeout passes or
 * SIGINT/SIGTERM arrive (interrupt.h), relaying the ports as they come. QEMU
 * runs in its own process group and dies with this process; it is never
 * left behind. 0, or -errno if it could not be started.
 */
int lab_qemu_run(const struct lab_qemu_cfg *c, const struct lab_qemu_io *io,
		 struct lab_qemu_end *end);

#endif
