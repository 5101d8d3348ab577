// SPDX-License-Identifier: GPL-2.0-only
/*
 * What mcefwd-inject takes as proof that it aims at guest RAM of a KVM VMM
 * (inject/vmm.c, inject/qmp.c, inject/pin.c), pure parts: QMP's replies
 * and gpa2hva's answer as QEMU words them, a /proc/PID/stat line, the
 * names of guest RAM mappings. And, live: a pin on this very process, and
 * a KVM VM descriptor found where /dev/kvm lets one be made.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <cmocka.h>

#include "inject/maps.h"
#include "inject/pin.h"
#include "inject/qmp.h"
#include "inject/vmm.h"
#include "mcefwd/util/error.h"

static void test_qmp_parse_kinds(void **state)
{
	struct qmp_reply r;

	(void)state;
	assert_int_equal(qmp_parse("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, "
				   "\"major\": 7}, \"package\": \"Debian 1:7.2\"}, "
				   "\"capabilities\": [\"oob\"]}}\r\n", &r), 0);
	assert_int_equal(r.kind, QMP_GREETING);
	assert_int_equal(qmp_parse("{\"return\": {}}", &r), 0);
	assert_int_equal(r.kind, QMP_RETURN);
	assert_string_equal(r.text, "");
	assert_int_equal(qmp_parse("{\"return\": \"Host virtual address for 0x0 (microvm.ram) is "
				   "0x7ff686e00000\\r\\n\"}\n", &r), 0);
	assert_int_equal(r.kind, QMP_RETURN);
	assert_string_equal(r.text, "Host virtual address for 0x0 (microvm.ram) is 0x7ff686e00000\r\n");
	assert_int_equal(qmp_parse("{\"error\": {\"class\": \"GenericError\", \"desc\": "
				   "\"a \\\"quoted\\\" \\u0041\\u00e9 reason\"}}", &r), 0);
	assert_int_equal(r.kind, QMP_ERROR);
	assert_string_equal(r.text, "a \"quoted\" A? reason");
	assert_int_equal(qmp_parse("{\"timestamp\": {\"seconds\": 1, \"microseconds\": -2}, "
				   "\"event\": \"RESUME\", \"data\": [true, null, 1.5e3, []]}", &r), 0);
	assert_int_equal(r.kind, QMP_EVENT);
	assert_string_equal(r.text, "RESUME");
}

static void test_qmp_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"", "[]", "{", "{\"return\": {}", "{\"return\": {}} x", "{\"other\": 1}",
		"{return: 1}", "{\"return\": \"unterminated}", "{\"return\": \"\\q\"}",
		"{\"a\": tru}x", "{\"return\": \"\\u12\"}",
		"{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	};
	struct qmp_reply r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (qmp_parse(bad[i], &r) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(strstr(error_get(), "QMP"));
	}
	assert_int_equal(qmp_parse(NULL, &r), -EINVAL);
}

static void test_qmp_gpa2hva_text(void **state)
{
	char region[64];
	uint64_t hva = 0;

	(void)state;
	assert_int_equal(qmp_parse_gpa2hva("Host virtual address for 0x1000 (pc.ram) is 0x7f0000001000\r\n",
					   0x1000, &hva, region, sizeof(region)), 0);
	assert_int_equal(hva, 0x7f0000001000ULL);
	assert_string_equal(region, "pc.ram");
	/* A block name with parentheses and spaces of its own. */
	assert_int_equal(qmp_parse_gpa2hva("Host virtual address for 0xf0000 (a (b) c) is 0x10\r\n",
					   0xf0000, &hva, region, sizeof(region)), 0);
	assert_string_equal(region, "a (b) c");
	assert_int_equal(hva, 0x10);
	assert_int_equal(qmp_parse_gpa2hva("No memory is mapped at address 0x2000000\r\n",
					   0x2000000, &hva, region, sizeof(region)), -EINVAL);
	assert_string_equal(error_get(), "QEMU's gpa2hva 0x2000000: No memory is mapped at address 0x2000000");
	assert_int_equal(qmp_parse_gpa2hva("Host virtual address for 0x2000 (pc.ram) is 0x7f00\r\n",
					   0x1000, &hva, NULL, 0), -EINVAL);
	assert_non_null(strstr(error_get(), "not 0x1000"));
	assert_int_equal(qmp_parse_gpa2hva("Host virtual address for 0x1000 (pc.ram) is nil",
					   0x1000, &hva, NULL, 0), -EINVAL);
}

