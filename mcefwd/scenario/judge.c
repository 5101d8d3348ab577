// SPDX-License-Identifier: GPL-2.0-only
/*
 * The judge: what the guest reported against what it had to report, field
 * by field. The expected records are what mce_build() makes of the
 * scenario's expected errors, the same code that built the delivered ones.
 */
#include <stdio.h>
#include <string.h>

#include "mcefwd/mce/encode.h"
#include "mcefwd/util/ktap.h"
#include "guest-payloads/abi.h"
#include "mcefwd/scenario/qemu_rules.h"
#include "mcefwd/scenario/scn_int.h"
#include "mcefwd/util/error.h"
#include "mcefwd/vmm/vcpu.h"
#include "mcefwd/vmm/vm.h"

/* ---- judging: what the guest saw against what it had to see ---- */

static void judge_diff(struct run_result *res, struct ktap *k, unsigned int rec,
		     const char *field, uint64_t saw, uint64_t want)
{
	if (saw == want)
		return;
	ktap_diag(k, "record %u: %s: guest saw 0x%llx, expected 0x%llx", rec, field,
		  (unsigned long long)saw, (unsigned long long)want);
	run_fail(res, "record %u: %s is 0x%llx, expected 0x%llx", rec, field,
		 (unsigned long long)saw, (unsigned long long)want);
}

/*
 * One record against what it had to be: want is what mce_build() makes of
 * the expected error (its bank, status, addr, misc, MCG_STATUS), rip the
 * guest RIP at delivery (0: not checked).
 */
static void judge_check_record(struct vm *vm, struct ktap *k, struct run_result *res,
			     unsigned int vcpu, unsigned int idx, unsigned int *taken,
			     const struct mcefwd_mce_record *m, struct kvm_x86_mce want,
			     uint64_t rip)
{
	unsigned int rec = idx + 1, b = want.bank;
	char name[64];

	/*
	 * KVM raises #MC only for an error with MCi_STATUS.UC; any other is
	 * just logged in the bank, MCG_STATUS untouched, and the guest finds it
	 * by polling (a record with seq 0).
	 */
	if (!(want.status & MCE_STATUS_UC)) {
		ktap_diag(k, "vcpu-%u record %u: no UC bit, so KVM logs it without #MC: the guest must find it by polling",
			  vcpu, rec);
		want.mcg_status = 0;
		snprintf(name, sizeof(name), "vcpu-%u seq (0: found by polling)", vcpu);
		judge_diff(res, k, rec, name, m->seq, 0);
	} else {
		/* seq counts the #MCs taken: records found by polling have none. */
		snprintf(name, sizeof(name), "vcpu-%u seq", vcpu);
		judge_diff(res, k, rec, name, m->seq, ++*taken);
	}
	snprintf(name, sizeof(name), "vcpu-%u MCG_CAP", vcpu);
	if (vm->vcpus[vcpu]->mcg_cap_kvm != vm->cfg.mcg_cap)
		ktap_diag(k, "vcpu-%u: KVM stored MCG_CAP 0x%lx for the 0x%lx set with KVM_X86_SETUP_MCE", vcpu,
			  (unsigned long)vm->vcpus[vcpu]->mcg_cap_kvm, (unsigned long)vm->cfg.mcg_cap);
	judge_diff(res, k, rec, name, m->mcg_cap, vm->vcpus[vcpu]->mcg_cap_kvm);
	snprintf(name, sizeof(name), "vcpu-%u MCG_STATUS", vcpu);
	judge_diff(res, k, rec, name, m->mcg_status, want.mcg_status);
	snprintf(name, sizeof(name), "vcpu-%u banks reported", vcpu);
	judge_diff(res, k, rec, name, m->nr_banks, vm->cfg.mcg_cap & MCE_MCG_CAP_COUNT_MASK);
	if (b >= MCEFWD_MAX_BANKS)
		return;
	snprintf(name, sizeof(name), "vcpu-%u bank %u STATUS", vcpu, b);
	judge_diff(res, k, rec, name, m->bank[b].status, want.status);
	snprintf(name, sizeof(name), "vcpu-%u bank %u ADDR", vcpu, b);
	judge_diff(res, k, rec, name, m->bank[b].addr, want.addr);
	snprintf(name, sizeof(name), "vcpu-%u bank %u MISC", vcpu, b);
	judge_diff(res, k, rec, name, m->bank[b].misc, want.misc);
	for (unsigned int o = 0; o < m->nr_banks && o < MCEFWD_MAX_BANKS; o++) {
		if (o == b)
			continue;
		snprintf(name, sizeof(name), "vcpu-%u bank %u STATUS.VAL", vcpu, o);
		judge_diff(res, k, rec, name, m->bank[o].status & MCE_STATUS_VAL, 0);
	}
	/* The #MC lands where the guest was when it was delivered. */
	if (rip && m->seq) {
		snprintf(name, sizeof(name), "vcpu-%u RIP", vcpu);
		judge_diff(res, k, rec, name, m->rip, rip);
	}
}

