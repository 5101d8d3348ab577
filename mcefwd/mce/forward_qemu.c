// SPDX-License-Identifier: GPL-2.0-only
/*
 * Forwarding as a QEMU release does it (--model=qemu-X), rule for rule,
 * from QEMU 7.2's source unless said:
 *
 * - accel/kvm/kvm-all.c kvm_on_sigbus_vcpu keeps one MCEERR SIGBUS per
 *   vCPU thread (have_sigbus_pending) until KVM_RUN returns; a second one
 *   before that makes the handler re-raise SIGBUS (sigbus_reraise), and
 *   QEMU dies of it. kvm_cpu_exec then hands the one it kept to
 *   kvm_arch_on_sigbus_vcpu. kvm_on_sigbus gives an AO that arrived on the
 *   main thread to first_cpu, vCPU 0.
 * - target/i386/kvm/kvm.c kvm_arch_on_sigbus_vcpu: with MCG_SER_P and
 *   si_addr in guest RAM, kvm_mce_inject with the guest-physical address
 *   of si_addr itself (si_addr_lsb is never read). Otherwise an AR is
 *   hardware_memory_error: exit(1); an AO is ignored.
 * - kvm_mce_inject -> cpu_x86_inject_mce -> do_inject_x86_mce on that vCPU
 *   (mce/qemu_model.c), then, with MCE_INJECT_BROADCAST (broadcasting
 *   family and model, no LMCE), bank 1 = VAL|UC with MCIP|RIPV through the
 *   same do_inject_x86_mce on every other vCPU.
 * - The guest's state is what cpu_synchronize_state reads (the MCE MSRs,
 *   CR4); what do_inject_x86_mce wrote goes back with kvm_put_msrs, and
 *   the #MC with kvm_put_vcpu_events (port raise_mc).
 *
 * Nothing waits for the guest: no queue held back, no MCIP gate, so an
 * error QEMU drops is dropped here. Where QEMU would re-fault for ever (an
 * AR dropped on a page really poisoned) the same AR at the same RIP
 * FWD_LIVELOCK times is stopped and said: an observed outcome, not a rule.
 *
 * Where the model is narrower than QEMU: have_sigbus_pending is one flag
 * for the whole process, so two vCPU threads each taking a SIGBUS before
 * either's KVM_RUN returned would kill QEMU; here only a second SIGBUS on
 * the same vCPU thread does (one drain of its ring), since the moments the
 * two VMMs' threads look differ anyway. exit(1) and a guest reset end the
 * VM with that outcome (enum fwd_stop); mcefwd itself goes on to the next
 * test, and a reset is not rebooted.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mcefwd/mce/deliver.h"
#include "mcefwd/mce/forward_int.h"
#include "mcefwd/util/error.h"

#define CR4_MCE		(1ULL << 6)
#define MSR_BANK(b, i)	(MCEFWD_MSR_IA32_MC0_CTL + 4 * (b) + (i))

const char *fwd_model_name(const struct fwd_config *cfg, char *buf, size_t size)
{
	if (!fwd_is_qemu(cfg))
		snprintf(buf, size, "mcefwd");
	else
		snprintf(buf, size, "qemu-%u.%u", cfg->model.major, cfg->model.minor);
	return buf;
}

int fwd_model_parse(const char *s, struct qemu_release *out)
{
	unsigned int major = 0, minor = 0;
	int n = 0;

	if (!strcmp(s, "mcefwd")) {
		*out = (struct qemu_release){ 0, 0 };
		return 0;
	}
	if (sscanf(s, "qemu-%2u%n.%2u%n", &major, &n, &minor, &n) < 1 || s[n] ||
	    major < 2 || major > 99 || (major == 2 && minor < 11))
		return -EINVAL;
	/* qemu-7: the 7.x Debian 12 ships, 7.2, whose rules the lab checks. */
	if (!strcmp(s, "qemu-7"))
		minor = 2;
	*out = (struct qemu_release){ major, minor };
	return 0;
}

