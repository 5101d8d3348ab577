// SPDX-License-Identifier: GPL-2.0-only
/*
 * Soft offline: the host migrates the page behind test page 0 to a new frame
 * and retires the old one. Nothing may reach the guest: no #MC, and the page
 * still holds what the guest wrote.
 */
#include "rt.h"

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	volatile uint64_t *p = (volatile uint64_t *)rt_test_page(0);
	bool same = true;

	(void)nr_vcpus;
	rt_mce_install_all();
	if (vcpu != 0)
		return 0;
	for (unsigned int i = 0; i < MCEFWD_PAGE_SIZE / 8; i++)
		p[i] = RT_TEST_PATTERN ^ i;
	rt_poison(1, rt_test_page(0), MCEFWD_READY_AR, 1);
	for (unsigned int i = 0; i < MCEFWD_PAGE_SIZE / 8; i++)
		same &= p[i] == (RT_TEST_PATTERN ^ i);
	report(same, "the page kept its contents across the soft offline");
	report(rt_mce_count() == 0, "no #MC: %lu taken", rt_mce_count());
	return 0;
}
