/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the stress programs (storm.c, kick-race.c) share: a clock, every
 * thread's stack on demand, and a watchdog that turns a hang into a
 * failing TAP line.
 */
#ifndef MCEFWD_TESTS_STRESS_COMMON_H
#define MCEFWD_TESTS_STRESS_COMMON_H

#include <time.h>

/* CLOCK_MONOTONIC in ns. */
long long stress_now_ns(void);

/*
 * "# WHY: every thread's stack follows", then gdb's "thread apply all bt"
 * of this process on stdout (or a line saying gdb is missing).
 */
void stress_dump_stacks(const char *why);

/*
 * Starts a detached thread that, once time(NULL) passes deadline, calls
 * dump(arg) (which should call stress_dump_stacks and add what the program
 * knows), prints "not ok 1 - NAME: hung" and exits 1. Lets gdb, forked
 * from this process, attach to it whatever Yama's ptrace_scope says.
 * 0, or -errno if the thread could not be started.
 */
int stress_watchdog_start(const char *name, time_t deadline,
			  void (*dump)(void *arg), void *arg);

#endif