/* What cpu_synchronize_state gives do_inject_x86_mce of this vCPU: MCG_*, bank, CR4. */
static int fq_read(struct fwd_vcpu *c, unsigned int bank, struct qemu_mca *st)
{
	uint64_t cr4;
	int r = 0;

	memset(st, 0, sizeof(*st));
	st->mcg_cap = c->vm->mcg_cap;
	st->mcg_ctl = ~0ULL;
	if (st->mcg_cap & MCE_MCG_CTL_P)
		r = c->port->read_msr(c->ctx, MCEFWD_MSR_IA32_MCG_CTL, &st->mcg_ctl);
	if (!r)
		r = c->port->read_msr(c->ctx, MCEFWD_MSR_IA32_MCG_STATUS, &st->mcg_status);
	for (unsigned int i = 0; !r && i < 4 && bank < (st->mcg_cap & MCE_MCG_CAP_COUNT_MASK) &&
	     bank < MCE_KVM_MAX_BANKS; i++)
		r = c->port->read_msr(c->ctx, MSR_BANK(bank, i), &st->bank[bank][i]);
	if (!r)
		r = c->port->cr4(c->ctx, &cr4);
	if (r < 0)
		return r;
	st->cr4_mce = cr4 & CR4_MCE;
	return 0;
}

/*
 * do_inject_x86_mce on this vCPU, and what QEMU then puts into KVM: the
 * bank and MCG_STATUS written, #MC queued when it raised one. e->mce is
 * the error; e->verdict and e->reason say what became of it.
 */
static int fq_inject(struct fwd_vcpu *c, struct fwd_entry *e, enum qemu_inject *out)
{
	unsigned int b = e->mce.bank;
	struct qemu_mca st;
	enum qemu_inject what;
	int r = fq_read(c, b, &st);

	if (r < 0)
		return r;
	what = qemu_model_inject(&st, b, e->mce.status, e->mce.mcg_status, e->mce.addr,
				 e->mce.misc, 0, &e->reason);
	*out = what;
	switch (what) {
	case QEMU_INJECT_RAISED:
	case QEMU_INJECT_LOGGED:
	case QEMU_INJECT_OVER: {
		uint32_t idx[4] = { MSR_BANK(b, 1), MSR_BANK(b, 2), MSR_BANK(b, 3),
				    MCEFWD_MSR_IA32_MCG_STATUS };
		uint64_t val[4] = { st.bank[b][1], st.bank[b][2], st.bank[b][3], st.mcg_status };

		/* What the guest will read: the bank as written, OVER and all. */
		e->mce.status = st.bank[b][1];
		e->mce.addr = st.bank[b][2];
		e->mce.misc = st.bank[b][3];
		e->mce.mcg_status = st.mcg_status;
		e->verdict = MCE_DELIVER;
		r = c->port->rip(c->ctx, &e->rip);
		if (!r)
			r = c->port->write_msrs(c->ctx, idx, val, 4);
		if (!r && what == QEMU_INJECT_RAISED)
			r = c->port->raise_mc(c->ctx);
		e->raised = what == QEMU_INJECT_RAISED;
		if (r < 0)
			return r;
		c->delivered++;
		break;
	}
	case QEMU_INJECT_IGNORED:
	case QEMU_INJECT_DISABLED:
		e->verdict = MCE_IGNORE;
		break;
	case QEMU_INJECT_RESET:
		e->verdict = MCE_STOP_VM;
		break;
	case QEMU_INJECT_BAD:
		return error_set(EINVAL, "bank %u is beyond MCG_CAP's %u banks", b,
				 (unsigned int)(c->vm->mcg_cap & MCE_MCG_CAP_COUNT_MASK));
	}
	deliver_note_done(c, 1);
	return 0;
}

/* The words for what do_inject_x86_mce did, and its MEMORY_FAILURE event. */
static void fq_say(struct fwd_vcpu *c, const struct fwd_entry *e, const char *what,
		   enum qemu_inject how)
{
	const char *event = qemu_model_event(how);
	char model[32];

