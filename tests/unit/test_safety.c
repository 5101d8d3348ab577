// SPDX-License-Identifier: GPL-2.0-only
/*
 * inject/safety: every rule refuses on its own, with its own reason naming
 * the address, and guest memory of every kind is still allowed.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "inject/inject.h"
#include "inject/maps.h"
#include "inject/pagemap.h"
#include "inject/safety.h"
#include "tests/unit/fixture.h"

#define PS 4096
#define VICTIM 4321
#define SELF 4242

/* A victim process with one mapping of every kind, in /proc/PID/maps form. */
static const char victim_maps[] =
	"00400000-00401000 r--p 00000000 fe:00 1234       /usr/bin/victim\n"
	"00401000-00402000 r-xp 00001000 fe:00 1234       /usr/bin/victim\n"
	"01000000-01021000 rw-p 00000000 00:00 0          [heap]\n"
	"7f0000000000-7f0000010000 rw-p 00000000 00:00 0 \n"
	"7f0000010000-7f0000020000 rw-s 00000000 00:01 1053 /memfd:guest-ram (deleted)\n"
	"7f0000200000-7f0000400000 rw-s 00000000 00:11 126860 /anon_hugepage (deleted)\n"
	"7f0000400000-7f0000600000 rw-s 00000000 00:27 126863 /dev/hugepages/guest\n"
	"7f0000600000-7f0000601000 ---p 00000000 00:00 0 \n"
	"7f0000601000-7f0000602000 -w-p 00000000 00:00 0 \n"
	"7f0000602000-7f0000603000 rw-p 00000000 00:00 0 \n"
	"7f0000700000-7f0000701000 rw-s 00000000 fe:00 99 /tmp/a b (deleted)\n"
	"7f0000800000-7f0000801000 rw-p 00000000 00:00 0  [anon:guest ram]\n"
	"7f0000900000-7f0000901000 r-xp 00000000 00:00 0  [uprobes]\n"
	"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0  [stack]\n"
	"7ffd00100000-7ffd00102000 r-xp 00000000 00:00 0  [vdso]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]\n";

static const char victim_mounts[] =
	"/dev/vda / ext4 rw,relatime 0 0\n"
	"hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n";

#define ANON		0x7f0000000000ULL	/* 16 pages */
#define MEMFD		0x7f0000010000ULL	/* 16 pages, right after ANON */
#define HUGE_ANON	0x7f0000200000ULL
#define HUGE_FILE	0x7f0000400000ULL
#define GUARD		0x7f0000600000ULL
#define WRONLY		0x7f0000601000ULL
#define LAST_ANON	0x7f0000602000ULL	/* unmapped after it */
#define SPACED_FILE	0x7f0000700000ULL
#define NAMED_ANON	0x7f0000800000ULL
#define UPROBES		0x7f0000900000ULL
#define STACK		0x7ffd00010000ULL
#define VDSO		0x7ffd00100000ULL
#define VSYSCALL	0xffffffffff600000ULL

#define MAX_PAGES 32

