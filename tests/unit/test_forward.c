// SPDX-License-Identifier: GPL-2.0-only
/*
 * The forwarding pipeline (mcefwd/mce/) against fake vCPUs (fake_fwd.h).
 * What is asserted is forwarding's own contract: one delivery at a time
 * behind MCIP, the bank state mce_build() makes, stop reasons, fan-out,
 * routing, the ledger, and that nothing is dropped unsaid.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/fake_fwd.h"

static struct fixture *setup_with(enum mce_profile profile, unsigned int nr, int ao_target,
				  uint32_t cpuid_version)
{
	struct fwd_config cfg = { .profile = profile, .bank = MCE_QEMU_BANK,
				  .ao_target = ao_target };
	struct fixture *fx = fake_setup(&cfg, CAP, nr);

	fx->vm.cpuid_version = cpuid_version;
	return fx;
}

static int setup(void **state)
{
	*state = setup_with(MCE_PROFILE_QEMU7, 1, 0, INTEL_6_85);
	return 0;
}

static int setup_smp_intel(void **state)
{
	*state = setup_with(MCE_PROFILE_QEMU7, 3, 0, INTEL_6_85);
	return 0;
}

static int setup_smp_amd(void **state)
{
	*state = setup_with(MCE_PROFILE_AMD, 3, 0, AMD_19_1);
	return 0;
}

static void expect_delivered(const struct fake_vcpu *f, unsigned int idx, enum mce_kind kind,
			     uint64_t gpa)
{
	struct kvm_x86_mce want;

	assert_int_equal(mce_build(MCE_PROFILE_QEMU7, kind, gpa, MCE_QEMU_BANK, CAP, false, &want), 0);
	assert_true(idx < f->nr_seen);
	assert_memory_equal(&f->seen[idx], &want, sizeof(want));
}

/* An AR in guest RAM: the bank state mce_build() makes, the log, mailbox and ledger. */
static void test_ar_delivered(void **state)
{
	struct fixture *fx = *state;
	struct fwd_vcpu *c = &fx->cpu[0];
	const struct fwd_entry *e;

	forward_raise_ar(c, (char *)page(3) + 0x10, MCE_ORIGIN_VCPU);
	assert_int_equal(forward_vcpu_service(c), 0);
	assert_int_equal(fx->fake[0].nr_seen, 1);
	expect_delivered(&fx->fake[0], 0, MCE_AR, GPA_BASE + 3 * 4096);
	assert_int_equal(forward_log_count(c), 1);
	e = forward_log_at(c, 0);
	assert_int_equal(e->verdict, MCE_DELIVER);
	assert_true(e->in_ram);
	assert_int_equal(e->gpa, GPA_BASE + 3 * 4096);
	assert_int_equal(e->rip, FAKE_RIP);
	assert_int_equal(e->ev.kind, MCE_EVENT_AR);
	assert_int_equal(e->ev.origin, MCE_ORIGIN_VCPU);
	assert_int_equal(fx->fake[0].mailbox.events_done, 1);
	assert_int_equal(fx->fake[0].mailbox.events_delivered, 1);
	assert_int_equal(ledger_lost_bytes(&fx->vm), 4096);
	assert_int_equal(fx->fake[0].stop, FWD_STOP_NONE);
	assert_null(forward_log_at(c, 1));
}

/* One at a time: the next waits until the guest clears MCIP, or asks for more. */
static void test_mcip_gate(void **state)
{
	struct fixture *fx = *state;
	struct fwd_vcpu *c = &fx->cpu[0];

	forward_raise_ar(c, page(1), MCE_ORIGIN_VCPU);
	forward_raise_ar(c, page(2), MCE_ORIGIN_VCPU);
	forward_raise_ar(c, page(4), MCE_ORIGIN_VCPU);
	assert_int_equal(forward_vcpu_service(c), 0);
	assert_int_equal(fx->fake[0].nr_seen, 1);
	assert_true(fx->fake[0].mcg_status & MCE_MCG_STATUS_MCIP);
	assert_true(forward_vcpu_pending(c));
	/* The guest is still in its handler: nothing more. */
	assert_int_equal(forward_vcpu_service(c), 0);
	assert_int_equal(fx->fake[0].nr_seen, 1);
	/* It cleared MCIP: the next one, in order. */
	fx->fake[0].mcg_status = 0;
	assert_int_equal(forward_vcpu_service(c), 0);
	assert_int_equal(fx->fake[0].nr_seen, 2);
	expect_delivered(&fx->fake[0], 1, MCE_AR, GPA_BASE + 2 * 4096);
	/* MCIP still set, but the guest asked for the next: delivered anyway. */
	forward_vcpu_release(c);
	assert_int_equal(forward_vcpu_service(c), 0);
	assert_int_equal(fx->fake[0].nr_seen, 3);
	expect_delivered(&fx->fake[0], 2, MCE_AR, GPA_BASE + 4 * 4096);
	assert_false(forward_vcpu_pending(c));
	assert_int_equal(forward_events_done(c), 3);
}

