// SPDX-License-Identifier: GPL-2.0-only
/*
 * ucall.c: records read out of (fake) guest RAM. The guest is not trusted,
 * so most of this is what a hostile or broken guest can write.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mcefwd/util/error.h"
#include "mcefwd/vmm/mem.h"
#include "mcefwd/vmm/ucall.h"
#include "tests/unit/fixture.h"

#define RAM_SIZE	0x10000ULL
#define GPA		0x1000ULL
#define VCPU		3u

static int setup(void **state)
{
	return fx_ram_setup(state, RAM_SIZE);
}

/* The guest's record at gpa, written the way a guest would. */
static struct mcefwd_ucall *guest_record(struct fx_ram *f, uint64_t gpa, uint32_t type)
{
	struct mcefwd_ucall *u = mem_gpa_to_hva(&f->mem, gpa, sizeof(*u));

	assert_non_null(u);
	memset(u, 0, sizeof(*u));
	u->magic = MCEFWD_UCALL_MAGIC;
	u->type = type;
	u->vcpu = VCPU;
	return u;
}

static void assert_error_mentions(const char *what)
{
	if (!strstr(error_get(), what))
		fail_msg("error \"%s\" does not mention \"%s\"", error_get(), what);
}

static int decode(struct fx_ram *f, uint64_t gpa, unsigned int vcpu,
		  struct mcefwd_ucall *out)
{
	error_clear();
	return ucall_decode(&f->mem, gpa, vcpu, out);
}

static void test_print_valid(void **state)
{
	struct fx_ram *f = *state;
	struct mcefwd_ucall *g = guest_record(f, GPA, MCEFWD_UCALL_PRINT);
	struct mcefwd_ucall out;

	strcpy(g->u.text, "hello from the guest");
	g->value[0] = 0x1122334455667788ULL;
	memset(&out, 0xa5, sizeof(out));
	assert_int_equal(decode(f, GPA, VCPU, &out), 0);
	assert_int_equal(out.magic, MCEFWD_UCALL_MAGIC);
	assert_int_equal(out.type, MCEFWD_UCALL_PRINT);
	assert_int_equal(out.vcpu, VCPU);
	assert_int_equal(out.value[0], 0x1122334455667788ULL);
	assert_string_equal(out.u.text, "hello from the guest");
}

static void test_print_unterminated(void **state)
{
	struct fx_ram *f = *state;
	struct mcefwd_ucall *g = guest_record(f, GPA, MCEFWD_UCALL_PRINT);
	struct mcefwd_ucall out;

	/* Every text byte set and no NUL; what follows is not zero either. */
	memset(g->u.text, 'A', sizeof(g->u.text));
	memset((uint8_t *)g + sizeof(*g), 'B', 64);
	assert_int_equal(decode(f, GPA, VCPU, &out), 0);
	assert_int_equal(out.u.text[MCEFWD_TEXT_MAX - 1], '\0');
	assert_int_equal(strlen(out.u.text), MCEFWD_TEXT_MAX - 1);
	assert_int_equal(out.u.text[0], 'A');
	assert_int_equal(out.u.text[MCEFWD_TEXT_MAX - 2], 'A');
	/* The host terminated its copy, not the guest's record. */
	assert_int_equal(g->u.text[MCEFWD_TEXT_MAX - 1], 'A');
}

static void test_bad_magic(void **state)
{
	struct fx_ram *f = *state;
	struct mcefwd_ucall *g = guest_record(f, GPA, MCEFWD_UCALL_PRINT);
	struct mcefwd_ucall out;

	g->magic = 0x46454d43;	/* byte-swapped */
	assert_int_equal(decode(f, GPA, VCPU, &out), -EPROTO);
	assert_error_mentions("bad magic");
	assert_error_mentions("0x46454d43");
	assert_error_mentions("0x1000");
	g->magic = 0;
	assert_int_equal(decode(f, GPA, VCPU, &out), -EPROTO);
	assert_error_mentions("magic");
	/* An all-zero page (a wrong gpa) is not a record. */
	assert_int_equal(decode(f, 0x8000, VCPU, &out), -EPROTO);
	assert_error_mentions("magic");
}