struct fixture {
	struct maps_entry maps[32];
	size_t nr_maps;
	struct pagemap_info pages[MAX_PAGES];
	struct safety_target t;
	char why[512];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(maps_parse(victim_maps, f->maps, 32, &f->nr_maps), 0);
	maps_classify_hugetlbfs(f->maps, f->nr_maps, victim_mounts);
	assert_int_equal(maps_find(f->maps, f->nr_maps, HUGE_FILE)->kind, MAPS_HUGETLB_FILE);
	/* Every page written by its only owner. */
	for (size_t i = 0; i < MAX_PAGES; i++)
		f->pages[i] = (struct pagemap_info){ .present = true, .exclusive = true,
						     .pfn = 0x100000 + i };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* A target in the victim of addr and size, with a pagemap entry per page. */
static struct safety_target *aim(struct fixture *f, uint64_t addr, size_t size)
{
	f->t = (struct safety_target){
		.pid = VICTIM,
		.self_pid = SELF,
		.addr = addr,
		.size = size,
		.maps = f->maps,
		.nr_maps = f->nr_maps,
		.pages = f->pages,
		.nr_pages = size / PS + !!(size % PS),
	};
	assert_true(f->t.nr_pages <= MAX_PAGES);
	return &f->t;
}

/* Refused by exactly rule, with a reason holding every one of the words. */
static void expect_refused(struct fixture *f, enum safety_rule rule, ...)
{
	enum safety_rule got;
	const char *word;
	char again[512];
	va_list ap;

	got = safety_judge(&f->t, f->why, sizeof(f->why));
	if (got != rule)
		fail_msg("rule %s, expected %s: \"%s\"", safety_rule_name(got),
			 safety_rule_name(rule), f->why);
	assert_int_equal(safety_check(&f->t, again, sizeof(again)), -EPERM);
	assert_string_equal(again, f->why);
	assert_null(strchr(f->why, '\n'));
	va_start(ap, rule);
	while ((word = va_arg(ap, const char *)))
		if (!strstr(f->why, word))
			fail_msg("\"%s\" lacks \"%s\"", f->why, word);
	va_end(ap);
}

static void expect_allowed(struct fixture *f)
{
	enum safety_rule got = safety_judge(&f->t, f->why, sizeof(f->why));

	if (got != SAFETY_OK)
		fail_msg("refused by %s: \"%s\"", safety_rule_name(got), f->why);
	assert_string_equal(f->why, "");
	assert_int_equal(safety_check(&f->t, NULL, 0), 0);
}

/* ---- allowed ---- */

static void test_allowed_anon_of_other_pid(void **state)
{
	struct fixture *f = *state;

	aim(f, ANON, PS);
	expect_allowed(f);
	aim(f, ANON, 16 * PS);
	expect_allowed(f);
	/* A partial last page is still one whole page checked. */
	aim(f, ANON + 4 * PS, PS + 1);
	expect_allowed(f);
	/* The PFN may be hidden: presence is what counts. */
	f->pages[0].pfn = 0;
	f->pages[0].pfn_hidden = true;
	aim(f, ANON, PS);
	expect_allowed(f);
}

static void test_allowed_memfd(void **state)
{
	struct fixture *f = *state;

	aim(f, MEMFD + 3 * PS, 2 * PS);
	expect_allowed(f);
	/* Shared on purpose: a memfd is the guest's own file. */
	f->pages[0].exclusive = false;
	f->pages[0].file_or_shared = true;
	expect_allowed(f);
}

static void test_allowed_hugetlb(void **state)
{
	struct fixture *f = *state;

	aim(f, HUGE_ANON, 2 * PS);
	expect_allowed(f);
	aim(f, HUGE_FILE + 0x1ff000, PS);
	expect_allowed(f);
}

static void test_allowed_self_inside_guest_ram(void **state)
{
	struct fixture *f = *state;
	const struct safety_range ram[] = {
		{ MEMFD, MEMFD + 4 * PS },
		{ ANON, ANON + 16 * PS },
	};

	aim(f, ANON + 15 * PS, PS);
	f->t.pid = SELF;
	f->t.allowed = ram;
	f->t.nr_allowed = 2;
	expect_allowed(f);
	aim(f, ANON, 16 * PS);
	f->t.pid = SELF;
	f->t.allowed = ram;
	f->t.nr_allowed = 2;
	expect_allowed(f);
}

/* ---- one test per rule ---- */

static void test_refuse_pid_not_positive(void **state)
{
	struct fixture *f = *state;

	aim(f, ANON, PS)->pid = 0;
	expect_refused(f, SAFETY_RULE_PID, "PID 0", "not a process id", "0x7f0000000000", NULL);
	aim(f, ANON, PS)->pid = -5;
	expect_refused(f, SAFETY_RULE_PID, "PID -5", NULL);
}

static void test_refuse_init(void **state)
{
	struct fixture *f = *state;

	aim(f, ANON, PS)->pid = 1;
	expect_refused(f, SAFETY_RULE_INIT, "PID 1 (init) is never a target", "0x7f0000000000",
		       NULL);
}

static void test_refuse_self_pid_unset(void **state)
{
	struct fixture *f = *state;

	aim(f, ANON, PS)->self_pid = 0;
	expect_refused(f, SAFETY_RULE_SELF_PID, "own PID is not set", "0x7f0000000000", NULL);
}

static void test_refuse_unaligned(void **state)
{
	struct fixture *f = *state;

	aim(f, ANON + 0x10, PS);
	expect_refused(f, SAFETY_RULE_ALIGN, "0x7f0000000010", "not 4 KiB page aligned", NULL);
	aim(f, ANON + 0x800, PS);
	expect_refused(f, SAFETY_RULE_ALIGN, "0x7f0000000800", NULL);
}

static void test_refuse_size_zero(void **state)
{
	struct fixture *f = *state;

	aim(f, ANON, 0);
	expect_refused(f, SAFETY_RULE_SIZE, "0x7f0000000000", "size is 0", NULL);
}

static void test_refuse_overflow(void **state)
{
	struct fixture *f = *state;

	aim(f, 0xfffffffffffff000ULL, 2 * PS);
	expect_refused(f, SAFETY_RULE_OVERFLOW, "0xfffffffffffff000", "wraps", NULL);
	/* Ending exactly at 2^64 wraps too: the end is not representable. */
	aim(f, 0xfffffffffffff000ULL, PS);
	expect_refused(f, SAFETY_RULE_OVERFLOW, NULL);
	f->t.addr = 0;
	f->t.size = SIZE_MAX;
	expect_refused(f, SAFETY_RULE_UNMAPPED, NULL);
}

static void test_refuse_unmapped(void **state)
{
	struct fixture *f = *state;

	aim(f, LAST_ANON + PS, PS);
	expect_refused(f, SAFETY_RULE_UNMAPPED, "0x7f0000603000 is not mapped in PID 4321", NULL);
	aim(f, 0, PS);
	expect_refused(f, SAFETY_RULE_UNMAPPED, "0x0 is not mapped", NULL);
	/* No maps at all: nothing is known to be mapped. */
	aim(f, ANON, PS);
	f->t.maps = NULL;
	expect_refused(f, SAFETY_RULE_UNMAPPED, NULL);
	aim(f, ANON, PS)->nr_maps = 0;
	expect_refused(f, SAFETY_RULE_UNMAPPED, NULL);
}

static void test_refuse_crossing_into_next_mapping(void **state)
{
	struct fixture *f = *state;

	/* The last page of ANON alone is fine; one more runs into the memfd. */
	aim(f, MEMFD - PS, PS);
	expect_allowed(f);
	aim(f, MEMFD - PS, 2 * PS);
	expect_refused(f, SAFETY_RULE_CROSSES, "0x7f000000f000-0x7f0000011000",
		       "crosses the end of the anonymous mapping 0x7f0000000000-0x7f0000010000",
		       "at 0x7f0000010000", "into /memfd:guest-ram (deleted)", NULL);
	/* One byte over is one page over. */
	aim(f, MEMFD - PS, PS + 1);
	expect_refused(f, SAFETY_RULE_CROSSES, NULL);
	/* Half-open: the end of ANON is the start of the memfd. */
	aim(f, MEMFD, PS);
	expect_allowed(f);
	aim(f, HUGE_FILE - PS, 2 * PS);
	expect_refused(f, SAFETY_RULE_CROSSES, "/anon_hugepage (deleted) at 0x7f0000400000",
		       "into /dev/hugepages/guest", NULL);
}

static void test_refuse_crossing_into_unmapped(void **state)
{
	struct fixture *f = *state;

	aim(f, LAST_ANON, 2 * PS);
	expect_refused(f, SAFETY_RULE_CROSSES, "at 0x7f0000603000", "into unmapped memory", NULL);
}

static void test_refuse_file(void **state)
{
	struct fixture *f = *state;

	aim(f, 0x400000, PS);
	expect_refused(f, SAFETY_RULE_FILE,
		       "0x400000 is in a file-backed mapping of /usr/bin/victim: poisoning it "
		       "would poison the page cache other processes share", NULL);
	aim(f, SPACED_FILE, PS);
	expect_refused(f, SAFETY_RULE_FILE, "mapping of /tmp/a b (deleted):", NULL);
	/* Even a private, written page of it: the rule is about the mapping. */
	aim(f, 0x401000, PS);
	expect_refused(f, SAFETY_RULE_FILE, "0x401000", NULL);
}

static void test_refuse_stack(void **state)
{
	struct fixture *f = *state;

	aim(f, STACK, PS);
	expect_refused(f, SAFETY_RULE_STACK,
		       "0x7ffd00010000 is in [stack]: refusing to poison a stack", NULL);
}

/* A thread's stack is plain anonymous memory: its stack pointer tells it. */
static void test_refuse_thread_stack(void **state)
{
	struct fixture *f = *state;
	struct safety_stack stacks[] = {
		{ .tid = 77, .sp = 0x7ffd00010ff8ULL },	/* the main thread's, in [stack] */
		{ .tid = 78, .sp = ANON + 9 * PS + 0x123 },
	};

	aim(f, ANON, PS);
	f->t.stacks = stacks;
	f->t.nr_stacks = 2;
	expect_refused(f, SAFETY_RULE_STACK,
		       "0x7f0000000000 is in the stack of thread 78 (its stack pointer "
		       "0x7f0000009123 is in 0x7f0000000000-0x7f0000010000): refusing to poison a stack",
		       NULL);
	/* Other mappings are not that thread's stack. */
	aim(f, MEMFD, PS);
	f->t.stacks = stacks;
	f->t.nr_stacks = 2;
	expect_allowed(f);
	f->t.nr_stacks = 0;
	aim(f, ANON, PS);
	expect_allowed(f);
}

static void test_parse_task_syscall(void **state)
{
	uint64_t sp = 0;

	(void)state;
	assert_int_equal(inject_parse_task_syscall("230 0x0 0x0 0x7ffe488e9030 0x7ffe488e9070 0x0 0x0 "
						   "0x7ffe488e9018 0x7fe43678e503\n", &sp), 0);
	assert_int_equal(sp, 0x7ffe488e9018ULL);
	assert_int_equal(inject_parse_task_syscall("-1 0x7ffe00001000 0x401000\n", &sp), 0);
	assert_int_equal(sp, 0x7ffe00001000ULL);
	assert_int_equal(inject_parse_task_syscall("running\n", &sp), -EAGAIN);
	assert_int_equal(inject_parse_task_syscall("", &sp), -EINVAL);
	assert_int_equal(inject_parse_task_syscall("1 2 3", &sp), -EINVAL);
	assert_int_equal(inject_parse_task_syscall("-1 zz 0x1", &sp), -EINVAL);
	assert_int_equal(inject_parse_task_syscall("1 0 0 0 0 0 0 0x10 0x20 0x30", &sp), -EINVAL);
}

static void test_refuse_vdso(void **state)
{
	struct fixture *f = *state;

	aim(f, VDSO, PS);
	expect_refused(f, SAFETY_RULE_VDSO, "0x7ffd00100000 is in [vdso]", NULL);
	aim(f, VSYSCALL, PS);
	expect_refused(f, SAFETY_RULE_VDSO, "0xffffffffff600000 is in [vsyscall]", NULL);
}

static void test_refuse_heap(void **state)
{
	struct fixture *f = *state;

	aim(f, 0x1000000, PS);
	expect_refused(f, SAFETY_RULE_HEAP,
		       "0x1000000 is in [heap]: [heap] is the process heap, not guest memory",
		       NULL);
}

static void test_refuse_special(void **state)
{
	struct fixture *f = *state;
	struct maps_entry *m;

	/* Named anonymous memory is anonymous memory: mcefwd names its RAM so. */
	aim(f, NAMED_ANON, PS);
	expect_allowed(f);
	aim(f, UPROBES, PS);
	expect_refused(f, SAFETY_RULE_SPECIAL, "0x7f0000900000 is in [uprobes]",
		       "special kernel mapping", NULL);
	/* A kind this file does not know is refused, not waved through. */
	m = (struct maps_entry *)maps_find(f->maps, f->nr_maps, ANON);
	m->kind = (enum maps_kind)99;
	aim(f, ANON, PS);
	expect_refused(f, SAFETY_RULE_SPECIAL, "unknown kind", NULL);
	m->kind = MAPS_KIND_COUNT;
	expect_refused(f, SAFETY_RULE_SPECIAL, NULL);
}

static void test_refuse_guard_page(void **state)
{
	struct fixture *f = *state;

	aim(f, GUARD, PS);
	expect_refused(f, SAFETY_RULE_GUARD, "0x7f0000600000", "---p guard page", NULL);
}

static void test_refuse_unreadable(void **state)
{
	struct fixture *f = *state;

	aim(f, WRONLY, PS);
	expect_refused(f, SAFETY_RULE_UNREADABLE, "0x7f0000601000", "-w-p",
		       "without read permission", NULL);
}

static void test_refuse_self_outside_guest_ram(void **state)
{
	struct fixture *f = *state;
	const struct safety_range ram[] = {
		{ ANON, ANON + 8 * PS },
		{ ANON + 8 * PS, ANON + 16 * PS },
	};

	/* No guest RAM registered: none of the injector's memory qualifies. */
	aim(f, ANON, PS)->pid = SELF;
	expect_refused(f, SAFETY_RULE_SELF, "0x7f0000000000-0x7f0000001000",
		       "the injector's own memory outside guest RAM", NULL);
	aim(f, ANON + 7 * PS, PS);
	f->t.pid = SELF;
	f->t.allowed = ram;
	f->t.nr_allowed = 1;
	expect_allowed(f);
	/* Half in, half out. */
	f->t.size = 2 * PS;
	f->t.nr_pages = 2;
	expect_refused(f, SAFETY_RULE_SELF, NULL);
	/* Across two registered ranges is not inside one. */
	f->t.nr_allowed = 2;
	expect_refused(f, SAFETY_RULE_SELF, NULL);
	/* The rule is about the injector: another PID ignores allowed[]. */
	f->t.pid = VICTIM;
	expect_allowed(f);
}

static void test_refuse_pagemap_missing(void **state)
{
	struct fixture *f = *state;

	aim(f, ANON, 2 * PS)->nr_pages = 1;
	expect_refused(f, SAFETY_RULE_PAGES, "spans 2 pages but pagemap gives 1", NULL);
	aim(f, ANON, 2 * PS)->pages = NULL;
	expect_refused(f, SAFETY_RULE_PAGES, "gives 0", NULL);
	aim(f, ANON, PS)->nr_pages = 3;
	expect_refused(f, SAFETY_RULE_PAGES, NULL);
}

static void test_refuse_not_present(void **state)
{
	struct fixture *f = *state;

	f->pages[0].present = false;
	aim(f, ANON, PS);
	expect_refused(f, SAFETY_RULE_NOT_PRESENT,
		       "0x7f0000000000 is not present in memory: touch it first", NULL);
	/* Swapped out is not present either. */
	f->pages[0].swapped = true;
	expect_refused(f, SAFETY_RULE_NOT_PRESENT, NULL);
}

static void test_refuse_second_page_not_present(void **state)
{
	struct fixture *f = *state;

	f->pages[1].present = false;
	aim(f, ANON + 2 * PS, 2 * PS);
	expect_refused(f, SAFETY_RULE_NOT_PRESENT, "0x7f0000003000 is not present", NULL);
	/* Same for memfd and hugetlb pages. */
	aim(f, MEMFD, 2 * PS);
	expect_refused(f, SAFETY_RULE_NOT_PRESENT, "0x7f0000011000", NULL);
	aim(f, HUGE_ANON, 2 * PS);
	expect_refused(f, SAFETY_RULE_NOT_PRESENT, "0x7f0000201000", NULL);
}

static void test_refuse_shared_anon(void **state)
{
	struct fixture *f = *state;

	f->pages[2].exclusive = false;
	aim(f, ANON, 3 * PS);
	expect_refused(f, SAFETY_RULE_SHARED,
		       "0x7f0000002000 is shared with another process (KSM or copy-on-write "
		       "after fork): poisoning it would hit them too", "zero page", NULL);
}

/* ---- rule order and plumbing ---- */

static void test_first_rule_wins(void **state)
{
	struct fixture *f = *state;

	/* init and unaligned in the stack: init is the reason. */
	aim(f, STACK + 1, 0)->pid = 1;
	expect_refused(f, SAFETY_RULE_INIT, NULL);
	/* The kind of mapping before its pages. */
	f->pages[0].present = false;
	aim(f, STACK, PS);
	expect_refused(f, SAFETY_RULE_STACK, NULL);
	/* A range is placed by its first page, even if it ends in a mapping. */
	aim(f, VDSO - PS, 2 * PS);
	expect_refused(f, SAFETY_RULE_UNMAPPED, NULL);
	/* Crossing before kind: the range is judged as a whole first. */
	aim(f, SPACED_FILE, 2 * PS);
	expect_refused(f, SAFETY_RULE_CROSSES, NULL);
}

static void test_why_buffer(void **state)
{
	struct fixture *f = *state;
	char small[16];

	aim(f, STACK, PS);
	assert_int_equal(safety_judge(&f->t, NULL, 0), SAFETY_RULE_STACK);
	assert_int_equal(safety_check(&f->t, small, 0), -EPERM);
	memset(small, 'x', sizeof(small));
	assert_int_equal(safety_check(&f->t, small, sizeof(small)), -EPERM);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(safety_judge(NULL, f->why, sizeof(f->why)), SAFETY_RULE_PID);
	assert_int_equal(safety_check(NULL, NULL, 0), -EPERM);
}

static void test_rule_names(void **state)
{
	(void)state;
	for (int i = 0; i < SAFETY_RULE_COUNT; i++) {
		assert_non_null(safety_rule_name(i));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(safety_rule_name(i), safety_rule_name(j));
	}
	assert_string_equal(safety_rule_name(SAFETY_OK), "ok");
	assert_string_equal(safety_rule_name(SAFETY_RULE_STACK), "stack");
	assert_null(safety_rule_name(-1));
	assert_null(safety_rule_name(SAFETY_RULE_COUNT));
}

/* ---- on a real capture (tests/fixtures) ---- */

static void test_captured_process(void **state)
{
	struct fixture *f = *state;
	char *maps = fx_fixture_text("maps-guest.txt");
	char *mounts = fx_fixture_text("mounts-hugetlbfs.txt");
	static const struct {
		uint64_t addr;
		enum safety_rule rule;
	} cases[] = {
		{ 0x7ffabbf8a000, SAFETY_OK },			/* /memfd:guest-ram */
		{ 0x7ffabbc00000, SAFETY_OK },			/* /memfd:guest-huge */
		{ 0x7ffabb800000, SAFETY_OK },			/* /anon_hugepage, shared */
		{ 0x7ffabba00000, SAFETY_OK },			/* /anon_hugepage, private */
		{ 0x7ffabb600000, SAFETY_OK },			/* a file on hugetlbfs */
		{ 0x7ffabc276000, SAFETY_OK },			/* anon between guards */
		{ 0x7ffabc275000, SAFETY_RULE_GUARD },
		{ 0x7ffabc278000, SAFETY_RULE_FILE },		/* /tmp/a b (deleted) */
		{ 0x7ffabc279000, SAFETY_RULE_FILE },		/* /dev/zero (deleted) */
		{ 0x7ffabc08d000, SAFETY_RULE_FILE },		/* libc */
		{ 0x55b643ea5000, SAFETY_RULE_HEAP },
		{ 0x7ffc0ddd3000, SAFETY_RULE_STACK },
		{ 0x7ffabc27c000, SAFETY_RULE_VDSO },		/* [vvar] */
		{ 0x7ffabc280000, SAFETY_RULE_VDSO },		/* [vvar_vclock] */
		{ 0x7ffabc282000, SAFETY_RULE_VDSO },		/* [vdso] */
		{ 0xffffffffff600000, SAFETY_RULE_VDSO },	/* [vsyscall] */
		{ 0x7ffabbe00000, SAFETY_RULE_UNMAPPED },
	};

	struct maps_entry all[64];
	size_t n;

	assert_int_equal(maps_parse(maps, all, 64, &n), 0);
	maps_classify_hugetlbfs(all, n, mounts);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum safety_rule got;

		aim(f, cases[i].addr, PS);
		f->t.maps = all;
		f->t.nr_maps = n;
		got = safety_judge(&f->t, f->why, sizeof(f->why));
		if (got != cases[i].rule)
			fail_msg("0x%" PRIx64 ": %s, expected %s (\"%s\")", cases[i].addr,
				 safety_rule_name(got), safety_rule_name(cases[i].rule), f->why);
	}
	free(mounts);
	free(maps);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_allowed_anon_of_other_pid),
		T(test_allowed_memfd),
		T(test_allowed_hugetlb),
		T(test_allowed_self_inside_guest_ram),
		T(test_refuse_pid_not_positive),
		T(test_refuse_init),
		T(test_refuse_self_pid_unset),
		T(test_refuse_unaligned),
		T(test_refuse_size_zero),
		T(test_refuse_overflow),
		T(test_refuse_unmapped),
		T(test_refuse_crossing_into_next_mapping),
		T(test_refuse_crossing_into_unmapped),
		T(test_refuse_file),
		T(test_refuse_stack),
		T(test_refuse_thread_stack),
		T(test_parse_task_syscall),
		T(test_refuse_vdso),
		T(test_refuse_heap),
		T(test_refuse_special),
		T(test_refuse_guard_page),
		T(test_refuse_unreadable),
		T(test_refuse_self_outside_guest_ram),
		T(test_refuse_pagemap_missing),
		T(test_refuse_not_present),
		T(test_refuse_second_page_not_present),
		T(test_refuse_shared_anon),
		T(test_first_rule_wins),
		T(test_why_buffer),
		T(test_rule_names),
		T(test_captured_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
