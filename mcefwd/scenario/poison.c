// SPDX-License-Identifier: GPL-2.0-only
/*
 * Poisoning on the guest's request: the vm_ops hooks a scenario runs with.
 * The guest asks (MCEFWD_UCALL_READY) for pages to be poisoned; the method
 * does it now, or right before the vCPU's next entry (signal), or on the
 * main thread (an AO); whatever was done is undone after the judge.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inject/safety.h"
#include "inject/state.h"
#include "mcefwd/mce/sigbus.h"
#include "mcefwd/util/ktap.h"
#include "guest-payloads/abi.h"
#include "mcefwd/scenario/scn_int.h"
#include "mcefwd/util/error.h"
#include "mcefwd/vmm/vcpu.h"
#include "mcefwd/vmm/vm.h"

static void *poison_hva(struct vm *vm, struct scn_run *s, uint64_t gpa)
{
	if (s->sc->vmm_memory)
		return s->vmm_page;
	return mem_gpa_to_hva(&vm->mem, gpa, MCEFWD_PAGE_SIZE);
}

/*
 * The methods that take a real frame out of service: the frame is looked up
 * first and recorded in the state file the moment the kernel has it, so a
 * crash never leaves a poisoned frame unrecorded.
 */
static int poison_frame(struct vcpu *v, struct scn_run *s, struct scn_page *pg)
{
	struct inject_soft_offline_result so;
	struct state_entry e;
	const char *what;
	uint64_t pfn;
	int r;

	r = inject_pfn_lookup(0, (uintptr_t)pg->hva, &pfn);
	if (r < 0)
		return error_wrap(-r, "frame of gpa 0x%lx", (unsigned long)pg->gpa);
	if (!s->state) {
		r = state_open(s->state_path, &s->state);
		if (r < 0)
			return error_wrap(-r, "state file %s", s->state_path);
	}
	switch (s->method) {
	case INJECT_HWPOISON:
		what = "madvise(MADV_HWPOISON)";
		r = inject_hwpoison(pg->hva, MCEFWD_PAGE_SIZE);
		break;
	case INJECT_PFN:
		what = "debugfs hwpoison/corrupt-pfn";
		r = inject_pfn_poison(pfn);
		break;
	case INJECT_EINJ:
		what = "ACPI EINJ";
		r = inject_einj_memory(pfn << 12);
		break;
	default:
		what = "madvise(MADV_SOFT_OFFLINE)";
		r = inject_soft_offline(pg->hva, MCEFWD_PAGE_SIZE, &so);
		break;
	}
	if (r < 0)
		return error_set(-r, "%s on gpa 0x%lx (pfn 0x%lx): %s", what,
				 (unsigned long)pg->gpa, (unsigned long)pfn, error_get());
	e = (struct state_entry){
		.pfn = pfn, .pid = getpid(), .addr = (uintptr_t)pg->hva,
		.size = MCEFWD_PAGE_SIZE, .method = s->method, .time = (int64_t)time(NULL),
	};
	pg->pfn = pfn;
	r = state_record_poison(s->state, &e);
	if (r < 0)
		vm_diag(v->vm, "vcpu-%u: recording pfn 0x%lx in %s failed: %s", v->id,
			(unsigned long)pfn, s->state_path, error_get());
	vm_diag(v->vm, "vcpu-%u: %s on gpa 0x%lx (host %p, pfn 0x%lx), recorded in %s",
		v->id, what, (unsigned long)pg->gpa, pg->hva, (unsigned long)pfn,
		s->state_path);
	if (s->method != INJECT_SOFT_OFFLINE)
		return 0;
	/* Soft offline promises: no SIGBUS, the contents kept, a new frame. */
	vm_diag(v->vm, "vcpu-%u: soft offline: frame 0x%lx -> 0x%lx, contents %s",
		v->id, (unsigned long)so.pfn_before, (unsigned long)so.pfn_after,
		so.contents_preserved ? "preserved" : "CHANGED");
	if (!so.contents_preserved)
		return error_set(EIO, "soft offline of gpa 0x%lx changed the page's contents",
				 (unsigned long)pg->gpa);
	if (so.pfn_visible && !so.frame_changed)
		return error_set(EIO, "soft offline of gpa 0x%lx left it on frame 0x%lx",
				 (unsigned long)pg->gpa, (unsigned long)so.pfn_before);
	return 0;
}

