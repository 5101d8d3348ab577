// SPDX-License-Identifier: GPL-2.0-only
/*
 * QEMU's rules (mcefwd/mce/qemu_model.c) against QEMU's source: the
 * encoding by version and vendor, the broadcast by cpu_x86_version's
 * family and model, and do_inject_x86_mce's drop, reset, overflow and
 * write rules, rule by rule, with the MEMORY_FAILURE action each sends;
 * and what mcefwd's own VMM must show under a QEMU model (qemu_rules.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mcefwd/mce/qemu_model.h"
#include "mcefwd/scenario/qemu_rules.h"

#define CAP	(10 | MCE_MCG_CTL_P | MCE_MCG_SER_P)
#define BANK	MCE_QEMU_BANK

static const struct qemu_release v62 = { 6, 2 }, v72 = { 7, 2 }, v90 = { 9, 0 }, v91 = { 9, 1 },
				  v10 = { 10, 0 };

/* As QEMU's mce_init leaves a vCPU, and the guest with CR4.MCE set. */
static struct qemu_mca fresh(uint64_t cap)
{
	struct qemu_mca st;

	memset(&st, 0, sizeof(st));
	st.mcg_cap = cap;
	st.mcg_ctl = ~0ULL;
	st.cr4_mce = true;
	for (unsigned int i = 0; i < MCE_KVM_MAX_BANKS; i++)
		st.bank[i][0] = ~0ULL;
	return st;
}

/* What kvm_mce_inject hands do_inject_x86_mce for profile p. */
static struct kvm_x86_mce built(enum mce_profile p, enum mce_kind k)
{
	struct kvm_x86_mce m;

	assert_int_equal(mce_build(p, k, 0x200000, BANK, CAP, false, &m), 0);
	return m;
}

static enum qemu_inject inject(struct qemu_mca *st, const struct kvm_x86_mce *m, unsigned int flags)
{
	const char *why = NULL;
	enum qemu_inject r = qemu_model_inject(st, m->bank, m->status, m->mcg_status, m->addr,
					       m->misc, flags, &why);

	assert_non_null(why);
	return r;
}

static void test_profile(void **state)
{
	(void)state;
	assert_int_equal(qemu_model_profile(v62, false), MCE_PROFILE_QEMU62);
	assert_int_equal(qemu_model_profile(v62, true), MCE_PROFILE_QEMU62);
	assert_int_equal(qemu_model_profile(v72, true), MCE_PROFILE_QEMU7);
	assert_int_equal(qemu_model_profile(v90, true), MCE_PROFILE_QEMU7);
	assert_int_equal(qemu_model_profile(v91, true), MCE_PROFILE_AMD);
	assert_int_equal(qemu_model_profile(v91, false), MCE_PROFILE_QEMU7);
	assert_int_equal(qemu_model_profile(v10, true), MCE_PROFILE_AMD);
}

static void test_broadcast(void **state)
{
	(void)state;
	/* Family 6 from model 14 (0x6e0 is model 14, 0x6d0 model 13); 0x906ea is model 0x9e. */
	assert_true(qemu_model_broadcasts(v72, false, 0x000006e0));
	assert_false(qemu_model_broadcasts(v72, false, 0x000006d0));
	assert_true(qemu_model_broadcasts(v72, false, 0x000906ea));
	/* Family 6 model 6, TCG's qemu64-like models: none. */
	assert_false(qemu_model_broadcasts(v72, true, 0x00000663));
	/* Base family 0xf, extended family ignored: an AMD Zen 3 (0x00a20f10) counts before 9.1. */
	assert_true(qemu_model_broadcasts(v72, true, 0x00a20f10));
	assert_true(qemu_model_broadcasts(v90, true, 0x00a20f10));
	assert_false(qemu_model_broadcasts(v91, true, 0x00a20f10));
	assert_true(qemu_model_broadcasts(v91, false, 0x000906ea));
	/* Family 5 or less: none. */
	assert_false(qemu_model_broadcasts(v72, false, 0x00000543));
}

