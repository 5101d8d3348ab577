// SPDX-License-Identifier: GPL-2.0-only
/*
 * encodings.c: `mcefwd encodings` shows what mce_build() and
 * mce_build_broadcast() give, nothing of its own. The values themselves
 * are test_mce.c's to state; here they are only compared with the
 * builders' and looked for in the output.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mcefwd/cli/encodings.h"
#include "mcefwd/util/error.h"

#define GPA 0x203000ULL

static const enum mce_profile profiles[] = {
	MCE_PROFILE_QEMU62, MCE_PROFILE_QEMU7, MCE_PROFILE_AMD,
};

static struct encodings_opts opts(void)
{
	return (struct encodings_opts){
		.gpa = GPA, .bank = MCE_QEMU_BANK, .mcg_cap = mce_default_mcg_cap(),
	};
}

static void assert_same_mce(const struct kvm_x86_mce *a, const struct kvm_x86_mce *b)
{
	assert_int_equal(a->bank, b->bank);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->mcg_status, b->mcg_status);
	assert_int_equal(a->addr, b->addr);
	assert_int_equal(a->misc, b->misc);
}

static void test_build_is_mce_build(void **state)
{
	const struct encodings_opts o = opts();

	(void)state;
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		struct kvm_x86_mce ar, ao, bc;
		struct encodings_row row;
		int r;

		assert_int_equal(encodings_build(&o, profiles[i], &row), 0);
		assert_int_equal(row.profile, profiles[i]);
		assert_int_equal(mce_build(profiles[i], MCE_AR, GPA, MCE_QEMU_BANK, o.mcg_cap, false,
					   &ar), 0);
		assert_int_equal(mce_build(profiles[i], MCE_AO, GPA, MCE_QEMU_BANK, o.mcg_cap, false,
					   &ao), 0);
		assert_same_mce(&row.ar, &ar);
		assert_same_mce(&row.ao, &ao);
		assert_int_equal(row.ar_verdict, MCE_DELIVER);
		assert_int_equal(row.ao_verdict, MCE_DELIVER);
		r = mce_build_broadcast(profiles[i], &bc);
		assert_int_equal(row.has_broadcast, r == 0);
		assert_int_equal(row.has_broadcast, !mce_profile_is_amd(profiles[i]));
		if (row.has_broadcast)
			assert_same_mce(&row.broadcast, &bc);
	}
}

static void test_build_refuses_a_missing_bank(void **state)
{
	struct encodings_opts o = opts();
	struct encodings_row row;

	(void)state;
	o.bank = 10;
	error_clear();
	assert_int_equal(encodings_build(&o, MCE_PROFILE_QEMU7, &row), -EINVAL);
	assert_non_null(strstr(error_get(), "--bank 10"));
	assert_non_null(strstr(error_get(), "only 10 bank(s)"));
	assert_int_equal(encodings_build(&o, (enum mce_profile)99, &row), -EINVAL);
}

/* Without MCG_SER_P the records are built all the same, and said not delivered. */
static void test_no_ser_p(void **state)
{
	struct encodings_opts o = opts();
	struct encodings_row row;

	(void)state;
	o.mcg_cap &= ~MCE_MCG_SER_P;
	assert_int_equal(encodings_build(&o, MCE_PROFILE_QEMU7, &row), 0);
	assert_int_equal(row.ar_verdict, MCE_STOP_VM);
	assert_int_equal(row.ao_verdict, MCE_IGNORE);
	assert_non_null(strstr(row.ar_why, "MCG_SER_P"));
}

/* Prints with fn into memory; the caller frees. */
static char *print(int (*fn)(const struct encodings_opts *, FILE *),
		   const struct encodings_opts *o, int *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	*r = fn(o, f);
	fclose(f);
	return buf;
}

static void assert_has(const char *text, const char *what)
{
	if (!strstr(text, what))
		fail_msg("output lacks \"%s\":\n%s", what, text);
}

