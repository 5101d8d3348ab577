// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>

#include "mcefwd/util/interrupt.h"
#include "mcefwd/vmm/kick.h"
#include "mcefwd/mce/encode.h"
#include "mcefwd/scenario/run.h"
#include "mcefwd/vmm/vcpu.h"

/* The first failure names the test's verdict; later ones are diagnostics. */
void run_fail(struct run_result *res, const char *fmt, ...)
{
	va_list ap;

	if (res->status == KTAP_FAIL)
		return;
	res->status = KTAP_FAIL;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

void run_judge_vcpu(struct vm *vm, struct vcpu *v, unsigned int timeout_ms,
		    struct run_result *res)
{
	const struct vcpu_result *r = &v->res;

	switch (r->outcome) {
	case VCPU_EXITED:
		if (r->exit_code)
			run_fail(res, "vcpu-%u exited with code %u", v->id, r->exit_code);
		break;
	case VCPU_EXCEPTION:
		run_fail(res, "vcpu-%u: %s", v->id, r->error);
		break;
	case VCPU_SHUTDOWN:
	case VCPU_ERROR:
	case VCPU_MCE_STOPPED:
		run_fail(res, "vcpu-%u: %s", v->id, r->error);
		break;
	case VCPU_STOPPED:
		if (res->timed_out) {
			vm_diag(vm, "vcpu-%u: did not finish within %u ms, stopped at rip 0x%lx",
				v->id, timeout_ms, (unsigned long)r->stop_rip);
			run_fail(res, "timeout: vcpu-%u did not finish within %u ms (rip 0x%lx)",
				 v->id, timeout_ms, (unsigned long)r->stop_rip);
		} else {
			run_fail(res, "vcpu-%u was stopped before it finished (rip 0x%lx)",
				 v->id, (unsigned long)r->stop_rip);
		}
		break;
	case VCPU_RUNNING:
		run_fail(res, "vcpu-%u never finished", v->id);
		break;
	}
	if (r->reports_failed)
		run_fail(res, "vcpu-%u: %u of %u guest checks failed", v->id,
			 r->reports_failed, r->reports_failed + r->reports_passed);
}

/* What every vCPU's forwarding did, as data, for --json. */
static void run_collect(struct vm *vm, struct run_result *res)
{
	res->lost_bytes = ledger_lost_bytes(&vm->fwd);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		const struct vcpu *v = vm->vcpus[i];

		for (unsigned int j = 0; j < forward_log_count(&v->fwd); j++) {
			const struct fwd_entry *e = forward_log_at(&v->fwd, j);
			struct run_event *o;

			if (res->nr_events++ >= RUN_MAX_EVENTS)
				continue;
			o = &res->events[res->nr_events - 1];
			*o = (struct run_event){
				.vcpu = i, .ar = e->ev.kind == MCE_EVENT_AR,
				.from_main = e->ev.origin == MCE_ORIGIN_MAIN,
				.emulated = e->ev.origin == MCE_ORIGIN_EMULATED,
				.broadcast = e->broadcast, .lsb = e->ev.lsb, .in_ram = e->in_ram,
				.gpa = e->gpa, .verdict = e->verdict, .bank = e->mce.bank,
				.status = e->mce.status, .mcg_status = e->mce.mcg_status,
			};
		}
	}
}

int run_with(struct kvm *kvm, const struct payload *p, const struct vm_config *cfg_in,
	     unsigned int timeout_ms, const struct run_hooks *h, struct ktap *k,
	     struct run_result *res)
{
	struct vm_config cfg = *cfg_in;
	struct vm vm;
	int r;

