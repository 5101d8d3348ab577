// SPDX-License-Identifier: GPL-2.0-only
/*
 * The behaviour matrix: every scenario x every poison method this host
 * offers x every encoding profile, each in a fresh VM, and what the guest
 * saw, as Markdown (docs/guest-visible-mce.md) or JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "inject/inject.h"
#include "mcefwd/cli/caps.h"
#include "mcefwd/util/error.h"
#include "mcefwd/cli/matrix.h"
#include "mcefwd/cli/run_json.h"
#include "mcefwd/mce/encode.h"
#include "mcefwd/scenario/scenario.h"

static const enum mce_profile matrix_profiles[] = {
	MCE_PROFILE_QEMU62, MCE_PROFILE_QEMU7, MCE_PROFILE_AMD,
};
#define NR_PROFILES (sizeof(matrix_profiles) / sizeof(matrix_profiles[0]))

struct matrix_cell {
	enum inject_method method;
	enum mce_profile profile;
	struct run_result res;
};

static void matrix_cpu_model(char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "re");

	snprintf(buf, len, "unknown");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) || !colon)
			continue;
		colon += 2;
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(buf, len, "%s", colon);
		break;
	}
	if (f)
		fclose(f);
}

/* "VAL|UC|EN|MISCV|ADDRV|S|AR, MCACOD 0x134": the flags, then the codes. */
static void matrix_status_words(uint64_t status, bool amd, char *buf, size_t len)
{
	char *sp;

	mce_status_describe(status, amd, buf, len);
	sp = strchr(buf, ' ');
	if (sp)
		*sp = '\0';
}

static void md_escape_pipes(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else
			fputc(*s, out);
	}
}

static void matrix_md_row(FILE *out, const struct matrix_cell *c)
{
	const struct run_observation *o = &c->res.obs;
	bool amd = mce_profile_is_amd(c->profile);
	char st[160], mcg[64];

	fprintf(out, "| %s | %s | ", inject_method_name(c->method), mce_profile_name(c->profile));
	if (c->res.status == KTAP_SKIP) {
		fputs("skipped: ", out);
		md_escape_pipes(out, c->res.reason);
		fputs(" | | | | | | |\n", out);
		return;
	}
	if (!o->valid) {
		fputs("did not run: ", out);
		md_escape_pipes(out, c->res.reason);
		fputs(" | | | | | | |\n", out);
		return;
	}
	fputs(o->outcome, out);
	if (o->nr_mce > 1)
		fprintf(out, " x%u", o->nr_mce);
	if (c->res.status == KTAP_FAIL)
		fputs(" (TEST FAILED)", out);
	if (!o->nr_mce) {
		fputs(" | ", out);
		md_escape_pipes(out, o->note);
		fprintf(out, " | | | | | %s |\n", o->vcpus);
		return;
	}
	mce_mcg_status_describe(o->mcg_status, mcg, sizeof(mcg));
	matrix_status_words(o->status, amd, st, sizeof(st));
	fprintf(out, " | 0x%lx (", (unsigned long)o->mcg_status);
	md_escape_pipes(out, mcg);
	fprintf(out, ") | %u: 0x%016lx (", o->bank, (unsigned long)o->status);
	md_escape_pipes(out, st);
	fprintf(out, ", MCACOD 0x%lx) | 0x%lx | 0x%lx | %s | %s |\n",
		(unsigned long)(o->status & 0xffff), (unsigned long)o->addr,
		(unsigned long)o->misc, o->rip, o->vcpus);
}

static void matrix_json_cell(FILE *out, const struct matrix_cell *c, bool last)
{
	const struct run_observation *o = &c->res.obs;

	fprintf(out, "      {\"method\": \"%s\", \"encoding\": \"%s\", \"result\": \"%s\"",
		inject_method_name(c->method), mce_profile_name(c->profile),
		c->res.status == KTAP_PASS ? "pass" : c->res.status == KTAP_SKIP ? "skip" : "fail");
	if (c->res.status != KTAP_PASS) {
		fputs(", \"reason\": ", out);
		caps_json_string(out, c->res.reason);
	}
	if (o->valid) {
		fputs(", ", out);
		run_json_observation_fields(out, o);
	}
	fprintf(out, "}%s\n", last ? "" : ",");
}

