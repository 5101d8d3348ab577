// SPDX-License-Identifier: GPL-2.0-only
/*
 * kick and pause: getting vCPUs out of KVM_RUN, with mcefwd's own kick()
 * and vm_pause_all() against vCPUs running the spin payload under
 * mcefwd's run loop, for both kick strategies.
 *
 * kick: the time from kick(v) to v's thread back in its run loop (the
 * before_run hook, the first thing mcefwd runs after KVM_RUN returned and
 * the requests were taken), one vCPU at a time, round robin.
 * pause: vm_pause_all() from call to return (every vCPU parked), then
 * vm_resume_all() and a wait until every vCPU is back in KVM_RUN.
 * Both from steady state (every vCPU in KVM_RUN) and back to back (right
 * after the previous resume, as the in-tree stress test does), where the
 * kick strategies part ways: docs/performance.md says why.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mcefwd/bench/bench.h"
#include "mcefwd/vmm/kick.h"
#include "mcefwd/vmm/vcpu.h"

/* Before a kick the target must have been back in KVM_RUN this long. */
#define KICK_SETTLE_NS		200000ULL
/*
 * A kick not answered by then is a failure. Generous: 64 spinning vCPUs
 * on two busy CPUs wait their turn for a long time.
 */
#define KICK_TIMEOUT_NS		30000000000ULL
/*
 * Per configuration: at least this many samples, then more until the
 * budget is spent (unless --rounds asked for an exact count).
 */
#define KICK_MIN_SAMPLES	20
#define KICK_BUDGET_NS		8000000000ULL
#define PAUSE_MIN_SAMPLES	5
#define PAUSE_BUDGET_NS		5000000000ULL

struct bench_kick_vcpu {
	_Atomic uint64_t entered_ns;	/* last before_run: about to enter KVM_RUN */
	_Atomic uint64_t out_ns;	/* when it came out for the armed kick */
	atomic_uint armed;		/* a kick is on its way; the hook answers it */
	atomic_uint entries;		/* before_run calls */
} __attribute__((aligned(64)));

struct bench_kick_state {
	struct bench_kick_vcpu *v;
	atomic_uint answered;		/* futex word: armed kicks answered */
};

