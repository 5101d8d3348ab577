// SPDX-License-Identifier: GPL-2.0-only
/*
 * What QEMU must do with each scenario, by version, derived from its source
 * (QEMU 7.2 and later; the older rules are noted where they differ):
 *
 * - system/cpus.c qemu_init_sigbus: prctl(PR_MCE_KILL, PR_MCE_KILL_SET,
 *   PR_MCE_KILL_EARLY), always. A frame poisoned while QEMU maps it gives
 *   QEMU an AO at once, on its main thread; accel/kvm/kvm-all.c
 *   kvm_on_sigbus hands it to the first vCPU. Touching the page later gives
 *   the vCPU thread the AR (kvm_on_sigbus_vcpu).
 * - target/i386/kvm/kvm.c kvm_arch_on_sigbus_vcpu: with MCG_SER_P in QEMU's
 *   own MCG_CAP and the address in guest RAM, kvm_mce_inject: bank 9, ADDR
 *   the guest-physical address, MISC 0x8c, the encoding of mcefwd's
 *   profiles (qemu-6.2 before 7.0, qemu-7 after, amd for AMD guests from
 *   9.1). Without SER_P an AR ends QEMU (hardware_memory_error: exit(1)),
 *   an AO is ignored with a MEMORY_FAILURE event for the hypervisor.
 * - target/i386/helper.c do_inject_x86_mce decides what the guest sees,
 *   not KVM: an error without the AR bit while MCG_STATUS.MCIP is set is
 *   dropped (event "ignore"); an uncorrected one for a bank whose MCi_CTL
 *   is not all ones is dropped with no event at all; an uncorrected one
 *   with CR4.MCE clear or MCIP set resets the guest (event "reset"); else
 *   OVER if the bank held a valid error, the bank written and #MC raised
 *   (event "inject"). An error without UC (AMD's deferred AO) is only
 *   written to the bank: no #MC, the guest must poll (event "inject").
 * - MCG_CAP: MCE_CAP_DEF | MCE_BANKS_DEF (target/i386/cpu.h: MCG_CTL_P,
 *   MCG_SER_P, 10 banks), masked by what KVM supports
 *   (kvm_arch_init_vcpu); kvm_amd keeps bits 8:0 of what the guest reads
 *   (svm_setup_mce). Without MCA in the guest's CPUID (-cpu ...,mca=off)
 *   QEMU sets none, and the guest reads KVM's default, KVM_MAX_MCE_BANKS
 *   (kvm_arch_vcpu_create).
 *
 * - target/i386/helper.c cpu_x86_inject_mce: with MCE_INJECT_BROADCAST
 *   (kvm_mce_inject sets it when cpu_x86_support_mca_broadcast, unless the
 *   guest enabled LMCE) every other vCPU then gets bank 1 = VAL|UC with
 *   MCG_STATUS MCIP|RIPV through the same do_inject_x86_mce, one event
 *   each. cpu_x86_support_mca_broadcast: (family == 6 && model >= 14) ||
 *   family > 6, where cpu_x86_version takes the family from CPUID 1
 *   EAX[11:8] only and the model with EAX[19:16] above it; from 9.1 never
 *   for an AMD guest.
 * - accel/kvm/kvm-all.c kvm_on_sigbus: an AO on QEMU's main thread goes to
 *   first_cpu, vCPU 0, whichever vCPU's page it is. kvm_on_sigbus_vcpu
 *   keeps one pending SIGBUS per KVM_RUN; a second one makes QEMU re-raise
 *   SIGBUS and die of it (the burst, which only the signal method makes).
 *
 * The scenarios' guests retire a page on any #MC that names it (runtime
 * mce.c), so under early kill the AO's #MC retires the page before the
 * access it was poisoned for: that access then never faults.
 */
#include <stdio.h>
#include <string.h>

#include "mcefwd/mce/encode.h"
#include "mcefwd/scenario/qemu_rules.h"

#define QEMU_MCG_CAP_DEF	(MCE_MCG_CTL_P | MCE_MCG_SER_P | 10)
#define KVM_MAX_MCE_BANKS	32

#define AR MCE_AR
#define AO MCE_AO

static void want(struct qemu_expect *e, enum mce_kind kind, unsigned int page, bool over)
{
	if (e->nr_mce < QEMU_MAX_MCE)
		e->mce[e->nr_mce++] = (struct qemu_mce){ .kind = kind, .page = page, .over = over };
}

