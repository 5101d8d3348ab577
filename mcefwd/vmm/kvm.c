// SPDX-License-Identifier: GPL-2.0-only
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mcefwd/util/error.h"
#include "mcefwd/vmm/kvm.h"

int kvm_ioctl_raw(int fd, unsigned long req, void *arg)
{
	int r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

int kvm_ioctl_named(int fd, unsigned long req, const char *name, void *arg)
{
	int r = kvm_ioctl_raw(fd, req, arg);

	if (r < 0)
		error_set(-r, "%s: %s", name, strerror(-r));
	return r;
}

static const char *const exit_names[] = {
#define N(x) [KVM_EXIT_##x] = "KVM_EXIT_" #x
	N(UNKNOWN), N(EXCEPTION), N(IO), N(HYPERCALL), N(DEBUG), N(HLT),
	N(MMIO), N(IRQ_WINDOW_OPEN), N(SHUTDOWN), N(FAIL_ENTRY), N(INTR),
	N(SET_TPR), N(TPR_ACCESS), N(S390_SIEIC), N(S390_RESET), N(DCR),
	N(NMI), N(INTERNAL_ERROR), N(OSI), N(PAPR_HCALL), N(S390_UCONTROL),
	N(WATCHDOG), N(S390_TSCH), N(EPR), N(SYSTEM_EVENT), N(S390_STSI),
	N(IOAPIC_EOI), N(HYPERV), N(ARM_NISV), N(X86_RDMSR), N(X86_WRMSR),
	N(DIRTY_RING_FULL), N(AP_RESET_HOLD), N(X86_BUS_LOCK), N(XEN),
	N(RISCV_SBI), N(RISCV_CSR), N(NOTIFY), N(MEMORY_FAULT),
#undef N
	[38] = "KVM_EXIT_LOONGARCH_IOCSR",
};

const char *kvm_exit_name(uint32_t reason)
{
	static __thread char buf[32];

	if (reason < sizeof(exit_names) / sizeof(exit_names[0]) &&
	    exit_names[reason])
		return exit_names[reason];
	snprintf(buf, sizeof(buf), "KVM_EXIT_#%u", reason);
	return buf;
}

struct kvm_cpuid_entry2 *kvm_cpuid_find(struct kvm_cpuid2 *cpuid,
					uint32_t function, uint32_t index)
{
	for (uint32_t i = 0; cpuid && i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function != function)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != index)
			continue;
		return e;
	}
	return NULL;
}

