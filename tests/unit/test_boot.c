// SPDX-License-Identifier: GPL-2.0-only
/*
 * boot.c: the page tables and GDT as the CPU will walk them, and the
 * register state every vCPU starts in (abi.h, "Entry state").
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "guest-payloads/abi.h"
#include "mcefwd/vmm/boot.h"
#include "mcefwd/util/error.h"
#include "mcefwd/vmm/mem.h"
#include "tests/unit/fixture.h"

#define SZ_2M		(2ULL << 20)
#define SZ_1G		(1ULL << 30)
#define RAM_SIZE	(8ULL << 20)

#define P		(1ULL << 0)
#define RW		(1ULL << 1)
#define US		(1ULL << 2)
#define PS		(1ULL << 7)
#define NX		(1ULL << 63)
#define ADDR_MASK	0x000ffffffffff000ULL

#define CR0_PE		(1ULL << 0)
#define CR0_NW		(1ULL << 29)
#define CR0_CD		(1ULL << 30)
#define CR0_PG		(1ULL << 31)
#define CR4_PAE		(1ULL << 5)
#define CR4_MCE		(1ULL << 6)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)

static int setup(void **state)
{
	return fx_ram_setup(state, RAM_SIZE);
}

static const uint64_t *table(struct fx_ram *f, uint64_t gpa)
{
	const uint64_t *t = mem_gpa_to_hva(&f->mem, gpa, MCEFWD_PAGE_SIZE);

	assert_non_null(t);
	return t;
}

static void assert_entry(const uint64_t *t, unsigned int i, uint64_t want)
{
	if (t[i] != want)
		fail_msg("entry %u is 0x%016lx, expected 0x%016lx", i,
			 (unsigned long)t[i], (unsigned long)want);
}

/* Walks the tables like the MMU: the gpa gva maps to, or ~0 if not present. */
static uint64_t walk(struct fx_ram *f, uint64_t gva)
{
	uint64_t e;

	e = table(f, MCEFWD_GPA_PML4)[(gva >> 39) & 511];
	if (!(e & P))
		return ~0ULL;
	e = table(f, e & ADDR_MASK)[(gva >> 30) & 511];
	if (!(e & P))
		return ~0ULL;
	e = table(f, e & ADDR_MASK)[(gva >> 21) & 511];
	if (!(e & P))
		return ~0ULL;
	if (e & PS)
		return (e & ADDR_MASK & ~(SZ_2M - 1)) | (gva & (SZ_2M - 1));
	e = table(f, e & ADDR_MASK)[(gva >> 12) & 511];
	if (!(e & P))
		return ~0ULL;
	return (e & ADDR_MASK) | (gva & 0xfff);
}

static void test_page_tables_8m(void **state)
{
	struct fx_ram *f = *state;
	const uint64_t *pml4, *pdpt, *pd, *pt0, *pt1;

	assert_int_equal(boot_setup_memory(&f->mem), 0);
	pml4 = table(f, MCEFWD_GPA_PML4);
	pdpt = table(f, MCEFWD_GPA_PDPT);
	pd = table(f, MCEFWD_GPA_PD);
	pt0 = table(f, MCEFWD_GPA_PT0);
	pt1 = table(f, MCEFWD_GPA_PT1);

	assert_entry(pml4, 0, MCEFWD_GPA_PDPT | P | RW);
	assert_entry(pml4, 1, 0);
	assert_entry(pdpt, 0, MCEFWD_GPA_PD | P | RW);
	assert_entry(pdpt, 1, 0);

	/* First 4 MiB through 4 KiB tables, then 2 MiB pages up to the end of RAM. */
	assert_entry(pd, 0, MCEFWD_GPA_PT0 | P | RW);
	assert_entry(pd, 1, MCEFWD_GPA_PT1 | P | RW);
	assert_entry(pd, 2, 0x400000 | P | RW | PS);
	assert_entry(pd, 3, 0x600000 | P | RW | PS);
	assert_entry(pd, 4, 0);
	assert_entry(pd, 511, 0);

	assert_entry(pt0, 0, 0);
	assert_entry(pt0, 1, 0x1000 | P | RW);
	assert_entry(pt0, 0x100, 0x100000 | P | RW);
	assert_entry(pt0, 511, 0x1ff000 | P | RW);
	assert_entry(pt1, 0, MCEFWD_GPA_TEST | P | RW);
	assert_entry(pt1, 5, (MCEFWD_GPA_TEST + 5 * MCEFWD_PAGE_SIZE) | P | RW);
	assert_entry(pt1, MCEFWD_TEST_PAGES - 1,
		     (MCEFWD_GPA_TEST + (MCEFWD_TEST_PAGES - 1) * MCEFWD_PAGE_SIZE) | P | RW);
	/* abi.h: the PTE of test page i is at MCEFWD_GPA_PT1 + 8 * i. */
	assert_ptr_equal(&pt1[7], mem_gpa_to_hva(&f->mem, MCEFWD_GPA_PT1 + 8 * 7, 8));

	/* Supervisor, executable: no U/S or NX anywhere in the identity map. */
	for (unsigned int i = 0; i < 512; i++) {
		assert_false(pt0[i] & (US | NX));
		assert_false(pt1[i] & (US | NX));
		assert_false(pd[i] & (US | NX));
	}
}

