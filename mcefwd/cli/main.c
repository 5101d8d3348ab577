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
#include "mcefwd/cli/encodings.h"
#include "mcefwd/util/error.h"
#include "mcefwd/util/interrupt.h"
#include "mcefwd/util/ktap.h"
#include "mcefwd/lab/cmd.h"
#include "mcefwd/cli/matrix.h"
#include "mcefwd/vmm/payload.h"
#include "mcefwd/scenario/run.h"
#include "mcefwd/cli/run_json.h"
#include "mcefwd/scenario/scenario.h"
#include "mcefwd/cli/where.h"


static const char usage_main[] =
"usage: mcefwd [OPTIONS] COMMAND [ARGS]\n"
"\n"
"Runs tiny x86-64 guests on KVM and checks what they see when the host\n"
"forwards a memory error to them as a machine check. The guests run on this\n"
"host's /dev/kvm, or, where it has none (or no memory-failure support), in\n"
"the lab: Debian's kernel under QEMU's software emulation, with KVM and the\n"
"kernel's real memory-failure path.\n"
"\n"
"Commands:\n"
"  run [NAME|PATH]...  run scenarios and payloads (default: all); KTAP on stdout\n"
"  caps [--json]       what the KVM, CPU and kernel the guests run on offer\n"
"  list                the scenarios and the built-in payloads\n"
"  matrix [--markdown|--json]\n"
"                      every scenario x poison method x encoding: what the guest saw\n"
"  bench [NAME]...      performance, measured side by side ('mcefwd bench --help')\n"
"  where [--json]      where guests would run (host or lab), and why\n"
"  encodings [--json]  the machine checks mcefwd injects, per encoding profile\n"
"  lab [OPTIONS] -- COMMAND\n"
"                      run any command in the lab ('mcefwd lab --help')\n"
"  help [COMMAND]      this text, or a command's\n"
"\n"
"run, caps, matrix and bench take --on WHERE: host (this host's /dev/kvm),\n"
"lab, or auto (the default: the host's KVM when it is usable, else the lab).\n"
"The first lines of their output say which, and why.\n"
"\n"
"Examples:\n"
"  mcefwd caps                  what the guests' host can do, at a glance\n"
"  mcefwd run                   every scenario with the most real poison method\n"
"  mcefwd run ar --on=lab       the lab, whatever this host has\n"
"  mcefwd matrix --markdown     the behaviour document of this host\n"
"\n"
"Exit status: 0 pass, 1 fail, 2 usage error, 4 skipped (kselftest).\n"
"Run 'mcefwd help run' for the run options.\n";

