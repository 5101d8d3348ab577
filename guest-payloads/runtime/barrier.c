// SPDX-License-Identifier: GPL-2.0-only
/*
 * A rendezvous of every vCPU, reusable: a shared arrival count and a
 * generation the last arrival bumps. Nothing but the host can wake a
 * halted vCPU (no IPIs, interrupts off), so the others spin, with pause
 * so a host with pause-loop exiting can run the latecomers instead; under
 * QEMU they nap on their APIC timer (qemu.c).
 */
#include "rt.h"

static uint32_t rt_barrier_arrived;
static uint32_t rt_barrier_gen;

void rt_barrier(void)
{
	/* Before arriving: the last arrival cannot bump it until we have. */
	uint32_t gen = __atomic_load_n(&rt_barrier_gen, __ATOMIC_ACQUIRE);

	if (__atomic_add_fetch(&rt_barrier_arrived, 1, __ATOMIC_ACQ_REL) ==
	    rt_nr_vcpus()) {
		/* Reset first: whoever sees the new generation may arrive again. */
		__atomic_store_n(&rt_barrier_arrived, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&rt_barrier_gen, gen + 1, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&rt_barrier_gen, __ATOMIC_ACQUIRE) == gen)
		if (rt_qemu)
			rt_qemu_nap();
		else
			pause();
}
