// SPDX-License-Identifier: GPL-2.0-only
/*
 * Four errors at once, for test pages 0-3: the host must deliver them one
 * at a time (each while MCIP is clear), and the guest must retire all four
 * pages before it touches them again.
 */
#include "rt.h"

#define BURST_PAGES	4

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	unsigned int i;

	(void)nr_vcpus;
	rt_mce_install_all();
	if (vcpu != 0)
		return 0;

	for (i = 0; i < BURST_PAGES; i++)
		rt_test_page_touch(i);
	rt_poison(1, rt_test_page(0), MCEFWD_READY_AR, BURST_PAGES);
	rt_wait_events(BURST_PAGES);
	report(rt_mce_count() == BURST_PAGES, "%u #MCs, %lu taken", BURST_PAGES,
	       rt_mce_count());

	/* A page left unretired would take its error again here. */
	for (i = 0; i < BURST_PAGES; i++) {
		(void)*(const volatile uint64_t *)rt_test_page(i);
		report(rt_test_page_backing(i) != rt_test_page(i),
		       "page %u retired, now backed by %#lx", i, rt_test_page_backing(i));
	}
	return 0;
}