static void test_identity_map_walk(void **state)
{
	struct fx_ram *f = *state;
	static const uint64_t mapped[] = {
		0x1000, MCEFWD_GPA_GDT, MCEFWD_GPA_PML4 + 8, MCEFWD_GPA_LOAD,
		MCEFWD_GPA_LOAD_END - 1, MCEFWD_GPA_TEST, MCEFWD_GPA_TEST + 0x1234,
		0x3fffff, MCEFWD_GPA_STACKS, 0x5abcde, RAM_SIZE - 1,
	};
	static const uint64_t unmapped[] = {
		0, 0xfff, RAM_SIZE, RAM_SIZE + 0x1000, SZ_1G, 1ULL << 39,
	};

	assert_int_equal(boot_setup_memory(&f->mem), 0);
	for (size_t i = 0; i < sizeof(mapped) / sizeof(mapped[0]); i++)
		if (walk(f, mapped[i]) != mapped[i])
			fail_msg("gva 0x%lx maps to 0x%lx, expected identity",
				 (unsigned long)mapped[i], (unsigned long)walk(f, mapped[i]));
	for (size_t i = 0; i < sizeof(unmapped) / sizeof(unmapped[0]); i++)
		if (walk(f, unmapped[i]) != ~0ULL)
			fail_msg("gva 0x%lx is mapped (to 0x%lx), expected not present",
				 (unsigned long)unmapped[i], (unsigned long)walk(f, unmapped[i]));
	/* The last vCPU's stack top is still inside the smallest RAM. */
	assert_true(MCEFWD_GPA_STACKS + MCEFWD_MAX_VCPUS * MCEFWD_STACK_SIZE <= MCEFWD_RAM_MIN);
	assert_int_equal(walk(f, MCEFWD_GPA_STACKS + MCEFWD_MAX_VCPUS * MCEFWD_STACK_SIZE - 8),
			 MCEFWD_GPA_STACKS + MCEFWD_MAX_VCPUS * MCEFWD_STACK_SIZE - 8);
}

/* A 64-bit segment descriptor's fields. */
#define DESC_BASE(d)	((((d) >> 16) & 0xffffff) | ((((d) >> 56) & 0xff) << 24))
#define DESC_LIMIT(d)	(((d) & 0xffff) | ((((d) >> 48) & 0xf) << 16))
#define DESC_TYPE(d)	(((d) >> 40) & 0xf)
#define DESC_S(d)	(((d) >> 44) & 1)
#define DESC_DPL(d)	(((d) >> 45) & 3)
#define DESC_P(d)	(((d) >> 47) & 1)
#define DESC_L(d)	(((d) >> 53) & 1)
#define DESC_DB(d)	(((d) >> 54) & 1)