/* The bank-1 copy every vCPU but 0 gets of an error QEMU injects into vCPU 0. */
static void want_broadcast(struct qemu_expect *e)
{
	for (unsigned int v = 1; v < e->nr_vcpus && e->nr_mce < QEMU_MAX_MCE; v++)
		e->mce[e->nr_mce++] = (struct qemu_mce){ .vcpu = v, .broadcast = true };
}

bool qemu_target_broadcasts(const struct qemu_target *t, const struct qemu_guest *g)
{
	return qemu_model_broadcasts(t->release, g->amd, g->cpuid_version);
}

static void ready(struct qemu_expect *e, unsigned int events)
{
	if (e->nr_ready < SCN_MAX_MCE)
		e->ready_events[e->nr_ready++] = events;
}

/* A guest without MCA: no SER_P, one ignored AO (a hypervisor event) at poisoning. */
static void no_mca(const struct qemu_target *t, struct qemu_expect *e)
{
	snprintf(e->cpu, sizeof(e->cpu), "%s,mca=off", t->cpu);
	e->mcg_cap = KVM_MAX_MCE_BANKS;
	ready(e, 1);
}

const char *qemu_outcome_name(enum qemu_outcome o)
{
	static const char *const names[] = {
		[QO_NONE] = "not run", [QO_EXIT] = "guest exit", [QO_RESET] = "guest reset",
		[QO_QEMU_EXIT] = "QEMU exited", [QO_SIGNAL] = "QEMU killed by a signal",
		[QO_REFAULT] = "re-fault loop", [QO_TIMEOUT] = "timeout",
		[QO_STOPPED] = "stopped by mcefwd after a failed step",
	};

	return (unsigned int)o < sizeof(names) / sizeof(names[0]) ? names[o] : "?";
}

void qemu_expect_init(const struct qemu_target *t, const struct qemu_guest *g,
		      const struct scenario *sc, struct qemu_expect *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->cpu, sizeof(e->cpu), "%s", t->cpu);
	e->nr_vcpus = sc->nr_vcpus ? sc->nr_vcpus : 1;
	e->outcome = QO_EXIT;
	e->profile = qemu_model_profile(t->release, g->amd);
	e->mcg_cap = QEMU_MCG_CAP_DEF & (t->mcg_cap_supported | MCE_MCG_CAP_COUNT_MASK);
	/* kvm_amd's svm_setup_mce: the host's KVM, whatever the guest's vendor. */
	if (t->kvm_amd)
		e->mcg_cap &= MCE_MCG_CAP_SVM_MASK;
}

