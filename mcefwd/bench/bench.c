// SPDX-License-Identifier: GPL-2.0-only
/*
 * `mcefwd bench`: the command line, the table of benchmarks, and what they
 * share (clocks, VMs made the way every benchmark wants them).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "guest-payloads/bench/bench-abi.h"
#include "mcefwd/bench/bench.h"
#include "mcefwd/util/ktap.h"
#include "mcefwd/mce/encode.h"
#include "mcefwd/bench/bench_payload.h"
#include "mcefwd/vmm/vcpu.h"

static const char bench_usage[] =
"usage: mcefwd bench [NAME...] [--json] [--rounds N] [--quick] [--on WHERE]\n"
"                    [--kernel K [--modules DIR]]\n"
"\n"
"Measures mcefwd on this host, side by side in one run, and prints median,\n"
"p99 and spread over repeated rounds in nanoseconds (host clock) and guest TSC\n"
"cycles, with the ratios docs/performance.md sets targets for.\n"
"\n"
"Benchmarks (default: all, in this order):\n"
"  exit      userspace PIO exit round trip through mcefwd's run loop, divided\n"
"            by a bare KVM_RUN loop on the same guest loop (the physical limit)\n"
"  kick      kick to out-of-KVM_RUN latency, immediate_exit and\n"
"            KVM_SET_SIGNAL_MASK, 1, 2, 16 and 64 spinning vCPUs\n"
"  forward   SIGBUS arrival to the first instruction of the guest #MC\n"
"            handler, split into the host share and the guest share\n"
"  storm     machine-check events forwarded per second through one VM, and\n"
"            the events lost (the signal method: the vCPU signals itself)\n"
"  pause     kick-all-and-wait (vm_pause_all) latency against vCPU count\n"
"  startup   'mcefwd run hello' process start to exit; peak RSS with 1 GiB\n"
"  qemu      the same exit loop as a PVH kernel in QEMU microvm (-accel kvm),\n"
"            cycles per exit measured in the guest the same way; QEMU's start\n"
"            and quit time and peak RSS beside ours (needs qemu-system-x86_64)\n"
"\n"
"Options:\n"
"      --json       one JSON document on stdout instead of tables\n"
"      --rounds N   rounds (samples) per measured series, instead of each\n"
"                   benchmark's own (1 to 4096)\n"
"      --quick      a few rounds each: seconds, for a smoke test\n"
"      --on WHERE   host: this host's /dev/kvm; lab: inside the lab ('mcefwd lab\n"
"                   --help'), where figures are of software emulation, so only\n"
"                   the ratios mean anything; auto (default): the host's KVM if\n"
"                   it is usable, else the lab\n"
"      --kernel K   the lab's kernel (and so the lab): 6.1, 6.12, FILE.deb, or\n"
"                   BZIMAGE with --modules DIR ('mcefwd lab --help')\n"
"  -h, --help       this text\n"
"\n"
"Targets are reported as met or MISSED; they never fail the run.\n"
"Exit status: 0 ran, 1 a benchmark failed, 2 usage error, 4 all skipped.\n"
"\n"
"Examples:\n"
"  mcefwd bench                  everything, as tables (about three minutes here)\n"
"  mcefwd bench --json > bench.json\n"
"  mcefwd bench exit kick --rounds 200\n"
"  mcefwd bench --quick --json   the smoke make check runs\n";

struct bench_entry {
	const char *name;
	int (*run)(struct bench_ctx *c, struct bench_result *r);
	bool needs_kvm;
};

static const struct bench_entry bench_table[] = {
	{ "exit", bench_exit_run, true },
	{ "kick", bench_kick_run, true },
	{ "forward", bench_forward_run, true },
	{ "storm", bench_storm_run, true },
	{ "pause", bench_pause_run, true },
	{ "startup", bench_startup_run, false },
	{ "qemu", bench_qemu_run, true },
};

#define BENCH_COUNT (sizeof(bench_table) / sizeof(bench_table[0]))
_Static_assert(BENCH_COUNT <= BENCH_MAX, "struct bench_args holds BENCH_MAX benchmarks");

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t bench_tsc(void)
{
	return __rdtsc();
}

double bench_ns_to_cycles(const struct bench_ctx *c, double ns)
{
	return ns * c->tsc_khz / 1e6;
}

double bench_cycles_to_ns(const struct bench_ctx *c, double cycles)
{
	return c->tsc_khz > 0 ? cycles * 1e6 / c->tsc_khz : 0;
}

unsigned int bench_rounds(const struct bench_ctx *c, unsigned int full, unsigned int quick)
{
	if (c->rounds)
		return c->rounds;
	return c->quick ? quick : full;
}

int bench_vm_create(struct bench_ctx *c, struct vm *vm, const char *payload,
		    unsigned int nr, enum kick_mode kick, const struct vm_ops *ops)
{
	struct vm_config cfg = {
		/* The stacks of 64 vCPUs end at 5 MiB. */
		.ram_size = 16UL << 20, .mem_kind = MEM_ANON, .nr_vcpus = nr,
		.mcg_cap = mce_default_mcg_cap(), .kick = kick, .numa_node = -1,
		.fwd = { .profile = MCE_PROFILE_DEFAULT, .bank = MCE_QEMU_BANK },
	};
	struct payload p;
	int r, khz;

	r = bench_payload_get(payload, &p);
	if (r < 0)
		return r;
	r = vm_create(vm, c->kvm, &cfg);
	if (r < 0)
		return r;
	vm->diag.out = c->null;
	vm->ops = ops;
	r = vm_load(vm, p.image, p.image_len);
	if (r < 0) {
		vm_destroy(vm);
		return r;
	}
	if (!c->tsc_khz) {
		khz = ioctl(vm->vcpus[0]->fd, KVM_GET_TSC_KHZ, NULL);
		if (khz > 0)
			c->tsc_khz = khz;
	}
	return 0;
}

