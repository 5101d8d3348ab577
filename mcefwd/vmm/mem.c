// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <numa.h>
#include <numaif.h>
#include <linux/kvm.h>

#include "inject/vmm.h"
#include "mcefwd/util/error.h"
#include "mcefwd/vmm/kvm.h"
#include "mcefwd/vmm/mem.h"

#define SZ_2M (2UL << 20)

static const char *const kind_names[MEM_KIND_COUNT] = {
	[MEM_ANON] = "anon", [MEM_THP] = "thp", [MEM_HUGETLB] = "hugetlb",
	[MEM_MEMFD] = "memfd",
};

const char *mem_kind_name(enum mem_kind kind)
{
	return kind < MEM_KIND_COUNT ? kind_names[kind] : "?";
}

int mem_kind_parse(const char *s, enum mem_kind *out)
{
	for (int k = 0; k < MEM_KIND_COUNT; k++) {
		if (!strcmp(s, kind_names[k])) {
			*out = (enum mem_kind)k;
			return 0;
		}
	}
	return -EINVAL;
}

void mem_init_table(struct guest_mem *m)
{
	memset(m, 0, sizeof(*m));
	m->memfd = -1;
	m->page_size = 4096;
}

int mem_slot_add(struct guest_mem *m, uint64_t gpa, uint64_t size, void *hva)
{
	if (m->nr_slots >= MEM_MAX_SLOTS)
		return error_set(ENOSPC, "memslot table full (%d slots)", MEM_MAX_SLOTS);
	if (!size || gpa + size < gpa || (uintptr_t)hva + size < (uintptr_t)hva)
		return error_set(EINVAL, "memslot gpa 0x%lx size 0x%lx wraps or is empty",
				 (unsigned long)gpa, (unsigned long)size);
	for (unsigned int i = 0; i < m->nr_slots; i++) {
		const struct mem_slot *s = &m->slots[i];

		if (gpa < s->gpa + s->size && s->gpa < gpa + size)
			return error_set(EEXIST, "memslot gpa 0x%lx+0x%lx overlaps slot %u",
					 (unsigned long)gpa, (unsigned long)size, s->slot);
	}
	m->slots[m->nr_slots] = (struct mem_slot){
		.slot = m->nr_slots, .gpa = gpa, .size = size, .hva = hva,
	};
	m->nr_slots++;
	return 0;
}

void *mem_gpa_to_hva(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < m->nr_slots; i++) {
		const struct mem_slot *s = &m->slots[i];

		if (gpa < s->gpa || gpa - s->gpa >= s->size)
			continue;
		if (len > s->size - (gpa - s->gpa))
			return NULL;
		return s->hva + (gpa - s->gpa);
	}
	return NULL;
}

bool mem_hva_to_gpa(const struct guest_mem *m, const void *hva, uint64_t *gpa)
{
	uintptr_t h = (uintptr_t)hva;

	for (unsigned int i = 0; i < m->nr_slots; i++) {
		const struct mem_slot *s = &m->slots[i];
		uintptr_t base = (uintptr_t)s->hva;

		if (h >= base && h - base < s->size) {
			*gpa = s->gpa + (h - base);
			return true;
		}
	}
	return false;
}

/*
 * Names anonymous guest RAM "[anon:mcefwd-guest-ram]" in /proc/PID/maps,
 * as memfd RAM is named by its file, so that mcefwd-inject can tell guest
 * RAM from the rest of this process (inject/vmm.h). Needs Linux 5.17 with
 * CONFIG_ANON_VMA_NAME; without it the RAM stays unnamed and the injector
 * refuses it unless told --any-process. Hugetlb RAM cannot be named: the
 * kernel names only anonymous mappings, and MAP_HUGETLB memory has a
 * hugetlbfs file behind it.
 */
static void mem_name(void *hva, uint64_t size)
{
	prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)hva, (unsigned long)size,
	      (unsigned long)VMM_RAM_NAME);
}

