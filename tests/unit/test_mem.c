// SPDX-License-Identifier: GPL-2.0-only
/*
 * mem.c: the memslot table and the gpa <-> hva translation over fake host
 * buffers, then mem_create()/mem_destroy() for real (no /dev/kvm needed).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mcefwd/util/error.h"
#include "mcefwd/vmm/mem.h"

#define SZ_4K	0x1000ULL
#define SZ_64K	0x10000ULL
#define SZ_8M	(8ULL << 20)

static uint8_t buf_a[SZ_64K];
static uint8_t buf_b[SZ_64K];

static void assert_error_mentions(const char *what)
{
	if (!strstr(error_get(), what))
		fail_msg("error \"%s\" does not mention \"%s\"", error_get(), what);
}

static void test_init_table(void **state)
{
	struct guest_mem m;

	(void)state;
	memset(&m, 0xa5, sizeof(m));
	mem_init_table(&m);
	assert_int_equal(m.nr_slots, 0);
	assert_int_equal(m.memfd, -1);
	assert_int_equal(m.page_size, 4096);
	assert_int_equal(m.ram_size, 0);
	assert_null(m.map);
	assert_int_equal(m.map_size, 0);
	assert_null(mem_gpa_to_hva(&m, 0, 1));
}

static void test_slot_add_one(void **state)
{
	struct guest_mem m;

	(void)state;
	mem_init_table(&m);
	assert_int_equal(mem_slot_add(&m, 0x100000, SZ_64K, buf_a), 0);
	assert_int_equal(m.nr_slots, 1);
	assert_int_equal(m.slots[0].slot, 0);
	assert_int_equal(m.slots[0].gpa, 0x100000);
	assert_int_equal(m.slots[0].size, SZ_64K);
	assert_ptr_equal(m.slots[0].hva, buf_a);
}

static void test_slot_add_overlap(void **state)
{
	struct guest_mem m;

	(void)state;
	mem_init_table(&m);
	assert_int_equal(mem_slot_add(&m, 0x10000, SZ_64K, buf_a), 0);

	/* Same range, tail overlap, head overlap, containing, contained. */
	error_clear();
	assert_int_equal(mem_slot_add(&m, 0x10000, SZ_64K, buf_b), -EEXIST);
	assert_error_mentions("overlaps slot 0");
	assert_int_equal(mem_slot_add(&m, 0x1f000, SZ_4K * 2, buf_b), -EEXIST);
	assert_int_equal(mem_slot_add(&m, 0xf000, SZ_4K * 2, buf_b), -EEXIST);
	assert_int_equal(mem_slot_add(&m, 0, SZ_64K * 4, buf_b), -EEXIST);
	assert_int_equal(mem_slot_add(&m, 0x11000, SZ_4K, buf_b), -EEXIST);
	assert_int_equal(m.nr_slots, 1);

	/* Adjacent on either side is fine. */
	assert_int_equal(mem_slot_add(&m, 0x20000, SZ_4K, buf_b), 0);
	assert_int_equal(mem_slot_add(&m, 0xf000, SZ_4K, buf_b + SZ_4K), 0);
	assert_int_equal(m.nr_slots, 3);
	assert_int_equal(m.slots[2].slot, 2);
}

static void test_slot_add_empty_and_wrap(void **state)
{
	struct guest_mem m;

	(void)state;
	mem_init_table(&m);
	error_clear();
	assert_int_equal(mem_slot_add(&m, 0x1000, 0, buf_a), -EINVAL);
	assert_error_mentions("wraps or is empty");
	assert_int_equal(mem_slot_add(&m, UINT64_MAX - 0xfff, 0x2000, buf_a), -EINVAL);
	assert_int_equal(mem_slot_add(&m, 0x1000, UINT64_MAX, buf_a), -EINVAL);
	/* The host range wrapping is as bad as the guest range wrapping. */
	assert_int_equal(mem_slot_add(&m, 0, 0x2000, (void *)(UINTPTR_MAX - 0xfff)),
			 -EINVAL);
	assert_int_equal(m.nr_slots, 0);
}

