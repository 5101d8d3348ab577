// SPDX-License-Identifier: GPL-2.0-only
/* mcefwd run: every name one KTAP test (or one JSON object), in a fresh VM. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "inject/inject.h"
#include "mcefwd/cli/cmd_run.h"
#include "mcefwd/cli/run_json.h"
#include "mcefwd/cli/usage.h"
#include "mcefwd/qemu/qemu.h"
#include "mcefwd/scenario/run.h"
#include "mcefwd/scenario/scenario.h"
#include "mcefwd/util/error.h"
#include "mcefwd/util/interrupt.h"
#include "mcefwd/util/ktap.h"
#include "mcefwd/vmm/payload.h"

bool cmd_run_progress(void)
{
	const char *ci = getenv("CI");

	/* With KTAP on the same terminal, the KTAP lines are the progress. */
	return isatty(STDERR_FILENO) && !isatty(STDOUT_FILENO) &&
	       !(ci && *ci && strcmp(ci, "false"));
}

int cmd_run_set_mce_kill(enum cli_mce_kill k)
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
 * Once /dev/kvm is open nothing but the poison method needs privilege, and
 * only what its table entry names (CAP_SYS_ADMIN for MADV_HWPOISON,
 * MADV_SOFT_OFFLINE and the PFNs in pagemap; CAP_SYS_PTRACE for
 * userfaultfd without vm.unprivileged_userfaultfd). Everything else goes,
 * for good.
 */
static int drop_caps(enum inject_method m, char *held, size_t len)
{
	const struct inject_method_ops *ops = inject_method(m);
	int r;

	r = inject_caps_keep(ops->caps, (int)ops->nr_caps);
	inject_caps_describe(held, len);
	return r;
}

struct run_row {
	const char *name;
	bool scenario;
	struct run_result res;
};

static void run_one(struct kvm *kvm, struct cli *c, const char *name, bool have_kvm,
		    const char *kvm_err, const struct qemu_vmm *qemu, struct ktap *k,
		    struct run_row *row)
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
		} else if (qemu) {
			qemu_scenario_run(qemu, sc, c->poison, &c->run, k, res);
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
	} else if (qemu) {
		qemu_payload_run(qemu, &p, &c->run, k, res);
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
int cmd_run_check_names(const struct cli *c)
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

int cmd_run(struct cli *c, const struct where *w)
{
	const char *defaults[64];
	const char *const *names = (const char *const *)c->names;
	unsigned int n = (unsigned int)c->nr_names;
	struct run_row *rows;
	char kvm_err[ERROR_MAX], why[512] = "", held[256];
	bool have_kvm, any_scenario = false, progress = cmd_run_progress();
	struct run_sink sink = { .json = c->json };
	struct qemu_vmm qemu;
	const struct qemu_vmm *vmm = NULL;
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
	if (c->poison_auto && c->vmm_qemu) {
		c->poison = INJECT_PFN;
		snprintf(why, sizeof(why), "pfn: the one method that reaches QEMU's guest RAM from outside without firmware (einj is never picked unless named)");
	} else if (c->poison_auto) {
		c->poison = inject_auto(why, sizeof(why));
	}
	r = cmd_run_set_mce_kill(c->mce_kill);
	rows = calloc(n, sizeof(*rows));
	if (!rows) {
		fprintf(stderr, "mcefwd: out of memory\n");
		return KSFT_FAIL;
	}
	have_kvm = kvm_open(&kvm) == 0;
	snprintf(kvm_err, sizeof(kvm_err), "%s", have_kvm ? "" : error_get());
	/* The encoding a QEMU model picks by the guest CPU's vendor (the host's: vm.c). */
	if (have_kvm && fwd_is_qemu(&c->run.vm.fwd) && !c->run.vm.fwd.encoding_set)
		c->run.vm.fwd.profile = qemu_model_profile(c->run.vm.fwd.model,
							   !strcmp(kvm.caps.vendor, "AuthenticAMD"));
	if (have_kvm && c->vmm_qemu) {
		if (qemu_vmm_find(c->qemu_path, c->qemu_cpu, kvm.caps.mcg_cap_supported, &qemu) == 0) {
			vmm = &qemu;
		} else if (c->qemu_path) {
			fprintf(stderr, "mcefwd: %s\n%s", error_get(), usage_run);
			kvm_close(&kvm);
			free(rows);
			return KSFT_USAGE;
		} else {
			/* QEMU is what is under test: without it there is nothing to run. */
			have_kvm = false;
			snprintf(kvm_err, sizeof(kvm_err), "--vmm=qemu: %s", error_get());
		}
	}

	sink_open(&sink, &k);
	ktap_begin(&k, sink.json ? k.out : stdout, n);
	if (!sink.json)
		where_print(w, stdout, "# ");
	if (!have_kvm)
		ktap_diag(&k, "%s", kvm_err);
	r2 = drop_caps(c->poison, held, sizeof(held));
	ktap_diag(&k, "capabilities kept for the run: %s%s%s", held,
		  r2 ? "; dropping the rest failed: " : "", r2 ? strerror(-r2) : "");
	if (vmm)
		ktap_diag(&k, "the VMM under test: %s (%s), -cpu %s on an %s host; poisoned by %s",
			  vmm->path, vmm->version, vmm->cpu, vmm->amd ? "AMD" : "Intel",
			  vmm->injector);
	if (any_scenario && !vmm) {
		char model[32];

		fwd_model_name(&c->run.vm.fwd, model, sizeof(model));
		ktap_diag(&k, "forwarding model %s: %s", model, fwd_is_qemu(&c->run.vm.fwd) ?
			  "QEMU's rules of that release (early kill, immediate injection with do_inject_x86_mce's drops and resets, MSR writes and KVM_SET_VCPU_EVENTS, no queue)" :
			  "mcefwd's own (every event kept and delivered in turn, each once the guest cleared MCIP, with KVM_X86_SET_MCE)");
	}
	if (any_scenario) {
		if (c->poison_auto)
			ktap_diag(&k, "poison=auto picked %s", why);
		ktap_diag(&k, "PR_MCE_KILL %s%s%s", mce_kill_names[c->mce_kill],
			  r ? ": prctl failed: " : "", r ? strerror(-r) : "");
	}
	if (sink.json) {
		char model[32];
		struct run_json_head h = {
			.model = fwd_model_name(&c->run.vm.fwd, model, sizeof(model)),
			.where = w, .poison = inject_method_name(c->poison),
			.poison_auto = c->poison_auto, .poison_why = why,
			.encoding = mce_profile_name(c->run.vm.fwd.profile),
			.bank = c->run.vm.fwd.bank, .mce_kill = mce_kill_names[c->mce_kill],
			.capabilities = held, .vmm = vmm,
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
			run_one(&kvm, c, names[i], have_kvm, kvm_err, vmm, &k, &rows[i]);
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
		if (any_scenario && vmm) {
			ktap_diag(&k, "what the guests saw (poison=%s, VMM %s, -cpu %s):",
				  inject_method_name(c->poison), vmm->version, vmm->cpu);
		} else if (any_scenario) {
			ktap_diag(&k, "what the guests saw (poison=%s, encoding=%s, bank %u):",
				  inject_method_name(c->poison),
				  mce_profile_name(c->run.vm.fwd.profile), c->run.vm.fwd.bank);
		}
		if (any_scenario) {
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
