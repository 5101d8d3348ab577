/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the files of a scenario run share: the run's state (poison.c fills
 * it as the guest asks), and the judge's and observer's entry points.
 */
#ifndef MCEFWD_SCN_INT_H
#define MCEFWD_SCN_INT_H

#include <pthread.h>
#include <stdint.h>

#include "guest-payloads/abi.h"
#include "inject/inject.h"
#include "mcefwd/scenario/run.h"
#include "mcefwd/scenario/scenario.h"
#include "mcefwd/util/error.h"

struct vm;
struct vcpu;
struct ktap;
struct state;

/* ---- the run's state: what was poisoned, what is still to be sent ---- */

#define SCN_MAX_PAGES 16

struct scn_page {
	uint64_t gpa;
	void *hva;
	/* What undoing it takes: a frame taken out of service (recorded), a uffd registration. */
	struct inject_undo undo;
};

struct scn_run {
	const struct scenario *sc;
	enum inject_method method;
	enum fwd_emulated emulated;
	void *vmm_page;			/* mcefwd's own page, for vmm-memory */
	/* Guarded by the single vCPU that asks (vCPU 0) or main: see uses. */
	unsigned int nr_pages;
	struct scn_page pages[SCN_MAX_PAGES];
	/*
	 * Self-sent AR signals each vCPU raises right before its next KVM_RUN;
	 * a vCPU's row is only touched by its own thread.
	 */
	unsigned int nr_pending[MCEFWD_MAX_VCPUS];
	void *pending[MCEFWD_MAX_VCPUS][SCN_MAX_PAGES];
	pthread_mutex_t lock;		/* pages[], nr_pages: any vCPU may ask */
	/* AO for the main thread to raise (0 = none). */
	void *_Atomic pending_ao;
	const char *state_path;
	struct state *state;		/* opened on the first frame poisoned */
	char failure[ERROR_MAX];
};

/* ---- poison.c: the hooks that poison on the guest's request ---- */

extern const struct vm_ops poison_ops;
/* Undoes what was poisoned; res (if given) gets each page and whether it was undone. */
void poison_cleanup(struct scn_run *s, struct ktap *k, struct run_result *res);

/* ---- judge.c ---- */

/* run_hooks.judge: what the guest saw against what it had to see. */
void judge_scenario(struct vm *vm, void *priv, struct ktap *k, struct run_result *res);

/* ---- observe.c: what the guest saw, in words and as data ---- */

/* One "# ... saw #MC N: MCG_STATUS ..." line for a record of vCPU vcpu. */
void observe_show(struct vm *vm, struct ktap *k, unsigned int vcpu,
	      const struct mcefwd_mce_record *m);
/* res->seen and res->obs from vCPU 0's records and outcome. */
void observe_summarize(struct vm *vm, const struct vcpu *v0, struct run_result *res);

#endif