/*
 * The delivery RIP of the n-th #MC raised for vCPU v (n from 1, a record's
 * seq; 0: none). Errors only logged raised none: under a QEMU model an AMD
 * AO is logged and the AR after it raises the first #MC.
 */
static uint64_t judge_log_rip(const struct vcpu *v, uint64_t n)
{
	for (unsigned int i = 0, k = 0; i < forward_log_count(&v->fwd); i++) {
		const struct fwd_entry *e = forward_log_at(&v->fwd, i);

		if (e->verdict == MCE_DELIVER && e->raised && ++k == n)
			return e->rip;
	}
	return 0;
}

/* vCPU v must report exactly want[0..n) (built by the caller). */
static void judge_expect_records(struct vm *vm, struct ktap *k, struct run_result *res,
			       unsigned int vcpu, const struct kvm_x86_mce *want, unsigned int n)
{
	const struct vcpu *v = vm->vcpus[vcpu];
	unsigned int nr = v->res.nr_mce, taken = 0;

	if (nr != n)
		run_fail(res, "vcpu-%u took %u #MC, expected %u", vcpu, nr, n);
	for (unsigned int i = 0; i < nr && i < n && i < VCPU_MAX_MCE; i++) {
		if (vcpu == 0 || vm->nr_vcpus > 1)
			observe_show(vm, k, vcpu, &v->res.mce[i]);
		judge_check_record(vm, k, res, vcpu, i, &taken, &v->res.mce[i], want[i],
				   judge_log_rip(v, v->res.mce[i].seq));
	}
}

static int judge_build(struct vm *vm, const struct scn_mce *e, bool lmce, struct kvm_x86_mce *want)
{
	const struct fwd_config *fc = &vm->cfg.fwd;
	int r = mce_build(fc->profile, e->kind, MCEFWD_GPA_TEST + e->page * MCEFWD_PAGE_SIZE,
			  fc->bank, vm->cfg.mcg_cap, lmce, want);

	if (!r && e->over)
		want->status |= MCE_STATUS_OVER;
	return r;
}

/* Whether the other vCPUs get the bank-1 broadcast, by the run's model. */
static bool judge_wants_broadcast(struct vm *vm, bool lmce)
{
	const struct fwd_config *fc = &vm->cfg.fwd;

	if (fwd_is_qemu(fc))
		return !lmce && qemu_model_broadcasts(fc->model, vm->fwd.amd, vm->fwd.cpuid_version);
	return mce_wants_broadcast(fc->profile, vm->fwd.cpuid_version, lmce);
}

static void judge_records(struct vm *vm, const struct scenario *sc, struct ktap *k,
			  struct run_result *res)
{
	const struct fwd_config *fc = &vm->cfg.fwd;
	struct kvm_x86_mce want[SCN_MAX_MCE], bcast;
	bool wants_bcast = judge_wants_broadcast(vm, sc->others == SCN_OTHERS_LMCE);
	unsigned int last = vm->nr_vcpus - 1;
	int owner;

