// SPDX-License-Identifier: GPL-2.0-only
/*
 * /init of the lab: PID 1 of the kernel the lab boots. It loads the modules
 * the host listed (virtio and 9p to reach the host's files, kvm_amd and
 * hwpoison_inject for the work), mounts the host's root file system,
 * read-only over virtio-9p, under a tmpfs overlay (the command may write
 * anywhere; nothing reaches the host), mounts /proc, /sys, /dev and debugfs
 * there, and runs the command in it, in the host's directory with the
 * host's environment. Its standard output and error go to the host on
 * ttyS1 and ttyS2; what happens is said on ttyS3 (proto.h); the kernel's
 * console is ttyS0. Then it powers the machine off. It decides nothing: the
 * host reads the ports and judges.
 *
 * Statically linked: nothing of the host's C library is reachable before
 * the host's root is mounted.
 */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "mcefwd/lab/proto.h"

#define MAX_ARGS	4096
#define MAX_ENV		4096
#define MAX_WROTE	20
/* After the command exits, how long its background children may still write. */
#define LINGER_MS	2000

static int ctl_fd = -1;
static int out_fd = -1, err_fd = -1;

static long uptime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* One control line; before the port is open, on the console. */
static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	proto_write_all(ctl_fd >= 0 ? ctl_fd : STDERR_FILENO, line, (size_t)n);
}

static void drain(int fd)
{
	if (fd >= 0)
		tcdrain(fd);
}

static void __attribute__((noreturn)) power_off(void)
{
	drain(out_fd);
	drain(err_fd);
	drain(ctl_fd);
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	char msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say("error %s", msg);
	power_off();
}

static void mount_or_fail(const char *src, const char *dst, const char *type,
			  unsigned long flags, const char *data)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, flags, data))
		fail("mount -t %s %s: %s", type, dst, strerror(errno));
}

/*
 * A serial port as a plain byte pipe: no newline translation, no echo, no
 * modem lines.
 */
static int open_port(const char *path, int mode)
{
	struct termios t;
	int fd = open(path, mode | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		t.c_cflag |= CLOCAL;
		t.c_cflag &= ~(tcflag_t)CRTSCTS;
		cfsetspeed(&t, B115200);
		tcsetattr(fd, TCSANOW, &t);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/* A whole file, to its end: /proc files say they are empty. */
static char *read_file(const char *path, size_t *len)
{
	size_t got = 0, cap = 4096;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = fd >= 0 ? malloc(cap) : NULL;

	while (buf) {
		ssize_t n;

		if (got + 1 == cap) {
			char *b = realloc(buf, cap * 2);

			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
		n = read(fd, buf + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	if (buf)
		buf[got] = '\0';
	*len = got;
	return buf;
}

/* The first line of a small file, without its newline ("?" if unreadable). */
static void first_line(const char *path, char *buf, size_t len)
{
	size_t n;
	char *s = read_file(path, &n);

	snprintf(buf, len, "%s", s ? s : "?");
	buf[strcspn(buf, "\n")] = '\0';
	free(s);
}

static void cpu_vendor(char *buf, size_t len)
{
	size_t n;
	char *s = read_file("/proc/cpuinfo", &n), *v;

	snprintf(buf, len, "unknown");
	v = s ? strstr(s, "vendor_id") : NULL;
	if (v && (v = strchr(v, ':'))) {
		v += 2;
		snprintf(buf, len, "%.*s", (int)strcspn(v, "\n"), v);
	}
	free(s);
}

static void load_module(const struct proto_mod *m)
{
	long t0 = uptime_ms();
	int fd = open(m->path, O_RDONLY | O_CLOEXEC), r;

	r = fd < 0 ? -1 : (int)syscall(SYS_finit_module, fd, m->params, 0);
	if (r && errno == EEXIST)
		r = 0;
	if (fd >= 0)
		close(fd);
	if (r == 0) {
		say("mod %s ok %ld", m->name, uptime_ms() - t0);
		return;
	}
	say("mod %s %s %d", m->name, m->required ? "failed" : "optional-failed", errno);
	if (m->required)
		fail("loading module %s (%s%s%s): %s", m->name, m->path, *m->params ? " " : "",
		     m->params, strerror(errno));
}

/* /dev/kvm as the lab offers it, and kvm_amd's parameters. */
static void report_kvm(char *summary, size_t len)
{
	static const char *const params[] = { "npt", "nested", "nrips", "avic" };
	char line[512], v[32];
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), api = -1, mce = -1;
	size_t pos = 0;

	if (fd >= 0) {
		api = ioctl(fd, KVM_GET_API_VERSION, 0);
		mce = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MCE);
		close(fd);
	}
	pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "api=%d mce=%d", api, mce);
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		char path[96];

		snprintf(path, sizeof(path), "/sys/module/kvm_amd/parameters/%s", params[i]);
		if (access(path, R_OK))
			continue;
		first_line(path, v, sizeof(v));
		pos += (size_t)snprintf(line + pos, sizeof(line) - pos, " %s=%s", params[i], v);
		if (pos >= sizeof(line))
			break;
	}
	say("kvm %s", line);
	snprintf(summary, len, "%s", line);
}

/*
 * What the command wrote outside the scratch directories: the files the
 * overlay's upper layer holds (a whiteout is a deletion). It was all thrown
 * away with the lab; the host says so.
 */
static void report_writes(const char *upper, const char *rel, int *left)
{
	char path[4096];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "%s%s", upper, rel);
	dir = opendir(path);
	while (dir && *left > 0 && (d = readdir(dir))) {
		char sub[4096];
		struct stat st;

		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", rel, d->d_name) >= (int)sizeof(sub))
			continue;
		if (!strcmp(sub, "/tmp") || !strcmp(sub, "/var/tmp") || !strcmp(sub, "/run") ||
		    !strcmp(sub, "/dev") || !strcmp(sub, "/proc") || !strcmp(sub, "/sys"))
			continue;
		if (snprintf(path, sizeof(path), "%s%s", upper, sub) >= (int)sizeof(path) ||
		    lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			report_writes(upper, sub, left);
			continue;
		}
		say("wrote %s%s", sub, S_ISCHR(st.st_mode) && st.st_rdev == 0 ? " (deleted)" : "");
		(*left)--;
	}
	if (dir)
		closedir(dir);
}

