// SPDX-License-Identifier: GPL-2.0-only
/*
 * One QEMU session: QEMU started with its guest's console, COM1 and a QMP
 * monitor connected to sockets we listen on (so nothing races QEMU's
 * start), and a second QMP monitor for mcefwd-inject; then one poll loop
 * over the console (the guest's ucalls, abi.h "Under QEMU"), QMP (events),
 * QEMU's stderr and its pidfd, until QEMU has gone. QEMU dies with us
 * (PR_SET_PDEATHSIG) and is always reaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inject/qmp.h"
#include "mcefwd/qemu/qemu_int.h"
#include "mcefwd/util/error.h"
#include "mcefwd/util/io.h"
#include "mcefwd/util/ktap.h"
#include "mcefwd/vmm/pvh.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* What QEMU may take to start and connect to us; the lab emulates every instruction. */
#define QS_CONNECT_MS	60000
/* How long a WAIT waits for QEMU's events before it is answered anyway. */
#define QS_WAIT_MS	10000

static uint64_t qs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void qs_fail(struct qemu_session *s, const char *fmt, ...)
{
	va_list ap;

	if (s->failure[0])
		return;
	va_start(ap, fmt);
	vsnprintf(s->failure, sizeof(s->failure), fmt, ap);
	va_end(ap);
}

static int qs_listen(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return error_set(ENAMETOOLONG, "%s: too long for a socket", path);
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_set(errno, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0) {
		int e = errno;

		close(fd);
		return error_set(e, "%s: %s", path, strerror(e));
	}
	return fd;
}

/* ---- QEMU's stderr ---- */

static void qs_err_input(struct qemu_session *s, const char *buf, size_t n)
{
	const char *needle = "of type BUS_MCEERR_AR injected";

	if (n > sizeof(s->errbuf) - 1 - s->errlen) {
		size_t drop = n + s->errlen - (sizeof(s->errbuf) - 1);

		drop = drop > s->errlen ? s->errlen : drop;
		memmove(s->errbuf, s->errbuf + drop, s->errlen - drop);
		s->errlen -= drop;
		if (n > sizeof(s->errbuf) - 1) {
			buf += n - (sizeof(s->errbuf) - 1);
			n = sizeof(s->errbuf) - 1;
		}
	}
	memcpy(s->errbuf + s->errlen, buf, n);
	s->errlen += n;
	s->errbuf[s->errlen] = '\0';
	/*
	 * kvm_arch_on_sigbus_vcpu (target/i386/kvm/kvm.c) reports every AR it
	 * hands to the guest; whether the guest got it is do_inject_x86_mce's
	 * call, which drops it silently for a disabled bank: then the access
	 * faults again, for ever. Counted per line as it arrives.
	 */
	for (const char *p = buf; (p = memmem(p, (size_t)(buf + n - p), needle, strlen(needle)));
	     p += strlen(needle)) {
		s->ar_lines++;
		s->ar_run++;
	}
}

