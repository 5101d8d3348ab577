// SPDX-License-Identifier: GPL-2.0-only
/*
 * inject/: method names, probes that tell the truth about this host, and
 * the two methods that work everywhere we run (signal, uffd) doing what
 * they claim.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <cmocka.h>

#include "inject/inject.h"
#include "tests/unit/fixture.h"

/* For the raw check of the kernel behaviour uffd.c relies on (uapi values). */
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON (1 << 14)
#endif
#ifndef _UFFDIO_POISON
#define _UFFDIO_POISON (0x08)
struct uffdio_poison {
	struct uffdio_range range;
	__u64 mode;
	__s64 updated;
};
#endif
#ifndef UFFDIO_POISON
#define UFFDIO_POISON _IOWR(UFFDIO, _UFFDIO_POISON, struct uffdio_poison)
#endif

#define MF_KNOB "/proc/sys/vm/memory_failure_recovery"

/* ---- a SIGBUS handler that only records ---- */

static volatile sig_atomic_t bus_count;
static volatile int bus_code;
static void *volatile bus_addr;
static volatile short bus_lsb;
static volatile pid_t bus_tid;
static volatile sig_atomic_t bus_jump_armed;
static sigjmp_buf bus_jump;
static struct sigaction bus_old;

static void bus_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	bus_code = si->si_code;
	bus_addr = si->si_addr;
	bus_lsb = si->si_addr_lsb;
	bus_tid = gettid();
	bus_count++;
	/* A faulting load would fault again on return: leave it. */
	if (bus_jump_armed) {
		bus_jump_armed = 0;
		siglongjmp(bus_jump, 1);
	}
}

static void bus_install(void)
{
	struct sigaction sa = { .sa_sigaction = bus_handler, .sa_flags = SA_SIGINFO };

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGBUS, &sa, &bus_old), 0);
	bus_count = 0;
	bus_code = 0;
	bus_addr = NULL;
	bus_lsb = 0;
	bus_tid = 0;
}

static void bus_restore(void)
{
	sigaction(SIGBUS, &bus_old, NULL);
}

/* The byte at p, or -1 if reading it raised SIGBUS. */
static int bus_touch(volatile unsigned char *p)
{
	if (sigsetjmp(bus_jump, 1))
		return -1;
	bus_jump_armed = 1;
	int v = *p;
	bus_jump_armed = 0;
	return v;
}

/* ---- helpers ---- */

static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static size_t page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

static bool uffd_usable(void)
{
	struct inject_probe p;

	inject_probe(INJECT_UFFD, &p);
	if (!p.available)
		print_message("skip: uffd method unavailable: %s\n", p.why);
	return p.available;
}

/* ---- names ---- */

static void test_method_names_round_trip(void **state)
{
	static const char *const want[] = {
		"einj", "hwpoison", "pfn", "soft-offline", "uffd", "signal",
	};
	enum inject_method m, back;

	(void)state;
	assert_int_equal(INJECT_METHOD_COUNT, 6);
	for (m = 0; m < INJECT_METHOD_COUNT; m++) {
		assert_string_equal(inject_method_name(m), want[m]);
		back = INJECT_METHOD_COUNT;
		assert_int_equal(inject_method_parse(want[m], &back), 0);
		assert_int_equal(back, m);
	}
	assert_null(inject_method_name(INJECT_METHOD_COUNT));
	assert_null(inject_method_name((enum inject_method)-1));
}

static void test_method_parse_rejects_bad_names(void **state)
{
	static const char *const bad[] = {
		"", "auto", "HWPOISON", "soft_offline", "softoffline", "uffd ",
		" uffd", "signals", "sig", "e", "unknown",
	};
	enum inject_method m = INJECT_SIGNAL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(inject_method_parse(bad[i], &m), -EINVAL);
		assert_int_equal(m, INJECT_SIGNAL);
	}
	assert_int_equal(inject_method_parse(NULL, &m), -EINVAL);
}

/* ---- probes ---- */