int qemu_expect_early_kill(const struct qemu_target *t, const struct qemu_guest *g,
			   const struct scenario *sc, struct qemu_expect *e)
{
	const char *n = sc->name;
	bool bcast = qemu_target_broadcasts(t, g);
	/* The AO has UC (and so raises #MC) in every encoding but the AMD one. */
	bool ao_uc = e->profile != MCE_PROFILE_AMD;

	if (!strcmp(n, "ar-untouched")) {
		e->why = "poisoned while no process mapped the frame: no early notice; the guest's first touch takes the AR";
		e->untouched = true;
		ready(e, 0);
		want(e, AR, 0, false);
	} else if (!strcmp(n, "ar") || sc->reset) {
		e->why = ao_uc ? "early kill: the AO's #MC retires the page before the load, which then never faults" :
			"the AMD AO is only logged in bank 9; the load's AR then finds it there (OVER)";
		ready(e, 1);
		want(e, ao_uc ? AO : AR, 0, !ao_uc);
	} else if (!strcmp(n, "ao")) {
		e->why = ao_uc ? "early kill: QEMU injects the AO into vCPU 0" :
			"the AMD AO has no UC: written to bank 9 without #MC, found by polling";
		ready(e, 1);
		want(e, AO, 0, false);
	} else if (!strcmp(n, "ao-ar")) {
		e->why = ao_uc ? "early kill's AO first; the guest only logs it, so its load takes the AR" :
			"the AMD AO is only written to bank 9, where the guest polls it; the load then takes the AR";
		ready(e, 1);
		want(e, AO, 0, false);
		want(e, AR, 0, false);
	} else if (!strcmp(n, "ar-no-ser")) {
		/* QEMU always offers SER_P with MCA: only mca=off leaves it out. */
		no_mca(t, e);
		e->why = "no MCA: the AO is ignored, the load's AR ends QEMU (hardware_memory_error: exit(1))";
		e->outcome = QO_QEMU_EXIT;
		e->qemu_status = 1;
	} else if (!strcmp(n, "ao-no-ser")) {
		no_mca(t, e);
		e->why = "no MCA: the AO is ignored, the guest goes on";
	} else if (!strcmp(n, "no-cr4-mce")) {
		e->why = "CR4.MCE clear: do_inject_x86_mce resets the guest (with -no-reboot QEMU ends)";
		ready(e, 1);
		e->outcome = QO_RESET;
	} else if (!strcmp(n, "nested")) {
		/* The AMD encoding has no AR bit: under MCIP its AR is dropped too. */
		e->why = ao_uc ? "the AO's #MC (MCIP kept); the second AO is dropped under MCIP; the second load's AR resets the guest" :
			"the first AO logged, the first load's AR (OVER); under MCIP the second AO and the second AR, which has no AR bit in the AMD encoding, are dropped, and the load faults again for ever";
		ready(e, 1);
		ready(e, 1);
		want(e, ao_uc ? AO : AR, 0, !ao_uc);
		e->outcome = ao_uc ? QO_RESET : QO_REFAULT;
	} else if (!strcmp(n, "bank-disabled")) {
		e->why = "every MCi_CTL clear: do_inject_x86_mce drops each uncorrected error without an event, and the load faults again for ever";
		ready(e, ao_uc ? 0 : 1);
		e->outcome = QO_REFAULT;
	} else if (!strcmp(n, "overflow")) {
		e->why = ao_uc ? "each poisoning's AO raises #MC; the kept bank makes the second OVER" :
			"each AO is logged, each load's AR finds a valid bank 9 (OVER)";
		ready(e, 1);
		ready(e, 1);
		want(e, ao_uc ? AO : AR, 0, !ao_uc);
		want(e, ao_uc ? AO : AR, 1, true);
	} else if (!strcmp(n, "broadcast")) {
		e->why = !ao_uc ? "the AMD AO is only logged in bank 9; the load's AR finds it there (OVER); an AMD guest gets no broadcast from 9.1" :
			bcast ? "early kill: the AO's #MC retires the page on vCPU 0, and every other vCPU gets the bank-1 broadcast (cpu_x86_support_mca_broadcast)" :
			"early kill: the AO's #MC retires the page on vCPU 0; this CPU's family and model get no broadcast (cpu_x86_support_mca_broadcast)";
		ready(e, ao_uc && bcast ? e->nr_vcpus : 1);
		want(e, ao_uc ? AO : AR, 0, !ao_uc);
		if (ao_uc && bcast)
			want_broadcast(e);
	} else if (!strcmp(n, "ao-route")) {
		/* vCPU n owns test page 1 + n (mce-ao-route.c); the last one's is poisoned. */
		unsigned int page = e->nr_vcpus;

		e->why = !ao_uc ? "kvm_on_sigbus hands the AO to vCPU 0 whoever owns the page; the AMD AO is only logged there, and found by polling" :
			bcast ? "kvm_on_sigbus hands the AO to vCPU 0 whoever owns the page, and every other vCPU gets the bank-1 broadcast" :
			"kvm_on_sigbus hands the AO to vCPU 0 whoever owns the page; no broadcast for this CPU's family and model";
		ready(e, ao_uc && bcast ? e->nr_vcpus : 1);
		want(e, AO, page, false);
		if (ao_uc && bcast)
			want_broadcast(e);
	} else if (!strcmp(n, "lmce")) {
		/* kvm_arch_init_vcpu: lmce=on without MCG_LMCE_P from KVM is an error. */
		if (!(t->mcg_cap_supported & MCE_MCG_LMCE_P)) {
			e->cannot = "LMCE needs MCG_LMCE_P, which KVM offers only on Intel (VMX): this host's KVM does not";
			return 0;
		}
		snprintf(e->cpu, sizeof(e->cpu), "%s,lmce=on", t->cpu);
		e->mcg_cap |= MCE_MCG_LMCE_P;
		e->why = "every vCPU enabled LMCE: kvm_mce_inject adds MCG_STATUS.LMCE and broadcasts nothing; early kill's AO retires the page on vCPU 0";
		ready(e, 1);
		want(e, AO, 0, false);
		e->mce[e->nr_mce - 1].lmce = true;
	} else {
		e->cannot = "no expectation for this scenario under QEMU yet";
	}
	return 0;
}

/* A QEMU outcome as the scenario's. */
static enum scn_outcome qemu_rules_outcome(enum qemu_outcome o)
{
	switch (o) {
	case QO_RESET:
		return SCN_RESET;
	case QO_QEMU_EXIT:
		return SCN_QEMU_EXIT;
	case QO_REFAULT:
		return SCN_REFAULT;
	default:
		return SCN_EXIT;
	}
}

