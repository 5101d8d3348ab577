// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <numa.h>

#include "mcefwd/vmm/boot.h"
#include "mcefwd/vmm/kick.h"
#include "mcefwd/vmm/kvm.h"
#include "mcefwd/vmm/ucall.h"
#include "mcefwd/vmm/vcpu.h"
#include "mcefwd/vmm/vcpu_int.h"
#include "mcefwd/vmm/vm.h"

#define CPUID_1_EDX_MCE	(1u << 7)
#define CPUID_1_EDX_MCA	(1u << 14)

__thread struct vcpu *vcpu_self;

static const char *const outcome_names[] = {
	[VCPU_RUNNING] = "running", [VCPU_EXITED] = "exited",
	[VCPU_EXCEPTION] = "exception", [VCPU_SHUTDOWN] = "shutdown",
	[VCPU_ERROR] = "error", [VCPU_STOPPED] = "stopped",
	[VCPU_MCE_STOPPED] = "stopped by a hardware memory error",
};

const char *vcpu_outcome_name(enum vcpu_outcome o)
{
	return o <= VCPU_MCE_STOPPED ? outcome_names[o] : "?";
}

static const char *const vector_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO",
	"#TS", "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM",
	"#VE", "#CP", "#22", "#23", "#24", "#25", "#26", "#27", "#HV", "#VC",
	"#SX", "#31",
};

const char *vcpu_vector_name(uint64_t vector)
{
	return vector < 32 ? vector_names[vector] : "not an exception";
}

static int vcpu_set_cpuid(struct vcpu *v)
{
	const struct kvm_cpuid2 *sup = v->vm->kvm->caps.cpuid;
	size_t size = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);
	struct kvm_cpuid_entry2 *e;
	int r;

	if (!c)
		return error_set(ENOMEM, "out of memory for CPUID");
	memcpy(c, sup, size);
	e = kvm_cpuid_find(c, 1, 0);
	if (e) {
		/* Advertise MCE and MCA; the APIC id is the vCPU id. */
		e->edx |= CPUID_1_EDX_MCE | CPUID_1_EDX_MCA;
		e->ebx = (e->ebx & 0x00ffffff) | (v->id << 24);
	}
	for (uint32_t leaf = 0xb; leaf <= 0x1f; leaf += 0x1f - 0xb)
		for (uint32_t i = 0; i < c->nent; i++)
			if (c->entries[i].function == leaf)
				c->entries[i].edx = v->id;
	r = kvm_ioctl(v->fd, KVM_SET_CPUID2, c);
	free(c);
	return r < 0 ? r : 0;
}

struct vcpu *vcpu_create(struct vm *vm, unsigned int id)
{
	struct vcpu *v = calloc(1, sizeof(*v));
	uint64_t mcg_cap = vm->cfg.mcg_cap;
	int r;

	if (!v) {
		error_set(ENOMEM, "out of memory for vcpu-%u", id);
		return NULL;
	}
	v->vm = vm;
	v->id = id;
	v->run_size = (size_t)vm->kvm->caps.vcpu_mmap_size;
	r = kvm_ioctl(vm->fd, KVM_CREATE_VCPU, (void *)(uintptr_t)id);
	if (r < 0)
		goto err_free;
	v->fd = r;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		error_set(errno, "mmap of kvm_run: %s", strerror(errno));
		goto err_close;
	}
	if (vcpu_set_cpuid(v) < 0)
		goto err_unmap;
	/* RIP for every forwarded error without a KVM_GET_REGS (a vCPU ioctl each). */
	if (kvm_ioctl_raw(vm->kvm->fd, KVM_CHECK_EXTENSION, (void *)KVM_CAP_SYNC_REGS) &
	    KVM_SYNC_X86_REGS) {
		v->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
		v->sync_regs = true;
	}
	if (vm->kvm->caps.mce_banks && kvm_ioctl(v->fd, KVM_X86_SETUP_MCE, &mcg_cap) < 0)
		goto err_unmap;
	/*
	 * What the guest will read may differ from what KVM_X86_SETUP_MCE
	 * accepted: kvm_amd keeps only bits 8:0 (svm_setup_mce(), "[63:9] are
	 * reserved"), so a guest on AMD loses MCG_SER_P. Read it back: the
	 * guest is told this value, and the run says when it differs.
	 */
	v->mcg_cap_kvm = mcg_cap;
	if (vm->kvm->caps.mce_banks && vcpu_get_msr(v, MCEFWD_MSR_IA32_MCG_CAP, &v->mcg_cap_kvm) < 0)
		v->mcg_cap_kvm = mcg_cap;
	/* Known to forwarding (and routable) only once it exists: a failed create leaves nothing behind. */
	forward_vcpu_init(&v->fwd, &vm->fwd, id, &vcpu_fwd_port, v);
	return v;

