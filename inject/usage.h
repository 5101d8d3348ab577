/* SPDX-License-Identifier: GPL-2.0-only */
/* mcefwd-inject's help text. */
#ifndef MCEFWD_INJECT_USAGE_H
#define MCEFWD_INJECT_USAGE_H

extern const char inject_usage[];

#endif