void qs_show_stderr(struct qemu_session *s)
{
	char *save = NULL;

	if (!s->errlen)
		return;
	ktap_diag(s->k, "QEMU's stderr (its last %zu bytes):", s->errlen);
	for (char *l = strtok_r(s->errbuf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		ktap_diag(s->k, "  %s", l);
	s->errlen = 0;
}

/* ---- QMP ---- */

/*
 * The string value of "key" in a QMP event's data, unescaped enough for
 * what QEMU sends there (which event, and a return or an error, is
 * qmp_parse's).
 */
static bool qs_json_str(const char *line, const char *key, char *out, size_t len)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\": \"", key);
	p = strstr(line, pat);
	if (!p)
		return false;
	for (p += strlen(pat); *p && *p != '"' && n + 1 < len; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			out[n++] = *p == 'n' ? '\n' : *p == 'r' ? '\r' : *p;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	return true;
}

static bool qs_json_true(const char *line, const char *key)
{
	char pat[64];

	snprintf(pat, sizeof(pat), "\"%s\": true", key);
	return strstr(line, pat) != NULL;
}

static void qs_qmp_line(struct qemu_session *s, const char *line)
{
	struct qmp_reply r;
	const char *ev = r.text;
	char v[64];

	if (qmp_parse(line, &r) < 0) {
		ktap_diag(s->k, "%s", error_get());
		return;
	}
	if (r.kind == QMP_EVENT) {
		if (!strcmp(ev, "MEMORY_FAILURE") && s->nr_mf < QEMU_MAX_MF) {
			struct qemu_mf *m = &s->mf[s->nr_mf++];

			m->guest = qs_json_str(line, "recipient", v, sizeof(v)) && !strcmp(v, "guest");
			if (!qs_json_str(line, "action", m->action, sizeof(m->action)))
				snprintf(m->action, sizeof(m->action), "?");
			m->ar = qs_json_true(line, "action-required");
			m->recursive = qs_json_true(line, "recursive");
			ktap_diag(s->k, "QMP MEMORY_FAILURE: recipient %s, action %s%s%s",
				  m->guest ? "guest" : "hypervisor", m->action,
				  m->ar ? ", action-required" : "", m->recursive ? ", recursive" : "");
		} else if (!strcmp(ev, "SHUTDOWN") || !strcmp(ev, "RESET")) {
			if (!qs_json_str(line, "reason", s->shutdown_reason, sizeof(s->shutdown_reason)))
				snprintf(s->shutdown_reason, sizeof(s->shutdown_reason), "%.16s", ev);
			ktap_diag(s->k, "QMP %s: %s", ev, s->shutdown_reason);
		}
		return;
	}
	if (r.kind == QMP_RETURN || r.kind == QMP_ERROR) {
		snprintf(s->qret, sizeof(s->qret), "%s",
			 r.kind == QMP_ERROR && !r.text[0] ? line : r.text);
		s->qret_error = r.kind == QMP_ERROR;
		s->qret_ready = true;
	}
}

void qs_qmp_input(struct qemu_session *s, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			s->qbuf[s->qlen] = '\0';
			qs_qmp_line(s, s->qbuf);
			s->qlen = 0;
		} else if (s->qlen < sizeof(s->qbuf) - 1) {
			s->qbuf[s->qlen++] = buf[i];
		}
	}
}

/* ---- the guest's console ---- */

static int qs_hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void qs_ucall(struct qemu_session *s, const struct mcefwd_ucall *u)
{
	unsigned int v = u->vcpu;

	s->ar_run = 0;
	if (v >= s->nr_vcpus || v >= QEMU_MAX_VCPUS) {
		qs_fail(s, "a ucall from vCPU %u, QEMU runs %u", v, s->nr_vcpus);
		return;
	}
	s->spoke[v] = true;
	switch (u->type) {
	case MCEFWD_UCALL_PRINT:
		ktap_diag(s->k, "guest: %.*s", MCEFWD_TEXT_MAX, u->u.text);
		break;
	case MCEFWD_UCALL_REPORT:
		if (u->u.report.pass) {
			s->reports_passed++;
		} else {
			s->reports_failed++;
			ktap_diag(s->k, "guest check failed at %.48s:%u: %.*s", u->u.report.file,
				  u->u.report.line, MCEFWD_TEXT_MAX, u->u.report.cond);
		}
		break;
	case MCEFWD_UCALL_EXCEPTION:
		s->exception = true;
		s->exc = u->u.exception;
		ktap_diag(s->k, "guest: unexpected exception %lu at RIP 0x%lx (error code 0x%lx, CR2 0x%lx)",
			  (unsigned long)s->exc.vector, (unsigned long)s->exc.rip,
			  (unsigned long)s->exc.error_code, (unsigned long)s->exc.cr2);
		break;
	case MCEFWD_UCALL_MCE:
		if (s->nr_mce < QEMU_MAX_MCE) {
			s->mce[s->nr_mce] = u->u.mce;
			s->mce_vcpu[s->nr_mce] = v;
		}
		s->nr_mce++;
		break;
	case MCEFWD_UCALL_READY:
	case MCEFWD_UCALL_WAIT:
		if (s->request[v])
			qs_fail(s, "vCPU %u asked again before its last request was answered", v);
		s->request[v] = true;
		s->req[v] = *u;
		s->req_deadline[v] = qs_now_ms() + QS_WAIT_MS;
		break;
	case MCEFWD_UCALL_EXIT:
		if (s->vcpu_exited[v])
			qs_fail(s, "vCPU %u exited twice", v);
		s->vcpu_exited[v] = true;
		s->vcpu_exit_code[v] = (uint32_t)u->value[0];
		break;
	case MCEFWD_UCALL_VALUE:
		if (u->value[0] == MCEFWD_VALUE_VENDOR) {
			char name[13];

			memcpy(name, &u->value[1], 8);
			memcpy(name + 8, &u->value[2], 4);
			name[12] = '\0';
			if (s->vendor_known)
				break;	/* every vCPU says it; the first is named */
			s->vendor_known = true;
			s->guest_amd = !strcmp(name, "AuthenticAMD");
			s->guest_version = (uint32_t)u->value[3];
			ktap_diag(s->k, "the guest's CPU: %s, CPUID 1 EAX 0x%x", name,
				  s->guest_version);
		}
		break;
	case MCEFWD_UCALL_HELLO:
		s->hello[v]++;
		s->hello_id[v] = u->value[0];
		break;
	default:
		qs_fail(s, "the guest sent a ucall of unknown type %u", u->type);
		break;
	}
}