/*
 * Whether the host asked, on the control port, to interrupt the command
 * (the user's ^C there). One read, of what poll() said is there: the port
 * blocks, and any other line (the host's nudge) must not leave us waiting
 * for more.
 */
static bool interrupt_asked(void)
{
	static char line[64];
	static size_t len;
	bool asked = false;
	char buf[64];
	ssize_t n = read(ctl_fd, buf, sizeof(buf));

	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n' && buf[i] != '\r') {
			if (len < sizeof(line) - 1)
				line[len++] = buf[i];
			continue;
		}
		line[len] = '\0';
		len = 0;
		if (!strcmp(line, PROTO_INTERRUPT))
			asked = true;
	}
	return asked;
}

/*
 * Copies what the command writes to its pipes onto the ports, until both
 * close; passes the host's interrupt on to the command as SIGINT. Says
 * "alive" every PROTO_ALIVE_MS meanwhile: a kernel that still schedules us
 * has working timers, which the host watches for.
 */
static int relay(int out_r, int err_r, pid_t child)
{
	struct pollfd p[3] = { { out_r, POLLIN, 0 }, { err_r, POLLIN, 0 }, { ctl_fd, POLLIN, 0 } };
	int tty[2] = { out_fd, err_fd }, status = -1, open_pipes = 2;
	long child_done = -1, alive = uptime_ms();
	char buf[65536];

	while (open_pipes > 0) {
		pid_t w;
		int st;

		if (uptime_ms() - alive >= PROTO_ALIVE_MS) {
			alive = uptime_ms();
			say("alive %ld", alive);
		}

		while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
			if (w == child) {
				status = st;
				child_done = uptime_ms();
			}
		}
		if (child_done >= 0 && uptime_ms() - child_done > LINGER_MS) {
			/* Background processes still hold the pipes: end them. */
			kill(-1, SIGKILL);
			child_done = uptime_ms();
		}
		if (poll(p, 3, 100) < 0 && errno != EINTR)
			break;
		if ((p[2].revents & POLLIN) && interrupt_asked() && child_done < 0)
			kill(-child, SIGINT);	/* its process group: setsid() made it one */
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n > 0) {
				proto_write_all(tty[i], buf, (size_t)n);
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			close(p[i].fd);
			p[i].fd = -1;
			open_pipes--;
		}
	}
	while (status < 0) {
		int st;
		pid_t w = waitpid(-1, &st, 0);

		if (w < 0 && errno != EINTR)
			break;
		if (w == child)
			status = st;
	}
	return status;
}