static long bench_kick_futex(atomic_uint *word, int op, unsigned int val, const struct timespec *ts)
{
	return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

static int bench_kick_before_run(struct vcpu *v)
{
	struct bench_kick_state *k = v->vm->ops->priv;
	struct bench_kick_vcpu *kv = &k->v[v->id];
	uint64_t now = bench_now_ns();

	if (atomic_load_explicit(&kv->armed, memory_order_acquire)) {
		atomic_store_explicit(&kv->out_ns, now, memory_order_relaxed);
		atomic_store_explicit(&kv->armed, 0, memory_order_relaxed);
		atomic_fetch_add(&k->answered, 1);
		bench_kick_futex(&k->answered, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
	}
	atomic_store_explicit(&kv->entered_ns, now, memory_order_relaxed);
	atomic_fetch_add_explicit(&kv->entries, 1, memory_order_release);
	return 0;
}

static void bench_kick_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	nanosleep(&ts, NULL);
}

/* Waits until answered moves past seen; false on timeout. */
static bool bench_kick_wait_answer(struct bench_kick_state *k, unsigned int seen,
				   uint64_t deadline)
{
	struct timespec ts = { 0, 50000000 };

	while (atomic_load(&k->answered) == seen) {
		if (bench_now_ns() > deadline)
			return false;
		bench_kick_futex(&k->answered, FUTEX_WAIT_PRIVATE, seen, &ts);
	}
	return true;
}

/* Waits until vCPU i is in KVM_RUN (or about to be) and has been for the settle time. */
static bool bench_kick_wait_settled(struct bench_kick_state *k, unsigned int i, uint64_t deadline)
{
	for (;;) {
		uint64_t e = atomic_load(&k->v[i].entered_ns), now = bench_now_ns();

		if (e && now >= e + KICK_SETTLE_NS)
			return true;
		if (now > deadline)
			return false;
		bench_kick_sleep_ns(e ? e + KICK_SETTLE_NS - now : KICK_SETTLE_NS);
	}
}

static struct bench_kick_state *bench_kick_state_alloc(unsigned int nr)
{
	struct bench_kick_state *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->v = aligned_alloc(64, nr * sizeof(*k->v));
	if (!k->v) {
		free(k);
		return NULL;
	}
	memset(k->v, 0, nr * sizeof(*k->v));
	return k;
}

static void bench_kick_state_free(struct bench_kick_state *k)
{
	free(k->v);
	free(k);
}

/* One kick to vCPU i, timed: its latency and the kick() call's own time in ns, or -errno. */
static int bench_kick_one(struct vm *vm, struct bench_kick_state *k, unsigned int i, double *ns,
			  double *call_ns)
{
	struct bench_kick_vcpu *kv = &k->v[i];
	uint64_t t0, deadline = bench_now_ns() + KICK_TIMEOUT_NS;
	unsigned int seen;

	if (!bench_kick_wait_settled(k, i, deadline))
		return error_set(ETIMEDOUT, "vcpu-%u never entered KVM_RUN", i);
	seen = atomic_load(&k->answered);
	atomic_store_explicit(&kv->armed, 1, memory_order_release);
	t0 = bench_now_ns();
	kick(vm->vcpus[i], VCPU_REQ_WORK);
	*call_ns = (double)(bench_now_ns() - t0);
	if (!bench_kick_wait_answer(k, seen, deadline))
		return error_set(ETIMEDOUT, "vcpu-%u did not leave KVM_RUN within 5 s of a kick", i);
	*ns = (double)(atomic_load(&kv->out_ns) - t0);
	return 0;
}

/* Waits until every vCPU has entered KVM_RUN at least once more than entries[]. */
static int bench_kick_wait_all_back(struct vm *vm, struct bench_kick_state *k,
				    const unsigned int *entries)
{
	uint64_t deadline = bench_now_ns() + KICK_TIMEOUT_NS;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		while (atomic_load(&k->v[i].entries) == (entries ? entries[i] : 0)) {
			if (bench_now_ns() > deadline)
				return error_set(ETIMEDOUT, "vcpu-%u did not get back into KVM_RUN", i);
			bench_kick_sleep_ns(50000);
		}
	}
	return 0;
}

/*
 * Allocates the state for nr vCPUs and starts a "spin" VM on it, all
 * vCPUs back in KVM_RUN; on failure nothing is left allocated or running.
 */
static int bench_kick_vm_start(struct bench_ctx *c, struct vm *vm, struct vm_ops *ops,
			       struct bench_kick_state **kp, unsigned int nr,
			       enum kick_mode mode)
{
	struct bench_kick_state *k = bench_kick_state_alloc(nr);
	int r;

	*kp = NULL;
	if (!k)
		return error_set(ENOMEM, "out of memory");
	ops->before_run = bench_kick_before_run;
	ops->priv = k;
	r = bench_vm_create(c, vm, "spin", nr, mode, ops);
	if (r < 0)
		goto fail;
	if (vm->cfg.kick != mode) {
		vm_destroy(vm);
		r = error_set(ENOTSUP, "KVM_CAP_IMMEDIATE_EXIT is missing");
		goto fail;
	}
	r = vm_start(vm);
	if (r == 0)
		r = bench_kick_wait_all_back(vm, k, NULL);
	if (r < 0) {
		vm_stop_and_join(vm);
		vm_destroy(vm);
		goto fail;
	}
	*kp = k;
	return 0;
fail:
	bench_kick_state_free(k);
	return r;
}

static const unsigned int bench_kick_sizes[] = { 1, 2, 16, 64 };
static const unsigned int bench_pause_sizes[] = { 1, 2, 4, 16, 64 };
/* --quick stops below this many vCPUs: 64 spinning vCPUs take seconds to kick here. */
#define BENCH_QUICK_MAX_VCPUS	16
static const enum kick_mode bench_kick_modes[] = { KICK_IMMEDIATE, KICK_SIGMASK };

