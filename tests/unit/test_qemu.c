// SPDX-License-Identifier: GPL-2.0-only
/*
 * mcefwd/qemu/: the guest's lines on QEMU's console (with a #MC handler's
 * line inside another), QMP's events, the answer on COM1, and what
 * expect.c derives for each QEMU version from QEMU's rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "mcefwd/mce/encode.h"
#include "mcefwd/qemu/qemu_int.h"
#include "mcefwd/util/ktap.h"

struct fx {
	struct qemu_session s;
	struct ktap k;
	char *diag;
	size_t len;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	ktap_begin(&f->k, open_memstream(&f->diag, &f->len), 0);
	f->s.k = &f->k;
	f->s.con = f->s.ser = f->s.qmp = f->s.err = f->s.pidfd = -1;
	f->s.nr_vcpus = 2;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	fclose(f->k.out);
	free(f->diag);
	free(f);
	return 0;
}

/* A ucall as the runtime sends it under QEMU: "@U", hex, trailing zeros left out. */
static size_t hex_line(const struct mcefwd_ucall *u, char *out, bool newline)
{
	const uint8_t *b = (const uint8_t *)u;
	size_t n = sizeof(*u), o = 0;

	while (n > 1 && !b[n - 1])
		n--;
	out[o++] = '@';
	out[o++] = MCEFWD_QEMU_LINE;
	for (size_t i = 0; i < n; i++)
		o += (size_t)sprintf(out + o, "%02x", b[i]);
	if (newline)
		out[o++] = '\n';
	out[o] = '\0';
	return o;
}

static void ucall_init(struct mcefwd_ucall *u, uint32_t type)
{
	memset(u, 0, sizeof(*u));
	u->magic = MCEFWD_UCALL_MAGIC;
	u->type = type;
}

static void test_console_nested_line(void **state)
{
	struct fx *f = *state;
	struct mcefwd_ucall outer, inner;
	static char a[8192], b[8192], in[16384];
	size_t na, half;

	ucall_init(&outer, MCEFWD_UCALL_PRINT);
	strcpy(outer.u.text, "the outer line");
	ucall_init(&inner, MCEFWD_UCALL_MCE);
	inner.u.mce.seq = 1;
	inner.u.mce.mcg_status = 0x5;
	inner.u.mce.nr_banks = 10;
	inner.u.mce.bank[9].status = 0xbd000000000000c0ULL;
	na = hex_line(&outer, a, true);
	hex_line(&inner, b, true);
	/* The #MC lands while the outer line is half written. */
	half = na / 2;
	snprintf(in, sizeof(in), "%.*s%s%s", (int)half, a, b, a + half);
	/* And in pieces, as reads return them. */
	for (size_t i = 0; in[i]; i += 7)
		qs_console_input(&f->s, in + i, strnlen(in + i, 7));
	assert_string_equal(f->s.failure, "");
	assert_int_equal(f->s.nr_mce, 1);
	assert_int_equal(f->s.mce[0].bank[9].status, 0xbd000000000000c0ULL);
	assert_int_equal(f->s.mce[0].nr_banks, 10);
	fflush(f->k.out);
	assert_non_null(strstr(f->diag, "guest: the outer line"));
}

static void test_console_rejects(void **state)
{
	struct fx *f = *state;
	struct mcefwd_ucall u;
	char l[8192];
	size_t n;

	ucall_init(&u, MCEFWD_UCALL_PRINT);
	strcpy(u.u.text, "x");
	n = hex_line(&u, l, false);
	/* One hex digit short. */
	l[n - 1] = '\n';
	qs_console_input(&f->s, l, n);
	assert_non_null(strstr(f->s.failure, "is not a record"));

	f->s.failure[0] = '\0';
	qs_console_input(&f->s, "@Uzz\n", 5);
	assert_non_null(strstr(f->s.failure, "other than hex"));

	f->s.failure[0] = '\0';
	u.magic = 0;
	n = hex_line(&u, l, true);
	qs_console_input(&f->s, l, n);
	assert_non_null(strstr(f->s.failure, "magic"));

	/* Text that is no ucall is shown, not failed. */
	f->s.failure[0] = '\0';
	qs_console_input(&f->s, "plain text\n", 11);
	assert_string_equal(f->s.failure, "");
}

