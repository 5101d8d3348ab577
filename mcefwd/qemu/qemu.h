/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A real QEMU as the VMM under test (mcefwd run --vmm=qemu): the scenario's
 * own payload boots as a PVH kernel under qemu-system-x86_64 -accel kvm,
 * is poisoned from outside by mcefwd-inject, and what its guest saw is
 * judged against what that QEMU version must do (expect.c, from QEMU's
 * source).
 */
#ifndef MCEFWD_QEMU_H
#define MCEFWD_QEMU_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "inject/inject.h"
#include "mcefwd/scenario/run.h"
#include "mcefwd/scenario/scenario.h"

struct ktap;

struct qemu_vmm {
	char path[PATH_MAX];		/* the binary */
	char version[128];		/* the first line of --version */
	unsigned int major, minor;
	char cpu[64];			/* -cpu (default host) */
	bool amd;			/* this host's vendor: the guest's with -cpu host */
	uint32_t cpuid_version;		/* this host's CPUID 1 EAX, likewise */
	uint64_t mcg_cap_supported;	/* KVM_X86_GET_MCE_CAP_SUPPORTED of this host */
	char injector[PATH_MAX];	/* mcefwd-inject, beside this binary */
};

/* qemu-system-x86_64 on PATH, into path; false if there is none. */
bool qemu_on_path(char *path, size_t len);

/*
 * Finds QEMU (want: a path, or NULL for qemu-system-x86_64 on PATH) and
 * reads its version; mcg_cap_supported as the caller's KVM says. 0, or
 * -errno with error_get() saying what is missing and how to get it.
 */
int qemu_vmm_find(const char *want, const char *cpu, uint64_t mcg_cap_supported,
		  struct qemu_vmm *q);

/* Runs scenario sc under QEMU q with method m; res like scenario_run's. */
int qemu_scenario_run(const struct qemu_vmm *q, const struct scenario *sc, enum inject_method m,
		      const struct run_opts *o, struct ktap *k, struct run_result *res);

/* Runs a plain payload under QEMU: it must exit 0 with no failed check. */
int qemu_payload_run(const struct qemu_vmm *q, const struct payload *p,
		     const struct run_opts *o, struct ktap *k, struct run_result *res);

#endif
