/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the integration tests count in /proc/self to prove nothing was
 * left behind: shared by test_vm.c and the LD_PRELOAD audit shim
 * (badinput-shim.c), which must not link anything of mcefwd's.
 */
#ifndef MCEFWD_TESTS_INTEGRATION_PROCSELF_H
#define MCEFWD_TESTS_INTEGRATION_PROCSELF_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>

/*
 * Threads named vcpu-N: mcefwd names every vCPU thread so. Counting them,
 * not all threads, keeps a sanitizer's own thread (TSan) out of it.
 */
static inline int procself_vcpu_threads(void)
{
	char path[300], comm[32];
	struct dirent *e;
	int n = 0;
	DIR *d = opendir("/proc/self/task");

	while (d && (e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "re");
		if (f && fgets(comm, sizeof(comm), f) && !strncmp(comm, "vcpu-", 5))
			n++;
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

#endif