static void test_console_exit_and_vendor(void **state)
{
	struct fx *f = *state;
	struct mcefwd_ucall u;
	char l[8192];
	size_t n;

	ucall_init(&u, MCEFWD_UCALL_VALUE);
	u.value[0] = MCEFWD_VALUE_VENDOR;
	memcpy(&u.value[1], "Auth", 4);
	memcpy((char *)&u.value[1] + 4, "enti", 4);
	memcpy(&u.value[2], "cAMD", 4);
	n = hex_line(&u, l, true);
	qs_console_input(&f->s, l, n);
	assert_true(f->s.vendor_known);
	assert_true(f->s.guest_amd);

	ucall_init(&u, MCEFWD_UCALL_EXIT);
	u.value[0] = 0x83;
	n = hex_line(&u, l, true);
	qs_console_input(&f->s, l, n);
	assert_true(f->s.vcpu_exited[0]);
	assert_int_equal(f->s.vcpu_exit_code[0], 0x83);
}

static void test_qmp_events(void **state)
{
	struct fx *f = *state;
	const char *ev =
		"{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"MEMORY_FAILURE\", "
		"\"data\": {\"action\": \"inject\", \"flags\": {\"action-required\": true, "
		"\"recursive\": false}, \"recipient\": \"guest\"}}\r\n"
		"{\"event\": \"MEMORY_FAILURE\", \"data\": {\"action\": \"ignore\", \"flags\": "
		"{\"action-required\": false, \"recursive\": false}, \"recipient\": \"hypervisor\"}}\r\n"
		"{\"return\": \"Host virtual address for 0x200000 (microvm.ram) is 0x7f0000200000\\r\\n\"}\r\n";
	size_t n = strlen(ev);

	qs_qmp_input(&f->s, ev, 40);
	qs_qmp_input(&f->s, ev + 40, n - 40);
	assert_int_equal(f->s.nr_mf, 2);
	assert_true(f->s.mf[0].guest);
	assert_string_equal(f->s.mf[0].action, "inject");
	assert_true(f->s.mf[0].ar);
	assert_false(f->s.mf[1].guest);
	assert_string_equal(f->s.mf[1].action, "ignore");
	assert_false(f->s.mf[1].ar);
	assert_true(f->s.qret_ready);
	assert_non_null(strstr(f->s.qret, " is 0x7f0000200000"));
}

static void test_ack(void **state)
{
	struct fx *f = *state;
	char buf[32] = "";
	int p[2];

	/* COM1's chardev is a socket QEMU connected to us. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
	f->s.ser = p[1];
	f->s.nr_mf = 2;
	f->s.mf[0] = (struct qemu_mf){ .guest = true, .action = "inject" };
	f->s.mf[1] = (struct qemu_mf){ .guest = false, .action = "ignore" };
	qs_ack(&f->s, 1);
	assert_string_equal(f->s.failure, "");
	assert_true(read(p[0], buf, sizeof(buf) - 1) > 0);
	/* For vCPU 1: the whole guest's events, and those injected. */
	assert_string_equal(buf, "A 1 2 1\n");
	close(p[0]);
	close(p[1]);
}

/* QEMU gone before it is reaped (a reset under -no-reboot): no SIGPIPE, no failure. */
static void test_ack_to_gone_qemu(void **state)
{
	struct fx *f = *state;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	f->s.ser = sv[0];
	qs_ack(&f->s, 0);
	assert_string_equal(f->s.failure, "");
	close(sv[0]);
}

static struct qemu_vmm vmm(unsigned int major, unsigned int minor, bool amd)
{
	struct qemu_vmm q = { .major = major, .minor = minor, .amd = amd, .cpu = "host" };

	/* What kvm_amd and kvm_intel report as supported (x86.c kvm_caps). */
	q.mcg_cap_supported = MCE_MCG_CTL_P | MCE_MCG_SER_P;
	return q;
}

/* CPUID 1 EAX: an AMD family 0x19 (base family 0xf) and an Intel family 6 model 0x9e. */
static const struct qemu_guest amd_g = { true, 0x00a20f10 }, intel_g = { false, 0x000906ea };
/* Family 6 model 6 (QEMU's TCG "max" reports it): no broadcast. */
static const struct qemu_guest old_g = { true, 0x00000663 };

