// SPDX-License-Identifier: GPL-2.0-only
/*
 * The table of poison methods (inject/method.c): complete, in enum order,
 * its names the command line's, its flags what the functions offer, and
 * its poison()/unpoison() doing what the flags say. Only what cannot
 * poison this host runs for real: refusals, the self-sent signal, uffd,
 * and pfn and einj against fake debugfs trees.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "inject/inject.h"
#include "mcefwd/util/error.h"
#include "tests/unit/fixture.h"

#define ALL_FLAGS (INJECT_F_FRAME | INJECT_F_MEMORY_FAILURE | INJECT_F_OTHER_PROCESS | \
		   INJECT_F_AUTO | INJECT_F_UNDO | INJECT_F_THREAD | INJECT_F_NO_MEMORY | \
		   INJECT_F_MIGRATES)

static int setup_tmp(void **state)
{
	(void)state;
	return fx_tmp_setup("method-table");
}

/* Fake roots must never outlive a test, failed or not. */
static int teardown_tmp(void **state)
{
	(void)state;
	inject_set_debugfs_root(NULL);
	inject_set_proc_root(NULL);
	return fx_tmp_teardown();
}

static size_t page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

static unsigned char *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

static bool has_cap(const struct inject_method_ops *ops, cap_value_t cap)
{
	for (unsigned int i = 0; i < ops->nr_caps; i++) {
		if (ops->caps[i] == cap)
			return true;
	}
	return false;
}

/* ---- the table itself ---- */

static void test_table_complete(void **state)
{
	enum inject_method back;

	(void)state;
	for (int m = 0; m < INJECT_METHOD_COUNT; m++) {
		const struct inject_method_ops *ops = inject_method(m);

		assert_non_null(ops);
		assert_int_equal(ops->id, m);
		assert_non_null(ops->name);
		assert_non_null(ops->what);
		assert_true(ops->what[0]);
		/* The names are the table's, not a copy kept elsewhere. */
		assert_ptr_equal(inject_method_name(m), ops->name);
		back = INJECT_METHOD_COUNT;
		assert_int_equal(inject_method_parse(ops->name, &back), 0);
		assert_int_equal(back, m);
		for (int o = 0; o < m; o++)
			assert_string_not_equal(inject_method(o)->name, ops->name);
	}
	assert_null(inject_method(INJECT_METHOD_COUNT));
	assert_null(inject_method((enum inject_method)-1));
}

static void test_table_flags_agree_with_functions(void **state)
{
	unsigned int thread = 0;

	(void)state;
	for (int m = 0; m < INJECT_METHOD_COUNT; m++) {
		const struct inject_method_ops *ops = inject_method(m);
		unsigned int f = ops->flags;

		print_message("# %-12s flags 0x%02x, %u cap(s)\n", ops->name, f, ops->nr_caps);
		assert_int_equal(f & ~ALL_FLAGS, 0);
		assert_non_null(ops->probe);
		assert_non_null(ops->poison);
		assert_int_equal(!!(f & INJECT_F_UNDO), ops->unpoison != NULL);
		/* What a caller says when it cannot undo or cannot reach. */
		assert_int_equal(!(f & INJECT_F_UNDO), ops->no_undo != NULL);
		assert_int_equal(!(f & INJECT_F_OTHER_PROCESS), ops->self_only != NULL);
		assert_int_equal(!ops->caps, !ops->nr_caps);
		if (f & INJECT_F_FRAME) {
			/* Every frame comes back but a real hardware error's. */
			assert_int_equal(!!(f & INJECT_F_UNDO), m != INJECT_EINJ);
			/* The PFN of a page is hidden without it. */
			assert_true(has_cap(ops, CAP_SYS_ADMIN));
		}
		/* Another process is reached through its frame (mcefwd-inject). */
		if (f & INJECT_F_OTHER_PROCESS)
			assert_true(f & INJECT_F_FRAME);
		if (f & INJECT_F_MEMORY_FAILURE)
			assert_true(f & INJECT_F_FRAME);
		if (f & INJECT_F_THREAD)
			thread |= 1u << m;
	}
	assert_false(inject_method(INJECT_EINJ)->flags & INJECT_F_AUTO);
	assert_int_equal(thread, 1u << INJECT_SIGNAL);
	/* inject_auto() falls back to the least real, which must be allowed. */
	assert_true(inject_method(INJECT_METHOD_COUNT - 1)->flags & INJECT_F_AUTO);
	assert_true(inject_method(INJECT_EINJ)->flags & INJECT_F_FRAME);
	assert_false(inject_method(INJECT_UFFD)->flags & INJECT_F_FRAME);
	assert_false(inject_method(INJECT_SIGNAL)->flags & INJECT_F_FRAME);
	/* Only the signal poisons nothing; only soft offline moves the page (a frame, undone). */
	for (int m = 0; m < INJECT_METHOD_COUNT; m++) {
		unsigned int f = inject_method(m)->flags;

		assert_int_equal(!!(f & INJECT_F_NO_MEMORY), m == INJECT_SIGNAL);
		assert_int_equal(!!(f & INJECT_F_MIGRATES), m == INJECT_SOFT_OFFLINE);
		if (f & INJECT_F_NO_MEMORY)
			assert_false(f & (INJECT_F_FRAME | INJECT_F_UNDO));
		if (f & INJECT_F_MIGRATES)
			assert_true((f & INJECT_F_FRAME) && (f & INJECT_F_UNDO));
	}
}

