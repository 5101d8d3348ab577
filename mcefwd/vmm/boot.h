/* SPDX-License-Identifier: GPL-2.0-only */
/* The 64-bit boot state: page tables, GDT and the registers each vCPU starts with. */
#ifndef MCEFWD_BOOT_H
#define MCEFWD_BOOT_H

#include <stdint.h>
#include <linux/kvm.h>

#include "mcefwd/vmm/mem.h"

/* Writes page tables, GDT and TSS into guest RAM (layout in abi.h). */
int boot_setup_memory(struct guest_mem *mem);
/* Long mode, paging on, flat segments; keeps what KVM_GET_SREGS filled. */
void boot_sregs(struct kvm_sregs *s);
void boot_regs(struct kvm_regs *r, uint64_t entry, unsigned int id,
	       unsigned int nr_vcpus, uint64_t mcg_cap);

#endif
