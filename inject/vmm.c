// SPDX-License-Identifier: GPL-2.0-only
/*
 * The proof that a target is a KVM VMM, and that an address is mcefwd's
 * guest RAM (vmm.h).
 *
 * How strong the guest RAM proof is: a mapping's name is what the process
 * that owns it declared (prctl(PR_SET_VMA_ANON_NAME) or memfd_create()),
 * not something KVM reports: KVM does not publish its memslots. A process
 * that holds a VM and names a mapping "mcefwd-guest-ram" could name any
 * memory so, and a VMM other than mcefwd could name its RAM so on purpose.
 * What it rules out is what mcefwd-inject is for: a wrong PID or a wrong
 * address (a shell, a database, the VMM's heap, a thread's stack, a
 * malloc'd buffer) are never both a VM holder and inside that name. It is
 * no defence against a root user who wants to poison something else, which
 * root can do without this tool. The safety rules still apply on top
 * (present, not shared, not file-backed, ...), and the frame is checked
 * again around the write (the injector's main flow).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inject/vmm.h"
#include "mcefwd/util/error.h"

bool vmm_link_is_kvm_vm(const char *link)
{
	return link && !strcmp(link, VMM_KVM_VM_LINK);
}

int vmm_find_kvm_vm(pid_t pid, int *fd)
{
	char dir[64], path[64 + 256], link[128];
	struct dirent *e;
	int found = -1, err;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d) {
		err = errno;
		if (err == ENOENT)
			return error_set(ESRCH, "no process %d", (int)pid);
		return error_set(err, "%s: %s%s", dir, strerror(err),
				 err == EACCES || err == EPERM ?
				 ": telling a KVM VMM by its descriptors needs ptrace access to it: run as root" : "");
	}
	while (found < 0 && (e = readdir(d))) {
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;	/* closed since readdir */
		link[n] = '\0';
		if (vmm_link_is_kvm_vm(link))
			found = atoi(e->d_name);
	}
	closedir(d);
	if (found < 0)
		return error_set(ENOENT,
				 "pid %d holds no KVM VM (no %s among %s): not a KVM VMM; "
				 "--any-process poisons a process that is not one",
				 (int)pid, VMM_KVM_VM_LINK, dir);
	if (fd)
		*fd = found;
	return 0;
}

bool vmm_mapping_is_ram(const struct maps_entry *m)
{
	if (!m)
		return false;
	switch (m->kind) {
	case MAPS_ANON:
		return !strcmp(m->path, "[anon:" VMM_RAM_NAME "]");
	case MAPS_MEMFD:
		return !strcmp(m->path, "/memfd:" VMM_RAM_NAME " (deleted)") ||
		       !strcmp(m->path, "/memfd:" VMM_RAM_NAME);
	default:
		return false;
	}
}

int vmm_judge_ram(const struct maps_entry *maps, size_t n, pid_t pid, uint64_t addr,
		  size_t size)
{
	const struct maps_entry *m = maps_find(maps, n, addr);
	char where[MAPS_PATH_MAX + 64];

	if (m && vmm_mapping_is_ram(m) && size <= m->end - addr)
		return 0;
	if (!m)
		snprintf(where, sizeof(where), "in no mapping");
	else if (vmm_mapping_is_ram(m))
		snprintf(where, sizeof(where), "guest RAM up to 0x%" PRIx64 " only", m->end);
	else if (m->path[0])
		snprintf(where, sizeof(where), "in %s", m->path);
	else
		snprintf(where, sizeof(where), "in the unnamed mapping 0x%" PRIx64 "-0x%" PRIx64,
			 m->start, m->end);
	return error_set(EPERM,
			 "refused: 0x%" PRIx64 "+0x%zx of pid %d is %s, not guest RAM: mcefwd "
			 "names its RAM [anon:" VMM_RAM_NAME "] or /memfd:" VMM_RAM_NAME "; for "
			 "QEMU give --qmp SOCKET --gpa GPA; --any-process poisons memory not proven "
			 "guest RAM",
			 addr, size, (int)pid, where);
}
