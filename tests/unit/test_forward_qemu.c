// SPDX-License-Identifier: GPL-2.0-only
/*
 * Forwarding under a QEMU model (mcefwd/mce/forward_qemu.c) against fake
 * vCPUs (fake_fwd.h) that keep their machine-check MSRs and CR4 as KVM
 * would, and count the #MCs queued with KVM_SET_VCPU_EVENTS; KVM_X86_SET_MCE
 * is never used (nr_seen stays 0). What is asserted is QEMU's
 * contract, from its source: immediate injection with do_inject_x86_mce's
 * drops and resets, the MSRs written, si_addr taken exactly, the second
 * pending SIGBUS death, exit(1) for an AR it cannot forward, the broadcast
 * by release and vendor, and a re-fault loop stopped.
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

/* nr vCPUs under QEMU major.minor with profile, the guest's CPUID 1 EAX and vendor. */
static struct fixture *setup_with(unsigned int major, unsigned int minor, enum mce_profile profile,
				  unsigned int nr, uint32_t cpuid_version, bool amd, uint64_t cap)
{
	struct fwd_config cfg = { .profile = profile, .bank = MCE_QEMU_BANK,
				  .model = { major, minor } };
	struct fixture *fx = fake_setup(&cfg, cap, nr);

	fx->vm.cpuid_version = cpuid_version;
	fx->vm.amd = amd;
	return fx;
}

static int setup(void **state)
{
	*state = setup_with(7, 2, MCE_PROFILE_QEMU7, 1, INTEL_6_85, false, CAP);
	return 0;
}

static int setup_smp_intel(void **state)
{
	*state = setup_with(7, 2, MCE_PROFILE_QEMU7, 3, INTEL_6_85, false, CAP);
	return 0;
}

static int setup_smp_amd_91(void **state)
{
	*state = setup_with(9, 1, MCE_PROFILE_AMD, 3, AMD_19_1, true, CAP);
	return 0;
}

static int setup_no_ser(void **state)
{
	*state = setup_with(7, 2, MCE_PROFILE_QEMU7, 1, INTEL_6_85, false, 10 | MCE_MCG_CTL_P);
	return 0;
}

/* A SIGBUS as the handler stows it on vCPU i's own thread. */
static void sigbus(struct fixture *f, unsigned int i, enum mce_event_kind kind, void *addr,
		   int lsb)
{
	struct mce_event ev = { .kind = kind, .origin = MCE_ORIGIN_VCPU, .fanout = true,
				.lsb = (int16_t)lsb, .addr = addr };

	assert_true(ring_spsc_push(&f->cpu[i].ring, &ev));
}

/* An AR is written to bank 9 and MCG_STATUS and #MC queued, at once. */
static void test_ar_written_and_raised(void **state)
{
	struct fixture *f = *state;
	struct fake_vcpu *v = &f->fake[0];

	sigbus(f, 0, MCE_EVENT_AR, page(2), 12);
	assert_int_equal(forward_vcpu_service(&f->cpu[0]), 0);
	assert_int_equal(v->raised, 1);
	assert_int_equal(v->nr_seen, 0);	/* never KVM_X86_SET_MCE */
	assert_int_equal(v->bank[9][1], 0xbd80000000000134ULL);
	assert_int_equal(v->bank[9][2], GPA_BASE + 2 * 4096);
	assert_int_equal(v->bank[9][3], 0x8c);
	assert_int_equal(v->mcg_status, MCE_MCG_STATUS_MCIP | MCE_MCG_STATUS_RIPV |
			 MCE_MCG_STATUS_EIPV);
	assert_int_equal(v->mailbox.events_done, 1);
	assert_int_equal(v->stop, FWD_STOP_NONE);
}

/* kvm_arch_on_sigbus_vcpu takes si_addr as it is: si_addr_lsb is never read. */
static void test_si_addr_exact(void **state)
{
	struct fixture *f = *state;

	sigbus(f, 0, MCE_EVENT_AR, (unsigned char *)page(3) + 0x5a8, 21);
	assert_int_equal(forward_vcpu_service(&f->cpu[0]), 0);
	assert_int_equal(f->fake[0].bank[9][2], GPA_BASE + 3 * 4096 + 0x5a8);
}

/* No queue behind MCIP: an AO under MCIP is dropped, an AR resets. */
static void test_under_mcip(void **state)
{
	struct fixture *f = *state;
	struct fake_vcpu *v = &f->fake[0];

	v->mcg_status = MCE_MCG_STATUS_MCIP;
	sigbus(f, 0, MCE_EVENT_AO, page(1), 12);
	assert_int_equal(forward_vcpu_service(&f->cpu[0]), 0);
	assert_int_equal(v->raised, 0);
	assert_int_equal(v->writes, 0);
	assert_int_equal(v->mailbox.events_done, 1);
	assert_int_equal(v->stop, FWD_STOP_NONE);
	assert_false(forward_vcpu_pending(&f->cpu[0]));

	sigbus(f, 0, MCE_EVENT_AR, page(1), 12);
	assert_true(forward_vcpu_service(&f->cpu[0]) < 0);
	assert_int_equal(v->stop, FWD_STOP_QEMU_RESET);
	assert_int_equal(v->raised, 0);
}

