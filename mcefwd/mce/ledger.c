// SPDX-License-Identifier: GPL-2.0-only
/* The ledger of guest memory lost to errors, and of events lost on the way. */
#include <string.h>

#include "mcefwd/mce/forward_int.h"

uint64_t ledger_loss_unit(unsigned int lsb, size_t backing_page)
{
	uint64_t unit = 1ULL << lsb;

	return unit < backing_page ? backing_page : unit;
}

void ledger_note(struct fwd_vm *f, uint64_t gpa, unsigned int lsb)
{
	uint64_t unit = ledger_loss_unit(lsb, f->backing_page);
	uint64_t base = gpa & ~(unit - 1);

	pthread_mutex_lock(&f->lock);
	for (unsigned int i = 0; i < f->nr_lost; i++) {
		if (base >= f->lost[i].gpa && base < f->lost[i].gpa + f->lost[i].size)
			goto out;
	}
	if (f->nr_lost < FWD_MAX_LOST)
		f->lost[f->nr_lost++] = (struct fwd_lost){ .gpa = base, .size = unit };
	else
		f->lost_overflow++;
out:
	pthread_mutex_unlock(&f->lock);
}

uint64_t ledger_lost_bytes(struct fwd_vm *f)
{
	uint64_t sum = 0;

	pthread_mutex_lock(&f->lock);
	for (unsigned int i = 0; i < f->nr_lost; i++)
		sum += f->lost[i].size;
	pthread_mutex_unlock(&f->lock);
	return sum;
}

unsigned int ledger_lost_ranges(struct fwd_vm *f, struct fwd_lost *out, unsigned int max)
{
	unsigned int n;

	pthread_mutex_lock(&f->lock);
	n = f->nr_lost < max ? f->nr_lost : max;
	memcpy(out, f->lost, n * sizeof(out[0]));
	pthread_mutex_unlock(&f->lock);
	return n;
}

unsigned long ledger_events_lost(const struct fwd_vm *f)
{
	/* A full inbox counts its loss in the ring (unroutable is the same event). */
	unsigned long n = ring_mpsc_overflows(&f->process) + f->lost_overflow;

	for (unsigned int i = 0; i < f->nr_vcpus; i++) {
		const struct fwd_vcpu *c = f->vcpus[i];

		n += ring_spsc_overflows(&c->ring) + ring_mpsc_overflows(&c->inbox) +
		     atomic_load_explicit(&c->q_overflows, memory_order_relaxed);
	}
	return n;
}