static void matrix_fingerprint(FILE *out, const struct kvm *kvm, bool md, const struct where *w)
{
	char cpu[128], mcg[128], date[32];
	struct utsname u;
	time_t now = time(NULL);

	uname(&u);
	matrix_cpu_model(cpu, sizeof(cpu));
	mce_mcg_cap_describe(kvm->caps.mcg_cap_supported, mcg, sizeof(mcg));
	strftime(date, sizeof(date), "%Y-%m-%d", gmtime(&now));
	if (md) {
		fputs("<!-- fingerprint: begin (not compared by the docs test) -->\n", out);
		fprintf(out, "Host: Linux %s, %s (%s family 0x%x model 0x%x); KVM API %d, %d MCE banks, "
			"MCG_CAP supported %s, IMMEDIATE_EXIT %s; mcefwd %s; %s.\n",
			u.release, cpu, kvm->caps.vendor, kvm->caps.family, kvm->caps.model,
			kvm->caps.api_version, kvm->caps.mce_banks, mcg,
			kvm->caps.immediate_exit ? "yes" : "no", MCEFWD_VERSION, date);
		where_print(w, out, "Where: ");
		fputs("<!-- fingerprint: end -->\n", out);
		return;
	}
	/* 2: register values became hex strings (1 had them as numbers). */
	fputs("  \"version\": 2,\n  \"where\": ", out);
	where_print_json(w, out);
	fputs(",\n", out);
	fputs("  \"host\": {\"kernel\": ", out);
	caps_json_string(out, u.release);
	fputs(", \"cpu\": ", out);
	caps_json_string(out, cpu);
	fprintf(out, ", \"vendor\": \"%s\", \"kvm_api\": %d, \"mce_banks\": %d, \"mcg_cap_supported\": \"0x%llx\", \"immediate_exit\": %d, \"mcefwd\": \"%s\", \"date\": \"%s\"},\n",
		kvm->caps.vendor, kvm->caps.api_version, kvm->caps.mce_banks,
		(unsigned long long)kvm->caps.mcg_cap_supported, kvm->caps.immediate_exit,
		MCEFWD_VERSION, date);
}

static const char md_intro[] =
"# What a guest sees when its host's memory fails\n"
"\n"
"Generated by `mcefwd matrix --markdown` on the host described below, from\n"
"real runs: every scenario, with every poison method this host offers and\n"
"every encoding profile, each in a fresh VM on `/dev/kvm`. Each row is what\n"
"the guest's #MC handler reported (vCPU 0's last record), or what became of\n"
"the VM. The project's own page is the lab's (`mcefwd matrix --on=lab\n"
"--markdown`: Debian's kernel with real memory failure, the same on every\n"
"machine); `make check` regenerates its tables there and fails if the page\n"
"disagrees with them (the fingerprint aside). Encodings: `qemu-6.2` and\n"
"`qemu-7` are QEMU's Intel encodings before and since 7.0, `amd` QEMU's\n"
"since 9.1 for AMD guests (REFERENCE.md has the table).\n"
"\n"
"Columns: **outcome** `#MC` (x N records), `polled` (logged in the bank, no\n"
"#MC: the guest found it), `shutdown` (KVM triple-faulted the guest),\n"
"`stopped` (the VMM stopped the VM), `livelock` (stopped after the same\n"
"error eight times), `nothing`; **RIP** where the #MC landed;\n"
"**vCPUs** the vCPUs that reported a record. Where KVM emulates the\n"
"guest's access to a uffd-poisoned page, mcefwd raises the AR itself\n"
"(`--emulated-access=forward`) with the load rewound, so the #MC lands\n"
"on the load as on hardware.\n"
"\n";

