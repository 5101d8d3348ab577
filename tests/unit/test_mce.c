// SPDX-License-Identifier: GPL-2.0-only
/*
 * mce/encode.c against the "What QEMU injects" and "What KVM does" tables of
 * REFERENCE.md, bit for bit.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mcefwd/mce/encode.h"

#define GPA		0x123456000ULL
#define CAP_DEFAULT	(10 | MCE_MCG_CTL_P | MCE_MCG_SER_P)
#define CAP_LMCE	(CAP_DEFAULT | MCE_MCG_LMCE_P)
#define HOST_SUPPORTED	(MCE_MCG_CTL_P | MCE_MCG_SER_P)

/* Filled with this first, so a field the builder forgets shows up. */
static void poison(struct kvm_x86_mce *m)
{
	memset(m, 0xa5, sizeof(*m));
}

static void assert_pads_zero(const struct kvm_x86_mce *m)
{
	unsigned int i;

	for (i = 0; i < sizeof(m->pad1); i++)
		assert_int_equal(m->pad1[i], 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(m->pad2[i], 0);
}

static void test_constants_literal(void **state)
{
	(void)state;
	assert_int_equal(MCE_STATUS_VAL, 0x8000000000000000ULL);
	assert_int_equal(MCE_STATUS_OVER, 0x4000000000000000ULL);
	assert_int_equal(MCE_STATUS_UC, 0x2000000000000000ULL);
	assert_int_equal(MCE_STATUS_EN, 0x1000000000000000ULL);
	assert_int_equal(MCE_STATUS_MISCV, 0x0800000000000000ULL);
	assert_int_equal(MCE_STATUS_ADDRV, 0x0400000000000000ULL);
	assert_int_equal(MCE_STATUS_PCC, 0x0200000000000000ULL);
	assert_int_equal(MCE_STATUS_S, 0x0100000000000000ULL);
	assert_int_equal(MCE_STATUS_AR, 0x0080000000000000ULL);
	assert_int_equal(MCE_STATUS_DEFERRED, 0x0000100000000000ULL);
	assert_int_equal(MCE_STATUS_POISON, 0x0000080000000000ULL);
	assert_int_equal(MCE_MCG_STATUS_RIPV | MCE_MCG_STATUS_EIPV |
			 MCE_MCG_STATUS_MCIP | MCE_MCG_STATUS_LMCE, 0xf);
	assert_int_equal(MCE_MCG_STATUS_MCIP, 0x4);
	assert_int_equal(MCE_MCG_CTL_P, 0x100);
	assert_int_equal(MCE_MCG_EXT_P, 0x200);
	assert_int_equal(MCE_MCG_CMCI_P, 0x400);
	assert_int_equal(MCE_MCG_TES_P, 0x800);
	assert_int_equal(MCE_MCG_SER_P, 0x1000000);
	assert_int_equal(MCE_MCG_ELOG_P, 0x4000000);
	assert_int_equal(MCE_MCG_LMCE_P, 0x8000000);
	assert_int_equal(MCE_MISC_PHYS_4K, 0x8c);
	assert_int_equal(mce_default_mcg_cap(), 0x100010aULL);
	assert_int_equal(mce_default_mcg_cap() & MCE_MCG_CAP_COUNT_MASK, 10);
}

static const struct {
	enum mce_profile profile;
	enum mce_kind kind;
	uint64_t status;
	uint64_t mcg_status;
} table[] = {
	{ MCE_PROFILE_QEMU62, MCE_AR, 0xBD80000000000134ULL, 0x6 },
	{ MCE_PROFILE_QEMU62, MCE_AO, 0xBD000000000000C0ULL, 0x5 },
	{ MCE_PROFILE_QEMU7, MCE_AR, 0xBD80000000000134ULL, 0x7 },
	{ MCE_PROFILE_QEMU7, MCE_AO, 0xBD000000000000C0ULL, 0x5 },
	{ MCE_PROFILE_AMD, MCE_AR, 0xBC00080000000000ULL, 0x7 },
	{ MCE_PROFILE_AMD, MCE_AO, 0x9C00180000000000ULL, 0x5 },
};

static void test_build_table(void **state)
{
	struct kvm_x86_mce m;
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		poison(&m);
		assert_int_equal(mce_build(table[i].profile, table[i].kind,
					   GPA + i * 0x1000, MCE_QEMU_BANK,
					   CAP_DEFAULT, false, &m), 0);
		assert_int_equal(m.status, table[i].status);
		assert_int_equal(m.mcg_status, table[i].mcg_status);
		assert_int_equal(m.addr, GPA + i * 0x1000);
		assert_int_equal(m.misc, 0x8c);
		assert_int_equal(m.bank, 9);
		assert_pads_zero(&m);
	}
}

