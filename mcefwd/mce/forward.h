/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Forwarding: what happens to a stowed SIGBUS after KVM_RUN returns. The
 * vCPU drains its ring into a queue (forward.c), translates hva to gpa,
 * decides with mce_decide (encode.c), builds the bank state and delivers it
 * (deliver.c), one event at a time: the next only once the guest has
 * cleared MCG_STATUS.MCIP. AO events stowed on other threads are routed by
 * the main thread, and what one vCPU's error owes the others fans out
 * (route.c). Guest memory lost to errors is accounted in ledger.c. That is
 * mcefwd's own model; under --model=qemu-X forward_qemu.c takes the drained
 * events instead, with QEMU's rules.
 *
 * Forwarding knows no vCPU or VM of the VMM: it reaches a vCPU through a
 * port (struct fwd_vcpu_port, vmm/vcpu.c gives KVM's; the unit test a fake)
 * and guest RAM through the VM's port.
 */
#ifndef MCEFWD_FORWARD_H
#define MCEFWD_FORWARD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "guest-payloads/abi.h"
#include "mcefwd/mce/encode.h"
#include "mcefwd/mce/event.h"
#include "mcefwd/mce/qemu_model.h"
#include "mcefwd/mce/ring.h"
#include "mcefwd/util/diag.h"

#define FWD_QUEUE	256	/* events drained but not yet delivered, per vCPU */
#define FWD_LOG		64	/* decisions remembered per vCPU */
/* The same AR at the same RIP this many times: the guest cannot get past it. */
#define FWD_LIVELOCK	8

enum fwd_emulated { FWD_EMULATED_FAIL, FWD_EMULATED_FORWARD };

#define FWD_AO_ALL	(-1)
#define FWD_AO_OWNER	(-2)	/* the vCPU that last reported touching the page */

#define FWD_MAX_OWNERS		256
#define FWD_MAX_LOST		1024

struct fwd_config {
	enum mce_profile profile;
	bool encoding_set;		/* --encoding: the profile overrides the model's */
	/*
	 * The forwarding model: major 0 is mcefwd's own (the queue, every
	 * event kept); a QEMU release is that QEMU's rules (forward_qemu.c).
	 */
	struct qemu_release model;
	unsigned int bank;
	int ao_target;			/* vCPU index, or FWD_AO_ALL, FWD_AO_OWNER */
	enum fwd_emulated emulated;
};

/* Whether cfg forwards as a QEMU release does rather than as mcefwd. */
static inline bool fwd_is_qemu(const struct fwd_config *cfg)
{
	return cfg->model.major != 0;
}

/* "mcefwd" or "qemu-7.2" for cfg's model, into buf. */
const char *fwd_model_name(const struct fwd_config *cfg, char *buf, size_t size);
/*
 * Parses --model: mcefwd, or qemu-MAJOR[.MINOR] from 2.11 (the first QEMU
 * to forward BUS_MCEERR_* as it does now) to 99; qemu-7 is 7.2.
 */
int fwd_model_parse(const char *s, struct qemu_release *out);

/* Why forwarding stopped the VM, for the judge to compare. */
enum fwd_stop {
	FWD_STOP_NONE,
	FWD_STOP_NO_SER,	/* an AR the guest cannot recover: MCG_CAP lacks SER_P */
	FWD_STOP_NOT_RAM,	/* an AR in memory the VMM uses, not guest RAM */
	FWD_STOP_LIVELOCK,	/* the same AR at the same RIP FWD_LIVELOCK times */
	/* Under a QEMU model, where QEMU itself ends or resets: */
	FWD_STOP_QEMU_EXIT,	/* hardware_memory_error: QEMU exit(1)s */
	FWD_STOP_QEMU_SIGBUS,	/* a second MCEERR SIGBUS before the first was handled: QEMU dies of it */
	FWD_STOP_QEMU_RESET,	/* do_inject_x86_mce asked for a guest reset (triple fault) */
	FWD_STOP_REFAULT,	/* the same AR again and again: QEMU would loop, we stop after FWD_LIVELOCK */
};

/* What the host did with one event: for reports and for the scenario judge. */
struct fwd_entry {
	struct mce_event ev;
	uint64_t gpa;
	bool in_ram;
	bool broadcast;			/* the bank-1 error of another vCPU's AR/AO */
	bool lmce;			/* the guest had MCG_EXT_CTL.LMCE_EN set */
	bool raised;			/* an #MC was raised for it (not only logged) */
	enum mce_verdict verdict;
	const char *reason;		/* static text from mce_decide */
	struct kvm_x86_mce mce;		/* what was delivered (KVM_X86_SET_MCE) */
	uint64_t rip;			/* guest RIP when it was delivered */
};

/*
 * What forwarding needs of one vCPU. Called on that vCPU's thread, except
 * wake. 0/-errno with error_get() saying why.
 */
struct fwd_vcpu_port {
	/* Where the guest will take the #MC: RIP once a pending I/O exit is done. */
	int (*rip)(void *ctx, uint64_t *rip);
	int (*read_msr)(void *ctx, uint32_t index, uint64_t *val);
	/* Hands the bank state to the vCPU (KVM_X86_SET_MCE). */
	int (*set_mce)(void *ctx, const struct kvm_x86_mce *mce);
	/* The guest's mailbox (guest-payloads/abi.h), or NULL. */
	struct mcefwd_mailbox *(*mailbox)(void *ctx);
	/* Something was queued for this vCPU: wake it. From any thread. */
	void (*wake)(void *ctx);
	/* The VM must stop: why, as a reason and in words. */
	void (*stop)(void *ctx, enum fwd_stop reason, const char *text);
	/* Whether the last KVM_RUN returned EINTR (for the diagnostic line). */
	bool (*eintr)(void *ctx);
	/* ---- what a QEMU model delivers with, as QEMU does ---- */
	int (*cr4)(void *ctx, uint64_t *cr4);
	/* KVM_SET_MSRS of n MSRs. */
	int (*write_msrs)(void *ctx, const uint32_t *index, const uint64_t *val, unsigned int n);
	/* Queues #MC (vector 18) with KVM_SET_VCPU_EVENTS, as kvm_arch_process_async_events. */
	int (*raise_mc)(void *ctx);
};

/* What forwarding needs of the VM: its guest RAM. */
struct fwd_vm_port {
	/* The guest-physical address of hva, if hva is guest RAM. */
	bool (*gpa_of)(void *ctx, const void *hva, uint64_t *gpa);
	/* The NUMA node of the page at hva, for a diagnostic; -1 unknown. */
	int (*node_of)(void *ctx, const void *hva);
};

struct fwd_vm;

struct fwd_vcpu {
	struct fwd_vm *vm;
	unsigned int id;
	const struct fwd_vcpu_port *port;
	void *ctx;
	bool closed;			/* under vm->lock: nothing more is routed here */
	struct ring_spsc ring;		/* stowed by the SIGBUS handler on this thread */
	struct ring_mpsc inbox;		/* routed here by the main thread and other vCPUs */
	/*
	 * Fan-out from other vCPUs, counted, not queued: every broadcast is
	 * the same bank-1 error and a notice only counts, so a vCPU kept off
	 * a CPU for long owes any number of them and loses none. Added to
	 * (under vm->lock) by the vCPU that took the error; taken by this one.
	 */
	atomic_ulong fanout_bcast, fanout_notice;
	unsigned long bcast_owed;	/* broadcasts taken, not yet delivered */
	struct mce_event queue[FWD_QUEUE];
	unsigned int q_head, q_tail;
	atomic_ulong q_overflows;	/* bumped by this vCPU only, read by anyone */
	bool waiting_mcip;		/* delivered; the next waits for MCIP clear */
	bool release_gate;		/* the guest asked for more: deliver anyway */
	unsigned int nr_log;
	struct fwd_entry log[FWD_LOG];
	uint64_t done, delivered;	/* mirrored into the guest's mailbox */
	uint64_t done_at_halt;		/* done when the guest last halted */
	uint64_t last_gpa, last_rip;	/* the last AR delivered, to spot a livelock */
	unsigned int repeats;
};

/* Guest memory known to be poisoned: what a reset would have to replace. */
struct fwd_lost {
	uint64_t gpa;			/* aligned to size */
	uint64_t size;			/* 4 KiB, or the whole huge page */
};

struct fwd_vm {
	struct fwd_config cfg;
	uint64_t mcg_cap;		/* the guest's, as set with KVM_X86_SETUP_MCE */
	int numa_node;			/* guest RAM bound to it; -1: not bound */
	uint64_t backing_page;		/* host page behind guest RAM: lost whole */
	const struct fwd_vm_port *port;
	void *ctx;
	struct diag *diag;
	/* The guest's CPUID 1 EAX (family and model), for the broadcast rule. */
	uint32_t cpuid_version;
	bool amd;			/* the guest CPU is AuthenticAMD */
	unsigned int nr_vcpus;
	struct fwd_vcpu *vcpus[MCEFWD_MAX_VCPUS];
	struct ring_mpsc process;	/* AO stowed on non-vCPU threads */
	pthread_mutex_t lock;		/* closed, fan-out hand-over, lost, owners */
	unsigned int nr_lost;
	struct fwd_lost lost[FWD_MAX_LOST];
	unsigned long lost_overflow;
	/* Page owners for --ao-target=page-owner. */
	unsigned int nr_owners;
	struct { uint64_t gpa; unsigned int vcpu; } owners[FWD_MAX_OWNERS];
	/* Bumped by any vCPU thread's fan-out and by the main thread. */
	atomic_ulong unroutable;	/* a full inbox: lost */
	/* Never delivered (the vCPU had finished, or a reset came first): reported. */
	atomic_ulong undeliverable;
	/* AO events route_main_drain has handed to a vCPU (or refused): its progress. */
	atomic_ulong main_routed;
};

const char *fwd_emulated_name(enum fwd_emulated e);
int fwd_emulated_parse(const char *s, enum fwd_emulated *out);

/* ---- forward.c: one vCPU's pipeline ---- */

void forward_vm_init(struct fwd_vm *f, const struct fwd_config *cfg, uint64_t mcg_cap,
		     const struct fwd_vm_port *port, void *ctx, struct diag *diag);
void forward_vm_destroy(struct fwd_vm *f);
/* Registers vCPU id (ids from 0, in order) with its port. */
void forward_vcpu_init(struct fwd_vcpu *c, struct fwd_vm *f, unsigned int id,
		       const struct fwd_vcpu_port *port, void *ctx);

/*
 * On the vCPU thread before its first KVM_RUN: the SIGBUS handler stows
 * into this vCPU's ring, sets run->immediate_exit and wake_bit in *wake.
 */
void forward_vcpu_attach(struct fwd_vcpu *c, struct kvm_run *run, atomic_uint *wake,
			 unsigned int wake_bit);
/* After its last: closed to routing; what still waits is reported undeliverable. */
void forward_vcpu_detach(struct fwd_vcpu *c);
/*
 * Empties what waits for c (its inbox and queue; with ring, its SIGBUS
 * ring too), adds what would have reached the guest to undeliverable and
 * says so in one line ending in why. Only while c's thread cannot touch
 * them: it has finished, or it is paused.
 */
void forward_discard_pending(struct fwd_vcpu *c, bool ring, const char *why);

/*
 * On the vCPU thread after KVM_RUN returned and before re-entering: moves
 * stowed and routed events into the queue and delivers the next one if
 * the guest is ready for it. Returns 0, or -errno when the VM must stop
 * (the port's stop was told why) or delivery failed (error_get()).
 */
int forward_vcpu_service(struct fwd_vcpu *c);
/* Events queued and not yet handled: a halted vCPU must not sleep on them. */
bool forward_vcpu_has_work(struct fwd_vcpu *c);
/* Whether events drained from the rings wait for delivery (this vCPU's thread). */
bool forward_vcpu_pending(const struct fwd_vcpu *c);
/*
 * The guest asked for the next error (or halted) while MCIP is still set:
 * deliver the next one anyway; KVM then shuts the guest down.
 */
void forward_vcpu_release(struct fwd_vcpu *c);
/*
 * Pushes an AR for hva into this vCPU's ring as if SIGBUS had stowed it
 * (origin: MCE_ORIGIN_EMULATED when KVM emulated the access). On c's thread.
 */
void forward_raise_ar(struct fwd_vcpu *c, void *hva, enum mce_event_origin origin);

/* The log of what this vCPU did, oldest first (the last slot is reused when full). */
unsigned int forward_log_count(const struct fwd_vcpu *c);
const struct fwd_entry *forward_log_at(const struct fwd_vcpu *c, unsigned int i);
/* Events finished for this vCPU (delivered, ignored, handled elsewhere). */
uint64_t forward_events_done(const struct fwd_vcpu *c);

/* Forgets every lost page, page owner and vCPU queue (a reset replaced them). */
void forward_reset(struct fwd_vm *f);

/* ---- route.c: between threads ---- */

/* On the main thread when the VM's eventfd fired: routes stowed AO events. */
void route_main_drain(struct fwd_vm *f);
/* Hands ev to vCPU i and wakes it; a finished vCPU's event is undeliverable. */
void route_to(struct fwd_vm *f, unsigned int i, const struct mce_event *ev);
/* A vCPU said it uses the page at gpa (MCEFWD_VALUE_TOUCH). */
void route_note_owner(struct fwd_vcpu *c, uint64_t gpa);

/* ---- ledger.c: guest memory lost ---- */

/*
 * How much memory one error at hva takes out of service: 1 << si_addr_lsb,
 * and never less than the host page backing it (a hugetlb page is lost
 * whole: the kernel cannot split it).
 */
uint64_t ledger_loss_unit(unsigned int lsb, size_t backing_page);
/* Bytes of guest RAM accounted as poisoned (each huge page counted whole). */
uint64_t ledger_lost_bytes(struct fwd_vm *f);
/* Copies at most max lost ranges into out; returns how many. */
unsigned int ledger_lost_ranges(struct fwd_vm *f, struct fwd_lost *out, unsigned int max);
/* Counters for the report: events lost to full rings or queues. */
unsigned long ledger_events_lost(const struct fwd_vm *f);

#endif
