// SPDX-License-Identifier: GPL-2.0-only
/*
 * A second #MC while MCG_STATUS.MCIP is still set: the handler leaves MCIP
 * set after the first, so the host's second injection makes KVM shut the
 * guest down (as hardware does). Getting past the second load means it did
 * not; the host judges.
 */
#include "rt.h"

RT_DEFINE_LOAD(mce_nested_load1, mce_nested_after1);
RT_DEFINE_LOAD(mce_nested_load2, mce_nested_after2);

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	(void)nr_vcpus;
	rt_mce_install_all();
	if (vcpu != 0)
		return 0;

	rt_mce_set_mode(RT_MCE_KEEP_MCIP);
	rt_test_page_touch(0);
	rt_test_page_touch(1);

	rt_poison(1, rt_test_page(0), MCEFWD_READY_AR, 1);
	mce_nested_load1((const volatile void *)rt_test_page(0));
	report(rt_mce_count() == 1, "one #MC for the first load, %lu taken", rt_mce_count());
	report(rdmsr(MCEFWD_MSR_IA32_MCG_STATUS) & MCG_STATUS_MCIP,
	       "MCIP still set after the first #MC");

	rt_poison(2, rt_test_page(1), MCEFWD_READY_AR, 1);
	mce_nested_load2((const volatile void *)rt_test_page(1));

	rt_printf("mce-nested: past the second load with MCIP set, no shutdown (%lu #MCs taken)",
		  rt_mce_count());
	return 0;
}
