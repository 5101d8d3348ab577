// SPDX-License-Identifier: GPL-2.0-only
/*
 * inject/maps and inject/pagemap: the parsers on real captured files
 * (tests/fixtures/) and on hand-made broken lines, the decoder on crafted
 * entries, and the readers on this very process.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "inject/maps.h"
#include "inject/pagemap.h"
#include "mcefwd/util/error.h"
#include "tests/unit/fixture.h"

#define PS 4096

static const struct maps_entry *by_path(const struct maps_entry *e, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(e[i].path, path))
			return &e[i];
	fail_msg("no mapping of \"%s\"", path);
	return NULL;
}

static enum maps_kind kind_of(const char *line)
{
	struct maps_entry e;

	if (maps_parse_line(line, &e))
		fail_msg("rejected: \"%s\"", line);
	return e.kind;
}

/* ---- names ---- */

static void test_kind_names(void **state)
{
	(void)state;
	for (int i = 0; i < MAPS_KIND_COUNT; i++) {
		assert_non_null(maps_kind_name(i));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(maps_kind_name(i), maps_kind_name(j));
	}
	assert_string_equal(maps_kind_name(MAPS_HUGETLB_FILE), "hugetlb-file");
	assert_null(maps_kind_name(MAPS_KIND_COUNT));
	assert_null(maps_kind_name((enum maps_kind)-1));
}

/* ---- one line ---- */