err_unmap:
	munmap(v->run, v->run_size);
err_close:
	close(v->fd);
err_free:
	error_wrap(EINVAL, "vcpu-%u", id);
	free(v);
	return NULL;
}

void vcpu_destroy(struct vcpu *v)
{
	if (!v)
		return;
	munmap(v->run, v->run_size);
	close(v->fd);
	free(v);
}

int vcpu_set_boot_state(struct vcpu *v, uint64_t entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int r;

	r = kvm_ioctl(v->fd, KVM_GET_SREGS, &sregs);
	if (r < 0)
		return r;
	boot_sregs(&sregs);
	r = kvm_ioctl(v->fd, KVM_SET_SREGS, &sregs);
	if (r < 0)
		return r;
	boot_regs(&regs, entry, v->id, v->vm->nr_vcpus, v->mcg_cap_kvm);
	r = kvm_ioctl(v->fd, KVM_SET_REGS, &regs);
	if (r < 0)
		return r;
	/* What vcpu_port_rip() reads until the next KVM_RUN refreshes it. */
	v->run->s.regs.regs = regs;
	return 0;
}

int vcpu_dump_regs(struct vcpu *v, char *buf, size_t len)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (kvm_ioctl(v->fd, KVM_GET_REGS, &r) < 0 ||
	    kvm_ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return snprintf(buf, len, "registers unavailable: %s", error_get());
	return snprintf(buf, len,
			"rip=0x%016llx rsp=0x%016llx rflags=0x%08llx\n"
			"rax=0x%016llx rbx=0x%016llx rcx=0x%016llx rdx=0x%016llx\n"
			"rsi=0x%016llx rdi=0x%016llx rbp=0x%016llx r8=0x%016llx\n"
			"cr0=0x%016llx cr2=0x%016llx cr3=0x%016llx cr4=0x%016llx efer=0x%llx\n"
			"cs=0x%04x ss=0x%04x",
			r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi,
			r.rdi, r.rbp, r.r8, s.cr0, s.cr2, s.cr3, s.cr4, s.efer,
			s.cs.selector, s.ss.selector);
}

int vcpu_abort_mmio(struct vcpu *v)
{
	struct kvm_regs regs;
	int r;

	/*
	 * KVM only finishes an MMIO exit on the next KVM_RUN (the emulator
	 * writes the read data and moves RIP on). Enter with immediate_exit
	 * so that happens and nothing else, then put the registers back as
	 * they were at the exit: the access never retired, as on hardware
	 * when a load consumes poison.
	 */
	r = kvm_ioctl(v->fd, KVM_GET_REGS, &regs);
	if (r < 0)
		return r;
	memset(v->run->mmio.data, 0xff, sizeof(v->run->mmio.data));
	v->run->immediate_exit = 1;
	r = kvm_ioctl_raw(v->fd, KVM_RUN, NULL);
	kick_after_run(v);
	if (r != -EINTR)
		return error_set(r < 0 ? -r : EIO, "completing the MMIO exit: KVM_RUN returned %d, expected -EINTR", r);
	r = kvm_ioctl(v->fd, KVM_SET_REGS, &regs);
	if (r < 0)
		return r;
	v->run->s.regs.regs = regs;
	return 0;
}

