// SPDX-License-Identifier: GPL-2.0-only
/*
 * forward and storm: the SIGBUS-to-#MC path of mcefwd's run loop, driven
 * by the signal method (the vCPU thread sends itself SIGBUS BUS_MCEERR_AR
 * right before KVM_RUN, as `mcefwd run --poison=signal` does), against the
 * bench-forward guest.
 *
 * forward, per event:
 *   send    before_run, just before rt_tgsigqueueinfo: the SIGBUS arrives
 *   inject  the "injected" diagnostic line, written right after KVM_X86_SET_MCE
 *   entry   before_run once the event is injected: KVM_RUN comes next
 *   #MC     the guest's rdtsc, the first instruction of its #MC entry
 * host share = entry - send (host clock and host TSC), guest share = #MC -
 * entry on the guest TSC, which is the host TSC plus KVM's TSC offset here.
 *
 * storm: the host keeps up to STORM_WINDOW events in flight (stowed,
 * queued or injected and not yet handled) until it has sent the total;
 * the guest exits over and over and counts every #MC. Events per second
 * per round, and every event accounted for: sent, injected, taken.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest-payloads/bench/bench-abi.h"
#include "inject/inject.h"
#include "mcefwd/bench/bench.h"
#include "mcefwd/mce/forward.h"
#include "mcefwd/vmm/vcpu.h"

#define FORWARD_TIMEOUT_MS	120000
#define STORM_WINDOW		32	/* events in flight: half the vCPU's SIGBUS ring */
#define MSR_IA32_TSC		0x10

#ifndef KVM_VCPU_TSC_CTRL
#define KVM_VCPU_TSC_CTRL	0
#define KVM_VCPU_TSC_OFFSET	0
#endif

/* The host address of event page i: distinct pages, so no livelock is suspected. */
static void *bench_fwd_event_hva(struct vm *vm, unsigned int i)
{
	uint64_t gpa = MCEFWD_GPA_TEST +
		(BENCH_EVENT_PAGE + i % BENCH_EVENT_PAGES) * MCEFWD_PAGE_SIZE;

	return mem_gpa_to_hva(&vm->mem, gpa, MCEFWD_PAGE_SIZE);
}

/* ---- forward ---- */

struct bench_fwd_sample {
	uint64_t send_ns, send_tsc;
	uint64_t inject_ns;
	uint64_t entry_ns, entry_tsc;
};

struct bench_fwd_state {
	struct bench_fwd_sample *s;
	unsigned int n, max;
	bool armed;		/* the guest asked: send before the next entry */
	bool sent;		/* sent; stamp the entry once it is injected */
	uint64_t injected;	/* v->fwd.delivered when sent */
	int err;
};

static int bench_fwd_before_run(struct vcpu *v)
{
	struct bench_fwd_state *f = v->vm->ops->priv;
	struct bench_fwd_sample *s = &f->s[f->n];
	int r;

	if (f->sent && v->fwd.delivered != f->injected) {
		s->entry_ns = bench_now_ns();
		s->entry_tsc = bench_tsc();
		f->sent = false;
		f->n++;
		return 0;
	}
	if (!f->armed || f->n >= f->max)
		return 0;
	f->armed = false;
	f->injected = v->fwd.delivered;
	s->inject_ns = 0;
	s->send_ns = bench_now_ns();
	s->send_tsc = bench_tsc();
	r = inject_signal_self(BUS_MCEERR_AR, bench_fwd_event_hva(v->vm, f->n), 12);
	if (r < 0)
		return error_set(-r, "rt_tgsigqueueinfo(SIGBUS): %s", strerror(-r));
	f->sent = true;
	return 0;
}

static int bench_fwd_on_ucall(struct vcpu *v, const struct mcefwd_ucall *u)
{
	struct bench_fwd_state *f = v->vm->ops->priv;

	if (u->type == MCEFWD_UCALL_VALUE && u->value[0] == BENCH_KEY_ARM)
		f->armed = true;
	return 0;
}

