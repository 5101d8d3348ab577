// SPDX-License-Identifier: GPL-2.0-only
/*
 * The KVM side of forwarding's port (mce/forward.h): how forwarding reads
 * a vCPU's RIP and MSRs, delivers a machine check (KVM_X86_SET_MCE), wakes
 * the vCPU and stops the VM.
 */
#include <linux/kvm.h>

#include "mcefwd/vmm/kick.h"
#include "mcefwd/vmm/kvm.h"
#include "mcefwd/vmm/vcpu.h"
#include "mcefwd/vmm/vcpu_int.h"
#include "mcefwd/vmm/vm.h"

/* Where the guest will take the #MC: RIP once any pending exit is done. */
static int vcpu_port_rip(void *ctx, uint64_t *rip)
{
	struct vcpu *v = ctx;
	struct kvm_regs regs;
	int r;

	r = vcpu_complete_exit(v);
	if (r < 0)
		return r;
	if (v->sync_regs) {
		*rip = v->run->s.regs.regs.rip;
		return 0;
	}
	r = kvm_ioctl(v->fd, KVM_GET_REGS, &regs);
	if (r < 0)
		return r;
	*rip = regs.rip;
	return 0;
}

static int vcpu_port_read_msr(void *ctx, uint32_t index, uint64_t *val)
{
	return vcpu_get_msr(ctx, index, val);
}

/* Delivery itself: KVM writes the bank and MCG_STATUS and raises #MC. */
static int vcpu_port_set_mce(void *ctx, const struct kvm_x86_mce *mce)
{
	struct vcpu *v = ctx;
	struct kvm_x86_mce m = *mce;

	return kvm_ioctl(v->fd, KVM_X86_SET_MCE, &m);
}

static struct mcefwd_mailbox *vcpu_port_mailbox(void *ctx)
{
	struct vcpu *v = ctx;

	return vm_mailbox(v->vm, v->id);
}

static void vcpu_port_wake(void *ctx)
{
	kick(ctx, VCPU_REQ_WORK);
}

static void vcpu_port_stop(void *ctx, enum fwd_stop reason, const char *text)
{
	vcpu_stop(ctx, reason, text);
}

static bool vcpu_port_eintr(void *ctx)
{
	return ((struct vcpu *)ctx)->eintr;
}

const struct fwd_vcpu_port vcpu_fwd_port = {
	.rip = vcpu_port_rip,
	.read_msr = vcpu_port_read_msr,
	.set_mce = vcpu_port_set_mce,
	.mailbox = vcpu_port_mailbox,
	.wake = vcpu_port_wake,
	.stop = vcpu_port_stop,
	.eintr = vcpu_port_eintr,
};
