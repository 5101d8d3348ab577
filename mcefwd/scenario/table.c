// SPDX-License-Identifier: GPL-2.0-only
/* The scenarios: pure data, one row each, and how to find them. */
#include <string.h>

#include "mcefwd/scenario/scenario.h"

#define AR MCE_AR
#define AO MCE_AO
#define SER_P (1ULL << 24)

/* Why a method cannot produce a scenario, said once. */
#define UFFD_NO_AO "UFFDIO_POISON raises no memory-failure event, so no action-optional (AO) SIGBUS is ever sent"
#define UFFD_NO_QUEUE "UFFDIO_POISON gives one SIGBUS per guest access, never several stowed before one drain"
#define UFFD_NO_VMM "UFFDIO_POISON on mcefwd's own page gives no MCEERR SIGBUS until mcefwd touches it, and then kills it"
#define REAL_NO_QUEUE "a real memory failure delivers one SIGBUS per access; only the signal method stows several before one drain"
#define NO_FRAME "the page is poisoned before anything touched it, and mcefwd poisons only present pages (its safety rules): its guest RAM has none there until the first touch (under --vmm=qemu a frame is made in QEMU's memfd RAM and unmapped again)"
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
		.kill = SCN_KILL_EARLY,
		.name = "ao-ar", .payload = "mce-ao-ar",
		.summary = "early notice, then the access: an AO, and the AR when the guest loads",
		.why = "Early kill sent an action-optional error (SRAO) the moment the frame was poisoned; the guest only logged it and then loaded from the page, which took the action-required error (SRAR) for the same address. Stock QEMU always asks for early kill, so this is what its guest sees for a page it touches after the poisoning.",
		.real_host = "memory_failure() sends the AO to the early-kill thread at once; KVM's fault on the poisoned frame sends the AR to the vCPU thread when the guest loads.",
		.outcome = SCN_EXIT, .nr_mce = 2, .mce = { { AO, 0, false }, { AR, 0, false } },
		.cannot = { [INJECT_UFFD] = UFFD_NO_AO, [INJECT_SOFT_OFFLINE] = SOFT_ONLY,
			    [INJECT_SIGNAL] = "the signal method raises the one error the guest asks for; an AO and then an AR for the same page come from a real memory failure under early kill" },
	}, {
		.kill = SCN_KILL_LATE,
		.name = "ar-untouched", .payload = "mce-ar-untouched",
		.summary = "first touch of a page poisoned while no process mapped it: a pure AR",
		.why = "The frame was poisoned while no process mapped it, so the memory failure notified nobody (an unmapped page is always a late kill, mm/memory-failure.c); the guest's first load from the page took the only error, an action-required one, even under a VMM that asks for early kill.",
		.real_host = "The signal method raises the AR at the next guest entry, as for ar; under --vmm=qemu the frame is made in QEMU's memfd guest RAM and unmapped again before corrupt-pfn, and KVM's fault on it at the guest's first touch sends the AR.",
		.outcome = SCN_EXIT, .nr_mce = 1, .mce = { { AR, 0, false } },
		.cannot = { [INJECT_PFN] = NO_FRAME, [INJECT_EINJ] = NO_FRAME,
			    [INJECT_HWPOISON] = NO_FRAME, [INJECT_UFFD] = NO_FRAME,
			    [INJECT_SOFT_OFFLINE] = SOFT_ONLY },
	}, {
		.kill = SCN_KILL_LATE,
		.name = "ar-no-ser", .payload = "mce-ar", .mcg_cap_clear = SER_P,
		.summary = "guest without MCG_SER_P: an AR stops the VM",
		.why = "Without MCG_SER_P the guest cannot recover an action-required error: mcefwd stops the VM and says why (QEMU's hardware_memory_error exits the whole process with status 1: --model=qemu-7). The guest sees nothing.",
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
		.why = "The address is memory mcefwd itself uses, not guest RAM: an AR there cannot be forwarded; mcefwd stops the VM, naming the host address (QEMU exits with status 1: --model=qemu-7).",
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
