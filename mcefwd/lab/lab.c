// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "mcefwd/util/interrupt.h"
#include "mcefwd/lab/cpio.h"
#include "mcefwd/lab/exec.h"
#include "mcefwd/lab/file.h"
#include "mcefwd/lab/kernel.h"
#include "mcefwd/lab/lab.h"
#include "mcefwd/lab/proto.h"
#include "mcefwd/lab/qemu.h"

/* The lab's /init, a static program built with mcefwd (lab-init-blob.S). */
extern const unsigned char lab_init_image[], lab_init_image_end[];

struct lab_run_state {
	const struct lab_opts *o;
	struct lab_result *res;
	double t0, t_qemu;		/* lab_run's start, QEMU's start */
	bool up, exited;
	char error[ERROR_MAX];
};

static double lab_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void lab_on_control(void *priv, const char *line)
{
	struct lab_run_state *s = priv;
	struct lab_result *res = s->res;
	struct proto_line l;

	proto_parse_line(line, &l);
	switch (l.ev) {
	case PROTO_EV_UP:
		s->up = true;
		lab_note(s->o->notes, "kernel up after %.1f s of emulation (%s)",
			 (double)l.num / 1000.0, strchr(l.rest, ' ') ? strchr(l.rest, ' ') + 1 : l.rest);
		break;
	case PROTO_EV_MOD:
		if (strstr(l.rest, " optional-failed "))
			lab_note(s->o->notes, "optional module not loaded: %s", l.rest);
		break;
	case PROTO_EV_KVM:
		lab_fmt(res->kvm, sizeof(res->kvm), "%s", l.rest);
		lab_note(s->o->notes, "/dev/kvm in the lab: %s", l.rest);
		break;
	case PROTO_EV_RUN:
		res->started = true;
		res->boot_s = lab_now() - s->t_qemu;
		lab_note(s->o->notes, "running the command (%.1f s after QEMU started)", res->boot_s);
		break;
	case PROTO_EV_WROTE:
		if (res->wrote++ < 10)
			lab_note(s->o->notes, "the command wrote %s (thrown away with the lab)", l.rest);
		break;
	case PROTO_EV_EXIT:
		s->exited = true;
		res->status = (int)l.num;
		break;
	case PROTO_EV_SIGNAL:
		s->exited = true;
		res->status = 128 + (int)l.num;
		break;
	case PROTO_EV_ERROR:
		lab_fmt(s->error, sizeof(s->error), "%s", l.rest);
		break;
	case PROTO_EV_ALIVE:
		/* lab_qemu_run watches for it (--silence). */
		break;
	default:
		lab_note(s->o->notes, "the lab's /init said something unknown: %s", line);
		break;
	}
}

/* The initramfs: /init, the modules, and what to run (/lab/config). */
static int lab_initramfs(const char *path, const struct lab_kernel *k, int npt,
			 char *const argv[], char *const envp[], const char *cwd)
{
	static const char *const dirs[] = { "/proc", "/sys", "/dev", "/lab", "/lab/mod",
					    "/lower", "/rw", "/newroot" };
	struct proto_buf cfg = { 0 };
	char kenv[1024];
	struct cpio c;
	FILE *f = fopen(path, "we");
	int r;

	if (!f)
		return error_set(errno, "%s: %s", path, strerror(errno));
	cpio_begin(&c, f);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		cpio_add(&c, dirs[i] + 1, S_IFDIR | 0755, NULL, 0);
	cpio_add(&c, "init", S_IFREG | 0755, lab_init_image,
		 (size_t)(lab_init_image_end - lab_init_image));
	for (unsigned int i = 0; i < k->nr_mods; i++) {
		const struct lab_kmod *m = &k->mods[i];
		char name[128], rec[512];
		char *data = NULL;
		size_t len = 0;

		r = file_read(m->path, &data, &len);
		if (r < 0) {
			fclose(f);
			proto_buf_free(&cfg);
			return error_set(-r, "%s: %s (clear the lab's cache and run again)", m->path,
					 strerror(-r));
		}
		lab_fmt(name, sizeof(name), "lab/mod/%s.ko", m->name);
		cpio_add(&c, name, S_IFREG | 0644, data, len);
		free(data);
		lab_fmt(rec, sizeof(rec), "%s\t/%s\t%s\t%s", m->name, name,
			 !strcmp(m->name, "kvm_amd") ? (npt ? "npt=1" : "npt=0") : "",
			 m->required ? "required" : "optional");
		proto_put(&cfg, "mod", rec);
	}
	proto_put(&cfg, "share", PROTO_SHARE_TAG);
	proto_put(&cfg, "cwd", cwd);
	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], "MCEFWD_LAB_KERNEL=", 18) && strncmp(envp[i], "MCEFWD_LAB_BOOT=", 16))
			proto_put(&cfg, "env", envp[i]);
	/* What the command may say of where it runs (mcefwd does: where.c). */
	lab_fmt(kenv, sizeof(kenv), "MCEFWD_LAB_KERNEL=%s (%s)", k->release, k->source);
	proto_put(&cfg, "env", kenv);
	for (size_t i = 0; argv[i]; i++)
		proto_put(&cfg, "arg", argv[i]);
	if (cfg.oom) {
		fclose(f);
		proto_buf_free(&cfg);
		return error_set(ENOMEM, "out of memory");
	}
	cpio_add(&c, PROTO_CONFIG_PATH + 1, S_IFREG | 0644, cfg.data, cfg.len);
	proto_buf_free(&cfg);
	r = cpio_end(&c);
	if (fclose(f) && !r)
		r = -errno;
	if (r < 0)
		return error_set(-r, "writing the initramfs %s: %s", path, strerror(-r));
	return 0;
}

