// SPDX-License-Identifier: GPL-2.0-only
/*
 * A guest that abuses the ucall port, one way per run: vCPU 0 plays case
 * number nr_vcpus (mcefwd run build/guest-payloads/tests/bad-ucall.elf
 * --vcpus N), the other vCPUs exit 0 at once. The host must stop the run
 * with an error naming the fault, never act on the record.
 *
 *   1 bytes that are no record (bad magic)	 6 an 8-bit write to the port
 *   2 a record of unknown type			 7 a read from the port
 *   3 a record claiming another vCPU sent it	 8 a PRINT with no NUL in its text:
 *						   printed cut at 199 bytes, run passes
 *   4 an MCE record claiming 1000 banks	 9 a record beyond guest RAM
 *   5 a report that is neither pass nor fail	10 a record across RAM's end
 *						   (run with --ram 64M)
 */
#include "rt.h"

/* Static, not on the stack: this vCPU alone uses it. */
static struct mcefwd_ucall bad;

static void bad_send(uint32_t gpa)
{
	outl(MCEFWD_PORT_UCALL, gpa);
}

static void bad_record(uint32_t type)
{
	memset(&bad, 0, sizeof(bad));
	bad.magic = MCEFWD_UCALL_MAGIC;
	bad.type = type;
	bad.vcpu = rt_vcpu_id();
}

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	if (vcpu != 0)
		return 0;
	switch (nr_vcpus) {
	case 1:
		memset(&bad, 0xa5, sizeof(bad));
		break;
	case 2:
		bad_record(0x1badu);
		break;
	case 3:
		bad_record(MCEFWD_UCALL_PRINT);
		bad.vcpu = 5;
		break;
	case 4:
		bad_record(MCEFWD_UCALL_MCE);
		bad.u.mce.nr_banks = 1000;
		break;
	case 5:
		bad_record(MCEFWD_UCALL_REPORT);
		bad.u.report.pass = 7;
		break;
	case 6:
		bad_record(MCEFWD_UCALL_PRINT);
		outb(MCEFWD_PORT_UCALL, 0x42);
		return 0;
	case 7:
		return (int)inl(MCEFWD_PORT_UCALL);
	case 8:
		bad_record(MCEFWD_UCALL_PRINT);
		memset(bad.u.text, 'x', sizeof(bad.u.text));
		memset(&bad.u.text[sizeof(bad.u.text)], 'y',
		       sizeof(bad.u) - sizeof(bad.u.text));
		bad_send((uint32_t)(uintptr_t)&bad);
		return 0;
	case 9:
		bad_send(0xfffff000u);
		return 0;
	case 10:
		bad_send((uint32_t)(64UL << 20) - 16);
		return 0;
	default:
		return 0;
	}
	bad_send((uint32_t)(uintptr_t)&bad);
	/* The host must have stopped us before this. */
	return 0x42;
}