static int poison_page(struct vcpu *v, struct scn_run *s, uint64_t gpa, int kind)
{
	struct scn_page *pg;
	void *hva = poison_hva(v->vm, s, gpa);
	int r;

	if (!hva || gpa % MCEFWD_PAGE_SIZE)
		return error_set(EINVAL, "guest asked to poison gpa 0x%lx: not a page of guest RAM",
				 (unsigned long)gpa);
	pthread_mutex_lock(&s->lock);
	pg = s->nr_pages < SCN_MAX_PAGES ? &s->pages[s->nr_pages++] : NULL;
	if (pg) {
		pg->gpa = gpa;
		pg->hva = hva;
	}
	pthread_mutex_unlock(&s->lock);
	if (!pg)
		return error_set(ENOSPC, "guest asked to poison more than %d pages", SCN_MAX_PAGES);
	/* Methods that poison a real frame go through the injector's rules too. */
	if (s->method != INJECT_SIGNAL) {
		struct safety_range ram[MEM_MAX_SLOTS + 1];
		const struct guest_mem *m = &v->vm->mem;
		unsigned int nr = 0;

		for (unsigned int i = 0; i < m->nr_slots; i++)
			ram[nr++] = (struct safety_range){
				.start = (uintptr_t)m->slots[i].hva,
				.end = (uintptr_t)m->slots[i].hva + m->slots[i].size,
			};
		if (s->vmm_page)
			ram[nr++] = (struct safety_range){
				.start = (uintptr_t)s->vmm_page,
				.end = (uintptr_t)s->vmm_page + MCEFWD_PAGE_SIZE,
			};
		r = inject_target_check(getpid(), (uintptr_t)hva, MCEFWD_PAGE_SIZE, ram, nr);
		if (r < 0)
			return error_wrap(-r, "gpa 0x%lx", (unsigned long)gpa);
	}

	switch (s->method) {
	case INJECT_SIGNAL:
		if (kind == MCEFWD_READY_AO) {
			/* AO arrives on a thread that is not a vCPU: the main one. */
			uint64_t one = 1;

			atomic_store(&s->pending_ao, hva);
			if (write(v->vm->event_fd, &one, sizeof(one)) < 0)
				return error_set(errno, "waking the main thread: %s", strerror(errno));
			return 0;
		}
		if (s->nr_pending[v->id] < SCN_MAX_PAGES)
			s->pending[v->id][s->nr_pending[v->id]++] = hva;
		return 0;
	case INJECT_UFFD:
		r = inject_uffd_poison(hva, MCEFWD_PAGE_SIZE, &pg->uffd);
		if (r < 0)
			return error_set(-r, "uffd poison of gpa 0x%lx: %s: %s", (unsigned long)gpa,
					 inject_uffd_failed_step(), strerror(-r));
		vm_diag(v->vm, "vcpu-%u: UFFDIO_POISON on gpa 0x%lx (host %p)", v->id,
			(unsigned long)gpa, hva);
		return 0;
	case INJECT_HWPOISON:
	case INJECT_PFN:
	case INJECT_EINJ:
	case INJECT_SOFT_OFFLINE:
		r = poison_frame(v, s, pg);
		if (r < 0 || !s->sc->vmm_memory || kind != MCEFWD_READY_AR)
			return r;
		/* Nothing touches mcefwd's own page but mcefwd: it reads it, as a VMM would. */
		r = sigbus_probe(hva);
		vm_diag(v->vm, "vcpu-%u: mcefwd read its own page %p: %s", v->id, hva,
			r ? "SIGBUS BUS_MCEERR_AR, load abandoned" : "no error");
		return 0;
	default:
		return error_set(ENOTSUP, "poison method %s is not implemented",
				 inject_method_name(s->method));
	}
}

