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
	const struct inject_method_ops *ops = inject_method(s->method);
	struct inject_page ip = { .hva = pg->hva, .size = MCEFWD_PAGE_SIZE };
	const struct inject_soft_offline_result *so = &pg->undo.so;
	struct state_entry e;
	int r;

	r = inject_pfn_lookup(0, (uintptr_t)pg->hva, &ip.pfn);
	if (r < 0)
		return error_wrap(-r, "frame of gpa 0x%lx", (unsigned long)pg->gpa);
	if (!s->state) {
		r = state_open(s->state_path, &s->state);
		if (r < 0)
			return error_wrap(-r, "state file %s", s->state_path);
	}
	r = ops->poison(&ip, &pg->undo);
	if (r < 0)
		return error_set(-r, "%s on gpa 0x%lx (pfn 0x%lx): %s", ops->what,
				 (unsigned long)pg->gpa, (unsigned long)ip.pfn, error_get());
	e = (struct state_entry){
		.pfn = ip.pfn, .pid = getpid(), .addr = (uintptr_t)pg->hva,
		.size = MCEFWD_PAGE_SIZE, .method = s->method, .time = (int64_t)time(NULL),
	};
	pg->undo.pfn = ip.pfn;
	r = state_record_poison(s->state, &e);
	if (r < 0)
		vm_diag(v->vm, "vcpu-%u: recording pfn 0x%lx in %s failed: %s", v->id,
			(unsigned long)ip.pfn, s->state_path, error_get());
	vm_diag(v->vm, "vcpu-%u: %s on gpa 0x%lx (host %p, pfn 0x%lx), recorded in %s",
		v->id, ops->what, (unsigned long)pg->gpa, pg->hva, (unsigned long)ip.pfn,
		s->state_path);
	if (pg->undo.note)
		vm_diag(v->vm, "vcpu-%u: %s", v->id, pg->undo.note);
	if (!(ops->flags & INJECT_F_MIGRATES))
		return 0;
	/* Soft offline promises: no SIGBUS, the contents kept, a new frame. */
	vm_diag(v->vm, "vcpu-%u: soft offline: frame 0x%lx -> 0x%lx, contents %s",
		v->id, (unsigned long)so->pfn_before, (unsigned long)so->pfn_after,
		so->contents_preserved ? "preserved" : "CHANGED");
	if (!so->contents_preserved)
		return error_set(EIO, "soft offline of gpa 0x%lx changed the page's contents",
				 (unsigned long)pg->gpa);
	if (so->pfn_visible && !so->frame_changed)
		return error_set(EIO, "soft offline of gpa 0x%lx left it on frame 0x%lx",
				 (unsigned long)pg->gpa, (unsigned long)so->pfn_before);
	return 0;
}

/* Real poison goes through the injector's rules too: guest RAM, and the vmm-memory page. */
static int poison_check_target(struct vm *vm, struct scn_run *s, void *hva)
{
	struct safety_range ram[MEM_MAX_SLOTS + 1];
	const struct guest_mem *m = &vm->mem;
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
	return inject_target_check(getpid(), (uintptr_t)hva, MCEFWD_PAGE_SIZE, ram, nr);
}

/*
 * A method that acts on a thread (signal): an AR is sent by the vCPU to
 * itself right before its next entry, an AO by the main thread (a thread
 * that is not a vCPU, as early kill picks).
 */
static int poison_later(struct vcpu *v, struct scn_run *s, void *hva, int kind)
{
	if (kind == MCEFWD_READY_AO) {
		uint64_t one = 1;

		atomic_store(&s->pending_ao, hva);
		if (write(v->vm->event_fd, &one, sizeof(one)) < 0)
			return error_set(errno, "waking the main thread: %s", strerror(errno));
		return 0;
	}
	if (s->nr_pending[v->id] < SCN_MAX_PAGES)
		s->pending[v->id][s->nr_pending[v->id]++] = hva;
	return 0;
}

#define POISON_AO_WAIT_MS	5000

/*
 * Under a QEMU model a frame poisoned while mcefwd maps it gives the
 * early-kill thread, the main thread, an AO at once. Hold the guest until
 * the main thread has handed it to its vCPU (vCPU 0, which injects it
 * before it next enters the guest), as the harness of a real QEMU holds
 * the guest until QEMU's MEMORY_FAILURE event (qemu/scenario.c): else a
 * guest that loads at once races the AO, and neither run would say which
 * came first.
 */
static void poison_await_ao(struct vcpu *v, unsigned long before)
{
	struct timespec nap = { 0, 1000000 };

	for (unsigned int ms = 0; ms < POISON_AO_WAIT_MS; ms++) {
		if (atomic_load(&v->vm->fwd.main_routed) != before)
			return;
		nanosleep(&nap, NULL);
	}
	vm_diag(v->vm, "vcpu-%u: no AO %u ms after the poisoning (early kill): the guest goes on without it",
		v->id, POISON_AO_WAIT_MS);
}

