// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "mcefwd/util/error.h"
#include "mcefwd/mce/sigbus.h"

/*
 * initial-exec: with the general-dynamic model (were this ever built into a
 * shared object) a thread's first access may allocate its TLS block through
 * __tls_get_addr, which is no place for a signal handler to be.
 */
#define SIGBUS_TLS __thread __attribute__((tls_model("initial-exec")))

/*
 * Written and read on the same thread only; _Atomic plus signal fences keep
 * the compiler from reordering the stores around a handler that may run
 * between them.
 */
static SIGBUS_TLS _Atomic(struct ring_spsc *) sigbus_vcpu_ring;
static SIGBUS_TLS _Atomic(struct kvm_run *) sigbus_vcpu_run;
/* Set with sigbus_vcpu_wake_bit so a vCPU sleeping on it (halted) wakes. */
static SIGBUS_TLS _Atomic(atomic_uint *) sigbus_vcpu_wake;
static SIGBUS_TLS unsigned int sigbus_vcpu_wake_bit;

static _Atomic(struct ring_mpsc *) sigbus_proc_ring;
static atomic_int sigbus_proc_fd = -1;
/* Handlers between loading sigbus_proc_ring and their last use of it. */
static atomic_uint sigbus_proc_users;

/* sigbus_probe(): the load the handler must not return to, and where to go instead. */
static SIGBUS_TLS sigjmp_buf *_Atomic sigbus_probe_jmp;
static SIGBUS_TLS uintptr_t sigbus_probe_addr;

static atomic_ulong sigbus_nr_unrouted;
static atomic_ullong sigbus_seq;

_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2 &&
	       ATOMIC_LLONG_LOCK_FREE == 2, "the handler's atomics must be lock-free");

/* A line for stderr, built without stdio (nothing here may lock or allocate). */
struct sigbus_line {
	size_t len;
	char buf[200];
};

static void sigbus_put_str(struct sigbus_line *l, const char *s)
{
	while (*s && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = *s++;
}

static void sigbus_put_num(struct sigbus_line *l, unsigned long v, unsigned int base)
{
	char digits[sizeof(v) * 8];
	unsigned int n = 0;

	if (base == 16)
		sigbus_put_str(l, "0x");
	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = digits[--n];
}

static void sigbus_say(const struct mce_event *ev, const char *what)
{
	struct sigbus_line l = { .len = 0 };
	ssize_t n;

	sigbus_put_str(&l, "mcefwd: SIGBUS ");
	sigbus_put_str(&l, ev->kind == MCE_EVENT_AR ? "BUS_MCEERR_AR" : "BUS_MCEERR_AO");
	sigbus_put_str(&l, " at ");
	sigbus_put_num(&l, (uintptr_t)ev->addr, 16);
	sigbus_put_str(&l, " (lsb ");
	sigbus_put_num(&l, (uint16_t)ev->lsb, 10);
	sigbus_put_str(&l, ") ");
	sigbus_put_str(&l, what);
	l.buf[l.len++] = '\n';
	/* One write, so lines from several threads do not interleave. */
	n = write(STDERR_FILENO, l.buf, l.len);
	(void)n;
}

/*
 * The default action, from inside the handler: SIGBUS stays blocked until
 * the handler returns, so the raised one is delivered then, with SIG_DFL
 * (terminate and dump core) — and a faulting access that returns to fault
 * again meets SIG_DFL too.
 */
static void sigbus_die(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	raise(SIGBUS);
}

static void sigbus_to_process(const struct mce_event *ev)
{
	static const uint64_t one = 1;
	struct ring_mpsc *ring;
	ssize_t n;
	int fd;

	/* seq_cst pairs with sigbus_set_process(): see there. */
	atomic_fetch_add(&sigbus_proc_users, 1);
	ring = atomic_load(&sigbus_proc_ring);
	if (ring) {
		fd = atomic_load(&sigbus_proc_fd);
		/* Full or not, wake the main loop: it reports the overflow. */
		ring_mpsc_push(ring, ev);
		if (fd >= 0) {
			n = write(fd, &one, sizeof(one));
			(void)n;
		}
	}
	atomic_fetch_sub_explicit(&sigbus_proc_users, 1, memory_order_release);
	if (!ring) {
		atomic_fetch_add_explicit(&sigbus_nr_unrouted, 1, memory_order_relaxed);
		sigbus_say(ev, "with no VM running: not forwarded, ignored");
	}
}

static void sigbus_handler(int sig, siginfo_t *si, void *uc)
{
	int saved_errno = errno;
	struct mce_event ev;
	struct ring_spsc *ring;
	struct kvm_run *run;

	(void)sig;
	(void)uc;
	if (si->si_code != BUS_MCEERR_AR && si->si_code != BUS_MCEERR_AO) {
		sigbus_die();
		goto out;
	}
	ev.kind = si->si_code == BUS_MCEERR_AR ? MCE_EVENT_AR : MCE_EVENT_AO;
	ev.origin = MCE_ORIGIN_VCPU;
	ev.fanout = true;
	ev.lsb = si->si_addr_lsb;
	ev.addr = si->si_addr;
	ev.seq = atomic_fetch_add_explicit(&sigbus_seq, 1, memory_order_relaxed) + 1;

	ring = atomic_load_explicit(&sigbus_vcpu_ring, memory_order_relaxed);
	if (ring) {
		run = atomic_load_explicit(&sigbus_vcpu_run, memory_order_relaxed);
		/* Full or not, leave KVM_RUN: the vCPU reports the overflow. */
		atomic_uint *wake = atomic_load_explicit(&sigbus_vcpu_wake, memory_order_relaxed);

		ring_spsc_push(ring, &ev);
		if (run)
			__atomic_store_n(&run->immediate_exit, 1, __ATOMIC_RELAXED);
		/*
		 * A halted vCPU sleeps in FUTEX_WAIT on this word; SA_RESTART
		 * restarts the wait after us, and the restarted wait sees the
		 * word is no longer 0 and returns.
		 */
		if (wake)
			atomic_fetch_or_explicit(wake, sigbus_vcpu_wake_bit, memory_order_relaxed);
		/*
		 * The one exception to "only record": an AR raised by
		 * sigbus_probe()'s own load must not return to it (it would
		 * fault forever), so it leaves through the probe's jump buffer.
		 */
		sigjmp_buf *jb = atomic_load_explicit(&sigbus_probe_jmp, memory_order_relaxed);
		if (jb && ev.kind == MCE_EVENT_AR &&
		    ((uintptr_t)ev.addr >> 12) == (sigbus_probe_addr >> 12)) {
			errno = saved_errno;
			siglongjmp(*jb, 1);
		}
	} else if (ev.kind == MCE_EVENT_AR) {
		sigbus_say(&ev, "in mcefwd's own memory, not a guest's: cannot recover, dying");
		sigbus_die();
	} else {
		ev.origin = MCE_ORIGIN_MAIN;
		sigbus_to_process(&ev);
	}
out:
	errno = saved_errno;
}

int sigbus_install(void)
{
	struct sigaction sa, old;

	if (sigaction(SIGBUS, NULL, &old))
		return error_set(errno, "sigaction(SIGBUS): %s", strerror(errno));
	if ((old.sa_flags & SA_SIGINFO) && old.sa_sigaction == sigbus_handler)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigbus_handler;
	/*
	 * SA_RESTART: an AO may land on any thread, in the middle of stdio or
	 * a read; those should not fail with EINTR for it. KVM_RUN still
	 * returns -EINTR, and poll/epoll are never restarted.
	 */
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGBUS);
	if (sigaction(SIGBUS, &sa, NULL))
		return error_set(errno, "sigaction(SIGBUS): %s", strerror(errno));
	return 0;
}

