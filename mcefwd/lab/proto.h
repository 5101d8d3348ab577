/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the host and the lab's /init say to each other. Pure: buffers in,
 * buffers out; the init links it statically, the host and the tests too.
 *
 * Host to init: /lab/config in the initramfs, a list of records, each a tag
 * and a value, both NUL-terminated:
 *   mod   NAME \t PATH \t PARAMS \t required|optional   a module to load, in order
 *   share TAG                the 9p mount tag of the host's root
 *   cwd   DIR                where the command starts
 *   env   KEY=VALUE          its environment, one record each
 *   arg   ARG                its argv, in order
 *
 * Init to host: lines on the control port (/dev/ttyS3), "WORD rest\n":
 *   up MS release=R vendor=V          /init runs, MS after boot
 *   mod NAME ok|optional-failed|failed ERRNO
 *   kvm api=N mce=BANKS npt=Y nested=1 nrips=0    /dev/kvm as the lab has it
 *   run MS                             the command starts
 *   alive MS                           from "run" on, every PROTO_ALIVE_MS
 *   wrote PATH                         written outside the lab's scratch space
 *   exit STATUS | signal SIG           how the command ended
 *   error TEXT                         the lab could not run the command
 *
 * Host to init on the control port: "interrupt\n", the user's ^C: the
 * command gets SIGINT. Any other line is ignored: the host sends an empty
 * one to nudge a kernel that has stopped saying "alive" (its interrupt
 * wakes a CPU halted with nothing else left to wake it).
 */
#ifndef MCEFWD_LAB_PROTO_H
#define MCEFWD_LAB_PROTO_H

#include <stdbool.h>
#include <stddef.h>

/* The serial ports, in QEMU's -serial order: ttyS0 .. ttyS3. */
enum proto_port { PROTO_CONSOLE, PROTO_STDOUT, PROTO_STDERR, PROTO_CONTROL, PROTO_NR_PORTS };

#define PROTO_CONFIG_PATH	"/lab/config"
#define PROTO_SHARE_TAG		"mcefwdroot"
#define PROTO_INTERRUPT		"interrupt"
#define PROTO_ALIVE_MS		2000

/* A growing buffer of records; out of memory is remembered, not fatal. */
struct proto_buf {
	char *data;
	size_t len, cap;
	bool oom;
};

void proto_buf_free(struct proto_buf *b);
/* Appends one record; a tag or value holding a NUL byte cannot be written. */
void proto_put(struct proto_buf *b, const char *tag, const char *value);

/*
 * The next record at *pos of buf[0..len): 1 and *tag, *value set (pointing
 * into buf), 0 at the end, -1 if the buffer is cut off inside a record.
 */
int proto_next(const char *buf, size_t len, size_t *pos, const char **tag, const char **value);

/* A "mod" value split in place at its tabs. 0, or -1 if malformed. */
struct proto_mod {
	char *name, *path, *params;
	bool required;
};
int proto_mod_split(char *value, struct proto_mod *m);

/* One control line (without its newline), split into its word and the rest. */
enum proto_event {
	PROTO_EV_UNKNOWN, PROTO_EV_UP, PROTO_EV_MOD, PROTO_EV_KVM, PROTO_EV_RUN,
	PROTO_EV_WROTE, PROTO_EV_EXIT, PROTO_EV_SIGNAL, PROTO_EV_ERROR, PROTO_EV_ALIVE,
};
struct proto_line {
	enum proto_event ev;
	const char *rest;	/* after the word and one space, "" if none */
	long num;		/* up/run/alive: ms; exit: status; signal: number; else 0 */
};
void proto_parse_line(const char *line, struct proto_line *out);

/*
 * Writes all of buf to fd, as far as the reader takes it (the one helper of
 * this file that does I/O: /init and the host both pass the ports' bytes on).
 */
void proto_write_all(int fd, const char *buf, size_t len);

#endif