	for (unsigned int i = 0; i < sc->nr_mce; i++)
		if (judge_build(vm, &sc->mce[i], sc->others == SCN_OTHERS_LMCE, &want[i]) < 0)
			run_fail(res, "cannot build the expected record %u", i + 1);
	/* cpu_x86_inject_mce's bank-1 error, whatever the encoding of the first. */
	bcast = mce_broadcast_record();

	switch (sc->others) {
	case SCN_OTHERS_ANY:
		judge_expect_records(vm, k, res, 0, want, sc->nr_mce);
		break;
	case SCN_OTHERS_BROADCAST:
	case SCN_OTHERS_LMCE:
		judge_expect_records(vm, k, res, 0, want, sc->nr_mce);
		ktap_diag(k, "other vCPUs: %s", wants_bcast ?
			  "each must see QEMU's broadcast bank-1 error" :
			  "none may see an error (no broadcast for this profile or with LMCE)");
		for (unsigned int i = 1; i < vm->nr_vcpus; i++)
			judge_expect_records(vm, k, res, i, &bcast, wants_bcast);
		break;
	case SCN_OTHERS_AO_ROUTE: {
		/* The AO for the last vCPU's page: who must see it? */
		struct scn_mce ao = { MCE_AO, 1 + last, false };
		struct kvm_x86_mce w;
		bool all = fc->ao_target == FWD_AO_ALL;

		judge_build(vm, &ao, false, &w);
		owner = fc->ao_target == FWD_AO_OWNER ? (int)last :
			all ? -1 : fc->ao_target;
		ktap_diag(k, "AO for vcpu-%u's page, --ao-target %s: %s", last,
			  all ? "all" : fc->ao_target == FWD_AO_OWNER ? "page-owner" : "N",
			  all ? "every vCPU gets it" : "one vCPU gets it, the others the broadcast or nothing");
		for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
			if (all || (int)i == owner)
				judge_expect_records(vm, k, res, i, &w, 1);
			else
				judge_expect_records(vm, k, res, i, &bcast, wants_bcast);
		}
		break;
	}
	}
}

/* Every page the guest had poisoned is accounted lost, a huge page whole. */
static void judge_lost(struct vm *vm, struct scn_run *s, struct ktap *k,
			   struct run_result *res)
{
	uint64_t unit = vm->mem.kind == MEM_HUGETLB ? vm->mem.page_size : MCEFWD_PAGE_SIZE;
	uint64_t want = 0, got = ledger_lost_bytes(&vm->fwd);

	for (unsigned int i = 0; i < s->nr_pages && !s->sc->vmm_memory && !s->sc->reset &&
	     !(inject_method(s->method)->flags & INJECT_F_MIGRATES); i++) {
		uint64_t base = s->pages[i].gpa & ~(unit - 1);
		bool seen = false;

		for (unsigned int j = 0; j < i; j++)
			seen |= (s->pages[j].gpa & ~(unit - 1)) == base;
		if (!seen)
			want += unit;
	}
	ktap_diag(k, "guest memory accounted lost: %lu KiB%s", (unsigned long)(got >> 10),
		  s->sc->reset ? " (after the reset replaced it)" : "");
	if (got != want)
		run_fail(res, "the host accounted %lu KiB of guest memory lost, expected %lu KiB",
			 (unsigned long)(got >> 10), (unsigned long)(want >> 10));
}

/* The stop a QEMU outcome is, and its words. */
static enum fwd_stop judge_qemu_stop(enum scn_outcome o, const char **words)
{
	switch (o) {
	case SCN_RESET:
		*words = "QEMU to reset the guest";
		return FWD_STOP_QEMU_RESET;
	case SCN_QEMU_EXIT:
		*words = "QEMU to exit with status 1";
		return FWD_STOP_QEMU_EXIT;
	case SCN_QEMU_SIGBUS:
		*words = "QEMU to die of a second SIGBUS";
		return FWD_STOP_QEMU_SIGBUS;
	case SCN_REFAULT:
		*words = "the access to fault again and again";
		return FWD_STOP_REFAULT;
	default:
		*words = "?";
		return FWD_STOP_NONE;
	}
}