static void test_bad_type(void **state)
{
	struct fx_ram *f = *state;
	struct mcefwd_ucall *g = guest_record(f, GPA, 0);
	struct mcefwd_ucall out;

	assert_int_equal(decode(f, GPA, VCPU, &out), -EPROTO);
	assert_error_mentions("unknown type 0");
	g->type = MCEFWD_UCALL_MAX;
	assert_int_equal(decode(f, GPA, VCPU, &out), -EPROTO);
	assert_error_mentions("unknown type");
	g->type = UINT32_MAX;
	assert_int_equal(decode(f, GPA, VCPU, &out), -EPROTO);
	assert_error_mentions("unknown type 4294967295");
	/* Every type in range decodes. */
	for (uint32_t t = 1; t < MCEFWD_UCALL_MAX; t++) {
		g = guest_record(f, GPA, t);
		if (decode(f, GPA, VCPU, &out))
			fail_msg("type %u (%s) rejected: %s", t, ucall_type_name(t), error_get());
		assert_int_equal(out.type, t);
	}
}

static void test_wrong_vcpu(void **state)
{
	struct fx_ram *f = *state;
	struct mcefwd_ucall out;

	guest_record(f, GPA, MCEFWD_UCALL_HELLO);
	assert_int_equal(decode(f, GPA, VCPU + 1, &out), -EPROTO);
	assert_error_mentions("vcpu-4");
	assert_error_mentions("vcpu 3");
	assert_int_equal(decode(f, GPA, 0, &out), -EPROTO);
	assert_error_mentions("vcpu");
	assert_int_equal(decode(f, GPA, VCPU, &out), 0);
}

static void test_outside_ram(void **state)
{
	struct fx_ram *f = *state;
	const uint64_t last = RAM_SIZE - sizeof(struct mcefwd_ucall);
	struct mcefwd_ucall out;

	assert_int_equal(decode(f, RAM_SIZE, VCPU, &out), -EFAULT);
	assert_error_mentions("not inside guest RAM");
	assert_error_mentions("0x10000");
	assert_int_equal(decode(f, 0xfee00000, VCPU, &out), -EFAULT);
	assert_error_mentions("0xfee00000");
	assert_int_equal(decode(f, UINT64_MAX - 8, VCPU, &out), -EFAULT);
	assert_error_mentions("not inside guest RAM");

	/* The last place a whole record fits, then one byte further. */
	guest_record(f, last, MCEFWD_UCALL_READY);
	assert_int_equal(decode(f, last, VCPU, &out), 0);
	assert_int_equal(decode(f, last + 1, VCPU, &out), -EFAULT);
	assert_error_mentions("not inside guest RAM");
	assert_int_equal(decode(f, RAM_SIZE - 1, VCPU, &out), -EFAULT);
}