/* An AO is not uncorrected on AMD, but on Intel it is delivered like an AR. */
static void test_ao_delivered(void **state)
{
	struct fixture *fx = *state;
	struct fwd_vcpu *c = &fx->cpu[0];
	struct mce_event ev = { .kind = MCE_EVENT_AO, .origin = MCE_ORIGIN_VCPU, .fanout = true,
				.lsb = 12, .addr = page(5), .seq = 1 };

	assert_true(ring_spsc_push(&c->ring, &ev));
	assert_int_equal(forward_vcpu_service(c), 0);
	expect_delivered(&fx->fake[0], 0, MCE_AO, GPA_BASE + 5 * 4096);
}

/* Why the VM stops is a reason, not prose: no SER_P, not guest RAM, a livelock. */
static void test_stop_reasons(void **state)
{
	struct fixture *fx = *state;
	struct fwd_vcpu *c = &fx->cpu[0];

	forward_raise_ar(c, vmm_page, MCE_ORIGIN_VCPU);
	assert_int_equal(forward_vcpu_service(c), -EHWPOISON);
	assert_int_equal(fx->fake[0].stop, FWD_STOP_NOT_RAM);
	assert_non_null(strstr(fx->fake[0].stop_text, "which is not guest RAM"));
	assert_int_equal(fx->fake[0].nr_seen, 0);

	fx->vm.mcg_cap = CAP & ~MCE_MCG_SER_P;
	fx->fake[0].stop = FWD_STOP_NONE;
	forward_raise_ar(c, page(0), MCE_ORIGIN_VCPU);
	assert_int_equal(forward_vcpu_service(c), -EHWPOISON);
	assert_int_equal(fx->fake[0].stop, FWD_STOP_NO_SER);
	assert_true(diag_has(fx, "vcpu-0: BUS_MCEERR_AR at gpa 0x200000"));
	assert_int_equal(fx->fake[0].nr_seen, 0);
}

/* The guest keeps touching the page and every #MC is dropped: stopped at FWD_LIVELOCK. */
static void test_livelock(void **state)
{
	struct fixture *fx = *state;
	struct fwd_vcpu *c = &fx->cpu[0];
	int r = 0;
	unsigned int n;

	for (n = 1; n <= FWD_LIVELOCK && r == 0; n++) {
		fx->fake[0].mcg_status = 0;	/* KVM dropped it: MCIP never set */
		forward_raise_ar(c, page(7), MCE_ORIGIN_VCPU);
		r = forward_vcpu_service(c);
	}
	assert_int_equal(r, -ELOOP);
	assert_int_equal(n - 1, FWD_LIVELOCK);
	assert_int_equal(fx->fake[0].nr_seen, FWD_LIVELOCK - 1);
	assert_int_equal(fx->fake[0].stop, FWD_STOP_LIVELOCK);
	assert_non_null(strstr(fx->fake[0].stop_text, "livelock"));
}

/* An AO outside guest RAM is ignored with a warning; the guest's mailbox counts it. */
static void test_ao_ignored(void **state)
{
	struct fixture *fx = *state;
	struct fwd_vcpu *c = &fx->cpu[0];
	struct mce_event ev = { .kind = MCE_EVENT_AO, .origin = MCE_ORIGIN_MAIN, .fanout = true,
				.lsb = 12, .addr = vmm_page, .seq = 1 };

	assert_true(ring_mpsc_push(&c->inbox, &ev));
	assert_int_equal(forward_vcpu_service(c), 0);
	assert_int_equal(fx->fake[0].nr_seen, 0);
	assert_int_equal(forward_log_at(c, 0)->verdict, MCE_IGNORE);
	assert_int_equal(fx->fake[0].mailbox.events_done, 1);
	assert_int_equal(fx->fake[0].mailbox.events_delivered, 0);
	assert_true(diag_has(fx, "ignored"));
	assert_int_equal(ledger_lost_bytes(&fx->vm), 0);
}

/* Delivery that fails is an error of the run, and nothing counts it delivered. */
static void test_set_mce_fails(void **state)
{
	struct fixture *fx = *state;
	struct fwd_vcpu *c = &fx->cpu[0];

	fx->fake[0].set_mce_error = -EINVAL;
	forward_raise_ar(c, page(1), MCE_ORIGIN_VCPU);
	assert_int_equal(forward_vcpu_service(c), -EINVAL);
	assert_int_equal(fx->fake[0].mailbox.events_delivered, 0);
	assert_false(c->waiting_mcip);
}

