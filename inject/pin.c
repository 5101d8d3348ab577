// SPDX-License-Identifier: GPL-2.0-only
/* A target pinned by a pidfd and its start time (pin.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "inject/pin.h"
#include "mcefwd/util/error.h"
#include "mcefwd/util/io.h"

/* Linux 5.1 and 5.3; the same number on every architecture. */
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

int pin_parse_stat(const char *text, char *state, uint64_t *start_time)
{
	const char *p = text ? strrchr(text, ')') : NULL;
	unsigned long long v;
	char *end;

	/* ") S ppid ...": field 3 is the state, field 22 the start time. */
	if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
		return -EINVAL;
	*state = p[2];
	p += 3;		/* the blank before field 4 */
	for (int field = 4; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EINVAL;
	}
	errno = 0;
	v = strtoull(p + 1, &end, 10);
	if (errno || end == p + 1 || (*end != ' ' && *end != '\n' && *end))
		return -EINVAL;
	*start_time = v;
	return 0;
}

/* State and start time of pid now; -ESRCH if it is gone or a zombie. */
static int pin_read_stat(pid_t pid, char *state, uint64_t *start_time)
{
	char path[64], text[1024];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	/* ENOENT: it is gone; ESRCH from the read: it exited after the open. */
	n = io_read_text(path, text, sizeof(text));
	if (n <= 0)
		return error_set(n == -ENOENT ? ESRCH : n < 0 ? (int)-n : EIO, "%s: %s", path,
				 n < 0 ? strerror((int)-n) : "empty");
	if (pin_parse_stat(text, state, start_time))
		return error_set(EINVAL, "%s: cannot parse \"%.60s\"", path, text);
	if (*state == 'Z' || *state == 'X')
		return error_set(ESRCH, "pid %d has exited (state %c)", (int)pid, *state);
	return 0;
}

int pin_open(pid_t pid, struct pin *p)
{
	char state;
	int r;

	p->pid = pid;
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (p->pidfd < 0 && errno != ENOSYS) {
		r = errno;
		p->pid = -1;
		if (r == ESRCH)
			return error_set(ESRCH, "no process %d", (int)pid);
		return error_set(r, "pidfd_open(%d): %s%s", (int)pid, strerror(r),
				 r == EINVAL ? " (a thread's id? give the process's)" : "");
	}
	r = pin_read_stat(pid, &state, &p->start_time);
	if (r < 0) {
		pin_close(p);
		return r;
	}
	return 0;
}

int pin_check(const struct pin *p)
{
	uint64_t start;
	char state;
	int r;

	if (p->pid <= 0)
		return error_set(EBADF, "no process is pinned");
	if (p->pidfd >= 0 ? syscall(SYS_pidfd_send_signal, p->pidfd, 0, NULL, 0) < 0 :
			    kill(p->pid, 0) < 0) {
		r = errno;
		return error_set(r == ESRCH ? ESRCH : r, "pid %d %s", (int)p->pid,
				 r == ESRCH ? "has exited" : strerror(r));
	}
	r = pin_read_stat(p->pid, &state, &start);
	if (r < 0)
		return r;
	if (start != p->start_time)
		return error_set(ESRCH,
				 "pid %d is another process now (started at tick %" PRIu64
				 ", not %" PRIu64 "): the target exited and its PID was reused",
				 (int)p->pid, start, p->start_time);
	return 0;
}

void pin_close(struct pin *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
	p->pid = -1;
}
