// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mcefwd/util/error.h"
#include "mcefwd/vmm/kick.h"
#include "mcefwd/vmm/kvm.h"
#include "mcefwd/vmm/vcpu.h"

static const char *const mode_names[] = {
	[KICK_IMMEDIATE] = "immediate", [KICK_SIGMASK] = "sigmask",
};

const char *kick_mode_name(enum kick_mode mode)
{
	return mode <= KICK_SIGMASK ? mode_names[mode] : "?";
}

int kick_mode_parse(const char *s, enum kick_mode *out)
{
	for (int m = KICK_IMMEDIATE; m <= KICK_SIGMASK; m++) {
		if (!strcmp(s, mode_names[m])) {
			*out = (enum kick_mode)m;
			return 0;
		}
	}
	return -EINVAL;
}

static void kick_handler(int sig)
{
	struct vcpu *v = vcpu_self;

	(void)sig;
	/* Only ever an immediate-mode vCPU thread gets here with v set. */
	if (v && v->run)
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELAXED);
}

int kick_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a halted vCPU's futex wait must see the kick. */
	if (sigaction(SIG_IPI, &sa, NULL))
		return error_set(errno, "sigaction(SIG_IPI): %s", strerror(errno));
	return 0;
}

int kick_vcpu_setup(struct vcpu *v)
{
	struct {
		struct kvm_signal_mask hdr;
		/* The kernel's sigset is 8 bytes on x86-64, not glibc's 128. */
		uint64_t set;
	} kmask;
	sigset_t block, cur;
	int r;

	sigemptyset(&block);
	sigaddset(&block, SIG_IPI);
	if (v->vm->cfg.kick == KICK_IMMEDIATE)
		return -pthread_sigmask(SIG_UNBLOCK, &block, NULL);

	r = pthread_sigmask(SIG_BLOCK, &block, &cur);
	if (r)
		return error_set(r, "pthread_sigmask: %s", strerror(r));
	/* Inside KVM_RUN: the thread's mask, minus SIG_IPI. */
	sigdelset(&cur, SIG_IPI);
	memset(&kmask, 0, sizeof(kmask));
	kmask.hdr.len = 8;
	memcpy(&kmask.set, &cur, sizeof(kmask.set));
	r = kvm_ioctl(v->fd, KVM_SET_SIGNAL_MASK, &kmask);
	return r < 0 ? r : 0;
}

static long futex(atomic_uint *uaddr, int op, unsigned int val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

void kick(struct vcpu *v, unsigned int req)
{
	if (v == vcpu_self) {
		kick_self(req);
		return;
	}
	atomic_fetch_or(&v->requests, req);
	futex(&v->requests, FUTEX_WAKE_PRIVATE, INT_MAX);
	/*
	 * Only a vCPU in (or about to enter) KVM_RUN needs the signal: any
	 * other sees the request before its next entry (vcpu_loop). A signal
	 * to a thread that is parked or waking would wake it for nothing and,
	 * with SIG_IPI unblocked, preempt the kicker. The thread may also
	 * have finished; then there is nothing to interrupt.
	 */
	if (v->started && atomic_load(&v->in_run))
		pthread_kill(v->thread, SIG_IPI);
}

void kick_self(unsigned int req)
{
	struct vcpu *v = vcpu_self;

	v->self_requests |= req;
	/* Only this thread reads it before KVM_RUN; a plain store suffices. */
	v->run->immediate_exit = 1;
}

void kick_after_run(struct vcpu *v)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;

	if (v->vm->cfg.kick == KICK_IMMEDIATE) {
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_RELAXED);
		/*
		 * Order the clear before the read of requests in kick_take():
		 * a kick that lands after this fence either is seen there or
		 * sets immediate_exit again.
		 */
		atomic_thread_fence(memory_order_seq_cst);
		return;
	}
	v->run->immediate_exit = 0;
	sigemptyset(&set);
	sigaddset(&set, SIG_IPI);
	/* SIG_IPI is blocked here: consume any that KVM_RUN left pending. */
	while (sigtimedwait(&set, NULL, &zero) == SIG_IPI)
		;
}

unsigned int kick_take(struct vcpu *v)
{
	unsigned int req = v->self_requests;

	v->self_requests = 0;
	if (atomic_load_explicit(&v->requests, memory_order_relaxed))
		req |= atomic_exchange(&v->requests, 0);
	return req;
}

void kick_wait(struct vcpu *v)
{
	if (v->self_requests)
		return;
	/* FUTEX_WAIT returns at once if requests is no longer 0. */
	while (!atomic_load(&v->requests))
		futex(&v->requests, FUTEX_WAIT_PRIVATE, 0);
}
