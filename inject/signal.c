// SPDX-License-Identifier: GPL-2.0-only
/*
 * The "signal" method: no memory is poisoned; the calling thread sends
 * itself the SIGBUS the kernel's memory-failure path would have sent, which
 * exercises everything in mcefwd from the handler on.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "inject/method.h"
#include "inject/probe.h"
#include "mcefwd/util/error.h"

int inject_signal_self(int si_code, void *hva, short lsb)
{
	siginfo_t info;

	if (si_code != BUS_MCEERR_AR && si_code != BUS_MCEERR_AO)
		return -EINVAL;
	memset(&info, 0, sizeof(info));
	info.si_signo = SIGBUS;
	info.si_code = si_code;
	info.si_addr = hva;
	info.si_addr_lsb = lsb;
	/*
	 * The kernel lets a process queue a positive (kernel-looking) si_code
	 * only to itself, and rt_tgsigqueueinfo is what targets one thread:
	 * another thread, even of this process, gets EPERM.
	 */
	if (syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGBUS, &info))
		return -errno;
	return 0;
}

static void signal_probe(struct inject_probe *p)
{
	p->available = true;
	probe_set(p, "always available: the vCPU thread sends itself "
		  "SIGBUS BUS_MCEERR_AR/AO (no memory is poisoned)");
}

static int signal_poison(const struct inject_page *pg, struct inject_undo *undo)
{
	int ret = method_check_page(&inject_method_signal, pg, undo);

	if (ret)
		return ret;
	ret = inject_signal_self(pg->si_code, pg->hva, pg->lsb);
	if (ret == -EINVAL)
		return error_set(EINVAL, "si_code %d is neither BUS_MCEERR_AR (%d) nor "
				 "BUS_MCEERR_AO (%d)", pg->si_code, BUS_MCEERR_AR, BUS_MCEERR_AO);
	if (ret)
		return error_set(-ret, "rt_tgsigqueueinfo(SIGBUS): %s", strerror(-ret));
	return 0;
}

const struct inject_method_ops inject_method_signal = {
	.id = INJECT_SIGNAL,
	.name = "signal",
	.what = "a self-sent SIGBUS",
	.flags = INJECT_F_AUTO | INJECT_F_THREAD | INJECT_F_NO_MEMORY,
	.caps = NULL,
	.nr_caps = 0,
	.self_only = "a thread can only send itself SIGBUS with a kernel si_code",
	.no_undo = "nothing is poisoned: the signal is all there is",
	.probe = signal_probe,
	.poison = signal_poison,
	.unpoison = NULL,
};
