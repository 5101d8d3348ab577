// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "guest-payloads/abi.h"
#include "mcefwd/vmm/boot.h"
#include "mcefwd/util/error.h"
#include "mcefwd/util/interrupt.h"
#include "mcefwd/vmm/kick.h"
#include "mcefwd/vmm/loader.h"
#include "mcefwd/mce/encode.h"
#include "mcefwd/mce/sigbus.h"
#include "mcefwd/vmm/vcpu.h"
#include "mcefwd/vmm/vm.h"

/* Where KVM_SET_TSS_ADDR puts its three pages: above any guest RAM we allow. */
#define VM_TSS_ADDR 0xfffbd000UL

static int vm_check_config(const struct kvm_caps *caps, const struct vm_config *cfg)
{
	char why[256];
	uint64_t stacks_end;

	if (cfg->ram_size < MCEFWD_RAM_MIN || cfg->ram_size > MCEFWD_RAM_MAX ||
	    cfg->ram_size % (2UL << 20))
		return error_set(EINVAL, "guest RAM of %lu bytes: must be a multiple of 2 MiB between %lu MiB and %lu MiB",
				 (unsigned long)cfg->ram_size, MCEFWD_RAM_MIN >> 20,
				 MCEFWD_RAM_MAX >> 20);
	if (cfg->nr_vcpus < 1 || cfg->nr_vcpus > MCEFWD_MAX_VCPUS ||
	    cfg->nr_vcpus > (unsigned int)caps->max_vcpus)
		return error_set(EINVAL, "%u vCPUs: mcefwd supports 1 to %d, this KVM at most %d",
				 cfg->nr_vcpus, MCEFWD_MAX_VCPUS, caps->max_vcpus);
	stacks_end = MCEFWD_GPA_STACKS + cfg->nr_vcpus * MCEFWD_STACK_SIZE;
	if (cfg->ram_size < stacks_end)
		return error_set(EINVAL, "%lu MiB of guest RAM cannot hold the stacks of %u vCPUs (needs %lu MiB)",
				 (unsigned long)(cfg->ram_size >> 20), cfg->nr_vcpus,
				 (unsigned long)((stacks_end + (1 << 20) - 1) >> 20));
	if (!caps->mce_banks)
		return error_set(ENOTSUP, "this KVM has no MCE support (KVM_CAP_MCE is 0)");
	if (cfg->fwd.bank >= (cfg->mcg_cap & 0xff))
		return error_set(EINVAL, "bank %u: MCG_CAP 0x%lx has only %lu bank(s)",
				 cfg->fwd.bank, (unsigned long)cfg->mcg_cap,
				 (unsigned long)(cfg->mcg_cap & 0xff));
	if (cfg->fwd.ao_target >= 0 && (unsigned int)cfg->fwd.ao_target >= cfg->nr_vcpus)
		return error_set(EINVAL, "AO target vcpu-%d: the VM has %u vCPU(s)",
				 cfg->fwd.ao_target, cfg->nr_vcpus);
	if (mce_cap_check(cfg->mcg_cap, caps->mcg_cap_supported,
			  (unsigned int)caps->mce_banks, why, sizeof(why)) < 0)
		return error_set(EINVAL, "MCG_CAP 0x%lx: %s", (unsigned long)cfg->mcg_cap, why);
	return 0;
}

/* The guest's vendor, family and model (CPUID 1): QEMU's broadcast rule needs them. */
static void vm_guest_cpu(struct vm *vm)
{
	struct kvm_cpuid_entry2 *e = kvm_cpuid_find(vm->kvm->caps.cpuid, 1, 0);

	vm->fwd.cpuid_version = e ? e->eax : 0;
	vm->fwd.amd = !strcmp(vm->kvm->caps.vendor, "AuthenticAMD");
}

