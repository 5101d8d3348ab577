/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * QEMU's own rules for a guest machine check, as pure functions: which
 * encoding a QEMU version uses for a guest, whether it broadcasts, and what
 * target/i386/helper.c do_inject_x86_mce does with the guest's bank state.
 * QEMU decides there, in userspace, and never asks KVM (it writes the MSRs
 * and queues vector 18 itself); mcefwd's own forwarding delivers with KVM's
 * rules (KVM_X86_SET_MCE), which differ. The expectations of a real QEMU
 * (mcefwd/qemu/expect.c) and a forwarding model faithful to QEMU are both
 * built on this. No syscalls, no printing, no mutable state of its own.
 */
#ifndef MCEFWD_QEMU_MODEL_H
#define MCEFWD_QEMU_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "mcefwd/mce/encode.h"

/* A QEMU release, as its --version names it. */
struct qemu_release {
	unsigned int major, minor;
};

/*
 * The encoding kvm_mce_inject uses: qemu-6.2 before 7.0, qemu-7 after,
 * amd for an AMD guest from 9.1 (the guest CPU's vendor decides).
 */
enum mce_profile qemu_model_profile(struct qemu_release r, bool amd_guest);

/*
 * Whether cpu_x86_inject_mce copies the error to every other vCPU (bank 1,
 * VAL|UC, MCG_STATUS MCIP|RIPV): cpu_x86_support_mca_broadcast, from the
 * guest's CPUID 1 EAX as cpu_x86_version reads it (the family from bits
 * 11:8 only, the model with bits 19:16 above it), never for an AMD guest
 * from 9.1. Without the guest's LMCE: kvm_mce_inject clears the flag then.
 */
bool qemu_model_broadcasts(struct qemu_release r, bool amd_guest, uint32_t cpuid_version);
/* Just cpu_x86_support_mca_broadcast's family and model test, of any release. */
bool qemu_model_family_broadcasts(uint32_t cpuid_version);

/* What do_inject_x86_mce reads and writes of one vCPU. */
struct qemu_mca {
	uint64_t mcg_cap, mcg_ctl, mcg_status;
	bool cr4_mce;			/* CR4.MCE */
	/* MCi_CTL, MCi_STATUS, MCi_ADDR, MCi_MISC of each bank. */
	uint64_t bank[MCE_KVM_MAX_BANKS][4];
};

/* What do_inject_x86_mce did; the QMP MEMORY_FAILURE action it sent, if any. */
enum qemu_inject {
	QEMU_INJECT_RAISED,	/* bank and MCG_STATUS written, #MC raised: "inject" */
	QEMU_INJECT_LOGGED,	/* no UC: the bank written (OVER if it held one), no #MC: "inject" */
	QEMU_INJECT_OVER,	/* no UC onto a valid UC entry: only OVER or-ed in: "inject" */
	QEMU_INJECT_IGNORED,	/* no AR while MCIP is set: dropped: "ignore" */
	QEMU_INJECT_DISABLED,	/* UC, MCG_CTL or MCi_CTL not all ones: dropped, no event */
	QEMU_INJECT_RESET,	/* UC with CR4.MCE clear or MCIP set: a guest reset: "reset" */
	QEMU_INJECT_BAD,	/* a bank beyond MCG_CAP's count: QEMU never gets there */
};

/* MCE_INJECT_UNCOND_AO (target/i386/cpu.h): inject an AO even under MCIP (monitor only). */
#define QEMU_INJECT_UNCOND_AO	(1u << 1)

/*
 * do_inject_x86_mce on st for an error in bank with status, mcg_status,
 * addr and misc (flags: QEMU_INJECT_UNCOND_AO). *why (if not NULL) gets a
 * static line saying which rule applied.
 */
enum qemu_inject qemu_model_inject(struct qemu_mca *st, unsigned int bank, uint64_t status,
				   uint64_t mcg_status, uint64_t addr, uint64_t misc,
				   unsigned int flags, const char **why);

/* The MEMORY_FAILURE action QEMU emits for what happened, or NULL for none. */
const char *qemu_model_event(enum qemu_inject what);

#endif
