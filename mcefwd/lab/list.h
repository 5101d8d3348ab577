/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `mcefwd lab --list-kernels`: the kernels the cache holds, and what apt
 * offers of each series --kernel takes. Gathered in one struct, printed as
 * text or JSON (docs/json.md) from it.
 */
#ifndef MCEFWD_LAB_LIST_H
#define MCEFWD_LAB_LIST_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "mcefwd/util/error.h"
#include "mcefwd/cli/kernel_arg.h"

#define LAB_LIST_MAX_ENTRIES	64
#define LAB_LIST_MAX_SERIES	8

/* One directory of the cache's kernels/v1: one kernel, unpacked. */
struct lab_list_entry {
	char name[256];			/* its directory: a package, or a file's name */
	char package[128];		/* the package (name up to its first '_') */
	char release[128];		/* "6.1.0-57-amd64", "" if it has none */
	char source[512];		/* where it came from, in words, "" if it has none */
	unsigned long long bytes;	/* on disk */
	bool complete;			/* unpacked to the end, in this format */
};

/* What --kernel SERIES would boot, as apt says now. */
struct lab_list_offer {
	const struct kernel_series *series;
	bool ok;			/* else error says why apt could not say */
	bool is_default;		/* what the lab boots without --kernel */
	char package[128];
	char version[128];		/* the version apt would fetch */
	bool cached;			/* its cache entry is complete: no download */
	char error[ERROR_MAX];
};

struct lab_list {
	char dir[PATH_MAX];		/* the cache's kernels/v1 */
	unsigned int nr_entries, nr_offers;
	bool truncated;			/* more entries than LAB_LIST_MAX_ENTRIES */
	struct lab_list_entry entries[LAB_LIST_MAX_ENTRIES];	/* by name */
	struct lab_list_offer offers[LAB_LIST_MAX_SERIES];	/* in kernel_arg's order */
};

/* Fills l from the cache directory cache and from apt-cache; never fails: each part says. */
void lab_list_gather(const char *cache, struct lab_list *l);
void lab_list_print_text(const struct lab_list *l, FILE *out);
void lab_list_print_json(const struct lab_list *l, FILE *out);

#endif