static void test_gdt(void **state)
{
	struct fx_ram *f = *state;
	const uint64_t *gdt;
	struct kvm_sregs s;
	uint64_t code, data, tss, tss_base;

	assert_int_equal(boot_setup_memory(&f->mem), 0);
	gdt = table(f, MCEFWD_GPA_GDT);
	code = gdt[MCEFWD_SEL_CODE / 8];
	data = gdt[MCEFWD_SEL_DATA / 8];

	assert_int_equal(gdt[0], 0);
	assert_int_equal(DESC_P(code), 1);
	assert_int_equal(DESC_L(code), 1);
	assert_int_equal(DESC_DB(code), 0);	/* L=1 needs D=0 */
	assert_int_equal(DESC_S(code), 1);
	assert_int_equal(DESC_DPL(code), 0);
	assert_true(DESC_TYPE(code) & 0x8);	/* code */
	assert_int_equal(DESC_P(data), 1);
	assert_int_equal(DESC_S(data), 1);
	assert_int_equal(DESC_L(data), 0);
	assert_false(DESC_TYPE(data) & 0x8);	/* data */
	assert_true(DESC_TYPE(data) & 0x2);	/* writable */

	/* TR points at a TSS descriptor in the GDT that agrees with it. */
	memset(&s, 0, sizeof(s));
	boot_sregs(&s);
	assert_int_equal(s.gdt.base, MCEFWD_GPA_GDT);
	assert_true(s.tr.selector + 15u <= s.gdt.limit);
	assert_true(MCEFWD_SEL_DATA + 7u <= s.gdt.limit);
	tss = gdt[s.tr.selector / 8];
	tss_base = DESC_BASE(tss) | (gdt[s.tr.selector / 8 + 1] << 32);
	assert_int_equal(DESC_P(tss), 1);
	assert_int_equal(DESC_S(tss), 0);
	assert_int_equal(DESC_TYPE(tss), 9);	/* available 64-bit TSS */
	assert_int_equal(tss_base, s.tr.base);
	assert_int_equal(DESC_LIMIT(tss), s.tr.limit);
	/* The TSS shares the GDT's page and does not overlap the descriptors. */
	assert_true(s.tr.base >= MCEFWD_GPA_GDT + s.gdt.limit + 1);
	assert_true(s.tr.base + s.tr.limit < MCEFWD_GPA_GDT + MCEFWD_PAGE_SIZE);
}

static void test_ram_sizes_rejected(void **state)
{
	struct fx_ram *f = *state;
	static const uint64_t bad[] = {
		0, SZ_2M, 6ULL << 20, MCEFWD_RAM_MIN - SZ_2M, 9ULL << 20,
		MCEFWD_RAM_MIN + 0x1000, 65ULL << 20, MCEFWD_RAM_MAX + SZ_2M,
		MCEFWD_RAM_MAX * 2, UINT64_MAX & ~(SZ_2M - 1),
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f->mem.ram_size = bad[i];
		error_clear();
		if (boot_setup_memory(&f->mem) != -EINVAL)
			fail_msg("ram_size 0x%lx accepted", (unsigned long)bad[i]);
		if (!strstr(error_get(), "multiple of 2 MiB"))
			fail_msg("ram_size 0x%lx: unhelpful error \"%s\"",
				 (unsigned long)bad[i], error_get());
	}
	/* Nothing was written. */
	for (size_t i = 0; i < 0x20000; i++)
		if (f->ram[i])
			fail_msg("byte at gpa 0x%zx written by a rejected setup", i);
}

static void test_tables_outside_ram(void **state)
{
	struct fx_ram *f = *state;
	struct guest_mem m;

	(void)f;
	/* RAM size claims 8 MiB but no slot holds the tables. */
	mem_init_table(&m);
	m.ram_size = RAM_SIZE;
	error_clear();
	assert_int_equal(boot_setup_memory(&m), -EFAULT);
	assert_non_null(strstr(error_get(), "not in guest RAM"));
}

static void test_page_directories_per_gib(void **state)
{
	struct fx_ram *f = *state;
	const uint64_t *pdpt, *pd1, *pd2;

	/*
	 * Only the low pages hold tables, so a small buffer can stand in for
	 * a larger RAM here.
	 */
	f->mem.ram_size = SZ_1G + SZ_2M;
	assert_int_equal(boot_setup_memory(&f->mem), 0);
	pdpt = table(f, MCEFWD_GPA_PDPT);
	pd1 = table(f, MCEFWD_GPA_PD + MCEFWD_PAGE_SIZE);
	assert_entry(pdpt, 0, MCEFWD_GPA_PD | P | RW);
	assert_entry(pdpt, 1, (MCEFWD_GPA_PD + MCEFWD_PAGE_SIZE) | P | RW);
	assert_entry(pdpt, 2, 0);
	assert_entry(table(f, MCEFWD_GPA_PD), 511, (SZ_1G - SZ_2M) | P | RW | PS);
	assert_entry(pd1, 0, SZ_1G | P | RW | PS);
	assert_entry(pd1, 1, 0);

	memset(f->ram, 0, RAM_SIZE);
	f->mem.ram_size = MCEFWD_RAM_MAX;
	assert_int_equal(boot_setup_memory(&f->mem), 0);
	pd2 = table(f, MCEFWD_GPA_PD + (MCEFWD_MAX_PD - 1) * MCEFWD_PAGE_SIZE);
	assert_entry(pdpt, MCEFWD_MAX_PD - 1,
		     (MCEFWD_GPA_PD + (MCEFWD_MAX_PD - 1) * MCEFWD_PAGE_SIZE) | P | RW);
	assert_entry(pdpt, MCEFWD_MAX_PD, 0);
	assert_entry(pd2, 511, (MCEFWD_RAM_MAX - SZ_2M) | P | RW | PS);
	assert_int_equal(walk(f, MCEFWD_RAM_MAX - 1), MCEFWD_RAM_MAX - 1);
	assert_int_equal(walk(f, MCEFWD_RAM_MAX), ~0ULL);
	/* The page directories do not run into the payload area. */
	assert_true(MCEFWD_GPA_PD + MCEFWD_MAX_PD * MCEFWD_PAGE_SIZE <= MCEFWD_GPA_LOAD);
}

