// SPDX-License-Identifier: GPL-2.0-only
#include <stdatomic.h>
#include <stdbool.h>

#include "mcefwd/mce/ring.h"

/*
 * Helgrind cannot see that the slot's turn word orders the copy in and the
 * copy out; tell it, where its header is there. The client requests are a
 * few no-op instructions outside valgrind, safe in a signal handler.
 */
#if defined(__has_include)
#if __has_include(<valgrind/helgrind.h>)
#include <valgrind/helgrind.h>
#define RING_PUBLISH(p) ANNOTATE_HAPPENS_BEFORE(p)
#define RING_ACQUIRED(p) ANNOTATE_HAPPENS_AFTER(p)
/* C11 atomics look like plain loads and stores to it: not races. */
#define RING_ATOMIC(p) VALGRIND_HG_DISABLE_CHECKING((p), sizeof(*(p)))
#endif
#endif
#ifndef RING_PUBLISH
#define RING_PUBLISH(p) ((void)(p))
#define RING_ACQUIRED(p) ((void)(p))
#define RING_ATOMIC(p) ((void)(p))
#endif

#define RING_MASK	(RING_SIZE - 1UL)

_Static_assert(RING_SIZE >= 2 && (RING_SIZE & (RING_SIZE - 1)) == 0,
	       "RING_SIZE must be a power of two");
/* Handlers may only touch atomics that never fall back to a lock. */
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2, "atomic_ulong must be lock-free");

void ring_spsc_init(struct ring_spsc *r)
{
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->overflows, 0);
	RING_ATOMIC(&r->head);
	RING_ATOMIC(&r->tail);
	RING_ATOMIC(&r->overflows);
}

bool ring_spsc_push(struct ring_spsc *r, const struct mce_event *ev)
{
	unsigned long head = atomic_load_explicit(&r->head, memory_order_relaxed);
	/* Acquire: the consumer's copy out of a slot ends before we refill it. */
	unsigned long tail = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (head - tail >= RING_SIZE) {
		atomic_fetch_add_explicit(&r->overflows, 1, memory_order_relaxed);
		return false;
	}
	r->slot[head & RING_MASK] = *ev;
	/*
	 * Release: the slot is written before head says so. A consumer that
	 * this push interrupted (same thread) read head before, or reads the
	 * new head after the handler returned; either way it reads no slot
	 * that is being written, and the one it may be copying is at tail,
	 * which is not reusable until it stores tail + 1.
	 */
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	return true;
}

bool ring_spsc_pop(struct ring_spsc *r, struct mce_event *out)
{
	unsigned long tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	unsigned long head = atomic_load_explicit(&r->head, memory_order_acquire);

	if (tail == head)
		return false;
	*out = r->slot[tail & RING_MASK];
	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
	return true;
}

unsigned long ring_spsc_overflows(const struct ring_spsc *r)
{
	return atomic_load_explicit(&r->overflows, memory_order_relaxed);
}

void ring_mpsc_init(struct ring_mpsc *r)
{
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->overflows, 0);
	RING_ATOMIC(&r->head);
	RING_ATOMIC(&r->tail);
	RING_ATOMIC(&r->overflows);
	for (unsigned int i = 0; i < RING_SIZE; i++) {
		atomic_init(&r->slot[i].turn, 0);
		RING_ATOMIC(&r->slot[i].turn);
	}
}

/*
 * A slot's turn counts its fills and empties: 2 * lap while it waits for the
 * push of position pos (lap = pos / RING_SIZE), 2 * lap + 1 once that push
 * published it. Counting from 0 instead of Vyukov's "turn = position" is
 * what makes an all-zero ring valid.
 */
static unsigned long ring_mpsc_free_turn(unsigned long pos)
{
	return pos / RING_SIZE * 2;
}

bool ring_mpsc_push(struct ring_mpsc *r, const struct mce_event *ev)
{
	unsigned long pos = atomic_load_explicit(&r->head, memory_order_relaxed);

	/*
	 * Lock-free, not wait-free: a CAS fails only because another producer
	 * reserved a slot, and a handler must not retry for as long as others
	 * keep doing that, so give up after a bound and count it as full.
	 */
	for (unsigned int tries = 0; tries < RING_MPSC_TRIES; tries++) {
		struct ring_mpsc_slot *s = &r->slot[pos & RING_MASK];
		/* Acquire: the consumer's copy out of the slot ends first. */
		unsigned long turn = atomic_load_explicit(&s->turn, memory_order_acquire);
		long diff = (long)(turn - ring_mpsc_free_turn(pos));

		if (diff < 0)
			break;	/* still holds the event of the lap before: full */
		if (diff > 0) {
			/* Another producer took pos: catch up with head. */
			pos = atomic_load_explicit(&r->head, memory_order_relaxed);
			continue;
		}
		if (atomic_compare_exchange_weak_explicit(&r->head, &pos, pos + 1,
							  memory_order_relaxed,
							  memory_order_relaxed)) {
			RING_ACQUIRED(&s->turn);
			s->ev = *ev;
			/* Release: publish the event, whole, to the consumer. */
			RING_PUBLISH(&s->turn);
			atomic_store_explicit(&s->turn, turn + 1, memory_order_release);
			return true;
		}
		/* The failed CAS loaded the current head into pos. */
	}
	atomic_fetch_add_explicit(&r->overflows, 1, memory_order_relaxed);
	return false;
}

bool ring_mpsc_pop(struct ring_mpsc *r, struct mce_event *out)
{
	unsigned long pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
	struct ring_mpsc_slot *s = &r->slot[pos & RING_MASK];
	unsigned long turn = atomic_load_explicit(&s->turn, memory_order_acquire);

	/*
	 * Not published: empty, or its producer is between reserve and
	 * publish. A later slot may be ready, but order says wait; the
	 * producer signals again once it publishes.
	 */
	if (turn != ring_mpsc_free_turn(pos) + 1)
		return false;
	RING_ACQUIRED(&s->turn);
	*out = s->ev;
	atomic_store_explicit(&r->tail, pos + 1, memory_order_relaxed);
	/* Release: free for the next lap's push only after the copy. */
	RING_PUBLISH(&s->turn);
	atomic_store_explicit(&s->turn, turn + 1, memory_order_release);
	return true;
}

unsigned long ring_mpsc_overflows(const struct ring_mpsc *r)
{
	return atomic_load_explicit(&r->overflows, memory_order_relaxed);
}