static void test_cr4_mce_clear_resets(void **state)
{
	struct fixture *f = *state;

	f->fake[0].cr4 = 0;
	sigbus(f, 0, MCE_EVENT_AR, page(1), 12);
	assert_true(forward_vcpu_service(&f->cpu[0]) < 0);
	assert_int_equal(f->fake[0].stop, FWD_STOP_QEMU_RESET);
}

/* MCi_CTL cleared: dropped each time, no event; the same AR again is a re-fault loop. */
static void test_bank_disabled_refault(void **state)
{
	struct fixture *f = *state;
	struct fake_vcpu *v = &f->fake[0];
	int r = 0;

	v->bank[9][0] = 0;
	for (unsigned int i = 0; i < FWD_LIVELOCK - 1; i++) {
		sigbus(f, 0, MCE_EVENT_AR, page(4), 12);
		assert_int_equal(forward_vcpu_service(&f->cpu[0]), 0);
	}
	assert_int_equal(v->raised, 0);
	assert_int_equal(v->writes, 0);
	assert_int_equal(v->stop, FWD_STOP_NONE);
	sigbus(f, 0, MCE_EVENT_AR, page(4), 12);
	r = forward_vcpu_service(&f->cpu[0]);
	assert_true(r < 0);
	assert_int_equal(v->stop, FWD_STOP_REFAULT);
}

/* have_sigbus_pending: two SIGBUS in one KVM_RUN and QEMU dies; nothing delivered. */
static void test_second_sigbus_dies(void **state)
{
	struct fixture *f = *state;
	struct fake_vcpu *v = &f->fake[0];

	sigbus(f, 0, MCE_EVENT_AR, page(1), 12);
	sigbus(f, 0, MCE_EVENT_AR, page(2), 12);
	sigbus(f, 0, MCE_EVENT_AR, page(3), 12);
	assert_true(forward_vcpu_service(&f->cpu[0]) < 0);
	assert_int_equal(v->stop, FWD_STOP_QEMU_SIGBUS);
	assert_int_equal(v->raised, 0);
	assert_false(forward_vcpu_pending(&f->cpu[0]));
	/* Every page named is lost all the same. */
	assert_int_equal(ledger_lost_bytes(&f->vm), 3 * 4096);
}

/*
 * One raised by mcefwd itself (an emulated access) is not a second SIGBUS:
 * it goes through do_inject_x86_mce, which resets for an AR under MCIP.
 */
static void test_emulated_is_no_sigbus(void **state)
{
	struct fixture *f = *state;

	sigbus(f, 0, MCE_EVENT_AR, page(1), 12);
	forward_raise_ar(&f->cpu[0], page(2), MCE_ORIGIN_EMULATED);
	assert_true(forward_vcpu_service(&f->cpu[0]) < 0);
	assert_int_equal(f->fake[0].raised, 1);
	assert_int_equal(f->fake[0].stop, FWD_STOP_QEMU_RESET);
}

/* hardware_memory_error: an AR without SER_P is exit(1); an AO is ignored. */
static void test_no_ser(void **state)
{
	struct fixture *f = *state;

	sigbus(f, 0, MCE_EVENT_AO, page(1), 12);
	assert_int_equal(forward_vcpu_service(&f->cpu[0]), 0);
	assert_int_equal(f->fake[0].stop, FWD_STOP_NONE);
	assert_int_equal(f->fake[0].raised, 0);
	sigbus(f, 0, MCE_EVENT_AR, page(1), 12);
	assert_true(forward_vcpu_service(&f->cpu[0]) < 0);
	assert_int_equal(f->fake[0].stop, FWD_STOP_QEMU_EXIT);
}

static void test_not_ram_exits(void **state)
{
	struct fixture *f = *state;

	sigbus(f, 0, MCE_EVENT_AO, vmm_page, 12);
	assert_int_equal(forward_vcpu_service(&f->cpu[0]), 0);
	assert_int_equal(f->fake[0].stop, FWD_STOP_NONE);
	assert_true(diag_has(f, "not guest RAM): MEMORY_FAILURE hypervisor ignore"));
	sigbus(f, 0, MCE_EVENT_AR, vmm_page, 12);
	assert_true(forward_vcpu_service(&f->cpu[0]) < 0);
	assert_int_equal(f->fake[0].stop, FWD_STOP_QEMU_EXIT);
	assert_non_null(strstr(f->fake[0].stop_text, "exits with status 1"));
}

