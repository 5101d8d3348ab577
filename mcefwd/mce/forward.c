// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kvm.h>

#include "guest-payloads/abi.h"
#include "mcefwd/util/error.h"
#include "mcefwd/mce/forward.h"
#include "mcefwd/vmm/kick.h"
#include "mcefwd/vmm/kvm.h"
#include "mcefwd/mce/sigbus.h"
#include "mcefwd/vmm/vcpu.h"
#include "mcefwd/vmm/vm.h"

#define MCG_STATUS_MCIP (1ULL << 2)

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

void forward_vcpu_attach(struct vcpu *v)
{
	sigbus_set_vcpu_ring(&v->fwd.ring, v->run, &v->requests, VCPU_REQ_WORK);
}

/* What ev is, without the routing flags: BUS_MCEERR_AR/AO or FWD_CODE_*. */
static int fwd_code(const struct sigbus_event *ev)
{
	return ev->code & ~(FWD_NO_FANOUT | FWD_FROM_MAIN);
}

static const char *fwd_code_name(int code)
{
	return code == BUS_MCEERR_AR ? "AR" : code == BUS_MCEERR_AO ? "AO" :
	       code == FWD_CODE_BROADCAST ? "broadcast" : "notice";
}

/* Whether ev would reach the guest: anything but a notice. */
static bool forward_delivers(const struct sigbus_event *ev)
{
	return fwd_code(ev) != FWD_CODE_NOTICE;
}

void forward_discard_pending(struct vcpu *v, bool ring, const char *why)
{
	struct fwd_vcpu *f = &v->fwd;
	struct sigbus_event ev;
	const void *first = NULL;
	unsigned long n = 0, bcast;

	while ((ring && ring_spsc_pop(&f->ring, &ev)) || ring_mpsc_pop(&f->inbox, &ev)) {
		if (forward_delivers(&ev) && !n++)
			first = ev.addr;
	}
	for (; f->q_head != f->q_tail; f->q_head++) {
		ev = f->queue[f->q_head % FWD_QUEUE];
		if (forward_delivers(&ev) && !n++)
			first = ev.addr;
	}
	bcast = f->bcast_owed + atomic_exchange(&f->fanout_bcast, 0);
	f->bcast_owed = 0;
	atomic_exchange(&f->fanout_notice, 0);	/* notices inject nothing */
	if (!n && !bcast)
		return;
	atomic_fetch_add_explicit(&v->vm->fwd.undeliverable, n + bcast, memory_order_relaxed);
	if (!n)
		vm_diag(v->vm, "vcpu-%u: %lu broadcast(s) cannot be delivered: %s", v->id, bcast,
			why);
	else
		vm_diag(v->vm, "vcpu-%u: %lu event(s) cannot be delivered (the first at %p%s): %s",
			v->id, n + bcast, first, bcast ? ", and broadcasts" : "", why);
}

void forward_vcpu_detach(struct vcpu *v)
{
	sigbus_set_vcpu_ring(NULL, NULL, NULL, 0);
	/*
	 * What arrived after the vCPU's last look: v->done is set, so
	 * nothing more is routed here (forward_route checks it under
	 * vm->lock, where it pushes). Nothing is dropped unsaid.
	 */
	forward_discard_pending(v, true, "its vCPU has finished");
}

