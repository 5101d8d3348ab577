/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The SIGBUS handler: it only records. A memory error (BUS_MCEERR_AR/AO) on a
 * vCPU thread is pushed to that thread's ring and run->immediate_exit is set,
 * so KVM_RUN returns (or is not entered) and the vCPU drains the ring. An AO
 * on any other thread goes to the process ring and the eventfd is written
 * for the main loop. Everything else is fatal, with the default action:
 *   - any other si_code (a real bus error, a sigqueue'd SIGBUS);
 *   - an AR on a non-vCPU thread: mcefwd's own memory is poisoned and the
 *     faulting access would fault again forever (one line on stderr first).
 * An AO with no process ring set (no VM running) is reported on stderr,
 * counted in sigbus_unrouted() and otherwise ignored.
 */
#ifndef MCEFWD_SIGBUS_H
#define MCEFWD_SIGBUS_H

#include "mcefwd/mce/ring.h"

struct kvm_run;

/* sigaction(SIGBUS, SA_SIGINFO); idempotent. 0 or -errno (error_get()). */
int sigbus_install(void);

/*
 * On a vCPU thread, before its first KVM_RUN: where this thread's handler
 * stows events and whose immediate_exit it sets. NULL, NULL before the
 * thread exits or the ring is freed.
 */
void sigbus_set_vcpu_ring(struct ring_spsc *ring, struct kvm_run *run,
			  atomic_uint *wake, unsigned int wake_bit);

/*
 * The process-wide ring for AO events on non-vCPU threads, and the eventfd
 * the handler writes (uint64 1) after each push; it must be O_NONBLOCK, as a
 * handler must never block. NULL, -1 to clear: returns only once no handler
 * still uses the old ring or fd, so both may then be freed and closed.
 */
void sigbus_set_process(struct ring_mpsc *ring, int event_fd);

/*
 * On a vCPU thread: reads one byte at addr. A poisoned page there raises
 * SIGBUS BUS_MCEERR_AR, stowed as any other; the load is abandoned and
 * -EHWPOISON returned. 0 if the read went through.
 */
int sigbus_probe(const void *addr);

/* AO events that arrived with no process ring set. */
unsigned long sigbus_unrouted(void);

#endif
