// SPDX-License-Identifier: GPL-2.0-only
/* Halts forever: each HLT exits to the host, which parks the vCPU until kicked. */
int guest_main(unsigned int vcpu, unsigned int nr_vcpus);

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	(void)vcpu;
	(void)nr_vcpus;
	for (;;)
		__asm__ volatile("hlt");
}