static void test_slot_add_table_full(void **state)
{
	struct guest_mem m;
	unsigned int i;

	(void)state;
	mem_init_table(&m);
	for (i = 0; i < MEM_MAX_SLOTS; i++)
		assert_int_equal(mem_slot_add(&m, i * SZ_4K, SZ_4K, buf_a + i * SZ_4K), 0);
	assert_int_equal(m.nr_slots, MEM_MAX_SLOTS);
	error_clear();
	assert_int_equal(mem_slot_add(&m, 0x100000, SZ_4K, buf_b), -ENOSPC);
	assert_error_mentions("full");
	assert_int_equal(m.nr_slots, MEM_MAX_SLOTS);
	/* Every slot still translates. */
	for (i = 0; i < MEM_MAX_SLOTS; i++)
		assert_ptr_equal(mem_gpa_to_hva(&m, i * SZ_4K + 7, 1), buf_a + i * SZ_4K + 7);
}

static void test_gpa_to_hva_one_slot(void **state)
{
	struct guest_mem m;
	const uint64_t base = 0x200000;

	(void)state;
	mem_init_table(&m);
	assert_int_equal(mem_slot_add(&m, base, SZ_64K, buf_a), 0);

	assert_ptr_equal(mem_gpa_to_hva(&m, base, 1), buf_a);
	assert_ptr_equal(mem_gpa_to_hva(&m, base, SZ_64K), buf_a);
	assert_ptr_equal(mem_gpa_to_hva(&m, base + SZ_64K - 1, 1), buf_a + SZ_64K - 1);
	assert_ptr_equal(mem_gpa_to_hva(&m, base + 0x1234, 0x10), buf_a + 0x1234);
	assert_ptr_equal(mem_gpa_to_hva(&m, base + SZ_64K - 8, 8), buf_a + SZ_64K - 8);

	/* Crossing the end by one byte. */
	assert_null(mem_gpa_to_hva(&m, base + SZ_64K - 8, 9));
	assert_null(mem_gpa_to_hva(&m, base, SZ_64K + 1));
	assert_null(mem_gpa_to_hva(&m, base + 1, UINT64_MAX));

	/* Outside: just below, one past the end, far away. */
	assert_null(mem_gpa_to_hva(&m, base - 1, 1));
	assert_null(mem_gpa_to_hva(&m, base - 1, 2));
	assert_null(mem_gpa_to_hva(&m, base + SZ_64K, 1));
	assert_null(mem_gpa_to_hva(&m, 0, 1));
	assert_null(mem_gpa_to_hva(&m, UINT64_MAX, 1));
}

static void test_gpa_to_hva_len_zero(void **state)
{
	struct guest_mem m;

	(void)state;
	mem_init_table(&m);
	assert_int_equal(mem_slot_add(&m, 0x1000, SZ_4K, buf_a), 0);
	/* As implemented: an empty range at a byte inside a slot is that byte. */
	assert_ptr_equal(mem_gpa_to_hva(&m, 0x1000, 0), buf_a);
	assert_ptr_equal(mem_gpa_to_hva(&m, 0x1fff, 0), buf_a + 0xfff);
	/* ... but one at the end of a slot (or outside) is not inside it. */
	assert_null(mem_gpa_to_hva(&m, 0x2000, 0));
	assert_null(mem_gpa_to_hva(&m, 0xfff, 0));
}

static void test_gpa_to_hva_two_slots(void **state)
{
	struct guest_mem m;

	(void)state;
	mem_init_table(&m);
	/* Two slots with a 64 KiB hole at 0x10000-0x20000. */
	assert_int_equal(mem_slot_add(&m, 0, SZ_64K, buf_a), 0);
	assert_int_equal(mem_slot_add(&m, 0x20000, SZ_64K, buf_b), 0);

	assert_ptr_equal(mem_gpa_to_hva(&m, 0xffff, 1), buf_a + 0xffff);
	assert_null(mem_gpa_to_hva(&m, 0x10000, 1));
	assert_null(mem_gpa_to_hva(&m, 0x18000, 8));
	assert_null(mem_gpa_to_hva(&m, 0x1ffff, 1));
	assert_ptr_equal(mem_gpa_to_hva(&m, 0x20000, 1), buf_b);
	assert_ptr_equal(mem_gpa_to_hva(&m, 0x2ffff, 1), buf_b + 0xffff);
	assert_null(mem_gpa_to_hva(&m, 0x30000, 1));
	/* A range spanning the hole is in neither slot. */
	assert_null(mem_gpa_to_hva(&m, 0xfff0, 0x20020));

	/* Two contiguous slots: a range across the seam is still refused. */
	mem_init_table(&m);
	assert_int_equal(mem_slot_add(&m, 0, SZ_64K, buf_a), 0);
	assert_int_equal(mem_slot_add(&m, SZ_64K, SZ_64K, buf_b), 0);
	assert_ptr_equal(mem_gpa_to_hva(&m, SZ_64K, 4), buf_b);
	assert_null(mem_gpa_to_hva(&m, SZ_64K - 2, 4));
}

