// SPDX-License-Identifier: GPL-2.0-only
/*
 * The KVM side of forwarding's port (mce/forward.h): how forwarding reads
 * a vCPU's RIP and MSRs, delivers a machine check (KVM_X86_SET_MCE, or as
 * QEMU does: MSR writes and KVM_SET_VCPU_EVENTS), wakes the vCPU and stops
 * the VM.
 */
#include <errno.h>
#include <string.h>
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

static int vcpu_port_cr4(void *ctx, uint64_t *cr4)
{
	struct vcpu *v = ctx;
	struct kvm_sregs s;
	int r = kvm_ioctl(v->fd, KVM_GET_SREGS, &s);

	if (r < 0)
		return r;
	*cr4 = s.cr4;
	return 0;
}

#define PORT_MAX_MSRS	8

static int vcpu_port_write_msrs(void *ctx, const uint32_t *index, const uint64_t *val,
				unsigned int n)
{
	struct vcpu *v = ctx;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[PORT_MAX_MSRS];
	} m;
	int r;

	if (n > PORT_MAX_MSRS)
		return error_set(EINVAL, "%u MSRs at once: at most %d", n, PORT_MAX_MSRS);
	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = n;
	for (unsigned int i = 0; i < n; i++) {
		m.e[i].index = index[i];
		m.e[i].data = val[i];
	}
	r = kvm_ioctl(v->fd, KVM_SET_MSRS, &m);
	if (r < 0)
		return r;
	if ((unsigned int)r != n)
		return error_set(EIO, "KVM_SET_MSRS: MSR 0x%x refused (0x%llx)", index[r],
				 (unsigned long long)val[r]);
	return 0;
}

/*
 * #MC as QEMU raises it: kvm_arch_process_async_events queues vector 18
 * (kvm_queue_exception) and kvm_put_vcpu_events hands it to KVM as an
 * injected exception, with no check of KVM's own. An I/O exit is finished
 * first, so the #MC lands after the OUT, as for KVM_X86_SET_MCE.
 */
static int vcpu_port_raise_mc(void *ctx)
{
	struct vcpu *v = ctx;
	struct kvm_vcpu_events ev;
	int r;

	r = vcpu_complete_exit(v);
	if (r < 0)
		return r;
	r = kvm_ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev);
	if (r < 0)
		return r;
	if (ev.exception.injected || ev.exception.pending)
		return error_set(EBUSY, "vector %u is already queued on this vCPU: QEMU would assert here (kvm_queue_exception)",
				 ev.exception.nr);
	ev.exception.injected = 1;
	ev.exception.nr = 18;
	ev.exception.has_error_code = 0;
	ev.exception.error_code = 0;
	ev.flags = 0;
	return kvm_ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev);
}

const struct fwd_vcpu_port vcpu_fwd_port = {
	.rip = vcpu_port_rip,
	.read_msr = vcpu_port_read_msr,
	.set_mce = vcpu_port_set_mce,
	.mailbox = vcpu_port_mailbox,
	.wake = vcpu_port_wake,
	.stop = vcpu_port_stop,
	.eintr = vcpu_port_eintr,
	.cr4 = vcpu_port_cr4,
	.write_msrs = vcpu_port_write_msrs,
	.raise_mc = vcpu_port_raise_mc,
};
