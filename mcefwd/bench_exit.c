// SPDX-License-Identifier: GPL-2.0-only
/*
 * exit: a userspace PIO exit round trip through mcefwd's run loop
 * (vcpu_loop: forwarding service, requests, KVM_RUN, kick re-arm, the
 * ucall decode) against a bare KVM_RUN loop that does nothing but
 * re-enter, the physical limit. Both run the same guest loop
 * (guest-payloads/bench-exit.c) at the same time in this process, each
 * on its own thread, taking turns round by round: a burst of noise on the
 * host (this one is shared) hits a pair of rounds, not one loop.
 *
 * Per round: host nanoseconds between the round's START and END marks over
 * iters + 1 exits, and guest TSC cycles around the outs alone over iters.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "guest-payloads/bench-abi.h"
#include "mcefwd/bench.h"
#include "mcefwd/ucall.h"
#include "mcefwd/vcpu.h"

#define EXIT_ITERS		256
#define EXIT_ITERS_QUICK	64
#define EXIT_TIMEOUT_MS		120000
/* A side that has not passed the turn back by then is taken to be stuck. */
#define EXIT_TURN_TIMEOUT_S	10

enum { EXIT_BARE, EXIT_MCEFWD };

/* Whose round is next: the two loops alternate, round by round. */
struct exit_baton {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int turn;
	bool done[2];			/* all rounds measured, or failed: never waited for */
};

/* Host clock at the round marks, one per loop. */
struct exit_marks {
	struct exit_baton *baton;	/* NULL: nobody to take turns with */
	int side;
	uint64_t iters;
	uint64_t t_start;
	double *ns;
	unsigned int nr, max;
};

/* Outside the measured interval: before a round's START is stamped. */
static void exit_take_turn(struct exit_marks *m)
{
	struct exit_baton *b = m->baton;
	struct timespec until;

	if (!b)
		return;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += EXIT_TURN_TIMEOUT_S;
	pthread_mutex_lock(&b->lock);
	while (b->turn != m->side && !b->done[!m->side])
		if (pthread_cond_timedwait(&b->cond, &b->lock, &until) == ETIMEDOUT)
			b->done[!m->side] = true;
	pthread_mutex_unlock(&b->lock);
}

static void exit_pass_turn(struct exit_marks *m, bool done)
{
	struct exit_baton *b = m->baton;

	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	b->turn = !m->side;
	b->done[m->side] |= done;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static void exit_mark(struct exit_marks *m, uint64_t key)
{
	uint64_t now;

	if (key == BENCH_KEY_START) {
		exit_take_turn(m);
		m->t_start = bench_now_ns();
	} else if (key == BENCH_KEY_END) {
		now = bench_now_ns();
		if (m->t_start && m->nr < m->max)
			m->ns[m->nr++] = (double)(now - m->t_start) / (double)(m->iters + 1);
		exit_pass_turn(m, m->nr == m->max);
	}
}

static int exit_on_ucall(struct vcpu *v, const struct mcefwd_ucall *u)
{
	if (u->type == MCEFWD_UCALL_VALUE && u->value[0] != BENCH_KEY_LOOP)
		exit_mark(v->vm->ops->priv, u->value[0]);
	return 0;
}

static void exit_params(struct vm *vm, unsigned int rounds, unsigned int iters)
{
	struct bench_params *p = bench_vm_params(vm);

	p->magic = BENCH_MAGIC;
	p->rounds = rounds;
	p->iters = iters;
}

/* The guest's cycles per exit, round by round, appended to cycles[*n...]. */
static void exit_guest_cycles(struct vm *vm, unsigned int rounds, unsigned int iters,
			      double *cycles, unsigned int *n)
{
	const struct bench_results *res = bench_vm_results(vm);

	for (unsigned int i = 0; i < rounds && i < res->rounds_done; i++)
		cycles[(*n)++] = (double)res->sample[i] / iters;
}

int bench_exit_mcefwd_rounds(struct bench_ctx *c, unsigned int rounds, unsigned int iters,
			     double *ns, double *cycles, unsigned int *n)
{
	struct exit_marks m = { .iters = iters, .ns = ns + *n, .max = rounds };
	struct vm_ops ops = { .on_ucall = exit_on_ucall, .priv = &m };
	unsigned int nc = *n;
	struct vm vm;
	int r;

	r = bench_vm_create(c, &vm, "bench-exit", 1, KICK_IMMEDIATE, &ops);
	if (r < 0)
		return r;
	exit_params(&vm, rounds, iters);
	r = bench_vm_run(&vm, EXIT_TIMEOUT_MS);
	if (r == 0) {
		exit_guest_cycles(&vm, rounds, iters, cycles, &nc);
		if (m.nr != rounds || nc - *n != rounds)
			r = error_set(EPROTO, "mcefwd loop: %u of %u rounds marked, %u measured",
				      m.nr, rounds, nc - *n);
		else
			*n += rounds;
	}
	vm_destroy(&vm);
	return r;
}

/* ---- the bare loop: KVM_RUN, one compare, KVM_RUN ---- */

struct exit_bare {
	struct vm *vm;
	struct exit_marks *m;
	int err;			/* positive errno, or EPROTO with why */
	char why[160];
	bool exited;
	uint32_t exit_code;
};

/* Anything but the loop's own exit: marks, the exit port, console bytes. */
static bool exit_bare_slow(struct exit_bare *b, struct vcpu *v, uint32_t *fast)
{
	struct kvm_run *run = v->run;
	struct mcefwd_ucall u;
	uint32_t val = 0;

	if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT ||
	    run->io.size > 4) {
		b->err = EPROTO;
		snprintf(b->why, sizeof(b->why), "bare loop: unexpected exit %s",
			 kvm_exit_name(run->exit_reason));
		return true;
	}
	memcpy(&val, (uint8_t *)run + run->io.data_offset, run->io.size);
	switch (run->io.port) {
	case MCEFWD_PORT_EXIT:
		b->exited = true;
		b->exit_code = val;
		return true;
	case MCEFWD_PORT_CONSOLE:
		return false;
	case MCEFWD_PORT_UCALL:
		if (ucall_decode(&b->vm->mem, val, v->id, &u) < 0) {
			b->err = EPROTO;
			snprintf(b->why, sizeof(b->why), "bare loop: %s", error_get());
			return true;
		}
		if (u.type == MCEFWD_UCALL_VALUE && u.value[0] == BENCH_KEY_LOOP)
			*fast = val;
		else if (u.type == MCEFWD_UCALL_VALUE)
			exit_mark(b->m, u.value[0]);
		return false;
	}
	b->err = EPROTO;
	snprintf(b->why, sizeof(b->why), "bare loop: out to port 0x%x", run->io.port);
	return true;
}

