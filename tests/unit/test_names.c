// SPDX-License-Identifier: GPL-2.0-only
/*
 * The little name tables a failure message is built from (exit reasons,
 * vectors, outcomes, kick modes, ucall types) and the CPUID lookup.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mcefwd/vmm/kick.h"
#include "mcefwd/vmm/kvm.h"
#include "mcefwd/vmm/ucall.h"
#include "mcefwd/vmm/vcpu.h"

/* include/uapi/linux/kvm.h, by number. */
static const char *const uapi_exit_names[] = {
	"KVM_EXIT_UNKNOWN", "KVM_EXIT_EXCEPTION", "KVM_EXIT_IO",
	"KVM_EXIT_HYPERCALL", "KVM_EXIT_DEBUG", "KVM_EXIT_HLT", "KVM_EXIT_MMIO",
	"KVM_EXIT_IRQ_WINDOW_OPEN", "KVM_EXIT_SHUTDOWN", "KVM_EXIT_FAIL_ENTRY",
	"KVM_EXIT_INTR", "KVM_EXIT_SET_TPR", "KVM_EXIT_TPR_ACCESS",
	"KVM_EXIT_S390_SIEIC", "KVM_EXIT_S390_RESET", "KVM_EXIT_DCR",
	"KVM_EXIT_NMI", "KVM_EXIT_INTERNAL_ERROR", "KVM_EXIT_OSI",
	"KVM_EXIT_PAPR_HCALL", "KVM_EXIT_S390_UCONTROL", "KVM_EXIT_WATCHDOG",
	"KVM_EXIT_S390_TSCH", "KVM_EXIT_EPR", "KVM_EXIT_SYSTEM_EVENT",
	"KVM_EXIT_S390_STSI", "KVM_EXIT_IOAPIC_EOI", "KVM_EXIT_HYPERV",
	"KVM_EXIT_ARM_NISV", "KVM_EXIT_X86_RDMSR", "KVM_EXIT_X86_WRMSR",
	"KVM_EXIT_DIRTY_RING_FULL", "KVM_EXIT_AP_RESET_HOLD",
	"KVM_EXIT_X86_BUS_LOCK", "KVM_EXIT_XEN", "KVM_EXIT_RISCV_SBI",
	"KVM_EXIT_RISCV_CSR", "KVM_EXIT_NOTIFY", "KVM_EXIT_LOONGARCH_IOCSR",
	"KVM_EXIT_MEMORY_FAULT",
};

static void test_exit_names_known(void **state)
{
	(void)state;
	assert_int_equal(sizeof(uapi_exit_names) / sizeof(uapi_exit_names[0]), 40);
	for (uint32_t i = 0; i < 40; i++) {
		const char *n = kvm_exit_name(i);

		assert_non_null(n);
		if (strcmp(n, uapi_exit_names[i]))
			fail_msg("kvm_exit_name(%u) = \"%s\", expected \"%s\"", i, n,
				 uapi_exit_names[i]);
	}
	assert_string_equal(kvm_exit_name(KVM_EXIT_IO), "KVM_EXIT_IO");
	assert_string_equal(kvm_exit_name(KVM_EXIT_SHUTDOWN), "KVM_EXIT_SHUTDOWN");
	assert_string_equal(kvm_exit_name(KVM_EXIT_MEMORY_FAULT), "KVM_EXIT_MEMORY_FAULT");
	assert_int_equal(KVM_EXIT_MEMORY_FAULT, 39);
}

static void test_exit_names_unknown(void **state)
{
	(void)state;
	assert_string_equal(kvm_exit_name(40), "KVM_EXIT_#40");
	assert_string_equal(kvm_exit_name(1000), "KVM_EXIT_#1000");
	assert_string_equal(kvm_exit_name(UINT32_MAX), "KVM_EXIT_#4294967295");
	/* A known name after an unknown one is not the buffer's leftovers. */
	assert_string_equal(kvm_exit_name(5), "KVM_EXIT_HLT");
	assert_string_equal(kvm_exit_name(41), "KVM_EXIT_#41");
}