static void *mem_map(struct guest_mem *m, uint64_t size)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	uint8_t *p;

	switch (m->kind) {
	case MEM_HUGETLB:
		m->page_size = SZ_2M;
		m->map_size = size;
		/*
		 * Reserve the huge pages now: with MAP_NORESERVE a host short
		 * of them would answer the first touch with SIGBUS instead.
		 */
		return mmap(NULL, size, PROT_READ | PROT_WRITE,
			    (flags & ~MAP_NORESERVE) | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT), -1, 0);
	case MEM_MEMFD:
		m->memfd = memfd_create(VMM_RAM_NAME, MFD_CLOEXEC);
		if (m->memfd < 0)
			return MAP_FAILED;
		if (ftruncate(m->memfd, (off_t)size) < 0)
			return MAP_FAILED;
		m->map_size = size;
		return mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			    m->memfd, 0);
	case MEM_THP:
		/* Over-allocate so guest RAM starts on a 2 MiB boundary. */
		m->map_size = size + SZ_2M;
		p = mmap(NULL, m->map_size, PROT_READ | PROT_WRITE, flags, -1, 0);
		if (p == MAP_FAILED)
			return p;
		m->map = p;
		return (void *)(((uintptr_t)p + SZ_2M - 1) & ~(SZ_2M - 1));
	default:
		m->map_size = size;
		return mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
	}
}

int mem_create(struct guest_mem *m, uint64_t size, enum mem_kind kind, int numa_node)
{
	const char *what;
	void *ram;
	int r;

	mem_init_table(m);
	m->kind = kind;
	m->ram_size = size;
	ram = mem_map(m, size);
	if (ram == MAP_FAILED) {
		r = errno;
		if (kind == MEM_HUGETLB)
			error_set(r, "cannot map %lu MiB of 2 MiB huge pages for guest RAM: %s; reserve them first (echo N > /proc/sys/vm/nr_hugepages)",
				  (unsigned long)(size >> 20), strerror(r));
		else
			error_set(r, "cannot map %lu MiB of %s guest RAM: %s",
				  (unsigned long)(size >> 20), mem_kind_name(kind),
				  strerror(r));
		goto err_unmap;
	}
	if (!m->map)
		m->map = ram;
	if (kind == MEM_ANON || kind == MEM_THP)
		mem_name(ram, size);

	/*
	 * Guest pages must stay distinct frames: a KSM-merged page would make
	 * one poisoned frame hit several guest pages. PR_SET_MEMORY_MERGE (6.4)
	 * may have made the whole process mergeable; undo that where it exists.
	 */
	prctl(67 /* PR_SET_MEMORY_MERGE */, 0, 0, 0, 0);
	if (madvise(ram, size, MADV_UNMERGEABLE) && errno != EINVAL) {
		r = errno;
		what = "MADV_UNMERGEABLE";
		goto err_madvise;
	}
	if (kind == MEM_ANON && madvise(ram, size, MADV_NOHUGEPAGE) && errno != EINVAL) {
		r = errno;
		what = "MADV_NOHUGEPAGE";
		goto err_madvise;
	}
	if (kind == MEM_THP) {
		if (madvise(ram, size, MADV_HUGEPAGE)) {
			r = errno;
			what = "MADV_HUGEPAGE (is transparent_hugepage disabled?)";
			goto err_madvise;
		}
		m->page_size = SZ_2M;
	}
	if (numa_node >= 0) {
		r = mem_check_node(numa_node);
		if (r < 0) {
			r = -r;
			goto err_unmap;
		}
		/* Pages come on first touch: the policy decides where. */
		numa_tonode_memory(ram, size, numa_node);
	}
	r = mem_slot_add(m, 0, size, ram);
	if (r < 0)
		goto err_unmap;
	return 0;

err_madvise:
	error_set(r, "%s on guest RAM: %s", what, strerror(r));
err_unmap:
	if (m->map && m->map != MAP_FAILED)
		munmap(m->map, m->map_size);
	if (m->memfd >= 0)
		close(m->memfd);
	mem_init_table(m);
	return -r;
}

void mem_destroy(struct guest_mem *m)
{
	if (m->map && m->map != MAP_FAILED)
		munmap(m->map, m->map_size);
	if (m->memfd >= 0)
		close(m->memfd);
	mem_init_table(m);
}

