// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every vCPU asks for a reset at the same moment. A reset pauses every
 * other vCPU, so two requests at once must be served one after the other,
 * not wait for each other forever. Every vCPU exits 0 once a reset has
 * restarted it.
 */
#include "rt.h"

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	(void)vcpu;
	(void)nr_vcpus;
	if (rt_mailbox()->boots)
		return 0;
	rt_barrier();
	rt_poison(1, 0, MCEFWD_READY_RESET, 0);
	/* The reset restarts this vCPU at its entry: never reached. */
	report(false, "the host did not reset the VM");
	return 1;
}