static const char usage_run[] =
"usage: mcefwd run [OPTIONS] [SCENARIO|PAYLOAD|PATH]...\n"
"\n"
"Each name is one KTAP test in a fresh VM, one thread per vCPU.\n"
"A SCENARIO ('mcefwd list') poisons guest memory from the host when the guest\n"
"asks, lets the SIGBUS travel the forwarding path (handler stows it, KVM_RUN\n"
"returns, bank state is built and injected with KVM_X86_SET_MCE) and compares\n"
"what the guest's #MC handler saw with the expected record, field by field.\n"
"A PAYLOAD passes when every vCPU exits 0 and no guest check failed; an\n"
"argument containing '/' is an ELF payload file. Without names: every\n"
"scenario, then hello and smp.\n"
"\n"
"Poisoning and encoding:\n"
"      --poison METHOD  signal: the vCPU thread sends itself SIGBUS (any host)\n"
"                       uffd: UFFDIO_POISON on the guest page (kernel >= 6.6)\n"
"                       hwpoison: madvise(MADV_HWPOISON) (CAP_SYS_ADMIN,\n"
"                       CONFIG_MEMORY_FAILURE); pfn: debugfs corrupt-pfn;\n"
"                       soft-offline: MADV_SOFT_OFFLINE (its own scenario);\n"
"                       einj: a real hardware error (ACPI EINJ; never auto);\n"
"                       auto (default): the most real method this host\n"
"                       supports ('mcefwd caps' says which)\n"
"      --encoding P     qemu-7 (default: Intel, QEMU >= 7.0), qemu-6.2, amd\n"
"      --bank N         bank the error is reported in (default 9, as QEMU)\n"
"      --mce-kill K     PR_MCE_KILL policy: early (default), late, default\n"
"      --ao-target T    vCPU that gets action-optional errors: N (default 0, as\n"
"                       QEMU), all, or page-owner (the vCPU that last said it\n"
"                       uses the page)\n"
"      --state FILE     where frames taken out of service are recorded as it\n"
"                       happens (default $MCEFWD_STATE, else /var/lib/mcefwd/state);\n"
"                       mcefwd-inject --unpoison-all undoes what a run left\n"
"      --on WHERE       host: this host's /dev/kvm; lab: Debian's kernel under\n"
"                       QEMU's software emulation ('mcefwd lab --help'), where\n"
"                       auto picks hwpoison, the real memory-failure path;\n"
"                       auto (default): the host's KVM when it is usable (a\n"
"                       character device answering KVM API 12 with KVM_CAP_MCE),\n"
"                       else the lab\n"
"      --emulated-access A\n"
"                       when KVM emulates the guest's access to a uffd-poisoned\n"
"                       page it reports KVM_EXIT_MMIO, not SIGBUS: fail (default)\n"
"                       fails the test; forward injects the AR anyway, saying so\n"
"\n"
"VM options:\n"
"  -n, --vcpus N        vCPUs per VM (default: the payload's own, else 1)\n"
"      --ram SIZE       guest RAM, e.g. 64M, 1G (default 64M; 8M to 3G)\n"
"      --memory KIND    guest RAM backing: anon, thp, hugetlb, memfd (default anon)\n"
"      --numa-node N    bind guest RAM and the vCPU threads to NUMA node N and\n"
"                       report the node of every poisoned page\n"
"      --mcg-cap VALUE  the guest's IA32_MCG_CAP (default 0x100010a: 10 banks,\n"
"                       MCG_CTL_P, MCG_SER_P); bits this KVM lacks are an error\n"
"      --banks N        just the bank count of MCG_CAP (1-32)\n"
"      --kick MODE      immediate: SIG_IPI sets kvm_run.immediate_exit (default)\n"
"                       sigmask: KVM_SET_SIGNAL_MASK, the fallback when\n"
"                       KVM_CAP_IMMEDIATE_EXIT is missing\n"
"      --timeout T      watchdog per test: 30 (seconds, default), 2.5, 500ms\n"
"  -v, --verbose        print passing guest checks too\n"
"      --json           one JSON document instead of KTAP: each test's result,\n"
"                       what the guest saw, every event as the host handled it,\n"
"                       the pages poisoned and undone, its diagnostics\n"
"                       (docs/json.md)\n"
"\n"
"Examples:\n"
"  mcefwd run                                  everything, --poison=auto\n"
"  mcefwd run ar ao burst --poison=signal      the userspace path on any host\n"
"  mcefwd run ar --poison=uffd --emulated-access=forward --encoding=amd\n"
"  mcefwd run smp --vcpus 8 --kick sigmask\n"
"  mcefwd run spin --timeout 2                 a guest that never ends: timeout\n"
"  mcefwd run ar ao --on=lab                   real memory failure, in the lab\n";

static const char usage_caps[] =
"usage: mcefwd caps [--json] [--on WHERE]\n"
"\n"
"Prints, first in one paragraph and then in detail, the KVM API version and\n"
"the capabilities mcefwd relies on (IMMEDIATE_EXIT, MCE banks, the MCG_CAP\n"
"bits KVM supports, USER_MEMORY, ...), the CPU vendor, whether this process\n"
"holds CAP_SYS_ADMIN, and which poison methods are supported, each probed\n"
"without poisoning anything: of this host, or of the lab where guests run\n"
"when this host has no usable KVM (--on, as for 'mcefwd run'). --json for\n"
"machines.\n"
"\n"
"Examples:\n"
"  mcefwd caps\n"
"  mcefwd caps --on=lab         what the lab offers\n"
"  mcefwd caps --json | jq .poison_methods\n";

static const char usage_where[] =
"usage: mcefwd where [--json|--quiet] [--on WHERE]\n"
"\n"
"Says where run, caps, matrix and bench would run their guests, and why:\n"
"on this host's /dev/kvm when it is usable (a character device answering\n"
"KVM API 12 with KVM_CAP_MCE), else in the lab. It only looks: /dev/kvm is\n"
"opened, never created. --quiet prints one word: host (the KVM of the machine\n"
"it runs on; inside the lab, the lab's) or lab.\n"
"\n"
"Examples:\n"
"  mcefwd where\n"
"  mcefwd where --json | jq -r .on\n";