static void test_probe_signal_available(void **state)
{
	struct inject_probe p;

	(void)state;
	inject_probe(INJECT_SIGNAL, &p);
	assert_true(p.available);
	assert_non_null(strstr(p.why, "SIGBUS"));
}

static void test_probe_every_method_explains(void **state)
{
	struct inject_probe p;

	(void)state;
	for (enum inject_method m = 0; m < INJECT_METHOD_COUNT; m++) {
		memset(&p, 0x55, sizeof(p));
		inject_probe(m, &p);
		assert_true(strnlen(p.why, sizeof(p.why)) < sizeof(p.why));
		assert_true(strlen(p.why) > 10);
		print_message("# %-12s %s: %s\n", inject_method_name(m),
			      p.available ? "yes" : "no", p.why);
	}
	inject_probe(INJECT_METHOD_COUNT, &p);
	assert_false(p.available);
	assert_true(p.why[0]);
}

/* Whatever the host, what the kernel lacks the probe must not promise. */
static void test_probe_memory_failure_methods(void **state)
{
	static const enum inject_method mf[] = {
		INJECT_HWPOISON, INJECT_PFN, INJECT_SOFT_OFFLINE,
	};
	bool knob = exists(MF_KNOB), admin = inject_has_cap_sys_admin();
	struct inject_probe p;

	(void)state;
	for (size_t i = 0; i < sizeof(mf) / sizeof(mf[0]); i++) {
		inject_probe(mf[i], &p);
		if (!knob) {
			assert_false(p.available);
			assert_non_null(strstr(p.why, "memory-failure"));
			assert_non_null(strstr(p.why, MF_KNOB));
		} else if (!admin) {
			assert_false(p.available);
			assert_non_null(strstr(p.why, "CAP_SYS_ADMIN"));
		} else if (mf[i] != INJECT_PFN) {
			assert_true(p.available);
		}
	}
}

static void test_probe_einj_needs_table(void **state)
{
	struct inject_probe p;

	(void)state;
	inject_probe(INJECT_EINJ, &p);
	if (!exists("/sys/firmware/acpi/tables/EINJ")) {
		assert_false(p.available);
		assert_non_null(strstr(p.why, "EINJ"));
	} else if (p.available) {
		assert_true(exists("/sys/kernel/debug/apei/einj"));
	}
}

static void test_probe_pfn_needs_debugfs(void **state)
{
	struct inject_probe p;

	(void)state;
	inject_probe(INJECT_PFN, &p);
	if (p.available)
		assert_true(exists("/sys/kernel/debug/hwpoison/corrupt-pfn") ||
			    strstr(p.why, "hwpoison_inject module"));
}

static void test_auto_never_einj(void **state)
{
	struct inject_probe p;
	enum inject_method m;
	char why[2048], want[64];
	const char *not;

	(void)state;
	m = inject_auto(why, sizeof(why));
	print_message("# auto: %s\n", why);
	assert_int_not_equal(m, INJECT_EINJ);
	assert_true(m > INJECT_EINJ && m < INJECT_METHOD_COUNT);
	inject_probe(m, &p);
	assert_true(p.available);
	snprintf(want, sizeof(want), "%s: ", inject_method_name(m));
	assert_memory_equal(why, want, strlen(want));
	/* Every more real method (but einj) was unavailable, and said why. */
	not = strstr(why, "; not ");
	assert_true(m == INJECT_EINJ + 1 || not);
	for (enum inject_method r = INJECT_EINJ + 1; r < m; r++) {
		inject_probe(r, &p);
		assert_false(p.available);
		assert_non_null(strstr(not, inject_method_name(r)));
		assert_non_null(strstr(not, p.why));
	}
	assert_non_null(strstr(why, "einj is never chosen"));
	if (!exists(MF_KNOB))
		assert_true(m == INJECT_UFFD || m == INJECT_SIGNAL);
	/* A short buffer is truncated, not overrun. */
	memset(why, 'x', sizeof(why));
	assert_int_equal(inject_auto(why, 8), m);
	assert_int_equal(strlen(why), 7);
	assert_int_equal(why[8], 'x');
	assert_int_equal(inject_auto(NULL, 0), m);
}

