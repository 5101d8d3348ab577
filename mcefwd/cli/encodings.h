/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `mcefwd encodings`: the bank state mce_build() and mce_build_broadcast()
 * give for a memory error, per encoding profile, as text or as JSON
 * (docs/json.md). The records QEMU would deliver are stated once, in
 * mcefwd/mce/encode.c; this exports them, so the shell tests compare what
 * a guest saw with them instead of typing them again. Needs no KVM.
 */
#ifndef MCEFWD_ENCODINGS_H
#define MCEFWD_ENCODINGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mcefwd/mce/encode.h"

#define ENCODINGS_JSON_VERSION 1

/* The error asked about: where it is, the bank, the guest's MCG_CAP. */
struct encodings_opts {
	uint64_t gpa;
	unsigned int bank;
	uint64_t mcg_cap;
	bool one;			/* only .profile (--encoding), else every profile */
	enum mce_profile profile;
};

/* What one profile makes of the error. */
struct encodings_row {
	enum mce_profile profile;
	struct kvm_x86_mce ar, ao;
	/* mce_decide() for the error in guest RAM, and why. */
	enum mce_verdict ar_verdict, ao_verdict;
	const char *ar_why, *ao_why;
	/* Intel: what every other vCPU gets; AMD broadcasts nothing. */
	bool has_broadcast;
	struct kvm_x86_mce broadcast;
};

/*
 * The row of profile for the error of o. Pure. 0, or -EINVAL with
 * error_get() saying why (a bank the MCG_CAP does not have).
 */
int encodings_build(const struct encodings_opts *o, enum mce_profile profile,
		    struct encodings_row *row);

/*
 * Every profile's row (or the one of --encoding), for a person or as one
 * JSON document. 0, or -EINVAL as encodings_build(), before anything is
 * written.
 */
int encodings_print_text(const struct encodings_opts *o, FILE *out);
int encodings_print_json(const struct encodings_opts *o, FILE *out);

#endif
