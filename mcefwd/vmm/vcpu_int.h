/* SPDX-License-Identifier: GPL-2.0-only */
/* What vcpu.c, exit.c and vcpu_port.c share and nobody else calls. */
#ifndef MCEFWD_VCPU_INT_H
#define MCEFWD_VCPU_INT_H

#include "mcefwd/mce/forward.h"

struct vcpu;

/* KVM's side of forwarding's port (vcpu_port.c). */
extern const struct fwd_vcpu_port vcpu_fwd_port;

/* Ends the vCPU's run with an error, its registers on the diagnostics. */
void vcpu_fail(struct vcpu *v, const char *what);
/* After KVM_RUN returned an exit: what it means (exit.c). */
void exit_handle(struct vcpu *v);

#endif