/* cpu_x86_inject_mce: the others get bank 1 = VAL|UC, MCIP|RIPV, through the same rules. */
static void test_broadcast_intel(void **state)
{
	struct fixture *f = *state;

	sigbus(f, 0, MCE_EVENT_AR, page(1), 12);
	assert_int_equal(forward_vcpu_service(&f->cpu[0]), 0);
	for (unsigned int i = 1; i < 3; i++) {
		assert_int_equal(forward_vcpu_service(&f->cpu[i]), 0);
		assert_int_equal(f->fake[i].raised, 1);
		assert_int_equal(f->fake[i].bank[1][1], MCE_STATUS_VAL | MCE_STATUS_UC);
		assert_int_equal(f->fake[i].mcg_status,
				 MCE_MCG_STATUS_MCIP | MCE_MCG_STATUS_RIPV);
	}
	/*
	 * vCPU 2 still in its handler: the next broadcast has no AR bit, so
	 * do_inject_x86_mce drops it there; vCPU 1 (MCIP cleared) takes it.
	 */
	f->fake[0].mcg_status = f->fake[1].mcg_status = 0;
	sigbus(f, 0, MCE_EVENT_AR, page(2), 12);
	assert_int_equal(forward_vcpu_service(&f->cpu[0]), 0);
	assert_int_equal(forward_vcpu_service(&f->cpu[1]), 0);
	assert_int_equal(forward_vcpu_service(&f->cpu[2]), 0);
	assert_int_equal(f->fake[1].raised, 2);
	assert_int_equal(f->fake[2].raised, 1);
	assert_int_equal(f->fake[2].mailbox.events_done, 2);
	assert_int_equal(f->fake[2].stop, FWD_STOP_NONE);
}

/* From 9.1 an AMD guest gets the AMD encoding and no broadcast; the AO has no UC. */
static void test_amd_91(void **state)
{
	struct fixture *f = *state;

	sigbus(f, 0, MCE_EVENT_AO, page(1), 12);
	assert_int_equal(forward_vcpu_service(&f->cpu[0]), 0);
	assert_int_equal(f->fake[0].raised, 0);		/* logged, polled */
	assert_true(f->fake[0].bank[9][1] & MCE_STATUS_VAL);
	assert_false(f->fake[0].bank[9][1] & MCE_STATUS_UC);
	for (unsigned int i = 1; i < 3; i++) {
		assert_int_equal(forward_vcpu_service(&f->cpu[i]), 0);
		assert_int_equal(f->fake[i].raised, 0);
		assert_int_equal(f->fake[i].mailbox.events_done, 1);	/* a notice */
	}
	/* No AR bit in the AMD encoding: under MCIP a second error is dropped, not a reset. */
	sigbus(f, 0, MCE_EVENT_AR, page(1), 12);
	assert_int_equal(forward_vcpu_service(&f->cpu[0]), 0);
	assert_int_equal(f->fake[0].raised, 1);
	sigbus(f, 0, MCE_EVENT_AR, page(2), 12);
	assert_int_equal(forward_vcpu_service(&f->cpu[0]), 0);
	assert_int_equal(f->fake[0].raised, 1);
	assert_int_equal(f->fake[0].stop, FWD_STOP_NONE);
}

static void test_model_parse(void **state)
{
	struct qemu_release r;
	struct fwd_config c = { 0 };
	char buf[32];

	(void)state;
	assert_int_equal(fwd_model_parse("mcefwd", &r), 0);
	assert_int_equal(r.major, 0);
	assert_int_equal(fwd_model_parse("qemu-9.1", &r), 0);
	assert_int_equal(r.major, 9);
	assert_int_equal(r.minor, 1);
	assert_int_equal(fwd_model_parse("qemu-6.2", &r), 0);
	assert_int_equal(fwd_model_parse("qemu-7", &r), 0);
	assert_int_equal(r.major, 7);
	assert_int_equal(r.minor, 2);
	assert_int_equal(fwd_model_parse("qemu-7.0", &r), 0);
	assert_int_equal(r.minor, 0);
	assert_int_equal(fwd_model_parse("qemu-2.11", &r), 0);
	assert_int_equal(fwd_model_parse("qemu-2.10", &r), -EINVAL);
	assert_int_equal(fwd_model_parse("qemu-", &r), -EINVAL);
	assert_int_equal(fwd_model_parse("qemu-7.x", &r), -EINVAL);
	assert_int_equal(fwd_model_parse("qemu-7.2.1", &r), -EINVAL);
	assert_int_equal(fwd_model_parse("kvm", &r), -EINVAL);
	assert_int_equal(fwd_model_parse("qemu-100", &r), -EINVAL);
	assert_string_equal(fwd_model_name(&c, buf, sizeof(buf)), "mcefwd");
	c.model = (struct qemu_release){ 7, 2 };
	assert_string_equal(fwd_model_name(&c, buf, sizeof(buf)), "qemu-7.2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ar_written_and_raised, setup, teardown),
		cmocka_unit_test_setup_teardown(test_si_addr_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_under_mcip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cr4_mce_clear_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bank_disabled_refault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_sigbus_dies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emulated_is_no_sigbus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_ser, setup_no_ser, teardown),
		cmocka_unit_test_setup_teardown(test_not_ram_exits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broadcast_intel, setup_smp_intel, teardown),
		cmocka_unit_test_setup_teardown(test_amd_91, setup_smp_amd_91, teardown),
		cmocka_unit_test(test_model_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
