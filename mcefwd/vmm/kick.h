/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Getting a vCPU out of KVM_RUN without races (DESIGN.md, "Signals and
 * kicks"): the kicker sets a request bit, then signals the thread with
 * SIG_IPI; the handler sets run->immediate_exit, so a kick that lands between
 * the vCPU's check of its requests and its entry into KVM_RUN still makes
 * KVM_RUN return at once. KICK_SIGMASK is the KVM_SET_SIGNAL_MASK fallback:
 * SIG_IPI is blocked except inside KVM_RUN, and eaten afterwards.
 */
#ifndef MCEFWD_KICK_H
#define MCEFWD_KICK_H

#include <signal.h>
#include <stdbool.h>

#include "mcefwd/vmm/vm.h"

#define SIG_IPI SIGUSR1

const char *kick_mode_name(enum kick_mode mode);
int kick_mode_parse(const char *s, enum kick_mode *out);

/* Installs the SIG_IPI handler (process-wide, idempotent). */
int kick_init(void);
/* On the vCPU's own thread before its first KVM_RUN: masks per mode. */
int kick_vcpu_setup(struct vcpu *v);

/* Sets req on v and gets it out of KVM_RUN or out of a halt wait. */
void kick(struct vcpu *v, unsigned int req);
/* A vCPU kicking itself: no signal, no atomic read-modify-write. */
void kick_self(unsigned int req);

/* After KVM_RUN returns: re-arm (clear immediate_exit, eat SIG_IPI). */
void kick_after_run(struct vcpu *v);
/* Takes and clears every pending request. */
unsigned int kick_take(struct vcpu *v);
/* Sleeps until some request is pending (the halt state). */
void kick_wait(struct vcpu *v);

#endif
