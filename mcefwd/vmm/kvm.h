/* SPDX-License-Identifier: GPL-2.0-only */
/* /dev/kvm: opening it, probing what it offers once, and ioctl wrappers. */
#ifndef MCEFWD_KVM_H
#define MCEFWD_KVM_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

/* Newer than Debian 12's headers; values from include/uapi/linux/kvm.h. */
#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2 231
#endif
#ifndef KVM_CAP_MEMORY_FAULT_INFO
#define KVM_CAP_MEMORY_FAULT_INFO 232
#endif
#ifndef KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD 234
#endif
#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT 39
#endif

#define KVM_DEV_PATH "/dev/kvm"

/* Everything mcefwd asks of /dev/kvm, probed once by kvm_open(). */
struct kvm_caps {
	int api_version;
	int immediate_exit;		/* KVM_CAP_IMMEDIATE_EXIT */
	int mce_banks;			/* KVM_CAP_MCE: max banks, 0 = no MCE */
	uint64_t mcg_cap_supported;	/* KVM_X86_GET_MCE_CAP_SUPPORTED */
	int user_memory;		/* KVM_CAP_USER_MEMORY */
	int user_memory2;		/* KVM_CAP_USER_MEMORY2 */
	int set_tss_addr;		/* KVM_CAP_SET_TSS_ADDR */
	int nr_vcpus;			/* KVM_CAP_NR_VCPUS (recommended) */
	int max_vcpus;			/* KVM_CAP_MAX_VCPUS */
	int vcpu_events;		/* KVM_CAP_VCPU_EVENTS */
	int sync_mmu;			/* KVM_CAP_SYNC_MMU */
	int memory_fault_info;		/* KVM_CAP_MEMORY_FAULT_INFO */
	int guest_memfd;		/* KVM_CAP_GUEST_MEMFD */
	int vcpu_mmap_size;
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID */
	char vendor[13];		/* host CPU vendor string */
	unsigned int family, model, stepping;
};

struct kvm {
	int fd;
	struct kvm_caps caps;
};

/* Opens /dev/kvm and probes; on failure the error says what to do. */
int kvm_open(struct kvm *kvm);
void kvm_close(struct kvm *kvm);

/* ioctl returning the result or -errno, setting no message. */
int kvm_ioctl_raw(int fd, unsigned long req, void *arg);
/* Same, and on failure sets the message "NAME: strerror". */
int kvm_ioctl_named(int fd, unsigned long req, const char *name, void *arg);
#define kvm_ioctl(fd, req, arg) kvm_ioctl_named((fd), (req), #req, (arg))

/* "KVM_EXIT_IO" for 2; "KVM_EXIT_#N" (static buffer per thread) if unknown. */
const char *kvm_exit_name(uint32_t reason);

/* Finds a CPUID entry (function, index) in a cpuid2 list, or NULL. */
struct kvm_cpuid_entry2 *kvm_cpuid_find(struct kvm_cpuid2 *cpuid,
					uint32_t function, uint32_t index);

#endif
