/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One machine-check event on its way from the host to a guest: what the
 * SIGBUS handler stows, what routing hands between vCPUs, what a vCPU
 * queues. Its kind says what it is, its origin where it came from; nothing
 * is encoded in other fields.
 */
#ifndef MCEFWD_MCE_EVENT_H
#define MCEFWD_MCE_EVENT_H

#include <stdbool.h>
#include <stdint.h>

enum mce_event_kind {
	MCE_EVENT_AR = 1,	/* SIGBUS BUS_MCEERR_AR: the access consumed poison */
	MCE_EVENT_AO,		/* SIGBUS BUS_MCEERR_AO: poison found, not consumed */
	MCE_EVENT_BROADCAST,	/* the bank-1 error another vCPU's error gives this one */
	MCE_EVENT_NOTICE,	/* another vCPU handled an event: the guest's mailbox counts it */
};

enum mce_event_origin {
	MCE_ORIGIN_VCPU,	/* SIGBUS on this vCPU's own thread */
	MCE_ORIGIN_MAIN,	/* SIGBUS on a thread that is not a vCPU, routed here */
	MCE_ORIGIN_EMULATED,	/* raised by mcefwd after KVM emulated the access */
	MCE_ORIGIN_FANOUT,	/* passed on by another vCPU (broadcast, notice) */
};

struct mce_event {
	uint8_t kind;		/* enum mce_event_kind */
	uint8_t origin;		/* enum mce_event_origin */
	/*
	 * Whether the vCPU that handles it passes a broadcast or notice on to
	 * the others. Not for fan-out itself, nor for an AO routed to every
	 * vCPU already.
	 */
	bool fanout;
	int16_t lsb;		/* si_addr_lsb: log2 of the poisoned extent */
	void *addr;		/* si_addr: a host virtual address */
	uint64_t seq;		/* arrival order, process-wide; from 1 (0: not a SIGBUS) */
};

/* "AR", "AO", "broadcast", "notice". */
const char *mce_event_kind_name(enum mce_event_kind kind);
/* Whether it would reach the guest: anything but a notice. */
bool mce_event_delivers(const struct mce_event *ev);

#endif
