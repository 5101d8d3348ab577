// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <string.h>

#include "mcefwd/util/ktap.h"

void ktap_begin(struct ktap *k, FILE *out, unsigned int planned)
{
	memset(k, 0, sizeof(*k));
	k->out = out;
	k->planned = planned;
	fprintf(out, "KTAP version 1\n1..%u\n", planned);
	fflush(out);
}

/* Test names and reasons are one line, and a '#' would open a directive. */
static void ktap_put_clean(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '#')
			continue;
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, out);
	}
}

void ktap_result(struct ktap *k, enum ktap_status st, const char *name,
		 const char *reason)
{
	k->n++;
	fprintf(k->out, "%s %u ", st == KTAP_FAIL ? "not ok" : "ok", k->n);
	ktap_put_clean(k->out, name);
	if (st == KTAP_SKIP) {
		fputs(" # SKIP ", k->out);
		ktap_put_clean(k->out, reason && *reason ? reason : "no reason given");
		k->skipped++;
	} else if (st == KTAP_FAIL) {
		if (reason && *reason) {
			fputs(" # ", k->out);
			ktap_put_clean(k->out, reason);
		}
		k->failed++;
	} else {
		k->passed++;
	}
	fputc('\n', k->out);
	fflush(k->out);
}

void ktap_diag(struct ktap *k, const char *fmt, ...)
{
	va_list ap;

	fputs("# ", k->out);
	va_start(ap, fmt);
	vfprintf(k->out, fmt, ap);
	va_end(ap);
	fputc('\n', k->out);
	fflush(k->out);
}

void ktap_end(struct ktap *k)
{
	if (k->n != k->planned)
		ktap_diag(k, "planned %u tests but ran %u", k->planned, k->n);
	ktap_diag(k, "Totals: pass:%u fail:%u xfail:0 xpass:0 skip:%u error:0",
		  k->passed, k->failed, k->skipped);
}

int ktap_exit_code(const struct ktap *k)
{
	if (k->failed || k->n != k->planned)
		return KSFT_FAIL;
	if (k->n && k->skipped == k->n)
		return KSFT_SKIP;
	return KSFT_PASS;
}
