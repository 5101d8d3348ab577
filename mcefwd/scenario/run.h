/* SPDX-License-Identifier: GPL-2.0-only */
/* One test: a VM built, a payload run under a watchdog, the outcome judged. */
#ifndef MCEFWD_RUN_H
#define MCEFWD_RUN_H

#include "mcefwd/util/error.h"
#include "mcefwd/util/ktap.h"
#include "mcefwd/mce/encode.h"
#include "mcefwd/vmm/payload.h"
#include "mcefwd/vmm/vm.h"

struct run_opts {
	struct vm_config vm;		/* nr_vcpus 0: the payload's default */
	unsigned int timeout_ms;
	const char *state_path;		/* NULL: state_default_path() */
};

/* What a scenario's guest saw, for the behaviour matrix. */
struct run_observation {
	bool valid;
	char outcome[32];	/* "#MC", "polled", "shutdown", "stopped", "livelock", "nothing" */
	unsigned int nr_mce;	/* records vCPU 0 reported */
	uint64_t mcg_status;	/* of vCPU 0's last record */
	unsigned int bank;	/* the bank holding the error */
	uint64_t status, addr, misc;
	char rip[48];		/* where the #MC landed, in words */
	char vcpus[64];		/* which vCPUs saw a record */
	char note[256];		/* e.g. why the VM stopped; under QEMU, why QEMU does it */
};

#define RUN_MAX_EVENTS	32
#define RUN_MAX_PAGES	16

/* One machine-check event as the host handled it (from forwarding's log). */
struct run_event {
	unsigned int vcpu;	/* the vCPU that handled it */
	bool ar;		/* BUS_MCEERR_AR; else AO */
	bool from_main;		/* arrived on a thread that is not a vCPU and was routed */
	bool emulated;		/* raised by mcefwd after KVM emulated the access */
	bool broadcast;		/* the bank-1 error another vCPU's event fans out */
	int lsb;		/* si_addr_lsb */
	bool in_ram;
	uint64_t gpa;
	enum mce_verdict verdict;
	unsigned int bank;	/* what was delivered (verdict deliver) */
	uint64_t status, mcg_status;
};

/* A guest page a scenario had poisoned, and whether it was undone. */
struct run_page {
	uint64_t gpa;
	uint64_t pfn;		/* the frame taken out of service; 0: none (signal, uffd) */
	bool unpoisoned;	/* undone after the run (unpoison-pfn, or uffd) */
};

struct run_result {
	enum ktap_status status;
	char reason[ERROR_MAX];
	char seen[200];		/* scenarios: what the guest saw, one line */
	struct run_observation obs;
	bool timed_out;
	bool interrupted;	/* SIGINT/SIGTERM: the run was cut short */
	/* For --json: what the host did, as data. */
	unsigned int nr_events;		/* handled, of every vCPU (at most RUN_MAX_EVENTS kept) */
	struct run_event events[RUN_MAX_EVENTS];
	unsigned int nr_pages;
	struct run_page pages[RUN_MAX_PAGES];
	uint64_t lost_bytes;		/* guest memory accounted lost */
	const char *kill;		/* scenarios: PR_MCE_KILL set for a real memory failure, or NULL */
};

/*
 * Runs payload p in a fresh VM; diagnostics go to k as "# " lines. Returns
 * 0 with *res filled in (pass, fail or skip), or -errno when the VM could
 * not even be set up (then error_get() says why; res says fail).
 */
int run_payload(struct kvm *kvm, const struct payload *p, const struct run_opts *o,
		struct ktap *k, struct run_result *res);

/*
 * The same with hooks: ops on the VM, and judge (instead of the default
 * verdict: every vCPU exits 0, no guest check failed) after the vCPUs are
 * joined and before the VM is destroyed.
 */
struct run_hooks {
	const struct vm_ops *ops;
	void (*judge)(struct vm *vm, void *priv, struct ktap *k, struct run_result *res);
	void *priv;
};
int run_with(struct kvm *kvm, const struct payload *p, const struct vm_config *cfg,
	     unsigned int timeout_ms, const struct run_hooks *h, struct ktap *k,
	     struct run_result *res);

/* The default verdict for one vCPU, for judges that reuse it. */
void run_judge_vcpu(struct vm *vm, struct vcpu *v, unsigned int timeout_ms,
		    struct run_result *res);
void run_fail(struct run_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