static void test_sregs(void **state)
{
	struct kvm_sregs s;

	(void)state;
	memset(&s, 0, sizeof(s));
	/* What KVM_GET_SREGS filled and boot_sregs must keep. */
	s.apic_base = 0xfee00900;
	s.cr8 = 0;
	s.cr4 = CR4_MCE;
	s.cr0 = CR0_CD | CR0_NW;
	boot_sregs(&s);

	assert_int_equal(s.cr0 & (CR0_PG | CR0_PE), CR0_PG | CR0_PE);
	assert_int_equal(s.cr0 & (CR0_CD | CR0_NW), 0);
	assert_int_equal(s.cr3, MCEFWD_GPA_PML4);
	assert_true(s.cr4 & CR4_PAE);
	if (s.cr4 & CR4_MCE)
		fail_msg("CR4.MCE is set (cr4=0x%lx): the guest runtime must set it",
			 (unsigned long)s.cr4);
	assert_int_equal(s.efer & (EFER_LME | EFER_LMA), EFER_LME | EFER_LMA);
	assert_int_equal(s.apic_base, 0xfee00900);

	assert_int_equal(s.cs.l, 1);
	assert_int_equal(s.cs.db, 0);
	assert_int_equal(s.cs.present, 1);
	assert_int_equal(s.cs.s, 1);
	assert_int_equal(s.cs.dpl, 0);
	assert_int_equal(s.cs.selector, MCEFWD_SEL_CODE);
	assert_int_equal(s.ss.selector, MCEFWD_SEL_DATA);
	assert_int_equal(s.ds.selector, MCEFWD_SEL_DATA);
	assert_int_equal(s.es.selector, MCEFWD_SEL_DATA);
	assert_int_equal(s.ss.present, 1);
	assert_int_equal(s.ss.dpl, 0);
	assert_int_equal(s.tr.present, 1);
	assert_int_equal(s.tr.type, 11);	/* busy 64-bit TSS, as VMX wants */
	assert_int_equal(s.ldt.unusable, 1);
}

static void test_regs(void **state)
{
	struct kvm_regs r;

	(void)state;
	memset(&r, 0xa5, sizeof(r));
	boot_regs(&r, 0x100000, 3, 4, 0x100010a);
	assert_int_equal(r.rip, 0x100000);
	assert_int_equal(r.rsp, MCEFWD_GPA_STACKS + 4 * MCEFWD_STACK_SIZE);
	assert_int_equal(r.rsp, 0x410000);
	assert_int_equal(r.rdi, 3);
	assert_int_equal(r.rsi, 4);
	assert_int_equal(r.rdx, 0x100010a);
	assert_int_equal(r.rflags, 2);
	assert_int_equal(r.rax | r.rbx | r.rcx | r.rbp | r.r8 | r.r9 | r.r10 |
			 r.r11 | r.r12 | r.r13 | r.r14 | r.r15, 0);

	/* vCPU 0's stack ends where vCPU 1's starts; the last ends at RAM_MIN. */
	boot_regs(&r, 0, 0, 1, 0);
	assert_int_equal(r.rsp, MCEFWD_GPA_STACKS + MCEFWD_STACK_SIZE);
	assert_int_equal(r.rdi, 0);
	boot_regs(&r, 0, MCEFWD_MAX_VCPUS - 1, MCEFWD_MAX_VCPUS, UINT64_MAX);
	assert_int_equal(r.rsp, MCEFWD_RAM_MIN);
	assert_int_equal(r.rsi, MCEFWD_MAX_VCPUS);
	assert_int_equal(r.rdx, UINT64_MAX);
	assert_int_equal(r.rsp % 16, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_ram_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_page_tables_8m),
		T(test_identity_map_walk),
		T(test_gdt),
		T(test_ram_sizes_rejected),
		T(test_tables_outside_ram),
		T(test_page_directories_per_gib),
		cmocka_unit_test(test_sregs),
		cmocka_unit_test(test_regs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
