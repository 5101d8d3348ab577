// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "guest-payloads/abi.h"
#include "inject/safety.h"
#include "inject/state.h"
#include "mcefwd/util/error.h"
#include "mcefwd/vmm/kick.h"
#include "mcefwd/vmm/loader.h"
#include "mcefwd/vmm/payload.h"
#include "mcefwd/scenario/scenario.h"
#include "mcefwd/mce/sigbus.h"
#include "mcefwd/vmm/vcpu.h"
#include "mcefwd/vmm/vm.h"

#define AR MCE_AR
#define AO MCE_AO
#define SER_P (1ULL << 24)

/* Why a method cannot produce a scenario, said once. */
#define UFFD_NO_AO "UFFDIO_POISON raises no memory-failure event, so no action-optional (AO) SIGBUS is ever sent"
#define UFFD_NO_QUEUE "UFFDIO_POISON gives one SIGBUS per guest access, never several stowed before one drain"
#define UFFD_NO_VMM "UFFDIO_POISON on mcefwd's own page gives no MCEERR SIGBUS until mcefwd touches it, and then kills it"
#define REAL_NO_QUEUE "a real memory failure delivers one SIGBUS per access; only the signal method stows several before one drain"
#define SOFT_ONLY "soft offline is its own scenario: only --poison=soft-offline migrates a page"
#define NOT_SOFT { [INJECT_EINJ] = SOFT_ONLY, [INJECT_HWPOISON] = SOFT_ONLY, \
	[INJECT_PFN] = SOFT_ONLY, [INJECT_UFFD] = SOFT_ONLY, [INJECT_SIGNAL] = SOFT_ONLY }

