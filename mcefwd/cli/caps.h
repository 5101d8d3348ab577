/* SPDX-License-Identifier: GPL-2.0-only */
/* `mcefwd caps`: what this host's KVM, CPU and kernel offer mcefwd. */
#ifndef MCEFWD_CAPS_H
#define MCEFWD_CAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "inject/inject.h"
#include "mcefwd/vmm/kvm.h"

struct where;

struct caps_report {
	char kernel_release[65];	/* uname -r: the kernel the guests' KVM runs on */
	bool kvm_ok;
	char kvm_error[512];
	const struct kvm_caps *kvm;	/* NULL unless kvm_ok */
	bool cap_sys_admin;
	char process_caps[256];
	struct inject_probe poison[INJECT_METHOD_COUNT];
	enum inject_method auto_method;
	char auto_why[512];
	const struct where *where;	/* where this runs (the host or the lab), or NULL */
};

/* Fills r; kvm may be NULL (then kvm_error says why). Probes without side effects. */
void caps_gather(struct caps_report *r, const struct kvm *kvm, const char *kvm_error);
void caps_print_text(const struct caps_report *r, FILE *out);
void caps_print_json(const struct caps_report *r, FILE *out);

/* Writes s as a JSON string literal. */
void caps_json_string(FILE *out, const char *s);
/* "KEY": "0x..." for a 64-bit register: a JSON number keeps only 53 bits. */
void caps_json_hex(FILE *out, const char *key, uint64_t v);

#endif
