// SPDX-License-Identifier: GPL-2.0-only
/*
 * Two errors into one bank that the handler never clears: KVM sets OVER in
 * the second. The guest only provokes and counts; the host checks that the
 * second record has MCi_STATUS.OVER.
 */
#include "rt.h"

RT_DEFINE_LOAD(mce_overflow_load1, mce_overflow_after1);
RT_DEFINE_LOAD(mce_overflow_load2, mce_overflow_after2);

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	(void)nr_vcpus;
	rt_mce_install_all();
	if (vcpu != 0)
		return 0;

	rt_mce_set_mode(RT_MCE_KEEP_BANKS);
	rt_test_page_touch(0);
	rt_test_page_touch(1);

	rt_poison(1, rt_test_page(0), MCEFWD_READY_AR, 1);
	mce_overflow_load1((const volatile void *)rt_test_page(0));
	report(rt_mce_count() == 1, "one #MC for the first load, %lu taken", rt_mce_count());

	rt_poison(2, rt_test_page(1), MCEFWD_READY_AR, 1);
	mce_overflow_load2((const volatile void *)rt_test_page(1));
	report(rt_mce_count() == 2, "one #MC for the second load, %lu taken", rt_mce_count());
	return 0;
}
