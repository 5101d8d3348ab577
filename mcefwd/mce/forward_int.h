/* SPDX-License-Identifier: GPL-2.0-only */
/* What the files of forwarding share and nobody else calls. */
#ifndef MCEFWD_FORWARD_INT_H
#define MCEFWD_FORWARD_INT_H

#include "mcefwd/mce/forward.h"

/* This thread's vCPU while it is attached, NULL on other threads. */
extern __thread struct fwd_vcpu *fwd_self;

/* Appends ev to c's queue (c's own thread); a full queue loses it, said. */
void forward_queue(struct fwd_vcpu *c, const struct mce_event *ev);
/* After c's own ring: what others routed to it, and the fan-out it owes (c's thread). */
void forward_take_routed(struct fwd_vcpu *c);
/* The next event for c, the queue before the broadcasts owed; false if none. */
bool forward_next(struct fwd_vcpu *c, struct mce_event *ev);
/* A fresh entry in c's log (the last slot is reused when full). */
struct fwd_entry *forward_log_new(struct fwd_vcpu *c);
/*
 * After c handled an error routed to it alone: every other vCPU gets the
 * broadcast bank-1 error or a notice (route.c).
 */
void route_fanout(struct fwd_vcpu *c, const struct fwd_entry *e);
/* An event's si_addr_lsb as forwarding trusts it: 12 (a page) unless 12 to 40. */
unsigned int forward_event_lsb(const struct mce_event *ev);
/*
 * Counts an error at gpa, rip: true once the same AR (ar) came at the same
 * RIP FWD_LIVELOCK times in a row, the guest unable to get past it.
 */
bool forward_same_again(struct fwd_vcpu *c, bool ar, uint64_t gpa, uint64_t rip);
/* Stops the VM through the port, said once on the diagnostics too; returns -err. */
int forward_stop(struct fwd_vcpu *c, enum fwd_stop reason, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* forward_vcpu_service under a QEMU model (forward_qemu.c). */
int forward_qemu_service(struct fwd_vcpu *c);
/* Remembers the poisoned memory behind an event in guest RAM, once (ledger.c). */
void ledger_note(struct fwd_vm *f, uint64_t gpa, unsigned int lsb);

#endif
