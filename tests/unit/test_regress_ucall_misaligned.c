// SPDX-License-Identifier: GPL-2.0-only
/*
 * Regression (found by tests/fuzz/fuzz_ucall.c): the guest picks the gpa it
 * writes to the ucall port, aligned or not, and ucall_decode() read the
 * record through a struct pointer to it: UBSan's "member access within
 * misaligned address ... requires 8 byte alignment", undefined behaviour
 * the compiler may turn into aligned loads. A record at an odd gpa is bytes
 * like any other: it must decode the same. Bites in the sanitizer build
 * (make check-sanitize), where the misaligned access aborts.
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
#define VCPU		2u

static int setup(void **state)
{
	return fx_ram_setup(state, RAM_SIZE);
}

/* Writes r into guest RAM at gpa byte by byte, as a guest may. */
static void put_record(struct fx_ram *f, uint64_t gpa, const struct mcefwd_ucall *r)
{
	memcpy(f->ram + gpa, r, sizeof(*r));
}

static void record(struct mcefwd_ucall *r, uint32_t type)
{
	memset(r, 0, sizeof(*r));
	r->magic = MCEFWD_UCALL_MAGIC;
	r->type = type;
	r->vcpu = VCPU;
}

static void test_print_at_odd_gpas(void **state)
{
	struct fx_ram *f = *state;
	struct mcefwd_ucall r, out;

	record(&r, MCEFWD_UCALL_PRINT);
	r.value[1] = 0x0102030405060708ULL;
	strcpy(r.u.text, "misaligned, and still a record");
	for (uint64_t gpa = 0x1001; gpa < 0x1008; gpa++) {
		put_record(f, gpa, &r);
		error_clear();
		assert_int_equal(ucall_decode(&f->mem, gpa, VCPU, &out), 0);
		assert_int_equal(out.type, MCEFWD_UCALL_PRINT);
		assert_int_equal(out.value[1], 0x0102030405060708ULL);
		assert_string_equal(out.u.text, "misaligned, and still a record");
	}
}

static void test_mce_and_report_at_odd_gpas(void **state)
{
	struct fx_ram *f = *state;
	struct mcefwd_ucall r, out;

	record(&r, MCEFWD_UCALL_MCE);
	r.u.mce.seq = 1;
	r.u.mce.nr_banks = 10;
	r.u.mce.bank[9].status = 0xbd80000000000134ULL;
	put_record(f, 0x2003, &r);
	assert_int_equal(ucall_decode(&f->mem, 0x2003, VCPU, &out), 0);
	assert_int_equal(out.u.mce.bank[9].status, 0xbd80000000000134ULL);

	record(&r, MCEFWD_UCALL_REPORT);
	r.u.report.pass = 1;
	r.u.report.line = 42;
	strcpy(r.u.report.file, "odd.c");
	put_record(f, 0x3005, &r);
	assert_int_equal(ucall_decode(&f->mem, 0x3005, VCPU, &out), 0);
	assert_int_equal(out.u.report.line, 42);
	assert_string_equal(out.u.report.file, "odd.c");
}

/* The fuzzer's input: garbage at an odd gpa is refused, not read as a struct. */
static void test_garbage_at_odd_gpa(void **state)
{
	struct fx_ram *f = *state;
	struct mcefwd_ucall out;

	memset(f->ram + 0x41f5, 0xf5, sizeof(out));
	assert_int_equal(ucall_decode(&f->mem, 0x41f5, VCPU, &out), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_print_at_odd_gpas, setup, fx_ram_teardown),
		cmocka_unit_test_setup_teardown(test_mce_and_report_at_odd_gpas, setup, fx_ram_teardown),
		cmocka_unit_test_setup_teardown(test_garbage_at_odd_gpa, setup, fx_ram_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