/*
 * One emulated CPU unless asked: with two, QEMU's multi-threaded TCG runs
 * nested SVM many times slower (the integration suite: 16 min against 3)
 * and the lab's kernel stalls (soft lockups, RCU stalls) while a CPU waits
 * for the other's cross-CPU work.
 */
static unsigned int lab_cpus(const struct lab_opts *o)
{
	return o->cpus ? o->cpus : 1;
}

static void __attribute__((format(printf, 3, 4)))
lab_end(struct lab_result *res, enum lab_how how, const char *fmt, ...)
{
	va_list ap;

	res->how = how;
	va_start(ap, fmt);
	vsnprintf(res->why, sizeof(res->why), fmt, ap);
	va_end(ap);
}

/* What became of a run that gave no exit status, in one sentence. */
static void lab_judge_end(struct lab_run_state *s, const struct lab_qemu_end *end,
			  const struct lab_qemu_cfg *qc)
{
	struct lab_result *res = s->res;
	int qst = WIFEXITED(end->wait_status) ? WEXITSTATUS(end->wait_status) : -1;

	if (s->exited && !s->error[0])
		res->how = LAB_RAN;
	else if (end->interrupted)
		lab_end(res, LAB_FAILED, "interrupted: QEMU stopped");
	else if (s->error[0])
		lab_end(res, LAB_FAILED, "the lab could not run the command: %s", s->error);
	else if (end->frozen)
		lab_end(res, LAB_FAILED, "the kernel stopped: /init silent for %.0f s, a nudge on its serial port did not wake it: QEMU stopped (--silence sets the bound)",
			end->silent_s);
	else if (end->timed_out)
		lab_end(res, LAB_FAILED, "no result after %u s: QEMU stopped (--timeout sets the bound)",
			s->o->timeout_s ? s->o->timeout_s : LAB_DEFAULT_TIMEOUT_S);
	else if (end->panic[0])
		lab_end(res, LAB_FAILED, "kernel %s panicked%s: %s", res->release,
			s->up ? " while the command ran" : " while booting", end->panic);
	else if (!end->started)
		lab_end(res, LAB_FAILED, "%s could not be started: %s", qc->qemu, end->qemu_err);
	else if (!s->up)
		lab_end(res, LAB_FAILED, "kernel %s never ran the lab's /init (QEMU exit status %d)%s%s",
			res->release, qst, end->qemu_err[0] ? ": " : "", end->qemu_err);
	else
		lab_end(res, LAB_FAILED, "the lab ended before the command did (QEMU exit status %d)",
			qst);
}

int lab_run(const struct lab_opts *o, char *const argv[], char *const envp[], const char *cwd,
	    struct lab_result *res)
{
	char cache[PATH_MAX - 256], tmp[PATH_MAX], initrd[PATH_MAX], append[768];
	const char *qemu = o->qemu, *tmpdir = getenv("TMPDIR");
	struct lab_kernel_opts ko = { 0 };
	struct lab_run_state s = { .o = o, .res = res, .t0 = lab_now() };
	struct lab_qemu_cfg qc = { 0 };
	struct lab_qemu_io io = { 0 };
	struct lab_qemu_end end;
	struct lab_kernel k;
	FILE *console = NULL;
	int r;

	memset(res, 0, sizeof(*res));
	if (!argv || !argv[0])
		return error_set(EINVAL, "the lab needs a command to run");
	if (o->npt != 0 && o->npt != 1)
		return error_set(EINVAL, "npt must be 0 or 1, not %d", o->npt);
	if (!qemu || !*qemu)
		qemu = getenv("MCEFWD_QEMU");
	if (!qemu || !*qemu)
		qemu = "qemu-system-x86_64";
	if (!exec_found(qemu)) {
		lab_end(res, LAB_SKIPPED, "the lab needs %s, which is not installed (%sapt-get install --no-install-recommends qemu-system-x86)",
			qemu, geteuid() ? "as root: " : "");
		return 0;
	}
	if (o->cache)
		lab_fmt(cache, sizeof(cache), "%s", o->cache);
	else
		lab_kernel_cache_dir(cache, sizeof(cache));
	ko = (struct lab_kernel_opts){ .cache = cache, .notes = o->notes };
	lab_kernel_opts_set(&ko, &o->kernel);
	r = lab_kernel_get(&ko, &k);
	if (r < 0) {
		lab_end(res, k.host_lacks ? LAB_SKIPPED : LAB_FAILED, "%s", error_get());
		res->wall_s = lab_now() - s.t0;
		return 0;
	}
	lab_fmt(res->release, sizeof(res->release), "%s", k.release);
	lab_fmt(res->source, sizeof(res->source), "%s", k.source);
	lab_note(o->notes, "kernel %s: %s, from %s", k.release, k.source, k.dir);