/* Intel: every other vCPU gets QEMU's bank-1 broadcast, woken to take it. */
static void test_fanout_broadcast(void **state)
{
	struct fixture *fx = *state;
	struct kvm_x86_mce bcast;

	assert_int_equal(mce_build_broadcast(MCE_PROFILE_QEMU7, &bcast), 0);
	forward_raise_ar(&fx->cpu[0], page(1), MCE_ORIGIN_VCPU);
	assert_int_equal(forward_vcpu_service(&fx->cpu[0]), 0);
	for (unsigned int i = 1; i < 3; i++) {
		assert_int_equal(fx->fake[i].wakes, 1);
		assert_int_equal(atomic_load(&fx->cpu[i].fanout_bcast), 1);
		assert_int_equal(forward_vcpu_service(&fx->cpu[i]), 0);
		assert_int_equal(fx->fake[i].nr_seen, 1);
		assert_memory_equal(&fx->fake[i].seen[0], &bcast, sizeof(bcast));
		assert_true(forward_log_at(&fx->cpu[i], 0)->broadcast);
	}
}

/* AMD: no broadcast; the others only get a notice their mailbox counts. */
static void test_fanout_notice(void **state)
{
	struct fixture *fx = *state;

	forward_raise_ar(&fx->cpu[0], page(1), MCE_ORIGIN_VCPU);
	assert_int_equal(forward_vcpu_service(&fx->cpu[0]), 0);
	for (unsigned int i = 1; i < 3; i++) {
		assert_int_equal(forward_vcpu_service(&fx->cpu[i]), 0);
		assert_int_equal(fx->fake[i].nr_seen, 0);
		assert_int_equal(fx->fake[i].mailbox.events_done, 1);
		assert_int_equal(fx->fake[i].mailbox.events_delivered, 0);
	}
}

/* An AO stowed on the main thread goes where --ao-target says, and only there. */
static void test_route_ao_target(void **state)
{
	struct fixture *fx = *state;
	struct mce_event ev = { .kind = MCE_EVENT_AO, .origin = MCE_ORIGIN_VCPU, .fanout = true,
				.lsb = 12, .addr = page(2), .seq = 9 };

	fx->vm.cfg.ao_target = 2;
	assert_true(ring_mpsc_push(&fx->vm.process, &ev));
	route_main_drain(&fx->vm);
	assert_int_equal(fx->fake[2].wakes, 1);
	assert_int_equal(fx->fake[0].wakes + fx->fake[1].wakes, 0);
	assert_int_equal(forward_vcpu_service(&fx->cpu[2]), 0);
	assert_int_equal(fx->fake[2].nr_seen, 1);
	assert_int_equal(forward_log_at(&fx->cpu[2], 0)->ev.origin, MCE_ORIGIN_MAIN);
	/* vcpu-2 handled it: the others are told (broadcast on Intel). */
	assert_int_equal(fx->fake[0].wakes, 1);
	assert_int_equal(fx->fake[1].wakes, 1);
}

/* --ao-target=all: each vCPU gets the AO itself, and nobody passes it on. */
static void test_route_ao_all(void **state)
{
	struct fixture *fx = *state;
	struct mce_event ev = { .kind = MCE_EVENT_AO, .origin = MCE_ORIGIN_VCPU, .fanout = true,
				.lsb = 12, .addr = page(2), .seq = 9 };

	fx->vm.cfg.ao_target = FWD_AO_ALL;
	assert_true(ring_mpsc_push(&fx->vm.process, &ev));
	route_main_drain(&fx->vm);
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(forward_vcpu_service(&fx->cpu[i]), 0);
		assert_int_equal(fx->fake[i].nr_seen, 1);
		assert_false(forward_log_at(&fx->cpu[i], 0)->ev.fanout);
		assert_int_equal(atomic_load(&fx->cpu[i].fanout_bcast), 0);
		assert_int_equal(atomic_load(&fx->cpu[i].fanout_notice), 0);
	}
}

