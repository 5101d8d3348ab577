// SPDX-License-Identifier: GPL-2.0-only
#include "guest-payloads/abi.h"
#include "mcefwd/mce/deliver.h"
#include "mcefwd/mce/forward_int.h"
#include "mcefwd/util/error.h"

#define MCG_STATUS_MCIP		(1ULL << 2)
#define MSR_IA32_MCG_EXT_CTL	0x4d0	/* bit 0: LMCE_EN (Intel SDM) */

int deliver_ready(struct fwd_vcpu *c)
{
	uint64_t mcg_status = 0;
	int r;

	if (c->waiting_mcip && !c->release_gate) {
		r = c->port->read_msr(c->ctx, MCEFWD_MSR_IA32_MCG_STATUS, &mcg_status);
		if (r < 0)
			return r;
		if (mcg_status & MCG_STATUS_MCIP)
			return 0;	/* the guest is still handling the last one */
	}
	c->waiting_mcip = false;
	c->release_gate = false;
	return 1;
}

bool deliver_lmce_enabled(struct fwd_vcpu *c)
{
	uint64_t ext = 0;

	if (!(c->vm->mcg_cap & MCE_MCG_LMCE_P))
		return false;
	return c->port->read_msr(c->ctx, MSR_IA32_MCG_EXT_CTL, &ext) == 0 && (ext & 1);
}

static void deliver_mailbox(struct fwd_vcpu *c)
{
	struct mcefwd_mailbox *mb = c->port->mailbox(c->ctx);

	if (!mb)
		return;
	__atomic_store_n(&mb->events_delivered, c->delivered, __ATOMIC_RELEASE);
	__atomic_store_n(&mb->events_done, c->done, __ATOMIC_RELEASE);
}

void deliver_note_done(struct fwd_vcpu *c, unsigned long n)
{
	c->done += n;
	deliver_mailbox(c);
}

int deliver_mce(struct fwd_vcpu *c, struct fwd_entry *e)
{
	int r = c->port->set_mce(c->ctx, &e->mce);
	if (r < 0)
		return r;
	c->delivered++;
	/* KVM raises #MC only for an uncorrected error; any other it logs. */
	e->raised = e->mce.status & MCE_STATUS_UC;
	c->waiting_mcip = true;
	deliver_note_done(c, 1);
	return 0;
}

int deliver_broadcast(struct fwd_vcpu *c, const struct mce_event *ev)
{
	struct fwd_entry *e = forward_log_new(c);
	int r;

	e->ev = *ev;
	e->broadcast = true;
	e->verdict = MCE_DELIVER;
	e->reason = "broadcast";
	r = mce_build_broadcast(c->vm->cfg.profile, &e->mce);
	if (r < 0)
		return error_set(-r, "cannot encode the broadcast MCE");
	r = c->port->rip(c->ctx, &e->rip);
	if (r < 0)
		return r;
	r = deliver_mce(c, e);
	if (r < 0)
		return r;
	diag_say(c->vm->diag, "vcpu-%u: broadcast: injected bank %u status 0x%llx mcg_status 0x%llx at rip 0x%lx",
		 c->id, e->mce.bank, (unsigned long long)e->mce.status,
		 (unsigned long long)e->mce.mcg_status, (unsigned long)e->rip);
	return 0;
}