static void qs_con_line(struct qemu_session *s, const char *l, size_t n)
{
	struct mcefwd_ucall u;
	uint8_t *b = (uint8_t *)&u;

	if (n < 2 || l[0] != '@' || l[1] != MCEFWD_QEMU_LINE) {
		ktap_diag(s->k, "guest console: %.*s", (int)n, l);
		return;
	}
	memset(&u, 0, sizeof(u));
	if ((n - 2) % 2 || (n - 2) / 2 > sizeof(u)) {
		qs_fail(s, "a ucall line of %zu characters is not a record", n);
		return;
	}
	for (size_t i = 0; i < (n - 2) / 2; i++) {
		int hi = qs_hex(l[2 + 2 * i]), lo = qs_hex(l[3 + 2 * i]);

		if (hi < 0 || lo < 0) {
			qs_fail(s, "a ucall line holds something other than hex");
			return;
		}
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	if (u.magic != MCEFWD_UCALL_MAGIC) {
		qs_fail(s, "a ucall line without the ucall magic");
		return;
	}
	qs_ucall(s, &u);
}

void qs_console_input(struct qemu_session *s, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = buf[i];
		unsigned int d;

		if (c == '@' && s->depth < 4) {
			s->line_len[s->depth++] = 0;
		} else if (c == '\n') {
			if (s->depth) {
				d = --s->depth;
				qs_con_line(s, s->line[d], s->line_len[d]);
			}
			continue;
		} else if (!s->depth) {
			s->line_len[s->depth++] = 0;
		}
		d = s->depth - 1;
		if (s->line_len[d] < sizeof(s->line[d]))
			s->line[d][s->line_len[d]++] = c;
	}
}

/* ---- the loop ---- */

static void qs_reap(struct qemu_session *s, bool block)
{
	int st;
	pid_t r;

	if (s->reaped || s->pid <= 0)
		return;
	do
		r = waitpid(s->pid, &st, block ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == s->pid) {
		s->reaped = true;
		s->status = st;
	}
}

static void qs_kill(struct qemu_session *s)
{
	if (s->pid > 0 && !s->reaped) {
		s->killed = true;
		kill(s->pid, SIGKILL);
		qs_reap(s, true);
	}
}