/* vm->diag.out: forward_event() writes its "injected" line right after KVM_X86_SET_MCE. */
static ssize_t bench_fwd_diag_write(void *cookie, const char *buf, size_t len)
{
	struct bench_fwd_state *f = cookie;

	if (f->sent && f->n < f->max && memmem(buf, len, "injected", 8))
		f->s[f->n].inject_ns = bench_now_ns();
	return (ssize_t)len;
}

/*
 * The guest TSC minus the host TSC: KVM's TSC offset for the vCPU where
 * KVM tells it, else read back through IA32_TSC between two host reads
 * (*err is then half that window).
 */
static int bench_fwd_tsc_offset(struct vcpu *v, int64_t *off, double *err)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m;
	struct kvm_device_attr a = {
		.group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET,
		.addr = (uint64_t)(uintptr_t)off,
	};
	uint64_t h0, h1, best = UINT64_MAX;

	if (ioctl(v->fd, KVM_GET_DEVICE_ATTR, &a) == 0) {
		*err = 0;
		return 0;
	}
	for (int i = 0; i < 8; i++) {
		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = 1;
		m.e.index = MSR_IA32_TSC;
		h0 = bench_tsc();
		if (ioctl(v->fd, KVM_GET_MSRS, &m) != 1)
			return error_set(errno, "KVM_GET_MSRS(IA32_TSC): %s", strerror(errno));
		h1 = bench_tsc();
		if (h1 - h0 < best) {
			best = h1 - h0;
			*off = (int64_t)(m.e.data - (h0 + (h1 - h0) / 2));
		}
	}
	*err = (double)best / 2;
	return 0;
}

/* The host TSC's rate in kHz over a short sleep, to check it runs at the guest's. */
static double bench_fwd_host_tsc_khz(void)
{
	uint64_t n0 = bench_now_ns(), t0 = bench_tsc(), n1, t1;
	struct timespec ts = { 0, 20000000 };

	nanosleep(&ts, NULL);
	n1 = bench_now_ns();
	t1 = bench_tsc();
	return (double)(t1 - t0) * 1e6 / (double)(n1 - n0);
}

/* A throwaway vCPU's cost of each call on the path, per call. */
static int bench_fwd_costs(struct bench_ctx *c, struct bench_result *res, unsigned int n)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m;
	struct kvm_x86_mce mce = { .status = 1ULL << 63, .bank = 9, .mcg_status = 0 };
	double *x = calloc(5 * (size_t)n, sizeof(*x));
	struct kvm_regs regs;
	struct vcpu *v;
	struct vm vm;
	uint64_t t;
	int r;

	if (!x)
		return error_set(ENOMEM, "out of memory");
	r = bench_vm_create(c, &vm, "bench-exit", 1, KICK_IMMEDIATE, NULL);
	if (r < 0) {
		free(x);
		return r;
	}
	v = vm.vcpus[0];
	for (unsigned int i = 0; i < n; i++) {
		v->run->immediate_exit = 1;
		t = bench_tsc();
		ioctl(v->fd, KVM_RUN, NULL);
		x[i] = (double)(bench_tsc() - t);
		t = bench_tsc();
		ioctl(v->fd, KVM_GET_REGS, &regs);
		x[n + i] = (double)(bench_tsc() - t);
		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = 1;
		m.e.index = MCEFWD_MSR_IA32_MCG_STATUS;
		t = bench_tsc();
		ioctl(v->fd, KVM_GET_MSRS, &m);
		x[2 * n + i] = (double)(bench_tsc() - t);
		/* Never entered with CR4.MCE: KVM only queues a shutdown, and nobody runs it. */
		t = bench_tsc();
		ioctl(v->fd, KVM_X86_SET_MCE, &mce);
		x[3 * n + i] = (double)(bench_tsc() - t);
		t = bench_tsc();
		syscall(SYS_getppid);
		x[4 * n + i] = (double)(bench_tsc() - t);
	}
	vm_destroy(&vm);
	bench_add_metric(res, "cost KVM_RUN immediate", "cycles", x, n);
	bench_add_metric(res, "cost KVM_GET_REGS", "cycles", x + n, n);
	bench_add_metric(res, "cost KVM_GET_MSRS", "cycles", x + 2 * n, n);
	bench_add_metric(res, "cost KVM_X86_SET_MCE", "cycles", x + 3 * n, n);
	bench_add_metric(res, "cost getppid", "cycles", x + 4 * n, n);
	free(x);
	return 0;
}

