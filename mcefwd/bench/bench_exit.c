// SPDX-License-Identifier: GPL-2.0-only
/*
 * exit: a userspace PIO exit round trip through mcefwd's run loop
 * (vcpu_loop: forwarding service, requests, KVM_RUN, kick re-arm, the
 * ucall decode) against a bare KVM_RUN loop that does nothing but
 * re-enter, the physical limit. Both run the same guest loop
 * (guest-payloads/bench/bench-exit.c) at the same time in this process, each
 * on its own thread, both threads on one CPU, taking turns round by round:
 * a burst of noise on the host (this one is shared) hits a pair of rounds,
 * not one loop.
 *
 * Per round: host nanoseconds between the round's START and END marks over
 * iters + 1 exits, and guest TSC cycles around the outs alone over iters.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "guest-payloads/bench/bench-abi.h"
#include "mcefwd/bench/bench.h"
#include "mcefwd/vmm/ucall.h"
#include "mcefwd/vmm/vcpu.h"

#define EXIT_ITERS		256
#define EXIT_ITERS_QUICK	64
#define EXIT_TIMEOUT_MS		120000
/* A side that has not passed the turn back by then is taken to be stuck. */
#define EXIT_TURN_TIMEOUT_S	10

enum { EXIT_BARE, EXIT_MCEFWD };

/* Whose round is next: the two loops alternate, round by round. */
struct bench_exit_baton {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int turn;
	bool done[2];			/* all rounds measured, or failed: never waited for */
};

/* Host clock at the round marks, one per loop. */
struct bench_exit_marks {
	struct bench_exit_baton *baton;	/* NULL: nobody to take turns with */
	int side;
	int cpu;			/* pin the loop's thread here at its first mark; -1: no */
	uint64_t iters;
	uint64_t t_start;
	double *ns;
	unsigned int nr, max;
};