bool qs_poll(struct qemu_session *s, int ms)
{
	struct pollfd p[4] = {
		{ .fd = s->con, .events = POLLIN }, { .fd = s->qmp, .events = POLLIN },
		{ .fd = s->err, .events = POLLIN }, { .fd = s->pidfd, .events = POLLIN },
	};
	char buf[4096];
	bool any = false;

	if (s->pidfd < 0 && !s->reaped)
		ms = ms > 50 ? 50 : ms;
	if (poll(p, 4, ms) < 0 && errno != EINTR)
		return false;
	for (int i = 0; i < 3; i++) {
		ssize_t n;

		if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(p[i].fd, buf, sizeof(buf));
		if (n > 0) {
			any = true;
			if (i == 0)
				qs_console_input(s, buf, (size_t)n);
			else if (i == 1)
				qs_qmp_input(s, buf, (size_t)n);
			else
				qs_err_input(s, buf, (size_t)n);
		}
	}
	if (!s->reaped)
		qs_reap(s, false);
	return !s->reaped || any;
}

static bool qs_gone(struct qemu_session *s)
{
	return s->reaped;
}

int qs_gpa2hva(struct qemu_session *s, uint64_t gpa, uint64_t *hva, unsigned int timeout_ms)
{
	char cmd[160];
	uint64_t end = qs_now_ms() + timeout_ms;

	snprintf(cmd, sizeof(cmd),
		 "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"gpa2hva 0x%llx\"}}\n",
		 (unsigned long long)gpa);
	s->qret_ready = false;
	if (io_send_all(s->qmp, cmd, strlen(cmd)) < 0)
		return error_set(EPIPE, "QMP: QEMU is gone");
	while (!s->qret_ready && !qs_gone(s) && qs_now_ms() < end)
		qs_poll(s, 100);
	if (!s->qret_ready)
		return error_set(ETIMEDOUT, "QMP gpa2hva 0x%llx: no answer", (unsigned long long)gpa);
	if (s->qret_error)
		return error_set(EPROTO, "QMP gpa2hva 0x%llx: %s", (unsigned long long)gpa, s->qret);
	/* The injector's reading of QEMU's answer, or QEMU's reason in its words. */
	return qmp_parse_gpa2hva(s->qret, gpa, hva, NULL, 0);
}

void qs_wait_events(struct qemu_session *s, unsigned int n, unsigned int timeout_ms)
{
	uint64_t end = qs_now_ms() + timeout_ms;

	while (s->nr_mf < n && !qs_gone(s) && qs_now_ms() < end)
		qs_poll(s, 100);
	/* What came with the event (the #MC's record) may still be on its way. */
	for (int i = 0; i < 3; i++)
		if (!qs_poll(s, 20))
			break;
}

void qs_ack(struct qemu_session *s, unsigned int vcpu)
{
	unsigned int delivered = 0;
	char a[64];

	for (unsigned int i = 0; i < s->nr_mf && i < QEMU_MAX_MF; i++)
		delivered += s->mf[i].guest && !strcmp(s->mf[i].action, "inject");
	snprintf(a, sizeof(a), "A %u %u %u\n", vcpu, s->nr_mf, delivered);
	int r = qs_gone(s) ? 0 : io_send_all(s->ser, a, strlen(a));

	/* A QEMU that ended meanwhile (a reset, exit(1)) is judged by its outcome. */
	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		qs_fail(s, "could not answer the guest on COM1: %s", strerror(-r));
}

