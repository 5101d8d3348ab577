// SPDX-License-Identifier: GPL-2.0-only
/*
 * Action required: vCPU 0 loads from a page the host has just poisoned. The
 * load sits at mce_ar_load (mce_ar_after right behind it) so the host can
 * match the #MC's RIP. The handler retires the page to a spare and the load
 * restarts there. Also the payload of ar-no-ser and vmm-memory, where the
 * host stops the VM or injects nothing and judges from its side.
 */
#include "rt.h"

RT_DEFINE_LOAD(mce_ar_load, mce_ar_after);

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	const volatile uint64_t *p = (const volatile uint64_t *)rt_test_page(0);
	uint64_t spare, v;

	(void)nr_vcpus;
	rt_mce_install_all();
	if (vcpu != 0)
		return 0;

	rt_test_page_touch(0);
	rt_poison(1, rt_test_page(0), MCEFWD_READY_AR, 1);
	v = mce_ar_load(p);

	report(rt_mce_count() == 1, "one #MC for the load, %lu taken", rt_mce_count());
	spare = rt_test_page_backing(0);
	report(spare != rt_test_page(0), "page 0 retired, now backed by %#lx", spare);
	/* The spare's own identity mapping shows what the load should have read. */
	report(v == *p && v == *(const volatile uint64_t *)spare,
	       "the load read the spare's %#lx, got %#lx", *p, v);
	return 0;
}
