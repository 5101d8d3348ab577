// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest side of the storm (tests/stress/storm.c): every vCPU takes #MC
 * after #MC and counts each by kind, for the host to check that every
 * event it sent arrived. The handler only counts, clears the bank and
 * MCG_STATUS and returns (no ucall: a record per #MC would be 10^5 of
 * them); the main loop then exits to the host once per new #MC, which
 * is when the host may inject the next (it waits for MCIP to clear).
 * The host ends the storm by setting storm_stop.
 */
#include "rt.h"

/* One per vCPU, read by the host through the symbol (8-byte stores only). */
struct storm_count {
	uint64_t ar, ao, bcast, other;
	uint64_t ar_addr_sum, ao_addr_sum;
	uint64_t pad[2];
};

struct storm_count storm_counts[MCEFWD_MAX_VCPUS];
volatile uint64_t storm_stop;

static void storm_mc(struct rt_frame *f)
{
	struct storm_count *c = &storm_counts[rt_vcpu_id()];
	unsigned int b, nr = rt_mcg_cap() & MCG_CAP_COUNT_MASK;

	(void)f;
	for (b = 0; b < nr; b++) {
		uint64_t st = rdmsr(rt_msr_mc_status(b));

		if (!(st & MCI_STATUS_VAL))
			continue;
		if (b == 1 && !(st & MCI_STATUS_ADDRV)) {
			WRITE_ONCE(c->bcast, c->bcast + 1);
		} else if (st & MCI_STATUS_AR) {
			WRITE_ONCE(c->ar_addr_sum, c->ar_addr_sum + rdmsr(rt_msr_mc_addr(b)));
			WRITE_ONCE(c->ar, c->ar + 1);
		} else if (st & MCI_STATUS_S) {
			WRITE_ONCE(c->ao_addr_sum, c->ao_addr_sum + rdmsr(rt_msr_mc_addr(b)));
			WRITE_ONCE(c->ao, c->ao + 1);
		} else if (st & MCI_STATUS_UC) {
			/* AMD has no S or AR bit; its AO is deferred, never UC. */
			WRITE_ONCE(c->ar_addr_sum, c->ar_addr_sum + rdmsr(rt_msr_mc_addr(b)));
			WRITE_ONCE(c->ar, c->ar + 1);
		} else {
			WRITE_ONCE(c->other, c->other + 1);
		}
		wrmsr(rt_msr_mc_status(b), 0);
	}
	wrmsr(MCEFWD_MSR_IA32_MCG_STATUS, 0);
}

static uint64_t storm_total(const struct storm_count *c)
{
	return READ_ONCE(c->ar) + READ_ONCE(c->ao) + READ_ONCE(c->bcast) + READ_ONCE(c->other);
}

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	struct storm_count *c = &storm_counts[vcpu];
	uint64_t told = 0, now;

	(void)nr_vcpus;
	rt_mce_install();
	rt_set_handler(X86_VEC_MC, storm_mc);
	/* A first exit: the host sends its first events before any entry anyway. */
	rt_value(0, 0);
	while (!storm_stop) {
		now = storm_total(c);
		if (now != told) {
			told = now;
			rt_value(0, now);	/* an exit: the host injects the next */
		}
		pause();
	}
	return 0;
}