int mem_register(const struct guest_mem *m, int vm_fd)
{
	for (unsigned int i = 0; i < m->nr_slots; i++) {
		const struct mem_slot *s = &m->slots[i];
		struct kvm_userspace_memory_region region = {
			.slot = s->slot,
			.guest_phys_addr = s->gpa,
			.memory_size = s->size,
			.userspace_addr = (uintptr_t)s->hva,
		};
		int r = kvm_ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region);

		if (r < 0)
			return error_wrap(-r, "memslot %u (gpa 0x%lx, %lu MiB)", s->slot,
					  (unsigned long)s->gpa,
					  (unsigned long)(s->size >> 20));
	}
	return 0;
}

static int mem_slot_set(const struct mem_slot *sl, int vm_fd, bool present)
{
	struct kvm_userspace_memory_region region = {
		.slot = sl->slot,
		.guest_phys_addr = sl->gpa,
		.memory_size = present ? sl->size : 0,
		.userspace_addr = (uintptr_t)sl->hva,
	};

	return kvm_ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
}

static int mem_remap(struct guest_mem *m, uint8_t *hva, uint64_t size)
{
	int prot = PROT_READ | PROT_WRITE;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED;
	void *p;

	switch (m->kind) {
	case MEM_MEMFD: {
		off_t off = (off_t)(hva - (uint8_t *)m->map);

		/* Drop the old page from the file, then map the hole afresh. */
		if (fallocate(m->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
			      (off_t)size))
			return -errno;
		p = mmap(hva, size, prot, MAP_SHARED | MAP_FIXED, m->memfd, off);
		break;
	}
	case MEM_HUGETLB:
		p = mmap(hva, size, prot, (flags & ~MAP_NORESERVE) | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT),
			 -1, 0);
		break;
	default:
		p = mmap(hva, size, prot, flags, -1, 0);
		break;
	}
	if (p == MAP_FAILED)
		return -errno;
	if (m->kind == MEM_ANON)
		madvise(hva, size, MADV_NOHUGEPAGE);
	else if (m->kind == MEM_THP)
		madvise(hva, size, MADV_HUGEPAGE);
	/* A new mapping has no name: the replaced page is guest RAM still. */
	if (m->kind == MEM_ANON || m->kind == MEM_THP)
		mem_name(hva, size);
	return 0;
}

int mem_replace(struct guest_mem *m, int vm_fd, uint64_t gpa, uint64_t size)
{
	uint64_t unit = m->kind == MEM_HUGETLB ? m->page_size : 4096;
	uint64_t base = gpa & ~(unit - 1);
	uint64_t len = ((gpa + size + unit - 1) & ~(unit - 1)) - base;
	uint8_t *hva = mem_gpa_to_hva(m, base, len);
	const struct mem_slot *sl = NULL;
	int r, r2;

	for (unsigned int i = 0; i < m->nr_slots; i++)
		if (base >= m->slots[i].gpa && base - m->slots[i].gpa < m->slots[i].size)
			sl = &m->slots[i];
	if (!hva || !sl)
		return error_set(EINVAL, "gpa 0x%lx+0x%lx is not guest RAM",
				 (unsigned long)gpa, (unsigned long)size);
	r = mem_slot_set(sl, vm_fd, false);
	if (r < 0)
		return error_wrap(-r, "taking memslot %u away", sl->slot);
	r = mem_remap(m, hva, len);
	if (r < 0)
		error_set(-r, "replacing gpa 0x%lx+0x%lx: %s", (unsigned long)base,
			  (unsigned long)len, strerror(-r));
	/* Give the slot back even if the remap failed: the old memory is there. */
	r2 = mem_slot_set(sl, vm_fd, true);
	if (r2 < 0)
		return error_wrap(-r2, "giving memslot %u back", sl->slot);
	return r;
}

int mem_check_node(int node)
{
	if (numa_available() < 0)
		return node == 0 ? 0 :
			error_set(EINVAL, "NUMA node %d: this host has no NUMA support (only node 0)", node);
	if (node < 0 || node > numa_max_node() || !numa_bitmask_isbitset(numa_all_nodes_ptr, (unsigned int)node))
		return error_set(EINVAL, "NUMA node %d does not exist: this host has nodes 0-%d",
				 node, numa_max_node());
	return 0;
}

int mem_node_of(const void *hva)
{
	int node = -1;

	if (numa_available() < 0)
		return -1;
	if (get_mempolicy(&node, NULL, 0, (void *)hva, MPOL_F_NODE | MPOL_F_ADDR))
		return -1;
	return node;
}
