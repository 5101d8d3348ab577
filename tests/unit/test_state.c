// SPDX-License-Identifier: GPL-2.0-only
/*
 * inject/state: the log of poisoned frames parses as the last word of each
 * frame, survives a writer dying between records, and replays into
 * unpoison-pfn writes (against a fake debugfs, never the real one).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "inject/inject.h"
#include "inject/state.h"
#include "mcefwd/util/error.h"
#include "tests/unit/fixture.h"

#define BOOT_A "11111111-2222-3333-4444-555555555555"
#define BOOT_B "66666666-7777-8888-9999-000000000000"

/* ---- helpers ---- */

static int setup_tmp(void **state)
{
	(void)state;
	return fx_tmp_setup("state");
}

/* Fake roots must never outlive a test, failed or not. */
static int teardown_tmp(void **state)
{
	(void)state;
	inject_set_debugfs_root(NULL);
	inject_set_proc_root(NULL);
	unsetenv("MCEFWD_STATE");
	return fx_tmp_teardown();
}

/* The file's contents; the caller frees. */
static char *read_file(const char *path)
{
	static const size_t cap = 1 << 16;
	char *buf = malloc(cap);
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_non_null(buf);
	assert_true(fd >= 0);
	n = read(fd, buf, cap - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static size_t parse_file(const char *path, struct state_entry *out, size_t max, unsigned int *torn)
{
	char *text = read_file(path);
	size_t n = 0;

	assert_int_equal(state_parse(text, out, max, &n, torn), 0);
	free(text);
	return n;
}

static struct state_entry entry(uint64_t pfn, pid_t pid, enum inject_method m)
{
	return (struct state_entry){
	    .pfn = pfn,
	    .pid = pid,
	    .addr = 0x7f0000000000ULL + (pfn << 12),
	    .size = 4096,
	    .method = m,
	    .time = 1700000000,
	};
}

static void make_dir(const char *path)
{
	assert_int_equal(mkdir(path, 0700), 0);
}

/* A fake debugfs whose hwpoison/unpoison-pfn is an empty regular file. */
static const char *fake_debugfs_with_unpoison(void)
{
	const char *root = fx_tpath("debug");

	make_dir(root);
	make_dir(fx_tpath("debug/hwpoison"));
	fx_write_file(fx_tpath("debug/hwpoison/unpoison-pfn"), "");
	assert_int_equal(inject_set_debugfs_root(root), 0);
	return root;
}

/* ---- parsing ---- */

static void test_parse_pairs(void **state)
{
	const char *text =
	    "poisoned pfn=0x1000 pid=10 addr=0x7f0000001000 size=4096 method=pfn time=1700000001\n"
	    "poisoned pfn=0x2000 pid=20 addr=0x7f0000002000 size=8192 method=hwpoison "
	    "time=1700000002\n"
	    "unpoisoned pfn=0x1000\n"
	    "poisoned pfn=0x3000 pid=0 addr=0x3000000 size=4096 method=einj time=1700000003\n"
	    "unpoisoned pfn=0x3000\n";
	struct state_entry out[4];
	unsigned int torn = 99;
	size_t n = 99;

	(void)state;
	assert_int_equal(state_parse(text, out, 4, &n, &torn), 0);
	assert_int_equal(n, 1);
	assert_int_equal(torn, 0);
	assert_int_equal(out[0].pfn, 0x2000);
	assert_int_equal(out[0].pid, 20);
	assert_int_equal(out[0].addr, 0x7f0000002000ULL);
	assert_int_equal(out[0].size, 8192);
	assert_int_equal(out[0].method, INJECT_HWPOISON);
	assert_int_equal(out[0].time, 1700000002);
	assert_string_equal(out[0].boot, "");
}

static void test_parse_repoison_after_unpoison(void **state)
{
	const char *text = "poisoned pfn=0x1000 pid=10 addr=0x1000 size=4096 method=pfn time=1\n"
			   "poisoned pfn=0x2000 pid=20 addr=0x2000 size=4096 method=pfn time=2\n"
			   "unpoisoned pfn=0x1000\n"
			   "# a comment, and an empty line\n"
			   "\n"
			   "poisoned pfn=0x1000 pid=11 addr=0x9000 size=4096 method=soft-offline "
			   "time=3 boot=" BOOT_A "\n"
			   "unpoisoned pfn=0x4000 reason=reboot\n";
	struct state_entry out[4];
	size_t n = 0;

	(void)state;
	assert_int_equal(state_parse(text, out, 4, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].pfn, 0x2000);
	/* The last word on 0x1000 wins, with everything it says. */
	assert_int_equal(out[1].pfn, 0x1000);
	assert_int_equal(out[1].pid, 11);
	assert_int_equal(out[1].addr, 0x9000);
	assert_int_equal(out[1].method, INJECT_SOFT_OFFLINE);
	assert_int_equal(out[1].time, 3);
	assert_string_equal(out[1].boot, BOOT_A);
}

static void test_parse_torn_last_line(void **state)
{
	const char *text = "poisoned pfn=0x1000 pid=10 addr=0x1000 size=4096 method=pfn time=1\n"
			   "poisoned pfn=0x2000 pid=20 addr=0x2000 size=4096 method=pfn time=2\n"
			   "unpoisoned pfn=0x2";
	const char *repaired =
	    "poisoned pfn=0x1000 pid=10 addr=0x1000 size=4096 method=pfn time=1\n"
	    "poisoned pfn=0x20\ttorn\n"
	    "poisoned pfn=0x3000 pid=30 addr=0x3000 size=4096 method=pfn time=3\n"
	    "poisoned pfn=0x40";
	struct state_entry out[4];
	unsigned int torn = 0;
	size_t n = 0;

	(void)state;
	/* The unpoison never made it: 0x2000 is still taken as poisoned. */
	assert_int_equal(state_parse(text, out, 4, &n, &torn), 0);
	assert_int_equal(n, 2);
	assert_int_equal(torn, 1);
	assert_int_equal(out[1].pfn, 0x2000);

	assert_int_equal(state_parse(repaired, out, 4, &n, &torn), 0);
	assert_int_equal(n, 2);
	assert_int_equal(torn, 2);
	assert_int_equal(out[0].pfn, 0x1000);
	assert_int_equal(out[1].pfn, 0x3000);
}

static void test_parse_malformed_names_line(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"poisoned pfn=0x1 pid=1 addr=0x1 size=1 method=pfn time=1\nbogus pfn=0x2\n",
	     "line 2: \"bogus\""},
	    {"poisoned pfn=0x1 pid=1\n", "line 1: poisoned record without addr="},
	    {"poisoned pfn=0xzz pid=1 addr=0x1 size=1 method=pfn time=1\n", "line 1: bad pfn=0xzz"},
	    {"poisoned pfn=0x1 pid=-1 addr=0x1 size=1 method=pfn time=1\n", "line 1: bad pid=-1"},
	    {"poisoned pfn=0x1 pid=1 addr=0x1 size=0 method=pfn time=1\n", "line 1: bad size=0"},
	    {"poisoned pfn=0x1 pid=1 addr=0x1 size=1 method=uffd time=1\n",
	     "line 1: bad method=uffd"},
	    {"poisoned pfn=0x1 pid=1 addr=0x1 size=1 method=pfn time=1 boot=XYZ\n",
	     "line 1: bad boot=XYZ"},
	    {"poisoned pfn=0x1 pfn=0x2 pid=1 addr=0x1 size=1 method=pfn time=1\n",
	     "line 1: pfn= given twice"},
	    {"\n\nunpoisoned\n", "line 3: no pfn="},
	    {"unpoisoned pfn\n", "line 1: \"pfn\" is not key=value"},
	};
	struct state_entry out[2];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		error_clear();
		assert_int_equal(state_parse(cases[i].text, out, 2, &n, NULL), -EINVAL);
		fx_assert_contains(error_get(), cases[i].want);
	}
}

