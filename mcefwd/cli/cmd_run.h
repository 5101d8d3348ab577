/* SPDX-License-Identifier: GPL-2.0-only */
/* mcefwd run, and what the other commands share with it. */
#ifndef MCEFWD_CLI_CMD_RUN_H
#define MCEFWD_CLI_CMD_RUN_H

#include <stdbool.h>

#include "mcefwd/cli/cli.h"
#include "mcefwd/cli/where.h"

/* Runs c's names (or the default suite) where w says; the KTAP exit code. */
int cmd_run(struct cli *c, const struct where *w);
/* Rejects a name that is no scenario or payload, before anything boots: 0 or 2. */
int cmd_run_check_names(const struct cli *c);
/* PR_MCE_KILL as --mce-kill says: 0/-errno. */
int cmd_run_set_mce_kill(enum cli_mce_kill k);
/* A progress line only for a person watching: standard error is a terminal. */
bool cmd_run_progress(void);

#endif
