// SPDX-License-Identifier: GPL-2.0-only
/*
 * The "pfn" method: find the page frame behind an address of any process
 * in /proc/PID/pagemap, then hand it to the kernel's memory-failure path
 * through debugfs hwpoison/corrupt-pfn (module hwpoison_inject), and back
 * through unpoison-pfn.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/magic.h>

#include "inject/method.h"
#include "inject/pagemap.h"
#include "inject/probe.h"
#include "mcefwd/util/error.h"

#define PFN_DEBUGFS_DEFAULT "/sys/kernel/debug"
#define PFN_PROC_DEFAULT "/proc"
#define PFN_MODULE "hwpoison_inject"
#define PFN_KPF_HWPOISON 19	/* /proc/kpageflags: Documentation/admin-guide/mm/pagemap.rst */

extern char **environ;

static char pfn_debugfs[PATH_MAX] = PFN_DEBUGFS_DEFAULT;
static char pfn_proc[PATH_MAX] = PFN_PROC_DEFAULT;

static int pfn_set_root(char *root, const char *dir, const char *def)
{
	if (!dir)
		dir = def;
	if (strlen(dir) >= PATH_MAX)
		return -ENAMETOOLONG;
	strcpy(root, dir);
	return 0;
}

int inject_set_debugfs_root(const char *dir)
{
	return pfn_set_root(pfn_debugfs, dir, PFN_DEBUGFS_DEFAULT);
}

int inject_set_proc_root(const char *dir)
{
	return pfn_set_root(pfn_proc, dir, PFN_PROC_DEFAULT);
}

const char *inject_debugfs_root(void)
{
	return pfn_debugfs;
}

const char *inject_proc_root(void)
{
	return pfn_proc;
}

int inject_pfn_lookup(pid_t pid, uint64_t vaddr, uint64_t *pfn)
{
	struct pagemap_info pi;
	int ret;

	if (!pfn || pid < 0)
		return error_set(EINVAL, "pfn lookup: bad arguments (pid %d)", (int)pid);
	if (!pid)
		pid = getpid();
	ret = pagemap_read(pid, vaddr, &pi);
	if (ret == -ENOENT)
		return error_set(ESRCH, "no process %d (/proc/%d/pagemap missing)", (int)pid,
				 (int)pid);
	if (ret == -EACCES || ret == -EPERM)
		return error_wrap(-ret,
				  "reading the pagemap of pid %d needs ptrace "
				  "access to it: run as root",
				  (int)pid);
	if (ret)
		return ret;
	if (!pi.present)
		return error_set(ENOENT,
				 "page at 0x%" PRIx64 " of pid %d is not "
				 "present%s: write to it first",
				 vaddr, (int)pid, pi.swapped ? " (swapped out or poisoned)" : "");
	if (pi.pfn_hidden)
		return error_set(EPERM,
				 "/proc/%d/pagemap hides the PFN of 0x%" PRIx64
				 ": needs CAP_SYS_ADMIN: run as root",
				 (int)pid, vaddr);
	*pfn = pi.pfn;
	return 0;
}

static bool pfn_debugfs_mounted(void)
{
	struct statfs st;

	return !statfs(pfn_debugfs, &st) && st.f_type == DEBUGFS_MAGIC;
}

/*
 * Runs modprobe without a shell and keeps its complaint (first line of
 * stderr) for our message: library code never prints.
 */