static void test_build_other_bank(void **state)
{
	struct kvm_x86_mce m;

	(void)state;
	poison(&m);
	assert_int_equal(mce_build(MCE_PROFILE_QEMU7, MCE_AR, 0, 0,
				   CAP_DEFAULT, false, &m), 0);
	assert_int_equal(m.bank, 0);
	assert_int_equal(m.addr, 0);
	assert_int_equal(m.status, 0xBD80000000000134ULL);
}

static void test_build_lmce(void **state)
{
	struct kvm_x86_mce m;

	(void)state;
	/* Intel profiles with LMCE_P and LMCE_EN: MCG_STATUS gains LMCE. */
	assert_int_equal(mce_build(MCE_PROFILE_QEMU7, MCE_AR, GPA, 9,
				   CAP_LMCE, true, &m), 0);
	assert_int_equal(m.mcg_status, 0xf);
	assert_int_equal(m.status, 0xBD80000000000134ULL);
	assert_int_equal(mce_build(MCE_PROFILE_QEMU7, MCE_AO, GPA, 9,
				   CAP_LMCE, true, &m), 0);
	assert_int_equal(m.mcg_status, 0xd);
	assert_int_equal(mce_build(MCE_PROFILE_QEMU62, MCE_AR, GPA, 9,
				   CAP_LMCE, true, &m), 0);
	assert_int_equal(m.mcg_status, 0xe);
	assert_int_equal(mce_build(MCE_PROFILE_QEMU62, MCE_AO, GPA, 9,
				   CAP_LMCE, true, &m), 0);
	assert_int_equal(m.mcg_status, 0xd);

	/* LMCE_EN off, or no LMCE_P, or AMD: no LMCE. */
	assert_int_equal(mce_build(MCE_PROFILE_QEMU7, MCE_AR, GPA, 9,
				   CAP_LMCE, false, &m), 0);
	assert_int_equal(m.mcg_status, 0x7);
	assert_int_equal(mce_build(MCE_PROFILE_QEMU7, MCE_AR, GPA, 9,
				   CAP_DEFAULT, true, &m), 0);
	assert_int_equal(m.mcg_status, 0x7);
	assert_int_equal(mce_build(MCE_PROFILE_AMD, MCE_AR, GPA, 9,
				   CAP_LMCE, true, &m), 0);
	assert_int_equal(m.mcg_status, 0x7);
	assert_int_equal(mce_build(MCE_PROFILE_AMD, MCE_AO, GPA, 9,
				   CAP_LMCE, true, &m), 0);
	assert_int_equal(m.mcg_status, 0x5);
}

static void test_lmce_active(void **state)
{
	(void)state;
	assert_true(mce_lmce_active(MCE_PROFILE_QEMU7, CAP_LMCE, true));
	assert_true(mce_lmce_active(MCE_PROFILE_QEMU62, CAP_LMCE, true));
	assert_false(mce_lmce_active(MCE_PROFILE_QEMU7, CAP_LMCE, false));
	assert_false(mce_lmce_active(MCE_PROFILE_QEMU7, CAP_DEFAULT, true));
	assert_false(mce_lmce_active(MCE_PROFILE_AMD, CAP_LMCE, true));
	assert_false(mce_lmce_active((enum mce_profile)7, CAP_LMCE, true));
}