static void test_vector_names(void **state)
{
	(void)state;
	assert_string_equal(vcpu_vector_name(0), "#DE");
	assert_string_equal(vcpu_vector_name(2), "NMI");
	assert_string_equal(vcpu_vector_name(6), "#UD");
	assert_string_equal(vcpu_vector_name(8), "#DF");
	assert_string_equal(vcpu_vector_name(13), "#GP");
	assert_string_equal(vcpu_vector_name(14), "#PF");
	assert_string_equal(vcpu_vector_name(18), "#MC");
	assert_string_equal(vcpu_vector_name(MCEFWD_VECTOR_MC), "#MC");
	assert_string_equal(vcpu_vector_name(19), "#XM");
	assert_string_equal(vcpu_vector_name(31), "#31");
	assert_string_equal(vcpu_vector_name(32), "not an exception");
	assert_string_equal(vcpu_vector_name(255), "not an exception");
	assert_string_equal(vcpu_vector_name(UINT64_MAX), "not an exception");
	assert_string_equal(vcpu_vector_name(1ULL << 32 | 6), "not an exception");
	for (uint64_t v = 0; v < 32; v++)
		assert_true(vcpu_vector_name(v)[0] == '#' || v == 2);
}

static void test_outcome_names(void **state)
{
	(void)state;
	assert_string_equal(vcpu_outcome_name(VCPU_RUNNING), "running");
	assert_string_equal(vcpu_outcome_name(VCPU_EXITED), "exited");
	assert_string_equal(vcpu_outcome_name(VCPU_EXCEPTION), "exception");
	assert_string_equal(vcpu_outcome_name(VCPU_SHUTDOWN), "shutdown");
	assert_string_equal(vcpu_outcome_name(VCPU_ERROR), "error");
	assert_string_equal(vcpu_outcome_name(VCPU_STOPPED), "stopped");
	assert_string_equal(vcpu_outcome_name(VCPU_MCE_STOPPED), "stopped by a hardware memory error");
	assert_string_equal(vcpu_outcome_name((enum vcpu_outcome)(VCPU_MCE_STOPPED + 1)), "?");
	assert_string_equal(vcpu_outcome_name((enum vcpu_outcome)1000), "?");
}

static void test_kick_modes(void **state)
{
	enum kick_mode k;

	(void)state;
	assert_string_equal(kick_mode_name(KICK_IMMEDIATE), "immediate");
	assert_string_equal(kick_mode_name(KICK_SIGMASK), "sigmask");
	assert_string_equal(kick_mode_name((enum kick_mode)2), "?");
	assert_string_equal(kick_mode_name((enum kick_mode)1000), "?");

	k = KICK_IMMEDIATE;
	assert_int_equal(kick_mode_parse("sigmask", &k), 0);
	assert_int_equal(k, KICK_SIGMASK);
	assert_int_equal(kick_mode_parse("immediate", &k), 0);
	assert_int_equal(k, KICK_IMMEDIATE);
	for (int m = KICK_IMMEDIATE; m <= KICK_SIGMASK; m++) {
		assert_int_equal(kick_mode_parse(kick_mode_name((enum kick_mode)m), &k), 0);
		assert_int_equal(k, m);
	}

	k = KICK_SIGMASK;
	assert_int_equal(kick_mode_parse("", &k), -EINVAL);
	assert_int_equal(kick_mode_parse("?", &k), -EINVAL);
	assert_int_equal(kick_mode_parse("Immediate", &k), -EINVAL);
	assert_int_equal(kick_mode_parse("sigmask ", &k), -EINVAL);
	assert_int_equal(kick_mode_parse("signal", &k), -EINVAL);
	assert_int_equal(k, KICK_SIGMASK);
}

