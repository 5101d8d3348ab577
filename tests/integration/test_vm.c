// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-process tests on real /dev/kvm: kick-all-and-wait against running,
 * halted and finished vCPUs, with both kick strategies, and stopping.
 * Skips, saying why, where /dev/kvm cannot be opened.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <cmocka.h>

#include "mcefwd/util/error.h"
#include "mcefwd/mce/forward.h"
#include "mcefwd/vmm/kick.h"
#include "mcefwd/mce/encode.h"
#include "mcefwd/vmm/payload.h"
#include "mcefwd/mce/ring.h"
#include "mcefwd/vmm/vcpu.h"
#include "mcefwd/vmm/vm.h"
#include "tests/integration/procself.h"
#include "tests/unit/fixture.h"
#include "tests/lib/test_payload.h"

static struct kvm kvm;
static bool have_kvm;
static char kvm_why[ERROR_MAX];

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static void start_vm(struct vm *vm, const char *payload, unsigned int nr,
		     enum kick_mode kick)
{
	struct vm_config cfg = {
		.ram_size = 16UL << 20, .mem_kind = MEM_ANON, .nr_vcpus = nr,
		.mcg_cap = mce_default_mcg_cap(), .kick = kick, .numa_node = -1,
	};
	struct payload p;

	assert_int_equal(test_payload_get(payload, &p), 0);
	if (vm_create(vm, &kvm, &cfg) < 0)
		fail_msg("vm_create: %s", error_get());
	if (vm_load(vm, p.image, p.image_len) < 0)
		fail_msg("vm_load: %s", error_get());
	assert_int_equal(vm_start(vm), 0);
}