static const char usage_encodings[] =
"usage: mcefwd encodings [--json] [--encoding P] [--bank N] [--gpa ADDR]\n"
"                        [--mcg-cap VALUE | --banks N]\n"
"\n"
"Prints the bank state mcefwd injects for a host memory error in guest RAM,\n"
"bit for bit as QEMU's kvm_mce_inject() writes it, for each encoding profile:\n"
"the AR (action required: the guest consumed the poison), the AO (action\n"
"optional: the error was found before anyone used the page) and, for Intel\n"
"guests, what every other vCPU gets when an AR is broadcast. Each record is\n"
"what a guest's #MC handler reads: MCG_STATUS, the bank and its MCi_STATUS\n"
"(decoded), MCi_ADDR and MCi_MISC. 'mcefwd run' expects exactly these, and\n"
"its tests read them here (--json) rather than stating them again. Nothing\n"
"runs: no /dev/kvm is needed.\n"
"\n"
"      --encoding P     only profile P: qemu-7 (QEMU >= 7.0, the default of\n"
"                       'mcefwd run'), qemu-6.2 (its AR lacks RIPV), amd\n"
"      --bank N         the bank the error is reported in (default 9, as QEMU)\n"
"      --gpa ADDR       the guest physical address of the error (default\n"
"                       0x200000, the first page the scenarios poison)\n"
"      --mcg-cap VALUE  the guest's IA32_MCG_CAP (default 0x100010a: 10 banks,\n"
"                       MCG_CTL_P, MCG_SER_P); without MCG_SER_P an AR stops\n"
"                       the VM and an AO is ignored, as the output says\n"
"      --banks N        just the bank count of MCG_CAP (1-32)\n"
"      --json           one JSON document: the values as hex strings\n"
"                       (docs/json.md)\n"
"\n"
"Examples:\n"
"  mcefwd encodings\n"
"  mcefwd encodings --encoding amd --bank 3\n"
"  mcefwd encodings --json | jq -r '.profiles[\"qemu-7\"].ar.status'\n";

static const char usage_list[] =
"usage: mcefwd list\n"
"\n"
"Lists the scenarios (with what each provokes) and the built-in guest\n"
"payloads (with what each checks).\n"
"\n"
"Example:\n"
"  mcefwd list\n";

static const char usage_matrix[] =
"usage: mcefwd matrix [--markdown|--json] [--on WHERE] [VM OPTIONS]\n"
"\n"
"Runs every scenario with every poison method this host offers (never einj)\n"
"and every encoding profile, each in a fresh VM and each bounded by the\n"
"watchdog (--timeout, default 30 s), and writes one table per scenario of\n"
"what the guest saw: MCG_STATUS, the bank and its MCi_STATUS decoded, ADDR,\n"
"MISC, where the #MC landed and which vCPUs saw one, or what became of the\n"
"VM; with a line that fingerprints the host. Markdown is the default; the\n"
"result is docs/guest-visible-mce.md. Exit 1 if a run failed its checks.\n"
"\n"
"Where the guests run follows --on, as for 'mcefwd run'.\n"
"\n"
"Examples:\n"
"  mcefwd matrix --markdown > guest-visible-mce.md\n"
"  mcefwd matrix --on=lab --markdown   the lab's: real memory failure\n"
"  mcefwd matrix --json\n";

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

static int set_mce_kill(enum cli_mce_kill k);

/* A progress line only for a person watching: standard error is a terminal. */
static bool want_progress(void)
{
	const char *ci = getenv("CI");

	/* With KTAP on the same terminal, the KTAP lines are the progress. */
	return isatty(STDERR_FILENO) && !isatty(STDOUT_FILENO) &&
	       !(ci && *ci && strcmp(ci, "false"));
}

static int cmd_matrix(struct cli *c, const struct where *w)
{
	struct kvm kvm;
	int r;

	if (kvm_open(&kvm) < 0) {
		fprintf(stderr, "mcefwd: %s\n", error_get());
		return KSFT_SKIP;
	}
	set_mce_kill(c->mce_kill);
	r = matrix_main(&kvm, &c->run, c->json ? MATRIX_JSON : MATRIX_MARKDOWN, stdout,
			want_progress(), w);
	kvm_close(&kvm);
	if (r < 0) {
		fprintf(stderr, "mcefwd: matrix: %s\n", error_get());
		return KSFT_FAIL;
	}
	return 0;
}

static int set_mce_kill(enum cli_mce_kill k)
{
	int r;

	if (k == CLI_MCE_KILL_DEFAULT)
		r = prctl(PR_MCE_KILL, PR_MCE_KILL_CLEAR, 0, 0, 0);
	else
		r = prctl(PR_MCE_KILL, PR_MCE_KILL_SET,
			  k == CLI_MCE_KILL_EARLY ? PR_MCE_KILL_EARLY : PR_MCE_KILL_LATE, 0, 0);
	return r ? -errno : 0;
}

static const char *const mce_kill_names[] = { "early", "late", "default" };