static void test_parse_line_fields(void **state)
{
	struct maps_entry e;

	(void)state;
	assert_int_equal(maps_parse_line("7f021cc95000-7f021cdeb000 r-xp 00026000 fe:00 332835"
					 "                     /usr/lib/x86_64-linux-gnu/libc.so.6\n",
					 &e), 0);
	assert_int_equal(e.start, 0x7f021cc95000);
	assert_int_equal(e.end, 0x7f021cdeb000);
	assert_string_equal(e.perms, "r-xp");
	assert_int_equal(e.offset, 0x26000);
	assert_int_equal(e.dev_major, 0xfe);
	assert_int_equal(e.dev_minor, 0);
	assert_int_equal(e.inode, 332835);
	assert_string_equal(e.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_int_equal(e.kind, MAPS_FILE);

	/* The kernel leaves a blank after the inode of an unnamed mapping. */
	assert_int_equal(maps_parse_line("7f021cbec000-7f021cc0e000 rw-p 00000000 00:00 0 ", &e), 0);
	assert_string_equal(e.path, "");
	assert_int_equal(e.kind, MAPS_ANON);
	assert_int_equal(maps_parse_line("7f021cbec000-7f021cc0e000 rw-p 00000000 00:00 0", &e), 0);
	assert_int_equal(e.kind, MAPS_ANON);

	/* The highest mapping: a 64-bit start and end. */
	assert_int_equal(maps_parse_line("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0"
					 "                  [vsyscall]", &e), 0);
	assert_int_equal(e.start, 0xffffffffff600000);
	assert_int_equal(e.end, 0xffffffffff601000);
	assert_string_equal(e.perms, "--xp");
	assert_int_equal(e.kind, MAPS_VDSO);

	/* Large device numbers and offsets are printed wider than %02x / %08lx. */
	assert_int_equal(maps_parse_line("1000-2000 rw-s 1234567890 103:1ab 18446744073709551615 /x",
					 &e), 0);
	assert_int_equal(e.offset, 0x1234567890);
	assert_int_equal(e.dev_major, 0x103);
	assert_int_equal(e.dev_minor, 0x1ab);
	assert_int_equal(e.inode, UINT64_MAX);
}

static void test_parse_line_kinds(void **state)
{
	(void)state;
	assert_int_equal(kind_of("1000-2000 rw-p 00000000 00:00 0 [heap]"), MAPS_HEAP);
	assert_int_equal(kind_of("1000-2000 rw-p 00000000 00:00 0 [stack]"), MAPS_STACK);
	assert_int_equal(kind_of("1000-2000 rw-p 00000000 00:00 0 [stack:1234]"), MAPS_STACK);
	assert_int_equal(kind_of("1000-2000 r-xp 00000000 00:00 0 [vdso]"), MAPS_VDSO);
	assert_int_equal(kind_of("1000-2000 r--p 00000000 00:00 0 [vvar]"), MAPS_VDSO);
	assert_int_equal(kind_of("1000-2000 r--p 00000000 00:00 0 [vvar_vclock]"), MAPS_VDSO);
	assert_int_equal(kind_of("1000-2000 --xp 00000000 00:00 0 [vsyscall]"), MAPS_VDSO);
	/* Named anonymous memory (PR_SET_VMA_ANON_NAME) is anonymous memory. */
	assert_int_equal(kind_of("1000-2000 rw-p 00000000 00:00 0 [anon:guest ram]"), MAPS_ANON);
	assert_int_equal(kind_of("1000-2000 rw-s 00000000 00:01 7 [anon_shmem:guest ram]"),
			 MAPS_SPECIAL);
	assert_int_equal(kind_of("1000-2000 r-xp 00000000 00:00 0 [uprobes]"), MAPS_SPECIAL);
	assert_int_equal(kind_of("1000-2000 rw-p 00000000 00:00 0 [heap"), MAPS_FILE);
	assert_int_equal(kind_of("1000-2000 rw-s 00000000 00:01 1053 /memfd:guest-ram (deleted)"),
			 MAPS_MEMFD);
	assert_int_equal(kind_of("1000-2000 rw-s 00000000 00:01 1053 /memfd:guest-ram"), MAPS_MEMFD);
	assert_int_equal(kind_of("1000-2000 rw-s 00000000 00:11 9 /memfd:guest-huge (deleted)"),
			 MAPS_MEMFD);
	assert_int_equal(kind_of("1000-2000 rw-s 00000000 00:11 9 /anon_hugepage (deleted)"),
			 MAPS_HUGETLB_ANON);
	/* Look-alikes on a disk are plain files. */
	assert_int_equal(kind_of("1000-2000 rw-s 00000000 fe:00 9 /memfd:guest-ram"), MAPS_FILE);
	assert_int_equal(kind_of("1000-2000 rw-s 00000000 fe:00 9 /anon_hugepage (deleted)"),
			 MAPS_FILE);
	assert_int_equal(kind_of("1000-2000 rw-s 00000000 00:01 9 /memfd:"), MAPS_FILE);
	/* MAP_SHARED|MAP_ANONYMOUS is shmem, shown as /dev/zero: a file. */
	assert_int_equal(kind_of("1000-2000 rw-s 00000000 00:01 1054 /dev/zero (deleted)"),
			 MAPS_FILE);
	/* A file mapping always has an inode, named or not. */
	assert_int_equal(kind_of("1000-2000 rw-s 00000000 fe:00 42 "), MAPS_FILE);
	/* Files on hugetlbfs need the mount table: maps_classify_hugetlbfs(). */
	assert_int_equal(kind_of("1000-2000 rw-s 00000000 00:27 1 /dev/hugepages/guest"), MAPS_FILE);
}

static void test_parse_line_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"   ",
		"0040g000-00452000 r-xp 00000000 08:02 173521 /usr/bin/dbus-daemon",	/* bad hex */
		"00400000-0045z000 r-xp 00000000 08:02 173521 /usr/bin/dbus-daemon",
		"0x400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/dbus-daemon",
		"-400000-00452000 r-xp 00000000 08:02 173521",
		" 00400000-00452000 r-xp 00000000 08:02 173521",		/* leading blank */
		"00452000-00400000 r-xp 00000000 08:02 173521",		/* start > end */
		"00400000-00400000 r-xp 00000000 08:02 173521",		/* start == end */
		"00400000 00452000 r-xp 00000000 08:02 173521",		/* no dash */
		"00400000-00452000 00000000 08:02 173521 /usr/bin/dbus-daemon",	/* no perms */
		"00400000-00452000 r-x 00000000 08:02 173521",		/* short perms */
		"00400000-00452000 rwxq 00000000 08:02 173521",
		"00400000-00452000 wrxp 00000000 08:02 173521",
		"00400000-00452000 r-xpp 00000000 08:02 173521",
		"00400000-00452000 r-xp 00000000",				/* 3 fields only */
		"00400000-00452000 r-xp",
		"00400000-00452000",
		"00400000-00452000 r-xp 00000000 08:02",			/* no inode */
		"00400000-00452000 r-xp 00000000 0802 173521",		/* no colon */
		"00400000-00452000 r-xp 00000000 08: 173521",
		"00400000-00452000 r-xp 00000000 08:02 17a521 /x",		/* inode not decimal */
		"00400000-00452000 r-xp 0000g000 08:02 173521",
		"00400000-00452000 r-xp 00000000 100000000:02 173521",	/* major > 32 bits */
		"10000000000000000-20000000000000000 r-xp 00000000 08:02 1",	/* > 64 bits */
		"00400000-00452000 r-xp 00000000 08:02 18446744073709551616",
	};
	struct maps_entry e = { .start = 0x1234 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (maps_parse_line(bad[i], &e) != -EINVAL)
			fail_msg("accepted: \"%s\"", bad[i]);
	/* A failed parse leaves out alone. */
	assert_int_equal(e.start, 0x1234);
	assert_int_equal(maps_parse_line(NULL, &e), -EINVAL);
	assert_int_equal(maps_parse_line("1000-2000 rw-p 0 00:00 0", NULL), -EINVAL);
}