static unsigned int paused_count(struct vm *vm)
{
	unsigned int n = 0;

	pthread_mutex_lock(&vm->lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		n += vm->vcpus[i]->paused;
	pthread_mutex_unlock(&vm->lock);
	return n;
}

/* Every round, every vCPU must be parked when vm_pause_all returns. */
/*
 * TSan runs a signal handler only when the interrupted libc call returns:
 * SIG_IPI between the last look at the requests and KVM_RUN then sets
 * immediate_exit after KVM_RUN, not before, and a spinning guest keeps the
 * vCPU for ever (seen: test_pause_stress_64_immediate hung on a loaded
 * host). TSan's doing, not mcefwd's, as tests/stress/run.sh says of the
 * kick race: that one case is skipped there.
 */
static void skip_tsan_spin_immediate(const char *payload, enum kick_mode kick)
{
#if defined(__SANITIZE_THREAD__)
	if (kick == KICK_IMMEDIATE && !strcmp(payload, "spin")) {
		print_message("# SKIP TSan defers signal handlers past KVM_RUN entry\n");
		skip();
	}
#else
	(void)payload;
	(void)kick;
#endif
}

static void pause_rounds(const char *payload, unsigned int nr, enum kick_mode kick)
{
	int fds = count_fds(), threads = procself_vcpu_threads();
	struct vm vm;

	if (!have_kvm) {
		print_message("# SKIP %s\n", kvm_why);
		skip();
	}
	skip_tsan_spin_immediate(payload, kick);
	start_vm(&vm, payload, nr, kick);
	for (unsigned int round = 1; round <= 20; round++) {
		vm_pause_all(&vm);
		assert_int_equal(paused_count(&vm), nr);
		for (unsigned int i = 0; i < nr; i++)
			assert_int_equal(vm.vcpus[i]->pauses, round);
		vm_resume_all(&vm);
	}
	assert_int_equal(atomic_load(&vm.nr_running), nr);
	vm_stop_and_join(&vm);
	for (unsigned int i = 0; i < nr; i++) {
		assert_int_equal(vm.vcpus[i]->res.outcome, VCPU_STOPPED);
		assert_false(vm.vcpus[i]->paused);
	}
	assert_int_equal(atomic_load(&vm.nr_running), 0);
	vm_destroy(&vm);
	/* Nothing left behind: no vCPU thread, no fd. */
	assert_int_equal(procself_vcpu_threads(), threads);
	assert_int_equal(count_fds(), fds);
}

static void test_pause_running_immediate(void **state)
{
	(void)state;
	pause_rounds("spin", 4, KICK_IMMEDIATE);
}

static void test_pause_running_sigmask(void **state)
{
	(void)state;
	pause_rounds("spin", 4, KICK_SIGMASK);
}

static void test_pause_halted_immediate(void **state)
{
	(void)state;
	pause_rounds("idle", 3, KICK_IMMEDIATE);
}

static void test_pause_halted_sigmask(void **state)
{
	(void)state;
	pause_rounds("idle", 3, KICK_SIGMASK);
}

/*
 * 64 vCPUs on a 2-core host, both kick strategies: every vm_pause_all must
 * park every vCPU (each counts the pause). At least 10 rounds, more while
 * 3 s last (the count is reported, not judged: speed is the benchmarks'
 * business). Under valgrind, whose point is memcheck of the pause paths
 * (the native run has the stress), 8 vCPUs and 2 rounds: in the lab it is
 * about 200 times slower than here. alarm() turns a hang into a failure.
 */
static void pause_stress(enum kick_mode kick)
{
	struct timespec t0, t1;
	bool vg = fx_under_valgrind();
	unsigned int rounds = 0, min_rounds = vg ? 2 : 10, n = vg ? 8 : 64;
	struct vm vm;

	if (!have_kvm) {
		print_message("# SKIP %s\n", kvm_why);
		skip();
	}
	skip_tsan_spin_immediate("spin", kick);
	alarm(900);
	start_vm(&vm, "spin", n, kick);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		vm_pause_all(&vm);
		rounds++;
		assert_int_equal(paused_count(&vm), n);
		for (unsigned int i = 0; i < n; i++)
			assert_int_equal(vm.vcpus[i]->pauses, rounds);
		vm_resume_all(&vm);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (rounds < min_rounds || (rounds < 500 && t1.tv_sec - t0.tv_sec < 3));
	print_message("# %u pause/resume rounds of %u vCPUs, kick=%s\n", rounds, n,
		      kick_mode_name(kick));
	vm_stop_and_join(&vm);
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(vm.vcpus[i]->res.outcome, VCPU_STOPPED);
	vm_destroy(&vm);
	alarm(0);
}

static void test_pause_stress_64_immediate(void **state)
{
	(void)state;
	pause_stress(KICK_IMMEDIATE);
}

static void test_pause_stress_64_sigmask(void **state)
{
	(void)state;
	pause_stress(KICK_SIGMASK);
}

/* Finished vCPUs count as parked: the pause must not wait for them. */
static void test_pause_after_finish(void **state)
{
	struct vm vm;

	(void)state;
	if (!have_kvm) {
		print_message("# SKIP %s\n", kvm_why);
		skip();
	}
	start_vm(&vm, "smp", 2, KICK_IMMEDIATE);
	assert_int_equal(vm_wait(&vm, 30000), VM_WAIT_DONE);
	vm_pause_all(&vm);
	vm_resume_all(&vm);
	for (unsigned int i = 0; i < 2; i++) {
		assert_int_equal(vm.vcpus[i]->res.outcome, VCPU_EXITED);
		assert_int_equal(vm.vcpus[i]->pauses, 0);
	}
	vm_destroy(&vm);
}

/* A stop reaches a vCPU that is parked, not just one in KVM_RUN. */
static void test_stop_while_paused(void **state)
{
	struct vm vm;

	(void)state;
	if (!have_kvm) {
		print_message("# SKIP %s\n", kvm_why);
		skip();
	}
	start_vm(&vm, "spin", 2, KICK_IMMEDIATE);
	vm_pause_all(&vm);
	vm_stop_and_join(&vm);
	for (unsigned int i = 0; i < 2; i++)
		assert_int_equal(vm.vcpus[i]->res.outcome, VCPU_STOPPED);
	vm_resume_all(&vm);
	vm_destroy(&vm);
}

/* A running VM whose diagnostics go to a temporary file, for diag_has(). */
static bool start_vm_diag(struct vm *vm, const char *payload, unsigned int nr)
{
	if (!have_kvm) {
		print_message("# SKIP %s\n", kvm_why);
		return false;
	}
	start_vm(vm, payload, nr, KICK_IMMEDIATE);
	vm->diag.out = tmpfile();
	assert_non_null(vm->diag.out);
	return true;
}

/* Whether a line of the VM's diagnostics holds text. */
static bool diag_has(struct vm *vm, const char *text)
{
	char line[512];

	rewind(vm->diag.out);
	while (fgets(line, sizeof(line), vm->diag.out))
		if (strstr(line, text))
			return true;
	return false;
}

static void destroy_vm_diag(struct vm *vm)
{
	fclose(vm->diag.out);
	vm->diag.out = stdout;
	vm_destroy(vm);
}

/*
 * Events still waiting for a vCPU when it stops are counted and reported,
 * never dropped unsaid: an AO and a broadcast left in its inbox during a
 * pause, two broadcasts owed by fan-out, then a stop, which it honours
 * before serving anything. The notices beside them inject nothing and are
 * not counted.
 */
static void test_stop_reports_undelivered(void **state)
{
	const struct mce_event evs[] = {
		{ .kind = MCE_EVENT_AO, .origin = MCE_ORIGIN_MAIN, .fanout = true, .lsb = 12, .addr = (void *)0x1000 },
		{ .kind = MCE_EVENT_BROADCAST, .origin = MCE_ORIGIN_FANOUT, .addr = (void *)0x2000 },
		{ .kind = MCE_EVENT_NOTICE, .origin = MCE_ORIGIN_FANOUT, .addr = (void *)0x3000 },
	};
	struct vm vm;

	(void)state;
	if (!start_vm_diag(&vm, "spin", 2))
		skip();
	vm_pause_all(&vm);
	for (unsigned int i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		assert_true(ring_mpsc_push(&vm.vcpus[1]->fwd.inbox, &evs[i]));
	atomic_fetch_add(&vm.vcpus[1]->fwd.fanout_bcast, 2);
	atomic_fetch_add(&vm.vcpus[1]->fwd.fanout_notice, 1);
	kick(vm.vcpus[1], VCPU_REQ_WORK);
	vm_stop_and_join(&vm);
	assert_int_equal(vm.vcpus[1]->res.outcome, VCPU_STOPPED);
	assert_int_equal(vm.vcpus[1]->fwd.delivered, 0);
	assert_int_equal(atomic_load(&vm.fwd.undeliverable), 4);
	assert_true(diag_has(&vm, "vcpu-1: 4 event(s) cannot be delivered (the first at 0x1000, and broadcasts): its vCPU has finished"));
	/* vcpu-0 had nothing waiting: nothing said of it. */
	assert_false(diag_has(&vm, "vcpu-0: "));
	destroy_vm_diag(&vm);
}

/* A reset discards what is pending for a vCPU, and says how much. */
static void test_reset_reports_discarded(void **state)
{
	const struct mce_event evs[] = {
		{ .kind = MCE_EVENT_AO, .origin = MCE_ORIGIN_MAIN, .fanout = true, .lsb = 12, .addr = (void *)0x1000 },
		{ .kind = MCE_EVENT_NOTICE, .origin = MCE_ORIGIN_FANOUT, .addr = (void *)0x3000 },
	};
	struct vm vm;

	(void)state;
	if (!start_vm_diag(&vm, "spin", 2))
		skip();
	/* In its guest, which never exits on its own: it will not look at its inbox. */
	for (int i = 0; i < 5000 && !atomic_load(&vm.vcpus[1]->in_run); i++)
		usleep(1000);
	assert_true(atomic_load(&vm.vcpus[1]->in_run));
	for (unsigned int i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		assert_true(ring_mpsc_push(&vm.vcpus[1]->fwd.inbox, &evs[i]));
	/* The pause takes the vCPU straight to its park: nothing is served. */
	assert_int_equal(vm_reset(&vm), 0);
	assert_int_equal(atomic_load(&vm.fwd.undeliverable), 1);
	vm_stop_and_join(&vm);
	assert_int_equal(vm.vcpus[1]->fwd.delivered, 0);
	assert_true(diag_has(&vm, "vcpu-1: 1 event(s) cannot be delivered (the first at 0x1000): a reset discards what is pending"));
	destroy_vm_diag(&vm);
}

/* A vCPU that asks for an unsupported MCG_CAP is refused before any thread. */
static void test_bad_mcg_cap_refused(void **state)
{
	struct vm_config cfg = {
		.ram_size = 16UL << 20, .nr_vcpus = 1,
		.mcg_cap = mce_default_mcg_cap() | (1ULL << 27), .kick = KICK_IMMEDIATE, .numa_node = -1,
	};
	struct vm vm;

	(void)state;
	if (!have_kvm) {
		print_message("# SKIP %s\n", kvm_why);
		skip();
	}
	if (kvm.caps.mcg_cap_supported & (1ULL << 27)) {
		print_message("# SKIP this host's KVM supports MCG_LMCE_P\n");
		skip();
	}
	assert_int_not_equal(vm_create(&vm, &kvm, &cfg), 0);
	assert_non_null(strstr(error_get(), "MCG_LMCE_P"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pause_running_immediate),
		cmocka_unit_test(test_pause_running_sigmask),
		cmocka_unit_test(test_pause_halted_immediate),
		cmocka_unit_test(test_pause_halted_sigmask),
		cmocka_unit_test(test_pause_after_finish),
		cmocka_unit_test(test_stop_while_paused),
		cmocka_unit_test(test_stop_reports_undelivered),
		cmocka_unit_test(test_reset_reports_discarded),
		cmocka_unit_test(test_pause_stress_64_immediate),
		cmocka_unit_test(test_pause_stress_64_sigmask),
		cmocka_unit_test(test_bad_mcg_cap_refused),
	};
	int r;

	have_kvm = kvm_open(&kvm) == 0;
	if (!have_kvm)
		snprintf(kvm_why, sizeof(kvm_why), "%s", error_get());
	r = cmocka_run_group_tests(tests, NULL, NULL);
	if (have_kvm)
		kvm_close(&kvm);
	return r;
}
