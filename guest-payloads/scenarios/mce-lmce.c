// SPDX-License-Identifier: GPL-2.0-only
/*
 * Local machine check: every vCPU opts in to LMCE as an OS does, then an
 * AR error on vCPU 0 must reach vCPU 0 alone, with MCG_STATUS.LMCE set,
 * and no other vCPU may get the bank-1 broadcast mce-broadcast expects.
 * Runs only where the host offers MCG_LMCE_P.
 */
#include "rt.h"

#define MSR_IA32_FEATURE_CONTROL	0x3a
#define FEATURE_CONTROL_LOCKED		(1ULL << 0)
#define FEATURE_CONTROL_LMCE_ON		(1ULL << 20)
#define MSR_IA32_MCG_EXT_CTL		0x4d0
#define MCG_EXT_CTL_LMCE_EN		(1ULL << 0)

RT_DEFINE_LOAD(mce_lmce_load, mce_lmce_after);

/* Set by any vCPU that could not opt in, read by all after the barrier. */
static bool lmce_failed;

/*
 * As Linux does: firmware normally locks FEATURE_CONTROL, here no one has,
 * so lock it with LMCE_ON ourselves; locked without LMCE_ON, writing
 * MCG_EXT_CTL would #GP. Both MSRs are per vCPU.
 */
static bool lmce_opt_in(void)
{
	uint64_t fc;

	if (!(rt_mcg_cap() & MCG_CAP_LMCE_P)) {
		report(false, "no MCG_LMCE_P in MCG_CAP %#lx", rt_mcg_cap());
		return false;
	}
	fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCKED)) {
		fc |= FEATURE_CONTROL_LMCE_ON | FEATURE_CONTROL_LOCKED;
		wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
	} else if (!(fc & FEATURE_CONTROL_LMCE_ON)) {
		report(false, "FEATURE_CONTROL %#lx locked without LMCE_ON", fc);
		return false;
	}
	wrmsr(MSR_IA32_MCG_EXT_CTL, MCG_EXT_CTL_LMCE_EN);
	return true;
}

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	const volatile uint64_t *p = (const volatile uint64_t *)rt_test_page(0);
	volatile struct mcefwd_mailbox *mb;
	uint64_t mcg_status;
	bool ok;

	(void)nr_vcpus;
	rt_mce_install();
	ok = lmce_opt_in();
	if (!ok)
		WRITE_ONCE(lmce_failed, true);
	/*
	 * Every vCPU opted in before the error: the host reads each one's
	 * MCG_EXT_CTL to choose between LMCE and a broadcast. A failed vCPU
	 * still comes, or the others would wait here for ever.
	 */
	rt_barrier();
	if (READ_ONCE(lmce_failed))
		return ok ? 0 : 1;

	if (vcpu == 0) {
		rt_test_page_touch(0);
		rt_poison(1, rt_test_page(0), MCEFWD_READY_AR, 1);
		mce_lmce_load(p);
		mcg_status = rt_mce_last_mcg_status();
		report(rt_mce_count() == 1, "one #MC for the load, %lu taken",
		       rt_mce_count());
		report(mcg_status & MCG_STATUS_LMCE,
		       "the #MC was local: MCG_STATUS %#lx has LMCE", mcg_status);
		return 0;
	}

	rt_wait_events(1);
	mb = rt_mailbox();
	report(rt_mce_count() == 0,
	       "LMCE: no broadcast, %lu #MCs taken (the host injected %lu)",
	       rt_mce_count(), mb->events_delivered);
	return 0;
}
