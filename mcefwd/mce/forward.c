// SPDX-License-Identifier: GPL-2.0-only
/* One vCPU's pipeline: drain, queue, decide, deliver one at a time. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mcefwd/mce/deliver.h"
#include "mcefwd/mce/forward_int.h"
#include "mcefwd/mce/sigbus.h"
#include "mcefwd/util/error.h"

__thread struct fwd_vcpu *fwd_self;

static const char *const emulated_names[] = {
	[FWD_EMULATED_FAIL] = "fail", [FWD_EMULATED_FORWARD] = "forward",
};

const char *fwd_emulated_name(enum fwd_emulated e)
{
	return e <= FWD_EMULATED_FORWARD ? emulated_names[e] : "?";
}

int fwd_emulated_parse(const char *s, enum fwd_emulated *out)
{
	for (int e = FWD_EMULATED_FAIL; e <= FWD_EMULATED_FORWARD; e++) {
		if (!strcmp(s, emulated_names[e])) {
			*out = (enum fwd_emulated)e;
			return 0;
		}
	}
	return -EINVAL;
}

const char *mce_event_kind_name(enum mce_event_kind kind)
{
	switch (kind) {
	case MCE_EVENT_AR:
		return "AR";
	case MCE_EVENT_AO:
		return "AO";
	case MCE_EVENT_BROADCAST:
		return "broadcast";
	case MCE_EVENT_NOTICE:
		return "notice";
	}
	return "?";
}

bool mce_event_delivers(const struct mce_event *ev)
{
	return ev->kind != MCE_EVENT_NOTICE;
}

void forward_vm_init(struct fwd_vm *f, const struct fwd_config *cfg, uint64_t mcg_cap,
		     const struct fwd_vm_port *port, void *ctx, struct diag *diag)
{
	memset(f, 0, sizeof(*f));
	f->cfg = *cfg;
	f->mcg_cap = mcg_cap;
	f->numa_node = -1;
	f->backing_page = MCEFWD_PAGE_SIZE;
	f->port = port;
	f->ctx = ctx;
	f->diag = diag;
	ring_mpsc_init(&f->process);
	atomic_init(&f->main_routed, 0);
	pthread_mutex_init(&f->lock, NULL);
}

void forward_vm_destroy(struct fwd_vm *f)
{
	pthread_mutex_destroy(&f->lock);
}

void forward_vcpu_init(struct fwd_vcpu *c, struct fwd_vm *f, unsigned int id,
		       const struct fwd_vcpu_port *port, void *ctx)
{
	memset(c, 0, sizeof(*c));
	c->vm = f;
	c->id = id;
	c->port = port;
	c->ctx = ctx;
	ring_spsc_init(&c->ring);
	ring_mpsc_init(&c->inbox);
	atomic_init(&c->fanout_bcast, 0);
	atomic_init(&c->fanout_notice, 0);
	atomic_init(&c->q_overflows, 0);
	if (id < MCEFWD_MAX_VCPUS) {
		f->vcpus[id] = c;
		if (id >= f->nr_vcpus)
			f->nr_vcpus = id + 1;
	}
}

void forward_vcpu_attach(struct fwd_vcpu *c, struct kvm_run *run, atomic_uint *wake,
			 unsigned int wake_bit)
{
	fwd_self = c;
	sigbus_set_vcpu_ring(&c->ring, run, wake, wake_bit);
}

void forward_discard_pending(struct fwd_vcpu *c, bool ring, const char *why)
{
	struct mce_event ev;
	const void *first = NULL;
	unsigned long n = 0, bcast;

	while ((ring && ring_spsc_pop(&c->ring, &ev)) || ring_mpsc_pop(&c->inbox, &ev)) {
		if (mce_event_delivers(&ev) && !n++)
			first = ev.addr;
	}
	for (; c->q_head != c->q_tail; c->q_head++) {
		ev = c->queue[c->q_head % FWD_QUEUE];
		if (mce_event_delivers(&ev) && !n++)
			first = ev.addr;
	}
	bcast = c->bcast_owed + atomic_exchange(&c->fanout_bcast, 0);
	c->bcast_owed = 0;
	atomic_exchange(&c->fanout_notice, 0);	/* notices deliver nothing */
	if (!n && !bcast)
		return;
	atomic_fetch_add_explicit(&c->vm->undeliverable, n + bcast, memory_order_relaxed);
	if (!n)
		diag_say(c->vm->diag, "vcpu-%u: %lu broadcast(s) cannot be delivered: %s", c->id,
			 bcast, why);
	else
		diag_say(c->vm->diag, "vcpu-%u: %lu event(s) cannot be delivered (the first at %p%s): %s",
			 c->id, n + bcast, first, bcast ? ", and broadcasts" : "", why);
}

