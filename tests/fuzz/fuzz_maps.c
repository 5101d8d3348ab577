// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the /proc/PID/maps and /proc/PID/mounts parsers
 * (inject/maps.c). The injector decides from them whether a page may be
 * poisoned, and another process's maps can hold any path it likes. The
 * input is the maps text, a NUL byte, then the mounts text.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inject/maps.h"
#include "mcefwd/util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_maps_check(const struct maps_entry *e, size_t n, const char *mounts)
{
	for (size_t i = 0; i < n; i++) {
		if (e[i].start >= e[i].end || (i && e[i].start < e[i - 1].end))
			abort();
		if (strnlen(e[i].path, sizeof(e[i].path)) >= sizeof(e[i].path) ||
		    strlen(e[i].perms) != 4 || !maps_kind_name(e[i].kind))
			abort();
		if (maps_find(e, n, e[i].start) != &e[i] ||
		    maps_find(e, n, e[i].end - 1) != &e[i])
			abort();
		maps_path_on_hugetlbfs(e[i].path, mounts);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 2), *mounts;
	struct maps_entry *e, one;
	size_t n = 0, n2 = 0;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	text[size + 1] = '\0';
	mounts = text + strlen(text) + 1;

	maps_parse_line(text, &one);
	if (maps_parse(text, NULL, 0, &n) == 0) {
		/* Counting and filling agree; exact-size array for ASan. */
		e = malloc((n ? n : 1) * sizeof(*e));
		if (!e)
			abort();
		if (maps_parse(text, e, n, &n2) || n2 != n)
			abort();
		fuzz_maps_check(e, n, mounts);
		maps_classify_hugetlbfs(e, n, mounts);
		for (size_t i = 0; i < n; i++)
			if (e[i].kind == MAPS_HUGETLB_FILE && e[i].dev_major)
				abort();
		if (n && maps_parse(text, e, n - 1, &n2) != -ENOSPC)
			abort();
		free(e);
	}
	maps_path_on_hugetlbfs(mounts, text);
	error_clear();
	free(text);
	return 0;
}