static void test_parse_empty(void **state)
{
	struct state_entry out[1];
	unsigned int torn = 7;
	size_t n = 7;

	(void)state;
	assert_int_equal(state_parse("", out, 1, &n, &torn), 0);
	assert_int_equal(n, 0);
	assert_int_equal(torn, 0);
	assert_int_equal(state_parse("", NULL, 0, &n, NULL), 0);
	assert_int_equal(n, 0);
}

static void test_parse_too_many(void **state)
{
	const char *text = "poisoned pfn=0x1 pid=1 addr=0x1 size=1 method=pfn time=1\n"
			   "poisoned pfn=0x2 pid=1 addr=0x2 size=1 method=pfn time=1\n";
	struct state_entry out[1];
	size_t n;

	(void)state;
	assert_int_equal(state_parse(text, out, 1, &n, NULL), -ENOSPC);
	fx_assert_contains(error_get(), "line 2");
}

/* ---- writing ---- */

static void test_open_creates_0600_in_0700_dirs(void **state)
{
	const char *path = fx_tpath("var/lib/mcefwd/state");
	struct state_entry out[2];
	struct state *s;
	struct stat st;
	mode_t old = umask(0);

	(void)state;
	assert_int_equal(state_open(path, &s), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(fx_tpath("var/lib/mcefwd"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(fx_tpath("var"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(state_record_poison(s, &(struct state_entry){.pfn = 0x42,
								      .pid = 1,
								      .addr = 0x1000,
								      .size = 4096,
								      .method = INJECT_PFN}),
			 0);
	state_close(s);

	/* Reopening appends; the writer fills in time and boot. */
	assert_int_equal(state_open(path, &s), 0);
	assert_int_equal(state_record_unpoison(s, 0x42), 0);
	state_close(s);
	assert_int_equal(parse_file(path, out, 2, NULL), 0);
	{
		char *text = read_file(path);

		fx_assert_contains(text,
				"poisoned pfn=0x42 pid=1 addr=0x1000 size=4096 method=pfn time=");
		fx_assert_contains(text, "\nunpoisoned pfn=0x42\n");
		if (access("/proc/sys/kernel/random/boot_id", R_OK) == 0)
			fx_assert_contains(text, " boot=");
		free(text);
	}
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_open_refuses_symlink(void **state)
{
	struct state *s = (struct state *)1;

	(void)state;
	fx_write_file(fx_tpath("target"), "");
	assert_int_equal(symlink(fx_tpath("target"), fx_tpath("link")), 0);
	assert_int_equal(state_open(fx_tpath("link"), &s), -ELOOP);
	assert_null(s);
	fx_assert_contains(error_get(), "symlink");
}

static void test_record_refuses_frameless_methods(void **state)
{
	struct state_entry e = entry(0x10, 1, INJECT_SIGNAL);
	struct state *s;

	(void)state;
	assert_int_equal(state_open(fx_tpath("state"), &s), 0);
	assert_int_equal(state_record_poison(s, &e), -EINVAL);
	fx_assert_contains(error_get(), "signal poisons no page frame");
	e.method = INJECT_UFFD;
	assert_int_equal(state_record_poison(s, &e), -EINVAL);
	e.method = INJECT_PFN;
	e.pfn = 0;
	assert_int_equal(state_record_poison(s, &e), -EINVAL);
	state_close(s);
	{
		char *text = read_file(fx_tpath("state"));

		assert_string_equal(text, "");
		free(text);
	}
}

static void test_writer_killed_between_records(void **state)
{
	const char *path = fx_tpath("state");
	struct state_entry out[4];
	unsigned int torn = 9;
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct state *s;

		if (state_open(path, &s))
			_exit(2);
		for (int i = 0; i < 3; i++) {
			struct state_entry e = entry(0x100 + i, getpid(), INJECT_HWPOISON);

			if (state_record_poison(s, &e))
				_exit(3);
			/* Dies before the third, without closing or flushing anything. */
			if (i == 1)
				_exit(0);
		}
		_exit(4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(parse_file(path, out, 4, &torn), 2);
	assert_int_equal(torn, 0);
	assert_int_equal(out[0].pfn, 0x100);
	assert_int_equal(out[1].pfn, 0x101);
	assert_int_equal(out[1].pid, pid);
}

static void test_open_ends_torn_line(void **state)
{
	const char *path = fx_tpath("state");
	struct state_entry out[4], e = entry(0x3000, 3, INJECT_PFN);
	unsigned int torn = 0;
	struct state *s;

	(void)state;
	fx_write_file(path, "poisoned pfn=0x1000 pid=1 addr=0x1000 size=4096 method=pfn time=1\n"
			 "poisoned pfn=0x20");
	assert_int_equal(state_open(path, &s), 0);
	assert_int_equal(state_record_poison(s, &e), 0);
	state_close(s);
	/* Only appended: the prefix is byte for byte what it was. */
	{
		static const char want[] = "poisoned pfn=0x1000 pid=1 addr=0x1000 "
					   "size=4096 method=pfn time=1\npoisoned pfn=0x20\ttorn\n"
					   "poisoned pfn=0x3000 ";
		char *text = read_file(path);

		assert_int_equal(strncmp(text, want, strlen(want)), 0);
		free(text);
	}
	assert_int_equal(parse_file(path, out, 4, &torn), 2);
	assert_int_equal(torn, 1);
	assert_int_equal(out[1].pfn, 0x3000);
	/* A clean file is left alone. */
	assert_int_equal(state_open(path, &s), 0);
	state_close(s);
	assert_int_equal(parse_file(path, out, 4, &torn), 2);
	assert_int_equal(torn, 1);
}

static void test_default_path(void **state)
{
	(void)state;
	unsetenv("MCEFWD_STATE");
	assert_string_equal(state_default_path(), "/var/lib/mcefwd/state");
	setenv("MCEFWD_STATE", "", 1);
	assert_string_equal(state_default_path(), "/var/lib/mcefwd/state");
	setenv("MCEFWD_STATE", fx_tpath("elsewhere/state"), 1);
	assert_string_equal(state_default_path(), fx_tpath("elsewhere/state"));
}

/* ---- replay ---- */

static void record(const char *path, const struct state_entry *e, size_t n)
{
	struct state *s;

	assert_int_equal(state_open(path, &s), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(state_record_poison(s, &e[i]), 0);
	state_close(s);
}

static void test_replay_into_unpoison_pfn(void **state)
{
	const char *path = fx_tpath("state");
	struct state_entry e[3] = {
	    entry(0x1234, 10, INJECT_PFN),
	    entry(0x5678, 10, INJECT_HWPOISON),
	    entry(0x9abc, 11, INJECT_SOFT_OFFLINE),
	};
	struct state_replay_result res;
	struct state_entry out[4];
	char *text;
	struct state *s;

	(void)state;
	fake_debugfs_with_unpoison();
	assert_true(inject_pfn_can_unpoison());
	record(path, e, 3);
	assert_int_equal(state_open(path, &s), 0);
	assert_int_equal(state_record_unpoison(s, 0x5678), 0);
	state_close(s);

	/* One frame left to undo: the fake file holds exactly its write. */
	assert_int_equal(state_replay(path, &res), 0);
	assert_int_equal(res.poisoned, 2);
	assert_int_equal(res.unpoisoned, 2);
	assert_int_equal(res.rebooted, 0);
	assert_int_equal(res.nr_left, 0);
	assert_int_equal(res.torn, 0);
	state_replay_free(&res);
	text = read_file(fx_tpath("debug/hwpoison/unpoison-pfn"));
	/* Each write lands at offset 0 of the regular file: the last one shows. */
	assert_string_equal(text, "0x9abc\n");
	free(text);
	text = read_file(path);
	fx_assert_contains(text, "\nunpoisoned pfn=0x1234\nunpoisoned pfn=0x9abc\n");
	free(text);
	assert_int_equal(parse_file(path, out, 4, NULL), 0);

	/* Nothing left to do: nothing written anywhere. */
	fx_write_file(fx_tpath("debug/hwpoison/unpoison-pfn"), "");
	text = read_file(path);
	assert_int_equal(state_replay(path, &res), 0);
	assert_int_equal(res.poisoned, 0);
	assert_int_equal(res.unpoisoned, 0);
	assert_int_equal(res.nr_left, 0);
	state_replay_free(&res);
	{
		char *after = read_file(path),
		     *fake = read_file(fx_tpath("debug/hwpoison/unpoison-pfn"));

		assert_string_equal(after, text);
		assert_string_equal(fake, "");
		free(after);
		free(fake);
	}
	free(text);
}

static void test_replay_single_write_is_exact(void **state)
{
	const char *path = fx_tpath("state");
	struct state_entry e = entry(0x1234, 10, INJECT_PFN);
	struct state_replay_result res;
	char *text;

	(void)state;
	fake_debugfs_with_unpoison();
	record(path, &e, 1);
	assert_int_equal(state_replay(path, &res), 0);
	assert_int_equal(res.unpoisoned, 1);
	state_replay_free(&res);
	text = read_file(fx_tpath("debug/hwpoison/unpoison-pfn"));
	assert_string_equal(text, "0x1234\n");
	free(text);
}

static void test_replay_lists_what_it_cannot_clear(void **state)
{
	const char *path = fx_tpath("state"), *root = fx_tpath("nodebug");
	struct state_entry e[2] = {entry(0x1234, 10, INJECT_PFN), entry(0x5678, 0, INJECT_EINJ)};
	struct state_replay_result res;
	char want[512], *before, *after;

	(void)state;
	make_dir(root);
	assert_int_equal(inject_set_debugfs_root(root), 0);
	assert_false(inject_pfn_can_unpoison());
	record(path, e, 2);
	before = read_file(path);
	assert_int_equal(state_replay(path, &res), 0);
	assert_int_equal(res.poisoned, 2);
	assert_int_equal(res.unpoisoned, 0);
	assert_int_equal(res.nr_left, 2);
	for (size_t i = 0; i < 2; i++) {
		snprintf(want, sizeof(want),
			 "echo 0x%" PRIx64 " > %s/hwpoison/unpoison-pfn "
			 "(after: modprobe hwpoison_inject; mount -t debugfs none %s)",
			 e[i].pfn, root, root);
		assert_int_equal(res.left[i].entry.pfn, e[i].pfn);
		assert_int_equal(res.left[i].entry.method, e[i].method);
		assert_int_equal(res.left[i].err, 0);
		assert_string_equal(res.left[i].command, want);
		fx_assert_contains(res.left[i].reason, "unpoison-pfn");
	}
	state_replay_free(&res);
	/* Nothing was undone, so nothing was appended. */
	after = read_file(path);
	assert_string_equal(after, before);
	free(before);
	free(after);
}

static void test_replay_failed_unpoison_is_left(void **state)
{
	const char *path = fx_tpath("state");
	struct state_entry e = entry(0x1234, 10, INJECT_EINJ);
	struct state_replay_result res;

	(void)state;
	/* A directory where the file should be: the write fails, EISDIR. */
	make_dir(fx_tpath("debug"));
	make_dir(fx_tpath("debug/hwpoison"));
	make_dir(fx_tpath("debug/hwpoison/unpoison-pfn"));
	assert_int_equal(inject_set_debugfs_root(fx_tpath("debug")), 0);
	record(path, &e, 1);
	assert_int_equal(state_replay(path, &res), 0);
	assert_int_equal(res.unpoisoned, 0);
	assert_int_equal(res.nr_left, 1);
	assert_int_equal(res.left[0].err, -EISDIR);
	fx_assert_contains(res.left[0].reason, "unpoison-pfn");
	fx_assert_contains(res.left[0].command, "echo 0x1234 > ");
	state_replay_free(&res);
}

static void test_replay_frames_of_an_earlier_boot(void **state)
{
	const char *path = fx_tpath("state");
	struct state_replay_result res;
	char *text;

	(void)state;
	make_dir(fx_tpath("proc"));
	make_dir(fx_tpath("proc/sys"));
	make_dir(fx_tpath("proc/sys/kernel"));
	make_dir(fx_tpath("proc/sys/kernel/random"));
	fx_write_file(fx_tpath("proc/sys/kernel/random/boot_id"), BOOT_B "\n");
	assert_int_equal(inject_set_proc_root(fx_tpath("proc")), 0);
	make_dir(fx_tpath("nodebug"));
	assert_int_equal(inject_set_debugfs_root(fx_tpath("nodebug")), 0);
	fx_write_file(
	    path, "poisoned pfn=0x1 pid=1 addr=0x1000 size=4096 method=pfn time=1 boot=" BOOT_A "\n"
		  "poisoned pfn=0x2 pid=1 addr=0x2000 size=4096 method=pfn time=2 boot=" BOOT_B "\n"
		  "poisoned pfn=0x3 pid=1 addr=0x3000 size=4096 method=pfn time=3\n");
	assert_int_equal(state_replay(path, &res), 0);
	assert_int_equal(res.poisoned, 3);
	assert_int_equal(res.rebooted, 1);
	assert_int_equal(res.nr_left, 2);
	assert_int_equal(res.left[0].entry.pfn, 0x2);
	assert_int_equal(res.left[1].entry.pfn, 0x3);
	state_replay_free(&res);
	text = read_file(path);
	fx_assert_contains(text, "\nunpoisoned pfn=0x1 reason=reboot\n");
	free(text);
}

static void test_replay_missing_and_malformed(void **state)
{
	struct state_replay_result res;

	(void)state;
	assert_int_equal(state_replay(fx_tpath("absent"), &res), 0);
	assert_int_equal(res.poisoned, 0);
	assert_int_equal(res.nr_left, 0);
	assert_null(res.left);
	state_replay_free(&res);
	assert_int_equal(access(fx_tpath("absent"), F_OK), -1);

	fx_write_file(fx_tpath("bad"), "poisoned pfn=0x1 pid=1 addr=0x1 size=1 method=pfn time=1\n"
				 "poisoned pfn=0x2 pid=1\n");
	assert_int_equal(state_replay(fx_tpath("bad"), &res), -EINVAL);
	fx_assert_contains(error_get(), fx_tpath("bad"));
	fx_assert_contains(error_get(), "line 2");
	state_replay_free(&res);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_tmp, teardown_tmp)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_parse_pairs),
	    T(test_parse_repoison_after_unpoison),
	    T(test_parse_torn_last_line),
	    T(test_parse_malformed_names_line),
	    T(test_parse_empty),
	    T(test_parse_too_many),
	    T(test_open_creates_0600_in_0700_dirs),
	    T(test_open_refuses_symlink),
	    T(test_record_refuses_frameless_methods),
	    T(test_writer_killed_between_records),
	    T(test_open_ends_torn_line),
	    T(test_default_path),
	    T(test_replay_into_unpoison_pfn),
	    T(test_replay_single_write_is_exact),
	    T(test_replay_lists_what_it_cannot_clear),
	    T(test_replay_failed_unpoison_is_left),
	    T(test_replay_frames_of_an_earlier_boot),
	    T(test_replay_missing_and_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
