// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "mcefwd/cli/caps.h"
#include "mcefwd/cli/encodings.h"
#include "mcefwd/cli/run_json.h"
#include "mcefwd/util/error.h"

/*
 * The profiles are the names mce_profile_name() knows: it says "unknown"
 * past the last, so a profile added to encode.c is listed here unasked.
 */
static bool profile_known(enum mce_profile p)
{
	return strcmp(mce_profile_name(p), "unknown") != 0;
}

int encodings_build(const struct encodings_opts *o, enum mce_profile profile,
		    struct encodings_row *row)
{
	unsigned int banks = (unsigned int)(o->mcg_cap & MCE_MCG_CAP_COUNT_MASK);
	int r;

	memset(row, 0, sizeof(*row));
	row->profile = profile;
	if (!profile_known(profile))
		return error_set(EINVAL, "no encoding profile %d", (int)profile);
	if (o->bank >= banks || o->bank >= MCE_KVM_MAX_BANKS)
		return error_set(EINVAL, "--bank %u: MCG_CAP 0x%llx has only %u bank(s)", o->bank,
				 (unsigned long long)o->mcg_cap, banks);
	r = mce_build(profile, MCE_AR, o->gpa, o->bank, o->mcg_cap, false, &row->ar);
	if (!r)
		r = mce_build(profile, MCE_AO, o->gpa, o->bank, o->mcg_cap, false, &row->ao);
	if (r)
		return error_set(-r, "mce_build(%s, bank %u, MCG_CAP 0x%llx): %s",
				 mce_profile_name(profile), o->bank, (unsigned long long)o->mcg_cap,
				 strerror(-r));
	row->ar_verdict = mce_decide(MCE_AR, o->mcg_cap, true, &row->ar_why);
	row->ao_verdict = mce_decide(MCE_AO, o->mcg_cap, true, &row->ao_why);
	r = mce_build_broadcast(profile, &row->broadcast);
	if (r && r != -EOPNOTSUPP)
		return error_set(-r, "mce_build_broadcast(%s): %s", mce_profile_name(profile),
				 strerror(-r));
	row->has_broadcast = r == 0;
	return 0;
}

/* Every row asked for, built before anything is printed. */
static int encodings_rows(const struct encodings_opts *o, struct encodings_row *rows,
			  unsigned int max, unsigned int *n)
{
	int r;

	*n = 0;
	if (o->one) {
		*n = 1;
		return encodings_build(o, o->profile, &rows[0]);
	}
	for (enum mce_profile p = 0; profile_known(p) && *n < max; p++) {
		r = encodings_build(o, p, &rows[*n]);
		if (r)
			return r;
		(*n)++;
	}
	return 0;
}

#define ENCODINGS_MAX 16

/* Where the words after "  AR         " begin: a record's second line. */
static const char more[] = "             ";

/* "MCG_STATUS 0x7 (MCIP|RIPV|EIPV), bank 9 STATUS 0x... (VAL|...) ADDR 0x200000 MISC 0x8c" */
static void text_record(FILE *out, const struct kvm_x86_mce *m, bool amd)
{
	char mcg[128], status[256];

	mce_mcg_status_describe(m->mcg_status, mcg, sizeof(mcg));
	mce_status_describe(m->status, amd, status, sizeof(status));
	fprintf(out, "MCG_STATUS 0x%llx (%s), bank %u STATUS 0x%llx (%s) ADDR 0x%llx MISC 0x%llx\n",
		(unsigned long long)m->mcg_status, mcg, m->bank, (unsigned long long)m->status,
		status, (unsigned long long)m->addr, (unsigned long long)m->misc);
}

static void text_kind(FILE *out, const char *kind, const struct kvm_x86_mce *m, bool amd,
		      enum mce_verdict v, const char *why)
{
	fprintf(out, "  %-10s ", kind);
	text_record(out, m, amd);
	if (v != MCE_DELIVER)
		fprintf(out, "%snot delivered (%s): %s\n", more, run_json_verdict(v), why);
	else if (!(m->status & MCE_STATUS_UC))
		fprintf(out, "%sno UC: KVM logs it in the bank and raises no #MC (found by polling)\n",
			more);
}

