// SPDX-License-Identifier: GPL-2.0-only
/*
 * vCPU 0 raises an unexpected #UD. The ud2 sits at the global symbol
 * fault_ud2 so a test can look its address up with nm and compare it with
 * the RIP the host reports.
 */
#include "rt.h"

/* Top-level asm, so the compiler can never duplicate the label. */
asm(".pushsection .text\n"
    ".globl fault_ud2\n"
    ".type fault_ud2, @function\n"
    "fault_ud2:\n"
    "	ud2\n"
    "	ret\n"
    ".size fault_ud2, . - fault_ud2\n"
    ".popsection");

void fault_ud2(void);

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	(void)nr_vcpus;
	if (vcpu == 0)
		fault_ud2();
	return 0;
}
