/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What apt says of Debian's kernel packages: which package a kernel series
 * names (--kernel 6.1, 6.12) and the version apt would fetch. The parsers
 * of apt-cache's output and dpkg's version order are pure; the rest runs
 * apt-cache (never a shell).
 */
#ifndef MCEFWD_LAB_APT_H
#define MCEFWD_LAB_APT_H

#include <stdbool.h>
#include <stddef.h>

#include "mcefwd/cli/kernel_arg.h"

/* dpkg's order of versions ("[EPOCH:]UPSTREAM[-REVISION]"): <0, 0, >0. Pure. */
int apt_version_cmp(const char *a, const char *b);

/*
 * Whether pkg is, by its name, a kernel of series s (one without a meta
 * package): linux-image-NAME.VERSION-SUFFIX, VERSION without '-'. The
 * version ("6.12.107+deb12") into ver. Pure.
 */
bool apt_series_member(const struct kernel_series *s, const char *pkg, char *ver, size_t len);

/* Whether pkg is a kernel of series s, by its name (a meta package's: linux-image-NAME.*). Pure. */
bool apt_series_names(const struct kernel_series *s, const char *pkg);

/*
 * The newest kernel of series s among the package names in text, the first
 * word of each line (apt-cache search, pkgnames). 0, or -ENODATA. Pure.
 */
int apt_series_newest(const struct kernel_series *s, const char *text, char *pkg, size_t len);

/* The first package a "Depends:" line of apt-cache depends names. 0, or -ENODATA. Pure. */
int apt_depends_first(const char *text, char *pkg, size_t len);

/* The "Candidate:" version of pkg in apt-cache policy's text. 0, or -ENODATA. Pure. */
int apt_policy_candidate(const char *text, const char *pkg, char *ver, size_t len);

/*
 * The package series s names now (NULL: the lab's default, what
 * KERNEL_ARG_DEFAULT_META depends on), asked of apt-cache. 0; -ENOENT when
 * apt-cache is not installed, -ENODATA when apt knows none (no package
 * lists?), -EINVAL when the meta package depends on another series, -EIO
 * when apt-cache failed; error_get() says which.
 */
int apt_series_package(const struct kernel_series *s, char *pkg, size_t len);

/* The version apt would fetch of pkg. 0, or -errno as apt_series_package. */
int apt_candidate(const char *pkg, char *ver, size_t len);

/* apt-get update, once a process and as root only: 0, -EPERM (not root, or done), -EIO. */
int apt_update(void);

#endif
