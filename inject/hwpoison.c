// SPDX-License-Identifier: GPL-2.0-only
/*
 * The "hwpoison" method: madvise(MADV_HWPOISON) hands a page of this
 * process to the kernel's memory-failure path, as if the hardware had
 * reported it bad; debugfs hwpoison/unpoison-pfn brings the frame back.
 *
 * Since Linux 6.11 the kernel takes MADV_HWPOISON as an error the caller
 * consumed: madvise_inject_error() (mm/madvise.c) calls memory_failure()
 * with MF_ACTION_REQUIRED (commit "mm/madvise: add MF_ACTION_REQUIRED to
 * madvise(MADV_HWPOISON)"), so kill_proc() forces SIGBUS BUS_MCEERR_AR on
 * the calling thread at once, and task_early_kill() picks that thread for
 * its whole process: no early-kill AO reaches the caller's process. A VMM
 * meets a real memory failure as a user of the frame that did not cause
 * it. So the method has a helper process that shares the frame call
 * madvise: the helper takes the caller's part (and, from 6.11, dies of
 * it), and this process gets what any other user of the frame gets, on
 * every kernel: an AO at once to its early-kill thread, or an AR at its
 * next access (KVM's fault on the poisoned pfn).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inject/method.h"
#include "inject/probe.h"
#include "mcefwd/util/error.h"

#ifndef MADV_HWPOISON
#define MADV_HWPOISON 100	/* include/uapi/asm-generic/mman-common.h */
#endif

int inject_hwpoison(void *page, size_t size)
{
	/* The kernel's memory-failure path takes the page out of service. */
	return madvise(page, size, MADV_HWPOISON) ? -errno : 0;
}

/*
 * The helper: a copy of this process that shares the frame (fork shares
 * an anonymous page copy-on-write until one side writes it) and does
 * nothing but the madvise. Only async-signal-safe calls: this process
 * has other threads. It dies of SIGBUS, quietly, where the kernel kills
 * the caller; else it writes madvise's errno (0) to fd.
 */
static void hwpoison_helper(void *page, size_t size, int fd)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	int err;

	sigaction(SIGBUS, &dfl, NULL);
	/* The kernel's log names it apart from mcefwd and its vCPU threads. */
	prctl(PR_SET_NAME, HWPOISON_HELPER_NAME, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);	/* no core file of its death */
	/* Late kill for itself: before 6.11 it is no early-kill thread. */
	prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_LATE, 0, 0);
	err = madvise(page, size, MADV_HWPOISON) ? errno : 0;
	if (write(fd, &err, sizeof(err)) != sizeof(err))
		_exit(2);
	_exit(0);
}

int inject_hwpoison_shared(void *page, size_t size, bool *caller_killed)
{
	int fds[2], err = 0, status;
	ssize_t n;
	pid_t pid;

	*caller_killed = false;
	if (pipe2(fds, O_CLOEXEC))
		return error_set(errno, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		err = errno;
		close(fds[0]);
		close(fds[1]);
		return error_set(err, "fork for madvise(MADV_HWPOISON): %s", strerror(err));
	}
	if (pid == 0)
		hwpoison_helper(page, size, fds[1]);
	close(fds[1]);
	n = read(fds[0], &err, sizeof(err));
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS && n == 0) {
		/* Poisoned, and the kernel took it as the caller's own error. */
		*caller_killed = true;
		return 0;
	}
	if (n != sizeof(err) || !WIFEXITED(status) || WEXITSTATUS(status))
		return error_set(EIO, "the madvise(MADV_HWPOISON) helper process ended without a result (status 0x%x)",
				 status);
	return err ? -err : 0;
}

static const char *hwpoison_hint(int err)
{
	char knob[PATH_MAX + 64];

	switch (err) {
	case EINVAL:
		snprintf(knob, sizeof(knob), "%s/sys/vm/memory_failure_recovery",
			 inject_proc_root());
		if (access(knob, F_OK))
			return ": kernel without memory-failure support "
			       "(CONFIG_MEMORY_FAILURE): use --poison=uffd or signal";
		return "";
	case EPERM:
		return ": needs CAP_SYS_ADMIN: run as root";
	case EBUSY:
		return ": the kernel could not isolate the page (pinned or in use)";
	default:
		return "";
	}
}

/*
 * Whether this kernel makes MADV_HWPOISON an error of its caller: Linux
 * 6.11 and later (see the top of this file). From the release only: a
 * backport would be missed, and the run says what really happened.
 */
static bool hwpoison_caller_error(void)
{
	struct utsname u;
	unsigned int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 11);
}

static void hwpoison_probe(struct inject_probe *p)
{
	p->available = false;
	if (!probe_memory_failure(p) || !probe_sys_admin(p))
		return;
	p->available = true;
	probe_set(p, "madvise(MADV_HWPOISON) with CAP_SYS_ADMIN and CONFIG_MEMORY_FAILURE, called by a helper process sharing the page: %s",
		  hwpoison_caller_error() ?
		  "this kernel, Linux 6.11 or later, takes it as an error its caller consumed and kills the caller with an AR, so mcefwd meets the failure as the frame's other user" :
		  "this kernel, before Linux 6.11, does not kill the caller; the helper keeps the method the same on every kernel");
}

static int hwpoison_poison(const struct inject_page *pg, struct inject_undo *undo)
{
	int ret = method_check_page(&inject_method_hwpoison, pg, undo);

	if (ret)
		return ret;
	ret = inject_hwpoison_shared(pg->hva, pg->size, &undo->caller_killed);
	undo->note = undo->caller_killed ?
		"madvise(MADV_HWPOISON) was called by a helper process sharing the frame, and the kernel killed it with SIGBUS BUS_MCEERR_AR: since Linux 6.11 MADV_HWPOISON is an error its caller consumed (madvise_inject_error(): MF_ACTION_REQUIRED); this process met the failure as the frame's other user" :
		"madvise(MADV_HWPOISON) was called by a helper process sharing the frame; the kernel left it alive: before Linux 6.11 MADV_HWPOISON is no error of its caller; this process met the failure as the frame's other user";
	if (ret)
		return error_set(-ret, "madvise(%p, %zu, MADV_HWPOISON): %s%s", pg->hva, pg->size,
				 strerror(-ret), hwpoison_hint(-ret));
	undo->pfn = pg->pfn;
	return 0;
}

static const cap_value_t hwpoison_caps[] = { CAP_SYS_ADMIN };

const struct inject_method_ops inject_method_hwpoison = {
	.id = INJECT_HWPOISON,
	.name = "hwpoison",
	.what = "madvise(MADV_HWPOISON)",
	.flags = INJECT_F_FRAME | INJECT_F_MEMORY_FAILURE | INJECT_F_AUTO | INJECT_F_UNDO,
	.caps = hwpoison_caps,
	.nr_caps = sizeof(hwpoison_caps) / sizeof(hwpoison_caps[0]),
	.self_only = "madvise works on the caller's own mappings",
	.probe = hwpoison_probe,
	.poison = hwpoison_poison,
	.unpoison = method_unpoison_frame,
};
