/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Machine-check encoding: what QEMU's kvm_mce_inject() writes into a guest
 * bank for a host memory error, bit for bit, per QEMU version and guest
 * vendor. Pure: no syscalls, no printing, no mutable state.
 */
#ifndef MCEFWD_MCE_H
#define MCEFWD_MCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

/*
 * IA32_MCi_STATUS (Intel SDM vol. 3B, "IA32_MCi_STATUS MSRs"; QEMU
 * target/i386/cpu.h MCI_STATUS_*). S and AR only mean that on Intel.
 */
#define MCE_STATUS_VAL		(1ULL << 63)	/* register valid */
#define MCE_STATUS_OVER		(1ULL << 62)	/* error overflow */
#define MCE_STATUS_UC		(1ULL << 61)	/* uncorrected error */
#define MCE_STATUS_EN		(1ULL << 60)	/* error reporting enabled */
#define MCE_STATUS_MISCV	(1ULL << 59)	/* MCi_MISC valid */
#define MCE_STATUS_ADDRV	(1ULL << 58)	/* MCi_ADDR valid */
#define MCE_STATUS_PCC		(1ULL << 57)	/* processor context corrupt */
#define MCE_STATUS_S		(1ULL << 56)	/* signaled by #MC (Intel) */
#define MCE_STATUS_AR		(1ULL << 55)	/* action required (Intel) */
/* AMD MCA_STATUS (AMD APM vol. 2; QEMU target/i386/cpu.h) */
#define MCE_STATUS_DEFERRED	(1ULL << 44)	/* deferred error */
#define MCE_STATUS_POISON	(1ULL << 43)	/* poisoned data consumed */
#define MCE_STATUS_MCACOD_MASK	0xffffULL	/* bits 15:0 MCA error code */
#define MCE_STATUS_MSCOD_SHIFT	16		/* bits 31:16 model specific */
#define MCE_STATUS_MSCOD_MASK	0xffff0000ULL

/*
 * MCA error codes QEMU uses (Intel SDM vol. 3B, "Architecturally Defined
 * SRAR/SRAO Errors"): SRAR data load and SRAO memory scrubbing.
 */
#define MCE_MCACOD_SRAR_DATA_LOAD	0x134ULL
#define MCE_MCACOD_SRAO_MEM_SCRUB	0xc0ULL

/* IA32_MCG_STATUS (Intel SDM vol. 3B; QEMU target/i386/cpu.h MCG_STATUS_*) */
#define MCE_MCG_STATUS_RIPV	(1ULL << 0)	/* restart IP valid */
#define MCE_MCG_STATUS_EIPV	(1ULL << 1)	/* error IP valid */
#define MCE_MCG_STATUS_MCIP	(1ULL << 2)	/* machine check in progress */
#define MCE_MCG_STATUS_LMCE	(1ULL << 3)	/* local machine check */

/* IA32_MCG_CAP (Intel SDM vol. 3B; QEMU target/i386/cpu.h MCG_*_P) */
#define MCE_MCG_CAP_COUNT_MASK	0xffULL		/* bits 7:0 number of banks */
#define MCE_MCG_CTL_P		(1ULL << 8)	/* IA32_MCG_CTL present */
#define MCE_MCG_EXT_P		(1ULL << 9)	/* extended MSRs present */
#define MCE_MCG_CMCI_P		(1ULL << 10)	/* CMCI supported */
#define MCE_MCG_TES_P		(1ULL << 11)	/* threshold error status */
#define MCE_MCG_EXT_CNT_MASK	0xff0000ULL	/* bits 23:16 extended MSR count */
#define MCE_MCG_SER_P		(1ULL << 24)	/* software error recovery */
#define MCE_MCG_EMC_P		(1ULL << 25)	/* enhanced MC capability */
#define MCE_MCG_ELOG_P		(1ULL << 26)	/* extended error logging */
#define MCE_MCG_LMCE_P		(1ULL << 27)	/* local machine check */
/* What kvm_amd keeps of MCG_CAP: bits 8:0 (svm_setup_mce(), "[63:9] are reserved"). */
#define MCE_MCG_CAP_SVM_MASK	0x1ffULL

/*
 * IA32_MCi_MISC (Intel SDM vol. 3B; QEMU target/i386/cpu.h MCM_ADDR_PHYS):
 * bits 5:0 the least significant valid address bit, 8:6 the address mode.
 */
#define MCE_MCM_ADDR_PHYS	2ULL
#define MCE_MISC_ADDR_MODE_SHIFT 6
#define MCE_MISC_LSB_4K		12ULL
#define MCE_MISC_PHYS_4K \
	((MCE_MCM_ADDR_PHYS << MCE_MISC_ADDR_MODE_SHIFT) | MCE_MISC_LSB_4K)

/* KVM_MAX_MCE_BANKS (arch/x86/kvm/x86.c), what KVM_CAP_MCE reports. */
#define MCE_KVM_MAX_BANKS	32
/* QEMU injects host memory errors into bank 9 (target/i386/kvm/kvm.c). */
#define MCE_QEMU_BANK		9
/* The bank the other vCPUs get on a broadcast (QEMU cpu_x86_inject_mce). */
#define MCE_BROADCAST_BANK	1