static int poison_on_ucall(struct vcpu *v, const struct mcefwd_ucall *u)
{
	struct scn_run *s = v->vm->ops->priv;
	uint64_t count;
	int r;

	if (u->type != MCEFWD_UCALL_READY)
		return 0;
	if (u->value[2] != MCEFWD_READY_AR && u->value[2] != MCEFWD_READY_AO)
		return error_set(EPROTO, "poison request with kind %lu", (unsigned long)u->value[2]);
	/* The guest asks for the next error: do not hold it behind MCIP. */
	forward_vcpu_release(&v->fwd);
	count = u->value[3] ? u->value[3] : 1;
	if (count > SCN_MAX_PAGES)
		return error_set(EPROTO, "poison request for %lu pages", (unsigned long)count);
	for (uint64_t i = 0; i < count; i++) {
		r = poison_page(v, s, u->value[1] + i * MCEFWD_PAGE_SIZE, (int)u->value[2]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The signal method: the vCPU thread sends itself SIGBUS right before entry. */
static int poison_before_run(struct vcpu *v)
{
	struct scn_run *s = v->vm->ops->priv;

	for (unsigned int i = 0; i < s->nr_pending[v->id]; i++) {
		int r = inject_signal_self(BUS_MCEERR_AR, s->pending[v->id][i], 12);

		if (r < 0)
			return error_set(-r, "rt_tgsigqueueinfo(SIGBUS): %s", strerror(-r));
	}
	s->nr_pending[v->id] = 0;
	return 0;
}

static void poison_on_main(struct vm *vm)
{
	struct scn_run *s = vm->ops->priv;
	void *hva = atomic_exchange(&s->pending_ao, NULL);
	int r;

	if (!hva)
		return;
	/* memory-failure reports a hugetlb page whole: si_addr_lsb 21 for 2 MiB. */
	r = inject_signal_self(BUS_MCEERR_AO, hva, vm->mem.kind == MEM_HUGETLB ? 21 : 12);
	if (r < 0)
		snprintf(s->failure, sizeof(s->failure), "rt_tgsigqueueinfo(SIGBUS AO): %s",
			 strerror(-r));
}

/*
 * The uffd method on a host whose KVM emulates guest instructions: KVM
 * cannot read the poisoned page and reports an MMIO exit at a guest-RAM
 * address where real hardware virtualization would have faulted into the
 * hwpoison path and sent SIGBUS BUS_MCEERR_AR.
 */
static int poison_on_exit(struct vcpu *v)
{
	struct scn_run *s = v->vm->ops->priv;
	struct kvm_run *run = v->run;
	uint64_t gpa = run->mmio.phys_addr;
	uint64_t page = gpa & ~(MCEFWD_PAGE_SIZE - 1);
	struct scn_page *pg = NULL;

	if (run->exit_reason != KVM_EXIT_MMIO || !mem_gpa_to_hva(&v->vm->mem, gpa, 1))
		return 0;
	pthread_mutex_lock(&s->lock);
	for (unsigned int i = 0; i < s->nr_pages; i++)
		if (s->pages[i].gpa == page && s->pages[i].uffd)
			pg = &s->pages[i];
	pthread_mutex_unlock(&s->lock);
	if (!pg)
		return 0;
	if (s->emulated == FWD_EMULATED_FAIL) {
		char why[ERROR_MAX];

		snprintf(why, sizeof(why),
			 "KVM emulated the guest's %s of poisoned gpa 0x%lx and reported KVM_EXIT_MMIO instead of sending SIGBUS BUS_MCEERR_AR (instruction emulation, not hardware virtualization); --emulated-access=forward injects the AR anyway",
			 run->mmio.is_write ? "write" : "read", (unsigned long)gpa);
		vcpu_finish(v, VCPU_ERROR, why);
		vm_diag(v->vm, "vcpu-%u: %s", v->id, why);
		return 1;
	}
	vm_diag(v->vm, "vcpu-%u: KVM emulated the %s of poisoned gpa 0x%lx (KVM_EXIT_MMIO, no SIGBUS): mcefwd raises the AR itself (--emulated-access=forward)",
		v->id, run->mmio.is_write ? "write" : "read", (unsigned long)gpa);
	if (vcpu_abort_mmio(v) < 0) {
		vcpu_finish(v, VCPU_ERROR, error_get());
		return 1;
	}
	forward_raise_ar(&v->fwd, pg->hva, MCE_ORIGIN_EMULATED);
	return 1;
}

void poison_cleanup(struct scn_run *s, struct ktap *k, struct run_result *res)
{
	for (unsigned int i = 0; i < s->nr_pages; i++) {
		struct scn_page *pg = &s->pages[i];
		struct run_page *rp = res && i < RUN_MAX_PAGES ? &res->pages[i] : NULL;
		int r;

		if (rp) {
			*rp = (struct run_page){ .gpa = pg->gpa, .pfn = pg->pfn };
			res->nr_pages = i + 1;
		}
		if (pg->uffd) {
			r = inject_uffd_unpoison(pg->uffd);
			pg->uffd = NULL;
			if (r < 0)
				ktap_diag(k, "could not unpoison gpa 0x%lx (host %p): %s: %s",
					  (unsigned long)pg->gpa, pg->hva,
					  inject_uffd_failed_step(), strerror(-r));
			else if (rp)
				rp->unpoisoned = true;
		}
		if (!pg->pfn)
			continue;
		r = s->method == INJECT_EINJ ? -EOPNOTSUPP : inject_pfn_unpoison(pg->pfn);
		if (r == 0) {
			if (rp)
				rp->unpoisoned = true;
			state_record_unpoison(s->state, pg->pfn);
			ktap_diag(k, "unpoisoned pfn 0x%lx (gpa 0x%lx)", (unsigned long)pg->pfn,
				  (unsigned long)pg->gpa);
		} else {
			ktap_diag(k, "left poisoned: pfn 0x%lx (gpa 0x%lx): %s; to clear it: %s",
				  (unsigned long)pg->pfn, (unsigned long)pg->gpa,
				  s->method == INJECT_EINJ ? "a real hardware error, the kernel keeps it until reboot" : error_get(),
				  s->method == INJECT_EINJ ? "reboot" : "mcefwd-inject --unpoison-all");
		}
		pg->pfn = 0;
	}
	s->nr_pages = 0;
	if (s->state)
		state_close(s->state);
	s->state = NULL;
}

const struct vm_ops poison_ops = {
	.before_run = poison_before_run,
	.on_ucall = poison_on_ucall,
	.on_exit = poison_on_exit,
	.on_main = poison_on_main,
};
