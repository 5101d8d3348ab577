// SPDX-License-Identifier: GPL-2.0-only
/* Names of the poison methods, as used on the command line (--poison=NAME). */
#include <errno.h>
#include <string.h>

#include "inject/inject.h"

static const char *const method_names[INJECT_METHOD_COUNT] = {
	[INJECT_EINJ] = "einj",
	[INJECT_HWPOISON] = "hwpoison",
	[INJECT_PFN] = "pfn",
	[INJECT_SOFT_OFFLINE] = "soft-offline",
	[INJECT_UFFD] = "uffd",
	[INJECT_SIGNAL] = "signal",
};

const char *inject_method_name(enum inject_method m)
{
	if ((unsigned int)m >= INJECT_METHOD_COUNT)
		return NULL;
	return method_names[m];
}

int inject_method_parse(const char *name, enum inject_method *out)
{
	if (!name)
		return -EINVAL;
	for (int m = 0; m < INJECT_METHOD_COUNT; m++) {
		if (!strcmp(name, method_names[m])) {
			*out = m;
			return 0;
		}
	}
	return -EINVAL;
}