static int pfn_modprobe(const char *module)
{
	static const char *const paths[] = {"/sbin/modprobe", "/usr/sbin/modprobe"};
	char *const argv[] = {"modprobe", (char *)module, NULL};
	posix_spawn_file_actions_t fa;
	const char *prog = paths[0];
	char msg[256] = "";
	size_t got = 0;
	int pipefd[2], status, err;
	ssize_t n;
	pid_t pid;

	if (access(prog, X_OK))
		prog = paths[1];
	if (pipe2(pipefd, O_CLOEXEC))
		return error_set(errno, "modprobe %s: pipe: %s", module, strerror(errno));
	err = posix_spawn_file_actions_init(&fa);
	if (err)
		goto err_close;
	/* dup2 clears O_CLOEXEC on the copy. */
	err = posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
	if (!err)
		err =
		    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	if (!err)
		err = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		goto err_close;
	close(pipefd[1]);
	for (;;) {
		n = read(pipefd[0], msg + got, sizeof(msg) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
		if (got == sizeof(msg) - 1) {
			char sink[256];

			while (read(pipefd[0], sink, sizeof(sink)) > 0)
				;
			break;
		}
	}
	close(pipefd[0]);
	msg[got] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return error_set(errno, "%s %s: waitpid: %s", prog, module,
					 strerror(errno));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return error_set(ENOENT,
			 "%s %s failed (%s %d)%s%s: needs CONFIG_HWPOISON_INJECT "
			 "and the module installed",
			 prog, module, WIFEXITED(status) ? "exit" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			 msg[0] ? ": " : "", msg);

err_close:
	close(pipefd[0]);
	close(pipefd[1]);
	return error_set(err, "%s %s: %s", prog, module, strerror(err));
}

/* What the kernel's answer to corrupt-pfn/unpoison-pfn means for the user. */
static const char *pfn_hint(int err, bool poison)
{
	switch (err) {
	case EPERM:
		return ": needs CAP_SYS_ADMIN (run as root); under kernel lockdown "
		       "debugfs is closed";
	case ENXIO:
		return ": no such page frame";
	case EBUSY:
		return poison ? ": the kernel could not isolate the frame (kernel "
				"or reserved page?)"
			      : ": frame not poisoned (already unpoisoned, cleared by a "
				"reboot) or still in use";
	case EHWPOISON:
		return ": frame already poisoned";
	case EOPNOTSUPP:
		return poison ? ""
			      : ": unpoison is disabled after a real hardware "
				"memory error until reboot";
	default:
		return "";
	}
}

static int pfn_write(const char *file, uint64_t pfn, bool poison)
{
	char path[PATH_MAX + 32], text[32];
	int fd, err = 0, len;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/hwpoison/%s", pfn_debugfs, file);
	len = snprintf(text, sizeof(text), "0x%" PRIx64 "\n", pfn);
	/* The callers word ENOENT (debugfs or the module missing) themselves. */
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(errno, "%s: %s%s", path, strerror(errno), pfn_hint(errno, poison));
	n = write(fd, text, len);
	if (n < 0)
		err = errno;
	else if (n != len)
		err = EIO;
	close(fd);
	if (err)
		return error_set(err, "writing 0x%" PRIx64 " to %s: %s%s", pfn, path, strerror(err),
				 pfn_hint(err, poison));
	return 0;
}

/* hwpoison/<file> is missing: say what would bring it. */
static int pfn_missing(const char *file)
{
	if (!pfn_debugfs_mounted())
		return error_set(ENOENT, "debugfs not mounted at %s: mount -t debugfs none %s",
				 pfn_debugfs, pfn_debugfs);
	return error_set(ENOENT,
			 "%s/hwpoison/%s missing: modprobe " PFN_MODULE
			 " (needs CONFIG_HWPOISON_INJECT)",
			 pfn_debugfs, file);
}

int inject_pfn_poison(uint64_t pfn)
{
	int ret;

	ret = pfn_write("corrupt-pfn", pfn, true);
	if (ret != -ENOENT)
		return ret;
	if (!pfn_debugfs_mounted())
		return pfn_missing("corrupt-pfn");
	ret = pfn_modprobe(PFN_MODULE);
	if (ret)
		return ret;
	ret = pfn_write("corrupt-pfn", pfn, true);
	if (ret == -ENOENT)
		return error_set(ENOENT,
				 "%s/hwpoison/corrupt-pfn still missing after "
				 "modprobe " PFN_MODULE,
				 pfn_debugfs);
	return ret;
}

int inject_pfn_ready(void)
{
	char path[PATH_MAX + 32];
	int ret;

	snprintf(path, sizeof(path), "%s/hwpoison/corrupt-pfn", pfn_debugfs);
	if (!access(path, W_OK))
		return 0;
	if (!pfn_debugfs_mounted())
		return pfn_missing("corrupt-pfn");
	ret = pfn_modprobe(PFN_MODULE);
	if (ret)
		return ret;
	return access(path, W_OK) ? pfn_missing("corrupt-pfn") : 0;
}

int inject_pfn_poisoned(uint64_t pfn)
{
	char path[PATH_MAX + 16];
	uint64_t flags;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/kpageflags", pfn_proc);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(errno, "%s: %s", path, strerror(errno));
	n = pread(fd, &flags, sizeof(flags), (off_t)(pfn * sizeof(flags)));
	close(fd);
	if (n != (ssize_t)sizeof(flags))
		return error_set(n < 0 ? errno : EIO, "%s at pfn 0x%" PRIx64 ": %s", path, pfn,
				 n < 0 ? strerror(errno) : "short read");
	return !!(flags & (1ULL << PFN_KPF_HWPOISON));
}

int inject_pfn_unpoison(uint64_t pfn)
{
	int ret;

	ret = pfn_write("unpoison-pfn", pfn, false);
	if (ret == -ENOENT)
		return pfn_missing("unpoison-pfn");
	return ret;
}

bool inject_pfn_can_unpoison(void)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/hwpoison/unpoison-pfn", pfn_debugfs);
	return access(path, W_OK) == 0;
}