/* ---- probes ---- */

static void test_probe_through_table_explains(void **state)
{
	(void)state;
	for (int m = 0; m < INJECT_METHOD_COUNT; m++) {
		const struct inject_method_ops *ops = inject_method(m);
		struct inject_probe p, direct;

		memset(&p, 0x55, sizeof(p));
		inject_probe(m, &p);
		assert_true(strnlen(p.why, sizeof(p.why)) < sizeof(p.why));
		assert_true(p.why[0]);
		/* inject_probe() is the table's probe, which fills all of *out. */
		memset(&direct, 0x55, sizeof(direct));
		ops->probe(&direct);
		assert_int_equal(direct.available, p.available);
		assert_string_equal(direct.why, p.why);
	}
}

static void test_probe_fake_debugfs_missing_explains(void **state)
{
	struct inject_probe p;

	(void)state;
	assert_int_equal(inject_set_debugfs_root(fx_tpath("nonexistent")), 0);
	for (int m = 0; m < INJECT_METHOD_COUNT; m++) {
		inject_probe(m, &p);
		assert_true(p.why[0]);
	}
}

static void test_auto_follows_flags(void **state)
{
	char why[1024], never[64];
	struct inject_probe p;
	enum inject_method a;

	(void)state;
	a = inject_auto(why, sizeof(why));
	assert_true(inject_method(a)->flags & INJECT_F_AUTO);
	inject_probe(a, &p);
	assert_true(p.available);
	for (int m = 0; m < INJECT_METHOD_COUNT; m++) {
		const struct inject_method_ops *ops = inject_method(m);

		if (!(ops->flags & INJECT_F_AUTO)) {
			snprintf(never, sizeof(never), "%s is never chosen automatically", ops->name);
			fx_assert_contains(why, never);
		} else if (m < (int)a) {
			inject_probe(m, &p);
			assert_false(p.available);
		}
	}
	assert_int_equal(inject_auto(NULL, 0), a);
}

/* ---- poison(): the page rules, before anything is done ---- */

static void expect_refused(const struct inject_method_ops *ops, const struct inject_page *pg,
			   const char *why)
{
	struct inject_undo undo;

	memset(&undo, 0x55, sizeof(undo));
	assert_int_equal(ops->poison(pg, &undo), -EINVAL);
	fx_assert_contains(error_get(), why);
	assert_int_equal(undo.method, ops->id);
	assert_int_equal(undo.pfn, 0);
	assert_null(undo.uffd);
}

