/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Delivery: handing one machine check to a vCPU. The bank state goes to
 * KVM through the vCPU's port (KVM_X86_SET_MCE, which writes the bank,
 * MCG_STATUS and raises #MC, or shuts the guest down, by KVM's rules); the
 * next waits until the guest has cleared MCG_STATUS.MCIP; the guest's
 * mailbox says how many were delivered and done.
 */
#ifndef MCEFWD_DELIVER_H
#define MCEFWD_DELIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "mcefwd/mce/forward.h"

/*
 * Whether the vCPU may be handed the next error: the last one delivered
 * has been handled (MCIP clear), or the guest asked for more. 1 yes, 0
 * no, -errno when MCG_STATUS cannot be read.
 */
int deliver_ready(struct fwd_vcpu *c);
/* Whether the guest opted in to local machine checks (QEMU reads it back too). */
bool deliver_lmce_enabled(struct fwd_vcpu *c);
/* Hands e->mce to the vCPU (e->rip read before) and counts it. 0/-errno. */
int deliver_mce(struct fwd_vcpu *c, struct fwd_entry *e);
/* The bank-1 error another vCPU's error gave this one, built and delivered. */
int deliver_broadcast(struct fwd_vcpu *c, const struct mce_event *ev);
/* n more events finished for this vCPU, and its guest's mailbox says so. */
void deliver_note_done(struct fwd_vcpu *c, unsigned long n);

#endif