static const struct scenario scenarios[] = {
	{
		.kill = SCN_KILL_LATE,
		.name = "ar", .payload = "mce-ar",
		.summary = "load from a poisoned page: action-required #MC, page retired",
		.why = "A load consumed the poisoned page. mcefwd got SIGBUS BUS_MCEERR_AR, translated the host address and injected what QEMU injects: an SRAR data-load status (MCACOD 0x134) in bank 9, ADDR the guest-physical page, MISC 0x8c (physical address, LSB 12). MCG_STATUS has EIPV, the error belongs to the interrupted instruction, and RIPV since QEMU 7.0 (qemu-6.2 leaves it out). The guest's handler retires the page and the load runs again on a spare page.",
		.real_host = "With hwpoison or pfn KVM's own fault on the poisoned frame sends the SIGBUS and the #MC lands on the faulting load. Here the signal method raises it at the next guest entry, and uffd's emulated access is forwarded by mcefwd with the load rewound.",
		.outcome = SCN_EXIT, .nr_mce = 1, .mce = { { AR, 0, false } },
	}, {
		.kill = SCN_KILL_EARLY,
		.name = "ao", .payload = "mce-ao",
		.summary = "idle guest, action-optional error routed to vCPU 0",
		.why = "An action-optional error (SRAO, MCACOD 0xc0, no AR bit) arrived on a thread that is not a vCPU, as early kill delivers it; mcefwd routed it to vCPU 0 and injected it with MCIP|RIPV: nothing the guest was executing consumed the data. The AMD profile's AO has no UC bit (DEFERRED|POISON), so KVM only logs it in the bank and raises no #MC: the guest finds it by polling.",
		.real_host = "memory_failure() sends the AO to the early-kill thread the moment the frame is poisoned (MADV_HWPOISON, corrupt-pfn), before any access.",
		.outcome = SCN_EXIT, .nr_mce = 1, .mce = { { AO, 0, false } },
		.cannot = { [INJECT_UFFD] = UFFD_NO_AO },
	}, {
		.kill = SCN_KILL_LATE,
		.name = "ar-no-ser", .payload = "mce-ar", .mcg_cap_clear = SER_P,
		.summary = "guest without MCG_SER_P: an AR stops the VM",
		.why = "Without MCG_SER_P the guest cannot recover an action-required error: QEMU stops the VM ('hardware memory error') and so does mcefwd. The guest sees nothing.",
		.real_host = "The same; a real host keeps the frame poisoned.",
		.outcome = SCN_MCE_STOP,
	}, {
		.kill = SCN_KILL_EARLY,
		.name = "ao-no-ser", .payload = "mce-ao", .mcg_cap_clear = SER_P,
		.summary = "guest without MCG_SER_P: an AO is ignored",
		.why = "Without MCG_SER_P an action-optional error is ignored, as QEMU ignores it: nothing reaches the guest.",
		.real_host = "The same.",
		.outcome = SCN_EXIT,
		.cannot = { [INJECT_UFFD] = UFFD_NO_AO },
	}, {
		.kill = SCN_KILL_LATE,
		.name = "no-cr4-mce", .payload = "mce-no-cr4",
		.summary = "CR4.MCE clear: KVM shuts the guest down",
		.why = "The guest never set CR4.MCE: KVM_X86_SET_MCE turns an uncorrected error into a triple fault (KVM_EXIT_SHUTDOWN), as hardware shuts down.",
		.real_host = "The same.",
		.outcome = SCN_SHUTDOWN,
	}, {
		.kill = SCN_KILL_LATE,
		.name = "nested", .payload = "mce-nested",
		.summary = "second error while MCIP is still set: shutdown",
		.why = "A second uncorrected error while MCG_STATUS.MCIP is still set: KVM shuts the guest down, as hardware does for a machine check inside a machine check.",
		.real_host = "The same.",
		.outcome = SCN_SHUTDOWN, .nr_mce = 1, .mce = { { AR, 0, false } },
	}, {
		.kill = SCN_KILL_LATE,
		.name = "bank-disabled", .payload = "mce-bank-disabled",
		.summary = "MCi_CTL cleared: KVM drops the error silently",
		.why = "The guest cleared MCi_CTL: KVM silently drops an uncorrected error for a disabled bank. With the signal method nothing was really poisoned and the guest goes on; where the page really is poisoned the access can never complete, and mcefwd stops the livelock after eight identical errors.",
		.real_host = "The page is really poisoned: a livelock, stopped.",
		.outcome = SCN_EXIT, .outcome_poisoned = SCN_LIVELOCK,
	}, {
		.kill = SCN_KILL_LATE,
		.name = "overflow", .payload = "mce-overflow",
		.summary = "second error before the bank is cleared: MCi_STATUS.OVER",
		.why = "The first #MC's handler left bank 9 valid: the second error finds the bank occupied and KVM sets MCi_STATUS.OVER (bit 62), with the new address.",
		.real_host = "The same.",
		.outcome = SCN_EXIT, .nr_mce = 2,
		.mce = { { AR, 0, false }, { AR, 1, true } },
	}, {
		.name = "burst", .payload = "mce-burst",
		.summary = "four errors stowed before one drain: all delivered, in order",
		.why = "Four errors stowed before one drain: mcefwd injects them one at a time, each once the guest has cleared MCIP (read back with KVM_GET_MSRS), so all four arrive, in order.",
		.real_host = "A real memory failure delivers one SIGBUS per access; only the signal method stows several.",
		.outcome = SCN_EXIT, .nr_mce = 4,
		.mce = { { AR, 0, false }, { AR, 1, false }, { AR, 2, false }, { AR, 3, false } },
		.cannot = { [INJECT_UFFD] = UFFD_NO_QUEUE, [INJECT_HWPOISON] = REAL_NO_QUEUE,
			    [INJECT_PFN] = REAL_NO_QUEUE, [INJECT_EINJ] = REAL_NO_QUEUE },
	}, {
		.kill = SCN_KILL_LATE,
		.name = "vmm-memory", .payload = "mce-ar", .vmm_memory = true,
		.summary = "AR at an address outside guest RAM: the VM is stopped",
		.why = "The address is memory mcefwd itself uses, not guest RAM: an AR there cannot be forwarded; QEMU and mcefwd stop the VM, naming the host address.",
		.real_host = "The safety rules refuse to poison mcefwd's own memory with a real method.",
		.outcome = SCN_MCE_STOP,
		.cannot = { [INJECT_UFFD] = UFFD_NO_VMM },
	}, {
		.kill = SCN_KILL_LATE,
		.name = "soft-offline", .payload = "mce-soft-offline",
		.summary = "soft offline: the page moves to a new frame, the guest sees nothing",
		.why = "MADV_SOFT_OFFLINE migrates the page to a new frame and retires the old one: no SIGBUS, no #MC, the contents kept.",
		.real_host = "Only a kernel with memory-failure support can soft-offline.",
		.outcome = SCN_EXIT, .cannot = NOT_SOFT,
	}, {
		.kill = SCN_KILL_LATE,
		.name = "broadcast", .payload = "mce-broadcast", .nr_vcpus = 4,
		.summary = "AR on vCPU 0: every other vCPU gets QEMU's bank-1 broadcast (Intel)",
		.why = "QEMU's rule for Intel guests (family 6 model 14 or later, or a later family): every other vCPU gets bank 1 with VAL|UC and MCIP|RIPV, so every vCPU enters the handler, as on hardware. Not for the AMD profile, and not with LMCE.",
		.real_host = "The same.",
		.outcome = SCN_EXIT, .nr_mce = 1, .mce = { { AR, 0, false } },
		.others = SCN_OTHERS_BROADCAST,
	}, {
		.kill = SCN_KILL_EARLY,
		.name = "ao-route", .payload = "mce-ao-route", .nr_vcpus = 4,
		.summary = "AO for the last vCPU's page: it goes where --ao-target says",
		.why = "QEMU sends an AO to vCPU 0; mcefwd can send it to vCPU N, to every vCPU, or to the vCPU that last reported touching the page. The others get the broadcast (Intel profiles) or nothing.",
		.real_host = "The same, with the AO from memory_failure().",
		.outcome = SCN_EXIT, .others = SCN_OTHERS_AO_ROUTE,
		.cannot = { [INJECT_UFFD] = UFFD_NO_AO },
	}, {
		.kill = SCN_KILL_LATE,
		.name = "reset", .payload = "mce-reset", .nr_vcpus = 2, .reset = true,
		.summary = "AR, then a reset: the poisoned page comes back fresh and zeroed",
		.why = "On reset the poisoned page is replaced by a fresh zeroed page while no vCPU can run against the half-updated memslot, as QEMU remaps poisoned pages on reset: the guest reads zeros and nothing stays lost.",
		.real_host = "The old frame stays poisoned on the host (the state file lists it); the guest gets a new one.",
		.outcome = SCN_EXIT, .nr_mce = 1, .mce = { { AR, 0, false } },
	}, {
		.kill = SCN_KILL_LATE,
		.name = "lmce", .payload = "mce-lmce", .nr_vcpus = 2,
		.mcg_cap_set = MCE_MCG_LMCE_P,
		.summary = "guest opted in to LMCE: MCG_STATUS.LMCE, no broadcast",
		.why = "With MCG_LMCE_P and the guest's opt-in (FEATURE_CONTROL.LMCE_ON, MCG_EXT_CTL.LMCE_EN) the error is local: MCG_STATUS.LMCE is set and nothing is broadcast.",
		.real_host = "Needs a host whose KVM offers MCG_LMCE_P (Intel).",
		.outcome = SCN_EXIT, .nr_mce = 1, .mce = { { AR, 0, false } },
		.others = SCN_OTHERS_LMCE,
	}, {
		.kill = SCN_KILL_EARLY,
		.name = "vmm-memory-ao", .payload = "mce-ao", .vmm_memory = true,
		.summary = "AO at an address outside guest RAM: a warning, the guest goes on",
		.why = "An AO for memory mcefwd itself uses is ignored with a warning; the guest goes on.",
		.real_host = "The same.",
		.outcome = SCN_EXIT,
		.cannot = { [INJECT_UFFD] = UFFD_NO_AO },
	},
};

