/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SIGINT and SIGTERM: recorded, never acted on in the handler. The main loop
 * sees the flag (and the VM's eventfd wakes it), stops the vCPUs, undoes
 * what was poisoned and reports what could not be undone.
 */
#ifndef MCEFWD_INTERRUPT_H
#define MCEFWD_INTERRUPT_H

#include <stdbool.h>

int interrupt_install(void);
/* The eventfd the handler writes to wake the main loop, or -1. */
void interrupt_set_fd(int fd);
/* The signal that interrupted us, or 0. */
int interrupt_signal(void);

#endif
