// SPDX-License-Identifier: GPL-2.0-only
/*
 * qemu: the bench-exit payload wrapped as a PVH kernel and booted by
 * qemu-system-x86_64 -accel kvm -machine microvm; its rounds of outs are
 * timed by the same rdtsc in the guest and printed on the debug console.
 * Sessions of QEMU and of mcefwd's loop alternate, and so do QEMU's and
 * our start-to-exit runs (bench_proc.c), so both meet the same host.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest-payloads/bench/bench-abi.h"
#include "mcefwd/bench/bench.h"
#include "mcefwd/bench/bench_payload.h"
#include "mcefwd/bench/bench_proc.h"
#include "mcefwd/qemu/qemu.h"
#include "mcefwd/vmm/pvh.h"

#define QEMU_ITERS		256
#define QEMU_ITERS_QUICK	64

/*
 * bench-exit as a PVH kernel: the header QEMU's entry is found by is the
 * bench payload's own (bench_pvh_header), whose entry prints its rounds.
 */
static int bench_qemu_write_pvh(const char *path)
{
	struct payload p;
	int r = bench_payload_get("bench-exit", &p);

	return r < 0 ? r : pvh_write(p.image, p.image_len, BENCH_PVH_MAGIC, path);
}

/* The bench-null guest as an ELF file, for `mcefwd run PATH`. */
static int bench_qemu_write_null(const char *path)
{
	struct payload p;
	int r = bench_payload_get("bench-null", &p);

	return r < 0 ? r : pvh_write_image(p.image, p.image_len, path);
}

struct bench_qemu_lab {
	char qemu[4096];
	char dir[64];
	char kernel[128], null[128], console[128], version[128];
	char append[32], ram[8], chardev[192];
	char *argv[PROC_MAX_ARGS];
};

/*
 * The command line: microvm on KVM, the debug console to a file,
 * isa-debug-exit at the exit port.
 */
static void bench_qemu_argv(struct bench_qemu_lab *q, unsigned int rounds, unsigned int iters,
			    const char *ram)
{
	char **a = q->argv;
	int n = 0;

	snprintf(q->append, sizeof(q->append), "%u %u", rounds, iters);
	snprintf(q->ram, sizeof(q->ram), "%s", ram);
	snprintf(q->chardev, sizeof(q->chardev), "file,id=dbg,path=%s", q->console);
	a[n++] = q->qemu;
	a[n++] = "-accel";
	a[n++] = "kvm";
	a[n++] = "-machine";
	a[n++] = "microvm";
	a[n++] = "-smp";
	a[n++] = "1";
	a[n++] = "-m";
	a[n++] = q->ram;
	a[n++] = "-nodefaults";
	a[n++] = "-no-user-config";
	a[n++] = "-display";
	a[n++] = "none";
	a[n++] = "-no-reboot";
	a[n++] = "-kernel";
	a[n++] = q->kernel;
	a[n++] = "-append";
	a[n++] = q->append;
	a[n++] = "-device";
	a[n++] = "isa-debug-exit,iobase=0xf4,iosize=4";
	a[n++] = "-chardev";
	a[n++] = q->chardev;
	a[n++] = "-device";
	a[n++] = "isa-debugcon,iobase=0xe9,chardev=dbg";
	a[n] = NULL;
}

/* A boot of rounds rounds; their cycles per exit appended to cy[*n...]. */
static int bench_qemu_rounds(struct bench_qemu_lab *q, unsigned int rounds, unsigned int iters,
			     double *cy, unsigned int *n, struct bench_proc_run *p)
{
	char line[128];
	unsigned long r, it, cycles;
	unsigned int got = 0;
	bool done = false;
	FILE *f;
	int e;

	bench_qemu_argv(q, rounds, iters, "64M");
	/* isa-debug-exit: QEMU exits with (code << 1) | 1, and the guest writes 0. */
	e = bench_proc_expect(q->argv, NULL, 1, p);
	if (e < 0)
		return error_wrap(-e, "QEMU");
	f = fopen(q->console, "r");
	if (!f)
		return error_set(errno, "%s: %s", q->console, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "round %lu %lu %lu", &r, &it, &cycles) == 3 && it && got < rounds) {
			cy[(*n)++] = (double)cycles / (double)it;
			got++;
		}
		done |= !strcmp(line, "done\n");
	}
	fclose(f);
	if (got != rounds || !done)
		return error_set(EPROTO, "QEMU's guest reported %u of %u rounds%s", got, rounds,
				 done ? "" : " and did not finish");
	return 0;
}