static void test_parse_line_path_with_spaces(void **state)
{
	struct maps_entry e;

	(void)state;
	assert_int_equal(maps_parse_line("7ffabc278000-7ffabc279000 r--s 00000000 fe:00 10954009"
					 "                   /tmp/a b (deleted)\n", &e), 0);
	assert_string_equal(e.path, "/tmp/a b (deleted)");
	assert_int_equal(e.kind, MAPS_FILE);
	assert_int_equal(maps_parse_line("1000-2000 r--p 0 fe:00 1 /tmp/x  y\tz", &e), 0);
	assert_string_equal(e.path, "/tmp/x  y\tz");
}

static void test_parse_line_long_path(void **state)
{
	char line[512], path[301];
	struct maps_entry e;

	(void)state;
	memset(path, 'a', 300);
	path[0] = '/';
	path[300] = '\0';
	snprintf(line, sizeof(line), "1000-2000 rw-s 00000000 fe:00 7 %s\n", path);
	assert_int_equal(maps_parse_line(line, &e), 0);
	assert_int_equal(strlen(e.path), MAPS_PATH_MAX - 1);
	assert_memory_equal(e.path, path, MAPS_PATH_MAX - 1);
	assert_int_equal(e.kind, MAPS_FILE);

	/* The kind comes from the whole name, not the truncated one. */
	memcpy(path, "/memfd:", 7);
	snprintf(line, sizeof(line), "1000-2000 rw-s 00000000 00:01 7 %s", path);
	assert_int_equal(maps_parse_line(line, &e), 0);
	assert_int_equal(e.kind, MAPS_MEMFD);
	memcpy(path + 300 - 10, " (deleted)", 10);
	path[0] = '[';
	path[299] = ']';
	snprintf(line, sizeof(line), "1000-2000 rw-p 00000000 00:00 0 %s", path);
	assert_int_equal(maps_parse_line(line, &e), 0);
	assert_int_equal(e.kind, MAPS_SPECIAL);
}

/* ---- whole files ---- */

static void test_parse_fixture_cat(void **state)
{
	char *text = fx_fixture_text("maps-cat.txt");
	struct maps_entry e[64];
	size_t n, kinds[MAPS_KIND_COUNT] = { 0 };

	(void)state;
	assert_int_equal(maps_parse(text, e, 64, &n), 0);
	assert_int_equal(n, 38);
	for (size_t i = 0; i < n; i++) {
		kinds[e[i].kind]++;
		if (i)
			assert_true(e[i].start >= e[i - 1].end);
	}
	assert_int_equal(kinds[MAPS_HEAP], 1);
	assert_int_equal(kinds[MAPS_STACK], 1);
	assert_int_equal(kinds[MAPS_VDSO], 4);
	assert_int_equal(kinds[MAPS_ANON], 4);
	assert_int_equal(kinds[MAPS_FILE], 28);
	assert_int_equal(kinds[MAPS_SPECIAL] + kinds[MAPS_MEMFD] + kinds[MAPS_HUGETLB_ANON] +
			 kinds[MAPS_HUGETLB_FILE], 0);
	assert_string_equal(e[0].path, "/usr/bin/cat");
	assert_string_equal(e[0].perms, "r--p");
	assert_string_equal(by_path(e, n, "[vsyscall]")->perms, "--xp");
	assert_string_equal(by_path(e, n, "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache")
				    ->perms, "r--s");
	free(text);
}

