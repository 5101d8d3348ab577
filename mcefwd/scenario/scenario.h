/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Scenarios: a named row of payload, MCG_CAP, poison method and the
 * guest-visible outcome expected, and the hooks that poison on the guest's
 * request. The expectations are pure data; scenario_judge compares what
 * the guest reported field by field.
 */
#ifndef MCEFWD_SCENARIO_H
#define MCEFWD_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>

#include "inject/inject.h"
#include "mcefwd/mce/encode.h"
#include "mcefwd/scenario/run.h"

struct vm;
struct ktap;

enum scn_outcome {
	SCN_EXIT = 1,		/* the guest finishes (exit 0); 0 means unset */
	SCN_SHUTDOWN,		/* KVM shuts the guest down (triple fault) */
	SCN_MCE_STOP,		/* mcefwd stops the VM (QEMU would exit) */
	SCN_LIVELOCK,		/* the guest re-touches a page whose #MC KVM drops */
	/* Under a QEMU model (--model=qemu-X), what QEMU itself does: */
	SCN_RESET,		/* do_inject_x86_mce resets the guest (triple fault) */
	SCN_QEMU_EXIT,		/* hardware_memory_error: QEMU exit(1)s */
	SCN_QEMU_SIGBUS,	/* a second pending SIGBUS: QEMU dies of it */
	SCN_REFAULT,		/* the access re-faults for ever (stopped after FWD_LIVELOCK) */
};

#define SCN_MAX_MCE 4

struct scn_mce {
	enum mce_kind kind;
	unsigned int page;	/* test page whose gpa MCi_ADDR must hold */
	bool over;		/* MCi_STATUS.OVER expected */
};

struct scenario {
	const char *name;
	const char *summary;
	const char *why;		/* why the guest sees what it sees */
	const char *real_host;		/* what differs with real memory failure */
	const char *payload;
	uint64_t mcg_cap_clear;		/* MCG_CAP bits this scenario removes */
	enum scn_outcome outcome;
	/*
	 * Where the page is really poisoned (every method but signal), the
	 * guest's access cannot complete until the page is retired. 0: as
	 * .outcome.
	 */
	enum scn_outcome outcome_poisoned;
	unsigned int nr_mce;		/* #MC records vCPU 0 must report */
	struct scn_mce mce[SCN_MAX_MCE];
	bool vmm_memory;		/* poison a page of mcefwd's own */
	unsigned int nr_vcpus;		/* 0: as the command line says */
	/* What the other vCPUs must have seen. */
	enum {
		SCN_OTHERS_ANY,		/* not checked */
		SCN_OTHERS_BROADCAST,	/* QEMU's broadcast on Intel profiles, else nothing */
		SCN_OTHERS_LMCE,	/* nothing: a local machine check */
		SCN_OTHERS_AO_ROUTE,	/* the AO where --ao-target sends it */
	} others;
	bool reset;			/* the guest resets the VM: nothing stays lost */
	uint64_t mcg_cap_set;		/* MCG_CAP bits this scenario needs */
	/*
	 * With a real memory failure (hwpoison, pfn, einj) the kill policy
	 * decides what the host sees: early kill sends an AO at once, late kill
	 * waits for the access (AR). 0: as --mce-kill says.
	 */
	enum { SCN_KILL_LATE = 1, SCN_KILL_EARLY } kill;
	/* Why a method cannot produce this scenario; NULL: it can. */
	const char *cannot[INJECT_METHOD_COUNT];
};

unsigned int scenario_count(void);
const struct scenario *scenario_at(unsigned int i);
const struct scenario *scenario_find(const char *name);

/* The methods scenarios can use in this build (issue 4 adds the rest). */
bool scenario_method_supported(enum inject_method m);

/* Whether this host lacks method m: then res is a skip saying why. */
bool scenario_skip_unavailable(enum inject_method m, struct run_result *res);

/*
 * Runs sc with method m. res says pass, fail or skip (with the reason);
 * returns like run_payload.
 */
int scenario_run(struct kvm *kvm, const struct scenario *sc, enum inject_method m,
		 const struct run_opts *o, struct ktap *k, struct run_result *res);

#endif