/* The Intel encoding: the AO raised, a second AO dropped under MCIP, the AR then a reset. */
static void test_inject_mcip(void **state)
{
	struct qemu_mca st = fresh(CAP);
	struct kvm_x86_mce ao = built(MCE_PROFILE_QEMU7, MCE_AO), ar = built(MCE_PROFILE_QEMU7, MCE_AR);
	struct qemu_mca before;

	(void)state;
	assert_int_equal(inject(&st, &ao, 0), QEMU_INJECT_RAISED);
	assert_int_equal(st.bank[BANK][1], 0xbd000000000000c0ULL);
	assert_int_equal(st.bank[BANK][2], 0x200000);
	assert_int_equal(st.bank[BANK][3], 0x8c);
	assert_int_equal(st.mcg_status, MCE_MCG_STATUS_MCIP | MCE_MCG_STATUS_RIPV);
	assert_string_equal(qemu_model_event(QEMU_INJECT_RAISED), "inject");

	before = st;
	assert_int_equal(inject(&st, &ao, 0), QEMU_INJECT_IGNORED);
	assert_memory_equal(&st, &before, sizeof(st));
	assert_string_equal(qemu_model_event(QEMU_INJECT_IGNORED), "ignore");

	/* MCE_INJECT_UNCOND_AO skips the MCIP drop, and so meets the UC-under-MCIP reset. */
	assert_int_equal(inject(&st, &ao, QEMU_INJECT_UNCOND_AO), QEMU_INJECT_RESET);
	assert_int_equal(inject(&st, &ar, 0), QEMU_INJECT_RESET);
	assert_memory_equal(&st, &before, sizeof(st));
	assert_string_equal(qemu_model_event(QEMU_INJECT_RESET), "reset");

	/* The guest cleared MCIP and kept the bank: the AR overflows it. */
	st.mcg_status = 0;
	assert_int_equal(inject(&st, &ar, 0), QEMU_INJECT_RAISED);
	assert_int_equal(st.bank[BANK][1], 0xbd80000000000134ULL | MCE_STATUS_OVER);
	assert_int_equal(st.mcg_status,
			 MCE_MCG_STATUS_MCIP | MCE_MCG_STATUS_RIPV | MCE_MCG_STATUS_EIPV);
}

static void test_inject_disabled_and_cr4(void **state)
{
	struct kvm_x86_mce ar = built(MCE_PROFILE_QEMU7, MCE_AR);
	struct qemu_mca st = fresh(CAP), before;

	(void)state;
	st.bank[BANK][0] = 0;
	before = st;
	assert_int_equal(inject(&st, &ar, 0), QEMU_INJECT_DISABLED);
	assert_memory_equal(&st, &before, sizeof(st));
	assert_null(qemu_model_event(QEMU_INJECT_DISABLED));

	/* MCG_CTL counts only with MCG_CTL_P. */
	st = fresh(CAP);
	st.mcg_ctl = 0;
	assert_int_equal(inject(&st, &ar, 0), QEMU_INJECT_DISABLED);
	st = fresh(CAP & ~MCE_MCG_CTL_P);
	st.mcg_ctl = 0;
	assert_int_equal(inject(&st, &ar, 0), QEMU_INJECT_RAISED);

	st = fresh(CAP);
	st.cr4_mce = false;
	assert_int_equal(inject(&st, &ar, 0), QEMU_INJECT_RESET);

	/* A bank beyond the count never reaches do_inject_x86_mce. */
	st = fresh(5 | MCE_MCG_SER_P);
	assert_int_equal(inject(&st, &ar, 0), QEMU_INJECT_BAD);
	assert_null(qemu_model_event(QEMU_INJECT_BAD));
}

