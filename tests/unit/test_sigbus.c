// SPDX-License-Identifier: GPL-2.0-only
/*
 * mcefwd/mce/sigbus.c: a self-sent SIGBUS (rt_tgsigqueueinfo, the kernel's
 * si_code values) lands where the design says: the vCPU ring and
 * immediate_exit on a vCPU thread, the process ring and the eventfd on any
 * other; an AR on a non-vCPU thread and any other si_code kill the process
 * with SIGBUS (checked in forked children).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <cmocka.h>

#include "mcefwd/mce/sigbus.h"
#include "tests/unit/fixture.h"

#define ADDR_AR		((void *)0x7f0012345000UL)
#define ADDR_AO		((void *)0x7f00abcde000UL)

/* SIGBUS to the calling thread, as the kernel would fill it in. */
static int send_sigbus(int code, void *addr, short lsb)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	info.si_signo = SIGBUS;
	info.si_code = code;
	info.si_addr = addr;
	info.si_addr_lsb = lsb;
	return syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGBUS, &info);
}

/* cmocka installs its own SIGBUS handler around every test: ours goes in after. */
static void install(void)
{
	assert_int_equal(sigbus_install(), 0);
}

/* ---- installing ---- */

static void test_install_idempotent(void **state)
{
	struct sigaction first, again, dfl;

	(void)state;
	install();
	assert_int_equal(sigaction(SIGBUS, NULL, &first), 0);
	assert_int_equal(sigbus_install(), 0);
	assert_int_equal(sigaction(SIGBUS, NULL, &again), 0);
	assert_true(first.sa_flags & SA_SIGINFO);
	assert_true(first.sa_handler != SIG_DFL && first.sa_handler != SIG_IGN);
	assert_true(sigismember(&first.sa_mask, SIGBUS));
	assert_ptr_equal(again.sa_sigaction, first.sa_sigaction);
	assert_int_equal(again.sa_flags, first.sa_flags);

	/* Someone else's disposition in between: installing puts ours back. */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	assert_int_equal(sigaction(SIGBUS, &dfl, NULL), 0);
	assert_int_equal(sigbus_install(), 0);
	assert_int_equal(sigaction(SIGBUS, NULL, &again), 0);
	assert_ptr_equal(again.sa_sigaction, first.sa_sigaction);
	assert_true(again.sa_flags & SA_SIGINFO);
}

/* ---- on a vCPU thread ---- */

static void test_vcpu_ar_to_ring(void **state)
{
	struct ring_spsc *ring = calloc(1, sizeof(*ring));
	struct kvm_run *run = calloc(1, sizeof(*run));
	struct mce_event ev;
	atomic_uint wake = 1;
	uint64_t seq;

	(void)state;
	if (!fx_signal_deliverable()) {
		free(ring);
		free(run);
		skip();
	}
	install();
	assert_non_null(ring);
	assert_non_null(run);
	/* The wake word is what a halted vCPU sleeps on: the bit must land. */
	sigbus_set_vcpu_ring(ring, run, &wake, 4);

	assert_int_equal(send_sigbus(BUS_MCEERR_AR, (char *)ADDR_AR + 0x123, 12), 0);
	assert_int_equal(run->immediate_exit, 1);
	assert_int_equal(atomic_load(&wake), 5);
	assert_true(ring_spsc_pop(ring, &ev));
	assert_int_equal(ev.kind, MCE_EVENT_AR);
	assert_ptr_equal(ev.addr, (char *)ADDR_AR + 0x123);
	assert_int_equal(ev.lsb, 12);
	assert_true(ev.seq > 0);
	seq = ev.seq;
	assert_false(ring_spsc_pop(ring, &ev));

	/* An AO on a vCPU thread is this vCPU's too; seq keeps counting. */
	run->immediate_exit = 0;
	assert_int_equal(send_sigbus(BUS_MCEERR_AO, ADDR_AO, 21), 0);
	assert_int_equal(run->immediate_exit, 1);
	assert_true(ring_spsc_pop(ring, &ev));
	assert_int_equal(ev.kind, MCE_EVENT_AO);
	assert_ptr_equal(ev.addr, ADDR_AO);
	assert_int_equal(ev.lsb, 21);
	assert_true(ev.seq > seq);
	assert_int_equal(ring_spsc_overflows(ring), 0);

	sigbus_set_vcpu_ring(NULL, NULL, NULL, 0);
	free(ring);
	free(run);
}

