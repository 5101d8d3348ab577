// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_stats.c: the statistics `mcefwd bench` reports (median, p99,
 * spread) against hand-computed values, the ratio verdicts, and the JSON
 * and text reports a script or a person reads.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mcefwd/bench/bench.h"

#define EPS 1e-9

static void test_percentile_interpolates(void **state)
{
	const double x[] = { 1, 2, 3, 4 };
	double y[100];

	(void)state;
	assert_true(fabs(bench_percentile(x, 4, 50) - 2.5) < EPS);
	assert_true(fabs(bench_percentile(x, 4, 0) - 1) < EPS);
	assert_true(fabs(bench_percentile(x, 4, 100) - 4) < EPS);
	assert_true(fabs(bench_percentile(x, 4, 25) - 1.75) < EPS);
	assert_true(fabs(bench_percentile(x, 1, 99) - 1) < EPS);
	assert_true(isnan(bench_percentile(x, 0, 50)));
	/* 1..100: p99 sits at rank 98.01, between 99 and 100. */
	for (int i = 0; i < 100; i++)
		y[i] = i + 1;
	assert_true(fabs(bench_percentile(y, 100, 99) - 99.01) < 1e-6);
	assert_true(fabs(bench_percentile(y, 100, 50) - 50.5) < EPS);
}

static void test_stats_sorts_and_summarizes(void **state)
{
	double x[] = { 9, 1, 5, 3, 7 };
	struct bench_stats st;

	(void)state;
	assert_int_equal(bench_stats_compute(x, 5, &st), 0);
	for (int i = 0; i < 4; i++)
		assert_true(x[i] <= x[i + 1]);
	assert_int_equal(st.n, 5);
	assert_true(fabs(st.min - 1) < EPS);
	assert_true(fabs(st.max - 9) < EPS);
	assert_true(fabs(st.median - 5) < EPS);
	assert_true(fabs(st.mean - 5) < EPS);
	/* Rank 3.96 between 7 and 9. */
	assert_true(fabs(st.p99 - 8.92) < 1e-9);
	/* p25 = 3, p75 = 7: (7 - 3) / 5. */
	assert_true(fabs(st.spread - 0.8) < EPS);
}

static void test_stats_one_sample_and_constant(void **state)
{
	double one[] = { 42 }, same[] = { 3, 3, 3, 3 };
	struct bench_stats st;

	(void)state;
	assert_int_equal(bench_stats_compute(one, 1, &st), 0);
	assert_true(st.median == 42 && st.p99 == 42 && st.min == 42 && st.max == 42);
	assert_true(st.spread == 0);
	assert_int_equal(bench_stats_compute(same, 4, &st), 0);
	assert_true(st.spread == 0 && st.median == 3);
}

static void test_stats_refuses_empty_and_nan(void **state)
{
	double x[] = { 1, NAN, 3 };
	struct bench_stats st;

	(void)state;
	assert_int_equal(bench_stats_compute(x, 0, &st), -EINVAL);
	assert_int_equal(st.n, 0);
	assert_int_equal(bench_stats_compute(x, 3, &st), -EINVAL);
}

static void test_stats_zero_median_has_no_spread(void **state)
{
	double x[] = { -1, 0, 1 };
	struct bench_stats st;

	(void)state;
	assert_int_equal(bench_stats_compute(x, 3, &st), 0);
	assert_true(st.median == 0 && st.spread == 0);
}

static void test_metrics_add_find_and_fill_up(void **state)
{
	struct bench_result *r = calloc(1, sizeof(*r));
	double x[] = { 2, 1 };

	(void)state;
	assert_non_null(r);
	assert_int_equal(bench_add_metric(r, "bare", "ns", x, 2), 0);
	assert_int_equal(bench_add_metric(r, "bare", "cycles", x, 0), -EINVAL);
	assert_int_equal(r->nr_metrics, 1);
	assert_non_null(bench_find_metric(r, "bare", "ns"));
	assert_null(bench_find_metric(r, "bare", "cycles"));
	assert_true(bench_find_metric(r, "bare", "ns")->st.median == 1.5);
	while (r->nr_metrics < BENCH_MAX_METRICS)
		assert_int_equal(bench_add_metric(r, "m", "ns", x, 2), 0);
	assert_int_equal(bench_add_metric(r, "one more", "ns", x, 2), -ENOSPC);
	free(r);
}

static void test_ratio_verdicts(void **state)
{
	struct bench_ratio q = { .cmp = BENCH_AT_MOST, .target = 1.02 };

	(void)state;
	q.value = 1.02;
	assert_true(bench_ratio_met(&q));
	q.value = 1.0201;
	assert_false(bench_ratio_met(&q));
	q.cmp = BENCH_AT_LEAST;
	q.target = 5000;
	q.value = 4999;
	assert_false(bench_ratio_met(&q));
	q.value = 5000;
	assert_true(bench_ratio_met(&q));
	q.value = NAN;
	assert_false(bench_ratio_met(&q));
	q.cmp = BENCH_INFO;
	q.value = 123;
	assert_true(bench_ratio_met(&q));
}

