/* SPDX-License-Identifier: GPL-2.0-only */
/* A VM: its fd, guest RAM, vCPUs, and the state they share. */
#ifndef MCEFWD_VM_H
#define MCEFWD_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mcefwd/mce/forward.h"
#include "mcefwd/util/diag.h"
#include "mcefwd/vmm/kvm.h"
#include "mcefwd/vmm/mem.h"

struct vm;
struct vcpu;
struct mcefwd_ucall;
struct mcefwd_mailbox;

enum kick_mode { KICK_IMMEDIATE, KICK_SIGMASK };

struct vm_config {
	uint64_t ram_size;
	enum mem_kind mem_kind;
	unsigned int nr_vcpus;
	uint64_t mcg_cap;
	enum kick_mode kick;
	bool verbose;		/* print passing reports too */
	int numa_node;		/* bind guest RAM and vCPU threads; -1: no binding */
	struct fwd_config fwd;
};

/*
 * Hooks a scenario may set; NULL means the default behaviour. Called on the
 * vCPU's own thread. Return 0 to go on, -errno to fail the vCPU (with the
 * message in error_get()).
 */
struct vm_ops {
	int (*before_run)(struct vcpu *v);
	int (*on_ucall)(struct vcpu *v, const struct mcefwd_ucall *u);
	/* An exit the core does not handle; return 1 if handled. */
	int (*on_exit)(struct vcpu *v);
	/* On the main thread, each time the VM's eventfd fires. */
	void (*on_main)(struct vm *vm);
	void *priv;
};

struct vm {
	struct kvm *kvm;
	int fd;
	struct guest_mem mem;
	struct vm_config cfg;
	const struct vm_ops *ops;
	struct vcpu **vcpus;
	unsigned int nr_vcpus;
	struct fwd_vm fwd;

	/* Written (eventfd) when a vCPU finishes; also for stowed AO events. */
	int event_fd;
	atomic_uint nr_running;

	/* Kick-all-and-wait state, under lock. */
	pthread_mutex_t lock;
	/* vCPUs wait on go (start, resume); the pauser waits on parked. */
	pthread_cond_t go, parked;
	bool started;		/* every vCPU thread exists: they may run */
	bool pause_requested;
	unsigned int pause_seq;		/* one per vm_pause_all */
	unsigned int resume_seq;	/* one per vm_resume_all that ended a pause */

	/* The payload, kept for a reset to reload it. */
	const void *image;
	size_t image_len;
	unsigned int boots;
	atomic_bool resetting;	/* a vCPU is resetting the VM */

	/* Diagnostics ("# ..." lines) go to diag.out, one line at a time. */
	struct diag diag;
};

int vm_create(struct vm *vm, struct kvm *kvm, const struct vm_config *cfg);
void vm_destroy(struct vm *vm);

/* Loads an ELF payload and sets every vCPU's boot registers. */
int vm_load(struct vm *vm, const void *img, size_t len);

/* Starts one thread per vCPU. */
int vm_start(struct vm *vm);
/* Asks every running vCPU to stop and joins the threads. */
void vm_stop_and_join(struct vm *vm);
enum vm_wait_result { VM_WAIT_DONE, VM_WAIT_ENDED, VM_WAIT_TIMEOUT, VM_WAIT_INTERRUPTED };
/*
 * Waits until every vCPU has finished (DONE), one vCPU ended other than by
 * exit code 0 (ENDED: a guest failure ends the whole VM, as a triple fault
 * would), or timeout_ms passed (TIMEOUT).
 */
enum vm_wait_result vm_wait(struct vm *vm, long timeout_ms);

/*
 * Kick-all-and-wait: every vCPU other than the caller leaves KVM_RUN and
 * parks; returns once each is parked or finished. vm_resume_all undoes it.
 */
void vm_pause_all(struct vm *vm);
void vm_resume_all(struct vm *vm);

/*
 * Reset, from a vCPU thread: pause every other vCPU, replace each page the
 * registry holds as poisoned with fresh zeroed memory (a huge page whole)
 * while KVM cannot use the slot, forget them, rebuild the boot structures,
 * reload the payload, restart every unfinished vCPU at its entry and count
 * the boot in every mailbox. 0 or -errno.
 */
int vm_reset(struct vm *vm);

/* vCPU i's mailbox in guest RAM (guest-payloads/abi.h), or NULL if RAM lacks it. */
struct mcefwd_mailbox *vm_mailbox(struct vm *vm, unsigned int i);

void vm_diag(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