void judge_scenario(struct vm *vm, void *priv, struct ktap *k, struct run_result *res)
{
	struct scn_run *s = priv;
	struct vcpu *v0 = vm->vcpus[0];
	struct qemu_guest g = { .amd = vm->fwd.amd, .cpuid_version = vm->fwd.cpuid_version };
	struct scenario sc_model;
	const struct scenario *sc = &sc_model;
	const char *why, *words;
	enum scn_outcome want;
	char model[32];

	/* The expectation of the run's model: the scenario's own, or QEMU's (qemu_rules.c). */
	qemu_rules_for_model(&vm->cfg.fwd, &g, vm->kvm->caps.mcg_cap_supported, vm->fwd.amd,
			     s->sc, s->method, &sc_model, &why);
	if (why)
		ktap_diag(k, "under %s: %s", fwd_model_name(&vm->cfg.fwd, model, sizeof(model)), why);
	want = !(inject_method(s->method)->flags & INJECT_F_NO_MEMORY) && sc->outcome_poisoned ?
	       sc->outcome_poisoned : sc->outcome;
	if (s->failure[0])
		run_fail(res, "%s", s->failure);
	for (unsigned int i = 1; i < vm->nr_vcpus; i++) {
		/*
		 * vcpu-0's error ends the whole VM (stopped, shut down), as in
		 * QEMU: another vCPU still running then is stopped with it,
		 * which is no failure of its own (a timeout still is).
		 */
		if (want != SCN_EXIT && vm->vcpus[i]->res.outcome == VCPU_STOPPED &&
		    !res->timed_out)
			continue;
		run_judge_vcpu(vm, vm->vcpus[i], 0, res);
	}
	switch (want) {
	case SCN_EXIT:
		run_judge_vcpu(vm, v0, 0, res);
		break;
	case SCN_SHUTDOWN:
		if (v0->res.outcome != VCPU_SHUTDOWN)
			run_fail(res, "expected KVM to shut the guest down, but vcpu-0 %s%s%s",
				 vcpu_outcome_name(v0->res.outcome),
				 v0->res.error[0] ? ": " : "", v0->res.error);
		else
			ktap_diag(k, "as expected: %s", v0->res.error);
		break;
	case SCN_LIVELOCK:
		if (v0->res.outcome != VCPU_MCE_STOPPED || v0->res.stop != FWD_STOP_LIVELOCK)
			run_fail(res, "expected a livelock on the poisoned page, but vcpu-0 %s%s%s",
				 vcpu_outcome_name(v0->res.outcome),
				 v0->res.error[0] ? ": " : "", v0->res.error);
		else
			ktap_diag(k, "as expected: %s", v0->res.error);
		break;
	case SCN_MCE_STOP:
		if (v0->res.outcome != VCPU_MCE_STOPPED)
			run_fail(res, "expected the VM to be stopped for a hardware memory error, but vcpu-0 %s%s%s",
				 vcpu_outcome_name(v0->res.outcome),
				 v0->res.error[0] ? ": " : "", v0->res.error);
		else
			ktap_diag(k, "as expected: %s", v0->res.error);
		break;
	case SCN_RESET:
	case SCN_QEMU_EXIT:
	case SCN_QEMU_SIGBUS:
	case SCN_REFAULT: {
		enum fwd_stop stop = judge_qemu_stop(want, &words);

		if (v0->res.outcome != VCPU_MCE_STOPPED || v0->res.stop != stop)
			run_fail(res, "expected %s, but vcpu-0 %s%s%s", words,
				 vcpu_outcome_name(v0->res.outcome),
				 v0->res.error[0] ? ": " : "", v0->res.error);
		else
			ktap_diag(k, "as expected: %s", v0->res.error);
		break;
	}
	}
	judge_records(vm, sc, k, res);
	judge_lost(vm, s, k, res);
	if (v0->res.reports_failed)
		run_fail(res, "vcpu-0: %u guest check(s) failed", v0->res.reports_failed);
	observe_summarize(vm, v0, res);
	/* Unpoison while guest RAM is still mapped. */
	poison_cleanup(s, k, res);
}