#define NR_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

unsigned int scenario_count(void)
{
	return NR_SCENARIOS;
}

const struct scenario *scenario_at(unsigned int i)
{
	return i < NR_SCENARIOS ? &scenarios[i] : NULL;
}

const struct scenario *scenario_find(const char *name)
{
	for (unsigned int i = 0; i < NR_SCENARIOS; i++)
		if (!strcmp(scenarios[i].name, name))
			return &scenarios[i];
	return NULL;
}

bool scenario_method_supported(enum inject_method m)
{
	return m < INJECT_METHOD_COUNT;
}

/* ---- the run's state: what was poisoned, what is still to be sent ---- */

#define SCN_MAX_PAGES 16

struct scn_page {
	uint64_t gpa;
	void *hva;
	struct inject_uffd *uffd;
	uint64_t pfn;		/* a frame taken out of service, recorded; 0: none */
};

struct scn_run {
	const struct scenario *sc;
	enum inject_method method;
	enum fwd_emulated emulated;
	void *vmm_page;			/* mcefwd's own page, for vmm-memory */
	/* Guarded by the single vCPU that asks (vCPU 0) or main: see uses. */
	unsigned int nr_pages;
	struct scn_page pages[SCN_MAX_PAGES];
	/*
	 * Self-sent AR signals each vCPU raises right before its next KVM_RUN;
	 * a vCPU's row is only touched by its own thread.
	 */
	unsigned int nr_pending[MCEFWD_MAX_VCPUS];
	void *pending[MCEFWD_MAX_VCPUS][SCN_MAX_PAGES];
	pthread_mutex_t lock;		/* pages[], nr_pages: any vCPU may ask */
	/* AO for the main thread to raise (0 = none). */
	void *_Atomic pending_ao;
	const char *state_path;
	struct state *state;		/* opened on the first frame poisoned */
	char failure[ERROR_MAX];
};

static void *scn_hva(struct vm *vm, struct scn_run *s, uint64_t gpa)
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
static int scn_poison_frame(struct vcpu *v, struct scn_run *s, struct scn_page *pg)
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

