// SPDX-License-Identifier: GPL-2.0-only
/*
 * mcefwd: prove, measure and document how a host memory error reaches a
 * KVM guest as an x86 machine check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcefwd/caps.h"
#include "mcefwd/cli.h"
#include "mcefwd/error.h"
#include "mcefwd/ktap.h"
#include "mcefwd/payload.h"
#include "mcefwd/run.h"

#define MCEFWD_VERSION "0.1"

static const char usage_main[] =
"usage: mcefwd [OPTIONS] COMMAND [ARGS]\n"
"\n"
"Runs tiny x86-64 guests on /dev/kvm and checks what they see when the host\n"
"forwards a memory error to them as a machine check.\n"
"\n"
"Commands:\n"
"  run [NAME|PATH]...  run payloads (default: hello smp); KTAP on stdout\n"
"  caps [--json]       what this host's KVM, CPU and kernel offer\n"
"  list                the built-in payloads\n"
"  help [COMMAND]      this text, or a command's\n"
"\n"
"Exit status: 0 pass, 1 fail, 2 usage error, 4 skipped (kselftest).\n"
"Run 'mcefwd help run' for the run options.\n";

static const char usage_run[] =
"usage: mcefwd run [OPTIONS] [NAME|PATH]...\n"
"\n"
"Boots each payload in a fresh VM, one thread per vCPU, and reports one KTAP\n"
"test per payload. A NAME is a built-in payload ('mcefwd list'); an argument\n"
"containing '/' is an ELF payload file linked for guest-payloads/runtime.\n"
"A payload passes when every vCPU exits with code 0 and no guest check failed.\n"
"\n"
"Options:\n"
"  -n, --vcpus N        vCPUs per VM (default: the payload's own, else 1)\n"
"      --ram SIZE       guest RAM, e.g. 64M, 1G (default 64M; 8M to 3G)\n"
"      --memory KIND    guest RAM backing: anon, thp, hugetlb, memfd (default anon)\n"
"      --mcg-cap VALUE  the guest's IA32_MCG_CAP (default 0x100010a: 10 banks,\n"
"                       MCG_CTL_P, MCG_SER_P); bits this KVM lacks are an error\n"
"      --banks N        just the bank count of MCG_CAP (1-32)\n"
"      --kick MODE      immediate: SIG_IPI sets kvm_run.immediate_exit (default)\n"
"                       sigmask: KVM_SET_SIGNAL_MASK, the fallback when\n"
"                       KVM_CAP_IMMEDIATE_EXIT is missing\n"
"      --timeout T      watchdog per payload: 30 (seconds, default), 2.5, 500ms\n"
"  -v, --verbose        print passing guest checks too\n"
"\n"
"Examples:\n"
"  mcefwd run                         the default suite\n"
"  mcefwd run smp --vcpus 8 --kick sigmask\n"
"  mcefwd run spin --timeout 2        a guest that never ends: fails, timed out\n";

static const char usage_caps[] =
"usage: mcefwd caps [--json]\n"
"\n"
"Prints the KVM API version and the capabilities mcefwd relies on\n"
"(IMMEDIATE_EXIT, MCE banks, the MCG_CAP bits KVM supports, USER_MEMORY, ...),\n"
"the CPU vendor, whether this process holds CAP_SYS_ADMIN, and which poison\n"
"methods this host supports, each probed without poisoning anything.\n";

static const char usage_list[] =
"usage: mcefwd list\n"
"\n"
"Lists the built-in guest payloads and what each checks.\n";

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
	else {
		fprintf(stderr, "mcefwd: no help for '%s'\n%s", topic, usage_main);
		return KSFT_USAGE;
	}
	return 0;
}

static int cmd_list(void)
{
	for (unsigned int i = 0; i < payload_count(); i++) {
		struct payload p;

		if (payload_get(payload_name(i), &p) == 0)
			printf("%-10s %s\n", p.name, p.summary);
	}
	return 0;
}

static int cmd_caps(bool json)
{
	struct caps_report r;
	struct kvm kvm;
	bool ok = kvm_open(&kvm) == 0;

	caps_gather(&r, ok ? &kvm : NULL, ok ? "" : error_get());
	if (json)
		caps_print_json(&r, stdout);
	else
		caps_print_text(&r, stdout);
	if (ok)
		kvm_close(&kvm);
	return 0;
}

static int cmd_run(struct cli *c)
{
	static const char *const defaults[] = { "hello", "smp" };
	const char *const *names = (const char *const *)c->names;
	unsigned int n = (unsigned int)c->nr_names;
	struct kvm kvm;
	struct ktap k;
	bool have_kvm;
	char kvm_err[ERROR_MAX];

	if (!n) {
		names = defaults;
		n = sizeof(defaults) / sizeof(defaults[0]);
	}
	/* Reject a bad name before booting anything. */
	for (unsigned int i = 0; i < n; i++) {
		struct payload p;

		if (strchr(names[i], '/'))
			continue;
		if (payload_get(names[i], &p) < 0) {
			fprintf(stderr, "mcefwd: %s\n", error_get());
			return KSFT_USAGE;
		}
	}
	have_kvm = kvm_open(&kvm) == 0;
	snprintf(kvm_err, sizeof(kvm_err), "%s", have_kvm ? "" : error_get());

	ktap_begin(&k, stdout, n);
	if (!have_kvm)
		ktap_diag(&k, "%s", kvm_err);
	for (unsigned int i = 0; i < n; i++) {
		struct run_result res;
		struct payload p;
		int r;

		r = strchr(names[i], '/') ? payload_read_file(names[i], &p) :
					    payload_get(names[i], &p);
		if (r < 0) {
			ktap_result(&k, KTAP_FAIL, names[i], error_get());
			continue;
		}
		if (!have_kvm) {
			ktap_result(&k, KTAP_SKIP, p.name, kvm_err);
			payload_put(&p);
			continue;
		}
		run_payload(&kvm, &p, &c->run, &k, &res);
		ktap_result(&k, res.status, p.name, res.reason);
		payload_put(&p);
	}
	ktap_end(&k);
	if (have_kvm)
		kvm_close(&kvm);
	return ktap_exit_code(&k);
}

int main(int argc, char **argv)
{
	struct cli c;

	if (cli_parse(argc, argv, &c) < 0) {
		fprintf(stderr, "mcefwd: %s\n", error_get());
		fputs(usage_main, stderr);
		return KSFT_USAGE;
	}
	switch (c.cmd) {
	case CLI_HELP:
		return cmd_help(c.help_topic);
	case CLI_VERSION:
		printf("mcefwd %s\n", MCEFWD_VERSION);
		return 0;
	case CLI_LIST:
		return cmd_list();
	case CLI_CAPS:
		return cmd_caps(c.json);
	case CLI_RUN:
		return cmd_run(&c);
	}
	return KSFT_USAGE;
}