int bench_forward_run(struct bench_ctx *c, struct bench_result *res)
{
	unsigned int rounds = bench_rounds(c, 400, 8);
	struct bench_fwd_state f = { .max = rounds };
	struct vm_ops ops = { .before_run = bench_fwd_before_run, .on_ucall = bench_fwd_on_ucall,
			      .priv = &f };
	cookie_io_functions_t io = { .write = bench_fwd_diag_write };
	double *host_ns, *host_cy, *guest_cy, *guest_ns, *total_ns, *sig_ns, *ent_ns;
	const struct bench_results *gr;
	const struct bench_metric *hm;
	unsigned int ni = 0;
	double host_khz, tsc_err = 0;
	int64_t off = 0;
	bool guest_ok;
	FILE *diag;
	struct vm vm;
	int r;

	r = bench_exit_reference(c);
	if (r < 0)
		return r;
	f.s = calloc(rounds, sizeof(*f.s));
	host_ns = calloc(7 * (size_t)rounds, sizeof(double));
	diag = fopencookie(&f, "w", io);
	if (!f.s || !host_ns || !diag) {
		r = error_set(ENOMEM, "out of memory");
		goto out_free;
	}
	host_cy = host_ns + rounds;
	guest_cy = host_cy + rounds;
	guest_ns = guest_cy + rounds;
	total_ns = guest_ns + rounds;
	sig_ns = total_ns + rounds;
	ent_ns = sig_ns + rounds;

	r = bench_vm_create(c, &vm, "bench-forward", 1, KICK_IMMEDIATE, &ops);
	if (r < 0)
		goto out_free;
	vm.diag.out = diag;
	*bench_vm_params(&vm) = (struct bench_params){
		.magic = BENCH_MAGIC, .mode = BENCH_MODE_FORWARD, .rounds = rounds,
	};
	r = bench_fwd_tsc_offset(vm.vcpus[0], &off, &tsc_err);
	if (r == 0)
		r = bench_vm_run(&vm, FORWARD_TIMEOUT_MS);
	if (r < 0)
		goto out_vm;
	gr = bench_vm_results(&vm);
	if (f.n != rounds || gr->rounds_done != rounds) {
		r = error_set(EPROTO, "%u of %u events timed, the guest took %lu", f.n, rounds,
			      (unsigned long)gr->rounds_done);
		goto out_vm;
	}
	host_khz = bench_fwd_host_tsc_khz();
	guest_ok = c->tsc_khz > 0 && host_khz > c->tsc_khz * 0.995 && host_khz < c->tsc_khz * 1.005;
	for (unsigned int i = 0; i < rounds; i++) {
		const struct bench_fwd_sample *s = &f.s[i];
		double g = (double)(int64_t)(gr->sample[i] - (s->entry_tsc + (uint64_t)off));

		host_ns[i] = (double)(s->entry_ns - s->send_ns);
		host_cy[i] = (double)(s->entry_tsc - s->send_tsc);
		guest_cy[i] = g;
		guest_ns[i] = bench_cycles_to_ns(c, g);
		total_ns[i] = host_ns[i] + guest_ns[i];
		if (s->inject_ns) {
			sig_ns[ni] = (double)(s->inject_ns - s->send_ns);
			ent_ns[ni++] = (double)(s->entry_ns - s->inject_ns);
		}
	}
	bench_add_metric(res, "host_share", "ns", host_ns, rounds);
	bench_add_metric(res, "host_share", "cycles", host_cy, rounds);
	if (guest_ok) {
		bench_add_metric(res, "guest_share", "ns", guest_ns, rounds);
		bench_add_metric(res, "guest_share", "cycles", guest_cy, rounds);
		bench_add_metric(res, "total", "ns", total_ns, rounds);
	} else {
		bench_note(res, "guest share not computed: the host TSC runs at %.0f kHz, the guest's at %.0f kHz",
			   host_khz, c->tsc_khz);
	}
	bench_add_metric(res, "host: send to injected", "ns", sig_ns, ni);
	bench_add_metric(res, "host: injected to entry", "ns", ent_ns, ni);
	hm = bench_find_metric(res, "host_share", "ns");
	if (hm)
		bench_add_ratio(res, "host_share/exit", hm->st.median / c->exit_ns, BENCH_AT_MOST, 1,
				"median host share / median exit round trip");
	bench_note(res, "%u events, signal method (BUS_MCEERR_AR sent by the vCPU thread to itself); guest TSC = host TSC %+lld (%s)",
		   rounds, (long long)off, tsc_err ? "read back through IA32_TSC" : "KVM_VCPU_TSC_OFFSET");
	r = bench_fwd_costs(c, res, bench_rounds(c, 200, 8));
out_vm:
	vm.diag.out = c->null;
	vm_destroy(&vm);
out_free:
	if (diag)
		fclose(diag);
	free(host_ns);
	free(f.s);
	return r;
}