static char *capture(void (*fn)(FILE *f, void *arg), void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(f, arg);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void json_string_of(FILE *f, void *arg)
{
	bench_json_string(f, arg);
}

static void test_json_string_escapes(void **state)
{
	char *s;

	(void)state;
	s = capture(json_string_of, "a\"b\\c\nd\te\x01");
	assert_string_equal(s, "\"a\\\"b\\\\c\\nd\\te\\u0001\"");
	free(s);
}

static struct bench_result *sample_results(void)
{
	struct bench_result *r = calloc(2, sizeof(*r));
	double x[] = { 7000, 7100, 7200 }, y[] = { 1, 2 };

	assert_non_null(r);
	r[0].name = "exit";
	r[0].status = BENCH_OK;
	r[0].seconds = 1.5;
	bench_add_metric(&r[0], "bare", "ns", x, 3);
	bench_add_metric(&r[0], "mcefwd", "ns", y, 2);
	bench_add_ratio(&r[0], "mcefwd/bare", 1.03, BENCH_AT_MOST, 1.02, "median \"ns\"");
	bench_add_ratio(&r[0], "nan", NAN, BENCH_INFO, 0, "no value");
	bench_note(&r[0], "%u rounds", 3);
	r[1].name = "qemu";
	r[1].status = BENCH_SKIP;
	snprintf(r[1].reason, sizeof(r[1].reason), "qemu-system-x86_64 is not on PATH");
	return r;
}

static void json_of(FILE *f, void *arg)
{
	struct bench_host h = { .kernel = "6.1", .cpus = 2, .tsc_khz = 2596150.5, .quick = true };

	bench_print_json(f, &h, arg, 2, 3.25);
}

static void test_json_report(void **state)
{
	struct bench_result *r = sample_results();
	char *s = capture(json_of, r);
	int depth = 0;
	bool in_str = false;

	(void)state;
	/* Balanced outside strings, and never below zero. */
	for (const char *p = s; *p; p++) {
		if (in_str) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				in_str = false;
			continue;
		}
		if (*p == '"')
			in_str = true;
		else if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']')
			assert_true(--depth >= 0);
	}
	assert_int_equal(depth, 0);
	assert_false(in_str);
	assert_non_null(strstr(s, "{\n  \"version\": 1,\n  \"mcefwd_bench\": 1,"));
	assert_non_null(strstr(s, "\"tsc_khz\": 2.59615e+06"));
	assert_non_null(strstr(s, "\"quick\": true"));
	assert_non_null(strstr(s, "\"seconds\": 3.25"));
	assert_non_null(strstr(s, "{\"name\": \"bare\", \"unit\": \"ns\", \"n\": 3, \"median\": 7100, \"p99\": 7198, \"min\": 7000, \"max\": 7200, \"mean\": 7100, \"spread\": 0.0140845}"));
	assert_non_null(strstr(s, "{\"name\": \"mcefwd/bare\", \"value\": 1.03, \"target\": 1.02, \"cmp\": \"<=\", \"met\": false, \"basis\": \"median \\\"ns\\\"\"}"));
	/* JSON has no NaN: null, and no target for a plain figure. */
	assert_non_null(strstr(s, "{\"name\": \"nan\", \"value\": null, \"basis\": \"no value\"}"));
	assert_non_null(strstr(s, "\"notes\": [\n        \"3 rounds\"\n      ]"));
	assert_non_null(strstr(s, "{\"name\": \"qemu\", \"status\": \"skip\", \"reason\": \"qemu-system-x86_64 is not on PATH\""));
	assert_non_null(strstr(s, "\"metrics\": [],\n      \"ratios\": [],\n      \"notes\": []}"));
	free(s);
	free(r);
}

static void text_of(FILE *f, void *arg)
{
	bench_print_text(f, arg);
}

static void test_text_report(void **state)
{
	struct bench_result *r = sample_results();
	char *s = capture(text_of, r);

	(void)state;
	assert_non_null(strstr(s, "exit: ok, 1.5 s\n"));
	assert_non_null(strstr(s, "  bare                       ns              7.1 us     7.198 us         7 us    1.4%     3\n"));
	assert_non_null(strstr(s, "target <= 1.02: MISSED"));
	assert_non_null(strstr(s, "  # 3 rounds\n"));
	free(s);
	s = capture(text_of, &r[1]);
	assert_string_equal(s, "qemu: skip (qemu-system-x86_64 is not on PATH), 0.0 s\n");
	free(s);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentile_interpolates),
		cmocka_unit_test(test_stats_sorts_and_summarizes),
		cmocka_unit_test(test_stats_one_sample_and_constant),
		cmocka_unit_test(test_stats_refuses_empty_and_nan),
		cmocka_unit_test(test_stats_zero_median_has_no_spread),
		cmocka_unit_test(test_metrics_add_find_and_fill_up),
		cmocka_unit_test(test_ratio_verdicts),
		cmocka_unit_test(test_json_string_escapes),
		cmocka_unit_test(test_json_report),
		cmocka_unit_test(test_text_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
