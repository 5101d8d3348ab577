/* SPDX-License-Identifier: GPL-2.0-only */
/* A vCPU: its fd, kvm_run page, thread, run loop and what it observed. */
#ifndef MCEFWD_VCPU_H
#define MCEFWD_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "guest-payloads/abi.h"
#include "mcefwd/util/error.h"
#include "mcefwd/mce/forward.h"

struct vm;

/* Request bits, set by kick(). */
#define VCPU_REQ_STOP	(1u << 0)	/* leave the run loop */
#define VCPU_REQ_PAUSE	(1u << 1)	/* park until vm_resume_all() */
#define VCPU_REQ_WORK	(1u << 2)	/* something was queued for this vCPU */

enum vcpu_outcome {
	VCPU_RUNNING,	/* never finished (only seen after a stop) */
	VCPU_EXITED,	/* wrote the exit port */
	VCPU_EXCEPTION,	/* the guest reported an unexpected exception */
	VCPU_SHUTDOWN,	/* KVM_EXIT_SHUTDOWN (triple fault) */
	VCPU_ERROR,	/* unexpected exit or host-side failure */
	VCPU_STOPPED,	/* stopped by the host (watchdog, another vCPU failed) */
	VCPU_MCE_STOPPED, /* forwarding stopped the VM (enum fwd_stop says why) */
};

#define VCPU_MAX_HELLO	4
#define VCPU_MAX_MCE	16

struct vcpu_result {
	enum vcpu_outcome outcome;
	uint32_t exit_code;
	struct mcefwd_exception exc;
	unsigned int reports_passed;
	unsigned int reports_failed;
	unsigned int nr_hello;
	uint64_t hello[VCPU_MAX_HELLO];
	unsigned int nr_mce;
	struct mcefwd_mce_record mce[VCPU_MAX_MCE];
	enum fwd_stop stop;	/* VCPU_MCE_STOPPED: why */
	uint64_t stop_rip;	/* where a stopped vCPU was */
	uint64_t exits;		/* KVM_RUN returns */
	char error[ERROR_MAX];
};

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	/* KVM copies the registers into run->s.regs on every return (KVM_CAP_SYNC_REGS). */
	bool sync_regs;
	pthread_t thread;
	bool started;
	uint64_t mcg_cap_kvm;	/* MCG_CAP as KVM stored it (read back) */
	bool eintr;		/* the last KVM_RUN returned EINTR */

	atomic_uint requests;	/* futex word: VCPU_REQ_* set by others */
	/*
	 * 1 from the vCPU's last look at requests before KVM_RUN until
	 * KVM_RUN returns: only then does a kick need a signal (kick.c).
	 */
	atomic_uint in_run;
	unsigned int self_requests;	/* set only by this vCPU's own thread */
	unsigned int pauses;	/* times this vCPU parked in vm_pause_all */
	bool paused;		/* under vm->lock */
	unsigned int parked_seq;	/* the vm->pause_seq it parked for */
	bool done;		/* under vm->lock */

	char console[160];
	unsigned int console_len;
	unsigned long console_total;

	struct vcpu_result res;
	struct fwd_vcpu fwd;
};

/* This thread's vCPU, NULL on other threads (read by signal handlers). */
extern __thread struct vcpu *vcpu_self;

struct vcpu *vcpu_create(struct vm *vm, unsigned int id);
void vcpu_destroy(struct vcpu *v);
int vcpu_set_boot_state(struct vcpu *v, uint64_t entry);
int vcpu_start(struct vcpu *v);

/*
 * After a KVM_EXIT_MMIO: completes it without effect and rewinds the
 * registers, so the guest resumes at the accessing instruction.
 */
int vcpu_abort_mmio(struct vcpu *v);
/*
 * Ends this vCPU's run with an outcome and why (NULL: no words); the first
 * reason wins. On v's thread.
 */
void vcpu_finish(struct vcpu *v, enum vcpu_outcome o, const char *why);
/* Forwarding stopped the VM for a hardware memory error (VCPU_MCE_STOPPED). */
void vcpu_stop(struct vcpu *v, enum fwd_stop reason, const char *text);
/* On v's thread, while another vCPU resets the VM: park for it, then return. */
void vcpu_wait_reset(struct vcpu *v);
/* After a KVM_EXIT_IO/MMIO: lets KVM complete it (RIP moves on). 0/-errno. */
int vcpu_complete_exit(struct vcpu *v);
/* One MSR of the vCPU (KVM_GET_MSRS): 0 and *val set, or -errno. */
int vcpu_get_msr(struct vcpu *v, uint32_t index, uint64_t *val);

/* Formats the vCPU's registers, one "name=value" group per line. */
int vcpu_dump_regs(struct vcpu *v, char *buf, size_t len);
const char *vcpu_outcome_name(enum vcpu_outcome o);
/* "#UD" for 6. */
const char *vcpu_vector_name(uint64_t vector);

#endif
