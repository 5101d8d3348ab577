// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "mcefwd/util/interrupt.h"
#include "mcefwd/lab/exec.h"
#include "mcefwd/lab/proto.h"
#include "mcefwd/lab/qemu.h"

/*
 * The child's fds for the console, stdout and stderr ports: -serial
 * file:/proc/self/fd/N opens them again. The control port is QEMU's own
 * stdin and stdout (-chardev stdio), the one way both ways: /init says
 * what happens on it, and is asked to interrupt the command on it.
 */
#define QEMU_PORT_FD0 3
#define QEMU_FILE_PORTS (PROTO_NR_PORTS - 1)
/* After ^C, how long the command has to end on its own before QEMU is stopped. */
#define QEMU_GRACE_S 20

static int argv_put(char *argv[], size_t max, size_t *n, char *store, size_t len, size_t *used,
		    const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static int argv_put(char *argv[], size_t max, size_t *n, char *store, size_t len, size_t *used,
		    const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*n + 1 >= max || *used >= len)
		return -ENOSPC;
	va_start(ap, fmt);
	w = vsnprintf(store + *used, len - *used, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= len - *used)
		return -ENOSPC;
	argv[(*n)++] = store + *used;
	argv[*n] = NULL;
	*used += (size_t)w + 1;
	return 0;
}

/* QEMU's option syntax: a comma inside a value is written twice. */
static void qemu_escape(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s && o + 2 < len; s++) {
		out[o++] = *s;
		if (*s == ',')
			out[o++] = ',';
	}
	out[o] = '\0';
}

int lab_qemu_argv(const struct lab_qemu_cfg *c, char *argv[], size_t max, char *store,
		  size_t len)
{
	char share[2048];
	size_t n = 0, used = 0;
	int r = 0;

#define ARG(...) do { if (!r) r = argv_put(argv, max, &n, store, len, &used, __VA_ARGS__); } while (0)
	qemu_escape(c->share, share, sizeof(share));
	ARG("%s", c->qemu);
	ARG("-nodefaults");
	ARG("-no-user-config");
	ARG("-display");
	ARG("none");
	ARG("-no-reboot");
	/* TCG: no KVM needed, and an AMD CPU with SVM, so kvm_amd loads inside. */
	ARG("-accel");
	ARG("%s", c->cpus > 1 ? "tcg,thread=multi" : "tcg");
	ARG("-machine");
	ARG("pc");
	ARG("-cpu");
	ARG("max,vendor=AuthenticAMD");
	ARG("-smp");
	ARG("%u", c->cpus);
	ARG("-m");
	ARG("%u", c->mem_mb);
	ARG("-kernel");
	ARG("%s", c->kernel);
	ARG("-initrd");
	ARG("%s", c->initrd);
	ARG("-append");
	ARG("%s", c->append);
	for (int p = 0; p < QEMU_FILE_PORTS; p++) {
		ARG("-serial");
		ARG("file:/proc/self/fd/%d", QEMU_PORT_FD0 + p);
	}
	ARG("-chardev");
	ARG("stdio,id=mcefwdctl,signal=off");
	ARG("-serial");
	ARG("chardev:mcefwdctl");
	/*
	 * The host's root, read-only. multidevs=remap keeps inode numbers of
	 * different host file systems apart; without it the mounts the lab makes
	 * over the shared tree are not seen in it.
	 */
	ARG("-virtfs");
	ARG("local,path=%s,mount_tag=%s,security_model=none,readonly=on,multidevs=remap", share,
	    PROTO_SHARE_TAG);
#undef ARG
	return r ? r : (int)n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Lines of a port, put together across reads. */
struct line_buf {
	char buf[4096];
	size_t len;
};

static void console_line(struct lab_qemu_end *end, const char *line)
{
	static const char *const bad[] = {
		"Kernel panic", "BUG: ", "Oops: ", "general protection fault", "Attempted to kill init",
	};

	if (end->panic[0])
		return;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *p = strstr(line, bad[i]);

		if (p) {
			snprintf(end->panic, sizeof(end->panic), "%s", p);
			return;
		}
	}
}