void qs_run(struct qemu_session *s, unsigned int timeout_ms)
{
	uint64_t end = qs_now_ms() + timeout_ms;

	while (qs_poll(s, 200)) {
		/*
		 * Each vCPU's request in turn: a READY at once, a WAIT once
		 * QEMU has sent its events (or gave up), so one vCPU's WAIT
		 * never holds up another's READY.
		 */
		for (unsigned int v = 0; v < s->nr_vcpus && v < QEMU_MAX_VCPUS; v++) {
			struct mcefwd_ucall u = s->req[v];

			if (!s->request[v])
				continue;
			if (u.type == MCEFWD_UCALL_WAIT && s->nr_mf < u.value[0] &&
			    qs_now_ms() < s->req_deadline[v] && !qs_gone(s))
				continue;
			s->request[v] = false;
			if (u.type == MCEFWD_UCALL_WAIT)
				qs_wait_events(s, (unsigned int)u.value[0], 0);
			else if (s->ready && s->ready(s, &u, s->priv) < 0)
				qs_kill(s);
			qs_ack(s, v);
		}
		if (s->ar_run >= QEMU_REFAULT_LIMIT && !s->reaped) {
			s->outcome = QO_REFAULT;
			ktap_diag(s->k, "QEMU handed the guest the same AR %u times with nothing in between: a re-fault loop, stopped",
				  s->ar_run);
			qs_kill(s);
		}
		if (!s->reaped && qs_now_ms() > end) {
			s->outcome = QO_TIMEOUT;
			ktap_diag(s->k, "QEMU still running after %u ms: killed", timeout_ms);
			qs_kill(s);
		}
	}
	qs_reap(s, true);
	if (s->outcome != QO_NONE)
		return;
	if (s->killed) {
		s->outcome = QO_STOPPED;
	} else if (WIFSIGNALED(s->status)) {
		s->outcome = QO_SIGNAL;
		ktap_diag(s->k, "QEMU died of signal %d (%s), not sent by mcefwd",
			  WTERMSIG(s->status), strsignal(WTERMSIG(s->status)));
	} else if (s->vcpu_exited[0] &&
		   (uint32_t)WEXITSTATUS(s->status) == ((s->vcpu_exit_code[0] << 1 | 1) & 0xff))
		s->outcome = QO_EXIT;
	else if (!s->vcpu_exited[0] && WEXITSTATUS(s->status) == 0 && !strcmp(s->shutdown_reason, "guest-reset"))
		s->outcome = QO_RESET;
	else
		s->outcome = QO_QEMU_EXIT;
}

void qs_check_exits(struct qemu_session *s, struct run_result *res)
{
	for (unsigned int v = 0; v < s->nr_vcpus && v < QEMU_MAX_VCPUS; v++) {
		if (!s->spoke[v])
			run_fail(res, "vCPU %u never said anything (not started, or parked out of range)", v);
		else if (!s->vcpu_exited[v])
			run_fail(res, "vCPU %u did not exit", v);
		else if (s->vcpu_exit_code[v])
			run_fail(res, "vCPU %u exited with %u", v, s->vcpu_exit_code[v]);
	}
}


/* ---- start and end ---- */

static int qs_accept(struct qemu_session *s, int l, const char *what)
{
	uint64_t end = qs_now_ms() + QS_CONNECT_MS;
	struct pollfd p = { .fd = l, .events = POLLIN };
	int fd;

	while (qs_now_ms() < end) {
		if (poll(&p, 1, 100) > 0) {
			fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				return fd;
		}
		qs_reap(s, false);
		if (s->reaped)
			break;
		/* What QEMU says while starting, so a refusal shows. */
		qs_poll(s, 0);
	}
	return error_set(ECONNREFUSED, "QEMU %s before connecting its %s",
			 s->reaped ? "exited" : "did not start in time", what);
}

