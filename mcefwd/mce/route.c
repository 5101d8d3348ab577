// SPDX-License-Identifier: GPL-2.0-only
/*
 * Routing: events between threads. An AO stowed on a thread that is not a
 * vCPU goes where --ao-target says; what one vCPU's error owes the others
 * (QEMU's broadcast on Intel, or a notice) fans out from it.
 */
#include "mcefwd/mce/forward_int.h"

/*
 * What one vCPU's error fans out to the others (a broadcast, a notice) is
 * counted, not queued: every broadcast is the same bank-1 error and a
 * notice only counts, so a vCPU kept off a CPU for long owes any number
 * of them and loses none. Anything else goes through its inbox, which
 * may be full (false).
 */
static bool route_hand_over(struct fwd_vcpu *c, const struct mce_event *ev)
{
	switch (ev->kind) {
	case MCE_EVENT_BROADCAST:
		atomic_fetch_add(&c->fanout_bcast, 1);
		return true;
	case MCE_EVENT_NOTICE:
		atomic_fetch_add(&c->fanout_notice, 1);
		return true;
	default:
		return ring_mpsc_push(&c->inbox, ev);
	}
}

void route_to(struct fwd_vm *f, unsigned int i, const struct mce_event *ev)
{
	struct fwd_vcpu *c = f->vcpus[i];
	bool closed, pushed;

	if (c == fwd_self) {
		/* Our own queue, from our own thread, which is still running. */
		forward_queue(c, ev);
		return;
	}
	/*
	 * Handed over under the lock that guards closed: the vCPU closes,
	 * then drains what waits for it (forward_vcpu_detach), so an event
	 * is either drained there or refused here, never left behind unsaid.
	 */
	pthread_mutex_lock(&f->lock);
	closed = c->closed;
	pushed = !closed && route_hand_over(c, ev);
	pthread_mutex_unlock(&f->lock);
	if (closed) {
		if (mce_event_delivers(ev)) {
			atomic_fetch_add_explicit(&f->undeliverable, 1, memory_order_relaxed);
			diag_say(f->diag, "vcpu-%u has finished: the %s at %p cannot be delivered to it",
				 i, mce_event_kind_name(ev->kind), ev->addr);
		}
		return;
	}
	if (!pushed) {
		atomic_fetch_add_explicit(&f->unroutable, 1, memory_order_relaxed);
		diag_say(f->diag, "vcpu-%u: inbox full: event at %p lost", i, ev->addr);
		return;
	}
	c->port->wake(c->ctx);
}

void route_fanout(struct fwd_vcpu *c, const struct fwd_entry *e)
{
	struct fwd_vm *f = c->vm;
	bool bcast = e->verdict == MCE_DELIVER &&
		mce_wants_broadcast(f->cfg.profile, f->cpuid_version, e->lmce);
	struct mce_event out = {
		.kind = bcast ? MCE_EVENT_BROADCAST : MCE_EVENT_NOTICE,
		.origin = MCE_ORIGIN_FANOUT,
		.addr = e->ev.addr, .seq = e->ev.seq,
	};

	for (unsigned int i = 0; i < f->nr_vcpus; i++)
		if (i != c->id)
			route_to(f, i, &out);
}

void route_note_owner(struct fwd_vcpu *c, uint64_t gpa)
{
	struct fwd_vm *f = c->vm;
	uint64_t page = gpa & ~(uint64_t)(MCEFWD_PAGE_SIZE - 1);
	unsigned int i;

	pthread_mutex_lock(&f->lock);
	for (i = 0; i < f->nr_owners && f->owners[i].gpa != page; i++)
		;
	if (i < FWD_MAX_OWNERS) {
		f->owners[i].gpa = page;
		f->owners[i].vcpu = c->id;
		if (i == f->nr_owners)
			f->nr_owners++;
	}
	pthread_mutex_unlock(&f->lock);
}

/* The vCPU that last said it touches the page behind hva, or -1. */
static int route_owner(struct fwd_vm *f, const void *hva)
{
	uint64_t gpa;
	int owner = -1;

	if (!f->port->gpa_of(f->ctx, hva, &gpa))
		return -1;
	gpa &= ~(uint64_t)(MCEFWD_PAGE_SIZE - 1);
	pthread_mutex_lock(&f->lock);
	for (unsigned int i = 0; i < f->nr_owners; i++)
		if (f->owners[i].gpa == gpa)
			owner = (int)f->owners[i].vcpu;
	pthread_mutex_unlock(&f->lock);
	return owner;
}

void route_main_drain(struct fwd_vm *f)
{
	struct mce_event ev;

	while (ring_mpsc_pop(&f->process, &ev)) {
		int target = f->cfg.ao_target;

		ev.origin = MCE_ORIGIN_MAIN;
		if (target == FWD_AO_ALL) {
			/* Each vCPU gets it itself: nobody passes it on. */
			ev.fanout = false;
			for (unsigned int i = 0; i < f->nr_vcpus; i++)
				route_to(f, i, &ev);
			atomic_fetch_add(&f->main_routed, 1);
			continue;
		}
		if (target == FWD_AO_OWNER) {
			target = route_owner(f, ev.addr);
			if (target < 0) {
				diag_say(f->diag, "AO at %p: no vCPU reported touching that page: vcpu-0 gets it",
					 ev.addr);
				target = 0;
			} else {
				diag_say(f->diag, "AO at %p: routed to its page's owner, vcpu-%d",
					 ev.addr, target);
			}
		}
		route_to(f, (unsigned int)target, &ev);
		atomic_fetch_add(&f->main_routed, 1);
	}
}