struct bench_params *bench_vm_params(struct vm *vm)
{
	return mem_gpa_to_hva(&vm->mem, BENCH_GPA_PARAMS, sizeof(struct bench_params));
}

struct bench_results *bench_vm_results(struct vm *vm)
{
	return mem_gpa_to_hva(&vm->mem, BENCH_GPA_RESULTS, sizeof(struct bench_results));
}

int bench_vm_run(struct vm *vm, long timeout_ms)
{
	int r = vm_start(vm);

	if (r < 0) {
		vm_stop_and_join(vm);
		return r;
	}
	return bench_vm_finish(vm, timeout_ms);
}

int bench_vm_finish(struct vm *vm, long timeout_ms)
{
	enum vm_wait_result w;

	w = vm_wait(vm, timeout_ms);
	vm_stop_and_join(vm);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		const struct vcpu *v = vm->vcpus[i];

		if (v->res.outcome == VCPU_EXITED && !v->res.exit_code)
			continue;
		if (w == VM_WAIT_TIMEOUT && v->res.outcome == VCPU_STOPPED)
			return error_set(ETIMEDOUT, "vcpu-%u did not finish within %ld ms", i,
					 timeout_ms);
		if (v->res.outcome == VCPU_EXITED)
			return error_set(EPROTO, "vcpu-%u exited with code %u", i,
					 v->res.exit_code);
		return error_set(EIO, "vcpu-%u %s%s%s", i, vcpu_outcome_name(v->res.outcome),
				 v->res.error[0] ? ": " : "", v->res.error);
	}
	return 0;
}

static int bench_usage_error(const char *fmt, const char *arg)
{
	fputs("mcefwd bench: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\n", stderr);
	fputs(bench_usage, stderr);
	return KSFT_USAGE;
}