/* Outside the measured interval: before a round's START is stamped. */
static void bench_exit_take_turn(struct bench_exit_marks *m)
{
	struct bench_exit_baton *b = m->baton;
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

static void bench_exit_pass_turn(struct bench_exit_marks *m, bool done)
{
	struct bench_exit_baton *b = m->baton;

	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	b->turn = !m->side;
	b->done[m->side] |= done;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static void bench_exit_mark(struct bench_exit_marks *m, uint64_t key)
{
	uint64_t now;
	cpu_set_t set;

	if (m->cpu >= 0) {
		/* Both loops on one CPU: neither gets the quieter one. */
		CPU_ZERO(&set);
		CPU_SET(m->cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
		m->cpu = -1;
	}
	if (key == BENCH_KEY_START) {
		bench_exit_take_turn(m);
		m->t_start = bench_now_ns();
	} else if (key == BENCH_KEY_END) {
		now = bench_now_ns();
		if (m->t_start && m->nr < m->max)
			m->ns[m->nr++] = (double)(now - m->t_start) / (double)(m->iters + 1);
		bench_exit_pass_turn(m, m->nr == m->max);
	}
}

static int bench_exit_on_ucall(struct vcpu *v, const struct mcefwd_ucall *u)
{
	if (u->type == MCEFWD_UCALL_VALUE && u->value[0] != BENCH_KEY_LOOP)
		bench_exit_mark(v->vm->ops->priv, u->value[0]);
	return 0;
}

static void bench_exit_params(struct vm *vm, unsigned int rounds, unsigned int iters)
{
	struct bench_params *p = bench_vm_params(vm);

	p->magic = BENCH_MAGIC;
	p->rounds = rounds;
	p->iters = iters;
}

/* The guest's cycles per exit, round by round, appended to cycles[*n...]. */
static void bench_exit_guest_cycles(struct vm *vm, unsigned int rounds, unsigned int iters,
				    double *cycles, unsigned int *n)
{
	const struct bench_results *res = bench_vm_results(vm);

	for (unsigned int i = 0; i < rounds && i < res->rounds_done; i++)
		cycles[(*n)++] = (double)res->sample[i] / iters;
}

int bench_exit_mcefwd_rounds(struct bench_ctx *c, enum kick_mode kick, unsigned int rounds,
			     unsigned int iters, double *ns, double *cycles, unsigned int *n)
{
	struct bench_exit_marks m = { .cpu = -1, .iters = iters, .ns = ns + *n, .max = rounds };
	struct vm_ops ops = { .on_ucall = bench_exit_on_ucall, .priv = &m };
	unsigned int nc = *n;
	struct vm vm;
	int r;

	r = bench_vm_create(c, &vm, "bench-exit", 1, kick, &ops);
	if (r < 0)
		return r;
	bench_exit_params(&vm, rounds, iters);
	r = bench_vm_run(&vm, EXIT_TIMEOUT_MS);
	if (r == 0) {
		bench_exit_guest_cycles(&vm, rounds, iters, cycles, &nc);
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

struct bench_exit_bare {
	struct vm *vm;
	struct bench_exit_marks *m;
	int err;			/* positive errno, or EPROTO with why */
	char why[160];
	bool exited;
	uint32_t exit_code;
};

/* Anything but the loop's own exit: marks, the exit port, console bytes. */
static bool bench_exit_bare_slow(struct bench_exit_bare *b, struct vcpu *v, uint32_t *fast)
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
			bench_exit_mark(b->m, u.value[0]);
		return false;
	}
	b->err = EPROTO;
	snprintf(b->why, sizeof(b->why), "bare loop: out to port 0x%x", run->io.port);
	return true;
}

static void *bench_exit_bare_thread(void *arg)
{
	struct bench_exit_bare *b = arg;
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
		if (bench_exit_bare_slow(b, v, &fast))
			break;
	}
	/* Done or failed: mcefwd's loop must not wait for a turn from here. */
	bench_exit_pass_turn(b->m, true);
	return NULL;
}

/* One side at run time: its VM, and the bare loop's thread. */
struct bench_exit_leg {
	struct vm vm;
	bool created, running;
	struct vm_ops ops;
	struct bench_exit_marks m;
	struct bench_exit_bare b;
	pthread_t thread;
};

static int bench_exit_leg_start(struct bench_exit_leg *l, const struct bench_exit_side *side)
{
	int e;

	if (!side->bare) {
		e = vm_start(&l->vm);
		l->running = e == 0;
		return e;
	}
	l->b.vm = &l->vm;
	l->b.m = &l->m;
	/* Its own thread, as mcefwd's vCPU has: the same conditions but the loop. */
	e = pthread_create(&l->thread, NULL, bench_exit_bare_thread, &l->b);
	if (e)
		return error_set(e, "bare loop thread: %s", strerror(e));
	l->running = true;
	return 0;
}

static int bench_exit_leg_finish(struct bench_exit_leg *l, const struct bench_exit_side *side)
{
	int r;

	if (!side->bare) {
		r = l->running ? bench_vm_finish(&l->vm, EXIT_TIMEOUT_MS) : 0;
		l->running = false;
		/* Failed or done: the other side must not wait for a turn from here. */
		bench_exit_pass_turn(&l->m, true);
		return r;
	}
	if (l->running)
		pthread_join(l->thread, NULL);
	l->running = false;
	if (l->b.err)
		return error_set(l->b.err, "%s", l->b.why);
	if (!l->b.exited || l->b.exit_code)
		return error_set(EPROTO, "bare loop: the guest exited with code %u",
				 l->b.exit_code);
	return 0;
}

int bench_exit_pairs(struct bench_ctx *c, unsigned int rounds, unsigned int iters,
		     const struct bench_exit_side side[2])
{
	struct bench_exit_baton baton = { .turn = 0 };
	struct bench_exit_leg *leg = calloc(2, sizeof(*leg));
	int cpu = sched_getcpu(), r = 0, e;
	unsigned int n;

	if (!leg)
		return error_set(ENOMEM, "out of memory");
	pthread_mutex_init(&baton.lock, NULL);
	pthread_cond_init(&baton.cond, NULL);
	for (int s = 0; s < 2 && r == 0; s++) {
		struct bench_exit_leg *l = &leg[s];

		l->m = (struct bench_exit_marks){ .baton = &baton, .side = s, .cpu = cpu,
						  .iters = iters, .ns = side[s].ns, .max = rounds };
		l->ops = (struct vm_ops){ .on_ucall = bench_exit_on_ucall, .priv = &l->m };
		r = bench_vm_create(c, &l->vm, "bench-exit", 1, side[s].kick,
				    side[s].bare ? NULL : &l->ops);
		if (r == 0) {
			l->created = true;
			bench_exit_params(&l->vm, rounds, iters);
		}
	}
	for (int s = 0; s < 2 && r == 0; s++)
		r = bench_exit_leg_start(&leg[s], &side[s]);
	/* Both run now, taking turns; a side that failed to start gives up its turns. */
	for (int s = 0; s < 2; s++) {
		if (!leg[s].running)
			bench_exit_pass_turn(&leg[s].m, true);
		e = bench_exit_leg_finish(&leg[s], &side[s]);
		r = r ? r : e;
	}
	for (int s = 0; s < 2 && r == 0; s++) {
		n = 0;
		bench_exit_guest_cycles(&leg[s].vm, rounds, iters, side[s].cycles, &n);
		if (leg[s].m.nr != rounds || n != rounds)
			r = error_set(EPROTO, "%s loop: %u of %u rounds marked, %u measured",
				      side[s].bare ? "bare" : "mcefwd", leg[s].m.nr, rounds, n);
	}
	for (int s = 0; s < 2; s++)
		if (leg[s].created)
			vm_destroy(&leg[s].vm);
	pthread_cond_destroy(&baton.cond);
	pthread_mutex_destroy(&baton.lock);
	free(leg);
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
	r = bench_exit_mcefwd_rounds(c, KICK_IMMEDIATE, c->quick ? 8 : 32,
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
	unsigned int sig_rounds = rounds / 4 ? rounds / 4 : 1;
	double *bns, *bcy, *mns, *mcy, *pair, *sns, *scy, *ins, *icy, *spair;
	const struct bench_metric *bm, *mm, *bc, *mc, *pr, *sp;
	struct bench_exit_side sides[2];
	int r;

	bns = calloc(10 * (size_t)rounds, sizeof(double));
	if (!bns)
		return error_set(ENOMEM, "out of memory");
	bcy = bns + rounds;
	mns = bcy + rounds;
	mcy = mns + rounds;
	pair = mcy + rounds;
	sns = pair + rounds;
	scy = sns + rounds;
	ins = scy + rounds;
	icy = ins + rounds;
	spair = icy + rounds;
	sides[0] = (struct bench_exit_side){ .bare = true, .ns = bns, .cycles = bcy };
	sides[1] = (struct bench_exit_side){ .kick = KICK_IMMEDIATE, .ns = mns, .cycles = mcy };
	r = bench_exit_pairs(c, rounds, iters, sides);
	/*
	 * Then mcefwd's loop against itself kicked the KVM_SET_SIGNAL_MASK
	 * way, which swaps the signal mask around every KVM_RUN.
	 */
	sides[0] = (struct bench_exit_side){ .kick = KICK_IMMEDIATE, .ns = ins, .cycles = icy };
	sides[1] = (struct bench_exit_side){ .kick = KICK_SIGMASK, .ns = sns, .cycles = scy };
	if (r == 0)
		r = bench_exit_pairs(c, sig_rounds, iters, sides);
	if (r < 0)
		goto out;
	/* Before the metrics sort the samples: round i of one loop against round i of the other. */
	for (unsigned int i = 0; i < rounds; i++)
		pair[i] = mns[i] / bns[i];
	for (unsigned int i = 0; i < sig_rounds; i++)
		spair[i] = scy[i] / icy[i];
	bench_add_metric(res, "bare", "ns", bns, rounds);
	bench_add_metric(res, "mcefwd", "ns", mns, rounds);
	bench_add_metric(res, "bare", "cycles", bcy, rounds);
	bench_add_metric(res, "mcefwd", "cycles", mcy, rounds);
	bench_add_metric(res, "mcefwd/bare per pair", "ratio", pair, rounds);
	bench_add_metric(res, "mcefwd kick=sigmask", "ns", sns, sig_rounds);
	bench_add_metric(res, "mcefwd kick=sigmask", "cycles", scy, sig_rounds);
	bench_add_metric(res, "sigmask/immediate per pair", "ratio", spair, sig_rounds);
	bm = bench_find_metric(res, "bare", "ns");
	mm = bench_find_metric(res, "mcefwd", "ns");
	bc = bench_find_metric(res, "bare", "cycles");
	mc = bench_find_metric(res, "mcefwd", "cycles");
	pr = bench_find_metric(res, "mcefwd/bare per pair", "ratio");
	sp = bench_find_metric(res, "sigmask/immediate per pair", "ratio");
	if (!bm || !mm || !bc || !mc || !pr || !sp) {
		r = error_set(EPROTO, "no samples");
		goto out;
	}
	bench_add_ratio(res, "mcefwd/bare", mm->st.median / bm->st.median, BENCH_AT_MOST, 1.02,
			"median host ns per exit");
	bench_add_ratio(res, "mcefwd/bare (cycles)", mc->st.median / bc->st.median,
			BENCH_AT_MOST, 1.02, "median guest TSC cycles per exit");
	bench_add_ratio(res, "mcefwd/bare (pairs)", pr->st.median, BENCH_AT_MOST, 1.02,
			"median over round pairs of mcefwd ns / bare ns");
	bench_add_ratio(res, "sigmask/immediate (pairs)", sp->st.median, BENCH_INFO, 0,
			"median over round pairs of guest cycles, mcefwd's loop kick=sigmask / kick=immediate");
	bench_note(res, "%u rounds of %u exits per loop, the two loops taking turns round by round on one CPU (then %u pairs of mcefwd's loop, kick=immediate against kick=sigmask); ns from the host clock over iters + 1 exits, cycles from guest rdtsc over iters",
		   rounds, iters, sig_rounds);
	c->exit_ns = mm->st.median;
	c->exit_cycles = mc->st.median;
out:
	free(bns);
	return r;
}