#define NR(a) (sizeof(a) / sizeof((a)[0]))

/* ns samples as a metric in ns and in guest TSC cycles. */
static void bench_kick_add(struct bench_ctx *c, struct bench_result *res, const char *name,
			   double *ns, unsigned int n)
{
	double *cy = malloc(n * sizeof(*cy));

	if (!cy)
		return;
	for (unsigned int i = 0; i < n; i++)
		cy[i] = bench_ns_to_cycles(c, ns[i]);
	bench_add_metric(res, name, "ns", ns, n);
	bench_add_metric(res, name, "cycles", cy, n);
	free(cy);
}

int bench_kick_run(struct bench_ctx *c, struct bench_result *res)
{
	unsigned int rounds = bench_rounds(c, 300, 4), n;
	double *ns = calloc(2 * (size_t)rounds, sizeof(*ns)), *call = ns + rounds;
	char name[48], basis[96];
	int r = 0;

	if (!ns)
		return error_set(ENOMEM, "out of memory");
	r = bench_exit_reference(c);
	if (r < 0)
		goto out;
	for (size_t m = 0; m < NR(bench_kick_modes) && r == 0; m++) {
		for (size_t s = 0; s < NR(bench_kick_sizes) && r == 0; s++) {
			unsigned int nr = bench_kick_sizes[s];
			struct bench_kick_state *k;
			struct vm_ops ops = { 0 };
			const struct bench_metric *met;
			uint64_t deadline;
			struct vm vm;

			if (c->quick && nr > BENCH_QUICK_MAX_VCPUS)
				continue;
			r = bench_kick_vm_start(c, &vm, &ops, &k, nr, bench_kick_modes[m]);
			if (r < 0)
				break;
			/* Many vCPUs on few CPUs take scheduler ticks a kick: a time box, not a hang. */
			deadline = bench_now_ns() + (c->rounds ? UINT64_MAX / 2 : KICK_BUDGET_NS);
			for (n = 0; n < rounds && r == 0 &&
			     (n < KICK_MIN_SAMPLES || bench_now_ns() < deadline); n++)
				r = bench_kick_one(&vm, k, n % nr, &ns[n], &call[n]);
			vm_stop_and_join(&vm);
			vm_destroy(&vm);
			bench_kick_state_free(k);
			if (r < 0)
				break;
			snprintf(name, sizeof(name), "%s.%u", kick_mode_name(bench_kick_modes[m]), nr);
			bench_kick_add(c, res, name, ns, n);
			snprintf(basis, sizeof(basis), "%s.%u kick() call", kick_mode_name(bench_kick_modes[m]), nr);
			bench_add_metric(res, basis, "ns", call, n);
			met = bench_find_metric(res, name, "ns");
			if (!met)
				continue;
			snprintf(basis, sizeof(basis), "%s kick p50 / exit round trip (%.0f ns)",
				 name, c->exit_ns);
			snprintf(name, sizeof(name), "%s.%u p50/exit", kick_mode_name(bench_kick_modes[m]), nr);
			bench_add_ratio(res, name, met->st.median / c->exit_ns, BENCH_AT_MOST, 1, basis);
			snprintf(basis, sizeof(basis), "%s.%u kick p99 / exit round trip",
				 kick_mode_name(bench_kick_modes[m]), nr);
			snprintf(name, sizeof(name), "%s.%u p99/exit", kick_mode_name(bench_kick_modes[m]), nr);
			bench_add_ratio(res, name, met->st.p99 / c->exit_ns, BENCH_AT_MOST, 3, basis);
		}
	}
	if (r == 0 && c->quick)
		bench_note(res, "--quick: up to %u vCPUs", BENCH_QUICK_MAX_VCPUS);
	if (r == 0)
		bench_note(res, "up to %u kicks per configuration (at least %u, then up to %llu s), round robin over the vCPUs, each %llu us after its target re-entered KVM_RUN; spin payload, %ld host CPUs; cycles: ns at the guest TSC rate",
			   rounds, rounds < KICK_MIN_SAMPLES ? rounds : KICK_MIN_SAMPLES,
			   KICK_BUDGET_NS / 1000000000ULL,
			   KICK_SETTLE_NS / 1000, sysconf(_SC_NPROCESSORS_ONLN));
out:
	free(ns);
	return r;
}

