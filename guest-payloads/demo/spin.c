// SPDX-License-Identifier: GPL-2.0-only
/* Never finishes: the host's watchdog has to stop it and say so. */
int guest_main(unsigned int vcpu, unsigned int nr_vcpus);

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	(void)vcpu;
	(void)nr_vcpus;
	for (;;)
		__asm__ volatile("pause");
}
