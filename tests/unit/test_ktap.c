// SPDX-License-Identifier: GPL-2.0-only
/*
 * ktap.c: the exact bytes of the KTAP stream (a parser downstream reads
 * them, not a human) and the kselftest exit codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mcefwd/util/ktap.h"

struct capture {
	FILE *f;
	char *buf;
	size_t len;
};

static void capture_open(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
}

/* Closes the stream and checks everything written, byte for byte. */
static void capture_check(struct capture *c, const char *want)
{
	assert_int_equal(fclose(c->f), 0);
	c->f = NULL;
	assert_non_null(c->buf);
	if (strcmp(c->buf, want))
		fail_msg("KTAP output differs:\n--- got ---\n%s--- want ---\n%s", c->buf, want);
	assert_int_equal(c->len, strlen(want));
	free(c->buf);
	c->buf = NULL;
}

static void test_small_plan_exact(void **state)
{
	struct capture c;
	struct ktap k;

	(void)state;
	capture_open(&c);
	ktap_begin(&k, c.f, 4);
	ktap_result(&k, KTAP_PASS, "alpha", NULL);
	ktap_result(&k, KTAP_FAIL, "beta", "vcpu-0 took #UD");
	ktap_result(&k, KTAP_SKIP, "gamma", "no /dev/kvm");
	ktap_diag(&k, "a diagnostic %d %s", 42, "here");
	ktap_result(&k, KTAP_PASS, "delta", "ignored for a pass");
	ktap_end(&k);
	assert_int_equal(k.n, 4);
	assert_int_equal(k.passed, 2);
	assert_int_equal(k.failed, 1);
	assert_int_equal(k.skipped, 1);
	assert_int_equal(ktap_exit_code(&k), KSFT_FAIL);
	capture_check(&c,
		      "KTAP version 1\n"
		      "1..4\n"
		      "ok 1 alpha\n"
		      "not ok 2 beta # vcpu-0 took UD\n"
		      "ok 3 gamma # SKIP no /dev/kvm\n"
		      "# a diagnostic 42 here\n"
		      "ok 4 delta\n"
		      "# Totals: pass:2 fail:1 xfail:0 xpass:0 skip:1 error:0\n");
}

static void test_missing_reasons(void **state)
{
	struct capture c;
	struct ktap k;

	(void)state;
	capture_open(&c);
	ktap_begin(&k, c.f, 4);
	ktap_result(&k, KTAP_FAIL, "f1", NULL);
	ktap_result(&k, KTAP_FAIL, "f2", "");
	ktap_result(&k, KTAP_SKIP, "s1", NULL);
	ktap_result(&k, KTAP_SKIP, "s2", "");
	capture_check(&c,
		      "KTAP version 1\n"
		      "1..4\n"
		      "not ok 1 f1\n"
		      "not ok 2 f2\n"
		      "ok 3 s1 # SKIP no reason given\n"
		      "ok 4 s2 # SKIP no reason given\n");
}

static void test_sanitise_names_and_reasons(void **state)
{
	struct capture c;
	struct ktap k;

	(void)state;
	capture_open(&c);
	ktap_begin(&k, c.f, 3);
	/* A '#' in a name would start a directive; a newline would end the line. */
	ktap_result(&k, KTAP_PASS, "a#b\nc # SKIP", NULL);
	ktap_result(&k, KTAP_FAIL, "##x", "line1\nline2 # TODO #7\n");
	ktap_result(&k, KTAP_SKIP, "\n", "needs\n#root");
	capture_check(&c,
		      "KTAP version 1\n"
		      "1..3\n"
		      "ok 1 ab c  SKIP\n"
		      "not ok 2 x # line1 line2  TODO 7 \n"
		      "ok 3   # SKIP needs root\n");
	/* The sanitising does not change what was counted. */
	assert_int_equal(k.passed, 1);
	assert_int_equal(k.failed, 1);
	assert_int_equal(k.skipped, 1);
}

static void test_exit_all_pass(void **state)
{
	struct capture c;
	struct ktap k;

	(void)state;
	capture_open(&c);
	ktap_begin(&k, c.f, 2);
	ktap_result(&k, KTAP_PASS, "a", NULL);
	ktap_result(&k, KTAP_PASS, "b", NULL);
	ktap_end(&k);
	assert_int_equal(ktap_exit_code(&k), KSFT_PASS);
	capture_check(&c,
		      "KTAP version 1\n1..2\nok 1 a\nok 2 b\n"
		      "# Totals: pass:2 fail:0 xfail:0 xpass:0 skip:0 error:0\n");
}

