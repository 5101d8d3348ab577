/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where a command's VMs run: on this host's /dev/kvm, or in the lab (a
 * Debian kernel under QEMU's software emulation, with KVM and real memory
 * failure). --on=auto takes the host's KVM when it is usable, else the lab.
 * A command already inside the lab runs there (the lab sets MCEFWD_ON=host).
 */
#ifndef MCEFWD_WHERE_H
#define MCEFWD_WHERE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum where_on { WHERE_AUTO, WHERE_HOST, WHERE_LAB };

/* "host", "lab", "auto". 0, or -EINVAL. */
int where_parse(const char *s, enum where_on *out);
const char *where_name(enum where_on w);

struct where {
	/*
	 * WHERE_HOST: the KVM of the machine this process runs on (inside the
	 * lab, the lab's); WHERE_LAB: the command is sent to the lab.
	 */
	enum where_on on;
	char why[768];			/* why there, in words */
	bool in_lab;			/* this process runs inside the lab */
	char lab_kernel[768];		/* inside the lab: its kernel, and whence */
	char lab_boot[512];		/* inside the lab: boot time, /dev/kvm */
	char lab_why[512];		/* inside the lab: why the host sent the command there */
};

/*
 * Decides for asked (from --on; WHERE_AUTO also reads $MCEFWD_ON). Auto
 * opens /dev/kvm read-write (never creating it) and takes it if it is a
 * character device answering KVM API 12 with KVM_CAP_MCE.
 */
void where_decide(enum where_on asked, struct where *w);

/*
 * Where, in one line: "host: WHY", "lab: WHY", or inside the lab "lab:
 * kernel K under QEMU's TCG; BOOT".
 */
void where_describe(const struct where *w, char *buf, size_t len);
/* The lines that say where and why, each after prefix ("# " for KTAP). */
void where_print(const struct where *w, FILE *out, const char *prefix);
/* The same as a JSON object (no trailing newline). */
void where_print_json(const struct where *w, FILE *out);

#endif