static void test_vcpu_ring_overflow(void **state)
{
	struct ring_spsc *ring = calloc(1, sizeof(*ring));
	struct kvm_run *run = calloc(1, sizeof(*run));
	struct mce_event ev;
	uint64_t last_seq = 0;

	(void)state;
	if (!fx_signal_deliverable()) {
		free(ring);
		free(run);
		skip();
	}
	install();
	assert_non_null(ring);
	assert_non_null(run);
	sigbus_set_vcpu_ring(ring, run, NULL, 0);
	for (unsigned long i = 0; i < 70; i++)
		assert_int_equal(send_sigbus(BUS_MCEERR_AR, (char *)ADDR_AR + (i << 12), 12), 0);
	sigbus_set_vcpu_ring(NULL, NULL, NULL, 0);

	assert_int_equal(run->immediate_exit, 1);
	assert_int_equal(ring_spsc_overflows(ring), 6);
	for (unsigned long i = 0; i < RING_SIZE; i++) {
		assert_true(ring_spsc_pop(ring, &ev));
		assert_int_equal(ev.kind, MCE_EVENT_AR);
		assert_ptr_equal(ev.addr, (char *)ADDR_AR + (i << 12));
		assert_true(ev.seq > last_seq);
		last_seq = ev.seq;
	}
	assert_false(ring_spsc_pop(ring, &ev));
	free(ring);
	free(run);
}

/* ---- on other threads ---- */

struct sender {
	int code;
	void *addr;
	short lsb;
	int ret;
	int err;
};

static void *sender_thread(void *arg)
{
	struct sender *s = arg;

	s->ret = send_sigbus(s->code, s->addr, s->lsb);
	s->err = errno;
	return NULL;
}

static void test_ao_other_thread_to_process(void **state)
{
	struct ring_spsc *vring = calloc(1, sizeof(*vring));
	struct ring_mpsc *pring = calloc(1, sizeof(*pring));
	struct kvm_run *run = calloc(1, sizeof(*run));
	struct sender s = { .code = BUS_MCEERR_AO, .addr = ADDR_AO, .lsb = 12 };
	struct mce_event ev;
	unsigned long unrouted = sigbus_unrouted();
	uint64_t val = 0;
	pthread_t t;
	int efd;

	(void)state;
	if (!fx_signal_deliverable()) {
		free(vring);
		free(pring);
		free(run);
		skip();
	}
	install();
	assert_non_null(vring);
	assert_non_null(pring);
	assert_non_null(run);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(efd >= 0);
	/* This thread is a vCPU; the sender is not: the AO must not come here. */
	sigbus_set_vcpu_ring(vring, run, NULL, 0);
	sigbus_set_process(pring, efd);
	assert_int_equal(pthread_create(&t, NULL, sender_thread, &s), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(s.ret, 0);

	assert_int_equal(read(efd, &val, sizeof(val)), sizeof(val));
	assert_int_equal(val, 1);
	assert_true(ring_mpsc_pop(pring, &ev));
	assert_int_equal(ev.kind, MCE_EVENT_AO);
	assert_ptr_equal(ev.addr, ADDR_AO);
	assert_int_equal(ev.lsb, 12);
	assert_true(ev.seq > 0);
	assert_false(ring_mpsc_pop(pring, &ev));
	assert_int_equal(read(efd, &val, sizeof(val)), -1);
	assert_int_equal(errno, EAGAIN);
	assert_false(ring_spsc_pop(vring, &ev));
	assert_int_equal(run->immediate_exit, 0);
	assert_int_equal(sigbus_unrouted(), unrouted);

	sigbus_set_process(NULL, -1);
	sigbus_set_vcpu_ring(NULL, NULL, NULL, 0);
	close(efd);
	free(vring);
	free(pring);
	free(run);
}

static void test_ao_handler_keeps_errno(void **state)
{
	struct ring_mpsc *pring = calloc(1, sizeof(*pring));
	struct mce_event ev;
	int fd;

	(void)state;
	if (!fx_signal_deliverable()) {
		free(pring);
		skip();
	}
	install();
	assert_non_null(pring);
	/* The handler's write to this "eventfd" fails with EBADF. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	sigbus_set_process(pring, fd);
	errno = EXDEV;
	assert_int_equal(send_sigbus(BUS_MCEERR_AO, ADDR_AO, 12), 0);
	assert_int_equal(errno, EXDEV);
	sigbus_set_process(NULL, -1);
	assert_true(ring_mpsc_pop(pring, &ev));
	assert_ptr_equal(ev.addr, ADDR_AO);
	close(fd);
	free(pring);
}

/* Runs fn with stderr going into a pipe; returns what was written. */
static void capture_stderr(void (*fn)(void), char *buf, size_t len)
{
	int pfd[2], saved;
	ssize_t n;

	assert_int_equal(pipe2(pfd, O_CLOEXEC | O_NONBLOCK), 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(pfd[1], STDERR_FILENO), STDERR_FILENO);
	fn();
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(pfd[1]);
	n = read(pfd[0], buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
}

static void send_ao(void)
{
	assert_int_equal(send_sigbus(BUS_MCEERR_AO, ADDR_AO, 12), 0);
}

static void test_ao_without_vm_is_counted(void **state)
{
	unsigned long before = sigbus_unrouted();
	char msg[256];

	(void)state;
	if (!fx_signal_deliverable())
		skip();
	install();
	sigbus_set_process(NULL, -1);
	capture_stderr(send_ao, msg, sizeof(msg));
	/* Still here, counted, and said so. */
	assert_int_equal(sigbus_unrouted(), before + 1);
	assert_non_null(strstr(msg, "BUS_MCEERR_AO"));
	assert_non_null(strstr(msg, "0x7f00abcde000"));
	assert_non_null(strstr(msg, "lsb 12"));
	capture_stderr(send_ao, msg, sizeof(msg));
	assert_int_equal(sigbus_unrouted(), before + 2);
}

/* ---- fatal ---- */

struct death {
	int status;
	char err[512];
};

/* Forks; the child runs fn with stderr into a pipe; returns how it ended. */
static void run_child(void (*fn)(void), struct death *d)
{
	struct rlimit no_core = { 0, 0 };
	size_t len = 0;
	int pfd[2];
	ssize_t n;
	pid_t pid;

	fflush(NULL);
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], STDERR_FILENO);
		/* Dying of SIGBUS is the point: leave no core behind. */
		setrlimit(RLIMIT_CORE, &no_core);
		prctl(PR_SET_DUMPABLE, 0);
		fn();
		_exit(0);
	}
	close(pfd[1]);
	while (len < sizeof(d->err) - 1 &&
	       (n = read(pfd[0], d->err + len, sizeof(d->err) - 1 - len)) > 0)
		len += n;
	d->err[len] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &d->status, 0), pid);
}