/* One vm_pause_all, timed, from steady state; then resume and wait for every vCPU to run again. */
static int bench_pause_steady(struct vm *vm, struct bench_kick_state *k, unsigned int *entries,
			      double *ns)
{
	uint64_t t0, deadline = bench_now_ns() + KICK_TIMEOUT_NS;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		if (!bench_kick_wait_settled(k, i, deadline))
			return error_set(ETIMEDOUT, "vcpu-%u never entered KVM_RUN", i);
		entries[i] = atomic_load(&k->v[i].entries);
	}
	t0 = bench_now_ns();
	vm_pause_all(vm);
	*ns = (double)(bench_now_ns() - t0);
	vm_resume_all(vm);
	return bench_kick_wait_all_back(vm, k, entries);
}

/*
 * vm_pause_all() step by step (vm.c: request, kick every vCPU, wait until
 * each is parked for this pause), with the kick loop timed: where a pause
 * right after a resume spends its time. Keep it in step with vm.c.
 */
static void bench_pause_traced(struct vm *vm, double *kick_ns)
{
	uint64_t t0;

	pthread_mutex_lock(&vm->lock);
	vm->pause_requested = true;
	vm->pause_seq++;
	pthread_mutex_unlock(&vm->lock);
	t0 = bench_now_ns();
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		kick(vm->vcpus[i], VCPU_REQ_PAUSE);
	*kick_ns = (double)(bench_now_ns() - t0);
	pthread_mutex_lock(&vm->lock);
	for (;;) {
		unsigned int waiting = 0;

		for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
			const struct vcpu *v = vm->vcpus[i];

			waiting += v->started && !v->done &&
				   !(v->paused && v->parked_seq == vm->pause_seq);
		}
		if (!waiting)
			break;
		pthread_cond_wait(&vm->parked, &vm->lock);
	}
	pthread_mutex_unlock(&vm->lock);
}

/*
 * Back to back, as tests/integration/test_vm.c's stress loop does: each
 * vm_pause_all right after the last vm_resume_all, while the vCPUs are
 * still waking up, *rounds times in a row (fewer once past deadline),
 * never sleeping in between: the kicking thread's standing with the
 * scheduler is part of it. Every other pause is the traced copy, for its
 * kick loop.
 */
static int bench_pause_b2b(struct vm *vm, struct bench_kick_state *k, unsigned int *rounds,
			   uint64_t deadline, unsigned int *entries, double *ns, double *kicks)
{
	unsigned int i;
	uint64_t t0;

	for (i = 0; i < *rounds && (i < PAUSE_MIN_SAMPLES || bench_now_ns() < deadline); i++) {
		t0 = bench_now_ns();
		vm_pause_all(vm);
		ns[i] = (double)(bench_now_ns() - t0);
		vm_resume_all(vm);
		bench_pause_traced(vm, &kicks[i]);
		vm_resume_all(vm);
	}
	*rounds = i;
	for (i = 0; i < vm->nr_vcpus; i++)
		entries[i] = atomic_load(&k->v[i].entries);
	vm_pause_all(vm);
	vm_resume_all(vm);
	return bench_kick_wait_all_back(vm, k, entries);
}