static void *exit_bare_thread(void *arg)
{
	struct exit_bare *b = arg;
	struct vcpu *v = b->vm->vcpus[0];
	struct kvm_run *run = v->run;
	uint32_t fast = 0;

	for (;;) {
		if (ioctl(v->fd, KVM_RUN, NULL) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			b->err = errno;
			snprintf(b->why, sizeof(b->why), "bare loop: KVM_RUN: %s", strerror(errno));
			break;
		}
		/* Everything the physical limit does besides re-entering. */
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == MCEFWD_PORT_UCALL &&
		    *(const uint32_t *)((const uint8_t *)run + run->io.data_offset) == fast)
			continue;
		if (exit_bare_slow(b, v, &fast))
			break;
	}
	return NULL;
}

/*
 * Both loops at once, taking turns: rounds rounds each, per-round host ns
 * and guest cycles into bns/bcy (bare) and mns/mcy (mcefwd).
 */
static int exit_paired(struct bench_ctx *c, unsigned int rounds, unsigned int iters,
		       double *bns, double *bcy, double *mns, double *mcy)
{
	struct exit_baton baton = { .turn = EXIT_BARE };
	struct exit_marks bm = { .baton = &baton, .side = EXIT_BARE, .iters = iters,
				 .ns = bns, .max = rounds };
	struct exit_marks mm = { .baton = &baton, .side = EXIT_MCEFWD, .iters = iters,
				 .ns = mns, .max = rounds };
	struct vm_ops ops = { .on_ucall = exit_on_ucall, .priv = &mm };
	struct exit_bare b = { .m = &bm };
	unsigned int nb = 0, nm = 0;
	struct vm bare, mce;
	bool joined = false;
	pthread_t t;
	int r, e;

	pthread_mutex_init(&baton.lock, NULL);
	pthread_cond_init(&baton.cond, NULL);
	r = bench_vm_create(c, &bare, "bench-exit", 1, KICK_IMMEDIATE, NULL);
	if (r < 0)
		goto out;
	r = bench_vm_create(c, &mce, "bench-exit", 1, KICK_IMMEDIATE, &ops);
	if (r < 0)
		goto out_bare;
	exit_params(&bare, rounds, iters);
	exit_params(&mce, rounds, iters);
	b.vm = &bare;
	/* Its own thread, as mcefwd's vCPU has: the same conditions but the loop. */
	e = pthread_create(&t, NULL, exit_bare_thread, &b);
	if (e) {
		r = error_set(e, "bare loop thread: %s", strerror(e));
		goto out_mce;
	}
	r = bench_vm_run(&mce, EXIT_TIMEOUT_MS);
	/* A failed mcefwd side must not keep the bare loop waiting for its turn. */
	exit_pass_turn(&mm, true);
	pthread_join(t, NULL);
	joined = true;
	if (r < 0)
		goto out_mce;
	if (b.err) {
		r = error_set(b.err, "%s", b.why);
		goto out_mce;
	}
	if (!b.exited || b.exit_code) {
		r = error_set(EPROTO, "bare loop: the guest exited with code %u", b.exit_code);
		goto out_mce;
	}
	exit_guest_cycles(&bare, rounds, iters, bcy, &nb);
	exit_guest_cycles(&mce, rounds, iters, mcy, &nm);
	if (bm.nr != rounds || mm.nr != rounds || nb != rounds || nm != rounds)
		r = error_set(EPROTO, "rounds measured: bare %u/%u, mcefwd %u/%u of %u",
			      bm.nr, nb, mm.nr, nm, rounds);
out_mce:
	vm_destroy(&mce);
out_bare:
	if (!joined)
		vm_stop_and_join(&bare);
	vm_destroy(&bare);
out:
	pthread_cond_destroy(&baton.cond);
	pthread_mutex_destroy(&baton.lock);
	return r;
}