static void qs_argv(struct qemu_session *s, const char *cpu, bool memfd, char **a, char *bufs,
		    size_t blen)
{
	int n = 0;
	size_t used = 0;

#define ARG(...) (a[n++] = bufs + used, used += (size_t)snprintf(bufs + used, blen - used, __VA_ARGS__) + 1)
	a[n++] = (char *)s->vmm->path;
	ARG("-accel"); ARG("kvm");
	if (memfd) {
		/* Guest RAM as a memfd of its own: it can be mapped from outside. */
		ARG("-object"); ARG("memory-backend-memfd,id=ram,size=16M");
		ARG("-machine"); ARG("microvm,memory-backend=ram");
	} else {
		ARG("-machine"); ARG("microvm");
	}
	ARG("-cpu"); ARG("%s", cpu);
	ARG("-smp"); ARG("%u", s->nr_vcpus);
	ARG("-m"); ARG("16M");
	ARG("-nodefaults"); ARG("-no-user-config");
	ARG("-display"); ARG("none");
	/* A guest reset ends QEMU: what a reset looks like, then, is its exit. */
	ARG("-no-reboot");
	ARG("-kernel"); ARG("%s", s->kernel);
	/* How many vCPUs vCPU 0 starts (runtime/qemu.c). */
	ARG("-append"); ARG(MCEFWD_QEMU_VCPUS "%u", s->nr_vcpus);
	ARG("-chardev"); ARG("socket,id=con,path=%s", s->con_path);
	ARG("-device"); ARG("isa-debugcon,iobase=0x%x,chardev=con", MCEFWD_PORT_CONSOLE);
	ARG("-chardev"); ARG("socket,id=ser,path=%s", s->ser_path);
	ARG("-device"); ARG("isa-serial,iobase=0x%x,irq=4,chardev=ser", MCEFWD_PORT_COM1);
	ARG("-device"); ARG("isa-debug-exit,iobase=0x%x,iosize=4", MCEFWD_PORT_EXIT);
	ARG("-chardev"); ARG("socket,id=qmp,path=%s", s->qmp_path);
	ARG("-mon"); ARG("chardev=qmp,mode=control");
	ARG("-qmp"); ARG("unix:%s,server=on,wait=off", s->inj_qmp);
#undef ARG
	a[n] = NULL;
}

int qs_exec(char *const argv[], bool confined, pid_t *pid, int *out)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return error_set(errno, "pipe: %s", strerror(errno));
	*pid = fork();
	if (*pid < 0) {
		close(p[0]);
		close(p[1]);
		return error_set(errno, "fork: %s", strerror(errno));
	}
	if (*pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		if (confined) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			/*
			 * No capability mcefwd gave up comes back with the exec
			 * (root's would: security/commoncap.c caps an exec under
			 * no_new_privs at the old permitted set). QEMU needs none
			 * for /dev/kvm, and with no more than ours mcefwd may
			 * read its /proc files.
			 */
			prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		}
		if (nul >= 0)
			dup2(nul, STDIN_FILENO);
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		execv(argv[0], argv);
		dprintf(STDERR_FILENO, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	*out = p[0];
	return 0;
}

static int qs_spawn(struct qemu_session *s, const char *cpu, bool memfd)
{
	char *argv[48], bufs[4096], line[1200];
	size_t used = 0;
	int r;

	qs_argv(s, cpu, memfd, argv, bufs, sizeof(bufs));
	r = qs_exec(argv, true, &s->pid, &s->err);
	if (r < 0)
		return r;
	s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	for (int i = 0; argv[i] && used < sizeof(line) - 1; i++)
		used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%s", i ? " " : "",
					 argv[i]);
	ktap_diag(s->k, "%s", line);
	return 0;
}

static int qs_qmp_handshake(struct qemu_session *s)
{
	static const char caps[] = "{\"execute\": \"qmp_capabilities\"}\n";
	uint64_t end = qs_now_ms() + QS_CONNECT_MS;

	s->qret_ready = false;
	if (io_send_all(s->qmp, caps, strlen(caps)) < 0)
		return error_set(EPIPE, "QMP: QEMU is gone");
	while (!s->qret_ready && !qs_gone(s) && qs_now_ms() < end)
		qs_poll(s, 100);
	if (s->qret_ready && !s->qret_error)
		return 0;
	if (qs_gone(s)) {
		char last[256] = "";
		const char *p = s->errbuf + s->errlen;

		/* Its last line says why: QEMU reports errors on stderr. */
		while (p > s->errbuf && (p[-1] == '\n' || p[-1] == '\r'))
			p--;
		while (p > s->errbuf && p[-1] != '\n')
			p--;
		snprintf(last, sizeof(last), "%.*s", (int)strcspn(p, "\r\n"), p);
		/*
		 * Seen on a nested host: -cpu host and max abort setting
		 * MSR_IA32_ARCH_CAPABILITIES (0x10a), a model such as qemu64 runs.
		 */
		return error_set(ECHILD, "QEMU ended as it started (%s %d)%s%s%s",
				 WIFSIGNALED(s->status) ? "signal" : "exit status",
				 WIFSIGNALED(s->status) ? WTERMSIG(s->status) : WEXITSTATUS(s->status),
				 last[0] ? ": " : "", last,
				 strstr(s->errbuf, "failed to set MSR") ?
				 " (this host's KVM cannot run that -cpu model: try --qemu-cpu=qemu64)" : "");
	}
	return error_set(EPROTO, "QMP: no answer to qmp_capabilities%s%s",
			 s->qret_error ? ": " : "", s->qret_error ? s->qret : "");
}