static void test_probe_leaks_no_fd(void **state)
{
	struct inject_probe p;
	char why[1024];
	int before;

	(void)state;
	before = fd_count();
	for (int i = 0; i < 20; i++) {
		for (enum inject_method m = 0; m < INJECT_METHOD_COUNT; m++)
			inject_probe(m, &p);
		inject_auto(why, sizeof(why));
	}
	assert_int_equal(fd_count(), before);
}

/* ---- privileges ---- */

/* CapEff from /proc/self/status, read without libcap. */
static uint64_t status_cap_eff(void)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	bool found = false;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			found = true;
	fclose(f);
	assert_true(found);
	return eff;
}

static void test_caps_match_kernel(void **state)
{
	uint64_t eff = status_cap_eff();
	char buf[1024];

	(void)state;
	assert_int_equal(inject_has_cap_sys_admin(), !!(eff >> CAP_SYS_ADMIN & 1));
	assert_int_equal(inject_has_cap(CAP_KILL), !!(eff >> CAP_KILL & 1));
	assert_int_equal(inject_caps_describe(buf, sizeof(buf)), 0);
	assert_true(buf[0]);
	print_message("# caps: %s\n", buf);
	if (eff == 0)
		assert_string_equal(buf, "none");
	assert_int_equal(inject_caps_describe(buf, 1), -ENOSPC);
	assert_string_equal(buf, "");
	assert_int_equal(inject_caps_describe(buf, 0), -EINVAL);
}

/* ---- signal ---- */

static void check_signal_self(int code)
{
	char target[64];
	int ret;

	bus_install();
	ret = inject_signal_self(code, &target[8], 12);
	bus_restore();
	assert_int_equal(ret, 0);
	assert_int_equal(bus_count, 1);
	assert_int_equal(bus_code, code);
	assert_ptr_equal(bus_addr, &target[8]);
	assert_int_equal(bus_lsb, 12);
	assert_int_equal(bus_tid, gettid());
}

static void test_signal_self_ar(void **state)
{
	(void)state;
	if (!fx_signal_deliverable())
		skip();
	check_signal_self(BUS_MCEERR_AR);
}

static void test_signal_self_ao(void **state)
{
	(void)state;
	if (!fx_signal_deliverable())
		skip();
	check_signal_self(BUS_MCEERR_AO);
}

static void test_signal_self_rejects_other_codes(void **state)
{
	int x;

	(void)state;
	bus_install();
	assert_int_equal(inject_signal_self(BUS_ADRERR, &x, 12), -EINVAL);
	assert_int_equal(inject_signal_self(0, &x, 12), -EINVAL);
	assert_int_equal(inject_signal_self(SI_QUEUE, &x, 12), -EINVAL);
	bus_restore();
	assert_int_equal(bus_count, 0);
}

struct thread_result {
	pid_t tid;
	int ret;
};

static void *signal_thread(void *arg)
{
	struct thread_result *r = arg;
	char x;

	r->tid = gettid();
	r->ret = inject_signal_self(BUS_MCEERR_AO, &x, 21);
	return NULL;
}