void forward_vcpu_detach(struct fwd_vcpu *c)
{
	sigbus_set_vcpu_ring(NULL, NULL, NULL, 0);
	fwd_self = NULL;
	/*
	 * Closed first, under the lock routing pushes under: nothing more
	 * is routed here, and what arrived after the vCPU's last look is
	 * drained below. Nothing is dropped unsaid.
	 */
	pthread_mutex_lock(&c->vm->lock);
	c->closed = true;
	pthread_mutex_unlock(&c->vm->lock);
	forward_discard_pending(c, true, "its vCPU has finished");
}

void forward_raise_ar(struct fwd_vcpu *c, void *hva, enum mce_event_origin origin)
{
	struct mce_event ev = {
		.kind = MCE_EVENT_AR, .origin = (uint8_t)origin, .fanout = true,
		.lsb = 12, .addr = hva,
	};
	sigset_t bus, old;

	/* The ring has one producer, the handler: keep it out while we push. */
	sigemptyset(&bus);
	sigaddset(&bus, SIGBUS);
	pthread_sigmask(SIG_BLOCK, &bus, &old);
	ring_spsc_push(&c->ring, &ev);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void forward_queue(struct fwd_vcpu *c, const struct mce_event *ev)
{
	if (c->q_tail - c->q_head >= FWD_QUEUE) {
		atomic_fetch_add_explicit(&c->q_overflows, 1, memory_order_relaxed);
		diag_say(c->vm->diag, "vcpu-%u: event queue full: lost %s at %p", c->id,
			 mce_event_kind_name(ev->kind), ev->addr);
		return;
	}
	c->queue[c->q_tail++ % FWD_QUEUE] = *ev;
}

struct fwd_entry *forward_log_new(struct fwd_vcpu *c)
{
	struct fwd_entry *e = &c->log[c->nr_log < FWD_LOG ? c->nr_log : FWD_LOG - 1];

	if (c->nr_log < FWD_LOG)
		c->nr_log++;
	memset(e, 0, sizeof(*e));
	return e;
}

unsigned int forward_log_count(const struct fwd_vcpu *c)
{
	return c->nr_log;
}

const struct fwd_entry *forward_log_at(const struct fwd_vcpu *c, unsigned int i)
{
	return i < c->nr_log ? &c->log[i] : NULL;
}

uint64_t forward_events_done(const struct fwd_vcpu *c)
{
	return c->done;
}

int forward_stop(struct fwd_vcpu *c, enum fwd_stop reason, int err, const char *fmt, ...)
{
	char text[ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	c->port->stop(c->ctx, reason, text);
	diag_say(c->vm->diag, "vcpu-%u: %s", c->id, text);
	return -err;
}

/* Where the event came from, for the diagnostic line. */
static const char *forward_origin_words(struct fwd_vcpu *c, const struct mce_event *ev)
{
	switch (ev->origin) {
	case MCE_ORIGIN_EMULATED:
		return "raised by mcefwd after an emulated access";
	case MCE_ORIGIN_MAIN:
		return "on the main thread, routed here";
	default:
		return c->port->eintr(c->ctx) ?
		       "on this vCPU's thread: KVM_RUN returned EINTR (KVM_EXIT_INTR)" :
		       "on this vCPU's thread";
	}
}

unsigned int forward_event_lsb(const struct mce_event *ev)
{
	return ev->lsb < 12 || ev->lsb > 40 ? 12 : (unsigned int)ev->lsb;
}

bool forward_same_again(struct fwd_vcpu *c, bool ar, uint64_t gpa, uint64_t rip)
{
	if (ar && gpa == c->last_gpa && rip == c->last_rip)
		c->repeats++;
	else
		c->repeats = 1;
	c->last_gpa = gpa;
	c->last_rip = rip;
	return c->repeats >= FWD_LIVELOCK;
}

/* An AR or AO: decide, encode, deliver, fan out. */
static int forward_error(struct fwd_vcpu *c, const struct mce_event *ev)
{
	struct fwd_vm *f = c->vm;
	enum mce_kind kind = ev->kind == MCE_EVENT_AO ? MCE_AO : MCE_AR;
	const char *kname = kind == MCE_AO ? "BUS_MCEERR_AO" : "BUS_MCEERR_AR";
	unsigned int lsb = forward_event_lsb(ev);
	void *hva = (void *)((uintptr_t)ev->addr & ~((1UL << lsb) - 1));
	bool emulated = ev->origin == MCE_ORIGIN_EMULATED;
	struct fwd_entry *e = forward_log_new(c);
	int r;

	e->ev = *ev;
	e->in_ram = f->port->gpa_of(f->ctx, hva, &e->gpa);
	e->verdict = mce_decide(kind, f->mcg_cap, e->in_ram, &e->reason);
	if (e->in_ram) {
		ledger_note(f, e->gpa, lsb);
		if (f->numa_node >= 0)
			diag_say(f->diag, "vcpu-%u: the poisoned page gpa 0x%lx is on NUMA node %d",
				 c->id, (unsigned long)e->gpa, f->port->node_of(f->ctx, hva));
	}
	switch (e->verdict) {
	case MCE_STOP_VM:
		if (e->in_ram)
			return forward_stop(c, FWD_STOP_NO_SER, EHWPOISON,
					    "%s at gpa 0x%lx (host address %p): %s: VM stopped",
					    kname, (unsigned long)e->gpa, ev->addr, e->reason);
		return forward_stop(c, FWD_STOP_NOT_RAM, EHWPOISON,
				    "%s at host address %p, which is not guest RAM: %s: VM stopped",
				    kname, ev->addr, e->reason);
	case MCE_IGNORE:
		diag_say(f->diag, "vcpu-%u: %s at %s %p ignored: %s", c->id, kname,
			 e->in_ram ? "guest page of host address" : "host address",
			 ev->addr, e->reason);
		deliver_note_done(c, 1);
		if (ev->fanout)
			route_fanout(c, e);
		return 0;
	case MCE_DELIVER:
		break;
	}
	e->lmce = deliver_lmce_enabled(c);
	r = mce_build(f->cfg.profile, kind, e->gpa, f->cfg.bank, f->mcg_cap, e->lmce, &e->mce);
	if (r < 0)
		return error_set(-r, "cannot encode the MCE for bank %u", f->cfg.bank);
	r = c->port->rip(c->ctx, &e->rip);
	if (r < 0)
		return r;
	if (forward_same_again(c, kind == MCE_AR, e->gpa, e->rip))
		return forward_stop(c, FWD_STOP_LIVELOCK, ELOOP,
				    "livelock: the guest touched poisoned gpa 0x%lx at rip 0x%lx %u times and never got past it (is the #MC dropped, e.g. MCi_CTL cleared?): VM stopped",
				    (unsigned long)e->gpa, (unsigned long)e->rip, c->repeats);
	r = deliver_mce(c, e);
	if (r < 0)
		return r;
	diag_say(f->diag, "vcpu-%u: SIGBUS %s si_addr %p si_addr_lsb %d %s", c->id, kname,
		 ev->addr, ev->lsb, forward_origin_words(c, ev));
	diag_say(f->diag, "vcpu-%u: %s%s at gpa 0x%lx: injected bank %u status 0x%llx mcg_status 0x%llx at rip 0x%lx",
		 c->id, kname, emulated ? " (raised by mcefwd)" : "",
		 (unsigned long)e->gpa, f->cfg.bank, (unsigned long long)e->mce.status,
		 (unsigned long long)e->mce.mcg_status, (unsigned long)e->rip);
	if (ev->fanout)
		route_fanout(c, e);
	return 0;
}

static int forward_event(struct fwd_vcpu *c, const struct mce_event *ev)
{
	switch (ev->kind) {
	case MCE_EVENT_NOTICE:
		deliver_note_done(c, 1);
		return 0;
	case MCE_EVENT_BROADCAST:
		return deliver_broadcast(c, ev);
	default:
		return forward_error(c, ev);
	}
}

void forward_take_routed(struct fwd_vcpu *c)
{
	struct mce_event ev;
	unsigned long notices;

	while (ring_mpsc_pop(&c->inbox, &ev))
		forward_queue(c, &ev);
	notices = atomic_exchange(&c->fanout_notice, 0);
	if (notices)
		deliver_note_done(c, notices);
	c->bcast_owed += atomic_exchange(&c->fanout_bcast, 0);
}

bool forward_next(struct fwd_vcpu *c, struct mce_event *ev)
{
	if (c->q_head != c->q_tail) {
		*ev = c->queue[c->q_head++ % FWD_QUEUE];
		return true;
	}
	if (!c->bcast_owed)
		return false;
	c->bcast_owed--;
	*ev = (struct mce_event){ .kind = MCE_EVENT_BROADCAST, .origin = MCE_ORIGIN_FANOUT };
	return true;
}

int forward_vcpu_service(struct fwd_vcpu *c)
{
	struct mce_event ev;
	int r;

	if (fwd_is_qemu(&c->vm->cfg))
		return forward_qemu_service(c);
	while (ring_spsc_pop(&c->ring, &ev))
		forward_queue(c, &ev);
	forward_take_routed(c);
	/*
	 * One delivery per guest entry, the queue before the broadcasts
	 * owed; what delivers nothing (a notice, an ignored error) is handled
	 * at once, so nothing behind it waits for the guest's next exit.
	 */
	while (forward_vcpu_pending(c)) {
		r = deliver_ready(c);
		if (r <= 0)
			return r;
		forward_next(c, &ev);
		r = forward_event(c, &ev);
		if (r < 0 || c->waiting_mcip)
			return r;
	}
	return 0;
}

bool forward_vcpu_pending(const struct fwd_vcpu *c)
{
	return c->q_head != c->q_tail || c->bcast_owed;
}

bool forward_vcpu_has_work(struct fwd_vcpu *c)
{
	bool news = c->done != c->done_at_halt;

	/*
	 * An event finished since the guest last halted: it may have read its
	 * mailbox just before, so let it look again before sleeping.
	 */
	c->done_at_halt = c->done;
	return news || forward_vcpu_pending(c);
}

void forward_vcpu_release(struct fwd_vcpu *c)
{
	c->release_gate = true;
}

void forward_reset(struct fwd_vm *f)
{
	pthread_mutex_lock(&f->lock);
	f->nr_lost = 0;
	f->nr_owners = 0;
	pthread_mutex_unlock(&f->lock);
	for (unsigned int i = 0; i < f->nr_vcpus; i++) {
		struct fwd_vcpu *c = f->vcpus[i];

		c->q_head = c->q_tail = 0;
		c->bcast_owed = 0;
		c->waiting_mcip = c->release_gate = false;
		c->done = c->delivered = c->done_at_halt = 0;
		c->last_gpa = c->last_rip = 0;
		c->repeats = 0;
	}
}
