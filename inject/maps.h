/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * /proc/PID/maps: what each mapping of a process is, so that the injector
 * can tell guest RAM from everything it must never poison.
 *
 * The parsers are pure (a string in, structs out); maps_read() is the thin
 * reader. Line format (fs/proc/task_mmu.c, show_map_vma()):
 *
 *   start-end perms offset major:minor inode   [path]
 *
 * with the hex fields in lower case, inode in decimal and the path running
 * to the end of the line (it may contain spaces, e.g. "/tmp/a b (deleted)").
 */
#ifndef MCEFWD_INJECT_MAPS_H
#define MCEFWD_INJECT_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MAPS_PATH_MAX 256

enum maps_kind {
	MAPS_ANON,		/* no path, inode 0; or named "[anon:NAME]" (PR_SET_VMA_ANON_NAME) */
	MAPS_HEAP,		/* [heap] */
	MAPS_STACK,		/* [stack] and [stack:tid] */
	MAPS_VDSO,		/* [vdso] [vvar] [vsyscall] [vvar_vclock] */
	MAPS_SPECIAL,		/* any other [..], e.g. [anon_shmem:NAME], [uprobes] */
	MAPS_MEMFD,		/* "/memfd:NAME (deleted)" or "/memfd:NAME", device major 0 */
	MAPS_HUGETLB_ANON,	/* "/anon_hugepage (deleted)", device major 0 */
	MAPS_FILE,		/* any other path, incl. "/dev/zero (deleted)" (shared anon) */
	MAPS_HUGETLB_FILE,	/* a MAPS_FILE under a hugetlbfs mount (maps_read() only) */
	MAPS_KIND_COUNT
};

struct maps_entry {
	uint64_t start, end;		/* [start, end) */
	char perms[5];			/* "rw-p": r, w, x, then p(rivate) or s(hared) */
	uint64_t offset;
	unsigned int dev_major, dev_minor;
	uint64_t inode;
	char path[MAPS_PATH_MAX];	/* truncated if longer; kind is from the whole path */
	enum maps_kind kind;
};

/* "anon", "heap", "stack", "vdso", "special", "memfd", "hugetlb-anon", "file", "hugetlb-file"; NULL if out of range. */
const char *maps_kind_name(enum maps_kind kind);

/*
 * One line, ending at '\n' or '\0'. 0, or -EINVAL if malformed: a field
 * missing, not hex (decimal for inode) or out of range, start >= end,
 * perms not [r-][w-][x-][ps]. An overlong path is truncated, not an error.
 */
int maps_parse_line(const char *line, struct maps_entry *out);

/*
 * Every line of text (empty lines are skipped) into out[0..max). *n is the
 * number of mappings in text. 0; -EINVAL naming the line in error_get() for
 * a malformed line or mappings out of order or overlapping; -ENOSPC if
 * there are more than max (out may be NULL with max 0 to count).
 */
int maps_parse(const char *text, struct maps_entry *out, size_t max, size_t *n);

/* The entry whose [start, end) holds addr, or NULL. */
const struct maps_entry *maps_find(const struct maps_entry *e, size_t n, uint64_t addr);

/*
 * Whether path lies under a hugetlbfs mount in mounts_text (the format of
 * /proc/PID/mounts, mount points with \ooo escapes). Of the mounts whose
 * mount point is path's directory or one above it, the last listed
 * decides: a later mount on the same point or on a parent hides an earlier
 * one, and a deeper one is always mounted after its parent.
 */
bool maps_path_on_hugetlbfs(const char *path, const char *mounts_text);

/*
 * Reclassify the MAPS_FILE entries on a hugetlbfs mount as
 * MAPS_HUGETLB_FILE. Only anonymous-device files (major 0) qualify:
 * a file on a block device is never hugetlb, whatever the mount table says.
 */
void maps_classify_hugetlbfs(struct maps_entry *e, size_t n, const char *mounts_text);

/*
 * Read /proc/PID/maps whole and parse it, reclassifying hugetlbfs files with
 * /proc/PID/mounts (the target's own mount namespace). On success *out is
 * an array of *n entries to release with maps_free(). 0/-errno, with
 * error_get() naming the file.
 */
int maps_read(pid_t pid, struct maps_entry **out, size_t *n);
void maps_free(struct maps_entry *e);

#endif /* MCEFWD_INJECT_MAPS_H */