/* The first line of `qemu-system-x86_64 --version`. */
static void bench_qemu_get_version(struct bench_qemu_lab *q)
{
	char *argv[] = { q->qemu, "--version", NULL };
	struct bench_proc_run p;
	FILE *f;

	q->version[0] = '\0';
	if (bench_proc_spawn(argv, q->console, &p) < 0)
		return;
	f = fopen(q->console, "r");
	if (f) {
		if (fgets(q->version, sizeof(q->version), f))
			q->version[strcspn(q->version, "\n")] = '\0';
		fclose(f);
	}
}

int bench_qemu_run(struct bench_ctx *c, struct bench_result *res)
{
	unsigned int rounds = bench_rounds(c, 400, 8), starts = bench_rounds(c, 12, 2);
	unsigned int iters = c->quick ? QEMU_ITERS_QUICK : QEMU_ITERS;
	unsigned int sessions = c->quick || rounds < 20 ? 1 : 4;
	unsigned int nq = 0, nm = 0;
	char *ours[] = { c->exe, "run", "hello", "--ram", QEMU_RAM, NULL };
	/* bench-null by path: the product's table, what run NAME offers, lacks it. */
	char *null[] = { c->exe, "run", NULL, "--ram", QEMU_RAM, NULL };
	double *qcy, *mcy, *mns, *bcy, *bns, *qns, *qs, *qk, *os, *ok, *zs;
	const struct bench_metric *a, *b, *z;
	struct bench_qemu_lab *q;
	struct bench_proc_run p;
	int r = 0;

	q = calloc(1, sizeof(*q));
	qcy = calloc(6 * (size_t)rounds + 5 * (size_t)starts, sizeof(double));
	if (!q || !qcy) {
		free(q);
		free(qcy);
		return error_set(ENOMEM, "out of memory");
	}
	mcy = qcy + rounds;
	mns = mcy + rounds;
	bcy = mns + rounds;
	bns = bcy + rounds;
	qns = bns + rounds;
	qs = qns + rounds;
	qk = qs + starts;
	os = qk + starts;
	ok = os + starts;
	zs = ok + starts;
	if (!qemu_on_path(q->qemu, sizeof(q->qemu))) {
		res->status = BENCH_SKIP;
		snprintf(res->reason, sizeof(res->reason),
			 "qemu-system-x86_64 is not on PATH (Debian: apt-get install qemu-system-x86)");
		goto out;
	}
	snprintf(q->dir, sizeof(q->dir), "%s/mcefwd-bench.XXXXXX",
		 getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 32 ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(q->dir)) {
		r = error_set(errno, "mkdtemp %s: %s", q->dir, strerror(errno));
		goto out;
	}
	snprintf(q->kernel, sizeof(q->kernel), "%s/bench-exit-pvh.elf", q->dir);
	snprintf(q->null, sizeof(q->null), "%s/bench-null.elf", q->dir);
	snprintf(q->console, sizeof(q->console), "%s/console", q->dir);
	null[2] = q->null;
	bench_qemu_get_version(q);
	r = bench_qemu_write_pvh(q->kernel);
	if (r == 0)
		r = bench_qemu_write_null(q->null);
	if (r < 0)
		goto out_dir;

	/* The exit loop: a QEMU session, then mcefwd's and the bare loop's, and again. */
	for (unsigned int s = 0; s < sessions && r == 0; s++) {
		unsigned int want = rounds / sessions + (s < rounds % sessions);

		struct bench_exit_side sides[2] = {
			{ .bare = true, .ns = bns + nm, .cycles = bcy + nm },
			{ .kick = KICK_IMMEDIATE, .ns = mns + nm, .cycles = mcy + nm },
		};

		r = bench_qemu_rounds(q, want, iters, qcy, &nq, &p);
		if (r == 0)
			r = bench_exit_pairs(c, want, iters, sides);
		nm += r == 0 ? want : 0;
	}
	/* Start to exit: QEMU with 1 GiB and nothing to do, then mcefwd run hello --ram 1G. */
	for (unsigned int i = 0; i < starts && r == 0; i++) {
		bench_qemu_argv(q, 0, 16, QEMU_RAM);
		r = bench_proc_expect(q->argv, NULL, 1, &p);
		if (r < 0) {
			error_wrap(-r, "QEMU");
			break;
		}
		qs[i] = (double)p.ns;
		qk[i] = (double)p.maxrss_kib;
		r = bench_proc_expect(ours, NULL, 0, &p);
		os[i] = (double)p.ns;
		ok[i] = (double)p.maxrss_kib;
		if (r == 0)
			r = bench_proc_expect(null, NULL, 0, &p);
		zs[i] = (double)p.ns;
	}
	if (r < 0)
		goto out_dir;
	for (unsigned int i = 0; i < nq; i++)
		qns[i] = bench_cycles_to_ns(c, qcy[i]);
	bench_add_metric(res, "qemu exit", "cycles", qcy, nq);
	bench_add_metric(res, "mcefwd exit", "cycles", mcy, nm);
	bench_add_metric(res, "bare exit", "cycles", bcy, nm);
	bench_add_metric(res, "qemu exit", "ns", qns, nq);
	bench_add_metric(res, "mcefwd exit", "ns", mns, nm);
	bench_add_metric(res, "bare exit", "ns", bns, nm);
	bench_proc_add_ns(c, res, "qemu start+quit", qs, starts);
	bench_proc_add_ns(c, res, "mcefwd run hello", os, starts);
	bench_proc_add_ns(c, res, "mcefwd run bench-null", zs, starts);
	bench_add_metric(res, "qemu peak RSS", "KiB", qk, starts);
	bench_add_metric(res, "mcefwd peak RSS", "KiB", ok, starts);
	a = bench_find_metric(res, "mcefwd exit", "cycles");
	b = bench_find_metric(res, "qemu exit", "cycles");
	z = bench_find_metric(res, "bare exit", "cycles");
	if (a && b)
		bench_add_ratio(res, "mcefwd/qemu exit", a->st.median / b->st.median, BENCH_AT_MOST,
				0.80, "median guest TSC cycles per exit, the same guest loop");
	/* What each VMM adds to the physical limit: the exit with the bare loop's cost taken off. */
	if (a && b && z)
		bench_add_ratio(res, "mcefwd/qemu above bare",
				b->st.median > z->st.median ?
				(a->st.median - z->st.median) / (b->st.median - z->st.median) : NAN,
				BENCH_INFO, 0, "(mcefwd - bare) / (qemu - bare), median cycles per exit");
	a = bench_find_metric(res, "mcefwd run hello", "ns");
	b = bench_find_metric(res, "qemu start+quit", "ns");
	z = bench_find_metric(res, "mcefwd run bench-null", "ns");
	if (a && b)
		bench_add_ratio(res, "mcefwd/qemu start", a->st.median / b->st.median, BENCH_AT_MOST,
				0.10, "median start to exit, 1 GiB guest RAM each");
	if (z && b)
		bench_add_ratio(res, "mcefwd null/qemu start", z->st.median / b->st.median,
				BENCH_INFO, 0, "the same with bench-null, the smallest guest");
	a = bench_find_metric(res, "mcefwd peak RSS", "KiB");
	b = bench_find_metric(res, "qemu peak RSS", "KiB");
	if (a && b)
		bench_add_ratio(res, "mcefwd/qemu peak RSS", a->st.median / b->st.median, BENCH_INFO,
				0, "median ru_maxrss, 1 GiB guest RAM each");
	bench_note(res, "%s", q->version[0] ? q->version : "QEMU version unknown");
	bench_note(res, "exit loop: %u rounds of %u outs each side in %u alternating sessions; QEMU: -accel kvm -machine microvm -m 64M, the bench-exit payload as a PVH kernel, the port unassigned in QEMU; start+quit: %u runs each with -m %s / --ram %s",
		   rounds, iters, sessions, starts, QEMU_RAM, QEMU_RAM);
	snprintf(c->qemu_version, sizeof(c->qemu_version), "%s", q->version);
out_dir:
	unlink(q->kernel);
	unlink(q->null);
	unlink(q->console);
	rmdir(q->dir);
out:
	free(qcy);
	free(q);
	return r;
}
