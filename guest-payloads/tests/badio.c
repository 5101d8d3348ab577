// SPDX-License-Identifier: GPL-2.0-only
/* Writes to a port nobody serves: the host must fail the run and dump registers. */
int guest_main(unsigned int vcpu, unsigned int nr_vcpus);

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	(void)vcpu;
	(void)nr_vcpus;
	__asm__ volatile("movl $0x1badc0de, %%eax; outb %%al, $0x80" ::: "eax");
	return 0;
}