static struct ring_mpsc child_ring;
static struct ring_spsc child_vring;
static struct kvm_run child_run;

static void child_ar_not_vcpu(void)
{
	/* A VM is running; still, an AR outside a vCPU is mcefwd's own. */
	sigbus_set_vcpu_ring(NULL, NULL, NULL, 0);
	sigbus_set_process(&child_ring, -1);
	send_sigbus(BUS_MCEERR_AR, (char *)ADDR_AR + 0x40, 12);
}

static void test_ar_not_vcpu_kills(void **state)
{
	struct death d;

	(void)state;
	if (!fx_signal_deliverable())
		skip();
	install();
	run_child(child_ar_not_vcpu, &d);
	assert_true(WIFSIGNALED(d.status));
	assert_int_equal(WTERMSIG(d.status), SIGBUS);
	assert_non_null(strstr(d.err, "BUS_MCEERR_AR"));
	assert_non_null(strstr(d.err, "0x7f0012345040"));
	assert_non_null(strstr(d.err, "lsb 12"));
	assert_non_null(strchr(d.err, '\n'));
}

static void child_adrerr_on_vcpu(void)
{
	/* Not a memory error: fatal even where a ring would take it. */
	sigbus_set_vcpu_ring(&child_vring, &child_run, NULL, 0);
	send_sigbus(BUS_ADRERR, ADDR_AR, 0);
}

static void test_other_code_kills(void **state)
{
	struct death d;

	(void)state;
	if (!fx_signal_deliverable())
		skip();
	install();
	run_child(child_adrerr_on_vcpu, &d);
	assert_true(WIFSIGNALED(d.status));
	assert_int_equal(WTERMSIG(d.status), SIGBUS);
	assert_string_equal(d.err, "");
}

static void child_sigqueue(void)
{
	union sigval v = { .sival_int = 0 };

	sigbus_set_process(&child_ring, -1);
	sigqueue(getpid(), SIGBUS, v);
}

static void test_user_sigbus_kills(void **state)
{
	struct death d;

	(void)state;
	if (fx_under_valgrind()) {
		/* It routes it "via queue" to the process and never delivers it. */
		print_message("skip: valgrind never delivers a sigqueue'd SIGBUS\n");
		skip();
	}
	install();
	run_child(child_sigqueue, &d);
	assert_true(WIFSIGNALED(d.status));
	assert_int_equal(WTERMSIG(d.status), SIGBUS);
	assert_null(strstr(d.err, "mcefwd:"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_install_idempotent),
		cmocka_unit_test(test_vcpu_ar_to_ring),
		cmocka_unit_test(test_vcpu_ring_overflow),
		cmocka_unit_test(test_ao_other_thread_to_process),
		cmocka_unit_test(test_ao_handler_keeps_errno),
		cmocka_unit_test(test_ao_without_vm_is_counted),
		cmocka_unit_test(test_ar_not_vcpu_kills),
		cmocka_unit_test(test_other_code_kills),
		cmocka_unit_test(test_user_sigbus_kills),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
