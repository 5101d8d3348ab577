/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What makes a process a KVM VMM and an address its guest RAM, in the eyes
 * of mcefwd-inject (the safety rules of safety.h say only what kind of
 * memory a page is, not whose):
 *
 *   - the process holds a VM: one of its /proc/PID/fd links reads
 *     "anon_inode:kvm-vm" (what KVM_CREATE_VM returns);
 *   - the address is guest RAM: QEMU says so (qmp.h, gpa2hva), or it lies
 *     in a mapping named as mcefwd names its own guest RAM (VMM_RAM_NAME:
 *     "[anon:mcefwd-guest-ram]" through PR_SET_VMA_ANON_NAME, or
 *     "/memfd:mcefwd-guest-ram").
 */
#ifndef MCEFWD_INJECT_VMM_H
#define MCEFWD_INJECT_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "inject/maps.h"

/* The name mcefwd's VMM (mcefwd/vmm/mem.c) gives its guest RAM mappings. */
#define VMM_RAM_NAME "mcefwd-guest-ram"
/* What /proc/PID/fd/N reads for a KVM VM's file descriptor. */
#define VMM_KVM_VM_LINK "anon_inode:kvm-vm"

/* Pure: whether a /proc/PID/fd link target is a KVM VM. */
bool vmm_link_is_kvm_vm(const char *link);

/*
 * Whether pid holds a KVM VM: 0 with *fd the first such descriptor;
 * -ENOENT when it holds none, -ESRCH when there is no such process, else
 * -errno; error_get() says which, and what to do.
 */
int vmm_find_kvm_vm(pid_t pid, int *fd);

/* Pure: whether m is a mapping named as mcefwd's guest RAM. */
bool vmm_mapping_is_ram(const struct maps_entry *m);

/*
 * Pure: 0 if [addr, addr + size) lies in one mapping of maps[0..n) that
 * vmm_mapping_is_ram(); else -EPERM with error_get() naming the address,
 * the mapping it is in, and the ways to name guest RAM instead.
 */
int vmm_judge_ram(const struct maps_entry *maps, size_t n, pid_t pid, uint64_t addr,
		  size_t size);

#endif /* MCEFWD_INJECT_VMM_H */
