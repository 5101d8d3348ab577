// SPDX-License-Identifier: GPL-2.0-only
/*
 * Early notice, then the access: the host poisons a page vCPU 0 has touched
 * while early kill is on, so the memory failure sends an action-optional
 * error at once; the guest only logs it (RT_MCE_LOG_AO) and then loads from
 * the page, which takes the action-required one. What stock QEMU's guest
 * sees for every page it touches after it was poisoned.
 */
#include "rt.h"

RT_DEFINE_LOAD(mce_ao_ar_load, mce_ao_ar_after);

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	const volatile uint64_t *p = (const volatile uint64_t *)rt_test_page(0);
	uint64_t before, v;

	(void)nr_vcpus;
	rt_mce_install_all();
	if (vcpu != 0)
		return 0;

	rt_mce_set_mode(RT_MCE_LOG_AO);
	rt_test_page_touch(0);
	rt_poison(1, rt_test_page(0), MCEFWD_READY_AR, 1);
	/* The early notice, handled. */
	rt_wait_events(1);
	/* An AMD notice (no UC) raises no #MC: it waits in the bank, found by polling. */
	if (!rt_mce_count())
		rt_mce_poll();
	before = rt_mce_count();
	report(rt_test_page_backing(0) == rt_test_page(0), "the notice left page 0 in place");

	v = mce_ao_ar_load(p);

	report(rt_mce_count() == before + 1, "one #MC for the load, %lu before it",
	       before);
	report(rt_test_page_backing(0) != rt_test_page(0), "page 0 retired after the load's #MC");
	report(v == *p, "the load read the spare's %#lx, got %#lx", *p, v);
	return 0;
}
