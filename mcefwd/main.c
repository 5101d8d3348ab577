// SPDX-License-Identifier: GPL-2.0-only
/*
 * mcefwd: prove, measure and document how a host memory error reaches a
 * KVM guest as an x86 machine check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "mcefwd/bench/bench.h"
#include "mcefwd/cli/caps.h"
#include "mcefwd/cli/cli.h"
#include "mcefwd/cli/cmd_run.h"
#include "mcefwd/cli/encodings.h"
#include "mcefwd/cli/usage.h"
#include "mcefwd/util/error.h"
#include "mcefwd/util/version.h"
#include "mcefwd/util/interrupt.h"
#include "mcefwd/util/ktap.h"
#include "mcefwd/lab/cmd.h"
#include "mcefwd/cli/matrix.h"
#include "mcefwd/vmm/payload.h"
#include "mcefwd/scenario/run.h"
#include "mcefwd/cli/run_json.h"
#include "mcefwd/scenario/scenario.h"
#include "mcefwd/cli/where.h"

static int cmd_help(const char *topic)
{
	if (!topic || !*topic || !strcmp(topic, "help"))
		fputs(usage_main, stdout);
	else if (!strcmp(topic, "run"))
		fputs(usage_run, stdout);
	else if (!strcmp(topic, "caps"))
		fputs(usage_caps, stdout);
	else if (!strcmp(topic, "list"))
		fputs(usage_list, stdout);
	else if (!strcmp(topic, "matrix"))
		fputs(usage_matrix, stdout);
	else if (!strcmp(topic, "where"))
		fputs(usage_where, stdout);
	else if (!strcmp(topic, "encodings"))
		fputs(usage_encodings, stdout);
	else if (!strcmp(topic, "bench") || !strcmp(topic, "lab")) {
		char *argv2[] = { (char *)topic, (char *)"--help", NULL };

		return !strcmp(topic, "bench") ? bench_main(2, argv2, "") : lab_main(2, argv2);
	}
	else {
		fprintf(stderr, "mcefwd: no help for '%s'\n%s", topic, usage_main);
		return KSFT_USAGE;
	}
	return 0;
}

static int cmd_list(void)
{
	printf("Scenarios (mcefwd run NAME --poison=METHOD):\n");
	for (unsigned int i = 0; i < scenario_count(); i++) {
		const struct scenario *sc = scenario_at(i);

		printf("  %-18s %s\n", sc->name, sc->summary);
	}
	printf("Payloads (mcefwd run NAME):\n");
	for (unsigned int i = 0; i < payload_count(); i++) {
		struct payload p;

		if (payload_get(payload_name(i), &p) == 0)
			printf("  %-18s %s\n", p.name, p.summary);
	}
	return 0;
}

static int cmd_where(const struct where *w, bool json, bool quiet)
{
	if (quiet) {
		puts(where_name(w->on));
	} else if (json) {
		fputs("{\"version\": 1, \"where\": ", stdout);
		where_print_json(w, stdout);
		fputs("}\n", stdout);
	} else {
		where_print(w, stdout, "");
	}
	return 0;
}

static int cmd_encodings(const struct cli *c)
{
	const struct encodings_opts o = {
		.gpa = c->gpa,
		.bank = c->run.vm.fwd.bank,
		.mcg_cap = c->run.vm.mcg_cap,
		.one = c->encoding_set,
		.profile = c->run.vm.fwd.profile,
	};
	int r = c->json ? encodings_print_json(&o, stdout) : encodings_print_text(&o, stdout);

	if (r < 0) {
		fprintf(stderr, "mcefwd: %s\n%s", error_get(), usage_encodings);
		return KSFT_USAGE;
	}
	return 0;
}

static int cmd_caps(bool json, const struct where *w)
{
	struct caps_report r;
	struct kvm kvm;
	bool ok = kvm_open(&kvm) == 0;

	caps_gather(&r, ok ? &kvm : NULL, ok ? "" : error_get());
	r.where = w;
	if (json)
		caps_print_json(&r, stdout);
	else
		caps_print_text(&r, stdout);
	if (ok)
		kvm_close(&kvm);
	return 0;
}

static int cmd_matrix(struct cli *c, const struct where *w)
{
	struct kvm kvm;
	int r;

	if (kvm_open(&kvm) < 0) {
		fprintf(stderr, "mcefwd: %s\n", error_get());
		return KSFT_SKIP;
	}
	cmd_run_set_mce_kill(c->mce_kill);
	r = matrix_main(&kvm, &c->run, c->json ? MATRIX_JSON : MATRIX_MARKDOWN, stdout,
			cmd_run_progress(), w);
	kvm_close(&kvm);
	if (r < 0) {
		fprintf(stderr, "mcefwd: matrix: %s\n", error_get());
		return KSFT_FAIL;
	}
	return 0;
}

/*
 * The command line once more, inside the lab. When the lab cannot start
 * it, run's KTAP still says so, one skip or failure per name, so a reader
 * of the document learns why; other commands, and a run the lab broke off
 * after it had begun its own document, say it on stderr.
 */
