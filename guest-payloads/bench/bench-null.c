// SPDX-License-Identifier: GPL-2.0-only
/*
 * The smallest guest: the runtime's start (IDT, CR4.MCE), then exit 0.
 * `mcefwd bench qemu` times `mcefwd run` of its ELF file beside `run hello`
 * to tell mcefwd's own start and quit from the guest code hello runs.
 */
#include "rt.h"

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	(void)vcpu;
	(void)nr_vcpus;
	return 0;
}