int vcpu_complete_exit(struct vcpu *v)
{
	int r;

	if (v->run->exit_reason != KVM_EXIT_IO && v->run->exit_reason != KVM_EXIT_MMIO)
		return 0;
	/*
	 * KVM finishes an I/O or MMIO exit (moves RIP past the OUT) only on
	 * the next KVM_RUN: let it, and nothing else, before reading RIP.
	 */
	v->run->immediate_exit = 1;
	r = kvm_ioctl_raw(v->fd, KVM_RUN, NULL);
	kick_after_run(v);
	v->run->exit_reason = KVM_EXIT_INTR;
	if (r != -EINTR)
		return error_set(r < 0 ? -r : EIO, "completing an I/O exit: KVM_RUN returned %d, not -EINTR",
				 r);
	return 0;
}

int vcpu_get_msr(struct vcpu *v, uint32_t index, uint64_t *val)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m;
	int r;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.e.index = index;
	r = kvm_ioctl(v->fd, KVM_GET_MSRS, &m);
	if (r < 0)
		return r;
	if (r != 1)
		return error_set(EIO, "KVM_GET_MSRS: MSR 0x%x not read", index);
	*val = m.e.data;
	return 0;
}

void vcpu_finish(struct vcpu *v, enum vcpu_outcome o, const char *why)
{
	if (v->res.outcome != VCPU_RUNNING)
		return;
	v->res.outcome = o;
	if (why) {
		size_t n = strnlen(why, sizeof(v->res.error) - 1);

		memcpy(v->res.error, why, n);
		v->res.error[n] = '\0';
	}
}

void vcpu_stop(struct vcpu *v, enum fwd_stop reason, const char *text)
{
	if (v->res.outcome == VCPU_RUNNING)
		v->res.stop = reason;
	vcpu_finish(v, VCPU_MCE_STOPPED, text);
}

void vcpu_fail(struct vcpu *v, const char *what)
{
	char regs[1024];

	vcpu_finish(v, VCPU_ERROR, what);
	vcpu_dump_regs(v, regs, sizeof(regs));
	vm_diag(v->vm, "vcpu-%u: %s", v->id, what);
	for (char *line = strtok(regs, "\n"); line; line = strtok(NULL, "\n"))
		vm_diag(v->vm, "vcpu-%u:   %s", v->id, line);
}

static void vcpu_stopped(struct vcpu *v)
{
	struct kvm_regs regs;

	if (kvm_ioctl_raw(v->fd, KVM_GET_REGS, &regs) == 0)
		v->res.stop_rip = regs.rip;
	vcpu_finish(v, VCPU_STOPPED, "stopped by the host");
}

/*
 * Park for the pause in progress until its resume.  Called with vm->lock
 * held and vm->pause_requested set.  It waits for this pause's resume,
 * not for pause_requested to fall: the next pause may already have begun
 * when this thread wakes.
 */
static void vcpu_park_locked(struct vcpu *v)
{
	struct vm *vm = v->vm;
	unsigned int resume = vm->resume_seq;

	v->paused = true;
	v->parked_seq = vm->pause_seq;
	v->pauses++;
	pthread_cond_broadcast(&vm->parked);
	while (vm->resume_seq == resume)
		pthread_cond_wait(&vm->go, &vm->lock);
	v->paused = false;
}

void vcpu_wait_reset(struct vcpu *v)
{
	struct vm *vm = v->vm;

	/*
	 * Another vCPU is resetting the VM: park for its pause, so this
	 * vCPU's guest does not run on, and come back once it is done.
	 */
	pthread_mutex_lock(&vm->lock);
	while (atomic_load(&vm->resetting)) {
		if (vm->pause_requested && !v->paused) {
			vcpu_park_locked(v);
			continue;
		}
		pthread_cond_wait(&vm->go, &vm->lock);
	}
	pthread_mutex_unlock(&vm->lock);
}

static void vcpu_park(struct vcpu *v)
{
	struct vm *vm = v->vm;

	pthread_mutex_lock(&vm->lock);
	/* A stale request (the pause already ended) parks nobody. */
	if (vm->pause_requested)
		vcpu_park_locked(v);
	pthread_mutex_unlock(&vm->lock);
}