static void test_exit_any_fail(void **state)
{
	struct capture c;
	struct ktap k;

	(void)state;
	capture_open(&c);
	ktap_begin(&k, c.f, 3);
	ktap_result(&k, KTAP_SKIP, "a", "x");
	ktap_result(&k, KTAP_FAIL, "b", "y");
	ktap_result(&k, KTAP_SKIP, "c", "z");
	assert_int_equal(ktap_exit_code(&k), KSFT_FAIL);
	fclose(c.f);
	free(c.buf);
}

static void test_exit_all_skipped(void **state)
{
	struct capture c;
	struct ktap k;

	(void)state;
	capture_open(&c);
	ktap_begin(&k, c.f, 2);
	ktap_result(&k, KTAP_SKIP, "a", "no kvm");
	ktap_result(&k, KTAP_SKIP, "b", "no kvm");
	ktap_end(&k);
	assert_int_equal(ktap_exit_code(&k), KSFT_SKIP);
	assert_int_equal(KSFT_SKIP, 4);
	capture_check(&c,
		      "KTAP version 1\n1..2\n"
		      "ok 1 a # SKIP no kvm\nok 2 b # SKIP no kvm\n"
		      "# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:2 error:0\n");
}

static void test_exit_some_skipped(void **state)
{
	struct capture c;
	struct ktap k;

	(void)state;
	capture_open(&c);
	ktap_begin(&k, c.f, 3);
	ktap_result(&k, KTAP_SKIP, "a", "no root");
	ktap_result(&k, KTAP_PASS, "b", NULL);
	ktap_result(&k, KTAP_SKIP, "c", "no root");
	assert_int_equal(ktap_exit_code(&k), KSFT_PASS);
	fclose(c.f);
	free(c.buf);
}

static void test_plan_not_met(void **state)
{
	struct capture c;
	struct ktap k;

	(void)state;
	capture_open(&c);
	ktap_begin(&k, c.f, 3);
	ktap_result(&k, KTAP_PASS, "a", NULL);
	ktap_result(&k, KTAP_PASS, "b", NULL);
	/* Every result passed, but one test never reported: that is a failure. */
	assert_int_equal(ktap_exit_code(&k), KSFT_FAIL);
	ktap_end(&k);
	assert_int_equal(ktap_exit_code(&k), KSFT_FAIL);
	capture_check(&c,
		      "KTAP version 1\n1..3\nok 1 a\nok 2 b\n"
		      "# planned 3 tests but ran 2\n"
		      "# Totals: pass:2 fail:0 xfail:0 xpass:0 skip:0 error:0\n");

	/* All skipped but short of the plan: still a failure, not a skip. */
	capture_open(&c);
	ktap_begin(&k, c.f, 2);
	ktap_result(&k, KTAP_SKIP, "a", "x");
	assert_int_equal(ktap_exit_code(&k), KSFT_FAIL);
	fclose(c.f);
	free(c.buf);
}

static void test_plan_exceeded(void **state)
{
	struct capture c;
	struct ktap k;

	(void)state;
	capture_open(&c);
	ktap_begin(&k, c.f, 1);
	ktap_result(&k, KTAP_PASS, "a", NULL);
	ktap_result(&k, KTAP_PASS, "b", NULL);
	ktap_end(&k);
	assert_int_equal(ktap_exit_code(&k), KSFT_FAIL);
	capture_check(&c,
		      "KTAP version 1\n1..1\nok 1 a\nok 2 b\n"
		      "# planned 1 tests but ran 2\n"
		      "# Totals: pass:2 fail:0 xfail:0 xpass:0 skip:0 error:0\n");
}

static void test_zero_plan(void **state)
{
	struct capture c;
	struct ktap k;

	(void)state;
	capture_open(&c);
	memset(&k, 0xa5, sizeof(k));
	ktap_begin(&k, c.f, 0);
	assert_int_equal(k.n, 0);
	assert_int_equal(k.passed + k.failed + k.skipped, 0);
	ktap_end(&k);
	/* Nothing ran and nothing was planned: a pass, not "all skipped". */
	assert_int_equal(ktap_exit_code(&k), KSFT_PASS);
	capture_check(&c,
		      "KTAP version 1\n1..0\n"
		      "# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 error:0\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_plan_exact),
		cmocka_unit_test(test_missing_reasons),
		cmocka_unit_test(test_sanitise_names_and_reasons),
		cmocka_unit_test(test_exit_all_pass),
		cmocka_unit_test(test_exit_any_fail),
		cmocka_unit_test(test_exit_all_skipped),
		cmocka_unit_test(test_exit_some_skipped),
		cmocka_unit_test(test_plan_not_met),
		cmocka_unit_test(test_plan_exceeded),
		cmocka_unit_test(test_zero_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