static void test_poison_refuses_bad_pages(void **state)
{
	size_t ps = page_size();
	unsigned char *m = map_anon(2 * ps);

	(void)state;
	/* Anything that got past the rules would write here, not to debugfs. */
	assert_int_equal(inject_set_debugfs_root(fx_tmp()), 0);
	for (int i = 0; i < INJECT_METHOD_COUNT; i++) {
		const struct inject_method_ops *ops = inject_method(i);
		struct inject_page pg = {
			.hva = m, .size = ps, .pfn = 0x1234, .si_code = BUS_MCEERR_AR, .lsb = 12,
		};

		pg.hva = NULL;
		expect_refused(ops, &pg, "whole pages");
		pg.hva = m + 1;
		expect_refused(ops, &pg, "whole pages");
		pg.hva = m;
		pg.size = 0;
		expect_refused(ops, &pg, "whole pages");
		pg.size = ps + 1;
		expect_refused(ops, &pg, "whole pages");
		pg.size = ps;
		pg.pid = -1;
		expect_refused(ops, &pg, "pid -1");
		if (!(ops->flags & INJECT_F_OTHER_PROCESS)) {
			pg.pid = 1;
			expect_refused(ops, &pg, ops->self_only);
		}
		pg.pid = 0;
		if (ops->flags & INJECT_F_FRAME) {
			pg.pfn = 0;
			expect_refused(ops, &pg, "one frame at a time");
			pg.pfn = 0x1234;
			pg.size = 2 * ps;
			expect_refused(ops, &pg, "one frame at a time");
		}
	}
	munmap(m, 2 * ps);
}

/* ---- poison() and unpoison() that are safe to run ---- */

static void test_pfn_poison_and_undo_through_table(void **state)
{
	const struct inject_method_ops *ops = inject_method(INJECT_PFN);
	/* Another process's page: the frame is all the method needs. */
	struct inject_page pg = {
		.pid = 1, .hva = (void *)0x7f0000001000, .size = page_size(), .pfn = 0x1a2b3c,
	};
	struct inject_undo undo;

	(void)state;
	assert_int_equal(mkdir(fx_tpath("debug"), 0700), 0);
	assert_int_equal(mkdir(fx_tpath("debug/hwpoison"), 0700), 0);
	fx_write_file(fx_tpath("debug/hwpoison/corrupt-pfn"), "");
	fx_write_file(fx_tpath("debug/hwpoison/unpoison-pfn"), "");
	assert_int_equal(inject_set_debugfs_root(fx_tpath("debug")), 0);

	assert_int_equal(ops->poison(&pg, &undo), 0);
	fx_assert_file(fx_tpath("debug/hwpoison/corrupt-pfn"), "0x1a2b3c\n");
	assert_int_equal(undo.method, INJECT_PFN);
	assert_int_equal(undo.pfn, 0x1a2b3c);
	assert_int_equal(ops->unpoison(&undo), 0);
	fx_assert_file(fx_tpath("debug/hwpoison/unpoison-pfn"), "0x1a2b3c\n");

	/* The words of the failure are pfn.c's, for the caller to prefix. */
	assert_int_equal(unlink(fx_tpath("debug/hwpoison/unpoison-pfn")), 0);
	assert_int_equal(ops->unpoison(&undo), -ENOENT);
	fx_assert_contains(error_get(), fx_tpath("debug"));
	undo.pfn = 0;
	assert_int_equal(ops->unpoison(&undo), -EINVAL);
}

static void test_einj_poison_through_table(void **state)
{
	static const char *const files[] = {
		"error_type", "param1", "param2", "flags", "error_inject",
	};
	const struct inject_method_ops *ops = inject_method(INJECT_EINJ);
	struct inject_page pg = {
		.pid = 1, .hva = (void *)0x7f0000001000, .size = page_size(), .pfn = 0x12345,
	};
	struct inject_undo undo;

	(void)state;
	assert_int_equal(mkdir(fx_tpath("debug"), 0700), 0);
	assert_int_equal(mkdir(fx_tpath("debug/apei"), 0700), 0);
	assert_int_equal(mkdir(fx_tpath("debug/apei/einj"), 0700), 0);
	fx_write_file(fx_tpath("debug/apei/einj/available_error_type"),
		      "0x00000010\tMemory Uncorrectable non-fatal\n");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		fx_write_file(fx_tpath("debug/apei/einj/%s", files[i]), "");
	assert_int_equal(inject_set_debugfs_root(fx_tpath("debug")), 0);

	assert_int_equal(ops->poison(&pg, &undo), 0);
	/* The frame's physical address, the page mask, then the trigger. */
	fx_assert_file(fx_tpath("debug/apei/einj/param1"), "0x12345000\n");
	fx_assert_file(fx_tpath("debug/apei/einj/param2"), "0xfffffffffffff000\n");
	fx_assert_file(fx_tpath("debug/apei/einj/error_inject"), "1\n");
	assert_int_equal(undo.method, INJECT_EINJ);
	assert_int_equal(undo.pfn, 0x12345);
	assert_null(ops->unpoison);
}