/* Handles requests; false when the vCPU must leave its loop. */
static bool vcpu_requests(struct vcpu *v)
{
	for (;;) {
		unsigned int req = kick_take(v);

		if (req & VCPU_REQ_STOP) {
			vcpu_stopped(v);
			return false;
		}
		if (!(req & VCPU_REQ_PAUSE))
			return true;
		/* Back from a pause: a stop asked meanwhile comes first. */
		vcpu_park(v);
	}
}

static void vcpu_loop(struct vcpu *v)
{
	const struct vm_ops *ops = v->vm->ops;
	char why[ERROR_MAX + 32];
	int r;

	while (v->res.outcome == VCPU_RUNNING) {
		/*
		 * Requests first, then the rings and inbox they announce. A
		 * producer pushes, then kicks: a kick taken here had its event
		 * pushed before, and the service below finds it; a kick after
		 * this take leaves its bit set for the check before KVM_RUN.
		 * The other order lost a kick that landed between the service
		 * and the take: its event waited in the inbox for an exit a
		 * spinning guest never made.
		 */
		if (!vcpu_requests(v))
			break;
		if (forward_vcpu_service(&v->fwd) < 0) {
			if (v->res.outcome == VCPU_RUNNING) {
				snprintf(why, sizeof(why), "forwarding: %s", error_get());
				vcpu_fail(v, why);
			}
			break;
		}
		if (ops && ops->before_run && ops->before_run(v) < 0) {
			snprintf(why, sizeof(why), "%s", error_get());
			vcpu_fail(v, why);
			break;
		}
		/*
		 * Publish in_run, then look at requests (seq_cst, paired with
		 * kick()): either this sees the kicker's request or the kicker
		 * sees in_run and signals. Exchanges, not stores: helgrind
		 * takes a locked instruction for the atomic it is.
		 */
		atomic_exchange(&v->in_run, 1);
		if (atomic_load(&v->requests)) {
			atomic_exchange(&v->in_run, 0);
			continue;
		}
		r = ioctl(v->fd, KVM_RUN, NULL);
		if (r < 0)
			r = -errno;
		atomic_exchange(&v->in_run, 0);
		kick_after_run(v);
		v->eintr = r == -EINTR;
		v->res.exits++;
		if (r == -EINTR || r == -EAGAIN)
			continue;	/* a kick or a signal: see the requests */
		if (r < 0) {
			snprintf(why, sizeof(why), "KVM_RUN: %s", strerror(-r));
			vcpu_fail(v, why);
			break;
		}
		exit_handle(v);
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	char name[16];
	uint64_t one = 1;
	sigset_t stop;

	vcpu_self = v;
	/* SIGINT/SIGTERM are the main thread's: it stops the VM and cleans up. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	snprintf(name, sizeof(name), "vcpu-%u", v->id);
	pthread_setname_np(pthread_self(), name);
	/* Wait until every thread exists, so any vCPU may kick any other. */
	pthread_mutex_lock(&vm->lock);
	while (!vm->started)
		pthread_cond_wait(&vm->go, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	if (kick_vcpu_setup(v) < 0)
		vcpu_fail(v, error_get());
	if (vm->cfg.numa_node >= 0 && numa_available() >= 0 &&
	    numa_run_on_node(vm->cfg.numa_node) < 0)
		vcpu_fail(v, "numa_run_on_node failed");
	forward_vcpu_attach(&v->fwd, v->run, &v->requests, VCPU_REQ_WORK);
	vcpu_loop(v);

	/* done before the detach: from here on, no event is routed here. */
	pthread_mutex_lock(&vm->lock);
	v->done = true;
	pthread_cond_broadcast(&vm->parked);
	pthread_mutex_unlock(&vm->lock);
	forward_vcpu_detach(&v->fwd);
	atomic_fetch_sub(&vm->nr_running, 1);
	if (write(vm->event_fd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow here; nothing else to do. */
	}
	vcpu_self = NULL;
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	int r;

	atomic_fetch_add(&v->vm->nr_running, 1);
	r = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (r) {
		atomic_fetch_sub(&v->vm->nr_running, 1);
		return error_set(r, "cannot start the thread of vcpu-%u: %s", v->id,
				 strerror(r));
	}
	v->started = true;
	return 0;
}