static void test_build_bank_range(void **state)
{
	struct kvm_x86_mce m, before;

	(void)state;
	poison(&m);
	before = m;
	/* MCG_CAP count 10: banks 0..9. */
	assert_int_equal(mce_build(MCE_PROFILE_QEMU7, MCE_AR, GPA, 10,
				   CAP_DEFAULT, false, &m), -EINVAL);
	assert_memory_equal(&m, &before, sizeof(m));
	assert_int_equal(mce_build(MCE_PROFILE_QEMU7, MCE_AR, GPA, 256,
				   CAP_DEFAULT, false, &m), -EINVAL);
	/* Count 0: no bank at all. */
	assert_int_equal(mce_build(MCE_PROFILE_QEMU7, MCE_AO, GPA, 0,
				   MCE_MCG_SER_P, false, &m), -EINVAL);
	/* Count 255 still stops at KVM's 32. */
	assert_int_equal(mce_build(MCE_PROFILE_AMD, MCE_AR, GPA, 31,
				   0xff | MCE_MCG_SER_P, false, &m), 0);
	assert_int_equal(m.bank, 31);
	assert_int_equal(mce_build(MCE_PROFILE_AMD, MCE_AR, GPA, 32,
				   0xff | MCE_MCG_SER_P, false, &m), -EINVAL);
	assert_int_equal(m.bank, 31);
	/* Bad profile or kind. */
	assert_int_equal(mce_build((enum mce_profile)3, MCE_AR, GPA, 9,
				   CAP_DEFAULT, false, &m), -EINVAL);
	assert_int_equal(mce_build(MCE_PROFILE_QEMU7, (enum mce_kind)2, GPA,
				   9, CAP_DEFAULT, false, &m), -EINVAL);
}

static void test_decide_matrix(void **state)
{
	static const struct {
		enum mce_kind kind;
		bool ser_p;
		bool in_ram;
		enum mce_verdict verdict;
		const char *reason_has;
	} cases[] = {
		{ MCE_AR, true, true, MCE_DELIVER, "inject" },
		{ MCE_AO, true, true, MCE_DELIVER, "inject" },
		{ MCE_AR, true, false, MCE_STOP_VM, "hardware memory error" },
		{ MCE_AO, true, false, MCE_IGNORE, "warning" },
		{ MCE_AR, false, true, MCE_STOP_VM, "hardware memory error" },
		{ MCE_AO, false, true, MCE_IGNORE, "MCG_SER_P" },
		{ MCE_AR, false, false, MCE_STOP_VM, "hardware memory error" },
		{ MCE_AO, false, false, MCE_IGNORE, "MCG_SER_P" },
	};
	const char *reason;
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t cap = cases[i].ser_p ? CAP_DEFAULT : 10 | MCE_MCG_CTL_P;

		reason = NULL;
		assert_int_equal(mce_decide(cases[i].kind, cap,
					    cases[i].in_ram, &reason),
				 cases[i].verdict);
		assert_non_null(reason);
		assert_non_null(strstr(reason, cases[i].reason_has));
		/* The reason is optional. */
		assert_int_equal(mce_decide(cases[i].kind, cap,
					    cases[i].in_ram, NULL),
				 cases[i].verdict);
	}
	/* Only SER_P matters, not the rest of MCG_CAP. */
	assert_int_equal(mce_decide(MCE_AR, MCE_MCG_SER_P, true, NULL),
			 MCE_DELIVER);
	assert_int_equal(mce_decide((enum mce_kind)9, CAP_DEFAULT, true,
				    &reason), MCE_IGNORE);
}

static void test_broadcast(void **state)
{
	static const enum mce_profile intel[] = {
		MCE_PROFILE_QEMU62, MCE_PROFILE_QEMU7,
	};
	struct kvm_x86_mce m, before;
	unsigned int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		poison(&m);
		assert_int_equal(mce_build_broadcast(intel[i], &m), 0);
		assert_int_equal(m.bank, 1);
		assert_int_equal(m.status, 0xA000000000000000ULL);
		assert_int_equal(m.mcg_status, 0x5);
		assert_int_equal(m.addr, 0);
		assert_int_equal(m.misc, 0);
		assert_pads_zero(&m);
	}
	poison(&m);
	before = m;
	assert_int_equal(mce_build_broadcast(MCE_PROFILE_AMD, &m),
			 -EOPNOTSUPP);
	assert_memory_equal(&m, &before, sizeof(m));
	assert_int_equal(mce_build_broadcast((enum mce_profile)5, &m),
			 -EINVAL);
}

