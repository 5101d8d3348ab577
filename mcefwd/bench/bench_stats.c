// SPDX-License-Identifier: GPL-2.0-only
/*
 * The statistics of `mcefwd bench` and its two reports. Pure: no syscalls
 * beyond writing to the FILE it is handed, so cmocka tests it.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mcefwd/bench/bench.h"

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_percentile(const double *sorted, unsigned int n, double p)
{
	double rank, frac;
	unsigned int lo;

	if (!n)
		return NAN;
	if (p <= 0)
		return sorted[0];
	if (p >= 100)
		return sorted[n - 1];
	/* Rank (n - 1) * p / 100, between the two samples around it. */
	rank = (n - 1) * p / 100.0;
	lo = (unsigned int)rank;
	frac = rank - lo;
	if (lo + 1 >= n)
		return sorted[n - 1];
	return sorted[lo] + (sorted[lo + 1] - sorted[lo]) * frac;
}

int bench_stats_compute(double *x, unsigned int n, struct bench_stats *st)
{
	double sum = 0;

	memset(st, 0, sizeof(*st));
	if (!n)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		if (isnan(x[i]))
			return -EINVAL;
		sum += x[i];
	}
	qsort(x, n, sizeof(*x), bench_cmp_double);
	st->n = n;
	st->min = x[0];
	st->max = x[n - 1];
	st->mean = sum / n;
	st->median = bench_percentile(x, n, 50);
	st->p99 = bench_percentile(x, n, 99);
	st->spread = st->median != 0 ?
		(bench_percentile(x, n, 75) - bench_percentile(x, n, 25)) / fabs(st->median) : 0;
	return 0;
}

int bench_add_metric(struct bench_result *r, const char *name, const char *unit,
		     double *x, unsigned int n)
{
	struct bench_metric *m;
	int e;

	if (r->nr_metrics >= BENCH_MAX_METRICS)
		return -ENOSPC;
	m = &r->metric[r->nr_metrics];
	e = bench_stats_compute(x, n, &m->st);
	if (e < 0)
		return e;
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->unit = unit;
	r->nr_metrics++;
	return 0;
}

const struct bench_metric *bench_find_metric(const struct bench_result *r,
					     const char *name, const char *unit)
{
	for (unsigned int i = 0; i < r->nr_metrics; i++)
		if (!strcmp(r->metric[i].name, name) && !strcmp(r->metric[i].unit, unit))
			return &r->metric[i];
	return NULL;
}

void bench_add_ratio(struct bench_result *r, const char *name, double value,
		     enum bench_cmp cmp, double target, const char *basis)
{
	struct bench_ratio *q;

	if (r->nr_ratios >= BENCH_MAX_RATIOS)
		return;
	q = &r->ratio[r->nr_ratios++];
	snprintf(q->name, sizeof(q->name), "%s", name);
	q->value = value;
	q->cmp = cmp;
	q->target = target;
	snprintf(q->basis, sizeof(q->basis), "%s", basis);
}