/*
 * What a QEMU model takes from QEMU before the first error:
 * target/i386/kvm/kvm.c kvm_arch_init_vcpu masks MCG_CAP bits KVM does
 * not support with a warning ("Unsupported MCG_CAP bits"; LMCE and a bank
 * count KVM lacks are errors, left to vm_check_config), and kvm_mce_inject
 * encodes by the guest CPU's vendor from 9.1 (qemu_model_profile), unless
 * --encoding said otherwise.
 */
static void vm_qemu_model(struct vm *vm)
{
	uint64_t keep = vm->kvm->caps.mcg_cap_supported | MCE_MCG_CAP_COUNT_MASK;

	/* The caller says so: vm->cfg.mcg_cap is then not what it asked for. */
	vm->cfg.mcg_cap &= keep | MCE_MCG_LMCE_P;
	if (!vm->cfg.fwd.encoding_set)
		vm->cfg.fwd.profile = qemu_model_profile(vm->cfg.fwd.model, vm->fwd.amd);
	vm->fwd.cfg = vm->cfg.fwd;
	vm->fwd.mcg_cap = vm->cfg.mcg_cap;
	/* kvm_on_sigbus: an AO on QEMU's main thread goes to first_cpu. */
	vm->fwd.cfg.ao_target = vm->cfg.fwd.ao_target = 0;
}

/* Forwarding reaches guest RAM through here. */
static bool vm_port_gpa_of(void *ctx, const void *hva, uint64_t *gpa)
{
	return mem_hva_to_gpa(&((struct vm *)ctx)->mem, hva, gpa);
}

static int vm_port_node_of(void *ctx, const void *hva)
{
	(void)ctx;
	return mem_node_of(hva);
}

static const struct fwd_vm_port vm_fwd_port = {
	.gpa_of = vm_port_gpa_of,
	.node_of = vm_port_node_of,
};

int vm_create(struct vm *vm, struct kvm *kvm, const struct vm_config *cfg)
{
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->fd = vm->event_fd = -1;
	vm->kvm = kvm;
	vm->cfg = *cfg;
	diag_init(&vm->diag, stdout);
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->go, NULL);
	pthread_cond_init(&vm->parked, NULL);
	mem_init_table(&vm->mem);
	if (cfg->kick == KICK_IMMEDIATE && !kvm->caps.immediate_exit)
		vm->cfg.kick = KICK_SIGMASK;
	forward_vm_init(&vm->fwd, &cfg->fwd, cfg->mcg_cap, &vm_fwd_port, vm, &vm->diag);
	vm->fwd.numa_node = cfg->numa_node;
	vm_guest_cpu(vm);
	if (fwd_is_qemu(&cfg->fwd))
		vm_qemu_model(vm);

	r = vm_check_config(&kvm->caps, &vm->cfg);
	if (r < 0)
		goto err;
	r = kick_init();
	if (r < 0)
		goto err;
	r = sigbus_install();
	if (r < 0)
		goto err;
	r = kvm_ioctl(kvm->fd, KVM_CREATE_VM, NULL);
	if (r < 0)
		goto err;
	vm->fd = r;
	/* Intel's real-mode emulation needs it; harmless elsewhere. */
	if (kvm->caps.set_tss_addr) {
		r = kvm_ioctl(vm->fd, KVM_SET_TSS_ADDR, (void *)VM_TSS_ADDR);
		if (r < 0)
			goto err;
	}
	vm->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->event_fd < 0) {
		r = error_set(errno, "eventfd: %s", strerror(errno));
		goto err;
	}
	r = mem_create(&vm->mem, cfg->ram_size, cfg->mem_kind, cfg->numa_node);
	if (r < 0)
		goto err;
	/* A hugetlb page is lost whole; anything else one 4 KiB page at a time. */
	if (vm->mem.kind == MEM_HUGETLB)
		vm->fwd.backing_page = vm->mem.page_size;
	r = mem_register(&vm->mem, vm->fd);
	if (r < 0)
		goto err;
	r = boot_setup_memory(&vm->mem);
	if (r < 0)
		goto err;
	vm->vcpus = calloc(cfg->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		r = error_set(ENOMEM, "out of memory for %u vCPUs", cfg->nr_vcpus);
		goto err;
	}
	for (unsigned int i = 0; i < cfg->nr_vcpus; i++) {
		vm->vcpus[i] = vcpu_create(vm, i);
		if (!vm->vcpus[i]) {
			r = -EINVAL;
			goto err;
		}
		vm->nr_vcpus++;
	}
	return 0;