static void test_wants_broadcast(void **state)
{
	(void)state;
	/* CPUID 1 EAX: family 11:8, model 7:4, extended model 19:16. */
	assert_false(mce_wants_broadcast(MCE_PROFILE_QEMU7, 0x6d0, false));	/* 6, 13 */
	assert_true(mce_wants_broadcast(MCE_PROFILE_QEMU7, 0x6e0, false));	/* 6, 14 */
	assert_true(mce_wants_broadcast(MCE_PROFILE_QEMU62, 0x50654, false));	/* 6, 0x55 */
	assert_true(mce_wants_broadcast(MCE_PROFILE_QEMU7, 0x700, false));	/* 7, 0 */
	assert_true(mce_wants_broadcast(MCE_PROFILE_QEMU7, 0xf60, false));	/* 15, 6 */
	assert_false(mce_wants_broadcast(MCE_PROFILE_QEMU7, 0x105e0, false));	/* 5, 30 */
	/* LMCE: local, no broadcast. */
	assert_false(mce_wants_broadcast(MCE_PROFILE_QEMU7, 0x50654, true));
	/* AMD guests never broadcast, whatever the family. */
	assert_false(mce_wants_broadcast(MCE_PROFILE_AMD, 0xa00f11, false));	/* 0x19, 1 */
	assert_false(mce_wants_broadcast(MCE_PROFILE_AMD, 0x6e0, false));
}

