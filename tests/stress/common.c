// SPDX-License-Identifier: GPL-2.0-only
/* What the stress programs share: see common.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/stress/common.h"

long long stress_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void stress_dump_stacks(const char *why)
{
	char pid[16];
	pid_t child;

	printf("# %s: every thread's stack follows\n", why);
	fflush(stdout);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	child = fork();
	if (child == 0) {
		dup2(STDOUT_FILENO, STDERR_FILENO);
		execlp("gdb", "gdb", "-batch", "-nx", "-ex", "thread apply all bt", "-p", pid,
		       (char *)NULL);
		printf("# gdb is not installed (apt-get install gdb): no stacks\n");
		_exit(127);
	}
	if (child > 0)
		waitpid(child, NULL, 0);
	else
		printf("# fork for gdb failed: no stacks\n");
	fflush(stdout);
}

struct stress_watchdog {
	const char *name;
	time_t deadline;
	void (*dump)(void *arg);
	void *arg;
};

static void *stress_watchdog(void *p)
{
	struct stress_watchdog *wd = p;

	while (time(NULL) < wd->deadline)
		sleep(1);
	wd->dump(wd->arg);
	printf("not ok 1 - %s: hung\n", wd->name);
	fflush(stdout);
	_exit(1);
	return NULL;
}

int stress_watchdog_start(const char *name, time_t deadline,
			  void (*dump)(void *arg), void *arg)
{
	/* Lives until the process exits: the thread may fire at any time. */
	static struct stress_watchdog wd;
	pthread_t t;
	int r;

	wd = (struct stress_watchdog){ name, deadline, dump, arg };
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	r = pthread_create(&t, NULL, stress_watchdog, &wd);
	if (r)
		return -r;
	pthread_detach(t);
	return 0;
}
