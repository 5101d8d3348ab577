/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Forwarding: what happens to a stowed SIGBUS after KVM_RUN returns. The
 * vCPU drains its ring, translates hva to gpa, asks mce.c what QEMU would do,
 * builds the bank state and injects it with KVM_X86_SET_MCE, one event at a
 * time: the next only once the guest has cleared MCG_STATUS.MCIP. AO events
 * stowed on other threads are routed here by the main thread.
 */
#ifndef MCEFWD_FORWARD_H
#define MCEFWD_FORWARD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "mcefwd/mce/encode.h"
#include "mcefwd/mce/ring.h"

struct vm;
struct vcpu;

#define FWD_QUEUE	256	/* events drained but not yet injected, per vCPU */
#define FWD_LOG		64	/* decisions remembered per vCPU */
/* The same AR at the same RIP this many times: the guest cannot get past it. */
#define FWD_LIVELOCK	8

enum fwd_emulated { FWD_EMULATED_FAIL, FWD_EMULATED_FORWARD };
#define FWD_AO_ALL	(-1)
#define FWD_AO_OWNER	(-2)	/* the vCPU that last reported touching the page */

/*
 * Events that never came from a SIGBUS, passed between vCPUs: the
 * broadcast bank-1 error QEMU gives every other vCPU on Intel, and a
 * notice that an event was handled elsewhere (so a guest waiting on its
 * mailbox goes on). Routing counts them (fanout_bcast, fanout_notice);
 * one met in an inbox is handled as well. FWD_NO_FANOUT marks an event
 * routed to every vCPU already, so none passes it on.
 */
#define FWD_CODE_BROADCAST	0x100
#define FWD_CODE_NOTICE		0x101
#define FWD_NO_FANOUT		0x10000
#define FWD_FROM_MAIN		0x20000	/* stowed on a non-vCPU thread */
#define FWD_MAX_OWNERS		256

struct fwd_config {
	enum mce_profile profile;
	unsigned int bank;
	int ao_target;			/* vCPU index, or FWD_AO_ALL */
	enum fwd_emulated emulated;
};

/* What the host did with one event: for reports and for the scenario judge. */
struct fwd_entry {
	struct sigbus_event ev;
	uint64_t gpa;
	bool in_ram;
	bool broadcast;			/* the bank-1 error of another vCPU's AR/AO */
	bool lmce;			/* the guest had MCG_EXT_CTL.LMCE_EN set */
	enum mce_verdict verdict;
	const char *reason;		/* static text from mce_decide */
	struct kvm_x86_mce mce;		/* what was handed to KVM_X86_SET_MCE */
	uint64_t rip;			/* guest RIP when it was injected */
	bool emulated;			/* raised by mcefwd after an emulated access */
	bool from_main;			/* stowed on a thread that is not a vCPU, routed here */
};

struct fwd_vcpu {
	struct ring_spsc ring;		/* stowed by the SIGBUS handler on this thread */
	struct ring_mpsc inbox;		/* routed here by the main thread and other vCPUs */
	/*
	 * Fan-out from other vCPUs, counted, not queued: every broadcast is
	 * the same bank-1 error and a notice only counts, so a vCPU kept off
	 * a CPU for long owes any number of them and loses none. Added to
	 * (under vm->lock) by the vCPU that took the error; taken by this one.
	 */
	atomic_ulong fanout_bcast, fanout_notice;
	unsigned long bcast_owed;	/* broadcasts taken, not yet injected */
	struct sigbus_event queue[FWD_QUEUE];
	unsigned int q_head, q_tail;
	atomic_ulong q_overflows;	/* bumped by this vCPU only, read by anyone */
	bool waiting_mcip;		/* injected; the next waits for MCIP clear */
	bool release_gate;		/* the guest asked for more: inject anyway */
	unsigned int nr_log;
	struct fwd_entry log[FWD_LOG];
	uint64_t done, injected;	/* mirrored into the guest's mailbox */
	uint64_t done_at_halt;		/* done when the guest last halted */
	uint64_t last_gpa, last_rip;	/* the last AR injected, to spot a livelock */
	unsigned int repeats;
};