/* Splits data into lines; each complete one (without \r\n) goes to fn. */
static void split_lines(struct line_buf *lb, const char *data, size_t n,
			void (*fn)(void *ctx, const char *line), void *ctx)
{
	for (size_t i = 0; i < n; i++) {
		char c = data[i];

		if (c == '\n' || lb->len == sizeof(lb->buf) - 1) {
			while (lb->len && lb->buf[lb->len - 1] == '\r')
				lb->len--;
			lb->buf[lb->len] = '\0';
			fn(ctx, lb->buf);
			lb->len = 0;
			if (c == '\n')
				continue;
		}
		lb->buf[lb->len++] = c;
	}
}

static void on_console_line(void *ctx, const char *line)
{
	console_line(ctx, line);
}

/* Two "alive"s missed (proto.h PROTO_ALIVE_MS) and a second to spare. */
#define QEMU_NUDGE_S	(2 * PROTO_ALIVE_MS / 1000 + 1)

/* The control port's lines, and whether /init is due to say "alive": from "run". */
struct ctl_ctx {
	const struct lab_qemu_io *io;
	bool alive;
};

static void on_control_line(void *ctx, const char *line)
{
	struct ctl_ctx *cc = ctx;
	struct proto_line l;

	proto_parse_line(line, &l);
	if (l.ev == PROTO_EV_RUN || l.ev == PROTO_EV_ALIVE)
		cc->alive = true;
	else if (l.ev == PROTO_EV_EXIT || l.ev == PROTO_EV_SIGNAL || l.ev == PROTO_EV_ERROR)
		cc->alive = false;
	if (cc->io->on_control)
		cc->io->on_control(cc->io->priv, line);
}

static void stop_qemu(pid_t pid, int sig)
{
	/* Its process group: QEMU and any helper it started. */
	if (kill(-pid, sig) && errno == ESRCH)
		kill(pid, sig);
}

int lab_qemu_run(const struct lab_qemu_cfg *c, const struct lab_qemu_io *io,
		 struct lab_qemu_end *end)
{
	enum { P_CONSOLE, P_OUT, P_ERR, P_CTL, P_QEMU, NR_P };
	int pipes[NR_P][2], in[2] = { -1, -1 }, saved, r = 0, term_sent = 0;
	char *argv[64], store[8192];
	struct line_buf con_lb = { .len = 0 }, ctl_lb = { .len = 0 };
	struct pollfd p[NR_P];
	double t0 = now_s(), deadline, kill_at = 0, grace_end = 0, last_ctl = t0, nudged = 0;
	struct ctl_ctx cc = { .io = io, .alive = false };
	pid_t pid, parent = getpid();
	int open_fds = 0, argc;