static int main_in_lab(int argc, char **argv, const struct cli *c, const struct kernel_arg *kernel,
		       const struct where *w)
{
	struct lab_result res;
	struct ktap k;
	unsigned int n;

	if (lab_reexec(argc, argv, w->why, kernel, &res) < 0) {
		fprintf(stderr, "mcefwd: the lab: %s\n", error_get());
		return KSFT_FAIL;
	}
	if (res.how == LAB_RAN)
		return res.status;
	fprintf(stderr, "mcefwd: the lab %s: %s\n",
		res.how == LAB_SKIPPED ? "cannot run here" : "failed", res.why);
	if (!c || c->cmd != CLI_RUN || res.started)
		return res.how == LAB_SKIPPED ? KSFT_SKIP : KSFT_FAIL;
	n = c->nr_names ? (unsigned int)c->nr_names : scenario_count() + 2;
	ktap_begin(&k, stdout, n);
	where_print(w, stdout, "# ");
	for (unsigned int i = 0; i < n; i++) {
		const char *name = c->nr_names ? c->names[i] :
				   i < scenario_count() ? scenario_at(i)->name :
				   i == scenario_count() ? "hello" : "smp";
		char why[ERROR_MAX + 16];

		snprintf(why, sizeof(why), "lab: %s", res.why);
		ktap_result(&k, res.how == LAB_SKIPPED ? KTAP_SKIP : KTAP_FAIL, name, why);
	}
	ktap_end(&k);
	return ktap_exit_code(&k);
}

/* Where, when --kernel (not --on) chose the lab: the why says so. */
static void main_where(enum where_on on, bool on_set, const struct kernel_arg *kernel,
		       struct where *w)
{
	where_decide(on, w);
	if (w->on == WHERE_LAB && !w->in_lab && !on_set && kernel->kind != KERNEL_ARG_DEFAULT)
		snprintf(w->why, sizeof(w->why), "--kernel=%s (the lab's kernel)", kernel->value);
}

int main(int argc, char **argv)
{
	struct where w;
	struct cli c;

	/* lab and bench parse their own arguments. */
	if (argc > 1 && !strcmp(argv[1], "lab"))
		return lab_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "bench")) {
		struct bench_args a;
		char line[1536];

		/* Help and usage errors here, before anything boots. */
		if (bench_parse(argc - 1, argv + 1, &a))
			return KSFT_USAGE;
		if (a.help)
			return bench_main(argc - 1, argv + 1, "");
		main_where(a.on, a.on_set, &a.kernel, &w);
		if (w.on == WHERE_LAB)
			return main_in_lab(argc, argv, NULL, &a.kernel, &w);
		where_describe(&w, line, sizeof(line));
		return bench_main(argc - 1, argv + 1, line);
	}

	if (cli_parse(argc, argv, &c) < 0) {
		fprintf(stderr, "mcefwd: %s\n", error_get());
		fputs(usage_main, stderr);
		return KSFT_USAGE;
	}
	switch (c.cmd) {
	case CLI_RUN:
		if (cmd_run_check_names(&c))
			return KSFT_USAGE;
		/* fall through */
	case CLI_CAPS:
	case CLI_MATRIX:
	case CLI_WHERE:
		main_where(c.on, c.on_set, &c.kernel, &w);
		if (w.on == WHERE_LAB && c.cmd != CLI_WHERE)
			return main_in_lab(argc, argv, &c, &c.kernel, &w);
		break;
	default:
		break;
	}
	switch (c.cmd) {
	case CLI_HELP:
		return cmd_help(c.help_topic);
	case CLI_VERSION:
		printf("mcefwd %s\n", MCEFWD_VERSION);
		return 0;
	case CLI_LIST:
		return cmd_list();
	case CLI_WHERE:
		return cmd_where(&w, c.json, c.quiet);
	case CLI_ENCODINGS:
		return cmd_encodings(&c);
	case CLI_CAPS:
		return cmd_caps(c.json, &w);
	case CLI_RUN:
		return cmd_run(&c, &w);
	case CLI_MATRIX:
		return cmd_matrix(&c, &w);
	}
	return KSFT_USAGE;
}