static void test_parse_fixture_guest(void **state)
{
	char *text = fx_fixture_text("maps-guest.txt");
	char *mounts = fx_fixture_text("mounts-hugetlbfs.txt");
	struct maps_entry e[64];
	size_t n, guards = 0;

	(void)state;
	assert_int_equal(maps_parse(text, e, 64, &n), 0);
	assert_int_equal(n, 34);
	assert_int_equal(by_path(e, n, "/memfd:guest-ram (deleted)")->kind, MAPS_MEMFD);
	assert_int_equal(by_path(e, n, "/memfd:guest-huge (deleted)")->kind, MAPS_MEMFD);
	assert_int_equal(by_path(e, n, "/anon_hugepage (deleted)")->kind, MAPS_HUGETLB_ANON);
	assert_int_equal(maps_find(e, n, 0x7ffabba00000)->kind, MAPS_HUGETLB_ANON);
	assert_string_equal(maps_find(e, n, 0x7ffabba00000)->perms, "rw-p");
	assert_int_equal(by_path(e, n, "/tmp/a b (deleted)")->kind, MAPS_FILE);
	assert_int_equal(by_path(e, n, "/dev/zero (deleted)")->kind, MAPS_FILE);
	assert_int_equal(by_path(e, n, "/tmp/mcefwd-huge/guest")->kind, MAPS_FILE);
	for (size_t i = 0; i < n; i++)
		guards += !strcmp(e[i].perms, "---p") && e[i].kind == MAPS_ANON;
	assert_int_equal(guards, 2);

	maps_classify_hugetlbfs(e, n, mounts);
	assert_int_equal(by_path(e, n, "/tmp/mcefwd-huge/guest")->kind, MAPS_HUGETLB_FILE);
	assert_int_equal(by_path(e, n, "/tmp/cap/cap")->kind, MAPS_FILE);
	assert_int_equal(by_path(e, n, "/tmp/a b (deleted)")->kind, MAPS_FILE);
	assert_int_equal(by_path(e, n, "/memfd:guest-ram (deleted)")->kind, MAPS_MEMFD);
	free(mounts);
	free(text);
}

static void test_parse_names_bad_line(void **state)
{
	const char *text = "1000-2000 r--p 00000000 fe:00 1 /bin/x\n"
			   "2000-3000 rw-p 00000000 00:00 0 \n"
			   "3000-2fff rw-p 00000000 00:00 0 \n"
			   "4000-5000 rw-p 00000000 00:00 0 \n";
	struct maps_entry e[8];
	size_t n = 99;

	(void)state;
	error_clear();
	assert_int_equal(maps_parse(text, e, 8, &n), -EINVAL);
	assert_non_null(strstr(error_get(), "line 3"));
	assert_non_null(strstr(error_get(), "3000-2fff"));
	assert_int_equal(n, 99);
}

