/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fake vCPUs and guest RAM for the forwarding tests (test_forward.c,
 * test_forward_qemu.c): no KVM, no threads, no signals. Each fake stands
 * where vmm/vcpu.c stands: it keeps its machine-check MSRs and CR4 as KVM
 * would (KVM_X86_SET_MCE sets MCG_STATUS for an uncorrected error; the
 * QEMU model's MSR writes land in the table), records what it was handed
 * and the #MCs queued, and a fake guest RAM maps hva to gpa. Include after
 * <cmocka.h>; all static: each test file is its own program.
 */
#ifndef MCEFWD_TESTS_UNIT_FAKE_FWD_H
#define MCEFWD_TESTS_UNIT_FAKE_FWD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcefwd/mce/forward.h"

#define RAM_SIZE	(64u << 12)
#define GPA_BASE	0x200000ULL
#define CAP		(10 | MCE_MCG_CTL_P | MCE_MCG_SER_P)
#define NR_FAKES	4
#define MAX_SEEN	16
#define FAKE_RIP	0x101234ULL
#define FAKE_BANKS	10
#define INTEL_6_85	0x50654u	/* CPUID 1 EAX: family 6, model 0x55 */
#define AMD_19_1	0xa00f11u	/* CPUID 1 EAX: family 0xf + 0xa, model 1 */

static _Alignas(4096) unsigned char ram[RAM_SIZE];
static _Alignas(4096) unsigned char vmm_page[4096];	/* not guest RAM */

struct fake_vcpu {
	uint64_t mcg_status, mcg_ctl, cr4;
	uint64_t bank[FAKE_BANKS][4];
	uint64_t rip;
	unsigned int nr_seen;
	struct kvm_x86_mce seen[MAX_SEEN];	/* handed over with KVM_X86_SET_MCE */
	unsigned int raised, writes;		/* #MC queued, KVM_SET_MSRS calls */
	struct mcefwd_mailbox mailbox;
	unsigned int wakes;
	enum fwd_stop stop;
	char stop_text[512];
	int set_mce_error;		/* -errno the next set_mce returns */
};

struct fixture {
	struct diag diag;
	char *diag_buf;
	size_t diag_len;
	struct fwd_vm vm;
	struct fwd_vcpu cpu[NR_FAKES];
	struct fake_vcpu fake[NR_FAKES];
};

static int fake_rip(void *ctx, uint64_t *rip)
{
	*rip = ((struct fake_vcpu *)ctx)->rip;
	return 0;
}

static uint64_t *fake_msr(struct fake_vcpu *f, uint32_t index)
{
	if (index == MCEFWD_MSR_IA32_MCG_STATUS)
		return &f->mcg_status;
	if (index == MCEFWD_MSR_IA32_MCG_CTL)
		return &f->mcg_ctl;
	if (index >= MCEFWD_MSR_IA32_MC0_CTL && index < MCEFWD_MSR_IA32_MC0_CTL + 4 * FAKE_BANKS)
		return &f->bank[(index - MCEFWD_MSR_IA32_MC0_CTL) / 4][index % 4];
	return NULL;
}

static int fake_read_msr(void *ctx, uint32_t index, uint64_t *val)
{
	uint64_t *m = fake_msr(ctx, index);

	*val = m ? *m : 0;
	return 0;
}

/* What KVM does with the bank state it is handed, as far as MCIP goes. */
static int fake_set_mce(void *ctx, const struct kvm_x86_mce *mce)
{
	struct fake_vcpu *f = ctx;

	if (f->set_mce_error) {
		int r = f->set_mce_error;

		f->set_mce_error = 0;
		return r;
	}
	assert_true(f->nr_seen < MAX_SEEN);
	f->seen[f->nr_seen++] = *mce;
	if (mce->status & MCE_STATUS_UC)
		f->mcg_status = mce->mcg_status;
	return 0;
}

static struct mcefwd_mailbox *fake_mailbox(void *ctx)
{
	return &((struct fake_vcpu *)ctx)->mailbox;
}

static void fake_wake(void *ctx)
{
	((struct fake_vcpu *)ctx)->wakes++;
}

static void fake_stop(void *ctx, enum fwd_stop reason, const char *text)
{
	struct fake_vcpu *f = ctx;

	f->stop = reason;
	snprintf(f->stop_text, sizeof(f->stop_text), "%s", text);
}

static bool fake_eintr(void *ctx)
{
	(void)ctx;
	return false;
}

static int fake_cr4(void *ctx, uint64_t *cr4)
{
	*cr4 = ((struct fake_vcpu *)ctx)->cr4;
	return 0;
}

static int fake_write_msrs(void *ctx, const uint32_t *index, const uint64_t *val, unsigned int n)
{
	struct fake_vcpu *f = ctx;

	for (unsigned int i = 0; i < n; i++) {
		uint64_t *m = fake_msr(f, index[i]);

		assert_non_null(m);
		*m = val[i];
	}
	f->writes++;
	return 0;
}

static int fake_raise_mc(void *ctx)
{
	((struct fake_vcpu *)ctx)->raised++;
	return 0;
}

static const struct fwd_vcpu_port fake_port = {
	.rip = fake_rip, .read_msr = fake_read_msr, .set_mce = fake_set_mce,
	.mailbox = fake_mailbox, .wake = fake_wake, .stop = fake_stop, .eintr = fake_eintr,
	.cr4 = fake_cr4, .write_msrs = fake_write_msrs, .raise_mc = fake_raise_mc,
};

static bool fake_gpa_of(void *ctx, const void *hva, uint64_t *gpa)
{
	const unsigned char *p = hva;

	(void)ctx;
	if (p < ram || p >= ram + RAM_SIZE)
		return false;
	*gpa = GPA_BASE + (uint64_t)(p - ram);
	return true;
}

static int fake_node_of(void *ctx, const void *hva)
{
	(void)ctx;
	(void)hva;
	return 0;
}

static const struct fwd_vm_port fake_vm_port = { .gpa_of = fake_gpa_of, .node_of = fake_node_of };

/*
 * nr fake vCPUs forwarding with cfg and MCG_CAP cap, each as KVM leaves a
 * vCPU after KVM_X86_SETUP_MCE (MCG_CTL and every MCi_CTL all ones) with
 * the guest's CR4.MCE set.
 */
static struct fixture *fake_setup(const struct fwd_config *cfg, uint64_t cap, unsigned int nr)
{
	static struct fixture fx;
	FILE *out;

	memset(&fx, 0, sizeof(fx));
	out = open_memstream(&fx.diag_buf, &fx.diag_len);
	assert_non_null(out);
	diag_init(&fx.diag, out);
	forward_vm_init(&fx.vm, cfg, cap, &fake_vm_port, NULL, &fx.diag);
	for (unsigned int i = 0; i < nr; i++) {
		struct fake_vcpu *f = &fx.fake[i];

		f->rip = FAKE_RIP;
		f->cr4 = 1ULL << 6;
		f->mcg_ctl = ~0ULL;
		for (unsigned int b = 0; b < FAKE_BANKS; b++)
			f->bank[b][0] = ~0ULL;
		forward_vcpu_init(&fx.cpu[i], &fx.vm, i, &fake_port, f);
	}
	return &fx;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	forward_vm_destroy(&fx->vm);
	fclose(fx->diag.out);
	diag_destroy(&fx->diag);
	free(fx->diag_buf);
	return 0;
}

static bool diag_has(struct fixture *fx, const char *text)
{
	fflush(fx->diag.out);
	return fx->diag_buf && strstr(fx->diag_buf, text);
}

static void *page(unsigned int i)
{
	return ram + (size_t)i * 4096;
}

#endif
