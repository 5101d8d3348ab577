// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mcefwd/cli/kernel_arg.h"
#include "mcefwd/util/error.h"

/* Debian 12 ships both: 6.1 is its own, 6.12 came for those who need newer. */
static const struct kernel_series kernel_arg_series[] = {
	{ "6.1", KERNEL_ARG_DEFAULT_META, NULL,
	  "Debian 12's kernel, what " KERNEL_ARG_DEFAULT_META " depends on (the default)" },
	{ "6.12", NULL, "-amd64-unsigned",
	  "the newest linux-image-6.12.*-amd64-unsigned apt offers" },
};

#define KERNEL_ARG_NR_SERIES (sizeof(kernel_arg_series) / sizeof(kernel_arg_series[0]))

unsigned int kernel_arg_series_count(void)
{
	return KERNEL_ARG_NR_SERIES;
}

const struct kernel_series *kernel_arg_series_at(unsigned int i)
{
	return i < KERNEL_ARG_NR_SERIES ? &kernel_arg_series[i] : NULL;
}

const struct kernel_series *kernel_arg_series_find(const char *name)
{
	for (size_t i = 0; name && i < KERNEL_ARG_NR_SERIES; i++)
		if (!strcmp(kernel_arg_series[i].name, name))
			return &kernel_arg_series[i];
	return NULL;
}

/* Digits and dots with a dot inside ("6.1", "5.10", "6.12.57"): meant as a series. */
static bool kernel_arg_looks_like_series(const char *s)
{
	bool dot = false;

	if (!isdigit((unsigned char)s[0]))
		return false;
	for (; *s; s++) {
		if (*s == '.')
			dot = true;
		else if (!isdigit((unsigned char)*s))
			return false;
	}
	return dot && s[-1] != '.';
}

static bool kernel_arg_is_deb(const char *s)
{
	size_t n = strlen(s);

	return n > 4 && !strcmp(s + n - 4, ".deb");
}

int kernel_arg_parse(const char *value, const char *modules, struct kernel_arg *out)
{
	memset(out, 0, sizeof(*out));
	if (!value) {
		if (modules)
			return error_set(EINVAL, "--modules needs --kernel BZIMAGE (the modules of a kernel you built)");
		out->kind = KERNEL_ARG_DEFAULT;
		return 0;
	}
	if (!*value)
		return error_set(EINVAL, "--kernel needs a value: a series (6.1, 6.12), a FILE.deb or a BZIMAGE");
	out->value = value;
	if (kernel_arg_looks_like_series(value)) {
		char names[128] = "";
		size_t pos = 0;

		out->kind = KERNEL_ARG_SERIES;
		out->series = kernel_arg_series_find(value);
		if (out->series && !modules)
			return 0;
		if (out->series)
			return error_set(EINVAL, "--modules goes with --kernel BZIMAGE, not with the series %s (Debian's package brings its modules)",
					 value);
		for (size_t i = 0; i < KERNEL_ARG_NR_SERIES && pos < sizeof(names); i++)
			pos += (size_t)snprintf(names + pos, sizeof(names) - pos, "%s%s",
						i == 0 ? "" : i + 1 < KERNEL_ARG_NR_SERIES ? ", " : " and ",
						kernel_arg_series[i].name);
		return error_set(EINVAL, "invalid --kernel '%s': no such kernel series; the lab knows %s (a package file ends in .deb; a bzImage of that name: --kernel ./%s)",
				 value, names, value);
	}
	if (kernel_arg_is_deb(value)) {
		out->kind = KERNEL_ARG_DEB;
		if (modules)
			return error_set(EINVAL, "--modules goes with --kernel BZIMAGE, not with the package %s (it brings its modules)",
					 value);
		return 0;
	}
	out->kind = KERNEL_ARG_BZIMAGE;
	if (!modules)
		return error_set(EINVAL, "--kernel needs --modules DIR for the bzImage %s (its modules: kvm_amd, hwpoison_inject, 9p, ...)",
				 value);
	if (!*modules)
		return error_set(EINVAL, "--modules needs a directory");
	out->modules = modules;
	return 0;
}
