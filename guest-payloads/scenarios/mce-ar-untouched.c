// SPDX-License-Identifier: GPL-2.0-only
/*
 * Action required on a first touch: the host poisons a page vCPU 0 has
 * never touched, then the guest loads from it. Poisoned while no process
 * mapped it, the frame notified nobody early: the load takes the only
 * error, an AR. Under QEMU, which always asks for early kill, this is how a
 * guest sees a pure AR (mcefwd/qemu/untouched.c).
 */
#include "rt.h"

RT_DEFINE_LOAD(mce_ar_untouched_load, mce_ar_untouched_after);

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	const volatile uint64_t *p = (const volatile uint64_t *)rt_test_page(0);
	uint64_t v;

	(void)nr_vcpus;
	rt_mce_install_all();
	if (vcpu != 0)
		return 0;

	rt_poison(1, rt_test_page(0), MCEFWD_READY_AR, 1);
	v = mce_ar_untouched_load(p);

	report(rt_mce_count() == 1, "one #MC for the load, %lu taken", rt_mce_count());
	report(rt_test_page_backing(0) != rt_test_page(0), "page 0 retired after the load's #MC");
	report(v == *p, "the load read the spare's %#lx, got %#lx", *p, v);
	return 0;
}
