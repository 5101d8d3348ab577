// SPDX-License-Identifier: GPL-2.0-only
/* What the guest saw: the "# ... saw #MC" lines, the one-line summary, the matrix's data. */
#include <stdio.h>
#include <string.h>

#include "mcefwd/mce/encode.h"
#include "mcefwd/util/ktap.h"
#include "mcefwd/vmm/loader.h"
#include "guest-payloads/abi.h"
#include "mcefwd/scenario/scn_int.h"
#include "mcefwd/util/error.h"
#include "mcefwd/vmm/vcpu.h"
#include "mcefwd/vmm/vm.h"

void observe_show(struct vm *vm, struct ktap *k, unsigned int vcpu,
		     const struct mcefwd_mce_record *m)
{
	unsigned int b = vm->cfg.fwd.bank;
	char st[160], mcg[64], what[64];

	/* The bank that holds the error: the broadcast's bank 1 on other vCPUs. */
	for (unsigned int i = 0; i < m->nr_banks && i < MCEFWD_MAX_BANKS; i++)
		if ((m->bank[i].status & MCE_STATUS_VAL) && !(m->bank[b].status & MCE_STATUS_VAL))
			b = i;
	if (b >= m->nr_banks) {
		ktap_diag(k, "guest saw #MC %lu: bank %u not reported", (unsigned long)m->seq, b);
		return;
	}
	mce_status_describe(m->bank[b].status, mce_profile_is_amd(vm->cfg.fwd.profile),
			    st, sizeof(st));
	mce_mcg_status_describe(m->mcg_status, mcg, sizeof(mcg));
	if (vcpu && m->seq)
		snprintf(what, sizeof(what), "vcpu-%u saw #MC %lu", vcpu, (unsigned long)m->seq);
	else if (vcpu)
		snprintf(what, sizeof(what), "vcpu-%u found by polling (no #MC)", vcpu);
	else if (m->seq)
		snprintf(what, sizeof(what), "guest saw #MC %lu", (unsigned long)m->seq);
	else
		snprintf(what, sizeof(what), "guest found by polling (no #MC)");
	ktap_diag(k, "%s: MCG_STATUS 0x%lx (%s), bank %u STATUS 0x%016lx (%s) ADDR 0x%lx MISC 0x%lx, RIP 0x%lx",
		  what, (unsigned long)m->mcg_status, mcg, b,
		  (unsigned long)m->bank[b].status, st, (unsigned long)m->bank[b].addr,
		  (unsigned long)m->bank[b].misc, (unsigned long)m->rip);
}


/*
 * Whether a payload symbol labels the load that touches a poisoned page:
 * the guests name each such instruction NAME_load or NAME_loadN.
 */
static int observe_is_load_label(const char *name, uint64_t value, void *ctx)
{
	const char *p = strstr(name, "_load");

	if (value != *(const uint64_t *)ctx)
		return 0;
	for (; p; p = strstr(p + 1, "_load")) {
		const char *tail = p + strlen("_load");

		while (*tail >= '0' && *tail <= '9')
			tail++;
		if (!*tail)
			return 1;
	}
	return 0;
}

/* Where the #MC landed, in words that do not change between builds. */
static void observe_rip_words(struct vm *vm, const struct vcpu *v0,
			  const struct mcefwd_mce_record *m, char *buf, size_t len)
{
	uint64_t rip = m->rip;

	if (!m->seq) {
		snprintf(buf, len, "none (no #MC)");
		return;
	}
	if (loader_for_each_symbol(vm->image, vm->image_len, observe_is_load_label, &rip) == 1) {
		snprintf(buf, len, "the faulting load");
		return;
	}
	for (unsigned int i = 0; i < forward_log_count(&v0->fwd); i++) {
		const struct fwd_entry *e = forward_log_at(&v0->fwd, i);

		if (e->verdict == MCE_DELIVER && e->rip == m->rip) {
			snprintf(buf, len, "where the vCPU was at injection");
			return;
		}
	}
	snprintf(buf, len, "elsewhere");
}

/*
 * How a QEMU model's VM ended, in the words a real QEMU's runs use
 * (qemu/scenario.c); NULL for a stop of mcefwd's own model.
 */
static const char *observe_qemu_end(enum fwd_stop stop)
{
	switch (stop) {
	case FWD_STOP_QEMU_RESET:
		return "reset";
	case FWD_STOP_QEMU_EXIT:
		return "QEMU exit";
	case FWD_STOP_QEMU_SIGBUS:
		return "QEMU killed by SIGBUS";
	case FWD_STOP_REFAULT:
		return "re-fault loop";
	default:
		return NULL;
	}
}

