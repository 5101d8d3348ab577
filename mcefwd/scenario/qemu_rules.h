/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What QEMU does with each scenario, by release, derived from its source:
 * the oracle for a real QEMU under test (mcefwd/qemu/, --vmm=qemu) and for
 * mcefwd's own forwarding under a QEMU model (--model=qemu-X), which must
 * show the guest the same. Pure: no QEMU is run here.
 */
#ifndef MCEFWD_QEMU_RULES_H
#define MCEFWD_QEMU_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "inject/inject.h"
#include "mcefwd/mce/forward.h"
#include "mcefwd/mce/qemu_model.h"
#include "mcefwd/scenario/scenario.h"

#define QEMU_MAX_MCE	8

/* How a QEMU run ended. */
enum qemu_outcome {
	QO_NONE,
	QO_EXIT,	/* the guest exited through isa-debug-exit (code in exit_code) */
	QO_RESET,	/* the guest was reset; -no-reboot makes that QEMU's end */
	QO_QEMU_EXIT,	/* QEMU exited by itself, not for the guest (status) */
	QO_SIGNAL,	/* QEMU died of a signal it was not sent by us */
	QO_REFAULT,	/* the same AR again and again: stopped by us */
	QO_TIMEOUT,	/* nothing of the above in time: killed by us */
	QO_STOPPED,	/* killed by us because a step failed (said before) */
};

const char *qemu_outcome_name(enum qemu_outcome o);

/* The QEMU whose rules apply, and the KVM it runs on. */
struct qemu_target {
	struct qemu_release release;
	const char *cpu;		/* its -cpu (for the options a scenario adds) */
	bool kvm_amd;			/* kvm_amd: svm_setup_mce keeps MCG_CAP bits 8:0 */
	uint64_t mcg_cap_supported;	/* KVM_X86_GET_MCE_CAP_SUPPORTED */
};

/* One #MC (or polled record) the guest must report. */
struct qemu_mce {
	enum mce_kind kind;
	unsigned int page;	/* the test page MCi_ADDR holds */
	bool over;		/* MCi_STATUS.OVER */
	unsigned int vcpu;	/* who takes it */
	bool broadcast;		/* cpu_x86_inject_mce's bank-1 copy for the other vCPUs */
	bool lmce;		/* MCG_STATUS.LMCE: the guest opted in */
};

/* What the guest's CPUID says: it decides QEMU's encoding and broadcast. */
struct qemu_guest {
	bool amd;
	uint32_t cpuid_version;	/* CPUID 1 EAX */
};

/* What QEMU must do with one scenario. */
struct qemu_expect {
	const char *cannot;		/* why QEMU cannot be driven through it (skip) */
	char cpu[80];			/* -cpu */
	unsigned int nr_vcpus;		/* -smp */
	enum qemu_outcome outcome;
	int qemu_status;		/* QO_QEMU_EXIT: its exit status */
	unsigned int nr_mce;
	struct qemu_mce mce[QEMU_MAX_MCE];
	unsigned int nr_ready;
	unsigned int ready_events[SCN_MAX_MCE];	/* MEMORY_FAILURE events after READY n */
	enum mce_profile profile;	/* the encoding this QEMU uses for this guest */
	/*
	 * Poison a frame no process maps (untouched.c): guest RAM in a memfd,
	 * the page made there by us and unmapped again, so the memory failure
	 * notifies nobody and the guest's first touch takes a pure AR.
	 */
	bool untouched;
	uint64_t mcg_cap;		/* what the guest reads */
	const char *why;		/* in words, with the source */
};

/* e for sc under t and guest g: the encoding, MCG_CAP, -smp; outcome guest exit. */
void qemu_expect_init(const struct qemu_target *t, const struct qemu_guest *g,
		      const struct scenario *sc, struct qemu_expect *e);
/*
 * The rows: what QEMU does with sc when the frame is really poisoned and
 * QEMU asked for early kill, as it always does; e set up by
 * qemu_expect_init. Every scenario but ar-untouched (the caller's), reset
 * as ar. 0.
 */
int qemu_expect_early_kill(const struct qemu_target *t, const struct qemu_guest *g,
			   const struct scenario *sc, struct qemu_expect *e);
/* QEMU's cpu_x86_support_mca_broadcast() for this guest under this QEMU. */
bool qemu_target_broadcasts(const struct qemu_target *t, const struct qemu_guest *g);

/*
 * What mcefwd's own VMM must show under fwd's QEMU model for sc poisoned
 * with m: a copy of sc (into out) with QEMU's outcome and records; *why
 * says why, with the source. Under mcefwd's own model, sc itself.
 */
void qemu_rules_for_model(const struct fwd_config *fwd, const struct qemu_guest *g,
			  uint64_t mcg_cap_supported, bool kvm_amd, const struct scenario *sc,
			  enum inject_method m, struct scenario *out, const char **why);

#endif
