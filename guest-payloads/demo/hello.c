// SPDX-License-Identifier: GPL-2.0-only
/*
 * The smallest payload that proves the runtime works: a line of output and
 * a few checks of the machine-check state the host set up for the guest.
 */
#include "rt.h"

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	struct rt_cpuid id;

	if (vcpu != 0)
		return 0;

	rt_printf("hello from vCPU %u of %u", vcpu, nr_vcpus);

	report(read_cr4() & X86_CR4_MCE);
	id = cpuid(1, 0);
	report(id.edx & X86_CPUID1_EDX_MCE);
	report(id.edx & X86_CPUID1_EDX_MCA);
	report(rdmsr(MCEFWD_MSR_IA32_MCG_CAP) == rt_mcg_cap(),
	       "MCG_CAP reads %#lx, the host read back %#lx from KVM",
	       rdmsr(MCEFWD_MSR_IA32_MCG_CAP), rt_mcg_cap());
	return 0;
}
