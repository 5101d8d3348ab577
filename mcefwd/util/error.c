// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mcefwd/util/error.h"

static __thread char error_buf[ERROR_MAX];

int error_set(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(error_buf, sizeof(error_buf), fmt, ap);
	va_end(ap);
	return -err;
}

int error_wrap(int err, const char *fmt, ...)
{
	char prev[ERROR_MAX];
	size_t n;
	va_list ap;

	memcpy(prev, error_buf, sizeof(prev));
	va_start(ap, fmt);
	n = (size_t)vsnprintf(error_buf, sizeof(error_buf), fmt, ap);
	va_end(ap);
	if (prev[0] && n < sizeof(error_buf))
		snprintf(error_buf + n, sizeof(error_buf) - n, ": %s", prev);
	return -err;
}

const char *error_get(void)
{
	return error_buf[0] ? error_buf : "unknown error";
}

void error_clear(void)
{
	error_buf[0] = '\0';
}