static void test_expect_by_version(void **state)
{
	const struct scenario *ar = scenario_find("ar"), *bd = scenario_find("bank-disabled");
	struct qemu_vmm q;
	struct qemu_expect e;

	(void)state;
	assert_non_null(ar);
	assert_non_null(bd);
	/* 7.x, any guest: the Intel encoding; the AO's #MC retires the page. */
	q = vmm(7, 2, true);
	assert_int_equal(qemu_expect(&q, &amd_g, ar, INJECT_PFN, &e), 0);
	assert_null(e.cannot);
	assert_int_equal(e.profile, MCE_PROFILE_QEMU7);
	assert_int_equal(e.nr_mce, 1);
	assert_int_equal(e.mce[0].kind, MCE_AO);
	assert_int_equal(e.outcome, QO_EXIT);
	/* kvm_amd keeps bits 8:0 of what the guest reads. */
	assert_int_equal(e.mcg_cap, 0x10a);
	q = vmm(7, 2, false);
	qemu_expect(&q, &intel_g, ar, INJECT_PFN, &e);
	assert_int_equal(e.mcg_cap, 0x100010a);
	/* Before 7.0. */
	q = vmm(6, 2, false);
	qemu_expect(&q, &intel_g, ar, INJECT_PFN, &e);
	assert_int_equal(e.profile, MCE_PROFILE_QEMU62);
	/* 9.1 and later: the guest's vendor decides. */
	q = vmm(9, 1, true);
	qemu_expect(&q, &amd_g, ar, INJECT_PFN, &e);
	assert_int_equal(e.profile, MCE_PROFILE_AMD);
	assert_int_equal(e.nr_mce, 1);
	assert_int_equal(e.mce[0].kind, MCE_AR);
	assert_true(e.mce[0].over);
	qemu_expect(&q, &intel_g, ar, INJECT_PFN, &e);
	assert_int_equal(e.profile, MCE_PROFILE_QEMU7);
	/* A disabled bank: the UC AO is dropped with no event, AMD's deferred one logged. */
	q = vmm(7, 2, true);
	qemu_expect(&q, &amd_g, bd, INJECT_PFN, &e);
	assert_int_equal(e.nr_ready, 1);
	assert_int_equal(e.ready_events[0], 0);
	assert_int_equal(e.outcome, QO_REFAULT);
	q = vmm(10, 0, true);
	qemu_expect(&q, &amd_g, bd, INJECT_PFN, &e);
	assert_int_equal(e.ready_events[0], 1);
}

static void test_expect_cannot(void **state)
{
	struct qemu_vmm q = vmm(7, 2, true);
	struct qemu_expect e;

	(void)state;
	qemu_expect(&q, &amd_g, scenario_find("ar"), INJECT_SIGNAL, &e);
	assert_non_null(strstr(e.cannot, "only to itself"));
	qemu_expect(&q, &amd_g, scenario_find("ar"), INJECT_HWPOISON, &e);
	assert_non_null(e.cannot);
	qemu_expect(&q, &amd_g, scenario_find("reset"), INJECT_PFN, &e);
	assert_non_null(strstr(e.cannot, "READY_RESET"));
	assert_non_null(strstr(e.cannot, "-no-reboot"));
	/* LMCE only where KVM offers MCG_LMCE_P (VMX). */
	qemu_expect(&q, &intel_g, scenario_find("lmce"), INJECT_PFN, &e);
	assert_non_null(strstr(e.cannot, "MCG_LMCE_P"));
	qemu_expect(&q, &amd_g, scenario_find("vmm-memory"), INJECT_PFN, &e);
	assert_non_null(e.cannot);
	qemu_expect(&q, &amd_g, scenario_find("burst"), INJECT_PFN, &e);
	assert_non_null(e.cannot);
	/* A pure AR: a frame no process maps, whatever mcefwd's own methods cannot. */
	qemu_expect(&q, &amd_g, scenario_find("ar-untouched"), INJECT_PFN, &e);
	assert_null(e.cannot);
	assert_true(e.untouched);
	assert_int_equal(e.nr_ready, 1);
	assert_int_equal(e.ready_events[0], 0);
	assert_int_equal(e.nr_mce, 1);
	assert_int_equal(e.mce[0].kind, MCE_AR);
	assert_non_null(scenario_find("ar-untouched")->cannot[INJECT_PFN]);
	/* Without SER_P QEMU needs a guest without MCA. */
	qemu_expect(&q, &amd_g, scenario_find("ar-no-ser"), INJECT_PFN, &e);
	assert_null(e.cannot);
	assert_string_equal(e.cpu, "host,mca=off");
	assert_int_equal(e.outcome, QO_QEMU_EXIT);
	assert_int_equal(e.qemu_status, 1);
	/* Every scenario has an expectation or a reason. */
	for (unsigned int i = 0; i < scenario_count(); i++) {
		qemu_expect(&q, &amd_g, scenario_at(i), INJECT_PFN, &e);
		assert_true(e.cannot || e.why);
		if (e.cannot)
			assert_null(strstr(e.cannot, "no expectation"));
	}
}