/*
 * Once /dev/kvm is open nothing but the poison method needs privilege:
 * MADV_HWPOISON, MADV_SOFT_OFFLINE and the PFNs in pagemap need
 * CAP_SYS_ADMIN; userfaultfd without vm.unprivileged_userfaultfd needs
 * CAP_SYS_PTRACE. Everything else goes, for good.
 */
static int drop_caps(enum inject_method m, char *held, size_t len)
{
	cap_value_t keep[2];
	int n = 0, r;

	if (m == INJECT_HWPOISON || m == INJECT_SOFT_OFFLINE || m == INJECT_PFN ||
	    m == INJECT_EINJ)
		keep[n++] = CAP_SYS_ADMIN;
	if (m == INJECT_UFFD)
		keep[n++] = CAP_SYS_PTRACE;
	r = inject_caps_keep(keep, n);
	inject_caps_describe(held, len);
	return r;
}

struct run_row {
	const char *name;
	bool scenario;
	struct run_result res;
};

static void run_one(struct kvm *kvm, struct cli *c, const char *name, bool have_kvm,
		    const char *kvm_err, struct ktap *k, struct run_row *row)
{
	const struct scenario *sc = strchr(name, '/') ? NULL : scenario_find(name);
	struct run_result *res = &row->res;
	struct payload p;
	int r;

	row->name = name;
	row->scenario = sc != NULL;
	memset(res, 0, sizeof(*res));
	if (sc) {
		if (!have_kvm) {
			res->status = KTAP_SKIP;
			snprintf(res->reason, sizeof(res->reason), "%s", kvm_err);
		} else {
			scenario_run(kvm, sc, c->poison, &c->run, k, res);
		}
		ktap_result(k, res->status, name, res->reason);
		return;
	}
	r = strchr(name, '/') ? payload_read_file(name, &p) : payload_get(name, &p);
	if (r < 0) {
		res->status = KTAP_FAIL;
		snprintf(res->reason, sizeof(res->reason), "%s", error_get());
		ktap_result(k, KTAP_FAIL, name, res->reason);
		return;
	}
	if (!have_kvm) {
		res->status = KTAP_SKIP;
		snprintf(res->reason, sizeof(res->reason), "%s", kvm_err);
	} else {
		run_payload(kvm, &p, &c->run, k, res);
	}
	ktap_result(k, res->status, p.name, res->reason);
	payload_put(&p);
}

/*
 * With --json the KTAP lines of each test are caught in memory: its
 * diagnostics go into its JSON object, and standard output carries one
 * JSON document only.
 */
struct run_sink {
	bool json;
	char *buf;
	size_t len;
};

static void sink_open(struct run_sink *s, struct ktap *k)
{
	if (!s->json)
		return;
	s->buf = NULL;
	s->len = 0;
	k->out = open_memstream(&s->buf, &s->len);
	if (!k->out)
		k->out = stderr;
}

static void sink_close(struct run_sink *s, struct ktap *k)
{
	if (!s->json)
		return;
	if (k->out != stderr)
		fclose(k->out);
	k->out = NULL;
}

/* Rejects a name that is no scenario or payload, before anything boots: 0 or 2. */
static int run_check_names(const struct cli *c)
{
	for (int i = 0; i < c->nr_names; i++) {
		struct payload p;

		if (strchr(c->names[i], '/') || scenario_find(c->names[i]))
			continue;
		if (payload_get(c->names[i], &p) < 0) {
			fprintf(stderr, "mcefwd: no scenario or payload named '%s' (see 'mcefwd list')\n%s",
				c->names[i], usage_run);
			return KSFT_USAGE;
		}
		payload_put(&p);
	}
	return 0;
}