static int poison_page(struct vcpu *v, struct scn_run *s, uint64_t gpa, int kind)
{
	unsigned long routed = atomic_load(&v->vm->fwd.main_routed);
	const struct inject_method_ops *ops = inject_method(s->method);
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
		pg->undo = (struct inject_undo){ .method = s->method };
	}
	pthread_mutex_unlock(&s->lock);
	if (!pg)
		return error_set(ENOSPC, "guest asked to poison more than %d pages", SCN_MAX_PAGES);
	if (ops->flags & INJECT_F_THREAD)
		return poison_later(v, s, hva, kind);
	r = poison_check_target(v->vm, s, hva);
	if (r < 0)
		return error_wrap(-r, "gpa 0x%lx", (unsigned long)gpa);
	if (!(ops->flags & INJECT_F_FRAME)) {
		struct inject_page ip = { .hva = hva, .size = MCEFWD_PAGE_SIZE };

		r = ops->poison(&ip, &pg->undo);
		if (r < 0)
			return error_set(-r, "%s poison of gpa 0x%lx: %s", ops->name,
					 (unsigned long)gpa, error_get());
		vm_diag(v->vm, "vcpu-%u: %s on gpa 0x%lx (host %p)", v->id, ops->what,
			(unsigned long)gpa, hva);
		return 0;
	}
	r = poison_frame(v, s, pg);
	if (r == 0 && fwd_is_qemu(&v->vm->cfg.fwd) && (ops->flags & INJECT_F_MEMORY_FAILURE))
		poison_await_ao(v, routed);
	if (r < 0 || !s->sc->vmm_memory || kind != MCEFWD_READY_AR)
		return r;
	/* Nothing touches mcefwd's own page but mcefwd: it reads it, as a VMM would. */
	r = sigbus_probe(hva);
	vm_diag(v->vm, "vcpu-%u: mcefwd read its own page %p: %s", v->id, hva,
		r ? "SIGBUS BUS_MCEERR_AR, load abandoned" : "no error");
	return 0;
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

	const struct inject_method_ops *ops = inject_method(s->method);

	for (unsigned int i = 0; i < s->nr_pending[v->id]; i++) {
		struct inject_page ip = { .hva = s->pending[v->id][i], .size = MCEFWD_PAGE_SIZE,
					  .si_code = BUS_MCEERR_AR, .lsb = 12 };
		struct inject_undo undo;
		int r = ops->poison(&ip, &undo);

		if (r < 0)
			return r;
	}
	s->nr_pending[v->id] = 0;
	return 0;
}

static void poison_on_main(struct vm *vm)
{
	struct scn_run *s = vm->ops->priv;
	void *hva = atomic_exchange(&s->pending_ao, NULL);
	struct inject_page ip = { .hva = hva, .size = MCEFWD_PAGE_SIZE, .si_code = BUS_MCEERR_AO };
	struct inject_undo undo;

	if (!hva)
		return;
	/* memory-failure reports a hugetlb page whole: si_addr_lsb 21 for 2 MiB. */
	ip.lsb = vm->mem.kind == MEM_HUGETLB ? 21 : 12;
	if (inject_method(s->method)->poison(&ip, &undo) < 0)
		snprintf(s->failure, sizeof(s->failure), "AO: %s", error_get());
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
		if (s->pages[i].gpa == page && s->pages[i].undo.uffd)
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
	const struct inject_method_ops *ops = inject_method(s->method);

	for (unsigned int i = 0; i < s->nr_pages; i++) {
		struct scn_page *pg = &s->pages[i];
		struct run_page *rp = res && i < RUN_MAX_PAGES ? &res->pages[i] : NULL;
		uint64_t pfn = pg->undo.pfn;
		int r;

		if (rp) {
			*rp = (struct run_page){ .gpa = pg->gpa, .pfn = pfn };
			res->nr_pages = i + 1;
		}
		if (!pfn && !pg->undo.uffd)
			continue;	/* nothing was poisoned, or nothing is left to undo */
		r = ops->unpoison ? ops->unpoison(&pg->undo) : -EOPNOTSUPP;
		pg->undo = (struct inject_undo){ .method = s->method };
		if (r == 0 && rp)
			rp->unpoisoned = true;
		if (!pfn) {
			if (r < 0)
				ktap_diag(k, "could not unpoison gpa 0x%lx (host %p): %s",
					  (unsigned long)pg->gpa, pg->hva, error_get());
			continue;
		}
		if (r == 0) {
			state_record_unpoison(s->state, pfn);
			ktap_diag(k, "unpoisoned pfn 0x%lx (gpa 0x%lx)", (unsigned long)pfn,
				  (unsigned long)pg->gpa);
		} else {
			ktap_diag(k, "left poisoned: pfn 0x%lx (gpa 0x%lx): %s; to clear it: %s",
				  (unsigned long)pfn, (unsigned long)pg->gpa,
				  ops->unpoison ? error_get() : ops->no_undo,
				  ops->unpoison ? "mcefwd-inject --unpoison-all" : "reboot");
		}
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
