/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A target process pinned from the first check to the last write: a pidfd
 * (which never comes to mean another process, unlike a PID that is reused)
 * and the start time /proc/PID/stat gave when it was opened. Every /proc
 * read by PID between two pin_check()s that both succeed was of the same
 * process. Where pidfd_open() is not implemented (Linux before 5.3, or
 * valgrind, which does not know it before 3.20) the start time alone pins
 * it: a PID reused within the same clock tick (10 ms) would pass.
 */
#ifndef MCEFWD_INJECT_PIN_H
#define MCEFWD_INJECT_PIN_H

#include <stdint.h>
#include <sys/types.h>

struct pin {
	pid_t pid;			/* -1 once closed */
	int pidfd;			/* -1 when closed or not implemented */
	uint64_t start_time;		/* /proc/PID/stat field 22, clock ticks after boot */
};

/*
 * Pure: the state (field 3) and start time (field 22) of a /proc/PID/stat
 * line. The command name (field 2) may hold spaces and parentheses: fields
 * are counted from the last ')'. 0, or -EINVAL.
 */
int pin_parse_stat(const char *text, char *state, uint64_t *start_time);

/*
 * pidfd_open(pid) (-1 if ENOSYS: see above) and the start time; -ESRCH
 * when there is no such process (or it is a zombie), else -errno;
 * error_get() says why.
 */
int pin_open(pid_t pid, struct pin *p);

/*
 * 0 if p still names the live process it was opened on:
 * pidfd_send_signal(pidfd, 0) (without a pidfd, kill(pid, 0)) succeeds,
 * /proc/PID/stat is not a zombie's and gives the same start time. Else -ESRCH with error_get() saying what
 * changed (exited, PID now another process).
 */
int pin_check(const struct pin *p);

void pin_close(struct pin *p);

#endif /* MCEFWD_INJECT_PIN_H */