static void test_ucall_type_names(void **state)
{
	(void)state;
	assert_string_equal(ucall_type_name(MCEFWD_UCALL_PRINT), "PRINT");
	assert_string_equal(ucall_type_name(MCEFWD_UCALL_REPORT), "REPORT");
	assert_string_equal(ucall_type_name(MCEFWD_UCALL_EXCEPTION), "EXCEPTION");
	assert_string_equal(ucall_type_name(MCEFWD_UCALL_HELLO), "HELLO");
	assert_string_equal(ucall_type_name(MCEFWD_UCALL_MCE), "MCE");
	assert_string_equal(ucall_type_name(MCEFWD_UCALL_READY), "READY");
	assert_string_equal(ucall_type_name(MCEFWD_UCALL_VALUE), "VALUE");
	assert_string_equal(ucall_type_name(MCEFWD_UCALL_WAIT), "WAIT");
	assert_string_equal(ucall_type_name(MCEFWD_UCALL_EXIT), "EXIT");
	assert_string_equal(ucall_type_name(0), "?");
	assert_string_equal(ucall_type_name(MCEFWD_UCALL_MAX), "?");
	assert_string_equal(ucall_type_name(UINT32_MAX), "?");
	for (uint32_t t = 1; t < MCEFWD_UCALL_MAX; t++)
		assert_string_not_equal(ucall_type_name(t), "?");
}

static struct kvm_cpuid2 *cpuid_alloc(unsigned int nent)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

	assert_non_null(c);
	c->nent = nent;
	return c;
}

static void test_cpuid_find(void **state)
{
	struct kvm_cpuid2 *c = cpuid_alloc(6);

	(void)state;
	/* Leaf 1: index not significant. */
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0xd };
	c->entries[1] = (struct kvm_cpuid_entry2){ .function = 1, .index = 0, .eax = 0x11 };
	/* Leaf 4: index significant, subleaves 0 and 1. */
	c->entries[2] = (struct kvm_cpuid_entry2){
		.function = 4, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x40 };
	c->entries[3] = (struct kvm_cpuid_entry2){
		.function = 4, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x41 };
	c->entries[4] = (struct kvm_cpuid_entry2){
		.function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0xb1 };
	c->entries[5] = (struct kvm_cpuid_entry2){ .function = 0x80000001, .eax = 0x81 };

	assert_ptr_equal(kvm_cpuid_find(c, 0, 0), &c->entries[0]);
	assert_ptr_equal(kvm_cpuid_find(c, 1, 0), &c->entries[1]);
	/* Index ignored where it is not significant. */
	assert_ptr_equal(kvm_cpuid_find(c, 1, 7), &c->entries[1]);
	assert_ptr_equal(kvm_cpuid_find(c, 0x80000001, 3), &c->entries[5]);
	/* Index matched where it is. */
	assert_ptr_equal(kvm_cpuid_find(c, 4, 0), &c->entries[2]);
	assert_ptr_equal(kvm_cpuid_find(c, 4, 1), &c->entries[3]);
	assert_null(kvm_cpuid_find(c, 4, 2));
	assert_null(kvm_cpuid_find(c, 0xb, 0));
	assert_ptr_equal(kvm_cpuid_find(c, 0xb, 1), &c->entries[4]);
	/* Absent leaves. */
	assert_null(kvm_cpuid_find(c, 2, 0));
	assert_null(kvm_cpuid_find(c, 0x80000000, 0));

	/* nent bounds the search; an empty list and NULL find nothing. */
	c->nent = 5;
	assert_null(kvm_cpuid_find(c, 0x80000001, 0));
	c->nent = 0;
	assert_null(kvm_cpuid_find(c, 0, 0));
	assert_null(kvm_cpuid_find(NULL, 1, 0));
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_names_known),
		cmocka_unit_test(test_exit_names_unknown),
		cmocka_unit_test(test_vector_names),
		cmocka_unit_test(test_outcome_names),
		cmocka_unit_test(test_kick_modes),
		cmocka_unit_test(test_ucall_type_names),
		cmocka_unit_test(test_cpuid_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