	diag_say(c->vm->diag, "vcpu-%u: %s: %s %s: %s%s%s%s", c->id,
		 fwd_model_name(&c->vm->cfg, model, sizeof(model)), what,
		 e->verdict == MCE_DELIVER ? "injected" : "not injected", e->reason,
		 event ? " (MEMORY_FAILURE action " : "", event ? event : "", event ? ")" : "");
	if (e->verdict == MCE_DELIVER)
		diag_say(c->vm->diag, "vcpu-%u: bank %u status 0x%llx addr 0x%llx mcg_status 0x%llx at rip 0x%lx",
			 c->id, e->mce.bank, (unsigned long long)e->mce.status,
			 (unsigned long long)e->mce.addr, (unsigned long long)e->mce.mcg_status,
			 (unsigned long)e->rip);
}

static int fq_reset(struct fwd_vcpu *c, const char *what, const struct fwd_entry *e)
{
	return forward_stop(c, FWD_STOP_QEMU_RESET, ECONNRESET,
			    "%s: %s: QEMU resets the guest (qemu_system_reset_request): VM stopped",
			    what, e->reason);
}

/* cpu_x86_inject_mce's MCE_INJECT_BROADCAST: the others get bank 1, or a notice. */
static void fq_fanout(struct fwd_vcpu *c, bool bcast)
{
	struct fwd_vm *f = c->vm;
	struct mce_event out = { .kind = bcast ? MCE_EVENT_BROADCAST : MCE_EVENT_NOTICE,
				 .origin = MCE_ORIGIN_FANOUT };

	for (unsigned int i = 0; i < f->nr_vcpus; i++)
		if (i != c->id)
			route_to(f, i, &out);
}

static int fq_broadcast(struct fwd_vcpu *c, const struct mce_event *ev)
{
	struct fwd_entry *e = forward_log_new(c);
	enum qemu_inject how;
	int r;

	e->ev = *ev;
	e->broadcast = true;
	e->mce = mce_broadcast_record();
	r = fq_inject(c, e, &how);
	if (r < 0)
		return r;
	fq_say(c, e, "the broadcast bank-1 error", how);
	if (how == QEMU_INJECT_RESET)
		return fq_reset(c, "the broadcast bank-1 error", e);
	return 0;
}

/* Guest memory an event names is lost whatever QEMU makes of it (the ledger is mcefwd's). */
static bool fq_note_lost(struct fwd_vm *f, const struct mce_event *ev, uint64_t *gpa)
{
	if (!f->port->gpa_of(f->ctx, ev->addr, gpa))
		return false;
	ledger_note(f, *gpa, forward_event_lsb(ev));
	return true;
}

