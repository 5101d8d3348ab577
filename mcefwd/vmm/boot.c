// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "guest-payloads/abi.h"
#include "mcefwd/vmm/boot.h"
#include "mcefwd/util/error.h"

#define PTE_P	(1UL << 0)
#define PTE_RW	(1UL << 1)
#define PTE_PS	(1UL << 7)

#define CR0_PE	(1UL << 0)
#define CR0_MP	(1UL << 1)
#define CR0_ET	(1UL << 4)
#define CR0_NE	(1UL << 5)
#define CR0_WP	(1UL << 16)
#define CR0_AM	(1UL << 18)
#define CR0_PG	(1UL << 31)
#define CR4_PAE	(1UL << 5)
#define EFER_LME (1UL << 8)
#define EFER_LMA (1UL << 10)

/* The TSS lives in the GDT's page, after the descriptors; only VMX needs it. */
#define GPA_TSS		(MCEFWD_GPA_GDT + 0x800)
#define SEL_TSS		0x18
#define TSS_LIMIT	0x67

static uint64_t *boot_table(struct guest_mem *mem, uint64_t gpa)
{
	return mem_gpa_to_hva(mem, gpa, MCEFWD_PAGE_SIZE);
}

int boot_setup_memory(struct guest_mem *mem)
{
	uint64_t size = mem->ram_size;
	uint64_t *pml4, *pdpt, *pt0, *pt1, *gdt;
	unsigned int nr_pd = (unsigned int)((size + (1UL << 30) - 1) >> 30);

	if (size < MCEFWD_RAM_MIN || size > MCEFWD_RAM_MAX || size % (2UL << 20))
		return error_set(EINVAL, "guest RAM of %lu bytes: must be a multiple of 2 MiB between %lu MiB and %lu MiB",
				 (unsigned long)size, MCEFWD_RAM_MIN >> 20,
				 MCEFWD_RAM_MAX >> 20);
	pml4 = boot_table(mem, MCEFWD_GPA_PML4);
	pdpt = boot_table(mem, MCEFWD_GPA_PDPT);
	pt0 = boot_table(mem, MCEFWD_GPA_PT0);
	pt1 = boot_table(mem, MCEFWD_GPA_PT1);
	gdt = boot_table(mem, MCEFWD_GPA_GDT);
	if (!pml4 || !pdpt || !pt0 || !pt1 || !gdt)
		return error_set(EFAULT, "boot structures not in guest RAM");

	pml4[0] = MCEFWD_GPA_PDPT | PTE_P | PTE_RW;
	for (unsigned int g = 0; g < nr_pd; g++) {
		uint64_t pd_gpa = MCEFWD_GPA_PD + g * MCEFWD_PAGE_SIZE;
		uint64_t *pd = boot_table(mem, pd_gpa);

		if (!pd)
			return error_set(EFAULT, "page directory %u not in guest RAM", g);
		pdpt[g] = pd_gpa | PTE_P | PTE_RW;
		for (unsigned int j = 0; j < 512; j++) {
			uint64_t gpa = ((uint64_t)g << 30) | ((uint64_t)j << 21);

			if (gpa >= size)
				break;
			pd[j] = gpa | PTE_P | PTE_RW | PTE_PS;
		}
	}
	/* The first 4 MiB in 4 KiB pages, so a guest can retire one page. */
	uint64_t *pd0 = boot_table(mem, MCEFWD_GPA_PD);

	pd0[0] = MCEFWD_GPA_PT0 | PTE_P | PTE_RW;
	pd0[1] = MCEFWD_GPA_PT1 | PTE_P | PTE_RW;
	pt0[0] = 0;	/* page 0 unmapped: a NULL access faults */
	for (unsigned int k = 1; k < 512; k++)
		pt0[k] = ((uint64_t)k << 12) | PTE_P | PTE_RW;
	for (unsigned int k = 0; k < 512; k++)
		pt1[k] = (MCEFWD_GPA_TEST + ((uint64_t)k << 12)) | PTE_P | PTE_RW;

	gdt[0] = 0;
	gdt[MCEFWD_SEL_CODE / 8] = 0x00af9b000000ffffUL;	/* 64-bit code, DPL 0 */
	gdt[MCEFWD_SEL_DATA / 8] = 0x00cf93000000ffffUL;	/* flat data, DPL 0 */
	/* 16-byte available 64-bit TSS descriptor. */
	gdt[SEL_TSS / 8] = TSS_LIMIT | ((GPA_TSS & 0xffffffUL) << 16) |
			   (0x89UL << 40) | ((GPA_TSS >> 24) & 0xff) << 56;
	gdt[SEL_TSS / 8 + 1] = GPA_TSS >> 32;
	return 0;
}

void boot_sregs(struct kvm_sregs *s)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = MCEFWD_SEL_CODE,
		.type = 11, .present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = MCEFWD_SEL_DATA,
		.type = 3, .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};

	s->cs = code;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	/* VMX entry checks want a busy 64-bit TSS in TR and an unusable LDTR. */
	s->tr = (struct kvm_segment){
		.base = GPA_TSS, .limit = TSS_LIMIT, .selector = SEL_TSS,
		.type = 11, .present = 1, .s = 0,
	};
	s->ldt = (struct kvm_segment){ .type = 2, .unusable = 1 };
	s->gdt.base = MCEFWD_GPA_GDT;
	s->gdt.limit = 5 * 8 - 1;
	s->idt.base = 0;
	s->idt.limit = 0;
	s->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG;
	s->cr3 = MCEFWD_GPA_PML4;
	/* CR4.MCE stays clear: the guest runtime sets it, as an OS would. */
	s->cr4 = CR4_PAE;
	s->efer = EFER_LME | EFER_LMA;
}

void boot_regs(struct kvm_regs *r, uint64_t entry, unsigned int id,
	       unsigned int nr_vcpus, uint64_t mcg_cap)
{
	memset(r, 0, sizeof(*r));
	r->rip = entry;
	r->rsp = MCEFWD_GPA_STACKS + (id + 1UL) * MCEFWD_STACK_SIZE;
	r->rdi = id;
	r->rsi = nr_vcpus;
	r->rdx = mcg_cap;
	r->rflags = 0x2;
}