int bench_exit_reference(struct bench_ctx *c)
{
	double ns[32], cycles[32];
	struct bench_stats sn, sc;
	unsigned int n = 0;
	int r;

	if (c->exit_ns > 0)
		return 0;
	r = bench_exit_mcefwd_rounds(c, c->quick ? 8 : 32,
				     c->quick ? EXIT_ITERS_QUICK : EXIT_ITERS, ns, cycles, &n);
	if (r < 0)
		return error_wrap(-r, "measuring the exit round trip");
	if (bench_stats_compute(ns, n, &sn) < 0 || bench_stats_compute(cycles, n, &sc) < 0)
		return error_set(EPROTO, "measuring the exit round trip: no samples");
	c->exit_ns = sn.median;
	c->exit_cycles = sc.median;
	return 0;
}

int bench_exit_run(struct bench_ctx *c, struct bench_result *res)
{
	unsigned int rounds = bench_rounds(c, 1000, 16);
	unsigned int iters = c->quick ? EXIT_ITERS_QUICK : EXIT_ITERS;
	double *bns, *bcy, *mns, *mcy, *pair;
	const struct bench_metric *bm, *mm, *bc, *mc, *pr;
	int r;

	bns = calloc(5 * (size_t)rounds, sizeof(double));
	if (!bns)
		return error_set(ENOMEM, "out of memory");
	bcy = bns + rounds;
	mns = bcy + rounds;
	mcy = mns + rounds;
	pair = mcy + rounds;
	r = exit_paired(c, rounds, iters, bns, bcy, mns, mcy);
	if (r < 0)
		goto out;
	/* Before the metrics sort the samples: round i of one loop against round i of the other. */
	for (unsigned int i = 0; i < rounds; i++)
		pair[i] = mns[i] / bns[i];
	bench_add_metric(res, "bare", "ns", bns, rounds);
	bench_add_metric(res, "mcefwd", "ns", mns, rounds);
	bench_add_metric(res, "bare", "cycles", bcy, rounds);
	bench_add_metric(res, "mcefwd", "cycles", mcy, rounds);
	bench_add_metric(res, "mcefwd/bare per pair", "ratio", pair, rounds);
	bm = bench_find_metric(res, "bare", "ns");
	mm = bench_find_metric(res, "mcefwd", "ns");
	bc = bench_find_metric(res, "bare", "cycles");
	mc = bench_find_metric(res, "mcefwd", "cycles");
	pr = bench_find_metric(res, "mcefwd/bare per pair", "ratio");
	if (!bm || !mm || !bc || !mc || !pr) {
		r = error_set(EPROTO, "no samples");
		goto out;
	}
	bench_add_ratio(res, "mcefwd/bare", mm->st.median / bm->st.median, BENCH_AT_MOST, 1.02,
			"median host ns per exit");
	bench_add_ratio(res, "mcefwd/bare (cycles)", mc->st.median / bc->st.median,
			BENCH_AT_MOST, 1.02, "median guest TSC cycles per exit");
	bench_add_ratio(res, "mcefwd/bare (pairs)", pr->st.median, BENCH_AT_MOST, 1.02,
			"median over round pairs of mcefwd ns / bare ns");
	bench_note(res, "%u rounds of %u exits per loop, the two loops taking turns round by round; ns from the host clock over iters + 1 exits, cycles from guest rdtsc over iters",
		   rounds, iters);
	c->exit_ns = mm->st.median;
	c->exit_cycles = mc->st.median;
out:
	free(bns);
	return r;
}
