// SPDX-License-Identifier: GPL-2.0-only
/* One scenario run: skip what this host cannot do, set up, run, judge, clean up. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "inject/state.h"
#include "mcefwd/mce/encode.h"
#include "mcefwd/util/ktap.h"
#include "mcefwd/vmm/payload.h"
#include "guest-payloads/abi.h"
#include "mcefwd/scenario/scn_int.h"
#include "mcefwd/util/error.h"
#include "mcefwd/vmm/vcpu.h"
#include "mcefwd/vmm/vm.h"

bool scenario_skip_unavailable(enum inject_method m, struct run_result *res)
{
	struct inject_probe probe;

	inject_probe(m, &probe);
	if (probe.available)
		return false;
	res->status = KTAP_SKIP;
	snprintf(res->reason, sizeof(res->reason), "%s: %.480s", inject_method_name(m), probe.why);
	return true;
}

int scenario_run(struct kvm *kvm, const struct scenario *sc, enum inject_method m,
		 const struct run_opts *o, struct ktap *k, struct run_result *res)
{
	const struct inject_method_ops *method = inject_method(m);
	struct vm_config cfg = o->vm;
	struct vm_ops ops = poison_ops;
	struct run_hooks hooks = { .ops = &ops, .judge = judge_scenario };
	struct scn_run *s;
	struct payload p;
	const char *kill = NULL;
	int r, old_kill = -1, want_kill;

	memset(res, 0, sizeof(*res));
	if ((method->flags & INJECT_F_MIGRATES) && strcmp(sc->name, "soft-offline")) {
		res->status = KTAP_SKIP;
		snprintf(res->reason, sizeof(res->reason),
			 "soft-offline: it migrates the page and raises no error; only the soft-offline scenario applies");
		return 0;
	}
	if (sc->cannot[m]) {
		res->status = KTAP_SKIP;
		snprintf(res->reason, sizeof(res->reason), "%s: %s", inject_method_name(m),
			 sc->cannot[m]);
		return 0;
	}
	if (m == INJECT_UFFD && o->vm.mem_kind == MEM_HUGETLB) {
		res->status = KTAP_SKIP;
		snprintf(res->reason, sizeof(res->reason),
			 "uffd: on hugetlb guest RAM UFFDIO_POISON takes a whole 2 MiB page, the guest's spare pages with it");
		return 0;
	}
	if ((sc->mcg_cap_set & ~kvm->caps.mcg_cap_supported) != 0) {
		char have[128], need[128];

		mce_mcg_cap_describe(kvm->caps.mcg_cap_supported, have, sizeof(have));
		mce_mcg_cap_describe(sc->mcg_cap_set & ~kvm->caps.mcg_cap_supported, need,
				     sizeof(need));
		res->status = KTAP_SKIP;
		snprintf(res->reason, sizeof(res->reason),
			 "this host's KVM does not offer %s (KVM_X86_GET_MCE_CAP_SUPPORTED: %s)%s",
			 need, have, sc->mcg_cap_set & MCE_MCG_LMCE_P ?
			 ": LMCE needs Intel VMX, only kvm_intel adds MCG_LMCE_P to what KVM supports (arch/x86/kvm/vmx/vmx.c); the lab's TCG emulates AMD SVM" : "");
		return 0;
	}
	if (scenario_skip_unavailable(m, res))
		return 0;
	r = payload_get(sc->payload, &p);
	if (r < 0) {
		run_fail(res, "%s", error_get());
		return r;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		run_fail(res, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->sc = sc;
	s->method = m;
	s->state_path = o->state_path ? o->state_path : state_default_path();
	s->emulated = o->vm.fwd.emulated;
	if (sc->vmm_memory) {
		s->vmm_page = mmap(NULL, MCEFWD_PAGE_SIZE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (s->vmm_page == MAP_FAILED) {
			s->vmm_page = NULL;
			free(s);
			run_fail(res, "out of memory");
			return -ENOMEM;
		}
		memset(s->vmm_page, 0, MCEFWD_PAGE_SIZE);
	}
	ops.priv = s;
	hooks.priv = s;
	cfg.mcg_cap &= ~sc->mcg_cap_clear;
	cfg.mcg_cap |= sc->mcg_cap_set;
	if (sc->nr_vcpus && !o->vm.nr_vcpus)
		cfg.nr_vcpus = sc->nr_vcpus;
	ktap_diag(k, "%s: %s; poison=%s encoding=%s bank %u", sc->name, sc->summary,
		  inject_method_name(m), mce_profile_name(cfg.fwd.profile), cfg.fwd.bank);
	/* A QEMU model asks for early kill, always, as qemu_init_sigbus does. */
	want_kill = fwd_is_qemu(&cfg.fwd) ? SCN_KILL_EARLY : sc->kill;
	if (want_kill && (method->flags & INJECT_F_MEMORY_FAILURE)) {
		old_kill = prctl(PR_MCE_KILL_GET, 0, 0, 0, 0);
		prctl(PR_MCE_KILL, PR_MCE_KILL_SET,
		      want_kill == SCN_KILL_EARLY ? PR_MCE_KILL_EARLY : PR_MCE_KILL_LATE, 0, 0);
		kill = want_kill == SCN_KILL_EARLY ? "early" : "late";
		ktap_diag(k, "PR_MCE_KILL %s for %s: a real memory failure %s", kill, sc->name,
			  want_kill == SCN_KILL_EARLY ? "must send its AO at once" :
			  "must wait for the guest's access (AR), not send an AO first");
	}
	r = run_with(kvm, &p, &cfg, o->timeout_ms, &hooks, k, res);
	res->kill = kill;
	if (old_kill >= 0) {
		if (old_kill == PR_MCE_KILL_DEFAULT)
			prctl(PR_MCE_KILL, PR_MCE_KILL_CLEAR, 0, 0, 0);
		else
			prctl(PR_MCE_KILL, PR_MCE_KILL_SET, old_kill, 0, 0);
	}
	poison_cleanup(s, k, NULL);
	pthread_mutex_destroy(&s->lock);
	if (s->vmm_page)
		munmap(s->vmm_page, MCEFWD_PAGE_SIZE);
	free(s);
	return r;
}