static bool cpu_has_flag(const char *flag)
{
	char line[4096];
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *tok, *save = NULL;

		if (strncmp(line, "flags", 5))
			continue;
		for (tok = strtok_r(line, " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save))
			if (!strcmp(tok, flag))
				found = true;
		break;
	}
	fclose(f);
	return found;
}

static int kvm_open_error(int err)
{
	bool vmx = cpu_has_flag("vmx"), svm = cpu_has_flag("svm");

	if (err == EACCES || err == EPERM)
		return error_set(err, "cannot open %s: %s; run as root or add your user to the group that owns it (usually 'kvm')",
				 KVM_DEV_PATH, strerror(err));
	if (err != ENOENT && err != ENXIO && err != ENODEV)
		return error_set(err, "cannot open %s: %s", KVM_DEV_PATH, strerror(err));
	if (!vmx && !svm)
		return error_set(err, "%s is missing and this CPU shows neither vmx nor svm to the kernel: enable virtualisation in the firmware, or, inside a VM, enable nested virtualisation on its host (kvm_intel nested=1 / kvm_amd nested=1)",
				 KVM_DEV_PATH);
	if (access("/sys/module/kvm", F_OK))
		return error_set(err, "%s is missing: load KVM with 'modprobe %s'",
				 KVM_DEV_PATH, vmx ? "kvm_intel" : "kvm_amd");
	return error_set(err, "%s is missing although the kvm module is loaded: load '%s' (dmesg says why it refused, e.g. virtualisation disabled in the firmware)",
			 KVM_DEV_PATH, vmx ? "kvm_intel" : "kvm_amd");
}

static int kvm_check(int fd, long cap)
{
	int r = kvm_ioctl_raw(fd, KVM_CHECK_EXTENSION, (void *)cap);

	return r < 0 ? 0 : r;
}

static int kvm_probe_cpuid(struct kvm *kvm)
{
	for (uint32_t nent = 128; nent <= 4096; nent *= 2) {
		size_t size = sizeof(struct kvm_cpuid2) +
			      nent * sizeof(struct kvm_cpuid_entry2);
		/* calloc: the kernel fills only nent entries; keep the rest defined. */
		struct kvm_cpuid2 *c = calloc(1, size);
		int r;

		if (!c)
			return error_set(ENOMEM, "out of memory for CPUID");
		c->nent = nent;
		r = kvm_ioctl_raw(kvm->fd, KVM_GET_SUPPORTED_CPUID, c);
		if (r == -E2BIG) {
			free(c);
			continue;
		}
		if (r < 0) {
			free(c);
			return error_set(-r, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-r));
		}
		kvm->caps.cpuid = c;
		return 0;
	}
	return error_set(E2BIG, "KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

static void kvm_probe_vendor(struct kvm_caps *caps)
{
	unsigned int a, b, c, d;

	__cpuid(0, a, b, c, d);
	memcpy(caps->vendor + 0, &b, 4);
	memcpy(caps->vendor + 4, &d, 4);
	memcpy(caps->vendor + 8, &c, 4);
	caps->vendor[12] = '\0';
	__cpuid(1, a, b, c, d);
	caps->family = (a >> 8) & 0xf;
	caps->model = (a >> 4) & 0xf;
	caps->stepping = a & 0xf;
	if (caps->family == 0xf)
		caps->family += (a >> 20) & 0xff;
	if (caps->family >= 6)
		caps->model |= ((a >> 16) & 0xf) << 4;
}

int kvm_open(struct kvm *kvm)
{
	struct kvm_caps *caps = &kvm->caps;
	struct stat st;
	int r;

	memset(kvm, 0, sizeof(*kvm));
	kvm->fd = open(KVM_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (kvm->fd < 0) {
		r = kvm_open_error(errno);
		kvm->fd = -1;
		return r;
	}
	/*
	 * A regular file there (a shell's `: <>/dev/kvm` run as root creates
	 * one) answers every ioctl with ENOTTY: say what it is instead.
	 */
	if (fstat(kvm->fd, &st) == 0 && !S_ISCHR(st.st_mode)) {
		r = error_set(ENODEV, "%s is not a character device but a %s: not KVM (if nothing should be there, remove it)",
			      KVM_DEV_PATH, S_ISREG(st.st_mode) ? "regular file" :
			      S_ISDIR(st.st_mode) ? "directory" : "special file");
		goto err_close;
	}
	caps->api_version = kvm_ioctl_raw(kvm->fd, KVM_GET_API_VERSION, NULL);
	if (caps->api_version != KVM_API_VERSION) {
		r = error_set(EINVAL, "%s speaks KVM API version %d, mcefwd needs %d",
			      KVM_DEV_PATH, caps->api_version, KVM_API_VERSION);
		goto err_close;
	}
	caps->immediate_exit = kvm_check(kvm->fd, KVM_CAP_IMMEDIATE_EXIT);
	caps->mce_banks = kvm_check(kvm->fd, KVM_CAP_MCE);
	caps->user_memory = kvm_check(kvm->fd, KVM_CAP_USER_MEMORY);
	caps->user_memory2 = kvm_check(kvm->fd, KVM_CAP_USER_MEMORY2);
	caps->set_tss_addr = kvm_check(kvm->fd, KVM_CAP_SET_TSS_ADDR);
	caps->nr_vcpus = kvm_check(kvm->fd, KVM_CAP_NR_VCPUS);
	caps->max_vcpus = kvm_check(kvm->fd, KVM_CAP_MAX_VCPUS);
	caps->vcpu_events = kvm_check(kvm->fd, KVM_CAP_VCPU_EVENTS);
	caps->sync_mmu = kvm_check(kvm->fd, KVM_CAP_SYNC_MMU);
	caps->memory_fault_info = kvm_check(kvm->fd, KVM_CAP_MEMORY_FAULT_INFO);
	caps->guest_memfd = kvm_check(kvm->fd, KVM_CAP_GUEST_MEMFD);
	if (!caps->max_vcpus)
		caps->max_vcpus = caps->nr_vcpus ? caps->nr_vcpus : 4;
	if (caps->mce_banks > 0) {
		r = kvm_ioctl(kvm->fd, KVM_X86_GET_MCE_CAP_SUPPORTED,
			      &caps->mcg_cap_supported);
		if (r < 0)
			goto err_close;
	}
	r = kvm_ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (r < 0)
		goto err_close;
	caps->vcpu_mmap_size = r;
	r = kvm_probe_cpuid(kvm);
	if (r < 0)
		goto err_close;
	kvm_probe_vendor(caps);
	return 0;

err_close:
	close(kvm->fd);
	kvm->fd = -1;
	return r;
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->fd >= 0)
		close(kvm->fd);
	kvm->fd = -1;
	free(kvm->caps.cpuid);
	kvm->caps.cpuid = NULL;
}
