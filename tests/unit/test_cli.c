// SPDX-License-Identifier: GPL-2.0-only
/*
 * cli.c: argv in, struct cli out. Defaults, options before and after the
 * command, every kind of bad value, and the number parsers on their own;
 * --kernel's values (kernel_arg.c), in run, caps, matrix and bench.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "guest-payloads/abi.h"
#include "mcefwd/bench/bench.h"
#include "mcefwd/cli/cli.h"
#include "mcefwd/cli/kernel_arg.h"
#include "mcefwd/mce/encode.h"
#include "mcefwd/util/error.h"
#include "mcefwd/vmm/kick.h"

static int cli_run_parse(struct cli *c, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	error_clear();
	return cli_parse(argc, argv, c);
}

/* The array lives in the caller's block, so c->names stays valid there. */
#define PARSE(c, ...) cli_run_parse((c), (char *[]){ "mcefwd", ##__VA_ARGS__, NULL })

static void assert_error_mentions(const char *what)
{
	if (!strstr(error_get(), what))
		fail_msg("error \"%s\" does not mention \"%s\"", error_get(), what);
}

/* Fails, with a message naming both the option and the value. */
#define ASSERT_BAD(c, opt, val, ...)						\
	do {									\
		assert_int_equal(PARSE((c), ##__VA_ARGS__), -EINVAL);		\
		assert_error_mentions(opt);					\
		assert_error_mentions(val);					\
	} while (0)

static void test_defaults(void **state)
{
	struct cli c;

	(void)state;
	memset(&c, 0xa5, sizeof(c));
	assert_int_equal(PARSE(&c), 0);
	assert_int_equal(c.cmd, CLI_HELP);
	assert_null(c.help_topic);
	assert_int_equal(c.nr_names, 0);
	assert_false(c.json);
	assert_int_equal(c.run.vm.ram_size, 64ULL << 20);
	assert_int_equal(c.run.vm.ram_size, CLI_DEFAULT_RAM);
	assert_int_equal(c.run.vm.mem_kind, MEM_ANON);
	assert_int_equal(c.run.vm.nr_vcpus, 0);
	assert_int_equal(c.run.vm.mcg_cap, 0x100010aULL);
	assert_int_equal(c.run.vm.kick, KICK_IMMEDIATE);
	assert_false(c.run.vm.verbose);
	assert_int_equal(c.run.timeout_ms, 30000);
}

static void test_run_names(void **state)
{
	struct cli c;

	(void)state;
	assert_int_equal(PARSE(&c, "run"), 0);
	assert_int_equal(c.cmd, CLI_RUN);
	assert_int_equal(c.nr_names, 0);

	assert_int_equal(PARSE(&c, "run", "hello", "smp"), 0);
	assert_int_equal(c.cmd, CLI_RUN);
	assert_int_equal(c.nr_names, 2);
	assert_string_equal(c.names[0], "hello");
	assert_string_equal(c.names[1], "smp");
	assert_null(c.names[2]);
	assert_null(c.help_topic);
}

static void test_options_anywhere(void **state)
{
	struct cli c;

	(void)state;
	assert_int_equal(PARSE(&c, "run", "hello", "--vcpus", "4"), 0);
	assert_int_equal(c.cmd, CLI_RUN);
	assert_int_equal(c.run.vm.nr_vcpus, 4);
	assert_int_equal(c.nr_names, 1);
	assert_string_equal(c.names[0], "hello");

	assert_int_equal(PARSE(&c, "--vcpus=2", "run", "x"), 0);
	assert_int_equal(c.cmd, CLI_RUN);
	assert_int_equal(c.run.vm.nr_vcpus, 2);
	assert_int_equal(c.nr_names, 1);
	assert_string_equal(c.names[0], "x");

	assert_int_equal(PARSE(&c, "run", "-n", "3", "a", "--timeout", "5", "b"), 0);
	assert_int_equal(c.run.vm.nr_vcpus, 3);
	assert_int_equal(c.run.timeout_ms, 5000);
	assert_int_equal(c.nr_names, 2);
	assert_string_equal(c.names[0], "a");
	assert_string_equal(c.names[1], "b");

	assert_int_equal(PARSE(&c, "-n3", "-v", "run"), 0);
	assert_int_equal(c.run.vm.nr_vcpus, 3);
	assert_true(c.run.vm.verbose);

	/* After "--" everything is a name. */
	assert_int_equal(PARSE(&c, "run", "--", "--vcpus", "7"), 0);
	assert_int_equal(c.cmd, CLI_RUN);
	assert_int_equal(c.run.vm.nr_vcpus, 0);
	assert_int_equal(c.nr_names, 2);
	assert_string_equal(c.names[0], "--vcpus");
	assert_string_equal(c.names[1], "7");
}

static void test_vcpus_range(void **state)
{
	struct cli c;

	(void)state;
	assert_int_equal(PARSE(&c, "run", "--vcpus", "1"), 0);
	assert_int_equal(c.run.vm.nr_vcpus, 1);
	assert_int_equal(PARSE(&c, "run", "--vcpus", "256"), 0);
	assert_int_equal(c.run.vm.nr_vcpus, 256);
	assert_int_equal(PARSE(&c, "run", "--vcpus", "0x10"), 0);
	assert_int_equal(c.run.vm.nr_vcpus, 16);

	ASSERT_BAD(&c, "--vcpus", "'0'", "run", "--vcpus", "0");
	ASSERT_BAD(&c, "--vcpus", "257", "run", "--vcpus", "257");
	ASSERT_BAD(&c, "--vcpus", "abc", "run", "--vcpus", "abc");
	ASSERT_BAD(&c, "--vcpus", "-1", "run", "--vcpus", "-1");
	ASSERT_BAD(&c, "--vcpus", "4294967297", "run", "--vcpus", "4294967297");
	ASSERT_BAD(&c, "--vcpus", "''", "run", "--vcpus", "");
	ASSERT_BAD(&c, "--vcpus", "2x", "run", "-n", "2x");
}

static void test_mcg_cap_and_banks(void **state)
{
	struct cli c;

	(void)state;
	assert_int_equal(PARSE(&c, "run", "--banks", "4", "--bank", "3"), 0);
	assert_int_equal(c.run.vm.mcg_cap, 0x1000104ULL);
	assert_int_equal(PARSE(&c, "run", "--banks", "32"), 0);
	assert_int_equal(c.run.vm.mcg_cap, 0x1000120ULL);

	assert_int_equal(PARSE(&c, "run", "--mcg-cap", "0x1000105", "--bank", "4"), 0);
	assert_int_equal(c.run.vm.mcg_cap, 0x1000105ULL);
	assert_int_equal(PARSE(&c, "run", "--mcg-cap", "16777482"), 0);
	assert_int_equal(c.run.vm.mcg_cap, 0x100010aULL);

	/* --banks rewrites only the count, whichever comes first. */
	assert_int_equal(PARSE(&c, "run", "--banks", "4", "--mcg-cap", "0x8000105", "--bank", "0"), 0);
	assert_int_equal(c.run.vm.mcg_cap, 0x8000104ULL);
	assert_int_equal(PARSE(&c, "run", "--mcg-cap", "0x80001ff", "--banks", "2", "--bank", "1"), 0);
	assert_int_equal(c.run.vm.mcg_cap, 0x8000102ULL);

	/* The reporting bank (9 by default) must exist. */
	ASSERT_BAD(&c, "--bank 9", "only 4 bank", "run", "--banks", "4");
	ASSERT_BAD(&c, "--bank 4", "only 4 bank", "run", "--banks", "4", "--bank", "4");
	ASSERT_BAD(&c, "--banks", "'0'", "run", "--banks", "0");
	ASSERT_BAD(&c, "--banks", "33", "run", "--banks", "33");
	ASSERT_BAD(&c, "--banks", "x", "run", "--banks", "x");
	ASSERT_BAD(&c, "--mcg-cap", "0xzz", "run", "--mcg-cap", "0xzz");
	ASSERT_BAD(&c, "--mcg-cap", "-5", "run", "--mcg-cap", "-5");
}

static void test_forwarding_options(void **state)
{
	struct cli c;

	(void)state;
	assert_int_equal(PARSE(&c, "run"), 0);
	assert_true(c.poison_auto);
	assert_int_equal(c.mce_kill, CLI_MCE_KILL_EARLY);
	assert_int_equal(c.run.vm.fwd.profile, MCE_PROFILE_QEMU7);
	assert_int_equal(c.run.vm.fwd.bank, 9);
	assert_int_equal(c.run.vm.fwd.ao_target, 0);
	assert_int_equal(c.run.vm.fwd.emulated, FWD_EMULATED_FAIL);

	assert_int_equal(PARSE(&c, "run", "ar", "--poison=uffd", "--encoding", "amd",
			       "--bank=3", "--mce-kill", "late", "--ao-target", "all",
			       "--emulated-access=forward"), 0);
	assert_false(c.poison_auto);
	assert_int_equal(c.poison, INJECT_UFFD);
	assert_int_equal(c.run.vm.fwd.profile, MCE_PROFILE_AMD);
	assert_int_equal(c.run.vm.fwd.bank, 3);
	assert_int_equal(c.mce_kill, CLI_MCE_KILL_LATE);
	assert_int_equal(c.run.vm.fwd.ao_target, FWD_AO_ALL);
	assert_int_equal(c.run.vm.fwd.emulated, FWD_EMULATED_FORWARD);
	assert_int_equal(PARSE(&c, "run", "--poison", "auto", "--mce-kill", "default",
			       "--encoding", "qemu-6.2", "--ao-target", "1", "-n", "2"), 0);
	assert_true(c.poison_auto);
	assert_int_equal(c.mce_kill, CLI_MCE_KILL_DEFAULT);
	assert_int_equal(c.run.vm.fwd.profile, MCE_PROFILE_QEMU62);
	assert_int_equal(c.run.vm.fwd.ao_target, 1);

	ASSERT_BAD(&c, "--poison", "laser", "run", "--poison", "laser");
	ASSERT_BAD(&c, "--encoding", "qemu-5", "run", "--encoding", "qemu-5");
	ASSERT_BAD(&c, "--bank", "32", "run", "--bank", "32");
	ASSERT_BAD(&c, "--mce-kill", "never", "run", "--mce-kill", "never");
	ASSERT_BAD(&c, "--ao-target", "some", "run", "--ao-target", "some");
	ASSERT_BAD(&c, "--ao-target 2", "only 2 vCPU", "run", "--ao-target", "2", "-n", "2");
	ASSERT_BAD(&c, "--emulated-access", "maybe", "run", "--emulated-access", "maybe");
}

static void test_kick_and_memory(void **state)
{
	struct cli c;

	(void)state;
	assert_int_equal(PARSE(&c, "run", "--kick", "sigmask"), 0);
	assert_int_equal(c.run.vm.kick, KICK_SIGMASK);
	assert_int_equal(PARSE(&c, "run", "--kick=immediate"), 0);
	assert_int_equal(c.run.vm.kick, KICK_IMMEDIATE);
	ASSERT_BAD(&c, "--kick", "bogus", "run", "--kick", "bogus");

	assert_int_equal(PARSE(&c, "run", "--memory", "memfd"), 0);
	assert_int_equal(c.run.vm.mem_kind, MEM_MEMFD);
	assert_int_equal(PARSE(&c, "run", "--memory", "hugetlb"), 0);
	assert_int_equal(c.run.vm.mem_kind, MEM_HUGETLB);
	ASSERT_BAD(&c, "--memory", "shm", "run", "--memory", "shm");
}

static void test_ram(void **state)
{
	struct cli c;

	(void)state;
	assert_int_equal(PARSE(&c, "run", "--ram", "64M"), 0);
	assert_int_equal(c.run.vm.ram_size, 64ULL << 20);
	assert_int_equal(PARSE(&c, "run", "--ram", "1G"), 0);
	assert_int_equal(c.run.vm.ram_size, 1ULL << 30);
	assert_int_equal(PARSE(&c, "run", "--ram", "8MiB"), 0);
	assert_int_equal(c.run.vm.ram_size, 8ULL << 20);
	ASSERT_BAD(&c, "--ram", "12x", "run", "--ram", "12x");
	ASSERT_BAD(&c, "--ram", "-64M", "run", "--ram", "-64M");
	ASSERT_BAD(&c, "--ram", "1T", "run", "--ram", "1T");
}

static void test_timeout(void **state)
{
	struct cli c;

	(void)state;
	assert_int_equal(PARSE(&c, "run", "--timeout", "2.5"), 0);
	assert_int_equal(c.run.timeout_ms, 2500);
	assert_int_equal(PARSE(&c, "run", "--timeout", "500ms"), 0);
	assert_int_equal(c.run.timeout_ms, 500);
	assert_int_equal(PARSE(&c, "run", "--timeout", "2s"), 0);
	assert_int_equal(c.run.timeout_ms, 2000);
	ASSERT_BAD(&c, "--timeout", "'0'", "run", "--timeout", "0");
	ASSERT_BAD(&c, "--timeout", "-1", "run", "--timeout", "-1");
	ASSERT_BAD(&c, "--timeout", "abc", "run", "--timeout", "abc");
	ASSERT_BAD(&c, "--timeout", "5m", "run", "--timeout", "5m");
}

static void test_unknown_and_missing(void **state)
{
	struct cli c;

	(void)state;
	assert_int_equal(PARSE(&c, "run", "--frobnicate"), -EINVAL);
	assert_error_mentions("--frobnicate");
	assert_error_mentions("unknown");

	assert_int_equal(PARSE(&c, "-x", "run"), -EINVAL);
	assert_error_mentions("-x");
	assert_error_mentions("unknown");

	assert_int_equal(PARSE(&c, "run", "--json=1"), -EINVAL);

	assert_int_equal(PARSE(&c, "run", "--ram"), -EINVAL);
	assert_error_mentions("--ram");
	assert_error_mentions("needs a value");

	assert_int_equal(PARSE(&c, "run", "-n"), -EINVAL);
	assert_error_mentions("-n");
	assert_error_mentions("needs a value");
}

/* The user typed --vcpus, so the message must say --vcpus (not "-n"). */
static void test_missing_value_names_long_option(void **state)
{
	struct cli c;

	(void)state;
	assert_int_equal(PARSE(&c, "run", "--vcpus"), -EINVAL);
	assert_error_mentions("needs a value");
	assert_error_mentions("--vcpus");
}

static void test_commands(void **state)
{
	struct cli c;

	(void)state;
	assert_int_equal(PARSE(&c, "frob"), -EINVAL);
	assert_error_mentions("unknown command");
	assert_error_mentions("'frob'");
	/* A payload name where the command belongs. */
	assert_int_equal(PARSE(&c, "hello", "run"), -EINVAL);
	assert_error_mentions("'hello'");

	assert_int_equal(PARSE(&c, "caps", "--json"), 0);
	assert_int_equal(c.cmd, CLI_CAPS);
	assert_true(c.json);
	assert_int_equal(c.nr_names, 0);

	assert_int_equal(PARSE(&c, "caps", "extra"), -EINVAL);
	assert_error_mentions("caps");
	assert_error_mentions("extra");
	assert_int_equal(PARSE(&c, "list"), 0);
	assert_int_equal(c.cmd, CLI_LIST);
	assert_int_equal(PARSE(&c, "list", "x"), -EINVAL);
	assert_error_mentions("list");
	assert_error_mentions("'x'");
}

static void test_help_and_version(void **state)
{
	struct cli c;

	(void)state;
	assert_int_equal(PARSE(&c, "help"), 0);
	assert_int_equal(c.cmd, CLI_HELP);
	assert_null(c.help_topic);

	assert_int_equal(PARSE(&c, "help", "run"), 0);
	assert_int_equal(c.cmd, CLI_HELP);
	assert_non_null(c.help_topic);
	assert_string_equal(c.help_topic, "run");

	assert_int_equal(PARSE(&c, "run", "--help"), 0);
	assert_int_equal(c.cmd, CLI_HELP);
	assert_non_null(c.help_topic);
	assert_string_equal(c.help_topic, "run");

	assert_int_equal(PARSE(&c, "-h", "caps"), 0);
	assert_int_equal(c.cmd, CLI_HELP);
	assert_non_null(c.help_topic);
	assert_string_equal(c.help_topic, "caps");

	assert_int_equal(PARSE(&c, "--help"), 0);
	assert_int_equal(c.cmd, CLI_HELP);
	assert_null(c.help_topic);

	assert_int_equal(PARSE(&c, "--version"), 0);
	assert_int_equal(c.cmd, CLI_VERSION);
	assert_int_equal(PARSE(&c, "version"), 0);
	assert_int_equal(c.cmd, CLI_VERSION);
	assert_int_equal(PARSE(&c, "--version", "run", "hello"), 0);
	assert_int_equal(c.cmd, CLI_VERSION);
	/* The command word takes nothing after it. */
	assert_int_equal(PARSE(&c, "version", "extra"), -EINVAL);
	assert_error_mentions("'version' takes no arguments");
}

static void test_encodings(void **state)
{
	struct cli c;

	(void)state;
	assert_int_equal(PARSE(&c, "encodings"), 0);
	assert_int_equal(c.cmd, CLI_ENCODINGS);
	assert_false(c.json);
	assert_false(c.encoding_set);
	assert_int_equal(c.gpa, MCEFWD_GPA_TEST);
	assert_int_equal(c.run.vm.fwd.bank, MCE_QEMU_BANK);
	assert_int_equal(c.run.vm.mcg_cap, mce_default_mcg_cap());

	assert_int_equal(PARSE(&c, "--json", "encodings", "--encoding", "amd", "--bank", "3",
			       "--gpa", "0x7000", "--banks", "4"), 0);
	assert_int_equal(c.cmd, CLI_ENCODINGS);
	assert_true(c.json);
	assert_true(c.encoding_set);
	assert_int_equal(c.run.vm.fwd.profile, MCE_PROFILE_AMD);
	assert_int_equal(c.run.vm.fwd.bank, 3);
	assert_int_equal(c.gpa, 0x7000);
	assert_int_equal(c.run.vm.mcg_cap & 0xff, 4);

	/* The same checks as for run, the same words. */
	ASSERT_BAD(&c, "--gpa", "'zz'", "encodings", "--gpa", "zz");
	ASSERT_BAD(&c, "--bank 9", "0x1000000", "encodings", "--mcg-cap", "0x1000000");
	ASSERT_BAD(&c, "--encoding", "'qemu-5'", "encodings", "--encoding", "qemu-5");
	assert_int_equal(PARSE(&c, "encodings", "ar"), -EINVAL);
	assert_error_mentions("'encodings' takes no arguments, got 'ar'");
	/* It runs nothing: an option of run's is refused, named. */
	assert_int_equal(PARSE(&c, "encodings", "--vcpus", "2"), -EINVAL);
	assert_error_mentions("'encodings' takes no --vcpus");
	assert_int_equal(PARSE(&c, "-v", "encodings"), -EINVAL);
	assert_error_mentions("--verbose");
	assert_int_equal(PARSE(&c, "encodings", "--on", "lab"), -EINVAL);
	assert_error_mentions("--on");
	/* ... and --gpa is its own. */
	assert_int_equal(PARSE(&c, "run", "--gpa", "0x1000"), -EINVAL);
	assert_error_mentions("--gpa is an option of 'encodings' only");
	assert_int_equal(PARSE(&c, "encodings", "--vcpus", "2", "--help"), 0);
	assert_int_equal(c.cmd, CLI_HELP);
	assert_string_equal(c.help_topic, "encodings");
}

static void test_reparse_after_error(void **state)
{
	struct cli c;

	(void)state;
	/* getopt state must not leak from one call into the next. */
	assert_int_equal(PARSE(&c, "run", "--vcpus", "0", "a", "b"), -EINVAL);
	assert_int_equal(PARSE(&c, "run", "a", "-n", "2"), 0);
	assert_int_equal(c.cmd, CLI_RUN);
	assert_int_equal(c.run.vm.nr_vcpus, 2);
	assert_int_equal(c.nr_names, 1);
	assert_string_equal(c.names[0], "a");
	/* ... nor the options themselves. */
	assert_int_equal(PARSE(&c, "run"), 0);
	assert_int_equal(c.run.vm.nr_vcpus, 0);
	assert_int_equal(c.run.vm.mcg_cap, 0x100010aULL);
}

static void test_parse_u64(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(cli_parse_u64("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cli_parse_u64("42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cli_parse_u64("0x1f", &v), 0);
	assert_int_equal(v, 0x1f);
	assert_int_equal(cli_parse_u64("0X1F", &v), 0);
	assert_int_equal(v, 0x1f);
	assert_int_equal(cli_parse_u64("18446744073709551615", &v), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(cli_parse_u64("0xffffffffffffffff", &v), 0);
	assert_int_equal(v, UINT64_MAX);

	v = 7;
	assert_int_equal(cli_parse_u64("18446744073709551616", &v), -EINVAL);
	assert_int_equal(cli_parse_u64("99999999999999999999", &v), -EINVAL);
	assert_int_equal(cli_parse_u64("0x10000000000000000", &v), -EINVAL);
	assert_int_equal(cli_parse_u64("0x", &v), -EINVAL);
	assert_int_equal(cli_parse_u64("", &v), -EINVAL);
	assert_int_equal(cli_parse_u64(NULL, &v), -EINVAL);
	assert_int_equal(cli_parse_u64(" 5", &v), -EINVAL);
	assert_int_equal(cli_parse_u64("5 ", &v), -EINVAL);
	assert_int_equal(cli_parse_u64("\t5", &v), -EINVAL);
	assert_int_equal(cli_parse_u64("-1", &v), -EINVAL);
	assert_int_equal(cli_parse_u64("abc", &v), -EINVAL);
	assert_int_equal(cli_parse_u64("1e3", &v), -EINVAL);
	assert_int_equal(cli_parse_u64("0x-1", &v), -EINVAL);
	assert_int_equal(v, 7);
}

/* cli.h promises "Decimal or 0x-hex": a leading zero must not mean octal. */
static void test_parse_u64_no_octal(void **state)
{
	uint64_t v = 7;
	int r;

	(void)state;
	r = cli_parse_u64("010", &v);
	if (r || v != 10)
		fail_msg("cli_parse_u64(\"010\") = %d, %lu; expected 0, 10 (decimal)",
			 r, (unsigned long)v);
	r = cli_parse_u64("08", &v);
	if (r || v != 8)
		fail_msg("cli_parse_u64(\"08\") = %d, %lu; expected 0, 8 (decimal)",
			 r, (unsigned long)v);
}

static void test_parse_size(void **state)
{
	static const struct { const char *s; uint64_t v; } good[] = {
		{ "0", 0 }, { "65536", 65536 }, { "4K", 4096 }, { "4KiB", 4096 },
		{ "64M", 64ULL << 20 }, { "2MiB", 2ULL << 20 }, { "1G", 1ULL << 30 },
		{ "3GiB", 3ULL << 30 },
		{ "18446744073709551615", UINT64_MAX },
		{ "17179869183G", UINT64_MAX - (1ULL << 30) + 1 },
	};
	static const char *const bad[] = {
		"", "M", "G1", "-1", "-64M", " 5", "5 ", "64 M", "12x", "1T", "1m",
		"1k", "1MB", "0x10", "1.5G", "+5",
		"99999999999999999999", "18446744073709551616",
		"17179869184G",		/* 2^64 */
		"18014398509481984K",	/* 2^64 */
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 12345;
		if (cli_parse_size(good[i].s, &v))
			fail_msg("cli_parse_size(\"%s\") failed", good[i].s);
		if (v != good[i].v)
			fail_msg("cli_parse_size(\"%s\") = %lu, expected %lu", good[i].s,
				 (unsigned long)v, (unsigned long)good[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 12345;
		if (cli_parse_size(bad[i], &v) != -EINVAL)
			fail_msg("cli_parse_size(\"%s\") accepted it", bad[i]);
		assert_int_equal(v, 12345);
	}
	assert_int_equal(cli_parse_size(NULL, &v), -EINVAL);
}

static void test_parse_timeout(void **state)
{
	static const struct { const char *s; unsigned int ms; } good[] = {
		{ "30", 30000 }, { "2.5", 2500 }, { ".5", 500 }, { "2s", 2000 },
		{ "500ms", 500 }, { "1ms", 1 }, { "0.001", 1 },
		{ "86400", 86400000 }, { "86400000ms", 86400000 },
	};
	static const char *const bad[] = {
		"", "0", "0ms", "0.0001", "0.5ms", "-1", "-1ms", "abc", " 5", "5 ",
		"5 s", "5m", "5sec", "ms", "s", ".", "86401", "86400001ms",
		"inf", "nan", "99999999999999999999999",
	};
	unsigned int ms;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ms = 12345;
		if (cli_parse_timeout(good[i].s, &ms))
			fail_msg("cli_parse_timeout(\"%s\") failed", good[i].s);
		if (ms != good[i].ms)
			fail_msg("cli_parse_timeout(\"%s\") = %u ms, expected %u",
				 good[i].s, ms, good[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = 12345;
		if (cli_parse_timeout(bad[i], &ms) != -EINVAL)
			fail_msg("cli_parse_timeout(\"%s\") accepted it (%u ms)", bad[i], ms);
		assert_int_equal(ms, 12345);
	}
	assert_int_equal(cli_parse_timeout(NULL, &ms), -EINVAL);
}

/* ---- --kernel (kernel_arg.c) ---- */

static void test_kernel_arg_kinds(void **state)
{
	struct kernel_arg k;

	(void)state;
	assert_int_equal(kernel_arg_parse(NULL, NULL, &k), 0);
	assert_int_equal(k.kind, KERNEL_ARG_DEFAULT);
	assert_null(k.value);

	/* A series: 6.1 is what linux-image-amd64 depends on, 6.12 the newest of its line. */
	assert_int_equal(kernel_arg_parse("6.1", NULL, &k), 0);
	assert_int_equal(k.kind, KERNEL_ARG_SERIES);
	assert_string_equal(k.series->name, "6.1");
	assert_string_equal(k.series->meta, KERNEL_ARG_DEFAULT_META);
	assert_int_equal(kernel_arg_parse("6.12", NULL, &k), 0);
	assert_int_equal(k.kind, KERNEL_ARG_SERIES);
	assert_string_equal(k.series->name, "6.12");
	assert_null(k.series->meta);
	assert_string_equal(k.series->suffix, "-amd64-unsigned");

	/* A package file, by its name; anything else is a bzImage, with its modules. */
	assert_int_equal(kernel_arg_parse("/k/linux-image-6.12.57+deb12-amd64-unsigned_6.12.57-1~deb12u1_amd64.deb",
					  NULL, &k), 0);
	assert_int_equal(k.kind, KERNEL_ARG_DEB);
	assert_int_equal(kernel_arg_parse("k.deb", NULL, &k), 0);
	assert_int_equal(k.kind, KERNEL_ARG_DEB);
	assert_string_equal(k.value, "k.deb");
	assert_int_equal(kernel_arg_parse("arch/x86/boot/bzImage", "/lib/modules/6.13.0", &k), 0);
	assert_int_equal(k.kind, KERNEL_ARG_BZIMAGE);
	assert_string_equal(k.value, "arch/x86/boot/bzImage");
	assert_string_equal(k.modules, "/lib/modules/6.13.0");
	/* A file named like a series is a path away; ".deb" alone is no package name. */
	assert_int_equal(kernel_arg_parse("./6.1", "/m", &k), 0);
	assert_int_equal(k.kind, KERNEL_ARG_BZIMAGE);
	assert_int_equal(kernel_arg_parse(".deb", "/m", &k), 0);
	assert_int_equal(k.kind, KERNEL_ARG_BZIMAGE);
	assert_int_equal(kernel_arg_parse("6.", "/m", &k), 0);
	assert_int_equal(k.kind, KERNEL_ARG_BZIMAGE);
}

static void test_kernel_arg_errors(void **state)
{
	static const char *const unknown[] = { "5.10", "6.2", "6.12.57", "06.1", "6.10" };
	struct kernel_arg k;

	(void)state;
	/* An unknown series names itself and the series there are. */
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		error_clear();
		assert_int_equal(kernel_arg_parse(unknown[i], NULL, &k), -EINVAL);
		assert_error_mentions(unknown[i]);
		assert_error_mentions("no such kernel series");
		assert_error_mentions("6.1 and 6.12");
	}
	assert_int_equal(kernel_arg_parse("bzImage", NULL, &k), -EINVAL);
	assert_error_mentions("--kernel needs --modules");
	assert_int_equal(kernel_arg_parse(NULL, "/m", &k), -EINVAL);
	assert_error_mentions("--modules needs --kernel");
	assert_int_equal(kernel_arg_parse("6.12", "/m", &k), -EINVAL);
	assert_error_mentions("--modules goes with --kernel BZIMAGE");
	assert_int_equal(kernel_arg_parse("k.deb", "/m", &k), -EINVAL);
	assert_error_mentions("--modules goes with --kernel BZIMAGE");
	assert_int_equal(kernel_arg_parse("", NULL, &k), -EINVAL);
	assert_int_equal(kernel_arg_parse("bzImage", "", &k), -EINVAL);
}

static void test_kernel_series_table(void **state)
{
	struct kernel_arg k;

	(void)state;
	assert_true(kernel_arg_series_count() >= 2);
	assert_null(kernel_arg_series_at(kernel_arg_series_count()));
	assert_null(kernel_arg_series_find("5.10"));
	assert_null(kernel_arg_series_find(NULL));
	/* Each row is reached by its own name, and says how apt names its kernel. */
	for (unsigned int i = 0; i < kernel_arg_series_count(); i++) {
		const struct kernel_series *s = kernel_arg_series_at(i);

		assert_ptr_equal(kernel_arg_series_find(s->name), s);
		assert_int_equal(kernel_arg_parse(s->name, NULL, &k), 0);
		assert_int_equal(k.kind, KERNEL_ARG_SERIES);
		assert_ptr_equal(k.series, s);
		assert_true(!!s->meta != !!s->suffix);
		assert_non_null(s->summary);
	}
}

static void test_kernel_option(void **state)
{
	static char *const cmds[] = { "run", "caps", "matrix" };
	struct cli c;

	(void)state;
	assert_int_equal(PARSE(&c, "run", "ar"), 0);
	assert_int_equal(c.kernel.kind, KERNEL_ARG_DEFAULT);
	assert_int_equal(c.on, WHERE_AUTO);
	assert_false(c.on_set);

	/* run, caps and matrix take it, and it sends them to the lab. */
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		assert_int_equal(PARSE(&c, cmds[i], "--kernel=6.12"), 0);
		assert_int_equal(c.kernel.kind, KERNEL_ARG_SERIES);
		assert_string_equal(c.kernel.series->name, "6.12");
		assert_int_equal(c.on, WHERE_LAB);
		assert_false(c.on_set);
	}
	assert_int_equal(PARSE(&c, "--kernel", "6.1", "run", "ar", "ao"), 0);
	assert_int_equal(c.cmd, CLI_RUN);
	assert_int_equal(c.nr_names, 2);
	assert_int_equal(c.on, WHERE_LAB);
	assert_int_equal(PARSE(&c, "caps", "--json", "--kernel", "./k.deb"), 0);
	assert_int_equal(c.kernel.kind, KERNEL_ARG_DEB);
	assert_int_equal(PARSE(&c, "run", "--kernel", "bzImage", "--modules", "/m", "ar"), 0);
	assert_int_equal(c.kernel.kind, KERNEL_ARG_BZIMAGE);
	assert_string_equal(c.kernel.modules, "/m");
	assert_int_equal(c.nr_names, 1);
	/* --on=lab and --on=auto agree with it; --on=host cannot. */
	assert_int_equal(PARSE(&c, "run", "--on=lab", "--kernel=6.1"), 0);
	assert_int_equal(c.on, WHERE_LAB);
	assert_true(c.on_set);
	assert_int_equal(PARSE(&c, "run", "--on=auto", "--kernel=6.1"), 0);
	assert_int_equal(c.on, WHERE_LAB);
	assert_int_equal(PARSE(&c, "run", "--on=host", "--kernel=6.1"), -EINVAL);
	assert_error_mentions("--on=host");
	assert_int_equal(PARSE(&c, "--kernel=6.1", "matrix", "--on", "host"), -EINVAL);
	assert_error_mentions("--on=host");

	/* Bad values, as kernel_arg_parse says them. */
	ASSERT_BAD(&c, "--kernel", "5.10", "run", "--kernel=5.10");
	assert_error_mentions("6.12");
	assert_int_equal(PARSE(&c, "caps", "--kernel=bzImage"), -EINVAL);
	assert_error_mentions("--modules");
	assert_int_equal(PARSE(&c, "run", "--modules=/m"), -EINVAL);
	assert_error_mentions("--modules needs --kernel");
	assert_int_equal(PARSE(&c, "run", "--kernel"), -EINVAL);
	assert_error_mentions("--kernel");

	/* Commands that start no guest take none. */
	assert_int_equal(PARSE(&c, "where", "--kernel=6.1"), -EINVAL);
	assert_error_mentions("--kernel");
	assert_int_equal(PARSE(&c, "list", "--kernel=6.1"), -EINVAL);
	assert_error_mentions("--kernel");
	assert_int_equal(PARSE(&c, "encodings", "--kernel=6.1"), -EINVAL);
	assert_error_mentions("--kernel");
}

/* bench parses its own arguments (bench.c), --kernel as run does; its complaints go nowhere. */
static int bench_run_parse(struct bench_args *a, char **argv)
{
	int argc = 0, saved, null, r;

	while (argv[argc])
		argc++;
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(saved >= 0 && null >= 0);
	dup2(null, STDERR_FILENO);
	r = bench_parse(argc, argv, a);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(null);
	return r;
}

#define BENCH_PARSE(a, ...) bench_run_parse((a), (char *[]){ "bench", ##__VA_ARGS__, NULL })

static void test_bench_kernel_option(void **state)
{
	struct bench_args a;

	(void)state;
	assert_int_equal(BENCH_PARSE(&a, "exit"), 0);
	assert_int_equal(a.kernel.kind, KERNEL_ARG_DEFAULT);
	assert_int_equal(a.on, WHERE_AUTO);
	assert_int_equal(BENCH_PARSE(&a, "exit", "--kernel=6.12", "--quick"), 0);
	assert_int_equal(a.kernel.kind, KERNEL_ARG_SERIES);
	assert_string_equal(a.kernel.series->name, "6.12");
	assert_int_equal(a.on, WHERE_LAB);
	assert_false(a.on_set);
	assert_true(a.quick);
	assert_int_equal(BENCH_PARSE(&a, "--kernel", "bzImage", "--modules", "/m"), 0);
	assert_int_equal(a.kernel.kind, KERNEL_ARG_BZIMAGE);
	assert_string_equal(a.kernel.modules, "/m");
	assert_int_equal(BENCH_PARSE(&a, "--on=lab", "--kernel", "6.1"), 0);
	assert_true(a.on_set);
	assert_int_equal(a.on, WHERE_LAB);
	assert_int_equal(BENCH_PARSE(&a, "--on=host", "--kernel", "6.1"), KSFT_USAGE);
	assert_int_equal(BENCH_PARSE(&a, "--kernel=5.10"), KSFT_USAGE);
	assert_int_equal(BENCH_PARSE(&a, "--kernel"), KSFT_USAGE);
	assert_int_equal(BENCH_PARSE(&a, "--modules=/m"), KSFT_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_run_names),
		cmocka_unit_test(test_options_anywhere),
		cmocka_unit_test(test_vcpus_range),
		cmocka_unit_test(test_mcg_cap_and_banks),
		cmocka_unit_test(test_forwarding_options),
		cmocka_unit_test(test_kick_and_memory),
		cmocka_unit_test(test_ram),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_unknown_and_missing),
		cmocka_unit_test(test_missing_value_names_long_option),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_reparse_after_error),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_u64_no_octal),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_timeout),
		cmocka_unit_test(test_kernel_arg_kinds),
		cmocka_unit_test(test_kernel_arg_errors),
		cmocka_unit_test(test_kernel_series_table),
		cmocka_unit_test(test_kernel_option),
		cmocka_unit_test(test_bench_kernel_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
