// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the guest-record decoder (mcefwd/vmm/ucall.c) and the host
 * code that formats a decoded record. A guest is not trusted: it picks
 * the gpa it writes to the ucall port and every byte of the record. Guest
 * RAM here is two slots with a hole between them, each an exact malloc'd
 * block, so a record read across a slot's end is an ASan crash. The input
 * is the gpa (4 bytes, as the 32-bit port carries it), the vCPU id of the
 * sender (2 bytes), then the RAM contents, repeated to fill it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest-payloads/abi.h"
#include "mcefwd/util/error.h"
#include "mcefwd/mce/encode.h"
#include "mcefwd/vmm/mem.h"
#include "mcefwd/vmm/ucall.h"
#include "mcefwd/vmm/vcpu.h"

#define SLOT0_GPA	0x0
#define SLOT0_SIZE	0x2000
#define SLOT1_GPA	0x10000
#define SLOT1_SIZE	0x1000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_mem mem;
static uint8_t *slot0, *slot1;

static void fuzz_ucall_init(void)
{
	slot0 = malloc(SLOT0_SIZE);
	slot1 = malloc(SLOT1_SIZE);
	if (!slot0 || !slot1)
		abort();
	mem_init_table(&mem);
	if (mem_slot_add(&mem, SLOT0_GPA, SLOT0_SIZE, slot0) ||
	    mem_slot_add(&mem, SLOT1_GPA, SLOT1_SIZE, slot1))
		abort();
}

static void fuzz_ucall_fill(uint8_t *dst, size_t len, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = n ? src[i % n] : 0;
}

/* What vcpu.c and scenario.c print of a record: must stay in bounds. */
static void fuzz_ucall_format(const struct mcefwd_ucall *u)
{
	char buf[256];

	ucall_type_name(u->type);
	switch (u->type) {
	case MCEFWD_UCALL_PRINT:
		if (strnlen(u->u.text, sizeof(u->u.text)) >= sizeof(u->u.text))
			abort();
		break;
	case MCEFWD_UCALL_REPORT:
		if (strnlen(u->u.report.file, sizeof(u->u.report.file)) >=
		    sizeof(u->u.report.file) ||
		    strnlen(u->u.report.cond, sizeof(u->u.report.cond)) >=
		    sizeof(u->u.report.cond) || u->u.report.pass > 1)
			abort();
		break;
	case MCEFWD_UCALL_EXCEPTION:
		vcpu_vector_name(u->u.exception.vector);
		break;
	case MCEFWD_UCALL_MCE:
		if (u->u.mce.nr_banks > MCEFWD_MAX_BANKS)
			abort();
		mce_mcg_status_describe(u->u.mce.mcg_status, buf, sizeof(buf));
		mce_mcg_cap_describe(u->u.mce.mcg_cap, buf, sizeof(buf));
		for (unsigned int b = 0; b < u->u.mce.nr_banks; b++) {
			mce_status_describe(u->u.mce.bank[b].status, false, buf, sizeof(buf));
			mce_status_describe(u->u.mce.bank[b].status, true, buf, 17);
		}
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcefwd_ucall u;
	uint32_t gpa;
	uint16_t vcpu;

	if (!slot0)
		fuzz_ucall_init();
	if (size < 6)
		return 0;
	memcpy(&gpa, data, sizeof(gpa));
	memcpy(&vcpu, data + 4, sizeof(vcpu));
	fuzz_ucall_fill(slot0, SLOT0_SIZE, data + 6, size - 6);
	fuzz_ucall_fill(slot1, SLOT1_SIZE, data + 6, size - 6);
	/* Aim mostly near the slots, where the edges are. */
	if (!(gpa & 0x80000000u))
		gpa %= SLOT1_GPA + SLOT1_SIZE + 0x100;
	if (ucall_decode(&mem, gpa, vcpu, &u) == 0) {
		if (u.magic != MCEFWD_UCALL_MAGIC || !u.type ||
		    u.type >= MCEFWD_UCALL_MAX || u.vcpu != vcpu)
			abort();
		if (!mem_gpa_to_hva(&mem, gpa, sizeof(u)))
			abort();	/* accepted a record not wholly in RAM */
		fuzz_ucall_format(&u);
	}
	error_clear();
	return 0;
}
