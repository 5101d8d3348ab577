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

#include "inject/inject.h"

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