static void test_parse_empty_lines(void **state)
{
	struct maps_entry e[8];
	size_t n = 99;

	(void)state;
	assert_int_equal(maps_parse("", e, 8, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(maps_parse("\n\n1000-2000 rw-p 0 00:00 0\n\n2000-3000 rw-p 0 00:00 0",
				    e, 8, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(e[1].start, 0x2000);
	/* An empty line counts: the error names the line as an editor would. */
	error_clear();
	assert_int_equal(maps_parse("1000-2000 rw-p 0 00:00 0\n\nbogus\n", e, 8, &n), -EINVAL);
	assert_non_null(strstr(error_get(), "line 3"));
	/* A blank-only line is not empty: it is broken. */
	assert_int_equal(maps_parse("1000-2000 rw-p 0 00:00 0\n \n", e, 8, &n), -EINVAL);
}

static void test_parse_order_and_room(void **state)
{
	const char *text = "1000-2000 rw-p 0 00:00 0\n"
			   "2000-3000 rw-p 0 00:00 0\n"
			   "5000-6000 rw-p 0 00:00 0\n";
	struct maps_entry e[3];
	size_t n;

	(void)state;
	assert_int_equal(maps_parse(text, NULL, 0, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(maps_parse(text, e, 2, &n), -ENOSPC);
	assert_int_equal(n, 3);
	assert_int_equal(e[1].start, 0x2000);
	assert_int_equal(maps_parse(text, NULL, 2, &n), -EINVAL);

	/* Overlapping or out of order: maps_find() could not be trusted. */
	error_clear();
	assert_int_equal(maps_parse("1000-3000 rw-p 0 00:00 0\n2000-4000 rw-p 0 00:00 0\n",
				    e, 3, &n), -EINVAL);
	assert_non_null(strstr(error_get(), "line 2"));
	assert_int_equal(maps_parse("5000-6000 rw-p 0 00:00 0\n1000-2000 rw-p 0 00:00 0\n",
				    e, 3, &n), -EINVAL);
}

static void test_find(void **state)
{
	const char *text = "1000-3000 rw-p 0 00:00 0\n"
			   "3000-4000 rw-p 0 00:00 0 [heap]\n"
			   "8000-9000 rw-p 0 00:00 0 [stack]\n";
	struct maps_entry e[3];
	size_t n;

	(void)state;
	assert_int_equal(maps_parse(text, e, 3, &n), 0);
	assert_ptr_equal(maps_find(e, n, 0x1000), &e[0]);
	assert_ptr_equal(maps_find(e, n, 0x2fff), &e[0]);
	assert_ptr_equal(maps_find(e, n, 0x3000), &e[1]);
	assert_null(maps_find(e, n, 0x4000));
	assert_null(maps_find(e, n, 0xfff));
	assert_ptr_equal(maps_find(e, n, 0x8fff), &e[2]);
	assert_null(maps_find(e, n, 0x9000));
	assert_null(maps_find(e, n, UINT64_MAX));
	assert_null(maps_find(NULL, 3, 0x1000));
	assert_null(maps_find(e, 0, 0x1000));
}

/* ---- hugetlbfs ---- */

static void test_hugetlbfs_fixture(void **state)
{
	char *mounts = fx_fixture_text("mounts-hugetlbfs.txt");

	(void)state;
	assert_true(maps_path_on_hugetlbfs("/tmp/mcefwd-huge/guest", mounts));
	assert_true(maps_path_on_hugetlbfs("/tmp/mcefwd-huge/a/b (deleted)", mounts));
	assert_false(maps_path_on_hugetlbfs("/tmp/mcefwd-huge", mounts));
	assert_false(maps_path_on_hugetlbfs("/tmp/mcefwd-hugepages/guest", mounts));
	assert_false(maps_path_on_hugetlbfs("/tmp/guest", mounts));
	assert_false(maps_path_on_hugetlbfs("/dev/shm/guest", mounts));
	assert_false(maps_path_on_hugetlbfs("/usr/lib/x86_64-linux-gnu/libc.so.6", mounts));
	assert_false(maps_path_on_hugetlbfs("tmp/mcefwd-huge/guest", mounts));
	assert_false(maps_path_on_hugetlbfs("", mounts));
	assert_false(maps_path_on_hugetlbfs(NULL, mounts));
	assert_false(maps_path_on_hugetlbfs("/tmp/mcefwd-huge/guest", NULL));
	free(mounts);
}

static void test_hugetlbfs_shadowing(void **state)
{
	const char *base = "/dev/vda / ext4 rw,relatime 0 0\n";
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text), "%shugetlbfs /dev/hugepages hugetlbfs rw,pagesize=2M 0 0\n",
		 base);
	assert_true(maps_path_on_hugetlbfs("/dev/hugepages/qemu_back_mem.pc.ram.Xa1 (deleted)",
					   text));
	/* tmpfs mounted later on a parent hides the hugetlbfs below it. */
	snprintf(text, sizeof(text), "%shugetlbfs /mnt/huge hugetlbfs rw 0 0\n"
		 "tmpfs /mnt tmpfs rw 0 0\n", base);
	assert_false(maps_path_on_hugetlbfs("/mnt/huge/guest", text));
	/* ... and on the same point. */
	snprintf(text, sizeof(text), "%shugetlbfs /mnt/huge hugetlbfs rw 0 0\n"
		 "tmpfs /mnt/huge tmpfs rw 0 0\n", base);
	assert_false(maps_path_on_hugetlbfs("/mnt/huge/guest", text));
	snprintf(text, sizeof(text), "%stmpfs /mnt/huge tmpfs rw 0 0\n"
		 "hugetlbfs /mnt/huge hugetlbfs rw 0 0\n", base);
	assert_true(maps_path_on_hugetlbfs("/mnt/huge/guest", text));
	/* A tmpfs deeper down is its own file system. */
	snprintf(text, sizeof(text), "%shugetlbfs /mnt/huge hugetlbfs rw 0 0\n"
		 "tmpfs /mnt/huge/tmp tmpfs rw 0 0\n", base);
	assert_true(maps_path_on_hugetlbfs("/mnt/huge/guest", text));
	assert_false(maps_path_on_hugetlbfs("/mnt/huge/tmp/guest", text));
	/* hugetlbfs as the root of a mount namespace. */
	assert_true(maps_path_on_hugetlbfs("/guest", "none / hugetlbfs rw 0 0\n"));
	/* Mount points with blanks are escaped in mounts, not in maps. */
	snprintf(text, sizeof(text), "%snone /mnt/huge\\040pages hugetlbfs rw 0 0\n", base);
	assert_true(maps_path_on_hugetlbfs("/mnt/huge pages/guest", text));
	assert_false(maps_path_on_hugetlbfs("/mnt/huge\\040pages/guest", text));
	/* A broken line decides nothing. */
	assert_false(maps_path_on_hugetlbfs("/mnt/huge/guest", "hugetlbfs /mnt/huge\n"));
	assert_false(maps_path_on_hugetlbfs("/mnt/huge/guest", "\n\n"));
}

static void test_hugetlbfs_classify_needs_anon_device(void **state)
{
	const char *mounts = "/dev/vda / ext4 rw 0 0\nnone / hugetlbfs rw 0 0\n";
	struct maps_entry e[4];
	char line[512], path[300];
	size_t n;

	(void)state;
	assert_int_equal(maps_parse("1000-2000 rw-s 0 00:27 5 /guest\n"
				    "2000-3000 rw-s 0 fe:00 5 /guest2\n"
				    "3000-4000 rw-p 0 00:00 0 [heap]\n", e, 4, &n), 0);
	maps_classify_hugetlbfs(e, n, mounts);
	assert_int_equal(e[0].kind, MAPS_HUGETLB_FILE);
	/* Whatever the mount table claims, a disk file is page cache. */
	assert_int_equal(e[1].kind, MAPS_FILE);
	assert_int_equal(e[2].kind, MAPS_HEAP);

	/* A truncated path might point elsewhere: it stays a file. */
	memset(path, 'g', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	snprintf(line, sizeof(line), "1000-2000 rw-s 0 00:27 5 %s", path);
	assert_int_equal(maps_parse_line(line, &e[0]), 0);
	maps_classify_hugetlbfs(e, 1, mounts);
	assert_int_equal(e[0].kind, MAPS_FILE);
}

/* ---- pagemap_decode ---- */

static void test_pagemap_decode(void **state)
{
	struct pagemap_info p;

	(void)state;
	pagemap_decode(0, &p);
	assert_false(p.present || p.swapped || p.exclusive || p.file_or_shared || p.soft_dirty ||
		     p.pfn_hidden);
	assert_int_equal(p.pfn, 0);

	pagemap_decode(1ULL << 63 | 1ULL << 56 | 0x12345, &p);
	assert_true(p.present && p.exclusive);
	assert_false(p.swapped || p.file_or_shared || p.soft_dirty || p.pfn_hidden);
	assert_int_equal(p.pfn, 0x12345);

	pagemap_decode(1ULL << 63 | 1ULL << 61 | 1ULL << 55 | 0x7fffffffffffffULL, &p);
	assert_true(p.present && p.file_or_shared && p.soft_dirty);
	assert_false(p.exclusive || p.swapped);
	assert_int_equal(p.pfn, (1ULL << 55) - 1);

	/* Bits 57-60 (uffd-wp, guard, zero) are not part of the PFN. */
	pagemap_decode(1ULL << 63 | 0xfULL << 57 | 0x42, &p);
	assert_int_equal(p.pfn, 0x42);

	/* Present, PFN 0: the reader lacked CAP_SYS_ADMIN. */
	pagemap_decode(1ULL << 63 | 1ULL << 56, &p);
	assert_true(p.present && p.pfn_hidden);
	assert_int_equal(p.pfn, 0);

	/* Swapped: bits 0-54 are the swap type and offset, not a frame. */
	pagemap_decode(1ULL << 62 | 0x1f | 0xabcULL << 5, &p);
	assert_true(p.swapped);
	assert_false(p.present || p.pfn_hidden);
	assert_int_equal(p.pfn, 0);
	/* A hwpoison entry's offset is the frame it stands for. */
	assert_int_equal(p.swap_offset, 0xabc);

	pagemap_decode(UINT64_MAX, &p);
	assert_true(p.present && p.swapped && p.exclusive && p.file_or_shared && p.soft_dirty);
	assert_false(p.pfn_hidden);
	assert_int_equal(p.pfn, PAGEMAP_PFN_MASK);
	assert_int_equal(p.swap_offset, 0);
}

/* ---- the readers, on this process ---- */

static void test_maps_read_self(void **state)
{
	char *small = malloc(64), *big = malloc(1 << 20);
	struct maps_entry *e = NULL;
	const struct maps_entry *m;
	int on_stack = 0;
	size_t n = 0;

	(void)state;
	assert_non_null(small);
	assert_non_null(big);
	assert_int_equal(maps_read(getpid(), &e, &n), 0);
	assert_true(n > 5);

	m = maps_find(e, n, (uintptr_t)small);
	assert_non_null(m);
	assert_true(m->kind == MAPS_HEAP || m->kind == MAPS_ANON);
	assert_int_equal(m->perms[0], 'r');
	m = maps_find(e, n, (uintptr_t)big);
	assert_non_null(m);
	assert_true(m->kind == MAPS_HEAP || m->kind == MAPS_ANON);

	m = maps_find(e, n, (uintptr_t)&on_stack);
	assert_non_null(m);
	/* Valgrind runs the client on a stack of its own making. */
	if (!fx_under_valgrind())
		assert_int_equal(m->kind, MAPS_STACK);

	m = maps_find(e, n, (uintptr_t)&test_maps_read_self);
	assert_non_null(m);
	assert_int_equal(m->kind, MAPS_FILE);
	assert_int_equal(m->perms[2], 'x');

	maps_free(e);
	free(big);
	free(small);
}

static void test_maps_read_memfd(void **state)
{
	struct maps_entry *e;
	const struct maps_entry *m;
	size_t n;
	char *p;
	int fd;

	(void)state;
	fd = memfd_create("mcefwd-test", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 2 * PS), 0);
	p = mmap(NULL, 2 * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(maps_read(getpid(), &e, &n), 0);
	m = maps_find(e, n, (uintptr_t)p + PS);
	assert_non_null(m);
	assert_int_equal(m->kind, MAPS_MEMFD);
	assert_string_equal(m->path, "/memfd:mcefwd-test (deleted)");
	assert_string_equal(m->perms, "rw-s");
	assert_int_equal(m->dev_major, 0);
	maps_free(e);
	munmap(p, 2 * PS);
	close(fd);
}

/* nr_hugepages, to raise by one and put back; -1 if it cannot be read. */
static long hugepages_get(void)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "re");
	long v = -1;

	if (f && fscanf(f, "%ld", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

static bool hugepages_set(long v)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "we");
	bool ok = f && fprintf(f, "%ld\n", v) > 0;

	if (f && fclose(f))
		ok = false;
	return ok;
}

static void test_maps_read_hugetlb_anon(void **state)
{
	const size_t huge = 2 << 20;
	struct maps_entry *e;
	const struct maps_entry *m;
	long borrowed = -1;
	size_t n;
	char *p;

	(void)state;
	p = mmap(NULL, huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
		 -1, 0);
	/* As root, borrow one huge page for the test and give it back after. */
	if (p == MAP_FAILED && (borrowed = hugepages_get()) >= 0 && hugepages_set(borrowed + 1))
		p = mmap(NULL, huge, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED) {
		if (borrowed >= 0)
			hugepages_set(borrowed);
		print_message("skip: MAP_HUGETLB: %s: no free 2 MiB hugepage "
			      "(echo 2 > /proc/sys/vm/nr_hugepages as root)\n", strerror(errno));
		skip();
	}
	assert_int_equal(maps_read(getpid(), &e, &n), 0);
	m = maps_find(e, n, (uintptr_t)p);
	assert_non_null(m);
	assert_int_equal(m->kind, MAPS_HUGETLB_ANON);
	maps_free(e);
	munmap(p, huge);
	if (borrowed >= 0)
		hugepages_set(borrowed);
}

static void test_maps_read_errors(void **state)
{
	struct maps_entry *e = NULL;
	size_t n = 0;
	pid_t child;

	(void)state;
	assert_int_equal(maps_read(0, &e, &n), -EINVAL);
	assert_int_equal(maps_read(-1, &e, &n), -EINVAL);
	assert_int_equal(maps_read(getpid(), NULL, &n), -EINVAL);

	/* A reaped child's PID names no process (until it is reused). */
	child = fork();
	assert_true(child >= 0);
	if (!child)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	error_clear();
	assert_int_equal(maps_read(child, &e, &n), -ENOENT);
	assert_non_null(strstr(error_get(), "/maps"));
	assert_null(e);
}

/* ro: the entry of a page only read. Asserts it against a second such page. */
static void check_read_fault_page(const struct pagemap_info *ro)
{
	struct pagemap_info other;
	volatile char *m2;
	char c;

	m2 = mmap(NULL, PS, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m2 != MAP_FAILED);
	c = m2[0];
	(void)c;
	assert_int_equal(pagemap_read(getpid(), (uintptr_t)m2, &other), 0);
	assert_true(other.present);
	assert_false(other.file_or_shared);
	if (ro->pfn_hidden || other.pfn_hidden) {
		/* Without the PFNs: the two read faults were served alike. */
		assert_int_equal(ro->exclusive, other.exclusive);
	} else if (ro->pfn == other.pfn) {
		print_message("# a read fault maps the shared zero page (pfn 0x%llx)\n",
			      (unsigned long long)ro->pfn);
		assert_false(ro->exclusive);
		assert_false(other.exclusive);
	} else {
		print_message("# a read fault maps a private page: this kernel does not use the zero page\n");
		assert_true(ro->exclusive);
		assert_true(other.exclusive);
	}
	munmap((void *)m2, PS);
}

static void test_pagemap_read_self(void **state)
{
	struct pagemap_info p[3];
	volatile char *m;
	char c;

	(void)state;
	m = mmap(NULL, 3 * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);

	/* Fresh and untouched: nothing behind it yet. */
	assert_int_equal(pagemap_read(getpid(), (uintptr_t)m, &p[0]), 0);
	assert_false(p[0].present);
	assert_int_equal(p[0].pfn, 0);

	m[0] = 1;
	c = m[2 * PS];
	(void)c;
	assert_int_equal(pagemap_read_range(getpid(), (uintptr_t)m, 3, p), 0);
	/* Written: its own anonymous page. */
	assert_true(p[0].present);
	assert_true(p[0].exclusive);
	assert_false(p[0].file_or_shared);
	if (p[0].pfn_hidden)
		print_message("# PFN hidden: no CAP_SYS_ADMIN\n");
	else
		assert_true(p[0].pfn != 0);
	assert_false(p[1].present);
	/*
	 * Only read: the kernel maps a page, but which one is policy. In
	 * mm/memory.c do_anonymous_page() a read fault maps the shared zero
	 * page unless mm_forbids_zeropage() (or a hypervisor's no-zero-page
	 * policy) makes it allocate a private one; pagemap (fs/proc/task_mmu.c)
	 * then reports the zero page present but not exclusive (no struct page
	 * behind its special PTE), a private page present and exclusive.
	 * Neither is a file page. Which one this kernel chose is told by a
	 * second mapping read the same way: the same frame is the zero page.
	 */
	assert_true(p[2].present);
	assert_false(p[2].file_or_shared);
	check_read_fault_page(&p[2]);

	/* An address inside the page reads the same entry. */
	assert_int_equal(pagemap_read(getpid(), (uintptr_t)m + 123, &p[1]), 0);
	assert_true(p[1].present && p[1].exclusive);
	munmap((void *)m, 3 * PS);
}

static void test_pagemap_read_errors(void **state)
{
	struct pagemap_info p;

	(void)state;
	assert_int_equal(pagemap_read(0, 0x1000, &p), -EINVAL);
	assert_int_equal(pagemap_read(getpid(), 0x1000, NULL), -EINVAL);
	assert_int_equal(pagemap_read_range(getpid(), 0x1001, 1, &p), -EINVAL);
	assert_int_equal(pagemap_read_range(getpid(), UINT64_MAX & ~0xfffULL, 2, &p), -EINVAL);
	/* Unmapped is not an error: just not present. */
	assert_int_equal(pagemap_read(getpid(), 0x1000, &p), 0);
	assert_false(p.present);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_parse_line_fields),
		cmocka_unit_test(test_parse_line_kinds),
		cmocka_unit_test(test_parse_line_malformed),
		cmocka_unit_test(test_parse_line_path_with_spaces),
		cmocka_unit_test(test_parse_line_long_path),
		cmocka_unit_test(test_parse_fixture_cat),
		cmocka_unit_test(test_parse_fixture_guest),
		cmocka_unit_test(test_parse_names_bad_line),
		cmocka_unit_test(test_parse_empty_lines),
		cmocka_unit_test(test_parse_order_and_room),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_hugetlbfs_fixture),
		cmocka_unit_test(test_hugetlbfs_shadowing),
		cmocka_unit_test(test_hugetlbfs_classify_needs_anon_device),
		cmocka_unit_test(test_pagemap_decode),
		cmocka_unit_test(test_maps_read_self),
		cmocka_unit_test(test_maps_read_memfd),
		cmocka_unit_test(test_maps_read_hugetlb_anon),
		cmocka_unit_test(test_maps_read_errors),
		cmocka_unit_test(test_pagemap_read_self),
		cmocka_unit_test(test_pagemap_read_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