static volatile sig_atomic_t bus_count;
static volatile int bus_code;
static void *volatile bus_addr;
static volatile short bus_lsb;

static void bus_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	bus_code = si->si_code;
	bus_addr = si->si_addr;
	bus_lsb = si->si_addr_lsb;
	bus_count++;
}

static void test_signal_poison_through_table(void **state)
{
	const struct inject_method_ops *ops = inject_method(INJECT_SIGNAL);
	struct sigaction sa = { .sa_sigaction = bus_handler, .sa_flags = SA_SIGINFO }, old;
	size_t ps = page_size();
	unsigned char *m = map_anon(ps);
	struct inject_page pg = {
		.hva = m, .size = ps, .si_code = BUS_MCEERR_AO, .lsb = 21,
	};
	struct inject_undo undo;
	int ret;

	(void)state;
	if (!fx_signal_deliverable()) {
		munmap(m, ps);
		skip();
	}
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGBUS, &sa, &old), 0);
	bus_count = 0;
	ret = ops->poison(&pg, &undo);
	pg.si_code = BUS_ADRERR;
	assert_int_equal(ops->poison(&pg, &undo), -EINVAL);
	fx_assert_contains(error_get(), "BUS_MCEERR_AR");
	sigaction(SIGBUS, &old, NULL);
	assert_int_equal(ret, 0);
	assert_int_equal(bus_count, 1);
	assert_int_equal(bus_code, BUS_MCEERR_AO);
	assert_ptr_equal(bus_addr, m);
	assert_int_equal(bus_lsb, 21);
	assert_int_equal(undo.method, INJECT_SIGNAL);
	assert_null(ops->unpoison);
	munmap(m, ps);
}

static void test_uffd_poison_and_undo_through_table(void **state)
{
	const struct inject_method_ops *ops = inject_method(INJECT_UFFD);
	size_t ps = page_size();
	struct inject_page pg = { .size = ps };
	struct inject_undo undo;
	struct inject_probe p;
	unsigned char *m;

	(void)state;
	inject_probe(INJECT_UFFD, &p);
	if (!p.available) {
		print_message("skip: uffd method unavailable: %s\n", p.why);
		skip();
	}
	m = map_anon(2 * ps);
	memset(m, 0x5a, 2 * ps);
	pg.hva = m;

	assert_int_equal(ops->poison(&pg, &undo), 0);
	assert_non_null(undo.uffd);
	assert_int_equal(undo.pfn, 0);
	/* The page next to it is untouched (reading the poisoned one would fault). */
	assert_int_equal(m[ps], 0x5a);
	assert_int_equal(ops->unpoison(&undo), 0);
	assert_null(undo.uffd);
	/* Given back as a fresh zero page. */
	assert_int_equal(m[0], 0);
	assert_int_equal(ops->unpoison(&undo), -EINVAL);
	munmap(m, 2 * ps);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_tmp, teardown_tmp)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_table_complete),
		T(test_table_flags_agree_with_functions),
		T(test_probe_through_table_explains),
		T(test_probe_fake_debugfs_missing_explains),
		T(test_auto_follows_flags),
		T(test_poison_refuses_bad_pages),
		T(test_pfn_poison_and_undo_through_table),
		T(test_einj_poison_through_table),
		T(test_signal_poison_through_table),
		T(test_uffd_poison_and_undo_through_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