void forward_raise_ar(struct vcpu *v, void *hva, bool emulated)
{
	struct sigbus_event ev = {
		.code = BUS_MCEERR_AR, .lsb = 12, .addr = hva,
		.seq = emulated ? UINT64_MAX : 0,
	};
	sigset_t bus, old;

	/* The ring has one producer, the handler: keep it out while we push. */
	sigemptyset(&bus);
	sigaddset(&bus, SIGBUS);
	pthread_sigmask(SIG_BLOCK, &bus, &old);
	ring_spsc_push(&v->fwd.ring, &ev);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void forward_queue(struct vcpu *v, const struct sigbus_event *ev)
{
	struct fwd_vcpu *f = &v->fwd;

	if (f->q_tail - f->q_head >= FWD_QUEUE) {
		atomic_fetch_add_explicit(&f->q_overflows, 1, memory_order_relaxed);
		vm_diag(v->vm, "vcpu-%u: event queue full: lost %s at %p", v->id,
			fwd_code_name(fwd_code(ev)), ev->addr);
		return;
	}
	f->queue[f->q_tail++ % FWD_QUEUE] = *ev;
}

static void forward_mailbox(struct vcpu *v)
{
	struct mcefwd_mailbox *mb = vm_mailbox(v->vm, v->id);

	if (!mb)
		return;
	__atomic_store_n(&mb->events_injected, v->fwd.injected, __ATOMIC_RELEASE);
	__atomic_store_n(&mb->events_done, v->fwd.done, __ATOMIC_RELEASE);
}

/* n more events finished for this vCPU, and its guest's mailbox says so. */
static void forward_note_done(struct vcpu *v, unsigned long n)
{
	v->fwd.done += n;
	forward_mailbox(v);
}

static struct fwd_entry *forward_log(struct vcpu *v)
{
	struct fwd_vcpu *f = &v->fwd;
	struct fwd_entry *e = &f->log[f->nr_log < FWD_LOG ? f->nr_log : FWD_LOG - 1];

	if (f->nr_log < FWD_LOG)
		f->nr_log++;
	memset(e, 0, sizeof(*e));
	return e;
}

static int forward_mcg_status(struct vcpu *v, uint64_t *val)
{
	return vcpu_get_msr(v, MCEFWD_MSR_IA32_MCG_STATUS, val);
}

#define MSR_IA32_MCG_EXT_CTL	0x4d0	/* bit 0: LMCE_EN (Intel SDM) */

/* Whether the guest opted in to local machine checks (QEMU reads it back too). */
static bool forward_lmce_enabled(struct vcpu *v)
{
	uint64_t ext = 0;

	if (!(v->vm->cfg.mcg_cap & MCE_MCG_LMCE_P))
		return false;
	return vcpu_get_msr(v, MSR_IA32_MCG_EXT_CTL, &ext) == 0 && (ext & 1);
}

/*
 * What one vCPU's error fans out to the others (a broadcast, a notice) is
 * counted, not queued: every broadcast is the same bank-1 error and a
 * notice only counts, so a vCPU kept off a CPU for long owes any number
 * of them and loses none. Anything else goes through its inbox, which
 * may be full (false).
 */
static bool forward_hand_over(struct vcpu *v, int code, const struct sigbus_event *ev)
{
	switch (code) {
	case FWD_CODE_BROADCAST:
		atomic_fetch_add(&v->fwd.fanout_bcast, 1);
		return true;
	case FWD_CODE_NOTICE:
		atomic_fetch_add(&v->fwd.fanout_notice, 1);
		return true;
	default:
		return ring_mpsc_push(&v->fwd.inbox, ev);
	}
}

/* Hands ev to vCPU i and kicks it; quietly skips a finished vCPU's notice. */
static void forward_route(struct vm *vm, unsigned int i, const struct sigbus_event *ev)
{
	struct vcpu *v = vm->vcpus[i];
	int code = fwd_code(ev);
	bool done, pushed;

	if (v == vcpu_self) {
		/* Our own queue, from our own thread, which is still running. */
		forward_queue(v, ev);
		return;
	}
	/*
	 * Handed over under the lock that guards done: the vCPU sets done,
	 * then drains what waits for it (forward_vcpu_detach), so an event is
	 * either drained there or refused here, never left behind unsaid.
	 */
	pthread_mutex_lock(&vm->lock);
	done = v->done;
	pushed = !done && forward_hand_over(v, code, ev);
	pthread_mutex_unlock(&vm->lock);
	if (done) {
		if (forward_delivers(ev)) {
			atomic_fetch_add_explicit(&vm->fwd.undeliverable, 1, memory_order_relaxed);
			vm_diag(vm, "vcpu-%u has finished: the %s at %p cannot be delivered to it",
				i, fwd_code_name(code), ev->addr);
		}
		return;
	}
	if (!pushed) {
		atomic_fetch_add_explicit(&vm->fwd.unroutable, 1, memory_order_relaxed);
		vm_diag(vm, "vcpu-%u: inbox full: event at %p lost", i, ev->addr);
		return;
	}
	kick(v, VCPU_REQ_WORK);
}

/*
 * After a vCPU handled an error routed to it alone: every other vCPU gets
 * the broadcast bank-1 error (Intel profiles, no LMCE: QEMU's rule) or a
 * notice that it was handled elsewhere.
 */
static void forward_fanout(struct vcpu *v, const struct fwd_entry *e)
{
	struct vm *vm = v->vm;
	bool bcast = e->verdict == MCE_INJECT &&
		mce_wants_broadcast(vm->cfg.fwd.profile, vm->fwd.family, vm->fwd.model, e->lmce);
	struct sigbus_event out = {
		.code = (bcast ? FWD_CODE_BROADCAST : FWD_CODE_NOTICE) | FWD_NO_FANOUT,
		.addr = e->ev.addr, .seq = e->ev.seq,
	};

	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (i != v->id)
			forward_route(vm, i, &out);
}

/* Where the guest will take the #MC: RIP once any pending exit is done. */
static int forward_rip(struct vcpu *v, uint64_t *rip)
{
	struct kvm_regs regs;
	int r;

	r = vcpu_complete_exit(v);
	if (r < 0)
		return r;
	if (v->sync_regs) {
		*rip = v->run->s.regs.regs.rip;
		return 0;
	}
	r = kvm_ioctl(v->fd, KVM_GET_REGS, &regs);
	if (r < 0)
		return r;
	*rip = regs.rip;
	return 0;
}

/* Hands e->mce to KVM and tells the guest's mailbox; the next waits for MCIP. */
static int forward_set_mce(struct vcpu *v, struct fwd_entry *e)
{
	int r = kvm_ioctl(v->fd, KVM_X86_SET_MCE, &e->mce);

	if (r < 0)
		return r;
	v->fwd.injected++;
	v->fwd.waiting_mcip = true;
	forward_note_done(v, 1);
	return 0;
}

/* The bank-1 error another vCPU's error gave this one. */
static int forward_broadcast(struct vcpu *v, const struct sigbus_event *ev)
{
	struct fwd_entry *e = forward_log(v);
	int r;

	e->ev = *ev;
	e->broadcast = true;
	e->verdict = MCE_INJECT;
	e->reason = "broadcast";
	r = mce_build_broadcast(v->vm->cfg.fwd.profile, &e->mce);
	if (r < 0)
		return error_set(-r, "cannot encode the broadcast MCE");
	r = forward_rip(v, &e->rip);
	if (r < 0)
		return r;
	r = forward_set_mce(v, e);
	if (r < 0)
		return r;
	vm_diag(v->vm, "vcpu-%u: broadcast: injected bank %u status 0x%llx mcg_status 0x%llx at rip 0x%lx",
		v->id, e->mce.bank, (unsigned long long)e->mce.status,
		(unsigned long long)e->mce.mcg_status, (unsigned long)e->rip);
	return 0;
}

uint64_t forward_loss_unit(unsigned int lsb, size_t backing_page)
{
	uint64_t unit = 1ULL << lsb;

	return unit < backing_page ? backing_page : unit;
}

/* Remembers the poisoned memory behind an event in guest RAM, once. */
static void forward_note_lost(struct vm *vm, uint64_t gpa, unsigned int lsb)
{
	uint64_t unit = vm->mem.kind == MEM_HUGETLB ?
		forward_loss_unit(lsb, vm->mem.page_size) : forward_loss_unit(lsb, 4096);
	uint64_t base = gpa & ~(unit - 1);
	struct fwd_vm *f = &vm->fwd;

	pthread_mutex_lock(&vm->lock);
	for (unsigned int i = 0; i < f->nr_lost; i++) {
		if (base >= f->lost[i].gpa && base < f->lost[i].gpa + f->lost[i].size)
			goto out;
	}
	if (f->nr_lost < FWD_MAX_LOST)
		f->lost[f->nr_lost++] = (struct fwd_lost){ .gpa = base, .size = unit };
	else
		f->lost_overflow++;
out:
	pthread_mutex_unlock(&vm->lock);
}

uint64_t forward_lost_bytes(struct vm *vm)
{
	uint64_t sum = 0;

	pthread_mutex_lock(&vm->lock);
	for (unsigned int i = 0; i < vm->fwd.nr_lost; i++)
		sum += vm->fwd.lost[i].size;
	pthread_mutex_unlock(&vm->lock);
	return sum;
}

static int forward_event(struct vcpu *v, const struct sigbus_event *ev_in)
{
	const struct fwd_config *cfg = &v->vm->cfg.fwd;
	struct sigbus_event evc = *ev_in;
	const struct sigbus_event *ev = &evc;
	bool fanout = !(evc.code & FWD_NO_FANOUT);
	enum mce_kind kind;
	const char *kname = fwd_code(ev_in) == BUS_MCEERR_AO ? "BUS_MCEERR_AO" : "BUS_MCEERR_AR";
	unsigned int lsb = ev->lsb < 12 || ev->lsb > 40 ? 12 : (unsigned int)ev->lsb;
	void *hva = (void *)((uintptr_t)ev->addr & ~((1UL << lsb) - 1));
	struct fwd_entry *e;
	int r;

	evc.code = fwd_code(&evc);
	if (evc.code == FWD_CODE_NOTICE) {
		forward_note_done(v, 1);
		return 0;
	}
	if (evc.code == FWD_CODE_BROADCAST)
		return forward_broadcast(v, ev);
	kind = evc.code == BUS_MCEERR_AR ? MCE_AR : MCE_AO;
	e = forward_log(v);
	e->ev = *ev;
	e->emulated = ev->seq == UINT64_MAX;
	e->from_main = (ev_in->code & FWD_FROM_MAIN) != 0;
	e->in_ram = mem_hva_to_gpa(&v->vm->mem, hva, &e->gpa);
	e->verdict = mce_decide(kind, v->vm->cfg.mcg_cap, e->in_ram, &e->reason);
	if (e->in_ram) {
		forward_note_lost(v->vm, e->gpa, lsb);
		if (v->vm->cfg.numa_node >= 0)
			vm_diag(v->vm, "vcpu-%u: the poisoned page gpa 0x%lx is on NUMA node %d",
				v->id, (unsigned long)e->gpa, mem_node_of(hva));
	}
	switch (e->verdict) {
	case MCE_STOP_VM:
		if (e->in_ram)
			snprintf(v->res.error, sizeof(v->res.error),
				 "%s at gpa 0x%lx (host address %p): %s: VM stopped",
				 kname, (unsigned long)e->gpa, ev->addr, e->reason);
		else
			snprintf(v->res.error, sizeof(v->res.error),
				 "%s at host address %p, which is not guest RAM: %s: VM stopped",
				 kname, ev->addr, e->reason);
		v->res.outcome = VCPU_MCE_STOPPED;
		vm_diag(v->vm, "vcpu-%u: %s", v->id, v->res.error);
		return -EHWPOISON;
	case MCE_IGNORE:
		vm_diag(v->vm, "vcpu-%u: %s at %s %p ignored: %s", v->id, kname,
			e->in_ram ? "guest page of host address" : "host address",
			ev->addr, e->reason);
		forward_note_done(v, 1);
		if (fanout)
			forward_fanout(v, e);
		return 0;
	case MCE_INJECT:
		break;
	}
	e->lmce = forward_lmce_enabled(v);
	r = mce_build(cfg->profile, kind, e->gpa, cfg->bank, v->vm->cfg.mcg_cap,
		      e->lmce, &e->mce);
	if (r < 0)
		return error_set(-r, "cannot encode the MCE for bank %u", cfg->bank);
	r = forward_rip(v, &e->rip);
	if (r < 0)
		return r;
	if (kind == MCE_AR && e->gpa == v->fwd.last_gpa && e->rip == v->fwd.last_rip) {
		if (++v->fwd.repeats >= FWD_LIVELOCK) {
			snprintf(v->res.error, sizeof(v->res.error),
				 "livelock: the guest touched poisoned gpa 0x%lx at rip 0x%lx %u times and never got past it (is the #MC dropped, e.g. MCi_CTL cleared?): VM stopped",
				 (unsigned long)e->gpa, (unsigned long)e->rip, v->fwd.repeats);
			v->res.outcome = VCPU_MCE_STOPPED;
			vm_diag(v->vm, "vcpu-%u: %s", v->id, v->res.error);
			return -ELOOP;
		}
	} else {
		v->fwd.repeats = 1;
	}
	v->fwd.last_gpa = e->gpa;
	v->fwd.last_rip = e->rip;
	r = forward_set_mce(v, e);
	if (r < 0)
		return r;
	vm_diag(v->vm, "vcpu-%u: SIGBUS %s si_addr %p si_addr_lsb %d %s", v->id, kname,
		ev->addr, ev->lsb, e->emulated ? "raised by mcefwd after an emulated access" :
		ev_in->code & FWD_FROM_MAIN ? "on the main thread, routed here" :
		v->eintr ? "on this vCPU's thread: KVM_RUN returned EINTR (KVM_EXIT_INTR)" :
		"on this vCPU's thread");
	vm_diag(v->vm, "vcpu-%u: %s%s at gpa 0x%lx: injected bank %u status 0x%llx mcg_status 0x%llx at rip 0x%lx",
		v->id, kname, e->emulated ? " (raised by mcefwd)" : "",
		(unsigned long)e->gpa, cfg->bank, (unsigned long long)e->mce.status,
		(unsigned long long)e->mce.mcg_status, (unsigned long)e->rip);
	if (fanout)
		forward_fanout(v, e);
	return 0;
}

int forward_vcpu_service(struct vcpu *v)
{
	struct fwd_vcpu *f = &v->fwd;
	struct sigbus_event ev;
	uint64_t mcg_status = 0;
	unsigned long notices;
	int r;

	while (ring_spsc_pop(&f->ring, &ev))
		forward_queue(v, &ev);
	while (ring_mpsc_pop(&f->inbox, &ev))
		forward_queue(v, &ev);
	notices = atomic_exchange(&f->fanout_notice, 0);
	if (notices)
		forward_note_done(v, notices);
	f->bcast_owed += atomic_exchange(&f->fanout_bcast, 0);
	/*
	 * One injection per guest entry, the queue before the broadcasts
	 * owed; what injects nothing (a notice, an ignored error) is handled
	 * at once, so nothing behind it waits for the guest's next exit.
	 */
	while (f->q_head != f->q_tail || f->bcast_owed) {
		if (f->waiting_mcip && !f->release_gate) {
			r = forward_mcg_status(v, &mcg_status);
			if (r < 0)
				return r;
			if (mcg_status & MCG_STATUS_MCIP)
				return 0;	/* the guest is still handling the last one */
		}
		f->waiting_mcip = false;
		f->release_gate = false;
		if (f->q_head != f->q_tail) {
			ev = f->queue[f->q_head++ % FWD_QUEUE];
		} else {
			f->bcast_owed--;
			ev = (struct sigbus_event){ .code = FWD_CODE_BROADCAST | FWD_NO_FANOUT };
		}
		r = forward_event(v, &ev);
		if (r < 0 || f->waiting_mcip)
			return r;
	}
	return 0;
}

bool forward_vcpu_pending(const struct vcpu *v)
{
	return v->fwd.q_head != v->fwd.q_tail || v->fwd.bcast_owed;
}

bool forward_vcpu_has_work(struct vcpu *v)
{
	struct fwd_vcpu *f = &v->fwd;
	bool news = f->done != f->done_at_halt;

	/*
	 * An event finished since the guest last halted: it may have read its
	 * mailbox just before, so let it look again before sleeping.
	 */
	f->done_at_halt = f->done;
	return news || forward_vcpu_pending(v);
}

void forward_vcpu_release(struct vcpu *v)
{
	v->fwd.release_gate = true;
}

void forward_note_owner(struct vcpu *v, uint64_t gpa)
{
	struct fwd_vm *f = &v->vm->fwd;
	uint64_t page = gpa & ~(uint64_t)(MCEFWD_PAGE_SIZE - 1);
	unsigned int i;

	pthread_mutex_lock(&v->vm->lock);
	for (i = 0; i < f->nr_owners && f->owners[i].gpa != page; i++)
		;
	if (i < FWD_MAX_OWNERS) {
		f->owners[i].gpa = page;
		f->owners[i].vcpu = v->id;
		if (i == f->nr_owners)
			f->nr_owners++;
	}
	pthread_mutex_unlock(&v->vm->lock);
}

/* The vCPU that last said it touches the page behind hva, or -1. */
static int forward_owner(struct vm *vm, const void *hva)
{
	uint64_t gpa;
	int owner = -1;

	if (!mem_hva_to_gpa(&vm->mem, hva, &gpa))
		return -1;
	gpa &= ~(uint64_t)(MCEFWD_PAGE_SIZE - 1);
	pthread_mutex_lock(&vm->lock);
	for (unsigned int i = 0; i < vm->fwd.nr_owners; i++)
		if (vm->fwd.owners[i].gpa == gpa)
			owner = (int)vm->fwd.owners[i].vcpu;
	pthread_mutex_unlock(&vm->lock);
	return owner;
}

void forward_main_drain(struct vm *vm)
{
	const struct fwd_config *cfg = &vm->cfg.fwd;
	struct sigbus_event ev;

	while (ring_mpsc_pop(&vm->fwd.process, &ev)) {
		int target = cfg->ao_target;

		ev.code |= FWD_FROM_MAIN;
		if (target == FWD_AO_ALL) {
			/* Each vCPU gets it itself: nobody passes it on. */
			ev.code |= FWD_NO_FANOUT;
			for (unsigned int i = 0; i < vm->nr_vcpus; i++)
				forward_route(vm, i, &ev);
			continue;
		}
		if (target == FWD_AO_OWNER) {
			target = forward_owner(vm, ev.addr);
			if (target < 0) {
				vm_diag(vm, "AO at %p: no vCPU reported touching that page: vcpu-0 gets it",
					ev.addr);
				target = 0;
			} else {
				vm_diag(vm, "AO at %p: routed to its page's owner, vcpu-%d", ev.addr,
					target);
			}
		}
		forward_route(vm, (unsigned int)target, &ev);
	}
}

void forward_reset(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->fwd.nr_lost = 0;
	vm->fwd.nr_owners = 0;
	pthread_mutex_unlock(&vm->lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct fwd_vcpu *f = &vm->vcpus[i]->fwd;

		f->q_head = f->q_tail = 0;
		f->bcast_owed = 0;
		f->waiting_mcip = f->release_gate = false;
		f->done = f->injected = f->done_at_halt = 0;
		f->last_gpa = f->last_rip = 0;
		f->repeats = 0;
	}
}

unsigned long forward_lost(const struct vm *vm)
{
	/* A full inbox counts its loss in the ring (unroutable is the same event). */
	unsigned long n = ring_mpsc_overflows(&vm->fwd.process) +
			  vm->fwd.lost_overflow;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		const struct fwd_vcpu *f = &vm->vcpus[i]->fwd;

		n += ring_spsc_overflows(&f->ring) + ring_mpsc_overflows(&f->inbox) +
		     atomic_load_explicit(&f->q_overflows, memory_order_relaxed);
	}
	return n;
}