/* AMD's deferred AO (9.1) has no UC: written to the bank, no #MC, whatever MCIP says. */
static void test_inject_not_uc(void **state)
{
	struct kvm_x86_mce ao = built(MCE_PROFILE_AMD, MCE_AO), ar = built(MCE_PROFILE_AMD, MCE_AR);
	struct qemu_mca st = fresh(CAP);

	(void)state;
	assert_false(ao.status & MCE_STATUS_UC);
	assert_int_equal(inject(&st, &ao, 0), QEMU_INJECT_LOGGED);
	assert_int_equal(st.bank[BANK][1], 0x9c00180000000000ULL);
	assert_int_equal(st.mcg_status, 0);
	/* Again onto the valid deferred entry: OVER with the new one. */
	assert_int_equal(inject(&st, &ao, 0), QEMU_INJECT_LOGGED);
	assert_int_equal(st.bank[BANK][1], 0x9c00180000000000ULL | MCE_STATUS_OVER);
	/* The AR finds the deferred entry valid: OVER, #MC raised. */
	assert_int_equal(inject(&st, &ar, 0), QEMU_INJECT_RAISED);
	assert_int_equal(st.bank[BANK][1], 0xbc00080000000000ULL | MCE_STATUS_OVER);
	/* Now a deferred one under MCIP: no AR bit, dropped. */
	assert_int_equal(inject(&st, &ao, 0), QEMU_INJECT_IGNORED);
	/* MCIP cleared, the bank still holds the uncorrected AR: only OVER is or-ed in. */
	st.mcg_status = 0;
	st.bank[BANK][1] = 0xbc00080000000000ULL;
	assert_int_equal(inject(&st, &ao, 0), QEMU_INJECT_OVER);
	assert_int_equal(st.bank[BANK][1], 0xbc00080000000000ULL | MCE_STATUS_OVER);
	assert_int_equal(st.bank[BANK][2], 0x200000);
}

/* The broadcast's bank-1 copy meets the same rules on each other vCPU. */
static void test_inject_broadcast_copy(void **state)
{
	struct kvm_x86_mce b;
	struct qemu_mca st = fresh(CAP);

	(void)state;
	assert_int_equal(mce_build_broadcast(MCE_PROFILE_QEMU7, &b), 0);
	assert_int_equal(inject(&st, &b, 0), QEMU_INJECT_RAISED);
	assert_int_equal(st.bank[MCE_BROADCAST_BANK][1], MCE_STATUS_VAL | MCE_STATUS_UC);
	assert_int_equal(st.mcg_status, MCE_MCG_STATUS_MCIP | MCE_MCG_STATUS_RIPV);
	/* A second one before the guest cleared MCIP: no AR bit, dropped. */
	assert_int_equal(inject(&st, &b, 0), QEMU_INJECT_IGNORED);
}

/* What mcefwd must show under model for scenario name poisoned with m. */
static struct scenario for_model(struct qemu_release model, enum mce_profile profile, bool amd,
				 const char *name, enum inject_method m)
{
	struct fwd_config fwd = { .profile = profile, .model = model, .bank = BANK };
	struct qemu_guest g = { .amd = amd, .cpuid_version = amd ? 0xa00f11 : 0x50654 };
	const struct scenario *sc = scenario_find(name);
	struct scenario out;
	const char *why;

	assert_non_null(sc);
	qemu_rules_for_model(&fwd, &g, CAP, amd, sc, m, &out, &why);
	if (model.major)
		assert_non_null(why);
	return out;
}

/* mcefwd's own model: the scenario's own row, untouched. */
static void test_model_mcefwd_is_the_row(void **state)
{
	struct qemu_release none = { 0, 0 };

	(void)state;
	for (unsigned int i = 0; i < scenario_count(); i++) {
		const struct scenario *sc = scenario_at(i);
		struct scenario out = for_model(none, MCE_PROFILE_QEMU7, false, sc->name,
						INJECT_PFN);

		assert_memory_equal(&out, sc, sizeof(out));
	}
}

