/* SPDX-License-Identifier: GPL-2.0-only */
/* One test: a VM built, a payload run under a watchdog, the outcome judged. */
#ifndef MCEFWD_RUN_H
#define MCEFWD_RUN_H

#include "mcefwd/error.h"
#include "mcefwd/ktap.h"
#include "mcefwd/payload.h"
#include "mcefwd/vm.h"

struct run_opts {
	struct vm_config vm;		/* nr_vcpus 0: the payload's default */
	unsigned int timeout_ms;
};

struct run_result {
	enum ktap_status status;
	char reason[ERROR_MAX];
	bool timed_out;
};

/*
 * Runs payload p in a fresh VM; diagnostics go to k as "# " lines. Returns
 * 0 with *res filled in (pass, fail or skip), or -errno when the VM could
 * not even be set up (then error_get() says why; res says fail).
 */
int run_payload(struct kvm *kvm, const struct payload *p, const struct run_opts *o,
		struct ktap *k, struct run_result *res);

#endif
