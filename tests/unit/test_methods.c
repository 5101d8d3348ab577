// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pfn, einj and soft-offline methods: pagemap lookups checked against
 * pagemap read by hand, debugfs writes checked byte for byte and in order
 * against fake debugfs trees (never the real /sys/kernel/debug), and
 * soft-offline failing cleanly where the kernel has no memory-failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "inject/inject.h"
#include "mcefwd/util/error.h"
#include "tests/unit/fixture.h"

#define MF_KNOB "/proc/sys/vm/memory_failure_recovery"
#define EINJ_TABLE "/sys/firmware/acpi/tables/EINJ"

/* ---- helpers ---- */

static int setup_tmp(void **state)
{
	(void)state;
	return fx_tmp_setup("methods");
}

/* Fake roots must never outlive a test, failed or not. */
static int teardown_tmp(void **state)
{
	(void)state;
	inject_set_debugfs_root(NULL);
	inject_set_proc_root(NULL);
	return fx_tmp_teardown();
}

static void make_dir(const char *path)
{
	assert_int_equal(mkdir(path, 0700), 0);
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

/* The raw pagemap entry of addr in this process, read independently. */
static uint64_t pagemap_entry(const void *addr)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &e, sizeof(e), (uintptr_t)addr / page_size() * sizeof(e)),
			 sizeof(e));
	close(fd);
	return e;
}

/* ---- pfn: lookup ---- */

static void test_pfn_lookup_present_page(void **state)
{
	size_t ps = page_size();
	unsigned char *m = map_anon(ps);
	uint64_t pfn = 0, pfn2 = 0, e;

	(void)state;
	m[0] = 0x5a;
	e = pagemap_entry(m);
	assert_true(e >> 63);
	if (!inject_has_cap_sys_admin()) {
		assert_int_equal(inject_pfn_lookup(0, (uintptr_t)m, &pfn), -EPERM);
		fx_assert_contains(error_get(), "CAP_SYS_ADMIN");
		munmap(m, ps);
		print_message("skip: PFNs are hidden without CAP_SYS_ADMIN (checked the EPERM)\n");
		skip();
	}
	assert_int_equal(inject_pfn_lookup(0, (uintptr_t)m + 123, &pfn), 0);
	assert_int_not_equal(pfn, 0);
	assert_int_equal(pfn, e & ((1ULL << 55) - 1));
	assert_int_equal(inject_pfn_lookup(getpid(), (uintptr_t)m, &pfn2), 0);
	assert_int_equal(pfn2, pfn);
	munmap(m, ps);
}

static void test_pfn_lookup_untouched_page(void **state)
{
	size_t ps = page_size();
	unsigned char *m = map_anon(ps);
	uint64_t pfn = 0x77;

	(void)state;
	assert_int_equal(inject_pfn_lookup(0, (uintptr_t)m, &pfn), -ENOENT);
	fx_assert_contains(error_get(), "not present");
	assert_int_equal(pfn, 0x77);
	/* The lookup itself must not have faulted the page in. */
	assert_false(pagemap_entry(m) >> 63);
	munmap(m, ps);
}