static int cmd_run(struct cli *c, const struct where *w)
{
	const char *defaults[64];
	const char *const *names = (const char *const *)c->names;
	unsigned int n = (unsigned int)c->nr_names;
	struct run_row *rows;
	char kvm_err[ERROR_MAX], why[512] = "", held[256];
	bool have_kvm, any_scenario = false, progress = want_progress();
	struct run_sink sink = { .json = c->json };
	struct kvm kvm;
	struct ktap k;
	int r, r2;

	if (!n) {
		for (unsigned int i = 0; i < scenario_count(); i++)
			defaults[n++] = scenario_at(i)->name;
		defaults[n++] = "hello";
		defaults[n++] = "smp";
		names = defaults;
	}
	for (unsigned int i = 0; i < n; i++)
		any_scenario |= scenario_find(names[i]) != NULL;
	if (c->poison_auto)
		c->poison = inject_auto(why, sizeof(why));
	r = set_mce_kill(c->mce_kill);
	rows = calloc(n, sizeof(*rows));
	if (!rows) {
		fprintf(stderr, "mcefwd: out of memory\n");
		return KSFT_FAIL;
	}
	have_kvm = kvm_open(&kvm) == 0;
	snprintf(kvm_err, sizeof(kvm_err), "%s", have_kvm ? "" : error_get());

	sink_open(&sink, &k);
	ktap_begin(&k, sink.json ? k.out : stdout, n);
	if (!sink.json)
		where_print(w, stdout, "# ");
	if (!have_kvm)
		ktap_diag(&k, "%s", kvm_err);
	r2 = drop_caps(c->poison, held, sizeof(held));
	ktap_diag(&k, "capabilities kept for the run: %s%s%s", held,
		  r2 ? "; dropping the rest failed: " : "", r2 ? strerror(-r2) : "");
	if (any_scenario) {
		if (c->poison_auto)
			ktap_diag(&k, "poison=auto picked %s", why);
		ktap_diag(&k, "PR_MCE_KILL %s%s%s", mce_kill_names[c->mce_kill],
			  r ? ": prctl failed: " : "", r ? strerror(-r) : "");
	}
	if (sink.json) {
		struct run_json_head h = {
			.where = w, .poison = inject_method_name(c->poison),
			.poison_auto = c->poison_auto, .poison_why = why,
			.encoding = mce_profile_name(c->run.vm.fwd.profile),
			.bank = c->run.vm.fwd.bank, .mce_kill = mce_kill_names[c->mce_kill],
			.capabilities = held,
		};

		sink_close(&sink, &k);
		free(sink.buf);
		run_json_begin(stdout, &h);
	}
	interrupt_install();
	for (unsigned int i = 0; i < n; i++) {
		sink_open(&sink, &k);
		if (interrupt_signal()) {
			rows[i].name = names[i];
			rows[i].res.status = KTAP_FAIL;
			snprintf(rows[i].res.reason, sizeof(rows[i].res.reason), "not run: interrupted");
			ktap_result(&k, KTAP_FAIL, names[i], rows[i].res.reason);
		} else {
			if (progress)
				fprintf(stderr, "\r[%u/%u] %-20s", i + 1, n, names[i]);
			run_one(&kvm, c, names[i], have_kvm, kvm_err, &k, &rows[i]);
		}
		if (sink.json) {
			fflush(k.out);
			run_json_test(stdout, i == 0, names[i], rows[i].scenario, &rows[i].res,
				      sink.buf, sink.len);
			sink_close(&sink, &k);
			free(sink.buf);
			fflush(stdout);
		}
	}
	if (progress)
		fprintf(stderr, "\r%40s\r", "");
	if (sink.json) {
		run_json_end(stdout, k.passed, k.failed, k.skipped);
	} else {
		if (any_scenario) {
			ktap_diag(&k, "what the guests saw (poison=%s, encoding=%s, bank %u):",
				  inject_method_name(c->poison),
				  mce_profile_name(c->run.vm.fwd.profile), c->run.vm.fwd.bank);
			for (unsigned int i = 0; i < n; i++)
				if (rows[i].scenario)
					ktap_diag(&k, "  %-14s %-4s %s", rows[i].name,
						  rows[i].res.status == KTAP_PASS ? "ok" :
						  rows[i].res.status == KTAP_SKIP ? "skip" : "FAIL",
						  rows[i].res.status == KTAP_SKIP ? "skipped" :
						  rows[i].res.seen);
		}
		ktap_end(&k);
	}
	free(rows);
	if (have_kvm)
		kvm_close(&kvm);
	return ktap_exit_code(&k);
}

/*
 * The command line once more, inside the lab. When the lab cannot start
 * it, run's KTAP still says so, one skip or failure per name, so a reader
 * of the document learns why; other commands, and a run the lab broke off
 * after it had begun its own document, say it on stderr.
 */
static int main_in_lab(int argc, char **argv, const struct cli *c, const struct where *w)
{
	struct lab_result res;
	struct ktap k;
	unsigned int n;

	if (lab_reexec(argc, argv, w->why, &res) < 0) {
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
		where_decide(a.on, &w);
		if (w.on == WHERE_LAB)
			return main_in_lab(argc, argv, NULL, &w);
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
		if (run_check_names(&c))
			return KSFT_USAGE;
		/* fall through */
	case CLI_CAPS:
	case CLI_MATRIX:
	case CLI_WHERE:
		where_decide(c.on, &w);
		if (w.on == WHERE_LAB && c.cmd != CLI_WHERE)
			return main_in_lab(argc, argv, &c, &w);
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