static void test_cap_check_accept(void **state)
{
	char why[256];

	(void)state;
	memset(why, 'x', sizeof(why));
	assert_int_equal(mce_cap_check(mce_default_mcg_cap(), HOST_SUPPORTED,
				       32, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	assert_int_equal(mce_cap_check(32 | MCE_MCG_SER_P, HOST_SUPPORTED,
				       32, why, sizeof(why)), 0);
	assert_int_equal(mce_cap_check(1, 0, 1, why, sizeof(why)), 0);
	/* MCG_EXT_CNT is always let through, as KVM does. */
	assert_int_equal(mce_cap_check(10 | 0xff0000, HOST_SUPPORTED, 32,
				       why, sizeof(why)), 0);
	/* A host that supports LMCE_P accepts it. */
	assert_int_equal(mce_cap_check(CAP_LMCE,
				       HOST_SUPPORTED | MCE_MCG_LMCE_P, 32,
				       NULL, 0), 0);
}

static void test_cap_check_reject_bits(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(mce_cap_check(CAP_LMCE, HOST_SUPPORTED, 32,
				       why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "MCG_LMCE_P (bit 27) is not supported by this host's KVM (supported: MCG_CTL_P|MCG_SER_P)");

	assert_int_equal(mce_cap_check(CAP_LMCE | MCE_MCG_CMCI_P,
				       HOST_SUPPORTED, 32, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "MCG_CMCI_P (bit 10), MCG_LMCE_P (bit 27) are not supported by this host's KVM (supported: MCG_CTL_P|MCG_SER_P)");

	assert_int_equal(mce_cap_check(10 | (1ULL << 40), HOST_SUPPORTED, 32,
				       why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "bit 40 is not supported by this host's KVM (supported: MCG_CTL_P|MCG_SER_P)");

	assert_int_equal(mce_cap_check(CAP_DEFAULT, 0, 32, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "MCG_CTL_P (bit 8), MCG_SER_P (bit 24) are not supported by this host's KVM (supported: none)");

	/* The AMD host of REFERENCE.md: 0x1000100. */
	assert_int_equal(mce_cap_check(CAP_DEFAULT | MCE_MCG_TES_P, 0x1000100,
				       32, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "MCG_TES_P (bit 11) is not supported by this host's KVM (supported: MCG_CTL_P|MCG_SER_P)");
}

static void test_cap_check_reject_banks(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(mce_cap_check(MCE_MCG_SER_P, HOST_SUPPORTED, 32,
				       why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "MCG_CAP bank count is 0: at least 1 bank is needed");

	assert_int_equal(mce_cap_check(33 | MCE_MCG_SER_P, HOST_SUPPORTED, 32,
				       why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "MCG_CAP bank count 33 exceeds the 32 banks this host's KVM supports");

	/* KVM's 32 caps a larger KVM_CAP_MCE. */
	assert_int_equal(mce_cap_check(33, 0, 64, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "exceeds the 32 banks"));

	assert_int_equal(mce_cap_check(CAP_DEFAULT, HOST_SUPPORTED, 8,
				       why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "MCG_CAP bank count 10 exceeds the 8 banks this host's KVM supports");

	assert_int_equal(mce_cap_check(CAP_DEFAULT, HOST_SUPPORTED, 0,
				       why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "KVM_CAP_MCE is 0"));

	/* Both problems are named. */
	assert_int_equal(mce_cap_check(40 | MCE_MCG_LMCE_P, HOST_SUPPORTED, 32,
				       why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "MCG_CAP bank count 40 exceeds the 32 banks this host's KVM supports; MCG_LMCE_P (bit 27) is not supported by this host's KVM (supported: MCG_CTL_P|MCG_SER_P)");

	/* A short buffer is cut but terminated; no buffer is fine. */
	memset(why, 'x', sizeof(why));
	assert_int_equal(mce_cap_check(CAP_LMCE, HOST_SUPPORTED, 32, why, 11),
			 -EINVAL);
	assert_string_equal(why, "MCG_LMCE_P");
	assert_int_equal(why[11], 'x');
	assert_int_equal(mce_cap_check(CAP_LMCE, HOST_SUPPORTED, 32, NULL, 0),
			 -EINVAL);
}

static void assert_status_text(uint64_t status, bool amd, const char *want)
{
	char buf[160];
	size_t n;

	n = mce_status_describe(status, amd, buf, sizeof(buf));
	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
}

static void test_status_describe(void **state)
{
	(void)state;
	assert_status_text(0xBD80000000000134ULL, false,
			   "VAL|UC|EN|MISCV|ADDRV|S|AR MCACOD=0x134 MSCOD=0x0");
	assert_status_text(0xBD000000000000C0ULL, false,
			   "VAL|UC|EN|MISCV|ADDRV|S MCACOD=0xc0 MSCOD=0x0");
	assert_status_text(0xBC00080000000000ULL, true,
			   "VAL|UC|EN|MISCV|ADDRV|POISON MCACOD=0x0 MSCOD=0x0");
	assert_status_text(0x9C00180000000000ULL, true,
			   "VAL|EN|MISCV|ADDRV|DEFERRED|POISON MCACOD=0x0 MSCOD=0x0");
	assert_status_text(0xA000000000000000ULL, false,
			   "VAL|UC MCACOD=0x0 MSCOD=0x0");
	assert_status_text(MCE_STATUS_VAL | MCE_STATUS_OVER | MCE_STATUS_PCC |
			   0x00050150ULL, false,
			   "VAL|OVER|PCC MCACOD=0x150 MSCOD=0x5");
	assert_status_text(0, false, "none MCACOD=0x0 MSCOD=0x0");
	/* Read with the other vendor's eyes, foreign bits show as OTHER. */
	assert_status_text(0xBD80000000000134ULL, true,
			   "VAL|UC|EN|MISCV|ADDRV MCACOD=0x134 MSCOD=0x0 OTHER=0x180000000000000");
	assert_status_text(0xBC00080000000000ULL, false,
			   "VAL|UC|EN|MISCV|ADDRV MCACOD=0x0 MSCOD=0x0 OTHER=0x80000000000");
}

static void test_describe_truncation(void **state)
{
	char buf[8];
	size_t full;

	(void)state;
	full = mce_status_describe(0xBD80000000000134ULL, false, NULL, 0);
	assert_int_equal(full, strlen("VAL|UC|EN|MISCV|ADDRV|S|AR MCACOD=0x134 MSCOD=0x0"));
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(mce_status_describe(0xBD80000000000134ULL, false,
					     buf, sizeof(buf)), full);
	assert_string_equal(buf, "VAL|UC|");
	assert_int_equal(mce_mcg_status_describe(0x7, NULL, 0),
			 strlen("MCIP|RIPV|EIPV"));
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(mce_mcg_status_describe(0x7, buf, 5), 14);
	assert_string_equal(buf, "MCIP");
	assert_int_equal(buf[5], 'x');
}

static void assert_mcg_text(uint64_t mcg_status, const char *want)
{
	char buf[64];

	assert_int_equal(mce_mcg_status_describe(mcg_status, buf, sizeof(buf)),
			 strlen(want));
	assert_string_equal(buf, want);
}

static void test_mcg_status_describe(void **state)
{
	(void)state;
	assert_mcg_text(0x7, "MCIP|RIPV|EIPV");
	assert_mcg_text(0x6, "MCIP|EIPV");
	assert_mcg_text(0x5, "MCIP|RIPV");
	assert_mcg_text(0xf, "MCIP|RIPV|EIPV|LMCE");
	assert_mcg_text(0, "none");
	assert_mcg_text(0x14, "MCIP|0x10");
	assert_mcg_text(0x100, "0x100");
}

static void test_profile_parse_name(void **state)
{
	static const enum mce_profile all[] = {
		MCE_PROFILE_QEMU62, MCE_PROFILE_QEMU7, MCE_PROFILE_AMD,
	};
	static const char *const bad[] = {
		"", "qemu-8", "qemu-6", "AMD", "qemu-7 ", "intel",
	};
	enum mce_profile p;
	unsigned int i;

	(void)state;
	assert_string_equal(mce_profile_name(MCE_PROFILE_QEMU62), "qemu-6.2");
	assert_string_equal(mce_profile_name(MCE_PROFILE_QEMU7), "qemu-7");
	assert_string_equal(mce_profile_name(MCE_PROFILE_AMD), "amd");
	assert_string_equal(mce_profile_name(MCE_PROFILE_DEFAULT), "qemu-7");
	assert_string_equal(mce_profile_name((enum mce_profile)42), "unknown");
	for (i = 0; i < 3; i++) {
		p = (enum mce_profile)99;
		assert_int_equal(mce_profile_parse(mce_profile_name(all[i]), &p),
				 0);
		assert_int_equal(p, all[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = MCE_PROFILE_AMD;
		assert_int_equal(mce_profile_parse(bad[i], &p), -EINVAL);
		assert_int_equal(p, MCE_PROFILE_AMD);
	}
	assert_int_equal(mce_profile_parse(NULL, &p), -EINVAL);
	assert_true(mce_profile_is_amd(MCE_PROFILE_AMD));
	assert_false(mce_profile_is_amd(MCE_PROFILE_QEMU7));
	assert_false(mce_profile_is_amd(MCE_PROFILE_QEMU62));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_constants_literal),
		cmocka_unit_test(test_build_table),
		cmocka_unit_test(test_build_other_bank),
		cmocka_unit_test(test_build_lmce),
		cmocka_unit_test(test_lmce_active),
		cmocka_unit_test(test_build_bank_range),
		cmocka_unit_test(test_decide_matrix),
		cmocka_unit_test(test_broadcast),
		cmocka_unit_test(test_wants_broadcast),
		cmocka_unit_test(test_cap_check_accept),
		cmocka_unit_test(test_cap_check_reject_bits),
		cmocka_unit_test(test_cap_check_reject_banks),
		cmocka_unit_test(test_status_describe),
		cmocka_unit_test(test_describe_truncation),
		cmocka_unit_test(test_mcg_status_describe),
		cmocka_unit_test(test_profile_parse_name),
	};

	return cmocka_run_group_tests_name("mce", tests, NULL, NULL);
}
