// SPDX-License-Identifier: GPL-2.0-only
/*
 * LD_PRELOAD helper for tests/integration/badinput.sh; never linked into
 * mcefwd itself.
 *
 * MCEFWD_SHIM_NO_CAPS=MCE,IMMEDIATE_EXIT,...: KVM_CHECK_EXTENSION answers 0
 * for those capabilities, as a host without them would.
 *
 * MCEFWD_SHIM_AUDIT=FILE: when the process exits normally, writes to FILE
 * how many threads it still has ("threads N"), how many of them are
 * mcefwd's vCPU threads ("vcpu-threads N"), every file descriptor it opened
 * and did not close, with what it is ("fd N TARGET"): what an interrupted
 * run must not leave behind. Descriptors it inherited are not its own and
 * not listed. A sanitizer runtime with a thread of its own (TSan) is named
 * ("sanitizer NAME"): then only vcpu-threads counts.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "tests/integration/procself.h"

static const struct {
	const char *name;
	long cap;
} shim_caps[] = {
	{ "MCE", KVM_CAP_MCE },
	{ "IMMEDIATE_EXIT", KVM_CAP_IMMEDIATE_EXIT },
	{ "SET_TSS_ADDR", KVM_CAP_SET_TSS_ADDR },
	{ "USER_MEMORY", KVM_CAP_USER_MEMORY },
	{ "MAX_VCPUS", KVM_CAP_MAX_VCPUS },
};

/* Whether the capability is named in MCEFWD_SHIM_NO_CAPS. */
static int shim_hidden(long cap)
{
	const char *list = getenv("MCEFWD_SHIM_NO_CAPS");

	if (!list)
		return 0;
	for (size_t i = 0; i < sizeof(shim_caps) / sizeof(shim_caps[0]); i++) {
		size_t n = strlen(shim_caps[i].name);
		const char *p = list;

		if (shim_caps[i].cap != cap)
			continue;
		while ((p = strstr(p, shim_caps[i].name))) {
			if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
				return 1;
			p += n;
		}
	}
	return 0;
}

int ioctl(int fd, unsigned long req, ...);

int ioctl(int fd, unsigned long req, ...)
{
	static int (*real)(int, unsigned long, ...);
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	if (req == KVM_CHECK_EXTENSION && shim_hidden((long)arg))
		return 0;
	return real(fd, req, arg);
}

#define SHIM_FDS 4096

static unsigned char shim_inherited[SHIM_FDS];

/* The descriptors open before main(): inherited, not the process's own. */
__attribute__((constructor)) static void shim_start(void)
{
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");

	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd >= 0 && fd < SHIM_FDS && fd != dirfd(d))
			shim_inherited[fd] = 1;
	}
	if (d)
		closedir(d);
}

/* Whether a library whose path holds name is mapped. */
static int shim_mapped(const char *name)
{
	char line[512];
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, name) != NULL;
	if (f)
		fclose(f);
	return found;
}

__attribute__((destructor)) static void shim_audit(void)
{
	const char *path = getenv("MCEFWD_SHIM_AUDIT");
	struct dirent *e;
	char link[64], target[256];
	int threads = 0;
	FILE *out;
	DIR *d;

	if (!path || !(out = fopen(path, "we")))
		return;
	d = opendir("/proc/self/task");
	while (d && (e = readdir(d)))
		threads += e->d_name[0] != '.';
	if (d)
		closedir(d);
	fprintf(out, "threads %d\n", threads);
	fprintf(out, "vcpu-threads %d\n", procself_vcpu_threads());
	if (shim_mapped("libtsan"))
		fprintf(out, "sanitizer tsan\n");
	d = opendir("/proc/self/fd");
	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name);
		ssize_t n;

		if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(d) || fd == fileno(out) ||
		    (fd < SHIM_FDS && shim_inherited[fd]))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		fprintf(out, "fd %d %s\n", fd, target);
	}
	if (d)
		closedir(d);
	fclose(out);
}
