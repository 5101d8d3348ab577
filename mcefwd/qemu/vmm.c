// SPDX-License-Identifier: GPL-2.0-only
/* Which QEMU, which version, which guest vendor, and which injector. */
#include <cpuid.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mcefwd/qemu/qemu.h"
#include "mcefwd/util/error.h"

bool qemu_on_path(char *path, size_t len)
{
	const char *env = getenv("PATH");
	char *dirs, *save = NULL;
	bool found = false;

	dirs = strdup(env && *env ? env : "/usr/local/bin:/usr/bin:/bin");
	if (!dirs)
		return false;
	for (char *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, len, "%s/qemu-system-x86_64", *d ? d : ".");
		found = access(path, X_OK) == 0;
	}
	free(dirs);
	return found;
}

/* The first line of `QEMU --version`, e.g. "QEMU emulator version 7.2.19 (Debian ...)". */
static int qemu_read_version(struct qemu_vmm *q)
{
	char cmd[PATH_MAX + 32];
	const char *v;
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd), "'%s' --version 2>&1", q->path);
	if (strchr(q->path, '\''))
		return error_set(EINVAL, "%s: a quote in the path", q->path);
	f = popen(cmd, "re");
	if (!f)
		return error_set(errno, "%s --version: %s", q->path, strerror(errno));
	if (!fgets(q->version, sizeof(q->version), f))
		q->version[0] = '\0';
	q->version[strcspn(q->version, "\n")] = '\0';
	st = pclose(f);
	v = strstr(q->version, "version ");
	if (st != 0 || !v || sscanf(v + 8, "%u.%u", &q->major, &q->minor) != 2)
		return error_set(ENOEXEC, "%s --version said '%s': not a QEMU", q->path, q->version);
	return 0;
}

int qemu_vmm_find(const char *want, const char *cpu, uint64_t mcg_cap_supported,
		  struct qemu_vmm *q)
{
	unsigned int a, b, c, d;
	char self[PATH_MAX];
	ssize_t n;
	int r;

	memset(q, 0, sizeof(*q));
	q->mcg_cap_supported = mcg_cap_supported;
	snprintf(q->cpu, sizeof(q->cpu), "%s", cpu && *cpu ? cpu : "host");
	if (want && *want) {
		snprintf(q->path, sizeof(q->path), "%s", want);
		if (access(q->path, X_OK) < 0)
			return error_set(errno, "--vmm=qemu=%s: %s", want, strerror(errno));
	} else if (!qemu_on_path(q->path, sizeof(q->path))) {
		return error_set(ENOENT, "qemu-system-x86_64 is not on PATH (Debian: apt-get install qemu-system-x86), or name it: --vmm=qemu=PATH");
	}
	r = qemu_read_version(q);
	if (r < 0)
		return r;
	/* With -cpu host the guest's vendor is this CPU's; the guest says it anyway. */
	if (__get_cpuid(0, &a, &b, &c, &d))
		q->amd = b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163; /* "AuthenticAMD" */
	if (__get_cpuid(1, &a, &b, &c, &d))
		q->cpuid_version = a;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return error_set(errno, "/proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	snprintf(q->injector, sizeof(q->injector), "%s/mcefwd-inject", dirname(self));
	if (access(q->injector, X_OK) < 0)
		return error_set(errno, "%s: %s (mcefwd-inject is built beside mcefwd)", q->injector,
				 strerror(errno));
	return 0;
}