	lab_fmt(tmp, sizeof(tmp), "%s/mcefwd-lab.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(tmp)) {
		lab_end(res, LAB_FAILED, "mkdtemp %s: %s", tmp, strerror(errno));
		lab_kernel_put(&k);
		return 0;
	}
	lab_fmt(initrd, sizeof(initrd), "%s/initramfs.cpio", tmp);
	r = lab_initramfs(initrd, &k, o->npt, argv, envp, cwd);
	if (r < 0) {
		lab_end(res, LAB_FAILED, "%s", error_get());
		goto out;
	}
	/*
	 * Four serial ports (the lab uses ttyS0-3); panic=-1 and -no-reboot
	 * turn a panic into QEMU's exit, and a kernel that stops making
	 * progress (a soft lockup, a task stuck in D, an RCU stall) panics
	 * instead of running out the clock, its backtrace on the console. The
	 * thresholds allow for emulation being slow. A kvm_amd built in takes
	 * its parameters here.
	 */
	snprintf(append, sizeof(append),
		 "console=ttyS0 8250.nr_uarts=4 panic=-1 oops=panic quiet rdinit=/init "
		 "softlockup_panic=1 watchdog_thresh=30 hung_task_panic=1 hung_task_timeout_secs=180 "
		 "rcupdate.rcu_cpu_stall_timeout=60 sysctl.kernel.panic_on_rcu_stall=1 kvm_amd.npt=%d",
		 o->npt);
	qc = (struct lab_qemu_cfg){
		.qemu = qemu, .kernel = k.vmlinux[0] ? k.vmlinux : k.vmlinuz, .initrd = initrd,
		.append = append, .share = "/",
		.cpus = lab_cpus(o), .mem_mb = o->mem_mb ? o->mem_mb : LAB_DEFAULT_MEM_MB,
	};
	if (o->console) {
		console = fopen(o->console, "we");
		if (!console)
			lab_note(o->notes, "cannot keep the console in %s: %s", o->console, strerror(errno));
	}
	io = (struct lab_qemu_io){
		.out_fd = STDOUT_FILENO, .err_fd = STDERR_FILENO, .console = console,
		.on_control = lab_on_control, .priv = &s,
		.timeout_s = o->timeout_s ? o->timeout_s : LAB_DEFAULT_TIMEOUT_S,
		.quiet_s = o->silence_s ? o->silence_s : LAB_DEFAULT_SILENCE_S,
	};
	lab_note(o->notes, "booting under QEMU's TCG: %u CPU(s), %u MiB, kvm_amd npt=%d", qc.cpus,
		 qc.mem_mb, o->npt);
	/* A reader of our output that goes away must not kill us before QEMU is stopped. */
	signal(SIGPIPE, SIG_IGN);
	interrupt_install();
	s.t_qemu = lab_now();
	r = lab_qemu_run(&qc, &io, &end);
	if (console)
		fclose(console);
	if (r < 0) {
		lab_end(res, LAB_FAILED, "starting %s: %s", qemu, strerror(-r));
		goto out;
	}
	lab_judge_end(&s, &end, &qc);
	if (end.nudges && !end.frozen) {
		res->nudges = end.nudges;
		lab_fmt(res->nudged, sizeof(res->nudged),
			"/init went silent %u time(s), for up to %.0f s; a nudge on its serial port was answered within %.1f s ('mcefwd lab --help', --silence)",
			end.nudges, end.silent_s, end.woke_s);
		lab_note(o->notes, "%s", res->nudged);
	}
	if (res->how == LAB_FAILED && end.console_tail[0] && !end.interrupted) {
		/* The console's last lines say more than any summary. */
		const char *tail = end.console_tail;
		int lines = 0;

		for (const char *p = tail + strlen(tail); p > tail; p--)
			if (*p == '\n' && ++lines > 12) {
				tail = p + 1;
				break;
			}
		lab_note(o->notes, "the console's last lines%s%s%s:\n%s", o->console ? " (all of it in " : "",
			 o->console ? o->console : "", o->console ? ")" : "", tail);
	}
out:
	file_rm_rf(tmp);
	lab_kernel_put(&k);
	res->wall_s = lab_now() - s.t0;
	return 0;
}