/* The 1-minute load average: the figures of a busy host are a busy host's. */
static double bench_loadavg(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double v = -1;

	if (f) {
		if (fscanf(f, "%lf", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void bench_host_info(const struct bench_ctx *c, struct bench_host *h, double load0)
{
	struct utsname u;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(h, 0, sizeof(*h));
	h->load[0] = load0;
	h->load[1] = bench_loadavg();
	if (uname(&u) == 0)
		snprintf(h->kernel, sizeof(h->kernel), "%s", u.release);
	h->cpus = n > 0 ? (unsigned int)n : 0;
	h->tsc_khz = c->tsc_khz;
	h->quick = c->quick;
	h->rounds = c->rounds;
	snprintf(h->qemu, sizeof(h->qemu), "%s", c->qemu_version);
}

int bench_parse(int argc, char **argv, struct bench_args *a)
{
	const char *kernel_arg = NULL, *modules_arg = NULL;

	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		char *end;
		unsigned long v;
		size_t k;

		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			a->help = true;
		} else if (!strcmp(arg, "--json")) {
			a->json = true;
		} else if (!strcmp(arg, "--quick")) {
			a->quick = true;
		} else if (!strcmp(arg, "--on") || !strncmp(arg, "--on=", 5)) {
			const char *val = arg[4] == '=' ? arg + 5 : (i + 1 < argc ? argv[++i] : NULL);

			if (!val)
				return bench_usage_error("--on needs a value", "");
			if (where_parse(val, &a->on))
				return bench_usage_error("invalid --on '%s': host, lab or auto", val);
			a->on_set = true;
		} else if (!strcmp(arg, "--kernel") || !strncmp(arg, "--kernel=", 9) ||
			   !strcmp(arg, "--modules") || !strncmp(arg, "--modules=", 10)) {
			bool modules = arg[2] == 'm';
			size_t n = modules ? 9 : 8;
			const char *val = arg[n] == '=' ? arg + n + 1 :
					  i + 1 < argc ? argv[++i] : NULL;

			if (!val)
				return bench_usage_error("%s needs a value", modules ? "--modules" : "--kernel");
			*(modules ? &modules_arg : &kernel_arg) = val;
		} else if (!strcmp(arg, "--rounds") || !strncmp(arg, "--rounds=", 9)) {
			const char *val = arg[8] == '=' ? arg + 9 : (i + 1 < argc ? argv[++i] : NULL);

			if (!val)
				return bench_usage_error("--rounds needs a value", "");
			errno = 0;
			v = strtoul(val, &end, 10);
			if (errno || *end || !*val || v < 1 || v > BENCH_MAX_SAMPLES)
				return bench_usage_error("invalid --rounds '%s': 1 to 4096", val);
			a->rounds = (unsigned int)v;
		} else if (arg[0] == '-') {
			return bench_usage_error("unknown option '%s'", arg);
		} else {
			for (k = 0; k < BENCH_COUNT && strcmp(bench_table[k].name, arg); k++)
				;
			if (k == BENCH_COUNT)
				return bench_usage_error("no benchmark named '%s'", arg);
			a->want[k] = a->any = true;
		}
	}
	/* As for run: --kernel picks the lab's kernel, and so the lab. */
	if (!kernel_arg && !modules_arg)
		return 0;
	if (kernel_arg_parse(kernel_arg, modules_arg, &a->kernel) < 0)
		return bench_usage_error("%s", error_get());
	if (a->on == WHERE_HOST)
		return bench_usage_error("--kernel %s picks the lab's kernel: it cannot go with --on=host",
					 kernel_arg);
	a->on = WHERE_LAB;
	return 0;
}

int bench_main(int argc, char **argv, const char *where)
{
	struct bench_args a;
	bool *want = a.want, json, isatty_err;
	struct bench_result *res;
	struct bench_host host;
	struct bench_ctx c;
	struct kvm kvm;
	unsigned int nr = 0, ok = 0, failed = 0;
	uint64_t t0;
	double load0;
	ssize_t len;

	if (bench_parse(argc, argv, &a))
		return KSFT_USAGE;
	if (a.help) {
		fputs(bench_usage, stdout);
		return 0;
	}
	json = a.json;
	memset(&c, 0, sizeof(c));
	c.quick = a.quick;
	c.rounds = a.rounds;
	if (!a.any)
		for (size_t k = 0; k < BENCH_COUNT; k++)
			want[k] = true;

	res = calloc(BENCH_COUNT, sizeof(*res));
	c.null = fopen("/dev/null", "w");
	if (!res || !c.null) {
		fprintf(stderr, "mcefwd bench: %s\n", res ? "cannot open /dev/null" : "out of memory");
		free(res);
		if (c.null)
			fclose(c.null);
		return KSFT_FAIL;
	}
	len = readlink("/proc/self/exe", c.exe, sizeof(c.exe) - 1);
	c.exe[len > 0 ? len : 0] = '\0';
	if (kvm_open(&kvm) == 0) {
		struct vm vm;

		c.kvm = &kvm;
		/* The guest TSC rate, for every benchmark's cycles. */
		if (bench_vm_create(&c, &vm, "bench-exit", 1, KICK_IMMEDIATE, NULL) == 0)
			vm_destroy(&vm);
	} else {
		snprintf(c.kvm_err, sizeof(c.kvm_err), "%s", error_get());
	}
	isatty_err = isatty(STDERR_FILENO);
	load0 = bench_loadavg();
	if (!json)
		printf("on: %s\n", where);

	t0 = bench_now_ns();
	for (size_t k = 0; k < BENCH_COUNT; k++) {
		struct bench_result *r = &res[nr];
		uint64_t t;

		if (!want[k])
			continue;
		nr++;
		r->name = bench_table[k].name;
		if (isatty_err && json)
			fprintf(stderr, "# %s...\n", r->name);
		t = bench_now_ns();
		if (bench_table[k].needs_kvm && !c.kvm) {
			r->status = BENCH_SKIP;
			snprintf(r->reason, sizeof(r->reason), "%s", c.kvm_err);
		} else if (bench_table[k].run(&c, r) < 0 && r->status != BENCH_FAIL) {
			r->status = BENCH_FAIL;
			snprintf(r->reason, sizeof(r->reason), "%s", error_get());
		}
		r->seconds = (double)(bench_now_ns() - t) / 1e9;
		ok += r->status == BENCH_OK;
		failed += r->status == BENCH_FAIL;
		if (!json) {
			bench_print_text(stdout, r);
			fflush(stdout);
		}
	}
	bench_host_info(&c, &host, load0);
	snprintf(host.where, sizeof(host.where), "%s", where);
	if (json)
		bench_print_json(stdout, &host, res, nr, (double)(bench_now_ns() - t0) / 1e9);
	else
		printf("%u ran, %u failed, %u skipped in %.1f s (load average %.2f, then %.2f)\n", ok,
		       failed, nr - ok - failed, (double)(bench_now_ns() - t0) / 1e9, host.load[0],
		       host.load[1]);
	fflush(stdout);
	if (c.kvm)
		kvm_close(c.kvm);
	fclose(c.null);
	free(res);
	if (failed)
		return KSFT_FAIL;
	return ok ? KSFT_PASS : KSFT_SKIP;
}