static void test_signal_self_hits_calling_thread(void **state)
{
	struct thread_result r = { 0, -1 };
	pthread_t t;

	(void)state;
	if (!fx_signal_deliverable())
		skip();
	bus_install();
	assert_int_equal(pthread_create(&t, NULL, signal_thread, &r), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	bus_restore();
	assert_int_equal(r.ret, 0);
	assert_int_equal(bus_count, 1);
	assert_int_equal(bus_code, BUS_MCEERR_AO);
	assert_int_equal(bus_lsb, 21);
	assert_int_equal(bus_tid, r.tid);
	assert_int_not_equal(bus_tid, gettid());
}

/* ---- uffd ---- */

static void test_uffd_poison_then_unpoison(void **state)
{
	size_t ps = page_size();
	struct inject_uffd *u = NULL;
	unsigned char *m;
	int fds, ret, status;
	pid_t pid;

	(void)state;
	if (!uffd_usable())
		skip();
	fds = fd_count();
	m = map_anon(3 * ps);
	memset(m, 0xab, 3 * ps);

	ret = inject_uffd_poison(m + ps, ps, &u);
	if (ret)
		print_message("%s: %s\n", inject_uffd_failed_step(), strerror(-ret));
	assert_int_equal(ret, 0);
	assert_non_null(u);
	assert_int_equal(fd_count(), fds + 1);

	/* Another process inherits the poisoned pte, and dies of it. */
	print_message("# a child process now dies of SIGBUS, as intended\n");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGBUS, SIG_DFL);
		_exit(*(volatile unsigned char *)(m + ps) == 0xab ? 10 : 11);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGBUS);

	bus_install();
	assert_int_equal(bus_touch(m + ps), -1);
	assert_int_equal(bus_touch(m + ps + ps - 1), -1);
	assert_int_equal(bus_touch(m), 0xab);
	assert_int_equal(bus_touch(m + 2 * ps), 0xab);
	bus_restore();
	assert_int_equal(bus_count, 2);
	/* BUS_MCEERR_AR where the kernel has memory-failure, BUS_ADRERR not. */
	assert_true(bus_code == BUS_ADRERR || bus_code == BUS_MCEERR_AR);
	if (bus_code == BUS_MCEERR_AR)
		assert_int_equal(1 << bus_lsb, ps);
	if (!exists(MF_KNOB))
		assert_int_equal(bus_code, BUS_ADRERR);
	assert_ptr_equal(bus_addr, m + ps + ps - 1);

	assert_int_equal(inject_uffd_unpoison(u), 0);
	assert_int_equal(fd_count(), fds);
	bus_install();
	assert_int_equal(bus_touch(m + ps), 0);
	assert_int_equal(bus_touch(m + 2 * ps - 1), 0);
	m[ps] = 0x5a;
	assert_int_equal(bus_touch(m + ps), 0x5a);
	assert_int_equal(bus_touch(m + 2 * ps), 0xab);
	bus_restore();
	assert_int_equal(bus_count, 0);

	/* The same page can be poisoned again (a second error on it). */
	assert_int_equal(inject_uffd_poison(m + ps, ps, &u), 0);
	bus_install();
	assert_int_equal(bus_touch(m + ps), -1);
	bus_restore();
	assert_int_equal(inject_uffd_unpoison(u), 0);
	assert_int_equal(munmap(m, 3 * ps), 0);
	assert_int_equal(fd_count(), fds);
}

/* The openers inject/uffd.c tries, in its order (valgrind lacks the syscall). */
static int raw_uffd_open(void)
{
	int flags = O_CLOEXEC | O_NONBLOCK;
	int fd, dev;

	fd = syscall(SYS_userfaultfd, flags);
	if (fd >= 0)
		return fd;
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
		close(dev);
		if (fd >= 0)
			return fd;
	}
	return syscall(SYS_userfaultfd, flags | UFFD_USER_MODE_ONLY);
}

/*
 * What inject_uffd_unpoison() relies on: the poison marker outlives the
 * registration and the userfaultfd, and only zapping the page drops it.
 */
static void test_uffd_marker_outlives_userfaultfd(void **state)
{
	size_t ps = page_size();
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_POISON };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_poison poison = { 0 };
	struct uffdio_range range;
	unsigned char *m;
	int fd;

	(void)state;
	if (!uffd_usable())
		skip();
	fd = raw_uffd_open();
	assert_true(fd >= 0);
	m = map_anon(ps);
	m[0] = 1;
	range.start = (uintptr_t)m;
	range.len = ps;
	reg.range = range;
	poison.range = range;
	assert_int_equal(ioctl(fd, UFFDIO_API, &api), 0);
	assert_int_equal(ioctl(fd, UFFDIO_REGISTER, &reg), 0);
	/* A present page cannot take a marker. */
	assert_int_equal(ioctl(fd, UFFDIO_POISON, &poison), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(madvise(m, ps, MADV_DONTNEED), 0);
	assert_int_equal(ioctl(fd, UFFDIO_POISON, &poison), 0);
	assert_int_equal(poison.updated, ps);
	assert_int_equal(ioctl(fd, UFFDIO_UNREGISTER, &range), 0);
	assert_int_equal(close(fd), 0);

	bus_install();
	assert_int_equal(bus_touch(m), -1);
	assert_int_equal(madvise(m, ps, MADV_DONTNEED), 0);
	assert_int_equal(bus_touch(m), 0);
	bus_restore();
	assert_int_equal(bus_count, 1);
	assert_int_equal(munmap(m, ps), 0);
}