/* ---- storm ---- */

struct bench_storm_state {
	unsigned int total, per_round, nr_rounds;
	unsigned int sent;
	bool ready;		/* the guest ticked: its #MC entry is in place */
	unsigned int rounds_done;
	uint64_t begin_ns, *end_ns;	/* when the first was sent; when each round's last was done */
	volatile uint64_t *stop;
};

static int bench_storm_before_run(struct vcpu *v)
{
	struct bench_storm_state *s = v->vm->ops->priv;
	uint64_t done = v->fwd.done, now;
	unsigned int n;
	int r;

	if (!s->ready)
		return 0;
	now = bench_now_ns();
	while (s->rounds_done < s->nr_rounds && done >= (uint64_t)(s->rounds_done + 1) * s->per_round)
		s->end_ns[s->rounds_done++] = now;
	if (done >= s->total) {
		*s->stop = 1;
		return 0;
	}
	/* Refill at half empty: fewer immediate exits than topping up one by one. */
	if (s->sent - done > STORM_WINDOW / 2 || s->sent == s->total)
		return 0;
	n = STORM_WINDOW - (unsigned int)(s->sent - done);
	if (n > s->total - s->sent)
		n = s->total - s->sent;
	if (!s->sent)
		s->begin_ns = now;
	for (unsigned int i = 0; i < n; i++, s->sent++) {
		r = inject_signal_self(BUS_MCEERR_AR, bench_fwd_event_hva(v->vm, s->sent), 12);
		if (r < 0)
			return error_set(-r, "rt_tgsigqueueinfo(SIGBUS): %s", strerror(-r));
	}
	return 0;
}

static int bench_storm_on_ucall(struct vcpu *v, const struct mcefwd_ucall *u)
{
	struct bench_storm_state *s = v->vm->ops->priv;

	if (u->type == MCEFWD_UCALL_VALUE && u->value[0] == BENCH_KEY_TICK)
		s->ready = true;
	return 0;
}

