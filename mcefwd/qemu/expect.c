// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a real QEMU under test must do: the rules of its release
 * (scenario/qemu_rules.c) for the QEMU found, and what cannot be driven
 * through QEMU at all.
 */
#include <string.h>

#include "mcefwd/qemu/qemu_int.h"

static struct qemu_target qemu_target_of(const struct qemu_vmm *q)
{
	return (struct qemu_target){ .release = { q->major, q->minor }, .cpu = q->cpu,
				     .kvm_amd = q->amd,
				     .mcg_cap_supported = q->mcg_cap_supported };
}

bool qemu_broadcasts(const struct qemu_vmm *q, const struct qemu_guest *g)
{
	struct qemu_target t = qemu_target_of(q);

	return qemu_target_broadcasts(&t, g);
}

int qemu_expect(const struct qemu_vmm *q, const struct qemu_guest *g, const struct scenario *sc,
		enum inject_method m, struct qemu_expect *e)
{
	const char *n = sc->name;
	struct qemu_target t = qemu_target_of(q);

	qemu_expect_init(&t, g, sc, e);
	if (!(inject_method(m)->flags & INJECT_F_OTHER_PROCESS)) {
		e->cannot = m == INJECT_SIGNAL ?
			"signal: the kernel lets a process send BUS_MCEERR_* only to itself (rt_tgsigqueueinfo refuses si_code >= 0 for another process), so QEMU's threads cannot be sent one; use --poison=pfn" :
			"this method acts on mcefwd's own memory; QEMU's guest RAM is QEMU's: use --poison=pfn (or einj)";
		return 0;
	}
	/* mcefwd's own guest RAM has no frame for it; QEMU's memfd RAM does. */
	if (!strcmp(n, "ar-untouched"))
		return qemu_expect_early_kill(&t, g, sc, e);
	if (sc->cannot[m]) {
		e->cannot = sc->cannot[m];
		return 0;
	}
	if (sc->reset) {
		e->cannot = "its reset step (READY_RESET) asks the VMM to reset the VM; for QEMU that is a system_reset and a reboot, which -no-reboot (what makes a guest reset an outcome here) turns into QEMU's end: not driven yet";
		return 0;
	}
	if (sc->vmm_memory) {
		e->cannot = "mcefwd-inject poisons another process's guest RAM only; QEMU's own memory is out of its reach by design";
		return 0;
	}
	return qemu_expect_early_kill(&t, g, sc, e);
}