static void test_report(void **state)
{
	struct fx_ram *f = *state;
	struct mcefwd_ucall *g = guest_record(f, GPA, MCEFWD_UCALL_REPORT);
	struct mcefwd_ucall out;

	g->u.report.pass = 1;
	g->u.report.line = 77;
	strcpy(g->u.report.file, "hello.c");
	strcpy(g->u.report.cond, "cr4 & X86_CR4_MCE");
	assert_int_equal(decode(f, GPA, VCPU, &out), 0);
	assert_int_equal(out.u.report.pass, 1);
	assert_int_equal(out.u.report.line, 77);
	assert_string_equal(out.u.report.file, "hello.c");
	assert_string_equal(out.u.report.cond, "cr4 & X86_CR4_MCE");

	g->u.report.pass = 0;
	assert_int_equal(decode(f, GPA, VCPU, &out), 0);
	assert_int_equal(out.u.report.pass, 0);

	/* Unterminated strings come back terminated. */
	memset(g->u.report.file, 'f', sizeof(g->u.report.file));
	memset(g->u.report.cond, 'c', sizeof(g->u.report.cond));
	assert_int_equal(decode(f, GPA, VCPU, &out), 0);
	assert_int_equal(strlen(out.u.report.file), sizeof(out.u.report.file) - 1);
	assert_int_equal(strlen(out.u.report.cond), sizeof(out.u.report.cond) - 1);

	g->u.report.pass = 2;
	assert_int_equal(decode(f, GPA, VCPU, &out), -EPROTO);
	assert_error_mentions("pass=2");
	g->u.report.pass = UINT32_MAX;
	assert_int_equal(decode(f, GPA, VCPU, &out), -EPROTO);
	assert_error_mentions("pass=4294967295");
}

static void test_mce_banks(void **state)
{
	struct fx_ram *f = *state;
	struct mcefwd_ucall *g = guest_record(f, GPA, MCEFWD_UCALL_MCE);
	struct mcefwd_ucall out;

	g->u.mce.seq = 1;
	g->u.mce.mcg_status = 0x7;
	g->u.mce.nr_banks = MCEFWD_MAX_BANKS;
	g->u.mce.bank[MCEFWD_MAX_BANKS - 1].status = 0xbd80000000000134ULL;
	assert_int_equal(decode(f, GPA, VCPU, &out), 0);
	assert_int_equal(out.u.mce.nr_banks, 32);
	assert_int_equal(out.u.mce.mcg_status, 0x7);
	assert_int_equal(out.u.mce.bank[31].status, 0xbd80000000000134ULL);

	g->u.mce.nr_banks = 0;
	assert_int_equal(decode(f, GPA, VCPU, &out), 0);

	g->u.mce.nr_banks = MCEFWD_MAX_BANKS + 1;
	assert_int_equal(decode(f, GPA, VCPU, &out), -EPROTO);
	assert_error_mentions("33 banks");
	/* A value that would wrap a 32-bit count. */
	g->u.mce.nr_banks = (1ULL << 32) + 1;
	assert_int_equal(decode(f, GPA, VCPU, &out), -EPROTO);
	assert_error_mentions("banks");
}

static void test_copy_is_stable(void **state)
{
	struct fx_ram *f = *state;
	struct mcefwd_ucall *g = guest_record(f, GPA, MCEFWD_UCALL_EXCEPTION);
	struct mcefwd_ucall out, snapshot;

	g->u.exception.vector = 6;
	g->u.exception.rip = 0x100123;
	assert_int_equal(decode(f, GPA, VCPU, &out), 0);
	snapshot = out;
	/* Another vCPU (or this one, later) scribbles over the record. */
	memset(g, 0xff, sizeof(*g));
	assert_memory_equal(&out, &snapshot, sizeof(out));
	assert_int_equal(out.u.exception.vector, 6);
	assert_int_equal(out.u.exception.rip, 0x100123);
	assert_int_equal(out.magic, MCEFWD_UCALL_MAGIC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_print_valid, setup, fx_ram_teardown),
		cmocka_unit_test_setup_teardown(test_print_unterminated, setup, fx_ram_teardown),
		cmocka_unit_test_setup_teardown(test_bad_magic, setup, fx_ram_teardown),
		cmocka_unit_test_setup_teardown(test_bad_type, setup, fx_ram_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_vcpu, setup, fx_ram_teardown),
		cmocka_unit_test_setup_teardown(test_outside_ram, setup, fx_ram_teardown),
		cmocka_unit_test_setup_teardown(test_report, setup, fx_ram_teardown),
		cmocka_unit_test_setup_teardown(test_mce_banks, setup, fx_ram_teardown),
		cmocka_unit_test_setup_teardown(test_copy_is_stable, setup, fx_ram_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