void sigbus_set_vcpu_ring(struct ring_spsc *ring, struct kvm_run *run,
			  atomic_uint *wake, unsigned int wake_bit)
{
	/* The handler reads ring first: run is in place whenever ring is. */
	if (ring) {
		sigbus_vcpu_wake_bit = wake_bit;
		atomic_store_explicit(&sigbus_vcpu_wake, wake, memory_order_relaxed);
		atomic_store_explicit(&sigbus_vcpu_run, run, memory_order_relaxed);
		atomic_signal_fence(memory_order_seq_cst);
		atomic_store_explicit(&sigbus_vcpu_ring, ring, memory_order_relaxed);
	} else {
		atomic_store_explicit(&sigbus_vcpu_ring, NULL, memory_order_relaxed);
		atomic_signal_fence(memory_order_seq_cst);
		atomic_store_explicit(&sigbus_vcpu_run, NULL, memory_order_relaxed);
		atomic_store_explicit(&sigbus_vcpu_wake, NULL, memory_order_relaxed);
	}
}

void sigbus_set_process(struct ring_mpsc *ring, int event_fd)
{
	struct ring_mpsc *old;

	if (ring)
		atomic_store(&sigbus_proc_fd, event_fd);
	old = atomic_exchange(&sigbus_proc_ring, ring);
	/*
	 * A handler that loaded the old ring incremented users before (both
	 * seq_cst), so it is seen here until it is done with the ring and
	 * the fd. It only pushes and writes: the wait is short, and cannot
	 * be on ourselves, as a handler on this thread ends before we resume.
	 */
	if (old) {
		while (atomic_load(&sigbus_proc_users))
			sched_yield();
	}
	if (!ring)
		atomic_store(&sigbus_proc_fd, -1);
}

unsigned long sigbus_unrouted(void)
{
	return atomic_load_explicit(&sigbus_nr_unrouted, memory_order_relaxed);
}

int sigbus_probe(const void *addr)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 1)) {
		atomic_store_explicit(&sigbus_probe_jmp, NULL, memory_order_relaxed);
		return -EHWPOISON;
	}
	sigbus_probe_addr = (uintptr_t)addr;
	atomic_signal_fence(memory_order_seq_cst);
	atomic_store_explicit(&sigbus_probe_jmp, &jb, memory_order_relaxed);
	(void)*(const volatile char *)addr;
	atomic_store_explicit(&sigbus_probe_jmp, NULL, memory_order_relaxed);
	return 0;
}
