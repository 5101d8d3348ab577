/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --kernel VALUE: which kernel the lab boots, told apart by its form. A
 * series ("6.1", "6.12": a line of kernels Debian ships, found with apt), a
 * path ending in .deb (a Debian kernel package), or anything else: a bzImage,
 * which comes with --modules DIR. Pure: the files are looked at when the lab
 * starts, not here. run, caps, matrix and bench take it (it sends them to
 * the lab) as well as 'mcefwd lab'.
 */
#ifndef MCEFWD_KERNEL_ARG_H
#define MCEFWD_KERNEL_ARG_H

#include <stdbool.h>

/* The package that depends on Debian's current kernel: the lab's default. */
#define KERNEL_ARG_DEFAULT_META "linux-image-amd64"

/*
 * A series and how apt names its kernel: the package meta depends on, or
 * else the newest package named linux-image-NAME.<version><suffix> (the
 * version without '-': that keeps out the -cloud- and -rt- flavours).
 */
struct kernel_series {
	const char *name;		/* what --kernel takes: "6.12" */
	const char *meta;		/* or NULL */
	const char *suffix;		/* when meta is NULL: "-amd64-unsigned" */
	const char *summary;		/* in words, for help and --list-kernels */
};

enum kernel_arg_kind {
	KERNEL_ARG_DEFAULT,		/* no --kernel: what ..._DEFAULT_META depends on */
	KERNEL_ARG_SERIES,
	KERNEL_ARG_DEB,
	KERNEL_ARG_BZIMAGE,
};

struct kernel_arg {
	enum kernel_arg_kind kind;
	const char *value;			/* as given (NULL for the default) */
	const struct kernel_series *series;	/* KERNEL_ARG_SERIES */
	const char *modules;			/* KERNEL_ARG_BZIMAGE: its --modules DIR */
};

unsigned int kernel_arg_series_count(void);
const struct kernel_series *kernel_arg_series_at(unsigned int i);
/* The series named name exactly, or NULL. */
const struct kernel_series *kernel_arg_series_find(const char *name);

/*
 * What --kernel value (NULL: not given) and --modules modules (NULL: not
 * given) ask for. 0, or -EINVAL with error_get() saying what is wrong; an
 * unknown series names the series there are.
 */
int kernel_arg_parse(const char *value, const char *modules, struct kernel_arg *out);

#endif