/*
 * The errors the payload asks for, one at a time (the signal method sends
 * each to the thread that would get it, uffd's access takes an AR), under
 * QEMU's rules: no early notice, so what differs from mcefwd's own model
 * is what QEMU drops, resets, dies of or exits for.
 */
static void qemu_rules_asked(const struct scenario *sc, enum mce_profile profile,
			     struct scenario *out, const char **why)
{
	const char *n = sc->name;
	bool amd = profile == MCE_PROFILE_AMD;

	if (sc->outcome_poisoned == SCN_LIVELOCK)
		out->outcome_poisoned = SCN_REFAULT;
	if (!strcmp(n, "ar-no-ser") || !strcmp(n, "vmm-memory")) {
		out->outcome = SCN_QEMU_EXIT;
		*why = sc->vmm_memory ?
		       "an AR outside guest RAM: kvm_arch_on_sigbus_vcpu calls hardware_memory_error, which exits with status 1" :
		       "an AR without MCG_SER_P: kvm_arch_on_sigbus_vcpu calls hardware_memory_error, which exits with status 1";
	} else if (!strcmp(n, "no-cr4-mce")) {
		out->outcome = SCN_RESET;
		*why = "CR4.MCE clear: do_inject_x86_mce asks for a guest reset (a triple fault), not KVM";
	} else if (!strcmp(n, "nested")) {
		if (amd) {
			out->outcome = SCN_EXIT;
			out->outcome_poisoned = SCN_REFAULT;
			*why = "the AMD encoding has no AR bit: do_inject_x86_mce drops the second error under MCIP (MEMORY_FAILURE ignore), so the guest goes on, and on a page really poisoned faults again for ever";
		} else {
			out->outcome = SCN_RESET;
			*why = "an uncorrected error while MCIP is set: do_inject_x86_mce asks for a guest reset; KVM is never asked";
		}
	} else if (!strcmp(n, "bank-disabled")) {
		*why = "MCi_CTL cleared: do_inject_x86_mce drops the error without an event; the guest goes on, and on a page really poisoned faults again for ever";
	} else if (!strcmp(n, "burst")) {
		out->outcome = SCN_QEMU_SIGBUS;
		out->nr_mce = 0;
		*why = "a second MCEERR SIGBUS on the vCPU thread before KVM_RUN returned: kvm_on_sigbus_vcpu refuses it, QEMU re-raises SIGBUS and dies of it; the guest sees nothing";
	} else {
		*why = "as mcefwd's own model: QEMU's do_inject_x86_mce writes the bank and raises #MC when nothing is pending";
	}
}

void qemu_rules_for_model(const struct fwd_config *fwd, const struct qemu_guest *g,
			  uint64_t mcg_cap_supported, bool kvm_amd, const struct scenario *sc,
			  enum inject_method m, struct scenario *out, const char **why)
{
	const struct inject_method_ops *ops = inject_method(m);
	struct qemu_target t = { .release = fwd->model, .cpu = "", .kvm_amd = kvm_amd,
				 .mcg_cap_supported = mcg_cap_supported };
	struct qemu_expect e;

	*out = *sc;
	*why = NULL;
	if (!fwd_is_qemu(fwd))
		return;
	if (!(ops->flags & INJECT_F_MEMORY_FAILURE) || (ops->flags & INJECT_F_MIGRATES)) {
		qemu_rules_asked(sc, fwd->profile, out, why);
		return;
	}
	/* A real memory failure under early kill: the rows a real QEMU is judged by. */
	qemu_expect_init(&t, g, sc, &e);
	e.profile = fwd->profile;	/* --encoding may override the release's */
	qemu_expect_early_kill(&t, g, sc, &e);
	*why = e.why;
	if (e.cannot)
		return;		/* the scenario's own skip (lmce without MCG_LMCE_P) */
	out->outcome = qemu_rules_outcome(e.outcome);
	out->outcome_poisoned = 0;
	if (sc->others == SCN_OTHERS_AO_ROUTE)
		return;		/* the judge builds the AO for vCPU 0 and the broadcasts */
	out->nr_mce = 0;
	for (unsigned int i = 0; i < e.nr_mce && out->nr_mce < SCN_MAX_MCE; i++)
		if (e.mce[i].vcpu == 0 && !e.mce[i].broadcast)
			out->mce[out->nr_mce++] = (struct scn_mce){ e.mce[i].kind, e.mce[i].page,
								    e.mce[i].over };
}