err:
	vm_destroy(vm);
	return r;
}

void vm_destroy(struct vm *vm)
{
	vm_stop_and_join(vm);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->nr_vcpus = 0;
	mem_destroy(&vm->mem);
	if (vm->event_fd >= 0)
		close(vm->event_fd);
	if (vm->fd >= 0)
		close(vm->fd);
	vm->fd = vm->event_fd = -1;
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->go);
	pthread_cond_destroy(&vm->parked);
	forward_vm_destroy(&vm->fwd);
	diag_destroy(&vm->diag);
}

int vm_load(struct vm *vm, const void *img, size_t len)
{
	uint64_t entry;
	int r;

	r = loader_load_elf(img, len, &vm->mem, &entry);
	if (r < 0)
		return r;
	vm->image = img;
	vm->image_len = len;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		r = vcpu_set_boot_state(vm->vcpus[i], entry);
		if (r < 0)
			return error_wrap(-r, "vcpu-%u boot state", i);
	}
	return 0;
}

int vm_start(struct vm *vm)
{
	int r = 0;

	sigbus_set_process(&vm->fwd.process, vm->event_fd);
	interrupt_set_fd(vm->event_fd);
	for (unsigned int i = 0; i < vm->nr_vcpus && !r; i++)
		r = vcpu_start(vm->vcpus[i]);
	if (r < 0)
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			atomic_fetch_or(&vm->vcpus[i]->requests, VCPU_REQ_STOP);
	pthread_mutex_lock(&vm->lock);
	vm->started = true;
	pthread_cond_broadcast(&vm->go);
	pthread_mutex_unlock(&vm->lock);
	return r;
}

void vm_stop_and_join(struct vm *vm)
{
	if (vm->started) {
		sigbus_set_process(NULL, -1);
		interrupt_set_fd(-1);
	}
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];

		if (v && v->started)
			kick(v, VCPU_REQ_STOP);
	}
	/* A parked vCPU must see the stop too. */
	vm_resume_all(vm);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];

		if (v && v->started) {
			pthread_join(v->thread, NULL);
			v->started = false;
		}
	}
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static bool vm_any_ended_badly(struct vm *vm)
{
	bool bad = false;

	pthread_mutex_lock(&vm->lock);
	for (unsigned int i = 0; i < vm->nr_vcpus && !bad; i++) {
		const struct vcpu *v = vm->vcpus[i];

		bad = v->done && (v->res.outcome != VCPU_EXITED || v->res.exit_code);
	}
	pthread_mutex_unlock(&vm->lock);
	return bad;
}