void bench_note(struct bench_result *r, const char *fmt, ...)
{
	va_list ap;

	if (r->nr_notes >= BENCH_MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(r->note[r->nr_notes++], BENCH_NOTE_MAX, fmt, ap);
	va_end(ap);
}

bool bench_ratio_met(const struct bench_ratio *q)
{
	if (isnan(q->value))
		return false;
	switch (q->cmp) {
	case BENCH_AT_MOST:
		return q->value <= q->target;
	case BENCH_AT_LEAST:
		return q->value >= q->target;
	default:
		return true;
	}
}

static const char *const status_names[] = {
	[BENCH_OK] = "ok", [BENCH_SKIP] = "skip", [BENCH_FAIL] = "fail",
};

static const char *const cmp_names[] = {
	[BENCH_INFO] = "", [BENCH_AT_MOST] = "<=", [BENCH_AT_LEAST] = ">=",
};

void bench_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* JSON has no NaN or infinity: those are null. */
static void bench_json_number(FILE *f, double v)
{
	if (!isfinite(v))
		fputs("null", f);
	else if (fabs(v) < 1e15 && v == (double)(long long)v)
		fprintf(f, "%.0f", v);
	else
		fprintf(f, "%.6g", v);
}

static void bench_json_metric(FILE *f, const struct bench_metric *m)
{
	fputs("        {\"name\": ", f);
	bench_json_string(f, m->name);
	fputs(", \"unit\": ", f);
	bench_json_string(f, m->unit);
	fprintf(f, ", \"n\": %u, \"median\": ", m->st.n);
	bench_json_number(f, m->st.median);
	fputs(", \"p99\": ", f);
	bench_json_number(f, m->st.p99);
	fputs(", \"min\": ", f);
	bench_json_number(f, m->st.min);
	fputs(", \"max\": ", f);
	bench_json_number(f, m->st.max);
	fputs(", \"mean\": ", f);
	bench_json_number(f, m->st.mean);
	fputs(", \"spread\": ", f);
	bench_json_number(f, m->st.spread);
	fputc('}', f);
}

static void bench_json_ratio(FILE *f, const struct bench_ratio *q)
{
	fputs("        {\"name\": ", f);
	bench_json_string(f, q->name);
	fputs(", \"value\": ", f);
	bench_json_number(f, q->value);
	if (q->cmp != BENCH_INFO) {
		fputs(", \"target\": ", f);
		bench_json_number(f, q->target);
		fprintf(f, ", \"cmp\": \"%s\", \"met\": %s", cmp_names[q->cmp],
			bench_ratio_met(q) ? "true" : "false");
	}
	fputs(", \"basis\": ", f);
	bench_json_string(f, q->basis);
	fputc('}', f);
}

void bench_print_json(FILE *f, const struct bench_host *h, const struct bench_result *r,
		      unsigned int n, double seconds)
{
	/* "version" as every --json document; "mcefwd_bench", its old name, stays. */
	fputs("{\n  \"version\": 1,\n  \"mcefwd_bench\": 1,\n  \"host\": {\"kernel\": ", f);
	bench_json_string(f, h->kernel);
	fprintf(f, ", \"cpus\": %u, \"tsc_khz\": ", h->cpus);
	bench_json_number(f, h->tsc_khz);
	fprintf(f, ", \"quick\": %s, \"rounds\": %u, \"loadavg\": [", h->quick ? "true" : "false",
		h->rounds);
	bench_json_number(f, h->load[0] < 0 ? NAN : h->load[0]);
	fputs(", ", f);
	bench_json_number(f, h->load[1] < 0 ? NAN : h->load[1]);
	fputs("], \"qemu\": ", f);
	bench_json_string(f, h->qemu);
	fputs(", \"where\": ", f);
	bench_json_string(f, h->where);
	fprintf(f, "},\n  \"seconds\": %.2f", seconds);
	fputs(",\n  \"benchmarks\": [\n", f);
	for (unsigned int i = 0; i < n; i++) {
		const struct bench_result *b = &r[i];

		fputs("    {\"name\": ", f);
		bench_json_string(f, b->name);
		fprintf(f, ", \"status\": \"%s\", \"reason\": ", status_names[b->status]);
		bench_json_string(f, b->reason);
		fprintf(f, ", \"seconds\": %.2f", b->seconds);
		fputs(",\n      \"metrics\": [", f);
		for (unsigned int j = 0; j < b->nr_metrics; j++) {
			fputs(j ? ",\n" : "\n", f);
			bench_json_metric(f, &b->metric[j]);
		}
		fputs(b->nr_metrics ? "\n      ],\n      \"ratios\": [" : "],\n      \"ratios\": [", f);
		for (unsigned int j = 0; j < b->nr_ratios; j++) {
			fputs(j ? ",\n" : "\n", f);
			bench_json_ratio(f, &b->ratio[j]);
		}
		fputs(b->nr_ratios ? "\n      ],\n      \"notes\": [" : "],\n      \"notes\": [", f);
		for (unsigned int j = 0; j < b->nr_notes; j++) {
			fputs(j ? ",\n        " : "\n        ", f);
			bench_json_string(f, b->note[j]);
		}
		fputs(b->nr_notes ? "\n      ]}" : "]}", f);
		fputs(i + 1 < n ? ",\n" : "\n", f);
	}
	fputs("  ]\n}\n", f);
}

/* 12345678 as "12.3 ms": four significant digits at most, the unit scaled. */
static void bench_fmt_value(char *buf, size_t len, double v, const char *unit)
{
	if (isnan(v)) {
		snprintf(buf, len, "-");
	} else if (!strcmp(unit, "ns")) {
		if (v >= 1e9)
			snprintf(buf, len, "%.3g s", v / 1e9);
		else if (v >= 1e6)
			snprintf(buf, len, "%.4g ms", v / 1e6);
		else if (v >= 1e3)
			snprintf(buf, len, "%.4g us", v / 1e3);
		else
			snprintf(buf, len, "%.4g ns", v);
	} else if (!strcmp(unit, "KiB")) {
		snprintf(buf, len, "%.4g MiB", v / 1024);
	} else if (fabs(v) >= 1e3) {
		snprintf(buf, len, "%.0f", v);
	} else {
		snprintf(buf, len, "%.4g", v);
	}
}

void bench_print_text(FILE *f, const struct bench_result *r)
{
	char a[32], b[32], c[32], d[32];

	fprintf(f, "%s: %s", r->name, status_names[r->status]);
	if (r->reason[0])
		fprintf(f, " (%s)", r->reason);
	fprintf(f, ", %.1f s\n", r->seconds);
	if (r->nr_metrics)
		fprintf(f, "  %-26s %-9s %12s %12s %12s %7s %5s\n", "metric", "unit", "median",
			"p99", "min", "spread", "n");
	for (unsigned int i = 0; i < r->nr_metrics; i++) {
		const struct bench_metric *m = &r->metric[i];

		bench_fmt_value(a, sizeof(a), m->st.median, m->unit);
		bench_fmt_value(b, sizeof(b), m->st.p99, m->unit);
		bench_fmt_value(c, sizeof(c), m->st.min, m->unit);
		fprintf(f, "  %-26s %-9s %12s %12s %12s %6.1f%% %5u\n", m->name, m->unit, a, b, c,
			m->st.spread * 100, m->st.n);
	}
	for (unsigned int i = 0; i < r->nr_ratios; i++) {
		const struct bench_ratio *q = &r->ratio[i];

		snprintf(d, sizeof(d), "%.3f", q->value);
		if (q->cmp == BENCH_INFO)
			fprintf(f, "  ratio %-28s %8s  (%s)\n", q->name, isnan(q->value) ? "-" : d,
				q->basis);
		else
			fprintf(f, "  ratio %-28s %8s  target %s %g: %s  (%s)\n", q->name,
				isnan(q->value) ? "-" : d, cmp_names[q->cmp], q->target,
				bench_ratio_met(q) ? "met" : "MISSED", q->basis);
	}
	for (unsigned int i = 0; i < r->nr_notes; i++)
		fprintf(f, "  # %s\n", r->note[i]);
}
