// SPDX-License-Identifier: GPL-2.0-only
/*
 * Poison, reset, fresh page. On the first boot vCPU 0 takes an AR error
 * on test page 0, whose handler retires it to a spare, then asks the host
 * to reset the VM: the host replaces the poisoned page with a fresh zeroed
 * one, rebuilds the page tables, reloads this image and restarts every
 * vCPU at its entry, with mailbox.boots counting the resets. After the
 * reset page 0 must be mapped to itself again and read all zeroes, and
 * the runtime must have forgotten the #MC.
 */
#include "rt.h"

RT_DEFINE_LOAD(mce_reset_load, mce_reset_after);

#define RESET_QWORDS	(MCEFWD_PAGE_SIZE / 8)

static int reset_first_boot(void)
{
	volatile uint64_t *p = (volatile uint64_t *)rt_test_page(0);
	unsigned int i;

	/* All of it: a zero left over from before the reset would pass below. */
	for (i = 0; i < RESET_QWORDS; i++)
		p[i] = RT_TEST_PATTERN ^ i;
	rt_poison(1, rt_test_page(0), MCEFWD_READY_AR, 1);
	mce_reset_load(p);
	report(rt_mce_count() == 1, "one #MC for the load, %lu taken",
	       rt_mce_count());
	/* Else the check after the reset that page 0 maps itself proves nothing. */
	report(rt_test_page_backing(0) != rt_test_page(0),
	       "page 0 retired before the reset, backed by %#lx",
	       rt_test_page_backing(0));

	/*
	 * Reset only once every other vCPU has had what this error gave it
	 * (the broadcast, or the notice that there is none) and has handled
	 * it: a reset discards what is still pending, and the page would then
	 * say something different from one run to the next.
	 */
	for (i = 1; i < rt_nr_vcpus(); i++)
		while (rt_mailbox_of(i)->events_done < 1 ||
		       rt_mce_count_of(i) != rt_mailbox_of(i)->events_delivered)
			pause();
	rt_poison(2, 0, MCEFWD_READY_RESET, 0);
	report(false, "the host did not reset the VM");
	return 1;
}

static int reset_second_boot(void)
{
	const volatile uint64_t *p = (const volatile uint64_t *)rt_test_page(0);
	unsigned int i, dirty = 0, first = 0;
	uint64_t backing = rt_test_page_backing(0);

	/* Checked first: a spare's own zeroes would pass the check below. */
	report(backing == rt_test_page(0),
	       "page 0 maps itself again after the reset, backed by %#lx", backing);
	for (i = 0; i < RESET_QWORDS; i++) {
		if (p[i] && !dirty++)
			first = i;
	}
	report(!dirty,
	       "the poisoned page came back fresh and zeroed (%u non-zero qwords, the first at %#x)",
	       dirty, first * 8);
	/* After the reads: a page still poisoned would have raised an #MC. */
	report(rt_mce_count() == 0,
	       "no #MC since the reset (the runtime's state is fresh), %lu taken",
	       rt_mce_count());
	return 0;
}

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	uint64_t boots = rt_mailbox()->boots;

	(void)nr_vcpus;
	rt_mce_install();

	switch (boots) {
	case 0:
		/* On Intel the AR is broadcast: every vCPU needs CR4.MCE first. */
		rt_barrier();
		if (vcpu == 0)
			return reset_first_boot();
		/* Restarted by the reset; halted, they cost the host nothing. */
		for (;;)
			hlt();
	case 1:
		return vcpu == 0 ? reset_second_boot() : 0;
	default:
		report(false, "%lu resets, the payload asked for one", boots);
		return 1;
	}
}
