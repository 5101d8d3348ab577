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
 * kick-all (a pause's first half, alone): every vCPU kicked at once, the
 * time until the last is out; it tells the kick from the parking.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mcefwd/bench.h"
#include "mcefwd/kick.h"
#include "mcefwd/vcpu.h"

/* Before a kick the target must have been back in KVM_RUN this long. */
#define KICK_SETTLE_NS		200000ULL
/* A kick not answered by then is a failure. */
#define KICK_TIMEOUT_NS		5000000000ULL

struct kick_vcpu {
	_Atomic uint64_t entered_ns;	/* last before_run: about to enter KVM_RUN */
	_Atomic uint64_t out_ns;	/* when it came out for the armed kick */
	atomic_uint armed;		/* a kick is on its way; the hook answers it */
	atomic_uint entries;		/* before_run calls */
} __attribute__((aligned(64)));

struct kick_run {
	struct kick_vcpu *v;
	atomic_uint answered;		/* futex word: armed kicks answered */
};

static long kick_futex(atomic_uint *word, int op, unsigned int val, const struct timespec *ts)
{
	return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

static int kick_before_run(struct vcpu *v)
{
	struct kick_run *k = v->vm->ops->priv;
	struct kick_vcpu *kv = &k->v[v->id];
	uint64_t now = bench_now_ns();

	if (atomic_load_explicit(&kv->armed, memory_order_acquire)) {
		atomic_store_explicit(&kv->out_ns, now, memory_order_relaxed);
		atomic_store_explicit(&kv->armed, 0, memory_order_relaxed);
		atomic_fetch_add(&k->answered, 1);
		kick_futex(&k->answered, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
	}
	atomic_store_explicit(&kv->entered_ns, now, memory_order_relaxed);
	atomic_fetch_add_explicit(&kv->entries, 1, memory_order_release);
	return 0;
}

static void kick_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	nanosleep(&ts, NULL);
}

/* Waits until answered moves past seen; false on timeout. */
static bool kick_wait_answer(struct kick_run *k, unsigned int seen, uint64_t deadline)
{
	struct timespec ts = { 0, 50000000 };

	while (atomic_load(&k->answered) == seen) {
		if (bench_now_ns() > deadline)
			return false;
		kick_futex(&k->answered, FUTEX_WAIT_PRIVATE, seen, &ts);
	}
	return true;
}

/* Waits until vCPU i is in KVM_RUN (or about to be) and has been for the settle time. */
static bool kick_wait_settled(struct kick_run *k, unsigned int i, uint64_t deadline)
{
	for (;;) {
		uint64_t e = atomic_load(&k->v[i].entered_ns), now = bench_now_ns();

		if (e && now >= e + KICK_SETTLE_NS)
			return true;
		if (now > deadline)
			return false;
		kick_sleep_ns(e ? e + KICK_SETTLE_NS - now : KICK_SETTLE_NS);
	}
}

static struct kick_run *kick_run_alloc(unsigned int nr)
{
	struct kick_run *k = calloc(1, sizeof(*k));

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

static void kick_run_free(struct kick_run *k)
{
	free(k->v);
	free(k);
}

/* One kick to vCPU i, timed; its latency in ns, or -errno. */
static int kick_one(struct vm *vm, struct kick_run *k, unsigned int i, double *ns)
{
	struct kick_vcpu *kv = &k->v[i];
	uint64_t t0, deadline = bench_now_ns() + KICK_TIMEOUT_NS;
	unsigned int seen;

	if (!kick_wait_settled(k, i, deadline))
		return error_set(ETIMEDOUT, "vcpu-%u never entered KVM_RUN", i);
	seen = atomic_load(&k->answered);
	atomic_store_explicit(&kv->armed, 1, memory_order_release);
	t0 = bench_now_ns();
	kick(vm->vcpus[i], VCPU_REQ_WORK);
	if (!kick_wait_answer(k, seen, deadline))
		return error_set(ETIMEDOUT, "vcpu-%u did not leave KVM_RUN within 5 s of a kick", i);
	*ns = (double)(atomic_load(&kv->out_ns) - t0);
	return 0;
}

/* Waits until every vCPU has entered KVM_RUN at least once more than entries[]. */
static int kick_wait_all_back(struct vm *vm, struct kick_run *k, const unsigned int *entries)
{
	uint64_t deadline = bench_now_ns() + KICK_TIMEOUT_NS;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		while (atomic_load(&k->v[i].entries) == (entries ? entries[i] : 0)) {
			if (bench_now_ns() > deadline)
				return error_set(ETIMEDOUT, "vcpu-%u did not get back into KVM_RUN", i);
			kick_sleep_ns(50000);
		}
	}
	return 0;
}

static int kick_vm_start(struct bench_ctx *c, struct vm *vm, struct vm_ops *ops,
			 struct kick_run *k, unsigned int nr, enum kick_mode mode)
{
	int r;

	ops->before_run = kick_before_run;
	ops->priv = k;
	r = bench_vm_create(c, vm, "spin", nr, mode, ops);
	if (r < 0)
		return r;
	if (vm->cfg.kick != mode) {
		vm_destroy(vm);
		return error_set(ENOTSUP, "KVM_CAP_IMMEDIATE_EXIT is missing");
	}
	r = vm_start(vm);
	if (r == 0)
		r = kick_wait_all_back(vm, k, NULL);
	if (r < 0) {
		vm_stop_and_join(vm);
		vm_destroy(vm);
	}
	return r;
}

static const unsigned int kick_sizes[] = { 1, 2, 16, 64 };
static const unsigned int pause_sizes[] = { 1, 2, 4, 16, 64 };
static const enum kick_mode kick_modes[] = { KICK_IMMEDIATE, KICK_SIGMASK };

#define NR(a) (sizeof(a) / sizeof((a)[0]))

/* ns samples as a metric in ns and in guest TSC cycles. */
static void kick_add(struct bench_ctx *c, struct bench_result *res, const char *name,
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
	unsigned int rounds = bench_rounds(c, 300, 8);
	double *ns = calloc(rounds, sizeof(*ns));
	char name[48], basis[96];
	int r = 0;

	if (!ns)
		return error_set(ENOMEM, "out of memory");
	r = bench_exit_reference(c);
	if (r < 0)
		goto out;
	for (size_t m = 0; m < NR(kick_modes) && r == 0; m++) {
		for (size_t s = 0; s < NR(kick_sizes) && r == 0; s++) {
			unsigned int nr = kick_sizes[s];
			struct kick_run *k = kick_run_alloc(nr);
			struct vm_ops ops = { 0 };
			const struct bench_metric *met;
			struct vm vm;

			if (!k) {
				r = error_set(ENOMEM, "out of memory");
				break;
			}
			r = kick_vm_start(c, &vm, &ops, k, nr, kick_modes[m]);
			if (r < 0) {
				kick_run_free(k);
				break;
			}
			for (unsigned int i = 0; i < rounds && r == 0; i++)
				r = kick_one(&vm, k, i % nr, &ns[i]);
			vm_stop_and_join(&vm);
			vm_destroy(&vm);
			kick_run_free(k);
			if (r < 0)
				break;
			snprintf(name, sizeof(name), "%s.%u", kick_mode_name(kick_modes[m]), nr);
			kick_add(c, res, name, ns, rounds);
			met = bench_find_metric(res, name, "ns");
			if (!met)
				continue;
			snprintf(basis, sizeof(basis), "%s kick p50 / exit round trip (%.0f ns)",
				 name, c->exit_ns);
			snprintf(name, sizeof(name), "%s.%u p50/exit", kick_mode_name(kick_modes[m]), nr);
			bench_add_ratio(res, name, met->st.median / c->exit_ns, BENCH_AT_MOST, 1, basis);
			snprintf(basis, sizeof(basis), "%s.%u kick p99 / exit round trip",
				 kick_mode_name(kick_modes[m]), nr);
			snprintf(name, sizeof(name), "%s.%u p99/exit", kick_mode_name(kick_modes[m]), nr);
			bench_add_ratio(res, name, met->st.p99 / c->exit_ns, BENCH_AT_MOST, 3, basis);
		}
	}
	if (r == 0)
		bench_note(res, "%u kicks per configuration, round robin over the vCPUs, each %llu us after its target re-entered KVM_RUN; spin payload, %ld host CPUs",
			   rounds, KICK_SETTLE_NS / 1000, sysconf(_SC_NPROCESSORS_ONLN));
out:
	free(ns);
	return r;
}

/* Every vCPU kicked at once; ns until the last is back in its run loop. */
static int kick_all(struct vm *vm, struct kick_run *k, double *ns)
{
	uint64_t t0, last = 0, deadline = bench_now_ns() + KICK_TIMEOUT_NS;
	unsigned int seen, nr = vm->nr_vcpus;

	for (unsigned int i = 0; i < nr; i++)
		if (!kick_wait_settled(k, i, deadline))
			return error_set(ETIMEDOUT, "vcpu-%u never entered KVM_RUN", i);
	seen = atomic_load(&k->answered);
	for (unsigned int i = 0; i < nr; i++)
		atomic_store_explicit(&k->v[i].armed, 1, memory_order_release);
	t0 = bench_now_ns();
	for (unsigned int i = 0; i < nr; i++)
		kick(vm->vcpus[i], VCPU_REQ_WORK);
	while (atomic_load(&k->answered) - seen < nr)
		if (!kick_wait_answer(k, atomic_load(&k->answered), deadline))
			return error_set(ETIMEDOUT, "not every vCPU left KVM_RUN within 5 s");
	for (unsigned int i = 0; i < nr; i++) {
		uint64_t o = atomic_load(&k->v[i].out_ns);

		last = o > last ? o : last;
	}
	*ns = (double)(last - t0);
	return 0;
}

/* One vm_pause_all, timed; then resume and wait for every vCPU to run again. */
static int pause_one(struct vm *vm, struct kick_run *k, unsigned int *entries, double *ns)
{
	uint64_t t0;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		entries[i] = atomic_load(&k->v[i].entries);
	t0 = bench_now_ns();
	vm_pause_all(vm);
	*ns = (double)(bench_now_ns() - t0);
	vm_resume_all(vm);
	return kick_wait_all_back(vm, k, entries);
}

int bench_pause_run(struct bench_ctx *c, struct bench_result *res)
{
	unsigned int rounds = bench_rounds(c, 60, 4);
	double *ns = calloc(2 * (size_t)rounds, sizeof(*ns)), *all = ns + rounds;
	unsigned int entries[64];
	double med[NR(kick_modes)][NR(pause_sizes)];
	char name[48], basis[96];
	int r = 0;

	if (!ns)
		return error_set(ENOMEM, "out of memory");
	for (size_t m = 0; m < NR(kick_modes) && r == 0; m++) {
		for (size_t s = 0; s < NR(pause_sizes) && r == 0; s++) {
			unsigned int nr = pause_sizes[s];
			struct kick_run *k = kick_run_alloc(nr);
			struct vm_ops ops = { 0 };
			const struct bench_metric *met;
			struct vm vm;

			if (!k) {
				r = error_set(ENOMEM, "out of memory");
				break;
			}
			r = kick_vm_start(c, &vm, &ops, k, nr, kick_modes[m]);
			if (r < 0) {
				kick_run_free(k);
				break;
			}
			/* Alternate: a pause, then a bare kick-all, from the same state. */
			for (unsigned int i = 0; i < rounds && r == 0; i++) {
				r = pause_one(&vm, k, entries, &ns[i]);
				if (r == 0)
					r = kick_all(&vm, k, &all[i]);
			}
			vm_stop_and_join(&vm);
			vm_destroy(&vm);
			kick_run_free(k);
			if (r < 0)
				break;
			snprintf(name, sizeof(name), "%s.%u", kick_mode_name(kick_modes[m]), nr);
			kick_add(c, res, name, ns, rounds);
			met = bench_find_metric(res, name, "ns");
			med[m][s] = met ? met->st.median : 0;
			snprintf(name, sizeof(name), "kick-all %s.%u", kick_mode_name(kick_modes[m]), nr);
			kick_add(c, res, name, all, rounds);
		}
	}
	for (size_t s = 0; s < NR(pause_sizes) && r == 0; s++) {
		snprintf(name, sizeof(name), "immediate/sigmask.%u", pause_sizes[s]);
		snprintf(basis, sizeof(basis), "median vm_pause_all, %u vCPUs", pause_sizes[s]);
		bench_add_ratio(res, name, med[0][s] / med[1][s], BENCH_INFO, 0, basis);
	}
	if (r == 0)
		bench_note(res, "%u pauses per configuration (spin payload); kick-all: every vCPU kicked at once, ns until the last is back in its run loop, without parking",
			   rounds);
	free(ns);
	return r;
}