static void test_pfn_lookup_gone_process(void **state)
{
	uint64_t pfn;
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		_exit(0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(inject_pfn_lookup(pid, 0x400000, &pfn), -ESRCH);
	assert_int_equal(inject_pfn_lookup(-1, 0x400000, &pfn), -EINVAL);
	assert_int_equal(inject_pfn_lookup(0, 0x400000, NULL), -EINVAL);
}

/* ---- pfn: corrupt-pfn / unpoison-pfn ---- */

static void fake_hwpoison(void)
{
	make_dir(fx_tpath("debug"));
	make_dir(fx_tpath("debug/hwpoison"));
	fx_write_file(fx_tpath("debug/hwpoison/corrupt-pfn"), "");
	fx_write_file(fx_tpath("debug/hwpoison/unpoison-pfn"), "");
	assert_int_equal(inject_set_debugfs_root(fx_tpath("debug")), 0);
}

static void test_pfn_poison_writes_hex_line(void **state)
{
	(void)state;
	fake_hwpoison();
	assert_int_equal(inject_pfn_poison(0x1a2b3c), 0);
	fx_assert_file(fx_tpath("debug/hwpoison/corrupt-pfn"), "0x1a2b3c\n");
	fx_assert_file(fx_tpath("debug/hwpoison/unpoison-pfn"), "");
	assert_true(inject_pfn_can_unpoison());
	assert_int_equal(inject_pfn_unpoison(0x1a2b3c), 0);
	fx_assert_file(fx_tpath("debug/hwpoison/unpoison-pfn"), "0x1a2b3c\n");
	assert_int_equal(unlink(fx_tpath("debug/hwpoison/unpoison-pfn")), 0);
	assert_false(inject_pfn_can_unpoison());
}

static void test_pfn_poison_without_debugfs(void **state)
{
	const char *root = fx_tpath("notmounted");
	char want[320];

	(void)state;
	make_dir(root);
	assert_int_equal(inject_set_debugfs_root(root), 0);
	snprintf(want, sizeof(want), "mount -t debugfs none %s", root);
	/* A plain directory is no debugfs: no modprobe, just the hint. */
	assert_int_equal(inject_pfn_poison(0x1234), -ENOENT);
	fx_assert_contains(error_get(), want);
	assert_int_equal(inject_pfn_unpoison(0x1234), -ENOENT);
	fx_assert_contains(error_get(), want);
	assert_false(inject_pfn_can_unpoison());
	/* The real default names the real place. */
	assert_int_equal(inject_set_debugfs_root(NULL), 0);
	assert_string_equal(inject_debugfs_root(), "/sys/kernel/debug");
	assert_string_equal(inject_proc_root(), "/proc");
}

static void test_pfn_poison_write_refused(void **state)
{
	(void)state;
	/* What the kernel answers for a frame it will not take: an errno on write. */
	make_dir(fx_tpath("debug"));
	make_dir(fx_tpath("debug/hwpoison"));
	assert_int_equal(symlink("/dev/full", fx_tpath("debug/hwpoison/corrupt-pfn")), 0);
	assert_int_equal(inject_set_debugfs_root(fx_tpath("debug")), 0);
	assert_int_equal(inject_pfn_poison(0x42), -ENOSPC);
	fx_assert_contains(error_get(), "writing 0x42 to ");
	fx_assert_contains(error_get(), "corrupt-pfn");
}

/* ---- HardwareCorrupted ---- */

static void test_hardware_corrupted(void **state)
{
	(void)state;
	make_dir(fx_tpath("proc"));
	assert_int_equal(inject_set_proc_root(fx_tpath("proc")), 0);
	assert_int_equal(inject_hardware_corrupted_kb(), -1);
	fx_write_file(fx_tpath("proc/meminfo"), "MemTotal:       16384 kB\n"
					  "HardwareCorrupted:    12 kB\n"
					  "AnonHugePages:      0 kB\n");
	assert_int_equal(inject_hardware_corrupted_kb(), 12);
	fx_write_file(fx_tpath("proc/meminfo"), "MemTotal:       16384 kB\n"
					  "HardwareCorrupted:     0 kB\n");
	assert_int_equal(inject_hardware_corrupted_kb(), 0);
	fx_write_file(fx_tpath("proc/meminfo"), "MemTotal:       16384 kB\n");
	assert_int_equal(inject_hardware_corrupted_kb(), -1);

	/* The real one: the line exists exactly with CONFIG_MEMORY_FAILURE. */
	assert_int_equal(inject_set_proc_root(NULL), 0);
	if (access(MF_KNOB, F_OK))
		assert_int_equal(inject_hardware_corrupted_kb(), -1);
	else
		assert_true(inject_hardware_corrupted_kb() >= 0);
}

/* ---- einj ---- */

static const char einj_types[] = "0x00000002\tProcessor Uncorrectable non-fatal\n"
				 "0x00000008\tMemory Correctable\n"
				 "0x00000010\tMemory Uncorrectable non-fatal\n"
				 "V2_0x00000002\tEINJV2 Memory Error\n";

static void test_einj_parse_types(void **state)
{
	uint32_t types = 0;

	(void)state;
	assert_int_equal(inject_einj_parse_types(einj_types, &types), 0);
	assert_int_equal(types, 0x1a);
	assert_int_equal(inject_einj_parse_types("", &types), 0);
	assert_int_equal(types, 0);
	assert_int_equal(inject_einj_parse_types("0x00000020\tMemory Uncorrectable fatal", &types),
			 0);
	assert_int_equal(types, 0x20);
	assert_int_equal(inject_einj_parse_types("0x00000008\tMemory Correctable\n"
						 "Memory Uncorrectable\n",
						 &types),
			 -EINVAL);
	fx_assert_contains(error_get(), "line 2");
	assert_int_equal(inject_einj_parse_types("0x1z\tX\n", &types), -EINVAL);
}

static const char *const einj_files[] = {
    "error_type", "param1", "param2", "flags", "error_inject", "param3", "param4", "notrigger",
};

static void fake_einj(const char *types)
{
	make_dir(fx_tpath("debug"));
	make_dir(fx_tpath("debug/apei"));
	make_dir(fx_tpath("debug/apei/einj"));
	fx_write_file(fx_tpath("debug/apei/einj/available_error_type"), types);
	for (size_t i = 0; i < sizeof(einj_files) / sizeof(einj_files[0]); i++)
		fx_write_file(fx_tpath("debug/apei/einj/%s", einj_files[i]), "");
	assert_int_equal(inject_set_debugfs_root(fx_tpath("debug")), 0);
}

/* The files closed after writing, in order, as inotify queued them. */
static size_t written_order(int ifd, char names[][32], size_t max)
{
	char buf[4096] __attribute__((aligned(8)));
	size_t n = 0;
	ssize_t len;

	len = read(ifd, buf, sizeof(buf));
	if (len < 0 && errno == EAGAIN)
		return 0;
	assert_true(len > 0);
	for (char *p = buf; p < buf + len;) {
		struct inotify_event *ev = (struct inotify_event *)p;

		if ((ev->mask & IN_CLOSE_WRITE) && ev->len && n < max)
			snprintf(names[n++], 32, "%s", ev->name);
		p += sizeof(*ev) + ev->len;
	}
	return n;
}

static void test_einj_memory_write_sequence(void **state)
{
	static const char *const want[] = {
	    "error_type", "param1", "param2", "flags", "error_inject",
	};
	char names[16][32];
	size_t n;
	int ifd;

	(void)state;
	fake_einj(einj_types);
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(ifd >= 0);
	assert_true(inotify_add_watch(ifd, fx_tpath("debug/apei/einj"), IN_CLOSE_WRITE) >= 0);

	assert_int_equal(inject_einj_memory(0x12345678), 0);
	n = written_order(ifd, names, 16);
	close(ifd);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(names[i], want[i]);
	fx_assert_file(fx_tpath("debug/apei/einj/error_type"), "0x10\n");
	fx_assert_file(fx_tpath("debug/apei/einj/param1"), "0x12345678\n");
	fx_assert_file(fx_tpath("debug/apei/einj/param2"), "0xfffffffffffff000\n");
	fx_assert_file(fx_tpath("debug/apei/einj/flags"), "0x2\n");
	fx_assert_file(fx_tpath("debug/apei/einj/error_inject"), "1\n");
	fx_assert_file(fx_tpath("debug/apei/einj/param3"), "");
	fx_assert_file(fx_tpath("debug/apei/einj/notrigger"), "");
}

static void test_einj_memory_refusals_write_nothing(void **state)
{
	char names[16][32];
	int ifd;

	(void)state;
	fake_einj("0x00000008\tMemory Correctable\n");
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(ifd >= 0);
	assert_true(inotify_add_watch(ifd, fx_tpath("debug/apei/einj"), IN_CLOSE_WRITE) >= 0);

	/* The firmware does not offer memory uncorrectable non-fatal. */
	assert_int_equal(inject_einj_memory(0x1000), -EOPNOTSUPP);
	fx_assert_contains(error_get(), "0x10");
	/* ACPI 4.0 firmware without the parameter extension. */
	fx_write_file(fx_tpath("debug/apei/einj/available_error_type"), einj_types);
	assert_int_equal(unlink(fx_tpath("debug/apei/einj/param1")), 0);
	assert_int_equal(inject_einj_memory(0x1000), -EOPNOTSUPP);
	fx_assert_contains(error_get(), "einj.param_extension=1");
	/* Only the test's own rewrite of available_error_type was seen. */
	assert_int_equal(written_order(ifd, names, 16), 1);
	assert_string_equal(names[0], "available_error_type");
	close(ifd);

	/* No apei/einj at all, and no debugfs either. */
	make_dir(fx_tpath("empty"));
	assert_int_equal(inject_set_debugfs_root(fx_tpath("empty")), 0);
	assert_int_equal(inject_einj_memory(0x1000), -ENOENT);
	fx_assert_contains(error_get(), "mount -t debugfs none");
}

static void test_einj_available_here(void **state)
{
	char why[256] = "";
	int ret;

	(void)state;
	ret = inject_einj_available(why, sizeof(why));
	if (access(EINJ_TABLE, F_OK)) {
		assert_int_equal(ret, -ENODEV);
		fx_assert_contains(why, EINJ_TABLE);
		return;
	}
	/* A host with the table: whatever the answer, it is explained. */
	assert_true(ret <= 0);
	assert_true(why[0]);
	print_message("skip: this host has an EINJ table (%s)\n", why);
	skip();
}

/* ---- soft-offline ---- */

static void test_soft_offline_fails_cleanly(void **state)
{
	struct inject_soft_offline_result r;
	struct inject_probe p;
	size_t ps = page_size();
	unsigned char *m = map_anon(2 * ps);
	int ret;

	(void)state;
	inject_probe(INJECT_SOFT_OFFLINE, &p);
	if (p.available) {
		munmap(m, 2 * ps);
		print_message("skip: soft-offline works here and would take a frame out "
			      "of service until unpoison-pfn; not run by unit tests\n");
		skip();
	}
	/* Arguments first, nothing touched. */
	assert_int_equal(inject_soft_offline(m + 1, ps, &r), -EINVAL);
	assert_int_equal(inject_soft_offline(m, ps + 1, &r), -EINVAL);
	assert_int_equal(inject_soft_offline(m, ps, NULL), -EINVAL);
	/* An absent page is refused before the madvise, and stays absent. */
	assert_int_equal(inject_soft_offline(m + ps, ps, &r), -ENOENT);
	assert_false(pagemap_entry(m + ps) >> 63);

	memset(m, 0xa5, ps);
	ret = inject_soft_offline(m, ps, &r);
	if (access(MF_KNOB, F_OK)) {
		assert_int_equal(ret, -EINVAL);
		fx_assert_contains(error_get(), "MADV_SOFT_OFFLINE");
		fx_assert_contains(error_get(), "CONFIG_MEMORY_FAILURE");
	} else {
		/* Memory-failure is there but the probe said no: privileges. */
		assert_true(ret < 0);
		fx_assert_contains(error_get(), "MADV_SOFT_OFFLINE");
	}
	for (size_t i = 0; i < ps; i++)
		assert_int_equal(m[i], 0xa5);
	munmap(m, 2 * ps);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_tmp, teardown_tmp)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_pfn_lookup_present_page),	T(test_pfn_lookup_untouched_page),
	    T(test_pfn_lookup_gone_process),	T(test_pfn_poison_writes_hex_line),
	    T(test_pfn_poison_without_debugfs), T(test_pfn_poison_write_refused),
	    T(test_hardware_corrupted),		T(test_einj_parse_types),
	    T(test_einj_memory_write_sequence), T(test_einj_memory_refusals_write_nothing),
	    T(test_einj_available_here),	T(test_soft_offline_fails_cleanly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
