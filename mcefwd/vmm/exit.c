// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a vCPU's exits mean: the guest's console, its reports (ucalls,
 * decoded by ucall.c), its exit code; halts, shutdowns and failures.
 */
#include <stdio.h>
#include <string.h>

#include "mcefwd/util/error.h"
#include "mcefwd/vmm/kick.h"
#include "mcefwd/vmm/kvm.h"
#include "mcefwd/vmm/ucall.h"
#include "mcefwd/vmm/vcpu.h"
#include "mcefwd/vmm/vcpu_int.h"
#include "mcefwd/vmm/vm.h"

/* A guest printing more than this is flooding and gets stopped. */
#define CONSOLE_MAX	(64UL << 10)
/* What a line costs beyond its text ("# vcpu-N: ..."), so 1,024 lines at most. */
#define CONSOLE_LINE	64

/*
 * Charges n bytes of guest output to the console budget. False, with the
 * vCPU stopped, past CONSOLE_MAX.
 */
static bool exit_console_charge(struct vcpu *v, size_t n)
{
	v->console_total += n;
	if (v->console_total <= CONSOLE_MAX)
		return true;
	vcpu_fail(v, "guest flooded the console (more than 64 KiB): stopped");
	return false;
}

/* A line the guest prints costs its length and its prefix: empty ones flood too. */
static bool exit_console_line(struct vcpu *v, const char *text)
{
	return exit_console_charge(v, strlen(text) + CONSOLE_LINE);
}

static void exit_console(struct vcpu *v, char c)
{
	if (!exit_console_charge(v, 1))
		return;
	if (c != '\n' && v->console_len < sizeof(v->console) - 1) {
		v->console[v->console_len++] = c;
		return;
	}
	v->console[v->console_len] = '\0';
	vm_diag(v->vm, "vcpu-%u: %s", v->id, v->console);
	v->console_len = 0;
	if (c != '\n')
		v->console[v->console_len++] = c;
}

static void exit_ucall(struct vcpu *v, uint64_t gpa)
{
	struct mcefwd_ucall u;
	const struct vm_ops *ops = v->vm->ops;
	struct vcpu_result *res = &v->res;
	char why[ERROR_MAX + 32];

	if (ucall_decode(&v->vm->mem, gpa, v->id, &u) < 0) {
		snprintf(why, sizeof(why), "bad ucall: %s", error_get());
		vcpu_fail(v, why);
		return;
	}
	switch (u.type) {
	case MCEFWD_UCALL_PRINT:
		if (!exit_console_line(v, u.u.text))
			return;
		vm_diag(v->vm, "vcpu-%u: %s", v->id, u.u.text);
		break;
	case MCEFWD_UCALL_REPORT:
		if (u.u.report.pass)
			res->reports_passed++;
		else
			res->reports_failed++;
		if (!u.u.report.pass || v->vm->cfg.verbose) {
			if (!exit_console_line(v, u.u.report.cond))
				return;
			vm_diag(v->vm, "vcpu-%u: %s: %s:%u: %s", v->id,
				u.u.report.pass ? "PASS" : "FAIL", u.u.report.file,
				u.u.report.line, u.u.report.cond);
		}
		break;
	case MCEFWD_UCALL_EXCEPTION:
		res->exc = u.u.exception;
		snprintf(why, sizeof(why),
			 "guest exception vector %lu (%s) error code 0x%lx at rip 0x%lx",
			 (unsigned long)u.u.exception.vector,
			 vcpu_vector_name(u.u.exception.vector),
			 (unsigned long)u.u.exception.error_code,
			 (unsigned long)u.u.exception.rip);
		vcpu_finish(v, VCPU_EXCEPTION, why);
		vm_diag(v->vm, "vcpu-%u: %s", v->id, why);
		break;
	case MCEFWD_UCALL_HELLO:
		if (res->nr_hello < VCPU_MAX_HELLO)
			res->hello[res->nr_hello] = u.value[0];
		res->nr_hello++;
		break;
	case MCEFWD_UCALL_READY:
		if (u.value[2] != MCEFWD_READY_RESET)
			break;
		if (vm_reset(v->vm) < 0) {
			snprintf(why, sizeof(why), "reset: %s", error_get());
			vcpu_fail(v, why);
		}
		return;		/* not a poison request: the scenario does not see it */
	case MCEFWD_UCALL_VALUE:
		if (u.value[0] == MCEFWD_VALUE_TOUCH)
			route_note_owner(&v->fwd, u.value[1]);
		break;
	case MCEFWD_UCALL_MCE:
		if (res->nr_mce < VCPU_MAX_MCE)
			res->mce[res->nr_mce] = u.u.mce;
		res->nr_mce++;
		break;
	default:
		break;
	}
	if (ops && ops->on_ucall && res->outcome == VCPU_RUNNING &&
	    ops->on_ucall(v, &u) < 0) {
		snprintf(why, sizeof(why), "%s", error_get());
		vcpu_fail(v, why);
	}
}

static void exit_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t val = 0;
	char why[128];

	if (run->io.direction != KVM_EXIT_IO_OUT || run->io.count != 1 ||
	    run->io.size > 4 || run->io.data_offset > v->run_size - 4)
		goto unexpected;
	memcpy(&val, data, run->io.size);
	switch (run->io.port) {
	case MCEFWD_PORT_CONSOLE:
		exit_console(v, (char)val);
		return;
	case MCEFWD_PORT_UCALL:
		if (run->io.size != 4)
			goto unexpected;
		exit_ucall(v, val);
		return;
	case MCEFWD_PORT_EXIT:
		if (run->io.size != 4)
			goto unexpected;
		v->res.exit_code = val;
		vcpu_finish(v, VCPU_EXITED, NULL);
		return;
	}
unexpected:
	snprintf(why, sizeof(why), "unexpected %s of %u byte(s) x%u on port 0x%x",
		 run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
		 run->io.size, run->io.count, run->io.port);
	vcpu_fail(v, why);
}

void exit_handle(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char why[160];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		exit_io(v);
		return;
	case KVM_EXIT_HLT:
		/*
		 * No in-kernel irqchip: a halted vCPU waits here for a kick,
		 * unless an event is queued for it. Halting with MCIP still set
		 * means the guest will not clear it: deliver anyway.
		 */
		if (!forward_vcpu_has_work(&v->fwd))
			kick_wait(v);
		else if (forward_vcpu_pending(&v->fwd))
			forward_vcpu_release(&v->fwd);
		return;
	case KVM_EXIT_INTR:
		return;
	case KVM_EXIT_SHUTDOWN:
		vcpu_finish(v, VCPU_SHUTDOWN, "KVM_EXIT_SHUTDOWN: the guest triple-faulted");
		vm_diag(v->vm, "vcpu-%u: %s", v->id, v->res.error);
		return;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(why, sizeof(why), "KVM_EXIT_FAIL_ENTRY: hardware entry failure reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vcpu_fail(v, why);
		return;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(why, sizeof(why), "KVM_EXIT_INTERNAL_ERROR: suberror %u",
			 run->internal.suberror);
		vcpu_fail(v, why);
		return;
	default:
		if (v->vm->ops && v->vm->ops->on_exit && v->vm->ops->on_exit(v) == 1)
			return;
		snprintf(why, sizeof(why), "unexpected exit %s (%u)",
			 kvm_exit_name(run->exit_reason), run->exit_reason);
		vcpu_fail(v, why);
		return;
	}
}