int qs_start(struct qemu_session *s, const struct qemu_vmm *q, const struct payload *p,
	     const char *cpu, unsigned int nr_vcpus, bool memfd, struct ktap *k)
{
	const char *tmp = getenv("TMPDIR");
	int r;

	s->vmm = q;
	s->k = k;
	s->nr_vcpus = nr_vcpus;
	if (!nr_vcpus || nr_vcpus > QEMU_MAX_VCPUS)
		return error_set(EINVAL, "%u vCPUs: under QEMU mcefwd runs 1 to %u", nr_vcpus,
				 QEMU_MAX_VCPUS);
	s->con_l = s->ser_l = s->qmp_l = s->con = s->ser = s->qmp = s->err = s->pidfd = -1;
	snprintf(s->dir, sizeof(s->dir), "%s/mcefwd-qemu.XXXXXX",
		 tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	if (!mkdtemp(s->dir)) {
		r = error_set(errno, "mkdtemp %s: %s", s->dir, strerror(errno));
		s->dir[0] = '\0';
		return r;
	}
	snprintf(s->kernel, sizeof(s->kernel), "%s/%s.pvh", s->dir, p->name);
	snprintf(s->con_path, sizeof(s->con_path), "%s/con", s->dir);
	snprintf(s->ser_path, sizeof(s->ser_path), "%s/com1", s->dir);
	snprintf(s->qmp_path, sizeof(s->qmp_path), "%s/qmp", s->dir);
	snprintf(s->inj_qmp, sizeof(s->inj_qmp), "%s/qmp-inject", s->dir);
	r = pvh_write(p->image, p->image_len, MCEFWD_PVH_MAGIC, s->kernel);
	if (r < 0)
		return error_wrap(-r, "%s as a PVH kernel", p->name);
	s->con_l = qs_listen(s->con_path);
	s->ser_l = s->con_l < 0 ? -1 : qs_listen(s->ser_path);
	s->qmp_l = s->ser_l < 0 ? -1 : qs_listen(s->qmp_path);
	if (s->qmp_l < 0)
		return -EIO;
	r = qs_spawn(s, cpu, memfd);
	if (r < 0)
		return r;
	/* QEMU opens its chardevs in command-line order. */
	s->con = qs_accept(s, s->con_l, "console");
	if (s->con >= 0)
		s->ser = qs_accept(s, s->ser_l, "COM1");
	if (s->ser >= 0)
		s->qmp = qs_accept(s, s->qmp_l, "QMP monitor");
	if (s->qmp < 0) {
		qs_show_stderr(s);
		return -ECONNREFUSED;
	}
	return qs_qmp_handshake(s);
}

void qs_end(struct qemu_session *s)
{
	int *fds[] = { &s->con_l, &s->ser_l, &s->qmp_l, &s->con, &s->ser, &s->qmp, &s->err,
		       &s->pidfd };

	qs_kill(s);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	if (!s->dir[0])
		return;
	unlink(s->kernel);
	unlink(s->con_path);
	unlink(s->ser_path);
	unlink(s->qmp_path);
	unlink(s->inj_qmp);
	rmdir(s->dir);
	s->dir[0] = '\0';
}