static void test_hva_to_gpa(void **state)
{
	struct guest_mem m;
	uint64_t gpa;

	(void)state;
	mem_init_table(&m);
	assert_int_equal(mem_slot_add(&m, 0x100000, SZ_64K, buf_a), 0);
	assert_int_equal(mem_slot_add(&m, 0x400000, SZ_4K, buf_b), 0);

	gpa = 0xdead;
	assert_true(mem_hva_to_gpa(&m, buf_a, &gpa));
	assert_int_equal(gpa, 0x100000);
	assert_true(mem_hva_to_gpa(&m, buf_a + SZ_64K - 1, &gpa));
	assert_int_equal(gpa, 0x100000 + SZ_64K - 1);
	assert_true(mem_hva_to_gpa(&m, buf_b + 0x123, &gpa));
	assert_int_equal(gpa, 0x400123);
	assert_true(mem_hva_to_gpa(&m, buf_b + SZ_4K - 1, &gpa));
	assert_int_equal(gpa, 0x400fff);

	/* Misses leave *gpa alone. */
	gpa = 0xdead;
	assert_false(mem_hva_to_gpa(&m, buf_b + SZ_4K, &gpa));
	assert_false(mem_hva_to_gpa(&m, (void *)((uintptr_t)buf_a - 1), &gpa));
	assert_false(mem_hva_to_gpa(&m, NULL, &gpa));
	assert_int_equal(gpa, 0xdead);

	/* Round trip at a few offsets. */
	for (uint64_t off = 0; off < SZ_64K; off += 0x1111) {
		uint8_t *h = mem_gpa_to_hva(&m, 0x100000 + off, 1);

		assert_non_null(h);
		assert_true(mem_hva_to_gpa(&m, h, &gpa));
		assert_int_equal(gpa, 0x100000 + off);
	}
}

static void test_kind_names(void **state)
{
	enum mem_kind k;

	(void)state;
	assert_string_equal(mem_kind_name(MEM_ANON), "anon");
	assert_string_equal(mem_kind_name(MEM_THP), "thp");
	assert_string_equal(mem_kind_name(MEM_HUGETLB), "hugetlb");
	assert_string_equal(mem_kind_name(MEM_MEMFD), "memfd");
	assert_string_equal(mem_kind_name(MEM_KIND_COUNT), "?");
	assert_string_equal(mem_kind_name((enum mem_kind)1000), "?");

	for (int i = 0; i < MEM_KIND_COUNT; i++) {
		k = MEM_KIND_COUNT;
		assert_int_equal(mem_kind_parse(mem_kind_name((enum mem_kind)i), &k), 0);
		assert_int_equal(k, i);
	}

	k = MEM_THP;
	assert_int_equal(mem_kind_parse("", &k), -EINVAL);
	assert_int_equal(mem_kind_parse("ANON", &k), -EINVAL);
	assert_int_equal(mem_kind_parse("anon ", &k), -EINVAL);
	assert_int_equal(mem_kind_parse("huge", &k), -EINVAL);
	assert_int_equal(mem_kind_parse("?", &k), -EINVAL);
	assert_int_equal(k, MEM_THP);
}