static void test_expect_broadcast(void **state)
{
	const struct scenario *bc = scenario_find("broadcast"), *route = scenario_find("ao-route");
	struct qemu_vmm q = vmm(7, 2, true);
	struct qemu_expect e;

	(void)state;
	/* Base family 0xf > 6: QEMU 7.2 broadcasts to an AMD guest too. */
	assert_true(qemu_broadcasts(&q, &amd_g));
	qemu_expect(&q, &amd_g, bc, INJECT_PFN, &e);
	assert_null(e.cannot);
	assert_int_equal(e.nr_vcpus, 4);
	assert_int_equal(e.nr_mce, 4);
	assert_int_equal(e.ready_events[0], 4);
	assert_int_equal(e.mce[0].vcpu, 0);
	assert_int_equal(e.mce[0].kind, MCE_AO);
	for (unsigned int v = 1; v < 4; v++) {
		assert_true(e.mce[v].broadcast);
		assert_int_equal(e.mce[v].vcpu, v);
	}
	/* Family 6 model 6: none. */
	assert_false(qemu_broadcasts(&q, &old_g));
	qemu_expect(&q, &old_g, bc, INJECT_PFN, &e);
	assert_int_equal(e.nr_mce, 1);
	assert_int_equal(e.ready_events[0], 1);
	/* From 9.1 never to an AMD guest, still to an Intel one. */
	q = vmm(9, 1, true);
	assert_false(qemu_broadcasts(&q, &amd_g));
	assert_true(qemu_broadcasts(&q, &intel_g));
	qemu_expect(&q, &amd_g, bc, INJECT_PFN, &e);
	assert_int_equal(e.nr_mce, 1);
	assert_int_equal(e.mce[0].kind, MCE_AR);
	assert_true(e.mce[0].over);
	/* The AO goes to vCPU 0 whoever owns the page: the last vCPU's, page 4. */
	q = vmm(7, 2, false);
	qemu_expect(&q, &intel_g, route, INJECT_PFN, &e);
	assert_int_equal(e.mce[0].vcpu, 0);
	assert_int_equal(e.mce[0].page, 4);
	assert_int_equal(e.nr_mce, 4);
	/* LMCE where KVM offers it: local, no broadcast. */
	q.mcg_cap_supported |= MCE_MCG_LMCE_P;
	qemu_expect(&q, &intel_g, scenario_find("lmce"), INJECT_PFN, &e);
	assert_null(e.cannot);
	assert_string_equal(e.cpu, "host,lmce=on");
	assert_int_equal(e.nr_mce, 1);
	assert_true(e.mce[0].lmce);
}

/* Requests from two vCPUs wait side by side; a ucall from a vCPU QEMU does not run is refused. */
static void test_requests_per_vcpu(void **state)
{
	struct fx *f = *state;
	struct mcefwd_ucall u;
	struct run_result res = { .status = KTAP_PASS };
	char l[1024];
	size_t n;

	ucall_init(&u, MCEFWD_UCALL_WAIT);
	u.value[0] = 1;
	n = hex_line(&u, l, true);
	qs_console_input(&f->s, l, n);
	ucall_init(&u, MCEFWD_UCALL_READY);
	u.vcpu = 1;
	n = hex_line(&u, l, true);
	qs_console_input(&f->s, l, n);
	assert_true(f->s.request[0]);
	assert_true(f->s.request[1]);
	assert_int_equal(f->s.req[0].type, MCEFWD_UCALL_WAIT);
	assert_int_equal(f->s.req[1].type, MCEFWD_UCALL_READY);
	assert_string_equal(f->s.failure, "");

	/* vCPU 0 exited, vCPU 1 never did. */
	ucall_init(&u, MCEFWD_UCALL_EXIT);
	n = hex_line(&u, l, true);
	qs_console_input(&f->s, l, n);
	qs_check_exits(&f->s, &res);
	assert_int_equal(res.status, KTAP_FAIL);
	assert_non_null(strstr(res.reason, "vCPU 1 did not exit"));

	ucall_init(&u, MCEFWD_UCALL_HELLO);
	u.vcpu = 2;
	n = hex_line(&u, l, true);
	qs_console_input(&f->s, l, n);
	assert_non_null(strstr(f->s.failure, "from vCPU 2, QEMU runs 2"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_console_nested_line, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_console_rejects, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_console_exit_and_vendor, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_qmp_events, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ack, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ack_to_gone_qemu, fx_setup, fx_teardown),
		cmocka_unit_test(test_expect_by_version),
		cmocka_unit_test(test_expect_cannot),
		cmocka_unit_test(test_expect_broadcast),
		cmocka_unit_test_setup_teardown(test_requests_per_vcpu, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