static void observe_result(struct vm *vm, const struct vcpu *v0, struct run_result *res)
{
	struct run_observation *o = &res->obs;
	size_t used = 0;

	memset(o, 0, sizeof(*o));
	o->valid = true;
	o->nr_mce = v0->res.nr_mce;
	for (unsigned int i = 0; i < vm->nr_vcpus && used < sizeof(o->vcpus) - 8; i++)
		if (vm->vcpus[i]->res.nr_mce)
			used += (size_t)snprintf(o->vcpus + used, sizeof(o->vcpus) - used, "%s%u",
						 used ? "," : "", i);
	if (!used)
		snprintf(o->vcpus, sizeof(o->vcpus), "none");
	switch (v0->res.outcome) {
	case VCPU_SHUTDOWN:
		snprintf(o->outcome, sizeof(o->outcome), "shutdown");
		snprintf(o->note, sizeof(o->note), "KVM shut the guest down (triple fault)");
		break;
	case VCPU_MCE_STOPPED:
		if (observe_qemu_end(v0->res.stop)) {
			snprintf(o->outcome, sizeof(o->outcome), "%s", observe_qemu_end(v0->res.stop));
			snprintf(o->note, sizeof(o->note), "%.*s", (int)sizeof(o->note) - 1,
				 v0->res.error);
		} else if (v0->res.stop == FWD_STOP_LIVELOCK) {
			snprintf(o->outcome, sizeof(o->outcome), "livelock");
			snprintf(o->note, sizeof(o->note), "the guest kept touching the page, every #MC dropped");
		} else {
			snprintf(o->outcome, sizeof(o->outcome), "stopped");
			snprintf(o->note, sizeof(o->note), "%s",
				 v0->res.stop == FWD_STOP_NOT_RAM ?
				 "AR outside guest RAM: VM stopped" : "AR without MCG_SER_P: VM stopped");
		}
		break;
	default:
		break;
	}
	if (o->nr_mce) {
		const struct mcefwd_mce_record *m =
			&v0->res.mce[(o->nr_mce < VCPU_MAX_MCE ? o->nr_mce : VCPU_MAX_MCE) - 1];
		unsigned int b = vm->cfg.fwd.bank;

		for (unsigned int i = 0; i < m->nr_banks && i < MCEFWD_MAX_BANKS; i++)
			if ((m->bank[i].status & MCE_STATUS_VAL) &&
			    !(m->bank[b].status & MCE_STATUS_VAL))
				b = i;
		o->bank = b;
		o->mcg_status = m->mcg_status;
		if (b < MCEFWD_MAX_BANKS) {
			o->status = m->bank[b].status;
			o->addr = m->bank[b].addr;
			o->misc = m->bank[b].misc;
		}
		observe_rip_words(vm, v0, m, o->rip, sizeof(o->rip));
		if (!o->outcome[0])
			snprintf(o->outcome, sizeof(o->outcome), "%s", m->seq ? "#MC" : "polled");
	} else if (!o->outcome[0]) {
		snprintf(o->outcome, sizeof(o->outcome), "nothing");
		snprintf(o->note, sizeof(o->note), "%lu event(s) ignored or dropped",
			 (unsigned long)forward_events_done(&v0->fwd));
	}
}

void observe_summarize(struct vm *vm, const struct vcpu *v0, struct run_result *res)
{
	const struct mcefwd_mce_record *m;
	unsigned int b = vm->cfg.fwd.bank;

	observe_result(vm, v0, res);

	switch (v0->res.outcome) {
	case VCPU_SHUTDOWN:
		snprintf(res->seen, sizeof(res->seen), "%u #MC, then shutdown",
			 v0->res.nr_mce);
		return;
	case VCPU_MCE_STOPPED:
		if (observe_qemu_end(v0->res.stop))
			snprintf(res->seen, sizeof(res->seen), "%u #MC, then %s", v0->res.nr_mce,
				 observe_qemu_end(v0->res.stop));
		else
			snprintf(res->seen, sizeof(res->seen), "no #MC: VM stopped");
		return;
	default:
		break;
	}
	if (!v0->res.nr_mce) {
		snprintf(res->seen, sizeof(res->seen), "no #MC (%lu event(s) ignored or dropped)",
			 (unsigned long)forward_events_done(&v0->fwd));
		return;
	}
	m = &v0->res.mce[(v0->res.nr_mce < VCPU_MAX_MCE ? v0->res.nr_mce : VCPU_MAX_MCE) - 1];
	if (b >= m->nr_banks)
		return;
	snprintf(res->seen, sizeof(res->seen),
		 "%u #MC; last: MCG_STATUS 0x%lx bank %u STATUS 0x%016lx ADDR 0x%lx MISC 0x%lx",
		 v0->res.nr_mce, (unsigned long)m->mcg_status, b,
		 (unsigned long)m->bank[b].status, (unsigned long)m->bank[b].addr,
		 (unsigned long)m->bank[b].misc);
}

