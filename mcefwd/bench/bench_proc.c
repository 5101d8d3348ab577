// SPDX-License-Identifier: GPL-2.0-only
/*
 * startup (and, in bench_qemu.c, qemu): whole processes, timed from fork
 * to wait4 and with their peak RSS from wait4's rusage.
 *
 * startup: `mcefwd run hello` (this very binary), with the default and
 * with 1 GiB of guest RAM, and `mcefwd --version` for the floor: what any
 * exec of this binary costs and the RSS a child of this process starts with.
 * qemu: the bench-exit payload wrapped as a PVH kernel and booted by
 * qemu-system-x86_64 -accel kvm -machine microvm; its rounds of outs are
 * timed by the same rdtsc in the guest and printed on the debug console.
 * Sessions of QEMU and of mcefwd's loop alternate, and so do QEMU's and
 * our start-to-exit runs, so both meet the same host.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest-payloads/bench/bench-abi.h"
#include "mcefwd/bench/bench.h"
#include "mcefwd/bench/bench_payload.h"
#include "mcefwd/bench/bench_proc.h"


/*
 * Runs argv[0] with stdin and stdout/stderr on /dev/null (or out, when
 * given), timed. 0, or -errno.
 */
int bench_proc_spawn(char *const argv[], const char *out, struct bench_proc_run *p)
{
	struct rusage ru;
	uint64_t t0;
	pid_t pid;
	int fd;

	t0 = bench_now_ns();
	pid = fork();
	if (pid < 0)
		return error_set(errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		if (out) {
			fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd >= 0) {
				dup2(fd, STDOUT_FILENO);
				dup2(fd, STDERR_FILENO);
			}
		}
		execv(argv[0], argv);
		_exit(127);
	}
	while (wait4(pid, &p->status, 0, &ru) < 0)
		if (errno != EINTR)
			return error_set(errno, "wait4: %s", strerror(errno));
	p->ns = bench_now_ns() - t0;
	p->maxrss_kib = ru.ru_maxrss;
	return 0;
}

static void bench_proc_describe(char *buf, size_t len, char *const argv[])
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; argv[i] && n + 1 < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? " " : "", argv[i]);
}

/* Spawns argv; the exit status must be want. */
int bench_proc_expect(char *const argv[], const char *out, int want,
		      struct bench_proc_run *p)
{
	char cmd[256];
	int r = bench_proc_spawn(argv, out, p);

	if (r < 0)
		return r;
	if (WIFEXITED(p->status) && WEXITSTATUS(p->status) == want)
		return 0;
	bench_proc_describe(cmd, sizeof(cmd), argv);
	if (WIFEXITED(p->status))
		return error_set(EPROTO, "'%s' exited with status %d, expected %d", cmd,
				 WEXITSTATUS(p->status), want);
	return error_set(EPROTO, "'%s' was killed by signal %d", cmd, WTERMSIG(p->status));
}

/* ns samples as ns and cycles metrics. */
void bench_proc_add_ns(struct bench_ctx *c, struct bench_result *res, const char *name,
		       double *ns, unsigned int n)
{
	double cy[BENCH_MAX_SAMPLES];

	for (unsigned int i = 0; i < n; i++)
		cy[i] = bench_ns_to_cycles(c, ns[i]);
	bench_add_metric(res, name, "ns", ns, n);
	if (c->tsc_khz > 0)
		bench_add_metric(res, name, "cycles", cy, n);
}

int bench_startup_run(struct bench_ctx *c, struct bench_result *res)
{
	unsigned int rounds = bench_rounds(c, 20, 3);
	char *hello[] = { c->exe, "run", "hello", NULL };
	char *big[] = { c->exe, "run", "hello", "--ram", QEMU_RAM, NULL };
	char *version[] = { c->exe, "--version", NULL };
	double *x = calloc(6 * (size_t)rounds, sizeof(*x));
	double *h_ns, *h_kib, *b_ns, *b_kib, *v_ns, *v_kib;
	const struct bench_metric *m;
	struct bench_proc_run p;
	int r = 0;

	if (!x)
		return error_set(ENOMEM, "out of memory");
	h_ns = x;
	h_kib = h_ns + rounds;
	b_ns = h_kib + rounds;
	b_kib = b_ns + rounds;
	v_ns = b_kib + rounds;
	v_kib = v_ns + rounds;
	/* One run first: a hello that skips (no /dev/kvm) skips the benchmark. */
	r = bench_proc_spawn(hello, NULL, &p);
	if (r == 0 && WIFEXITED(p.status) && WEXITSTATUS(p.status) == 4) {
		res->status = BENCH_SKIP;
		snprintf(res->reason, sizeof(res->reason), "'mcefwd run hello' skips here: %.400s",
			 c->kvm ? "it exited with status 4" : c->kvm_err);
		goto out;
	}
	for (unsigned int i = 0; i < rounds && r == 0; i++) {
		r = bench_proc_expect(hello, NULL, 0, &p);
		h_ns[i] = (double)p.ns;
		h_kib[i] = (double)p.maxrss_kib;
		if (r == 0)
			r = bench_proc_expect(big, NULL, 0, &p);
		b_ns[i] = (double)p.ns;
		b_kib[i] = (double)p.maxrss_kib;
		if (r == 0)
			r = bench_proc_expect(version, NULL, 0, &p);
		v_ns[i] = (double)p.ns;
		v_kib[i] = (double)p.maxrss_kib;
	}
	if (r < 0)
		goto out;
	bench_proc_add_ns(c, res, "run hello", h_ns, rounds);
	bench_proc_add_ns(c, res, "run hello --ram " QEMU_RAM, b_ns, rounds);
	bench_proc_add_ns(c, res, "--version", v_ns, rounds);
	bench_add_metric(res, "peak RSS run hello", "KiB", h_kib, rounds);
	bench_add_metric(res, "peak RSS --ram " QEMU_RAM, "KiB", b_kib, rounds);
	bench_add_metric(res, "peak RSS --version", "KiB", v_kib, rounds);
	m = bench_find_metric(res, "peak RSS --ram " QEMU_RAM, "KiB");
	if (m)
		bench_add_ratio(res, "peak RSS 1 GiB (MiB)", m->st.max / 1024, BENCH_AT_MOST, 8,
				"largest ru_maxrss of 'mcefwd run hello --ram 1G', MiB");
	bench_note(res, "%u runs each, fork to wait4, output to /dev/null; ru_maxrss from wait4 (a forked child starts with its parent's anonymous RSS: '--version' shows that floor)",
		   rounds);
out:
	free(x);
	return r;
}
