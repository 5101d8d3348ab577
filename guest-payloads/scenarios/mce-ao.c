// SPDX-License-Identifier: GPL-2.0-only
/*
 * Action optional: the host raises an error for a page vCPU 0 is not
 * touching. With ao the host injects it, with ao-no-ser it ignores it; only
 * the mailbox tells the guest which, so it checks it got exactly the #MCs
 * the host says it injected.
 */
#include "rt.h"

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	(void)nr_vcpus;
	rt_mce_install_all();
	if (vcpu != 0)
		return 0;

	rt_test_page_touch(0);
	rt_poison(1, rt_test_page(0), MCEFWD_READY_AO, 1);
	rt_wait_events(1);

	/* An error without UC (AMD's deferred AO) raises no #MC: polled for. */
	rt_mce_report_delivered();
	return 0;
}
