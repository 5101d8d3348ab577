/* SPDX-License-Identifier: GPL-2.0-only */
/* The version of mcefwd and mcefwd-inject, one for both. */
#ifndef MCEFWD_VERSION_H
#define MCEFWD_VERSION_H

#define MCEFWD_VERSION "0.1"

#endif