enum vm_wait_result vm_wait(struct vm *vm, long timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	struct pollfd pfd = { .fd = vm->event_fd, .events = POLLIN };
	uint64_t count;

	while (atomic_load(&vm->nr_running) > 0) {
		long left = deadline - now_ms();

		if (interrupt_signal())
			return VM_WAIT_INTERRUPTED;
		if (vm_any_ended_badly(vm))
			return VM_WAIT_ENDED;
		if (left <= 0)
			return VM_WAIT_TIMEOUT;
		if (poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) > 0 &&
		    read(vm->event_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
			return VM_WAIT_ENDED;
		route_main_drain(&vm->fwd);
		if (vm->ops && vm->ops->on_main)
			vm->ops->on_main(vm);
	}
	return vm_any_ended_badly(vm) ? VM_WAIT_ENDED : VM_WAIT_DONE;
}

void vm_pause_all(struct vm *vm)
{
	struct vcpu *self = vcpu_self;

	pthread_mutex_lock(&vm->lock);
	vm->pause_requested = true;
	vm->pause_seq++;
	/* A vCPU waiting in vcpu_wait_reset() parks now. */
	pthread_cond_broadcast(&vm->go);
	pthread_mutex_unlock(&vm->lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i] != self)
			kick(vm->vcpus[i], VCPU_REQ_PAUSE);

	pthread_mutex_lock(&vm->lock);
	for (;;) {
		unsigned int waiting = 0;

		for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
			struct vcpu *v = vm->vcpus[i];

			if (v != self && v->started && !v->done &&
			    !(v->paused && v->parked_seq == vm->pause_seq))
				waiting++;
		}
		if (!waiting)
			break;
		pthread_cond_wait(&vm->parked, &vm->lock);
	}
	pthread_mutex_unlock(&vm->lock);
}

void vm_resume_all(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->pause_requested) {
		vm->pause_requested = false;
		vm->resume_seq++;
	}
	pthread_cond_broadcast(&vm->go);
	pthread_mutex_unlock(&vm->lock);
}

int vm_reset(struct vm *vm)
{
	struct fwd_lost lost[FWD_MAX_LOST];
	unsigned int nr, replaced = 0;
	uint64_t entry;
	int r = 0;

	/*
	 * Two vCPUs asking at once: the first resets, the other's request is
	 * served by it (it parks when the first pauses everyone, and is
	 * restarted with the rest). Waiting for each other would deadlock.
	 */
	if (atomic_exchange(&vm->resetting, true)) {
		vcpu_wait_reset(vcpu_self);
		return 0;
	}
	vm_pause_all(vm);
	/*
	 * A reset discards what is still pending, as hardware does: events
	 * routed to a vCPU but not yet delivered go, and are said to.
	 */
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		forward_discard_pending(&vm->vcpus[i]->fwd, false, "a reset discards what is pending");
	nr = ledger_lost_ranges(&vm->fwd, lost, FWD_MAX_LOST);
	for (unsigned int i = 0; i < nr && r == 0; i++) {
		r = mem_replace(&vm->mem, vm->fd, lost[i].gpa, lost[i].size);
		replaced += r == 0;
	}
	if (r < 0)
		goto out;
	forward_reset(&vm->fwd);
	r = boot_setup_memory(&vm->mem);
	if (r < 0)
		goto out;
	r = loader_load_elf(vm->image, vm->image_len, &vm->mem, &entry);
	if (r < 0)
		goto out;
	vm->boots++;
	for (unsigned int i = 0; i < vm->nr_vcpus && r == 0; i++) {
		struct vcpu *v = vm->vcpus[i];
		struct mcefwd_mailbox *mb = vm_mailbox(vm, i);

		if (mb)
			*mb = (struct mcefwd_mailbox){ .boots = vm->boots };
		if (v->done)
			continue;	/* its thread has ended: nothing to restart */
		r = vcpu_set_boot_state(v, entry);
	}
	vm_diag(vm, "reset: %u poisoned range(s) replaced with fresh zeroed memory, boot %u",
		replaced, vm->boots);
out:
	/* Cleared before the resume, so a vCPU waiting in vcpu_wait_reset() ends. */
	atomic_store(&vm->resetting, false);
	vm_resume_all(vm);
	return r;
}

struct mcefwd_mailbox *vm_mailbox(struct vm *vm, unsigned int i)
{
	return mem_gpa_to_hva(&vm->mem, MCEFWD_GPA_MAILBOX + i * sizeof(struct mcefwd_mailbox),
			      sizeof(struct mcefwd_mailbox));
}

void vm_diag(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vsay(&vm->diag, fmt, ap);
	va_end(ap);
}