enum mce_profile {
	MCE_PROFILE_QEMU62,	/* "qemu-6.2": AR without RIPV */
	MCE_PROFILE_QEMU7,	/* "qemu-7": Intel encoding of QEMU >= 7.0 */
	MCE_PROFILE_AMD,	/* "amd": AMD guest encoding of QEMU >= 9.1 */
};
#define MCE_PROFILE_DEFAULT	MCE_PROFILE_QEMU7

enum mce_kind {
	MCE_AR,			/* BUS_MCEERR_AR: action required */
	MCE_AO,			/* BUS_MCEERR_AO: action optional */
};

enum mce_verdict {
	MCE_DELIVER,		/* build the bank state and KVM_X86_SET_MCE it */
	MCE_STOP_VM,		/* QEMU's hardware_memory_error(): exit */
	MCE_IGNORE,		/* nothing to deliver */
};

/* 0, or -EINVAL for a name other than "qemu-6.2", "qemu-7", "amd". */
int mce_profile_parse(const char *s, enum mce_profile *out);
/* The name mce_profile_parse() accepts, or "unknown". */
const char *mce_profile_name(enum mce_profile profile);
bool mce_profile_is_amd(enum mce_profile profile);

/*
 * Whether mcefwd's own model injects a memory error: it needs MCG_SER_P in
 * the guest's MCG_CAP and the address in guest RAM, as QEMU's
 * kvm_arch_on_sigbus_vcpu() does (where QEMU then exits for an AR it cannot
 * forward, mcefwd stops the VM: MCE_STOP_VM). *reason
 * (if reason is not NULL) gets a static one-line explanation.
 */
enum mce_verdict mce_decide(enum mce_kind kind, uint64_t mcg_cap,
			    bool in_guest_ram, const char **reason);

/*
 * Whether the guest's MCG_EXT_CTL.LMCE_EN takes effect: an Intel profile
 * whose MCG_CAP has MCG_LMCE_P.
 */
bool mce_lmce_active(enum mce_profile profile, uint64_t mcg_cap,
		     bool lmce_enabled);

/*
 * Fill *out with the bank state QEMU injects for an error at gpa, in bank
 * (QEMU: MCE_QEMU_BANK). lmce_enabled is the guest's MCG_EXT_CTL.LMCE_EN.
 * 0, or -EINVAL for a bad profile or kind, or a bank not below both the
 * MCG_CAP bank count and MCE_KVM_MAX_BANKS.
 */
int mce_build(enum mce_profile profile, enum mce_kind kind, uint64_t gpa,
	      unsigned int bank, uint64_t mcg_cap, bool lmce_enabled,
	      struct kvm_x86_mce *out);

/*
 * What every other vCPU gets when the error is broadcast (Intel only).
 * 0, -EOPNOTSUPP for the amd profile, -EINVAL for a bad profile.
 */
int mce_build_broadcast(enum mce_profile profile, struct kvm_x86_mce *out);
/* cpu_x86_inject_mce's bank-1 error itself: VAL|UC, MCG_STATUS MCIP|RIPV. */
struct kvm_x86_mce mce_broadcast_record(void);

/*
 * Whether mcefwd's own model broadcasts: never for the amd profile nor
 * with LMCE (lmce_enabled: the effective state, see mce_lmce_active()),
 * else QEMU's cpu_x86_support_mca_broadcast() for the guest's CPUID 1 EAX
 * (qemu_model_family_broadcasts).
 */
bool mce_wants_broadcast(enum mce_profile profile, uint32_t cpuid_version, bool lmce_enabled);

/*
 * Validate a MCG_CAP for KVM_X86_SETUP_MCE against the host's
 * KVM_X86_GET_MCE_CAP_SUPPORTED and KVM_CAP_MCE bank count. 0, or -EINVAL
 * with why (if why and len) filled with the reason naming the bits.
 */
int mce_cap_check(uint64_t requested, uint64_t supported,
		  unsigned int max_banks, char *why, size_t len);

/*
 * Human decodings ("VAL|UC|EN|MISCV|ADDRV|S|AR MCACOD=0x134 MSCOD=0x0",
 * "MCIP|RIPV|EIPV"). snprintf() conventions: buf is always terminated if
 * len > 0, and the return is the length the full text needs.
 */
size_t mce_status_describe(uint64_t status, bool amd, char *buf, size_t len);
size_t mce_mcg_status_describe(uint64_t mcg_status, char *buf, size_t len);
/* "MCG_CTL_P|MCG_SER_P, 10 banks" (the count only if non-zero). */
size_t mce_mcg_cap_describe(uint64_t mcg_cap, char *buf, size_t len);

/* 10 banks | MCG_CTL_P | MCG_SER_P: QEMU's MCE_CAP_DEF | MCE_BANKS_DEF. */
uint64_t mce_default_mcg_cap(void);

#endif /* MCEFWD_MCE_H */
