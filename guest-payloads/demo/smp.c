// SPDX-License-Identifier: GPL-2.0-only
/* Every vCPU says which id it believes it has; the host checks each once. */
#include "rt.h"

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	(void)vcpu;
	(void)nr_vcpus;
	rt_hello();
	return 0;
}