int matrix_main(struct kvm *kvm, const struct run_opts *base, enum matrix_format fmt,
		FILE *out, bool progress, const struct where *w)
{
	enum inject_method methods[INJECT_METHOD_COUNT];
	unsigned int nr_methods = 0, total, done = 0, failed = 0;
	FILE *devnull = fopen("/dev/null", "we");
	struct matrix_cell *cells;

	if (!devnull)
		return error_set(errno, "/dev/null: %s", strerror(errno));
	/* Every method this host offers that auto may pick: never a real hardware error (einj). */
	for (int m = 0; m < INJECT_METHOD_COUNT; m++) {
		struct inject_probe p;

		if (!(inject_method((enum inject_method)m)->flags & INJECT_F_AUTO))
			continue;
		inject_probe((enum inject_method)m, &p);
		if (p.available)
			methods[nr_methods++] = (enum inject_method)m;
	}
	total = scenario_count() * nr_methods * (unsigned int)NR_PROFILES;
	cells = calloc(total ? total : 1, sizeof(*cells));
	if (!cells) {
		fclose(devnull);
		return error_set(ENOMEM, "out of memory");
	}
	for (unsigned int si = 0; si < scenario_count(); si++) {
		for (unsigned int mi = 0; mi < nr_methods; mi++) {
			for (unsigned int pi = 0; pi < NR_PROFILES; pi++) {
				struct matrix_cell *c = &cells[done];
				struct run_opts o = *base;
				struct ktap quiet;

				c->method = methods[mi];
				c->profile = matrix_profiles[pi];
				o.vm.fwd.profile = c->profile;
				o.vm.fwd.emulated = FWD_EMULATED_FORWARD;
				if (progress)
					fprintf(stderr, "\r[%u/%u] %-14s %-13s %-8s", done + 1, total,
						scenario_at(si)->name, inject_method_name(c->method),
						mce_profile_name(c->profile));
				quiet = (struct ktap){ .out = devnull };
				scenario_run(kvm, scenario_at(si), c->method, &o, &quiet, &c->res);
				failed += c->res.status == KTAP_FAIL;
				done++;
			}
		}
	}
	if (progress)
		fprintf(stderr, "\r%60s\r", "");
	fclose(devnull);

	if (fmt == MATRIX_JSON) {
		fputs("{\n", out);
		matrix_fingerprint(out, kvm, false, w);
		fputs("  \"scenarios\": [\n", out);
	} else {
		fputs(md_intro, out);
		matrix_fingerprint(out, kvm, true, w);
	}
	for (unsigned int si = 0, i = 0; si < scenario_count(); si++) {
		const struct scenario *sc = scenario_at(si);
		unsigned int per = nr_methods * (unsigned int)NR_PROFILES;

		if (fmt == MATRIX_JSON) {
			fputs("    {\"name\": ", out);
			caps_json_string(out, sc->name);
			fputs(", \"summary\": ", out);
			caps_json_string(out, sc->summary);
			fputs(", \"runs\": [\n", out);
			for (unsigned int j = 0; j < per; j++, i++)
				matrix_json_cell(out, &cells[i], j + 1 == per);
			fprintf(out, "    ]}%s\n", si + 1 < scenario_count() ? "," : "");
			continue;
		}
		fprintf(out, "\n## %s\n\n%c%s.\n\n", sc->name,
			sc->summary[0] >= 'a' && sc->summary[0] <= 'z' ? sc->summary[0] - 'a' + 'A' :
			sc->summary[0], sc->summary + 1);
		fputs("| method | encoding | outcome | MCG_STATUS | bank: MCi_STATUS | ADDR | MISC | RIP | vCPUs |\n", out);
		fputs("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n", out);
		for (unsigned int j = 0; j < per; j++, i++)
			matrix_md_row(out, &cells[i]);
		fprintf(out, "\n**Why.** %s\n\n**On a host with real memory-failure support.** %s\n",
			sc->why, sc->real_host);
	}
	if (fmt == MATRIX_JSON)
		fputs("  ]\n}\n", out);
	free(cells);
	if (failed)
		return error_set(EIO, "%u of %u runs failed their own checks (the tables say which)",
				 failed, total);
	return 0;
}
