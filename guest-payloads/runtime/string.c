// SPDX-License-Identifier: GPL-2.0-only
/*
 * The memory and string functions gcc may call even with -ffreestanding.
 * Guest instructions are emulated, so the bulk ones are a single rep
 * string instruction rather than a loop.
 */
#include "rt.h"

void *memset(void *s, int c, size_t n)
{
	void *d = s;

	asm volatile("rep stosb"
		     : "+D"(d), "+c"(n)
		     : "a"((uint8_t)c)
		     : "memory");
	return s;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;

	asm volatile("rep movsb"
		     : "+D"(d), "+S"(src), "+c"(n)
		     :
		     : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	void *d;

	if ((uintptr_t)dst - (uintptr_t)src >= n)
		return memcpy(dst, src, n);

	/* Overlapping with dst above src: copy backwards, then restore DF. */
	d = (char *)dst + n - 1;
	src = (const char *)src + n - 1;
	asm volatile("std\n\trep movsb\n\tcld"
		     : "+D"(d), "+S"(src), "+c"(n)
		     :
		     : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	const char *p = s;

	while (*p)
		p++;
	return p - s;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}