	memset(res, 0, sizeof(*res));
	res->status = KTAP_PASS;
	if (!cfg.nr_vcpus)
		cfg.nr_vcpus = p->default_vcpus ? p->default_vcpus : 1;
	r = vm_create(&vm, kvm, &cfg);
	if (r < 0) {
		/* What this host lacks is a skip that names it, not a failure. */
		if (r == -ENOTSUP || (r == -ENOMEM && cfg.mem_kind == MEM_HUGETLB)) {
			res->status = KTAP_SKIP;
			snprintf(res->reason, sizeof(res->reason), "%s", error_get());
			return 0;
		}
		run_fail(res, "%s", error_get());
		return r;
	}
	vm.diag.out = k->out;
	vm.ops = h ? h->ops : NULL;
	ktap_diag(k, "%s: %u vCPU(s), %lu MiB %s RAM, MCG_CAP 0x%lx, kick=%s, timeout %u ms",
		  p->name, vm.nr_vcpus, (unsigned long)(cfg.ram_size >> 20),
		  mem_kind_name(cfg.mem_kind), (unsigned long)cfg.mcg_cap,
		  kick_mode_name(vm.cfg.kick), timeout_ms);
	if (vm.cfg.kick != cfg.kick)
		ktap_diag(k, "KVM_CAP_IMMEDIATE_EXIT is missing: kicking with KVM_SET_SIGNAL_MASK");
	if (vm.cfg.mcg_cap != cfg.mcg_cap) {
		/* A QEMU model masked what KVM lacks (vm.c vm_qemu_model). */
		ktap_diag(k, "warning: Unsupported MCG_CAP bits: 0x%lx: masked, as QEMU's kvm_arch_init_vcpu does; the guest gets 0x%lx",
			  (unsigned long)(cfg.mcg_cap & ~vm.cfg.mcg_cap), (unsigned long)vm.cfg.mcg_cap);
		cfg.mcg_cap = vm.cfg.mcg_cap;
	}
	if (vm.vcpus[0]->mcg_cap_kvm != cfg.mcg_cap)
		ktap_diag(k, "KVM stores MCG_CAP 0x%lx for the 0x%lx given to KVM_X86_SETUP_MCE: the guest reads the former; mcefwd, like QEMU, decides on the latter",
			  (unsigned long)vm.vcpus[0]->mcg_cap_kvm, (unsigned long)cfg.mcg_cap);
	/*
	 * KVM stores MCG_CAP as given (kvm_vcpu_ioctl_x86_setup_mce), and
	 * kvm_amd then keeps only bits 8:0 (svm_setup_mce()). Anything else is
	 * a KVM this tool's expectations were not derived from.
	 */
	if (vm.vcpus[0]->mcg_cap_kvm != cfg.mcg_cap &&
	    vm.vcpus[0]->mcg_cap_kvm != (cfg.mcg_cap & MCE_MCG_CAP_SVM_MASK)) {
		run_fail(res, "KVM stored MCG_CAP 0x%lx for 0x%lx: neither the value given (VMX) nor its bits 8:0 (SVM)",
			 (unsigned long)vm.vcpus[0]->mcg_cap_kvm, (unsigned long)cfg.mcg_cap);
		goto out;
	}
	r = vm_load(&vm, p->image, p->image_len);
	if (r < 0) {
		run_fail(res, "loading %s: %s", p->name, error_get());
		goto out;
	}
	r = vm_start(&vm);
	if (r < 0) {
		run_fail(res, "%s", error_get());
		goto out;
	}
	switch (vm_wait(&vm, timeout_ms)) {
	case VM_WAIT_TIMEOUT:
		res->timed_out = true;
		break;
	case VM_WAIT_INTERRUPTED:
		res->interrupted = true;
		break;
	default:
		break;
	}
	vm_stop_and_join(&vm);
	if (res->interrupted)
		run_fail(res, "interrupted by %s", strsignal(interrupt_signal()));
	if (h && h->judge) {
		h->judge(&vm, h->priv, k, res);
	} else {
		for (unsigned int i = 0; i < vm.nr_vcpus; i++)
			run_judge_vcpu(&vm, vm.vcpus[i], timeout_ms, res);
		if (res->status == KTAP_PASS && p->check && p->check(&vm) < 0)
			run_fail(res, "%s", error_get());
	}
	if (ledger_events_lost(&vm.fwd))
		run_fail(res, "%lu machine-check event(s) lost to full rings or queues",
			 ledger_events_lost(&vm.fwd));
	run_collect(&vm, res);
	r = 0;
out:
	vm_destroy(&vm);
	return r;
}

int run_payload(struct kvm *kvm, const struct payload *p, const struct run_opts *o,
		struct ktap *k, struct run_result *res)
{
	return run_with(kvm, p, &o->vm, o->timeout_ms, NULL, k, res);
}