/* --ao-target=page-owner: the vCPU that last said it touches the page. */
static void test_route_page_owner(void **state)
{
	struct fixture *fx = *state;
	struct mce_event ev = { .kind = MCE_EVENT_AO, .origin = MCE_ORIGIN_VCPU, .fanout = true,
				.lsb = 12, .addr = page(6), .seq = 1 };

	fx->vm.cfg.ao_target = FWD_AO_OWNER;
	route_note_owner(&fx->cpu[1], GPA_BASE + 6 * 4096 + 8);
	assert_true(ring_mpsc_push(&fx->vm.process, &ev));
	route_main_drain(&fx->vm);
	assert_true(diag_has(fx, "routed to its page's owner, vcpu-1"));
	assert_int_equal(fx->fake[1].wakes, 1);
	/* A page nobody claimed: vcpu-0, said so. */
	ev.addr = page(9);
	assert_true(ring_mpsc_push(&fx->vm.process, &ev));
	route_main_drain(&fx->vm);
	assert_true(diag_has(fx, "no vCPU reported touching that page: vcpu-0 gets it"));
	assert_int_equal(fx->fake[0].wakes, 1);
}

/* A finished vCPU: what waited and what comes later is counted undeliverable, and said. */
static void test_detach_reports(void **state)
{
	struct fixture *fx = *state;
	struct mce_event ev = { .kind = MCE_EVENT_AO, .origin = MCE_ORIGIN_MAIN, .fanout = true,
				.lsb = 12, .addr = page(2), .seq = 1 };

	assert_true(ring_mpsc_push(&fx->cpu[1].inbox, &ev));
	atomic_fetch_add(&fx->cpu[1].fanout_bcast, 2);
	atomic_fetch_add(&fx->cpu[1].fanout_notice, 5);
	forward_vcpu_detach(&fx->cpu[1]);
	assert_int_equal(atomic_load(&fx->vm.undeliverable), 3);
	assert_true(diag_has(fx, "vcpu-1: 3 event(s) cannot be delivered"));
	route_to(&fx->vm, 1, &ev);
	assert_int_equal(atomic_load(&fx->vm.undeliverable), 4);
	assert_true(diag_has(fx, "vcpu-1 has finished: the AO at"));
	/* A notice reaches no guest: not counted. */
	ev.kind = MCE_EVENT_NOTICE;
	route_to(&fx->vm, 1, &ev);
	assert_int_equal(atomic_load(&fx->vm.undeliverable), 4);
	assert_int_equal(ledger_events_lost(&fx->vm), 0);
}

/* The ledger: a page once however often it fails, a huge page whole, and a reset forgets. */
static void test_ledger(void **state)
{
	struct fixture *fx = *state;
	struct fwd_vcpu *c = &fx->cpu[0];
	struct fwd_lost lost[4];

	assert_int_equal(ledger_loss_unit(12, 4096), 4096);
	assert_int_equal(ledger_loss_unit(21, 4096), 2u << 20);
	assert_int_equal(ledger_loss_unit(12, 2u << 20), 2u << 20);
	for (int i = 0; i < 2; i++) {
		fx->fake[0].mcg_status = 0;
		forward_raise_ar(c, page(3), MCE_ORIGIN_VCPU);
		assert_int_equal(forward_vcpu_service(c), 0);
	}
	assert_int_equal(ledger_lost_bytes(&fx->vm), 4096);
	fx->vm.backing_page = 2u << 20;
	fx->fake[0].mcg_status = 0;
	forward_raise_ar(c, page(40), MCE_ORIGIN_VCPU);
	assert_int_equal(forward_vcpu_service(c), 0);
	assert_int_equal(ledger_lost_ranges(&fx->vm, lost, 4), 2);
	assert_int_equal(lost[1].gpa, GPA_BASE & ~((2ULL << 20) - 1));
	assert_int_equal(lost[1].size, 2u << 20);
	forward_reset(&fx->vm);
	assert_int_equal(ledger_lost_bytes(&fx->vm), 0);
	assert_int_equal(c->delivered, 0);
	assert_false(forward_vcpu_pending(c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ar_delivered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mcip_gate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ao_delivered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_reasons, setup, teardown),
		cmocka_unit_test_setup_teardown(test_livelock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ao_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_mce_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fanout_broadcast, setup_smp_intel, teardown),
		cmocka_unit_test_setup_teardown(test_fanout_notice, setup_smp_amd, teardown),
		cmocka_unit_test_setup_teardown(test_route_ao_target, setup_smp_intel, teardown),
		cmocka_unit_test_setup_teardown(test_route_ao_all, setup_smp_intel, teardown),
		cmocka_unit_test_setup_teardown(test_route_page_owner, setup_smp_intel, teardown),
		cmocka_unit_test_setup_teardown(test_detach_reports, setup_smp_intel, teardown),
		cmocka_unit_test_setup_teardown(test_ledger, setup, teardown),
	};

	return cmocka_run_group_tests_name("forward", tests, NULL, NULL);
}