int encodings_print_text(const struct encodings_opts *o, FILE *out)
{
	struct encodings_row rows[ENCODINGS_MAX];
	char cap[256];
	unsigned int n;
	int r;

	r = encodings_rows(o, rows, ENCODINGS_MAX, &n);
	if (r)
		return r;
	mce_mcg_cap_describe(o->mcg_cap, cap, sizeof(cap));
	fprintf(out, "What mcefwd delivers for a memory error at gpa 0x%llx in guest RAM, bank %u,\n"
		"MCG_CAP 0x%llx (%s): QEMU's encoding, per profile (--encoding).\n",
		(unsigned long long)o->gpa, o->bank, (unsigned long long)o->mcg_cap, cap);
	for (unsigned int i = 0; i < n; i++) {
		const struct encodings_row *w = &rows[i];
		bool amd = mce_profile_is_amd(w->profile);

		fprintf(out, "\n%s%s (%s)\n", mce_profile_name(w->profile),
			w->profile == MCE_PROFILE_DEFAULT ? ", the default" : "",
			amd ? "AMD guest" : "Intel guest");
		text_kind(out, "AR", &w->ar, amd, w->ar_verdict, w->ar_why);
		text_kind(out, "AO", &w->ao, amd, w->ao_verdict, w->ao_why);
		if (w->has_broadcast) {
			fprintf(out, "  %-10s ", "broadcast");
			text_record(out, &w->broadcast, amd);
			fprintf(out, "%sto every other vCPU with an AR, on a CPU that broadcasts\n",
				more);
		} else {
			fprintf(out, "  %-10s none: only the vCPU that hit the error sees it\n",
				"broadcast");
		}
	}
	return 0;
}

static void json_record(FILE *out, const struct kvm_x86_mce *m)
{
	fprintf(out, "\"bank\": %u, ", m->bank);
	caps_json_hex(out, "mcg_status", m->mcg_status);
	fputs(", ", out);
	caps_json_hex(out, "status", m->status);
	fputs(", ", out);
	caps_json_hex(out, "addr", m->addr);
	fputs(", ", out);
	caps_json_hex(out, "misc", m->misc);
}

static void json_kind(FILE *out, const char *kind, const struct kvm_x86_mce *m, enum mce_verdict v)
{
	fprintf(out, "      \"%s\": {\"verdict\": \"%s\", ", kind, run_json_verdict(v));
	json_record(out, m);
	fputs("},\n", out);
}

int encodings_print_json(const struct encodings_opts *o, FILE *out)
{
	struct encodings_row rows[ENCODINGS_MAX];
	unsigned int n;
	int r;

	r = encodings_rows(o, rows, ENCODINGS_MAX, &n);
	if (r)
		return r;
	fprintf(out, "{\n  \"version\": %d,\n  ", ENCODINGS_JSON_VERSION);
	caps_json_hex(out, "gpa", o->gpa);
	fprintf(out, ",\n  \"bank\": %u,\n  ", o->bank);
	caps_json_hex(out, "mcg_cap", o->mcg_cap);
	fprintf(out, ",\n  \"default\": \"%s\",\n  \"profiles\": {",
		mce_profile_name(MCE_PROFILE_DEFAULT));
	for (unsigned int i = 0; i < n; i++) {
		const struct encodings_row *w = &rows[i];

		fprintf(out, "%s\n    \"%s\": {\n      \"vendor\": \"%s\",\n", i ? "," : "",
			mce_profile_name(w->profile),
			mce_profile_is_amd(w->profile) ? "amd" : "intel");
		json_kind(out, "ar", &w->ar, w->ar_verdict);
		json_kind(out, "ao", &w->ao, w->ao_verdict);
		if (w->has_broadcast) {
			fputs("      \"broadcast\": {", out);
			json_record(out, &w->broadcast);
			fputs("}\n    }", out);
		} else {
			fputs("      \"broadcast\": null\n    }", out);
		}
	}
	fputs("\n  }\n}\n", out);
	return 0;
}