static int scn_poison_page(struct vcpu *v, struct scn_run *s, uint64_t gpa, int kind)
{
	struct scn_page *pg;
	void *hva = scn_hva(v->vm, s, gpa);
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
		r = scn_poison_frame(v, s, pg);
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

static int scn_on_ucall(struct vcpu *v, const struct mcefwd_ucall *u)
{
	struct scn_run *s = v->vm->ops->priv;
	uint64_t count;
	int r;

	if (u->type != MCEFWD_UCALL_READY)
		return 0;
	if (u->value[2] != MCEFWD_READY_AR && u->value[2] != MCEFWD_READY_AO)
		return error_set(EPROTO, "poison request with kind %lu", (unsigned long)u->value[2]);
	/* The guest asks for the next error: do not hold it behind MCIP. */
	forward_vcpu_release(v);
	count = u->value[3] ? u->value[3] : 1;
	if (count > SCN_MAX_PAGES)
		return error_set(EPROTO, "poison request for %lu pages", (unsigned long)count);
	for (uint64_t i = 0; i < count; i++) {
		r = scn_poison_page(v, s, u->value[1] + i * MCEFWD_PAGE_SIZE, (int)u->value[2]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The signal method: the vCPU thread sends itself SIGBUS right before entry. */
static int scn_before_run(struct vcpu *v)
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

static void scn_on_main(struct vm *vm)
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
static int scn_on_exit(struct vcpu *v)
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
		snprintf(v->res.error, sizeof(v->res.error),
			 "KVM emulated the guest's %s of poisoned gpa 0x%lx and reported KVM_EXIT_MMIO instead of sending SIGBUS BUS_MCEERR_AR (instruction emulation, not hardware virtualization); --emulated-access=forward injects the AR anyway",
			 run->mmio.is_write ? "write" : "read", (unsigned long)gpa);
		v->res.outcome = VCPU_ERROR;
		vm_diag(v->vm, "vcpu-%u: %s", v->id, v->res.error);
		return 1;
	}
	vm_diag(v->vm, "vcpu-%u: KVM emulated the %s of poisoned gpa 0x%lx (KVM_EXIT_MMIO, no SIGBUS): mcefwd raises the AR itself (--emulated-access=forward)",
		v->id, run->mmio.is_write ? "write" : "read", (unsigned long)gpa);
	if (vcpu_abort_mmio(v) < 0) {
		snprintf(v->res.error, sizeof(v->res.error), "%s", error_get());
		v->res.outcome = VCPU_ERROR;
		return 1;
	}
	forward_raise_ar(v, pg->hva, true);
	return 1;
}

/*
 * Undoes what was poisoned; res (if given) gets each page and whether it
 * was undone.
 */
static void scn_cleanup(struct scn_run *s, struct ktap *k, struct run_result *res)
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

/* ---- judging: what the guest saw against what it had to see ---- */

static void scn_diff(struct run_result *res, struct ktap *k, unsigned int rec,
		     const char *field, uint64_t saw, uint64_t want)
{
	if (saw == want)
		return;
	ktap_diag(k, "record %u: %s: guest saw 0x%llx, expected 0x%llx", rec, field,
		  (unsigned long long)saw, (unsigned long long)want);
	run_fail(res, "record %u: %s is 0x%llx, expected 0x%llx", rec, field,
		 (unsigned long long)saw, (unsigned long long)want);
}

static void scn_show(struct vm *vm, struct ktap *k, unsigned int vcpu,
		     const struct mcefwd_mce_record *m)
{
	unsigned int b = vm->cfg.fwd.bank;
	char st[160], mcg[64], what[64];

	/* The bank that holds the error: the broadcast's bank 1 on other vCPUs. */
	for (unsigned int i = 0; i < m->nr_banks && i < MCEFWD_MAX_BANKS; i++)
		if ((m->bank[i].status & MCE_STATUS_VAL) && !(m->bank[b].status & MCE_STATUS_VAL))
			b = i;
	if (b >= m->nr_banks) {
		ktap_diag(k, "guest saw #MC %lu: bank %u not reported", (unsigned long)m->seq, b);
		return;
	}
	mce_status_describe(m->bank[b].status, mce_profile_is_amd(vm->cfg.fwd.profile),
			    st, sizeof(st));
	mce_mcg_status_describe(m->mcg_status, mcg, sizeof(mcg));
	if (vcpu && m->seq)
		snprintf(what, sizeof(what), "vcpu-%u saw #MC %lu", vcpu, (unsigned long)m->seq);
	else if (vcpu)
		snprintf(what, sizeof(what), "vcpu-%u found by polling (no #MC)", vcpu);
	else if (m->seq)
		snprintf(what, sizeof(what), "guest saw #MC %lu", (unsigned long)m->seq);
	else
		snprintf(what, sizeof(what), "guest found by polling (no #MC)");
	ktap_diag(k, "%s: MCG_STATUS 0x%lx (%s), bank %u STATUS 0x%016lx (%s) ADDR 0x%lx MISC 0x%lx, RIP 0x%lx",
		  what, (unsigned long)m->mcg_status, mcg, b,
		  (unsigned long)m->bank[b].status, st, (unsigned long)m->bank[b].addr,
		  (unsigned long)m->bank[b].misc, (unsigned long)m->rip);
}

/*
 * One record against what it had to be: want is what mce_build() makes of
 * the expected error (its bank, status, addr, misc, MCG_STATUS), rip the
 * guest RIP at injection (0: not checked).
 */
static void scn_check_record(struct vm *vm, struct ktap *k, struct run_result *res,
			     unsigned int vcpu, unsigned int idx,
			     const struct mcefwd_mce_record *m, struct kvm_x86_mce want,
			     uint64_t rip)
{
	unsigned int rec = idx + 1, b = want.bank;
	char name[64];

	/*
	 * KVM raises #MC only for an error with MCi_STATUS.UC; any other is
	 * just logged in the bank, MCG_STATUS untouched, and the guest finds it
	 * by polling (a record with seq 0).
	 */
	if (!(want.status & MCE_STATUS_UC)) {
		ktap_diag(k, "vcpu-%u record %u: no UC bit, so KVM logs it without #MC: the guest must find it by polling",
			  vcpu, rec);
		want.mcg_status = 0;
		snprintf(name, sizeof(name), "vcpu-%u seq (0: found by polling)", vcpu);
		scn_diff(res, k, rec, name, m->seq, 0);
	} else {
		snprintf(name, sizeof(name), "vcpu-%u seq", vcpu);
		scn_diff(res, k, rec, name, m->seq, rec);
	}
	snprintf(name, sizeof(name), "vcpu-%u MCG_CAP", vcpu);
	if (vm->vcpus[vcpu]->mcg_cap_kvm != vm->cfg.mcg_cap)
		ktap_diag(k, "vcpu-%u: KVM stored MCG_CAP 0x%lx for the 0x%lx set with KVM_X86_SETUP_MCE", vcpu,
			  (unsigned long)vm->vcpus[vcpu]->mcg_cap_kvm, (unsigned long)vm->cfg.mcg_cap);
	scn_diff(res, k, rec, name, m->mcg_cap, vm->vcpus[vcpu]->mcg_cap_kvm);
	snprintf(name, sizeof(name), "vcpu-%u MCG_STATUS", vcpu);
	scn_diff(res, k, rec, name, m->mcg_status, want.mcg_status);
	snprintf(name, sizeof(name), "vcpu-%u banks reported", vcpu);
	scn_diff(res, k, rec, name, m->nr_banks, vm->cfg.mcg_cap & MCE_MCG_CAP_COUNT_MASK);
	if (b >= MCEFWD_MAX_BANKS)
		return;
	snprintf(name, sizeof(name), "vcpu-%u bank %u STATUS", vcpu, b);
	scn_diff(res, k, rec, name, m->bank[b].status, want.status);
	snprintf(name, sizeof(name), "vcpu-%u bank %u ADDR", vcpu, b);
	scn_diff(res, k, rec, name, m->bank[b].addr, want.addr);
	snprintf(name, sizeof(name), "vcpu-%u bank %u MISC", vcpu, b);
	scn_diff(res, k, rec, name, m->bank[b].misc, want.misc);
	for (unsigned int o = 0; o < m->nr_banks && o < MCEFWD_MAX_BANKS; o++) {
		if (o == b)
			continue;
		snprintf(name, sizeof(name), "vcpu-%u bank %u STATUS.VAL", vcpu, o);
		scn_diff(res, k, rec, name, m->bank[o].status & MCE_STATUS_VAL, 0);
	}
	/* The #MC lands where the guest was when it was injected. */
	if (rip && m->seq) {
		snprintf(name, sizeof(name), "vcpu-%u RIP", vcpu);
		scn_diff(res, k, rec, name, m->rip, rip);
	}
}

/* The injection RIP of the idx-th injected entry of vCPU v's log (0: none). */
static uint64_t scn_log_rip(const struct vcpu *v, unsigned int idx)
{
	for (unsigned int i = 0, n = 0; i < v->fwd.nr_log; i++) {
		if (v->fwd.log[i].verdict != MCE_INJECT)
			continue;
		if (n++ == idx)
			return v->fwd.log[i].rip;
	}
	return 0;
}

/* vCPU v must report exactly want[0..n) (built by the caller). */
static void scn_expect_records(struct vm *vm, struct ktap *k, struct run_result *res,
			       unsigned int vcpu, const struct kvm_x86_mce *want, unsigned int n)
{
	const struct vcpu *v = vm->vcpus[vcpu];
	unsigned int nr = v->res.nr_mce;

	if (nr != n)
		run_fail(res, "vcpu-%u took %u #MC, expected %u", vcpu, nr, n);
	for (unsigned int i = 0; i < nr && i < n && i < VCPU_MAX_MCE; i++) {
		if (vcpu == 0 || vm->nr_vcpus > 1)
			scn_show(vm, k, vcpu, &v->res.mce[i]);
		scn_check_record(vm, k, res, vcpu, i, &v->res.mce[i], want[i], scn_log_rip(v, i));
	}
}

static int scn_build(struct vm *vm, const struct scn_mce *e, bool lmce, struct kvm_x86_mce *want)
{
	const struct fwd_config *fc = &vm->cfg.fwd;
	int r = mce_build(fc->profile, e->kind, MCEFWD_GPA_TEST + e->page * MCEFWD_PAGE_SIZE,
			  fc->bank, vm->cfg.mcg_cap, lmce, want);

	if (!r && e->over)
		want->status |= MCE_STATUS_OVER;
	return r;
}

static void scn_judge_records(struct vm *vm, struct scn_run *s, struct ktap *k,
			      struct run_result *res)
{
	const struct scenario *sc = s->sc;
	const struct fwd_config *fc = &vm->cfg.fwd;
	struct kvm_x86_mce want[SCN_MAX_MCE], bcast;
	bool wants_bcast = mce_wants_broadcast(fc->profile, vm->fwd.family, vm->fwd.model,
					       sc->others == SCN_OTHERS_LMCE);
	unsigned int last = vm->nr_vcpus - 1;
	int owner;

	for (unsigned int i = 0; i < sc->nr_mce; i++)
		if (scn_build(vm, &sc->mce[i], sc->others == SCN_OTHERS_LMCE, &want[i]) < 0)
			run_fail(res, "cannot build the expected record %u", i + 1);
	mce_build_broadcast(fc->profile, &bcast);

	switch (sc->others) {
	case SCN_OTHERS_ANY:
		scn_expect_records(vm, k, res, 0, want, sc->nr_mce);
		break;
	case SCN_OTHERS_BROADCAST:
	case SCN_OTHERS_LMCE:
		scn_expect_records(vm, k, res, 0, want, sc->nr_mce);
		ktap_diag(k, "other vCPUs: %s", wants_bcast ?
			  "each must see QEMU's broadcast bank-1 error" :
			  "none may see an error (no broadcast for this profile or with LMCE)");
		for (unsigned int i = 1; i < vm->nr_vcpus; i++)
			scn_expect_records(vm, k, res, i, &bcast, wants_bcast);
		break;
	case SCN_OTHERS_AO_ROUTE: {
		/* The AO for the last vCPU's page: who must see it? */
		struct scn_mce ao = { AO, 1 + last, false };
		struct kvm_x86_mce w;
		bool all = fc->ao_target == FWD_AO_ALL;

		scn_build(vm, &ao, false, &w);
		owner = fc->ao_target == FWD_AO_OWNER ? (int)last :
			all ? -1 : fc->ao_target;
		ktap_diag(k, "AO for vcpu-%u's page, --ao-target %s: %s", last,
			  all ? "all" : fc->ao_target == FWD_AO_OWNER ? "page-owner" : "N",
			  all ? "every vCPU gets it" : "one vCPU gets it, the others the broadcast or nothing");
		for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
			if (all || (int)i == owner)
				scn_expect_records(vm, k, res, i, &w, 1);
			else
				scn_expect_records(vm, k, res, i, &bcast, wants_bcast);
		}
		break;
	}
	}
}

/*
 * Whether a payload symbol labels the load that touches a poisoned page:
 * the guests name each such instruction NAME_load or NAME_loadN.
 */
static int scn_is_load_label(const char *name, uint64_t value, void *ctx)
{
	const char *p = strstr(name, "_load");

	if (value != *(const uint64_t *)ctx)
		return 0;
	for (; p; p = strstr(p + 1, "_load")) {
		const char *tail = p + strlen("_load");

		while (*tail >= '0' && *tail <= '9')
			tail++;
		if (!*tail)
			return 1;
	}
	return 0;
}

/* Where the #MC landed, in words that do not change between builds. */
static void scn_rip_words(struct vm *vm, const struct vcpu *v0,
			  const struct mcefwd_mce_record *m, char *buf, size_t len)
{
	uint64_t rip = m->rip;

	if (!m->seq) {
		snprintf(buf, len, "none (no #MC)");
		return;
	}
	if (loader_for_each_symbol(vm->image, vm->image_len, scn_is_load_label, &rip) == 1) {
		snprintf(buf, len, "the faulting load");
		return;
	}
	for (unsigned int i = 0; i < v0->fwd.nr_log; i++) {
		if (v0->fwd.log[i].verdict == MCE_INJECT && v0->fwd.log[i].rip == m->rip) {
			snprintf(buf, len, "where the vCPU was at injection");
			return;
		}
	}
	snprintf(buf, len, "elsewhere");
}

static void scn_observe(struct vm *vm, const struct vcpu *v0, struct run_result *res)
{
	struct run_observation *o = &res->obs;
	size_t used = 0;

	memset(o, 0, sizeof(*o));
	o->valid = true;
	o->nr_mce = v0->res.nr_mce;
	for (unsigned int i = 0; i < vm->nr_vcpus && used < sizeof(o->vcpus) - 8; i++)
		if (vm->vcpus[i]->res.nr_mce)
			used += (size_t)snprintf(o->vcpus + used, sizeof(o->vcpus) - used, "%s%u",
						 used ? "," : "", i);
	if (!used)
		snprintf(o->vcpus, sizeof(o->vcpus), "none");
	switch (v0->res.outcome) {
	case VCPU_SHUTDOWN:
		snprintf(o->outcome, sizeof(o->outcome), "shutdown");
		snprintf(o->note, sizeof(o->note), "KVM shut the guest down (triple fault)");
		break;
	case VCPU_MCE_STOPPED:
		if (!strncmp(v0->res.error, "livelock", 8)) {
			snprintf(o->outcome, sizeof(o->outcome), "livelock");
			snprintf(o->note, sizeof(o->note), "the guest kept touching the page, every #MC dropped");
		} else {
			snprintf(o->outcome, sizeof(o->outcome), "stopped");
			snprintf(o->note, sizeof(o->note), "%s",
				 strstr(v0->res.error, "not guest RAM") ?
				 "AR outside guest RAM: VM stopped" : "AR without MCG_SER_P: VM stopped");
		}
		break;
	default:
		break;
	}
	if (o->nr_mce) {
		const struct mcefwd_mce_record *m =
			&v0->res.mce[(o->nr_mce < VCPU_MAX_MCE ? o->nr_mce : VCPU_MAX_MCE) - 1];
		unsigned int b = vm->cfg.fwd.bank;

		for (unsigned int i = 0; i < m->nr_banks && i < MCEFWD_MAX_BANKS; i++)
			if ((m->bank[i].status & MCE_STATUS_VAL) &&
			    !(m->bank[b].status & MCE_STATUS_VAL))
				b = i;
		o->bank = b;
		o->mcg_status = m->mcg_status;
		if (b < MCEFWD_MAX_BANKS) {
			o->status = m->bank[b].status;
			o->addr = m->bank[b].addr;
			o->misc = m->bank[b].misc;
		}
		scn_rip_words(vm, v0, m, o->rip, sizeof(o->rip));
		if (!o->outcome[0])
			snprintf(o->outcome, sizeof(o->outcome), "%s", m->seq ? "#MC" : "polled");
	} else if (!o->outcome[0]) {
		snprintf(o->outcome, sizeof(o->outcome), "nothing");
		snprintf(o->note, sizeof(o->note), "%lu event(s) ignored or dropped",
			 (unsigned long)v0->fwd.done);
	}
}

static void scn_summarize(struct vm *vm, const struct vcpu *v0, struct run_result *res)
{
	const struct mcefwd_mce_record *m;
	unsigned int b = vm->cfg.fwd.bank;

	scn_observe(vm, v0, res);

	switch (v0->res.outcome) {
	case VCPU_SHUTDOWN:
		snprintf(res->seen, sizeof(res->seen), "%u #MC, then shutdown",
			 v0->res.nr_mce);
		return;
	case VCPU_MCE_STOPPED:
		snprintf(res->seen, sizeof(res->seen), "no #MC: VM stopped");
		return;
	default:
		break;
	}
	if (!v0->res.nr_mce) {
		snprintf(res->seen, sizeof(res->seen), "no #MC (%lu event(s) ignored or dropped)",
			 (unsigned long)v0->fwd.done);
		return;
	}
	m = &v0->res.mce[(v0->res.nr_mce < VCPU_MAX_MCE ? v0->res.nr_mce : VCPU_MAX_MCE) - 1];
	if (b >= m->nr_banks)
		return;
	snprintf(res->seen, sizeof(res->seen),
		 "%u #MC; last: MCG_STATUS 0x%lx bank %u STATUS 0x%016lx ADDR 0x%lx MISC 0x%lx",
		 v0->res.nr_mce, (unsigned long)m->mcg_status, b,
		 (unsigned long)m->bank[b].status, (unsigned long)m->bank[b].addr,
		 (unsigned long)m->bank[b].misc);
}

/* Every page the guest had poisoned is accounted lost, a huge page whole. */
static void scn_judge_lost(struct vm *vm, struct scn_run *s, struct ktap *k,
			   struct run_result *res)
{
	uint64_t unit = vm->mem.kind == MEM_HUGETLB ? vm->mem.page_size : MCEFWD_PAGE_SIZE;
	uint64_t want = 0, got = forward_lost_bytes(vm);

	for (unsigned int i = 0; i < s->nr_pages && !s->sc->vmm_memory && !s->sc->reset &&
	     s->method != INJECT_SOFT_OFFLINE; i++) {
		uint64_t base = s->pages[i].gpa & ~(unit - 1);
		bool seen = false;

		for (unsigned int j = 0; j < i; j++)
			seen |= (s->pages[j].gpa & ~(unit - 1)) == base;
		if (!seen)
			want += unit;
	}
	ktap_diag(k, "guest memory accounted lost: %lu KiB%s", (unsigned long)(got >> 10),
		  s->sc->reset ? " (after the reset replaced it)" : "");
	if (got != want)
		run_fail(res, "the host accounted %lu KiB of guest memory lost, expected %lu KiB",
			 (unsigned long)(got >> 10), (unsigned long)(want >> 10));
}

static void scn_judge(struct vm *vm, void *priv, struct ktap *k, struct run_result *res)
{
	struct scn_run *s = priv;
	const struct scenario *sc = s->sc;
	struct vcpu *v0 = vm->vcpus[0];
	enum scn_outcome want = s->method != INJECT_SIGNAL && sc->outcome_poisoned ?
				sc->outcome_poisoned : sc->outcome;

	if (s->failure[0])
		run_fail(res, "%s", s->failure);
	for (unsigned int i = 1; i < vm->nr_vcpus; i++) {
		/*
		 * vcpu-0's error ends the whole VM (stopped, shut down), as in
		 * QEMU: another vCPU still running then is stopped with it,
		 * which is no failure of its own (a timeout still is).
		 */
		if (want != SCN_EXIT && vm->vcpus[i]->res.outcome == VCPU_STOPPED &&
		    !res->timed_out)
			continue;
		run_judge_vcpu(vm, vm->vcpus[i], 0, res);
	}
	switch (want) {
	case SCN_EXIT:
		run_judge_vcpu(vm, v0, 0, res);
		break;
	case SCN_SHUTDOWN:
		if (v0->res.outcome != VCPU_SHUTDOWN)
			run_fail(res, "expected KVM to shut the guest down, but vcpu-0 %s%s%s",
				 vcpu_outcome_name(v0->res.outcome),
				 v0->res.error[0] ? ": " : "", v0->res.error);
		else
			ktap_diag(k, "as expected: %s", v0->res.error);
		break;
	case SCN_LIVELOCK:
		if (v0->res.outcome != VCPU_MCE_STOPPED || strncmp(v0->res.error, "livelock", 8))
			run_fail(res, "expected a livelock on the poisoned page, but vcpu-0 %s%s%s",
				 vcpu_outcome_name(v0->res.outcome),
				 v0->res.error[0] ? ": " : "", v0->res.error);
		else
			ktap_diag(k, "as expected: %s", v0->res.error);
		break;
	case SCN_MCE_STOP:
		if (v0->res.outcome != VCPU_MCE_STOPPED)
			run_fail(res, "expected the VM to be stopped for a hardware memory error, but vcpu-0 %s%s%s",
				 vcpu_outcome_name(v0->res.outcome),
				 v0->res.error[0] ? ": " : "", v0->res.error);
		else
			ktap_diag(k, "as expected: %s", v0->res.error);
		break;
	}
	scn_judge_records(vm, s, k, res);
	scn_judge_lost(vm, s, k, res);
	if (v0->res.reports_failed)
		run_fail(res, "vcpu-0: %u guest check(s) failed", v0->res.reports_failed);
	scn_summarize(vm, v0, res);
	/* Unpoison while guest RAM is still mapped. */
	scn_cleanup(s, k, res);
}

int scenario_run(struct kvm *kvm, const struct scenario *sc, enum inject_method m,
		 const struct run_opts *o, struct ktap *k, struct run_result *res)
{
	static const struct vm_ops ops_template = {
		.before_run = scn_before_run,
		.on_ucall = scn_on_ucall,
		.on_exit = scn_on_exit,
		.on_main = scn_on_main,
	};
	struct inject_probe probe;
	struct vm_config cfg = o->vm;
	struct vm_ops ops = ops_template;
	struct run_hooks hooks = { .ops = &ops, .judge = scn_judge };
	struct scn_run *s;
	struct payload p;
	const char *kill = NULL;
	int r, old_kill = -1;

	memset(res, 0, sizeof(*res));
	if (m == INJECT_SOFT_OFFLINE && strcmp(sc->name, "soft-offline")) {
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
	inject_probe(m, &probe);
	if (!probe.available) {
		res->status = KTAP_SKIP;
		snprintf(res->reason, sizeof(res->reason), "%s: %s", inject_method_name(m),
			 probe.why);
		return 0;
	}
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
	if (sc->kill && (m == INJECT_HWPOISON || m == INJECT_PFN || m == INJECT_EINJ)) {
		old_kill = prctl(PR_MCE_KILL_GET, 0, 0, 0, 0);
		prctl(PR_MCE_KILL, PR_MCE_KILL_SET,
		      sc->kill == SCN_KILL_EARLY ? PR_MCE_KILL_EARLY : PR_MCE_KILL_LATE, 0, 0);
		kill = sc->kill == SCN_KILL_EARLY ? "early" : "late";
		ktap_diag(k, "PR_MCE_KILL %s for %s: a real memory failure %s",
			  sc->kill == SCN_KILL_EARLY ? "early" : "late", sc->name,
			  sc->kill == SCN_KILL_EARLY ? "must send its AO at once" :
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
	scn_cleanup(s, k, NULL);
	pthread_mutex_destroy(&s->lock);
	if (s->vmm_page)
		munmap(s->vmm_page, MCEFWD_PAGE_SIZE);
	free(s);
	return r;
}
