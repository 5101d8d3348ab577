/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest RAM and the memslot table: the one place that converts between
 * guest physical addresses (gpa) and host virtual addresses (hva).
 */
#ifndef MCEFWD_MEM_H
#define MCEFWD_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEM_MAX_SLOTS 8

enum mem_kind { MEM_ANON, MEM_THP, MEM_HUGETLB, MEM_MEMFD, MEM_KIND_COUNT };

struct mem_slot {
	uint32_t slot;
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct guest_mem {
	struct mem_slot slots[MEM_MAX_SLOTS];
	unsigned int nr_slots;
	uint64_t ram_size;
	enum mem_kind kind;
	size_t page_size;	/* host page size backing guest RAM */
	int memfd;		/* MEM_MEMFD only, else -1 */
	void *map;		/* what mmap returned, for munmap */
	size_t map_size;
};

const char *mem_kind_name(enum mem_kind kind);
int mem_kind_parse(const char *s, enum mem_kind *out);

/*
 * Allocates guest RAM (lazily, never KSM-merged) and its one memslot at gpa
 * 0; with numa_node >= 0 every page is bound to that node (libnuma).
 */
int mem_create(struct guest_mem *m, uint64_t size, enum mem_kind kind, int numa_node);

/* The NUMA node holding the page at hva, or -1 (not present, no NUMA). */
int mem_node_of(const void *hva);
/* 0 if node exists on this host, else -EINVAL with the nodes it has. */
int mem_check_node(int node);
void mem_destroy(struct guest_mem *m);

/* Pure table operations. */
void mem_init_table(struct guest_mem *m);
int mem_slot_add(struct guest_mem *m, uint64_t gpa, uint64_t size, void *hva);
/* The hva of [gpa, gpa + len) if it lies wholly inside one slot, else NULL. */
void *mem_gpa_to_hva(const struct guest_mem *m, uint64_t gpa, uint64_t len);
/* True and *gpa set if hva lies inside a slot. */
bool mem_hva_to_gpa(const struct guest_mem *m, const void *hva, uint64_t *gpa);

/* KVM_SET_USER_MEMORY_REGION for every slot. */
int mem_register(const struct guest_mem *m, int vm_fd);

/*
 * Replaces [gpa, gpa + size) of guest RAM with fresh zeroed memory of the
 * same kind (size whole huge pages for hugetlb), as a reset does for a
 * poisoned page. The memslot is taken away from KVM first and given back
 * after, so no vCPU can run against a half-replaced slot: call it with
 * every vCPU paused.
 */
int mem_replace(struct guest_mem *m, int vm_fd, uint64_t gpa, uint64_t size);

#endif