	memset(end, 0, sizeof(*end));
	argc = lab_qemu_argv(c, argv, sizeof(argv) / sizeof(argv[0]), store, sizeof(store));
	if (argc < 0)
		return argc;
	for (int i = 0; i < NR_P; i++)
		pipes[i][0] = pipes[i][1] = -1;
	for (int i = 0; i < NR_P; i++) {
		if (pipe2(pipes[i], O_CLOEXEC)) {
			saved = errno;
			goto err_close;
		}
	}
	if (pipe2(in, O_CLOEXEC)) {
		saved = errno;
		goto err_close;
	}
	pid = fork();
	if (pid < 0) {
		saved = errno;
		goto err_close;
	}
	if (pid == 0) {
		int high[QEMU_FILE_PORTS];

		/* QEMU dies with us, and a ^C at the terminal is ours to handle. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		setpgid(0, 0);
		/* Out of the way of 3..5 first, then into place. */
		for (int i = 0; i < QEMU_FILE_PORTS; i++)
			high[i] = fcntl(pipes[i][1], F_DUPFD, 64);
		for (int i = 0; i < QEMU_FILE_PORTS; i++)
			dup2(high[i], QEMU_PORT_FD0 + i);
		dup2(in[0], STDIN_FILENO);
		dup2(pipes[P_CTL][1], STDOUT_FILENO);
		dup2(pipes[P_QEMU][1], STDERR_FILENO);
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	close(in[0]);
	in[0] = -1;
	for (int i = 0; i < NR_P; i++) {
		close(pipes[i][1]);
		pipes[i][1] = -1;
		p[i] = (struct pollfd){ .fd = pipes[i][0], .events = POLLIN };
		open_fds++;
	}
	deadline = io->timeout_s ? t0 + io->timeout_s : 0;
	while (open_fds > 0) {
		double t = now_s();
		int timeout_ms = 250;

		/*
		 * ^C: the command is interrupted first, inside (it undoes what it
		 * did and reports as it would here); QEMU only when it does not
		 * end within QEMU_GRACE_S. The timeout stops QEMU at once.
		 */
		if (!end->interrupted && !term_sent && interrupt_signal()) {
			end->interrupted = true;
			proto_write_all(in[1], PROTO_INTERRUPT "\n", sizeof(PROTO_INTERRUPT));
			grace_end = t + QEMU_GRACE_S;
		}
		bool out_of_time = (deadline && t > deadline) || (grace_end && t > grace_end);

		/*
		 * /init silent past two of its "alive"s is nudged at once, for
		 * a CPU halted with no interrupt left to wake it (a wake-up lost
		 * in QEMU's emulation, mcefwd(1) "lab"): the sooner, the less a
		 * frozen kernel costs the command's own timeouts. Silent for
		 * quiet_s, it is stopped.
		 */
		if (io->quiet_s && cc.alive && !term_sent && !out_of_time &&
		    t - last_ctl > QEMU_NUDGE_S) {
			if (t - last_ctl > end->silent_s)
				end->silent_s = t - last_ctl;
			if (!nudged) {
				proto_write_all(in[1], "\n", 1);
				nudged = t;
				end->nudges++;
			} else if (t - last_ctl > io->quiet_s) {
				end->frozen = true;
			}
		}
		if (!term_sent && (out_of_time || end->frozen)) {
			if (out_of_time && !end->interrupted)
				end->timed_out = true;
			stop_qemu(pid, SIGTERM);
			term_sent = 1;
			kill_at = t + 3;
		}
		if (term_sent == 1 && t > kill_at) {
			stop_qemu(pid, SIGKILL);
			term_sent = 2;
		}
		if (poll(p, NR_P, timeout_ms) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < NR_P; i++) {
			char buf[65536];
			ssize_t n;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				open_fds--;
				continue;
			}
			switch (i) {
			case P_CONSOLE:
				if (io->console)
					fwrite(buf, 1, (size_t)n, io->console);
				exec_keep_tail(end->console_tail, sizeof(end->console_tail), buf, (size_t)n);
				split_lines(&con_lb, buf, (size_t)n, on_console_line, end);
				break;
			case P_OUT:
				proto_write_all(io->out_fd, buf, (size_t)n);
				break;
			case P_ERR:
				proto_write_all(io->err_fd, buf, (size_t)n);
				break;
			case P_CTL:
				last_ctl = now_s();
				if (nudged && last_ctl - nudged > end->woke_s)
					end->woke_s = last_ctl - nudged;
				nudged = 0;
				split_lines(&ctl_lb, buf, (size_t)n, on_control_line, &cc);
				break;
			default:
				exec_keep_tail(end->qemu_err, sizeof(end->qemu_err), buf, (size_t)n);
				break;
			}
		}
	}
	if (ctl_lb.len)
		split_lines(&ctl_lb, "\n", 1, on_control_line, &cc);
	if (io->console)
		fflush(io->console);
	while (waitpid(pid, &end->wait_status, 0) < 0) {
		if (errno != EINTR) {
			end->wait_status = -1;
			break;
		}
	}
	close(in[1]);
	end->started = !(WIFEXITED(end->wait_status) && WEXITSTATUS(end->wait_status) == 127 &&
			 strstr(end->qemu_err, "cannot run "));
	end->wall_s = now_s() - t0;
	return r;

err_close:
	for (int i = 0; i < 2; i++)
		if (in[i] >= 0)
			close(in[i]);
	for (int i = 0; i < NR_P; i++) {
		if (pipes[i][0] >= 0)
			close(pipes[i][0]);
		if (pipes[i][1] >= 0)
			close(pipes[i][1]);
	}
	return -saved;
}
