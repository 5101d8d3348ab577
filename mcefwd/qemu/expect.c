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
 *   first_cpu, vCPU 0, whichever vCPU's page it is.
 *
 * The scenarios' guests retire a page on any #MC that names it (runtime
 * mce.c), so under early kill the AO's #MC retires the page before the
 * access it was poisoned for: that access then never faults.
 */
#include <string.h>

#include "mcefwd/mce/encode.h"
#include "mcefwd/mce/qemu_model.h"
#include "mcefwd/qemu/qemu_int.h"

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

bool qemu_broadcasts(const struct qemu_vmm *q, const struct qemu_guest *g)
{
	return qemu_model_broadcasts((struct qemu_release){ q->major, q->minor }, g->amd,
				     g->cpuid_version);
}

static void ready(struct qemu_expect *e, unsigned int events)
{
	if (e->nr_ready < SCN_MAX_MCE)
		e->ready_events[e->nr_ready++] = events;
}

/* A guest without MCA: no SER_P, one ignored AO (a hypervisor event) at poisoning. */
static void no_mca(const struct qemu_vmm *q, struct qemu_expect *e)
{
	snprintf(e->cpu, sizeof(e->cpu), "%s,mca=off", q->cpu);
	e->mcg_cap = KVM_MAX_MCE_BANKS;
	ready(e, 1);
}

static enum mce_profile qemu_profile(const struct qemu_vmm *q, bool amd)
{
	return qemu_model_profile((struct qemu_release){ q->major, q->minor }, amd);
}

int qemu_expect(const struct qemu_vmm *q, const struct qemu_guest *g, const struct scenario *sc,
		enum inject_method m, struct qemu_expect *e)
{
	const char *n = sc->name;
	bool ao_uc, bcast = qemu_broadcasts(q, g);

	memset(e, 0, sizeof(*e));
	snprintf(e->cpu, sizeof(e->cpu), "%s", q->cpu);
	e->nr_vcpus = sc->nr_vcpus ? sc->nr_vcpus : 1;
	e->outcome = QO_EXIT;
	e->profile = qemu_profile(q, g->amd);
	e->mcg_cap = QEMU_MCG_CAP_DEF & (q->mcg_cap_supported | MCE_MCG_CAP_COUNT_MASK);
	/* kvm_amd's svm_setup_mce: the host's KVM, whatever the guest's vendor. */
	if (q->amd)
		e->mcg_cap &= MCE_MCG_CAP_SVM_MASK;
	/* The AO has UC (and so raises #MC) in every encoding but the AMD one. */
	ao_uc = e->profile != MCE_PROFILE_AMD;

	if (!(inject_method(m)->flags & INJECT_F_OTHER_PROCESS)) {
		e->cannot = m == INJECT_SIGNAL ?
			"signal: the kernel lets a process send BUS_MCEERR_* only to itself (rt_tgsigqueueinfo refuses si_code >= 0 for another process), so QEMU's threads cannot be sent one; use --poison=pfn" :
			"this method acts on mcefwd's own memory; QEMU's guest RAM is QEMU's: use --poison=pfn (or einj)";
		return 0;
	}
	/* mcefwd's own guest RAM has no frame for it; QEMU's memfd RAM does. */
	if (!strcmp(n, "ar-untouched")) {
		e->why = "poisoned while no process mapped the frame: no early notice; the guest's first touch takes the AR";
		e->untouched = true;
		ready(e, 0);
		want(e, AR, 0, false);
		return 0;
	}
	if (sc->cannot[m]) {
		e->cannot = sc->cannot[m];
		return 0;
	}
	if (sc->reset) {
		e->cannot = "its reset step (READY_RESET) asks the VMM to reset the VM; for QEMU that is a system_reset and a reboot, which -no-reboot (what makes a guest reset an outcome here) turns into QEMU's end: not driven yet";
		return 0;
	}
	if (sc->vmm_memory) {
		e->cannot = "mcefwd-inject poisons another process's guest RAM only; QEMU's own memory is out of its reach by design";
		return 0;
	}

	if (!strcmp(n, "ar")) {
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
		no_mca(q, e);
		e->why = "no MCA: the AO is ignored, the load's AR ends QEMU (hardware_memory_error: exit(1))";
		e->outcome = QO_QEMU_EXIT;
		e->qemu_status = 1;
	} else if (!strcmp(n, "ao-no-ser")) {
		no_mca(q, e);
		e->why = "no MCA: the AO is ignored, the guest goes on";
	} else if (!strcmp(n, "no-cr4-mce")) {
		e->why = "CR4.MCE clear: do_inject_x86_mce resets the guest (with -no-reboot QEMU ends)";
		ready(e, 1);
		e->outcome = QO_RESET;
	} else if (!strcmp(n, "nested")) {
		e->why = ao_uc ? "the AO's #MC (MCIP kept); the second AO is dropped under MCIP; the second load's AR resets the guest" :
			"the first AO logged, the first load's AR (OVER); the second AO dropped under MCIP; the second AR resets the guest";
		ready(e, 1);
		ready(e, 1);
		want(e, ao_uc ? AO : AR, 0, !ao_uc);
		e->outcome = QO_RESET;
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
		if (!(q->mcg_cap_supported & MCE_MCG_LMCE_P)) {
			e->cannot = "LMCE needs MCG_LMCE_P, which KVM offers only on Intel (VMX): this host's KVM does not";
			return 0;
		}
		snprintf(e->cpu, sizeof(e->cpu), "%s,lmce=on", q->cpu);
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