static void test_uffd_rejects_bad_arguments(void **state)
{
	size_t ps = page_size();
	struct inject_uffd *u = NULL;
	unsigned char *m = map_anon(2 * ps);
	int fds = fd_count();

	(void)state;
	assert_int_equal(inject_uffd_poison(m + 1, ps, &u), -EINVAL);
	assert_string_equal(inject_uffd_failed_step(), "arguments");
	assert_int_equal(inject_uffd_poison(m, 0, &u), -EINVAL);
	assert_int_equal(inject_uffd_poison(m, ps + 1, &u), -EINVAL);
	assert_int_equal(inject_uffd_poison(NULL, ps, &u), -EINVAL);
	assert_int_equal(inject_uffd_poison(m, ps, NULL), -EINVAL);
	assert_int_equal(inject_uffd_unpoison(NULL), -EINVAL);
	assert_null(u);
	assert_int_equal(fd_count(), fds);
	munmap(m, 2 * ps);
}

static void test_uffd_failure_names_step(void **state)
{
	size_t ps = page_size();
	struct inject_uffd *u = NULL;
	unsigned char *m;
	int fds, ret;

	(void)state;
	if (!uffd_usable())
		skip();
	m = map_anon(ps);
	assert_int_equal(munmap(m, ps), 0);
	fds = fd_count();
	ret = inject_uffd_poison(m, ps, &u);
	assert_true(ret < 0);
	assert_string_equal(inject_uffd_failed_step(), "UFFDIO_REGISTER");
	assert_null(u);
	assert_int_equal(fd_count(), fds);
}

/*
 * The hwpoison helper process reports madvise's errno and is reaped. Only
 * where the kernel has no memory failure (EINVAL): elsewhere it would
 * really poison a frame, which a unit test must not do.
 */
static void test_hwpoison_shared_reports_errno(void **state)
{
	char *page;
	bool killed = true;
	int r, status;

	(void)state;
	if (exists(MF_KNOB))
		skip();	/* memory failure here: the helper would really poison a frame */
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(page != MAP_FAILED);
	page[0] = 1;
	r = inject_hwpoison_shared(page, 4096, &killed);
	assert_int_equal(r, -EINVAL);
	assert_false(killed);
	/* Reaped: no child is left. */
	assert_int_equal(waitpid(-1, &status, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(page[0], 1);
	munmap(page, 4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_method_names_round_trip),
		cmocka_unit_test(test_method_parse_rejects_bad_names),
		cmocka_unit_test(test_probe_signal_available),
		cmocka_unit_test(test_probe_every_method_explains),
		cmocka_unit_test(test_probe_memory_failure_methods),
		cmocka_unit_test(test_hwpoison_shared_reports_errno),
		cmocka_unit_test(test_probe_einj_needs_table),
		cmocka_unit_test(test_probe_pfn_needs_debugfs),
		cmocka_unit_test(test_auto_never_einj),
		cmocka_unit_test(test_probe_leaks_no_fd),
		cmocka_unit_test(test_caps_match_kernel),
		cmocka_unit_test(test_signal_self_ar),
		cmocka_unit_test(test_signal_self_ao),
		cmocka_unit_test(test_signal_self_rejects_other_codes),
		cmocka_unit_test(test_signal_self_hits_calling_thread),
		cmocka_unit_test(test_uffd_poison_then_unpoison),
		cmocka_unit_test(test_uffd_marker_outlives_userfaultfd),
		cmocka_unit_test(test_uffd_rejects_bad_arguments),
		cmocka_unit_test(test_uffd_failure_names_step),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