static void test_pin_parse_stat(void **state)
{
	uint64_t start = 0;
	char st = 0;

	(void)state;
	assert_int_equal(pin_parse_stat("42 (qemu) S 1 42 42 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 3 0 "
					"123456 1000 10 18446744073709551615\n", &st, &start), 0);
	assert_int_equal(st, 'S');
	assert_int_equal(start, 123456);
	/* The name may hold ") " and spaces: fields count from the last ')'. */
	assert_int_equal(pin_parse_stat("7 (a) b) c) Z 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 99 x",
					&st, &start), 0);
	assert_int_equal(st, 'Z');
	assert_int_equal(start, 99);
	assert_int_equal(pin_parse_stat("7 (a) S 1 2 3", &st, &start), -EINVAL);
	assert_int_equal(pin_parse_stat("7 a S 1", &st, &start), -EINVAL);
	assert_int_equal(pin_parse_stat("7 (a) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 x9",
					&st, &start), -EINVAL);
}

static void test_pin_self(void **state)
{
	struct pin p;

	(void)state;
	assert_int_equal(pin_open(getpid(), &p), 0);
	assert_true(p.start_time > 0);
	assert_int_equal(pin_check(&p), 0);
	p.start_time++;
	assert_int_equal(pin_check(&p), -ESRCH);
	assert_non_null(strstr(error_get(), "PID was reused"));
	p.start_time--;
	/* Without a pidfd (pidfd_open not implemented): kill(pid, 0) and the start time. */
	close(p.pidfd);
	p.pidfd = -1;
	assert_int_equal(pin_check(&p), 0);
	p.start_time++;
	assert_int_equal(pin_check(&p), -ESRCH);
	pin_close(&p);
	assert_int_equal(p.pidfd, -1);
	assert_int_equal(pin_check(&p), -EBADF);
	assert_int_equal(pin_open(0x3ffffff0, &p), -ESRCH);
}

static struct maps_entry entry(const char *line)
{
	struct maps_entry e;

	assert_int_equal(maps_parse_line(line, &e), 0);
	return e;
}

static void test_ram_names(void **state)
{
	struct maps_entry m[4];

	(void)state;
	m[0] = entry("7f0000000000-7f0000100000 rw-p 00000000 00:00 0 [anon:" VMM_RAM_NAME "]");
	m[1] = entry("7f0000100000-7f0000200000 rw-s 00000000 00:01 7 /memfd:" VMM_RAM_NAME " (deleted)");
	m[2] = entry("7f0000200000-7f0000300000 rw-p 00000000 00:00 0 ");
	m[3] = entry("7f0000300000-7f0000400000 rw-s 00000000 fe:01 7 /memfd:" VMM_RAM_NAME " (deleted)");
	assert_true(vmm_mapping_is_ram(&m[0]));
	assert_true(vmm_mapping_is_ram(&m[1]));
	assert_false(vmm_mapping_is_ram(&m[2]));
	/* On a disk, "/memfd:..." is a file of that name. */
	assert_false(vmm_mapping_is_ram(&m[3]));
	assert_int_equal(vmm_judge_ram(m, 4, 9, 0x7f0000000000ULL, 0x100000), 0);
	assert_int_equal(vmm_judge_ram(m, 4, 9, 0x7f0000150000ULL, 0x1000), 0);
	/* Two mappings of guest RAM side by side are still two. */
	assert_int_equal(vmm_judge_ram(m, 4, 9, 0x7f00000ff000ULL, 0x2000), -EPERM);
	assert_non_null(strstr(error_get(), "guest RAM up to 0x7f0000100000 only"));
	assert_int_equal(vmm_judge_ram(m, 4, 9, 0x7f0000200000ULL, 0x1000), -EPERM);
	assert_non_null(strstr(error_get(), "is in the unnamed mapping 0x7f0000200000-0x7f0000300000, not guest RAM"));
	assert_non_null(strstr(error_get(), "--any-process"));
	assert_int_equal(vmm_judge_ram(m, 4, 9, 0x1000, 0x1000), -EPERM);
	assert_non_null(strstr(error_get(), "in no mapping"));
	assert_true(vmm_link_is_kvm_vm("anon_inode:kvm-vm"));
	assert_false(vmm_link_is_kvm_vm("anon_inode:kvm-vcpu:0"));
	assert_false(vmm_link_is_kvm_vm("/dev/kvm"));
}

static void test_find_kvm_vm(void **state)
{
	int kvm, vm, fd = -1;

	(void)state;
	assert_int_equal(vmm_find_kvm_vm(getpid(), &fd), -ENOENT);
	assert_non_null(strstr(error_get(), "holds no KVM VM"));
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		skip();	/* "/dev/kvm: cannot open": the half without a VM has run */
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		close(kvm);
		skip();
	}
	assert_int_equal(vmm_find_kvm_vm(getpid(), &fd), 0);
	assert_int_equal(fd, vm);
	close(vm);
	close(kvm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qmp_parse_kinds),
		cmocka_unit_test(test_qmp_parse_rejects),
		cmocka_unit_test(test_qmp_gpa2hva_text),
		cmocka_unit_test(test_pin_parse_stat),
		cmocka_unit_test(test_pin_self),
		cmocka_unit_test(test_ram_names),
		cmocka_unit_test(test_find_kvm_vm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