int main(void)
{
	char *argv[MAX_ARGS + 1], *envp[MAX_ENV + 2];
	char release_vendor[256], kvm[512], boot_env[700], path[4096], *cfg;
	const char *cwd = "/", *share = PROTO_SHARE_TAG, *tag, *val;
	int nargs = 0, nenv = 0, out_p[2], err_p[2], status, left = MAX_WROTE;
	size_t len, pos = 0;
	struct utsname u;
	struct stat st;
	pid_t child;

	mount_or_fail("proc", "/proc", "proc", 0, NULL);
	mount_or_fail("sysfs", "/sys", "sysfs", 0, NULL);
	mount_or_fail("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	ctl_fd = open_port("/dev/ttyS3", O_RDWR);
	out_fd = open_port("/dev/ttyS1", O_WRONLY);
	err_fd = open_port("/dev/ttyS2", O_WRONLY);
	if (ctl_fd < 0 || out_fd < 0 || err_fd < 0)
		fail("the serial ports ttyS1-3 are missing (8250.nr_uarts=4 on the kernel command line?): %s",
		     strerror(errno));
	uname(&u);
	cpu_vendor(release_vendor, sizeof(release_vendor));
	say("up %ld release=%s vendor=%s", uptime_ms(), u.release, release_vendor);

	cfg = read_file(PROTO_CONFIG_PATH, &len);
	if (!cfg)
		fail("%s: %s", PROTO_CONFIG_PATH, strerror(errno));
	for (int r; (r = proto_next(cfg, len, &pos, &tag, &val)) != 0;) {
		if (r < 0)
			fail("%s is cut off at byte %zu", PROTO_CONFIG_PATH, pos);
		if (!strcmp(tag, "mod")) {
			struct proto_mod m;

			if (proto_mod_split((char *)val, &m))
				fail("%s: malformed module record", PROTO_CONFIG_PATH);
			load_module(&m);
		} else if (!strcmp(tag, "share")) {
			share = val;
		} else if (!strcmp(tag, "cwd")) {
			cwd = val;
		} else if (!strcmp(tag, "env") && nenv < MAX_ENV) {
			envp[nenv++] = (char *)val;
		} else if (!strcmp(tag, "arg") && nargs < MAX_ARGS) {
			argv[nargs++] = (char *)val;
		}
	}
	argv[nargs] = NULL;
	if (!nargs)
		fail("%s names no command", PROTO_CONFIG_PATH);
	report_kvm(kvm, sizeof(kvm));

	mount_or_fail(share, "/lower", "9p", MS_RDONLY,
		      "trans=virtio,version=9p2000.L,msize=262144");
	mount_or_fail("tmpfs", "/rw", "tmpfs", 0, "mode=0755");
	mkdir("/rw/upper", 0755);
	mkdir("/rw/work", 0755);
	mount_or_fail("overlay", "/newroot", "overlay", 0,
		      "lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work");
	mount_or_fail("proc", "/newroot/proc", "proc", 0, NULL);
	mount_or_fail("sysfs", "/newroot/sys", "sysfs", 0, NULL);
	mount_or_fail("debugfs", "/newroot/sys/kernel/debug", "debugfs", 0, NULL);
	mount_or_fail("devtmpfs", "/newroot/dev", "devtmpfs", 0, NULL);
	mount_or_fail("devpts", "/newroot/dev/pts", "devpts", 0, "newinstance,ptmxmode=0666");
	mount_or_fail("tmpfs", "/newroot/dev/shm", "tmpfs", 0, "mode=1777");
	snprintf(path, sizeof(path), "/newroot%s", cwd);
	if (cwd[0] != '/' || stat(path, &st) || !S_ISDIR(st.st_mode))
		fail("the command's directory %s is not there in the lab: %s", cwd,
		     cwd[0] != '/' ? "not an absolute path" : strerror(errno));

	snprintf(boot_env, sizeof(boot_env), "MCEFWD_LAB_BOOT=booted in %.1f s; /dev/kvm: %s",
		 (double)uptime_ms() / 1000.0, kvm);
	envp[nenv++] = boot_env;
	envp[nenv] = NULL;
	if (pipe2(out_p, O_CLOEXEC) || pipe2(err_p, O_CLOEXEC))
		fail("pipe: %s", strerror(errno));
	say("run %ld", uptime_ms());
	child = fork();
	if (child < 0)
		fail("fork: %s", strerror(errno));
	if (child == 0) {
		int null = open("/dev/null", O_RDWR);

		setsid();
		if (chroot("/newroot") || chdir(cwd)) {
			dprintf(err_p[1], "mcefwd lab: chroot to the host's root, then %s: %s\n", cwd,
				strerror(errno));
			_exit(127);
		}
		dup2(null, STDIN_FILENO);
		dup2(out_p[1], STDOUT_FILENO);
		dup2(err_p[1], STDERR_FILENO);
		execvpe(argv[0], argv, envp);
		dprintf(STDERR_FILENO, "mcefwd lab: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out_p[1]);
	close(err_p[1]);
	status = relay(out_p[0], err_p[0], child);
	kill(-1, SIGKILL);
	report_writes("/rw/upper", "", &left);
	if (status >= 0 && WIFSIGNALED(status))
		say("signal %d", WTERMSIG(status));
	else
		say("exit %d", status >= 0 ? WEXITSTATUS(status) : 255);
	power_off();
}
