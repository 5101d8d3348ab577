// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which vCPU gets an action-optional error: every vCPU touches a page of
 * its own and tells the host, then the host raises an AO error for the
 * last vCPU's page and routes it by its policy (vCPU 0, vCPU N, all, or the
 * page's owner). It marks the event done in every vCPU's mailbox, injected
 * or not, so each vCPU checks it took exactly the #MCs the host injected.
 */
#include "rt.h"

/* vCPU n owns test page 1 + n; page 0 is left alone, spares come from the top. */
#define AO_ROUTE_MAX_VCPUS	64

static uint64_t ao_route_page(unsigned int vcpu)
{
	return rt_test_page(1 + vcpu);
}

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	/* Every vCPU sees the same nr_vcpus, so none is left in the barrier. */
	if (nr_vcpus > AO_ROUTE_MAX_VCPUS) {
		report(false, "%u vCPUs, at most %u own a test page", nr_vcpus,
		       AO_ROUTE_MAX_VCPUS);
		return 1;
	}

	/* Installed everywhere first: the host may route the error to any vCPU. */
	rt_mce_install();
	rt_test_page_touch(1 + vcpu);
	rt_value(MCEFWD_VALUE_TOUCH, ao_route_page(vcpu));
	/* The host knows every page's owner before the error is raised. */
	rt_barrier();

	if (vcpu == 0)
		rt_poison(1, ao_route_page(nr_vcpus - 1), MCEFWD_READY_AO, 1);
	rt_wait_events(1);

	/* As mce-ao: an error without UC (AMD's deferred AO) raises no #MC. */
	rt_mce_report_delivered();
	return 0;
}
