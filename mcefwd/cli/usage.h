/* SPDX-License-Identifier: GPL-2.0-only */
/* The help texts of mcefwd and its commands (bench and lab have their own). */
#ifndef MCEFWD_CLI_USAGE_H
#define MCEFWD_CLI_USAGE_H

extern const char usage_main[];
extern const char usage_run[];
extern const char usage_caps[];
extern const char usage_where[];
extern const char usage_encodings[];
extern const char usage_list[];
extern const char usage_matrix[];

#endif
