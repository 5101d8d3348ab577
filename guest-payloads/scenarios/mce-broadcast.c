// SPDX-License-Identifier: GPL-2.0-only
/*
 * An action-required error on vCPU 0 that the host (Intel profiles) also
 * broadcasts to every other vCPU as bank 1 VAL|UC with MCIP|RIPV, as
 * hardware without LMCE does; for AMD it broadcasts nothing and only marks
 * the event done in the others' mailboxes. Each vCPU checks it took exactly
 * the #MCs the host says it injected.
 */
#include "rt.h"

RT_DEFINE_LOAD(mce_broadcast_load, mce_broadcast_after);

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	const volatile uint64_t *p = (const volatile uint64_t *)rt_test_page(0);
	volatile struct mcefwd_mailbox *mb;

	(void)nr_vcpus;
	/*
	 * Handler and MCi_CTL on every vCPU before vCPU 0 asks for the error:
	 * KVM drops an error for a disabled bank, and a broadcast to a vCPU
	 * without CR4.MCE (set by the runtime before guest_main) shuts the
	 * guest down.
	 */
	rt_mce_install_all();

	if (vcpu == 0) {
		rt_test_page_touch(0);
		rt_poison(1, rt_test_page(0), MCEFWD_READY_AR, 1);
		mce_broadcast_load(p);
		report(rt_mce_count() == 1, "one #MC for the load, %lu taken",
		       rt_mce_count());
		return 0;
	}

	/* The broadcast has no ADDRV: the handler has nothing to retire. */
	rt_wait_events(1);
	mb = rt_mailbox();
	/* Under QEMU the counts are the whole guest's: the host judges each vCPU's records. */
	if (rt_qemu)
		return 0;
	report(rt_mce_count() == mb->events_delivered,
	       "%lu #MCs taken, the host injected %lu", rt_mce_count(),
	       mb->events_delivered);
	return 0;
}