int bench_storm_run(struct bench_ctx *c, struct bench_result *res)
{
	unsigned int nr_rounds = bench_rounds(c, 20, 3);
	unsigned int per_round = c->quick ? 40 : BENCH_MAX_SAMPLES / 20;
	struct bench_storm_state s = { .nr_rounds = nr_rounds, .per_round = per_round };
	struct vm_ops ops = { .before_run = bench_storm_before_run, .on_ucall = bench_storm_on_ucall,
			      .priv = &s };
	double *rate, *ns, *cy;
	const struct bench_results *gr;
	const struct bench_metric *m;
	unsigned long lost_core;
	uint64_t taken, lost;
	unsigned int ncy = 0;
	struct vm vm;
	int r;

	/* Every event's guest TSC stays in the ring: no more than it holds. */
	if ((uint64_t)nr_rounds * per_round > BENCH_MAX_SAMPLES)
		per_round = BENCH_MAX_SAMPLES / nr_rounds;
	if (per_round < 2)
		return error_set(EINVAL, "storm: %u rounds leave fewer than 2 events a round", nr_rounds);
	s.total = nr_rounds * per_round;
	s.end_ns = calloc(nr_rounds, sizeof(*s.end_ns));
	rate = calloc(3 * (size_t)nr_rounds, sizeof(double));
	if (!s.end_ns || !rate) {
		r = error_set(ENOMEM, "out of memory");
		goto out_free;
	}
	ns = rate + nr_rounds;
	cy = ns + nr_rounds;
	r = bench_vm_create(c, &vm, "bench-forward", 1, KICK_IMMEDIATE, &ops);
	if (r < 0)
		goto out_free;
	*bench_vm_params(&vm) = (struct bench_params){
		.magic = BENCH_MAGIC, .mode = BENCH_MODE_STORM,
	};
	s.stop = &bench_vm_params(&vm)->stop;
	r = bench_vm_run(&vm, FORWARD_TIMEOUT_MS);
	if (r < 0)
		goto out_vm;
	gr = bench_vm_results(&vm);
	taken = gr->mc_count;
	lost_core = ledger_events_lost(&vm.fwd);
	lost = s.sent - (taken < s.sent ? taken : s.sent) + lost_core;
	if (s.rounds_done != nr_rounds) {
		r = error_set(EPROTO, "storm: %u of %u rounds done, %u events sent, %lu taken",
			      s.rounds_done, nr_rounds, s.sent, (unsigned long)taken);
		goto out_vm;
	}
	for (unsigned int k = 0; k < nr_rounds; k++) {
		uint64_t t0 = k ? s.end_ns[k - 1] : s.begin_ns;
		/* The guest's stamps of the round's last #MC and of the one before the round. */
		uint64_t last = (uint64_t)(k + 1) * per_round - 1;

		ns[k] = (double)(s.end_ns[k] - t0) / per_round;
		rate[k] = 1e9 / ns[k];
		if (k && taken >= last + 1)
			cy[ncy++] = (double)(gr->sample[last % BENCH_MAX_SAMPLES] -
					     gr->sample[(last - per_round) % BENCH_MAX_SAMPLES]) / per_round;
	}
	bench_add_metric(res, "forwarded", "events/s", rate, nr_rounds);
	bench_add_metric(res, "per event", "ns", ns, nr_rounds);
	bench_add_metric(res, "per event", "cycles", cy, ncy);
	m = bench_find_metric(res, "forwarded", "events/s");
	if (m)
		bench_add_ratio(res, "events/s", m->st.median, BENCH_AT_LEAST, 5000,
				"median events forwarded per second");
	bench_add_ratio(res, "events lost", (double)lost, BENCH_AT_MOST, 0,
			"sent - taken by the guest + lost to full rings, queues, inboxes");
	bench_note(res, "%u rounds of %u events (%u sent, %lu injected, %lu taken by the guest's #MC entry, %lu lost in mcefwd's rings and queues); up to %u in flight, signal method",
		   nr_rounds, per_round, s.sent, (unsigned long)vm.vcpus[0]->fwd.delivered,
		   (unsigned long)taken, lost_core, STORM_WINDOW);
out_vm:
	vm_destroy(&vm);
out_free:
	free(rate);
	free(s.end_ns);
	return r;
}