long inject_hardware_corrupted_kb(void)
{
	char path[PATH_MAX + 16], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/meminfo", pfn_proc);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *end;
		long v;

		if (strncmp(line, "HardwareCorrupted:", 18))
			continue;
		errno = 0;
		v = strtol(line + 18, &end, 10);
		if (!errno && end != line + 18 && v >= 0)
			kb = v;
		break;
	}
	fclose(f);
	return kb;
}

/*
 * PFNs read as 0 without CAP_SYS_ADMIN (Linux 4.2), and may be hidden by
 * a restricted /proc. Ask about a page that is certainly present.
 */
static bool pfn_probe_pagemap(struct inject_probe *p)
{
	static volatile uint64_t present_page;
	uint64_t entry = 0;
	off_t off;
	int fd;
	ssize_t n;

	present_page = 1;
	off = (uintptr_t)&present_page / sysconf(_SC_PAGESIZE) * sizeof(entry);
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		probe_set(p, "/proc/self/pagemap not readable: %s", strerror(errno));
		return false;
	}
	n = pread(fd, &entry, sizeof(entry), off);
	close(fd);
	if (n != (ssize_t)sizeof(entry)) {
		probe_set(p, "/proc/self/pagemap not readable: %s",
			  n < 0 ? strerror(errno) : "short read");
		return false;
	}
	if ((entry & PAGEMAP_PRESENT) && (entry & PAGEMAP_PFN_MASK))
		return true;
	probe_set(p, "/proc/self/pagemap hides PFNs: needs CAP_SYS_ADMIN in the initial user namespace");
	return false;
}

/* Whether modprobe could find the module: a line of modules.dep names it. */
static bool pfn_module_on_disk(const char *name)
{
	char path[256], line[512];
	struct utsname u;
	bool found = false;
	FILE *f;

	if (uname(&u))
		return false;
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", u.release);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		char *base;

		if (!colon)
			continue;
		*colon = '\0';
		base = strrchr(line, '/');
		base = base ? base + 1 : line;
		found = !strncmp(base, name, strlen(name)) &&
			!strncmp(base + strlen(name), ".ko", 3);
	}
	fclose(f);
	return found;
}

static void pfn_probe(struct inject_probe *p)
{
	char corrupt[PATH_MAX + 32];

	p->available = false;
	if (!probe_memory_failure(p) || !probe_sys_admin(p) ||
	    !pfn_probe_pagemap(p) || !probe_debugfs(p))
		return;
	snprintf(corrupt, sizeof(corrupt), "%s/hwpoison/corrupt-pfn", pfn_debugfs);
	if (probe_exists(corrupt)) {
		p->available = true;
		probe_set(p, "debugfs hwpoison/corrupt-pfn present, pagemap gives PFNs");
	} else if (pfn_module_on_disk(PFN_MODULE) || pfn_module_on_disk("hwpoison-inject")) {
		p->available = true;
		probe_set(p, "hwpoison_inject module on disk (loaded when first used), "
			  "pagemap gives PFNs");
	} else {
		probe_set(p, "hwpoison_inject module not found "
			  "(needs CONFIG_HWPOISON_INJECT and its module installed)");
	}
}

static int pfn_poison(const struct inject_page *pg, struct inject_undo *undo)
{
	int ret = method_check_page(&inject_method_pfn, pg, undo);

	if (!ret)
		ret = inject_pfn_poison(pg->pfn);
	if (!ret)
		undo->pfn = pg->pfn;
	return ret;
}

static const cap_value_t pfn_caps[] = { CAP_SYS_ADMIN };

const struct inject_method_ops inject_method_pfn = {
	.id = INJECT_PFN,
	.name = "pfn",
	.what = "debugfs hwpoison/corrupt-pfn",
	.flags = INJECT_F_FRAME | INJECT_F_MEMORY_FAILURE | INJECT_F_OTHER_PROCESS |
		 INJECT_F_AUTO | INJECT_F_UNDO,
	.caps = pfn_caps,
	.nr_caps = sizeof(pfn_caps) / sizeof(pfn_caps[0]),
	.probe = pfn_probe,
	.poison = pfn_poison,
	.unpoison = method_unpoison_frame,
};
