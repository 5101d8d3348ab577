/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fixed-size, lock-free rings of SIGBUS events that a signal handler may push
 * to: no malloc, no locks, only lock-free C11 atomics. An all-zero ring is a
 * valid empty ring, so a calloc'ed owner needs no init call (it is still
 * provided, for rings that are reused).
 *
 * ring_spsc: exactly one producer and one consumer at any time. The producer
 * may be a signal handler that interrupts the consumer on the same thread
 * (the per-vCPU ring), or another thread. A push that interrupts another push
 * to the same ring is a second producer: code that pushes outside the handler
 * to a ring the handler also fills must block the signal around the push.
 *
 * ring_mpsc: any number of producers, also handlers on several threads at
 * once or a handler interrupting a push on its own thread; one consumer.
 * Bounded MPMC after Vyukov: a producer reserves a slot by CAS on head, fills
 * it, then publishes it through the slot's turn word, so the consumer never
 * sees a half-written event.
 *
 * Both: a full ring drops the new event and counts it, never blocks, and the
 * pushing side never loops unboundedly. pop returns events in push order (per
 * producer for ring_mpsc).
 */
#ifndef MCEFWD_RING_H
#define MCEFWD_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mcefwd/mce/event.h"


#define RING_SIZE	64	/* events per ring; a power of two */

struct ring_spsc {
	atomic_ulong head;	/* next slot to fill: the producer's */
	atomic_ulong tail;	/* next slot to read: the consumer's */
	atomic_ulong overflows;	/* events dropped because the ring was full */
	struct mce_event slot[RING_SIZE];
};

struct ring_mpsc_slot {
	/* 2 * lap: free for the push of that lap; 2 * lap + 1: filled. */
	atomic_ulong turn;
	struct mce_event ev;
};

struct ring_mpsc {
	atomic_ulong head;	/* next position to reserve: producers CAS it */
	atomic_ulong tail;	/* next position to read: the consumer's alone */
	atomic_ulong overflows;
	struct ring_mpsc_slot slot[RING_SIZE];
};

void ring_spsc_init(struct ring_spsc *r);
/* False when full: the event is dropped and counted. Async-signal-safe. */
bool ring_spsc_push(struct ring_spsc *r, const struct mce_event *ev);
/* False when empty. */
bool ring_spsc_pop(struct ring_spsc *r, struct mce_event *out);
unsigned long ring_spsc_overflows(const struct ring_spsc *r);

void ring_mpsc_init(struct ring_mpsc *r);
/*
 * False when full, or when other producers kept winning the slot for
 * RING_MPSC_TRIES attempts: the event is dropped and counted. Async-signal-safe.
 */
bool ring_mpsc_push(struct ring_mpsc *r, const struct mce_event *ev);
/* False when empty, or when the oldest reserved slot is not yet published. */
bool ring_mpsc_pop(struct ring_mpsc *r, struct mce_event *out);
unsigned long ring_mpsc_overflows(const struct ring_mpsc *r);

#define RING_MPSC_TRIES	(4 * RING_SIZE)

#endif