#define FWD_MAX_LOST	1024

/* Guest memory known to be poisoned: what a reset would have to replace. */
struct fwd_lost {
	uint64_t gpa;			/* aligned to size */
	uint64_t size;			/* 4 KiB, or the whole huge page */
};

struct fwd_vm {
	struct ring_mpsc process;	/* AO stowed on non-vCPU threads */
	/* Under vm->lock. */
	unsigned int nr_lost;
	struct fwd_lost lost[FWD_MAX_LOST];
	unsigned long lost_overflow;
	/* Page owners for --ao-target=page-owner, under vm->lock. */
	unsigned int nr_owners;
	struct { uint64_t gpa; unsigned int vcpu; } owners[FWD_MAX_OWNERS];
	/* The guest CPU's family and model (CPUID 1), for the broadcast rule. */
	unsigned int family, model;
	/* Bumped by any vCPU thread's fan-out and by the main thread. */
	atomic_ulong unroutable;	/* a full inbox: lost */
	/* Never delivered (the vCPU had finished, or a reset came first): reported. */
	atomic_ulong undeliverable;
};

const char *fwd_emulated_name(enum fwd_emulated e);
int fwd_emulated_parse(const char *s, enum fwd_emulated *out);

/* On the vCPU thread before its first KVM_RUN / after its last. */
void forward_vcpu_attach(struct vcpu *v);
void forward_vcpu_detach(struct vcpu *v);

/*
 * Empties what waits for v (its inbox and queue; with ring, its SIGBUS
 * ring too), adds what would have reached the guest to undeliverable and
 * says so in one line ending in why. Only while v's thread cannot touch
 * them: it has finished, or it is paused.
 */
void forward_discard_pending(struct vcpu *v, bool ring, const char *why);

/*
 * On the vCPU thread after KVM_RUN returned and before re-entering: moves
 * stowed and routed events into the queue and injects the next one if the
 * guest is ready for it. Returns 0, or -errno when the VM must stop (AR
 * that cannot be delivered; the outcome is already recorded).
 */
int forward_vcpu_service(struct vcpu *v);

/* Events queued and not yet handled: a halted vCPU must not sleep on them. */
bool forward_vcpu_has_work(struct vcpu *v);
/* Whether events drained from the rings wait for injection (this vCPU's thread). */
bool forward_vcpu_pending(const struct vcpu *v);
/*
 * The guest asked for the next error (or halted) while MCIP is still set:
 * inject the next one anyway, as QEMU would; KVM then shuts the guest down.
 */
void forward_vcpu_release(struct vcpu *v);

/* Pushes an AR for hva into this vCPU's ring as if SIGBUS had stowed it. */
void forward_raise_ar(struct vcpu *v, void *hva, bool emulated);

/* On the main thread when the VM's eventfd fired: routes stowed AO events. */
void forward_main_drain(struct vm *vm);

/* A vCPU said it uses the page at gpa (MCEFWD_VALUE_TOUCH). */
void forward_note_owner(struct vcpu *v, uint64_t gpa);
/* Forgets every lost page and page owner (after a reset replaced them). */
void forward_reset(struct vm *vm);

/* Bytes of guest RAM accounted as poisoned (each huge page counted whole). */
uint64_t forward_lost_bytes(struct vm *vm);

/*
 * How much memory one error at hva takes out of service: 1 << si_addr_lsb,
 * and never less than the host page backing it (a hugetlb page is lost
 * whole: the kernel cannot split it).
 */
uint64_t forward_loss_unit(unsigned int lsb, size_t backing_page);

/* Counters for the report: events lost to full rings or queues. */
unsigned long forward_lost(const struct vm *vm);

#endif
