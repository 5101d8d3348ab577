// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "mcefwd/util/error.h"
#include "mcefwd/util/interrupt.h"

static atomic_int interrupt_sig;
static atomic_int interrupt_fd = -1;

static void interrupt_handler(int sig)
{
	int saved = errno, fd;
	uint64_t one = 1;

	atomic_store(&interrupt_sig, sig);
	fd = atomic_load(&interrupt_fd);
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
		/* The loop also polls the flag every second. */
	}
	errno = saved;
}

int interrupt_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = interrupt_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return error_set(errno, "sigaction(SIGINT/SIGTERM): %s", strerror(errno));
	return 0;
}

void interrupt_set_fd(int fd)
{
	atomic_store(&interrupt_fd, fd);
}

int interrupt_signal(void)
{
	return atomic_load(&interrupt_sig);
}
