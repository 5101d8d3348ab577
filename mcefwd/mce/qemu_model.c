// SPDX-License-Identifier: GPL-2.0-only
/*
 * QEMU's rules, from its source (QEMU 7.2 unless said):
 * target/i386/kvm/kvm.c kvm_mce_inject, target/i386/helper.c
 * cpu_x86_version, cpu_x86_support_mca_broadcast, cpu_x86_inject_mce and
 * do_inject_x86_mce.
 */
#include <stddef.h>

#include "mcefwd/mce/qemu_model.h"

static bool since(struct qemu_release r, unsigned int major, unsigned int minor)
{
	return r.major > major || (r.major == major && r.minor >= minor);
}

enum mce_profile qemu_model_profile(struct qemu_release r, bool amd_guest)
{
	/* 7.0 added RIPV to the AR's MCG_STATUS; 9.1 an encoding of its own for AMD. */
	if (!since(r, 7, 0))
		return MCE_PROFILE_QEMU62;
	if (amd_guest && since(r, 9, 1))
		return MCE_PROFILE_AMD;
	return MCE_PROFILE_QEMU7;
}

bool qemu_model_family_broadcasts(uint32_t cpuid_version)
{
	/* cpu_x86_version: no extended family; the extended model above the model. */
	unsigned int family = (cpuid_version >> 8) & 0xf;
	unsigned int model = ((cpuid_version >> 12) & 0xf0) + ((cpuid_version >> 4) & 0xf);

	return (family == 6 && model >= 14) || family > 6;
}

bool qemu_model_broadcasts(struct qemu_release r, bool amd_guest, uint32_t cpuid_version)
{
	if (amd_guest && since(r, 9, 1))
		return false;
	return qemu_model_family_broadcasts(cpuid_version);
}

enum qemu_inject qemu_model_inject(struct qemu_mca *st, unsigned int bank, uint64_t status,
				   uint64_t mcg_status, uint64_t addr, uint64_t misc,
				   unsigned int flags, const char **why)
{
	const char *w;
	enum qemu_inject r;
	uint64_t *b;
	bool ar = status & MCE_STATUS_AR;
	bool recursive = st->mcg_status & MCE_MCG_STATUS_MCIP;

	if (bank >= (st->mcg_cap & MCE_MCG_CAP_COUNT_MASK) || bank >= MCE_KVM_MAX_BANKS) {
		/* cpu_x86_inject_mce: "Invalid MCE bank number" before anything. */
		r = QEMU_INJECT_BAD;
		w = "a bank beyond MCG_CAP's count: refused before do_inject_x86_mce";
		goto out;
	}
	b = st->bank[bank];
	if (!(flags & QEMU_INJECT_UNCOND_AO) && !ar && recursive) {
		r = QEMU_INJECT_IGNORED;
		w = "no AR bit while MCG_STATUS.MCIP is set: dropped (MEMORY_FAILURE ignore)";
		goto out;
	}
	if (status & MCE_STATUS_UC) {
		if ((st->mcg_cap & MCE_MCG_CTL_P) && st->mcg_ctl != ~0ULL) {
			r = QEMU_INJECT_DISABLED;
			w = "uncorrected, MCG_CTL not all ones: dropped without an event";
			goto out;
		}
		if (b[0] != ~0ULL) {
			r = QEMU_INJECT_DISABLED;
			w = "uncorrected, MCi_CTL not all ones: dropped without an event";
			goto out;
		}
		if (!st->cr4_mce || recursive) {
			r = QEMU_INJECT_RESET;
			w = !st->cr4_mce ? "uncorrected with CR4.MCE clear: triple fault, a guest reset" :
				"uncorrected while MCIP is set: triple fault, a guest reset";
			goto out;
		}
		if (b[1] & MCE_STATUS_VAL)
			status |= MCE_STATUS_OVER;
		b[2] = addr;
		b[3] = misc;
		st->mcg_status = mcg_status;
		b[1] = status;
		r = QEMU_INJECT_RAISED;
		w = "written to the bank and MCG_STATUS, #MC raised";
	} else if (!(b[1] & MCE_STATUS_VAL) || !(b[1] & MCE_STATUS_UC)) {
		if (b[1] & MCE_STATUS_VAL)
			status |= MCE_STATUS_OVER;
		b[2] = addr;
		b[3] = misc;
		b[1] = status;
		r = QEMU_INJECT_LOGGED;
		w = "not uncorrected: written to the bank only, no #MC";
	} else {
		b[1] |= MCE_STATUS_OVER;
		r = QEMU_INJECT_OVER;
		w = "not uncorrected onto a valid uncorrected entry: only OVER is set";
	}
out:
	if (why)
		*why = w;
	return r;
}

const char *qemu_model_event(enum qemu_inject what)
{
	switch (what) {
	case QEMU_INJECT_RAISED:
	case QEMU_INJECT_LOGGED:
	case QEMU_INJECT_OVER:
		return "inject";
	case QEMU_INJECT_IGNORED:
		return "ignore";
	case QEMU_INJECT_RESET:
		return "reset";
	case QEMU_INJECT_DISABLED:
	case QEMU_INJECT_BAD:
		break;
	}
	return NULL;
}