/* The errors the payload asks for (signal, uffd), under QEMU's rules. */
static void test_model_asked(void **state)
{
	struct scenario o;

	(void)state;
	o = for_model(v72, MCE_PROFILE_QEMU7, false, "burst", INJECT_SIGNAL);
	assert_int_equal(o.outcome, SCN_QEMU_SIGBUS);
	assert_int_equal(o.nr_mce, 0);
	o = for_model(v72, MCE_PROFILE_QEMU7, false, "nested", INJECT_SIGNAL);
	assert_int_equal(o.outcome, SCN_RESET);
	assert_int_equal(o.nr_mce, 1);
	o = for_model(v91, MCE_PROFILE_AMD, true, "nested", INJECT_UFFD);
	assert_int_equal(o.outcome, SCN_EXIT);
	assert_int_equal(o.outcome_poisoned, SCN_REFAULT);
	o = for_model(v72, MCE_PROFILE_QEMU7, false, "no-cr4-mce", INJECT_SIGNAL);
	assert_int_equal(o.outcome, SCN_RESET);
	o = for_model(v72, MCE_PROFILE_QEMU7, false, "ar-no-ser", INJECT_SIGNAL);
	assert_int_equal(o.outcome, SCN_QEMU_EXIT);
	o = for_model(v72, MCE_PROFILE_QEMU7, false, "vmm-memory", INJECT_SIGNAL);
	assert_int_equal(o.outcome, SCN_QEMU_EXIT);
	o = for_model(v72, MCE_PROFILE_QEMU7, false, "vmm-memory-ao", INJECT_SIGNAL);
	assert_int_equal(o.outcome, SCN_EXIT);
	o = for_model(v72, MCE_PROFILE_QEMU7, false, "bank-disabled", INJECT_UFFD);
	assert_int_equal(o.outcome, SCN_EXIT);
	assert_int_equal(o.outcome_poisoned, SCN_REFAULT);
	o = for_model(v72, MCE_PROFILE_QEMU7, false, "overflow", INJECT_SIGNAL);
	assert_int_equal(o.outcome, SCN_EXIT);
	assert_int_equal(o.nr_mce, 2);
	assert_true(o.mce[1].over);
}

/* A real memory failure under early kill: the rows a real QEMU is judged by. */
static void test_model_early_kill(void **state)
{
	struct scenario o;

	(void)state;
	o = for_model(v72, MCE_PROFILE_QEMU7, false, "ar", INJECT_PFN);
	assert_int_equal(o.outcome, SCN_EXIT);
	assert_int_equal(o.nr_mce, 1);
	assert_int_equal(o.mce[0].kind, MCE_AO);	/* the AO's #MC retires the page first */
	o = for_model(v91, MCE_PROFILE_AMD, true, "ar", INJECT_HWPOISON);
	assert_int_equal(o.mce[0].kind, MCE_AR);	/* the AMD AO is only logged: OVER */
	assert_true(o.mce[0].over);
	o = for_model(v72, MCE_PROFILE_QEMU7, false, "bank-disabled", INJECT_PFN);
	assert_int_equal(o.outcome, SCN_REFAULT);
	assert_int_equal(o.outcome_poisoned, 0);
	o = for_model(v72, MCE_PROFILE_QEMU7, false, "nested", INJECT_PFN);
	assert_int_equal(o.outcome, SCN_RESET);
	/* The AMD AR has no AR bit: under MCIP do_inject_x86_mce drops it, no reset. */
	o = for_model(v91, MCE_PROFILE_AMD, true, "nested", INJECT_PFN);
	assert_int_equal(o.outcome, SCN_REFAULT);
	assert_true(o.mce[0].kind == MCE_AR && o.mce[0].over);
	o = for_model(v72, MCE_PROFILE_QEMU7, false, "ar-no-ser", INJECT_PFN);
	assert_int_equal(o.outcome, SCN_QEMU_EXIT);
	o = for_model(v72, MCE_PROFILE_QEMU7, false, "reset", INJECT_PFN);
	assert_int_equal(o.outcome, SCN_EXIT);
	assert_int_equal(o.mce[0].kind, MCE_AO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profile),
		cmocka_unit_test(test_broadcast),
		cmocka_unit_test(test_inject_mcip),
		cmocka_unit_test(test_inject_disabled_and_cr4),
		cmocka_unit_test(test_inject_not_uc),
		cmocka_unit_test(test_inject_broadcast_copy),
		cmocka_unit_test(test_model_mcefwd_is_the_row),
		cmocka_unit_test(test_model_asked),
		cmocka_unit_test(test_model_early_kill),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
