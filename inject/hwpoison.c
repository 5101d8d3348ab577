// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <sys/mman.h>

#include "inject/inject.h"

#ifndef MADV_HWPOISON
#define MADV_HWPOISON 100	/* include/uapi/asm-generic/mman-common.h */
#endif

int inject_hwpoison(void *page, size_t size)
{
	/* The kernel's memory-failure path takes the page out of service. */
	return madvise(page, size, MADV_HWPOISON) ? -errno : 0;
}