static void assert_has_hex(const char *text, const char *key, uint64_t v)
{
	char want[64];

	snprintf(want, sizeof(want), "\"%s\": \"0x%llx\"", key, (unsigned long long)v);
	assert_has(text, want);
}

static void test_json(void **state)
{
	const struct encodings_opts o = opts();
	struct encodings_row row;
	char *out;
	int r;

	(void)state;
	out = print(encodings_print_json, &o, &r);
	assert_int_equal(r, 0);
	assert_true(!strncmp(out, "{\n  \"version\": 1,\n", 18));
	assert_has_hex(out, "gpa", GPA);
	assert_has_hex(out, "mcg_cap", o.mcg_cap);
	assert_has(out, "\"default\": \"qemu-7\"");
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		char key[64];

		snprintf(key, sizeof(key), "\"%s\": {", mce_profile_name(profiles[i]));
		assert_has(out, key);
		assert_int_equal(encodings_build(&o, profiles[i], &row), 0);
		assert_has_hex(out, "status", row.ar.status);
		assert_has_hex(out, "status", row.ao.status);
		assert_has_hex(out, "mcg_status", row.ar.mcg_status);
		assert_has_hex(out, "misc", row.ar.misc);
	}
	assert_has(out, "\"broadcast\": null");
	assert_has(out, "\"verdict\": \"inject\"");
	free(out);
}

static void test_one_profile(void **state)
{
	struct encodings_opts o = opts();
	char *out;
	int r;

	(void)state;
	o.one = true;
	o.profile = MCE_PROFILE_AMD;
	out = print(encodings_print_json, &o, &r);
	assert_int_equal(r, 0);
	assert_has(out, "\"amd\": {");
	assert_null(strstr(out, "\"qemu-7\": {"));
	assert_null(strstr(out, "\"qemu-6.2\": {"));
	free(out);

	out = print(encodings_print_text, &o, &r);
	assert_int_equal(r, 0);
	assert_has(out, "\namd (AMD guest)\n");
	assert_has(out, "broadcast  none");
	assert_null(strstr(out, "qemu-7"));
	free(out);
}

static void test_text(void **state)
{
	const struct encodings_opts o = opts();
	struct encodings_row row;
	char want[512], mcg[64], status[128];
	char *out;
	int r;

	(void)state;
	out = print(encodings_print_text, &o, &r);
	assert_int_equal(r, 0);
	assert_has(out, "at gpa 0x203000 in guest RAM, bank 9,");
	assert_has(out, "\nqemu-7, the default (Intel guest)\n");
	assert_has(out, "\nqemu-6.2 (Intel guest)\n");
	/* As a guest's report says it: decoded, in the same words. */
	assert_int_equal(encodings_build(&o, MCE_PROFILE_QEMU7, &row), 0);
	mce_mcg_status_describe(row.ar.mcg_status, mcg, sizeof(mcg));
	mce_status_describe(row.ar.status, false, status, sizeof(status));
	snprintf(want, sizeof(want),
		 "  AR         MCG_STATUS 0x%llx (%s), bank 9 STATUS 0x%llx (%s) ADDR 0x203000 MISC 0x%llx\n",
		 (unsigned long long)row.ar.mcg_status, mcg, (unsigned long long)row.ar.status, status,
		 (unsigned long long)row.ar.misc);
	assert_has(out, want);
	free(out);
}

/* A usage error writes nothing: the document is all or none. */
static void test_error_writes_nothing(void **state)
{
	struct encodings_opts o = opts();
	char *out;
	int r;

	(void)state;
	o.bank = 31;
	out = print(encodings_print_json, &o, &r);
	assert_int_equal(r, -EINVAL);
	assert_string_equal(out, "");
	free(out);
	out = print(encodings_print_text, &o, &r);
	assert_int_equal(r, -EINVAL);
	assert_string_equal(out, "");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_is_mce_build),
		cmocka_unit_test(test_build_refuses_a_missing_bank),
		cmocka_unit_test(test_no_ser_p),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_one_profile),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_error_writes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
