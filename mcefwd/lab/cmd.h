/* SPDX-License-Identifier: GPL-2.0-only */
/* `mcefwd lab`, and running this very command line in the lab (--on=lab). */
#ifndef MCEFWD_LAB_CMD_H
#define MCEFWD_LAB_CMD_H

#include "mcefwd/lab/lab.h"

/* `mcefwd lab [OPTIONS] [--] COMMAND...`: argv[0] is "lab". Returns the exit status. */
int lab_main(int argc, char **argv);

/*
 * Runs this program again, with the same arguments, inside the lab (why:
 * why the host is not used, shown inside), on the kernel --kernel asked
 * for. Inside, the arguments' --kernel has no effect: MCEFWD_ON=host and
 * MCEFWD_LAB_KERNEL say it is the lab. The lab's own steps are said on
 * stderr, as "# lab: " lines. Returns 0 with res filled in (res->how says
 * whether the command ran, and res->status its exit status), or -errno.
 */
int lab_reexec(int argc, char **argv, const char *why, const struct kernel_arg *kernel,
	       struct lab_result *res);

#endif