static void check_created(struct guest_mem *m, enum mem_kind kind)
{
	uint8_t *h;
	uint64_t gpa;

	assert_int_equal(m->kind, kind);
	assert_int_equal(m->ram_size, SZ_8M);
	assert_int_equal(m->nr_slots, 1);
	assert_int_equal(m->slots[0].gpa, 0);
	assert_int_equal(m->slots[0].size, SZ_8M);
	assert_non_null(m->slots[0].hva);
	assert_non_null(m->map);

	h = mem_gpa_to_hva(m, 0, SZ_8M);
	assert_ptr_equal(h, m->slots[0].hva);
	assert_null(mem_gpa_to_hva(m, SZ_8M - 4, 8));
	assert_null(mem_gpa_to_hva(m, SZ_8M, 1));

	/* Writable at both ends, and lazily zero in between. */
	h[0] = 0x5a;
	h[SZ_8M - 1] = 0xa5;
	assert_int_equal(*(uint8_t *)mem_gpa_to_hva(m, SZ_8M - 1, 1), 0xa5);
	assert_int_equal(h[0x123456], 0);
	assert_true(mem_hva_to_gpa(m, h + 0x345678, &gpa));
	assert_int_equal(gpa, 0x345678);
}

static void test_create_anon(void **state)
{
	struct guest_mem m;

	(void)state;
	assert_int_equal(mem_create(&m, SZ_8M, MEM_ANON, -1), 0);
	check_created(&m, MEM_ANON);
	assert_int_equal(m.memfd, -1);
	assert_int_equal(m.page_size, 4096);
	mem_destroy(&m);
	assert_int_equal(m.nr_slots, 0);
	assert_null(m.map);
	assert_null(mem_gpa_to_hva(&m, 0, 1));
	/* Destroying twice is harmless: the table was reset. */
	mem_destroy(&m);
}

static void test_create_memfd(void **state)
{
	struct guest_mem m;
	uint8_t byte = 0;
	int fd;

	(void)state;
	assert_int_equal(mem_create(&m, SZ_8M, MEM_MEMFD, -1), 0);
	check_created(&m, MEM_MEMFD);
	fd = m.memfd;
	assert_true(fd >= 0);
	/* The mapping is shared: the fd sees what the guest wrote. */
	assert_int_equal(pread(fd, &byte, 1, SZ_8M - 1), 1);
	assert_int_equal(byte, 0xa5);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	mem_destroy(&m);
	assert_int_equal(m.memfd, -1);
	assert_int_equal(m.nr_slots, 0);
	errno = 0;
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
}

static void test_create_failure_leaves_empty_table(void **state)
{
	struct guest_mem m;

	(void)state;
	/* mmap of 0 bytes fails: the table must come back empty, with a message. */
	error_clear();
	assert_true(mem_create(&m, 0, MEM_ANON, -1) < 0);
	assert_int_equal(m.nr_slots, 0);
	assert_int_equal(m.memfd, -1);
	assert_null(m.map);
	assert_error_mentions("anon guest RAM");
}

/* NUMA: node 0 always works; a node the host lacks is a clear error. */
static void test_numa_nodes(void **state)
{
	struct guest_mem m;
	volatile uint8_t *p;
	int bad = 1024;

	(void)state;
	assert_int_equal(mem_check_node(0), 0);
	for (int n = 1; n < 1024; n++) {
		if (mem_check_node(n) < 0) {
			bad = n;
			break;
		}
	}
	assert_true(bad < 1024);
	assert_int_equal(mem_check_node(bad), -EINVAL);
	assert_non_null(strstr(error_get(), "does not exist") ?: strstr(error_get(), "no NUMA"));
	assert_int_equal(mem_create(&m, SZ_8M, MEM_ANON, bad), -EINVAL);
	assert_int_equal(mem_create(&m, SZ_8M, MEM_ANON, 0), 0);
	p = mem_gpa_to_hva(&m, 0x3000, 1);
	*p = 1;
	assert_true(mem_node_of((const void *)p) == 0 || mem_node_of((const void *)p) == -1);
	mem_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numa_nodes),
		cmocka_unit_test(test_init_table),
		cmocka_unit_test(test_slot_add_one),
		cmocka_unit_test(test_slot_add_overlap),
		cmocka_unit_test(test_slot_add_empty_and_wrap),
		cmocka_unit_test(test_slot_add_table_full),
		cmocka_unit_test(test_gpa_to_hva_one_slot),
		cmocka_unit_test(test_gpa_to_hva_len_zero),
		cmocka_unit_test(test_gpa_to_hva_two_slots),
		cmocka_unit_test(test_hva_to_gpa),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_create_anon),
		cmocka_unit_test(test_create_memfd),
		cmocka_unit_test(test_create_failure_leaves_empty_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
