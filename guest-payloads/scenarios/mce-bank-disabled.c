// SPDX-License-Identifier: GPL-2.0-only
/*
 * A guest that disabled every bank (MCi_CTL = 0): KVM drops an uncorrected
 * error for such a bank without telling anyone, so the host injects and
 * the guest must see no #MC. The mailbox says when the host is done.
 */
#include "rt.h"

RT_DEFINE_LOAD(mce_bank_disabled_load, mce_bank_disabled_after);

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	unsigned int i, nr_banks;

	(void)nr_vcpus;
	rt_mce_install_all();
	if (vcpu != 0)
		return 0;

	/* Every bank: the host, not the guest, picks the bank it reports in. */
	nr_banks = rdmsr(MCEFWD_MSR_IA32_MCG_CAP) & MCG_CAP_COUNT_MASK;
	for (i = 0; i < nr_banks; i++)
		wrmsr(rt_msr_mc_ctl(i), 0);

	rt_test_page_touch(0);
	rt_poison(1, rt_test_page(0), MCEFWD_READY_AR, 1);
	mce_bank_disabled_load((const volatile void *)rt_test_page(0));
	rt_wait_events(1);

	report(rt_mce_count() == 0, "KVM dropped the error: bank disabled (%lu #MCs taken)",
	       rt_mce_count());
	return 0;
}