int bench_pause_run(struct bench_ctx *c, struct bench_result *res)
{
	unsigned int rounds = bench_rounds(c, 40, 2);
	double *ns = calloc(3 * (size_t)rounds, sizeof(*ns)), *b2b = ns + rounds;
	double *kl = b2b + rounds;
	unsigned int entries[64];
	double med[2][NR(bench_kick_modes)][NR(bench_pause_sizes)];
	char name[48], basis[96];
	int r = 0;

	if (!ns)
		return error_set(ENOMEM, "out of memory");
	for (size_t m = 0; m < NR(bench_kick_modes) && r == 0; m++) {
		for (size_t s = 0; s < NR(bench_pause_sizes) && r == 0; s++) {
			unsigned int nr = bench_pause_sizes[s];
			struct bench_kick_state *k;
			struct vm_ops ops = { 0 };
			const struct bench_metric *met;
			const char *mode = kick_mode_name(bench_kick_modes[m]);
			uint64_t budget, deadline;
			unsigned int n, nb;
			struct vm vm;

			med[0][m][s] = med[1][m][s] = NAN;
			if (c->quick && nr > BENCH_QUICK_MAX_VCPUS)
				continue;
			r = bench_kick_vm_start(c, &vm, &ops, &k, nr, bench_kick_modes[m]);
			if (r < 0)
				break;
			/* A time box per part, unless --rounds asked for an exact count. */
			budget = c->rounds ? UINT64_MAX / 2 : PAUSE_BUDGET_NS;
			deadline = bench_now_ns() + budget;
			for (n = 0; n < rounds && r == 0 &&
			     (n < PAUSE_MIN_SAMPLES || bench_now_ns() < deadline); n++)
				r = bench_pause_steady(&vm, k, entries, &ns[n]);
			nb = rounds;
			if (r == 0)
				r = bench_pause_b2b(&vm, k, &nb, bench_now_ns() + budget, entries,
						    b2b, kl);
			vm_stop_and_join(&vm);
			vm_destroy(&vm);
			bench_kick_state_free(k);
			if (r < 0)
				break;
			snprintf(name, sizeof(name), "%s.%u", mode, nr);
			bench_kick_add(c, res, name, ns, n);
			met = bench_find_metric(res, name, "ns");
			med[0][m][s] = met ? met->st.median : NAN;
			snprintf(name, sizeof(name), "b2b %s.%u", mode, nr);
			bench_kick_add(c, res, name, b2b, nb);
			met = bench_find_metric(res, name, "ns");
			med[1][m][s] = met ? met->st.median : NAN;
			snprintf(name, sizeof(name), "b2b kick loop %s.%u", mode, nr);
			bench_add_metric(res, name, "ns", kl, nb);
		}
	}
	for (size_t s = 0; s < NR(bench_pause_sizes) && r == 0; s++) {
		if (isnan(med[0][0][s]))
			continue;	/* not run (--quick) */
		snprintf(name, sizeof(name), "immediate/sigmask.%u", bench_pause_sizes[s]);
		snprintf(basis, sizeof(basis), "median vm_pause_all, %u spinning vCPUs",
			 bench_pause_sizes[s]);
		bench_add_ratio(res, name, med[0][0][s] / med[0][1][s], BENCH_INFO, 0, basis);
		snprintf(name, sizeof(name), "b2b immediate/sigmask.%u", bench_pause_sizes[s]);
		snprintf(basis, sizeof(basis), "median vm_pause_all right after a resume, %u vCPUs",
			 bench_pause_sizes[s]);
		bench_add_ratio(res, name, med[1][0][s] / med[1][1][s], BENCH_INFO, 0, basis);
	}
	if (r == 0 && c->quick)
		bench_note(res, "--quick: up to %u vCPUs", BENCH_QUICK_MAX_VCPUS);
	if (r == 0)
		bench_note(res, "up to %u pauses per configuration and kind (at least %u, then up to %llu s), spin payload: MODE.N from steady state (every vCPU in KVM_RUN), b2b MODE.N right after the previous resume (test_vm's stress loop), b2b kick loop: the time vm_pause_all spends kicking in such a pause (a traced copy of its steps)",
			   rounds, rounds < PAUSE_MIN_SAMPLES ? rounds : PAUSE_MIN_SAMPLES,
			   PAUSE_BUDGET_NS / 1000000000ULL);
	free(ns);
	return r;
}
