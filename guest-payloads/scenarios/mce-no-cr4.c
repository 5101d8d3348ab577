// SPDX-License-Identifier: GPL-2.0-only
/*
 * mce-ar with CR4.MCE clear, as a guest that never enabled machine checks:
 * KVM_X86_SET_MCE then shuts the guest down instead of delivering a #MC.
 * Getting past the load means it did not; the host judges.
 */
#include "rt.h"

RT_DEFINE_LOAD(mce_no_cr4_load, mce_no_cr4_after);

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	(void)nr_vcpus;
	rt_mce_install_all();
	if (vcpu != 0)
		return 0;

	/* Per vCPU: the others keep CR4.MCE and are not part of the test. */
	write_cr4(read_cr4() & ~X86_CR4_MCE);
	rt_test_page_touch(0);
	rt_poison(1, rt_test_page(0), MCEFWD_READY_AR, 1);
	mce_no_cr4_load((const volatile void *)rt_test_page(0));

	rt_printf("mce-no-cr4: past the load with CR4.MCE clear, no shutdown (%lu #MCs taken)",
		  rt_mce_count());
	return 0;
}