/* kvm_arch_on_sigbus_vcpu for an AR or AO. */
static int fq_error(struct fwd_vcpu *c, const struct mce_event *ev)
{
	struct fwd_vm *f = c->vm;
	enum mce_kind kind = ev->kind == MCE_EVENT_AO ? MCE_AO : MCE_AR;
	const char *kname = kind == MCE_AO ? "BUS_MCEERR_AO" : "BUS_MCEERR_AR";
	struct fwd_entry *e = forward_log_new(c);
	enum qemu_inject how;
	char what[96];
	int r;

	e->ev = *ev;
	/* si_addr exactly: QEMU never reads si_addr_lsb. */
	e->in_ram = fq_note_lost(f, ev, &e->gpa);
	if (!(f->mcg_cap & MCE_MCG_SER_P) || !e->in_ram) {
		e->reason = !e->in_ram ? "not guest RAM" : "MCG_CAP lacks SER_P";
		if (kind == MCE_AR) {
			e->verdict = MCE_STOP_VM;
			return forward_stop(c, FWD_STOP_QEMU_EXIT, EHWPOISON,
					    "%s at host address %p (%s): QEMU's hardware_memory_error says 'QEMU got Hardware memory error at addr %p' and exits with status 1",
					    kname, ev->addr, e->reason, ev->addr);
		}
		e->verdict = MCE_IGNORE;
		diag_say(f->diag, "vcpu-%u: %s at host address %p ignored (%s): MEMORY_FAILURE hypervisor ignore",
			 c->id, kname, ev->addr, e->reason);
		deliver_note_done(c, 1);
		if (ev->fanout)
			fq_fanout(c, false);
		return 0;
	}
	e->lmce = deliver_lmce_enabled(c);
	r = mce_build(f->cfg.profile, kind, e->gpa, f->cfg.bank, f->mcg_cap, e->lmce, &e->mce);
	if (r < 0)
		return error_set(-r, "cannot encode the MCE for bank %u", f->cfg.bank);
	if (kind == MCE_AR) {
		uint64_t rip;

		r = c->port->rip(c->ctx, &rip);
		if (r < 0)
			return r;
		if (forward_same_again(c, true, e->gpa, rip))
			return forward_stop(c, FWD_STOP_REFAULT, ELOOP,
					    "the guest touched poisoned gpa 0x%lx at rip 0x%lx %u times: QEMU would let it fault again for ever: stopped",
					    (unsigned long)e->gpa, (unsigned long)rip, c->repeats);
	}
	diag_say(f->diag, "vcpu-%u: SIGBUS %s si_addr %p (gpa 0x%lx)%s", c->id, kname, ev->addr,
		 (unsigned long)e->gpa, ev->origin == MCE_ORIGIN_MAIN ?
		 ": on the main thread, to vCPU 0 (kvm_on_sigbus)" : "");
	r = fq_inject(c, e, &how);
	if (r < 0)
		return r;
	snprintf(what, sizeof(what), "%s at gpa 0x%lx", kname, (unsigned long)e->gpa);
	fq_say(c, e, what, how);
	if (how == QEMU_INJECT_RESET)
		return fq_reset(c, what, e);
	if (ev->fanout)
		fq_fanout(c, qemu_model_broadcasts(f->cfg.model, f->amd, f->cpuid_version) &&
			  !e->lmce);
	return 0;
}

int forward_qemu_service(struct fwd_vcpu *c)
{
	struct mce_event ev, first = { 0 };
	unsigned int sigbus = 0;
	uint64_t gpa;
	int r;

	while (ring_spsc_pop(&c->ring, &ev)) {
		/* kvm_on_sigbus_vcpu: one pending SIGBUS; the second kills QEMU. */
		if (ev.origin == MCE_ORIGIN_VCPU && ++sigbus == 1)
			first = ev;
		if (sigbus == 2) {
			struct mce_event more = ev;

			fq_note_lost(c->vm, &first, &gpa);
			do
				fq_note_lost(c->vm, &more, &gpa);
			while (ring_spsc_pop(&c->ring, &more));
			/* Nothing of this drain reaches the guest: QEMU is gone (the queue was empty). */
			c->q_tail = c->q_head;
			return forward_stop(c, FWD_STOP_QEMU_SIGBUS, EHWPOISON,
					    "a second SIGBUS (%s at %p) before KVM_RUN returned for the first (%s at %p): kvm_on_sigbus_vcpu refuses it and QEMU re-raises SIGBUS and dies of it",
					    mce_event_kind_name(ev.kind), ev.addr,
					    mce_event_kind_name(first.kind), first.addr);
		}
		forward_queue(c, &ev);
	}
	forward_take_routed(c);
	/* All at once, in order, as QEMU injects each the moment it has it. */
	while (forward_next(c, &ev)) {
		if (ev.kind == MCE_EVENT_NOTICE) {
			deliver_note_done(c, 1);
			continue;
		}
		r = ev.kind == MCE_EVENT_BROADCAST ? fq_broadcast(c, &ev) : fq_error(c, &ev);
		if (r < 0)
			return r;
	}
	return 0;
}
