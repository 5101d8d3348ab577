// SPDX-License-Identifier: GPL-2.0-only
/* Gathers what the safety rules need about a target range, and asks them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inject/inject.h"
#include "inject/maps.h"
#include "inject/pagemap.h"
#include "inject/safety.h"
#include "mcefwd/util/error.h"
#include "mcefwd/util/io.h"

/* Enough for a 1 GiB range; the injector poisons a page or a huge page. */
#define TARGET_MAX_PAGES (1UL << 18)

/* The thread-group id of pid: a thread of the injector is the injector. */
static pid_t target_tgid(pid_t pid)
{
	char path[64], line[128];
	pid_t tgid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

int inject_parse_task_syscall(const char *text, uint64_t *sp)
{
	const char *tok[9];
	char buf[256], *save, *t;
	unsigned long long v;
	char *end;
	int n = 0;

	if (!text || strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	for (t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
		if (n == 9)
			return -EINVAL;
		tok[n++] = t;
	}
	if (n == 1 && !strcmp(tok[0], "running"))
		return -EAGAIN;
	/* "NR A1..A6 SP PC" in a system call, "-1 SP PC" blocked elsewhere. */
	if (n != 9 && !(n == 3 && !strcmp(tok[0], "-1")))
		return -EINVAL;
	errno = 0;
	v = strtoull(tok[n - 2], &end, 16);
	if (errno || *end || strncmp(tok[n - 2], "0x", 2))
		return -EINVAL;
	*sp = v;
	return 0;
}

/*
 * The stack pointers of pid's threads that can say (*n of them, in a
 * malloc'd array, NULL if none). A thread that ends meanwhile is skipped.
 */
static struct safety_stack *target_stacks(pid_t pid, size_t *n)
{
	struct safety_stack *s = NULL, *bigger;
	char path[64 + 256], text[256];
	size_t cap = 0;
	struct dirent *e;
	DIR *d;

	*n = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		uint64_t sp;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/syscall", (int)pid, e->d_name);
		if (io_read_text(path, text, sizeof(text)) <= 0)
			continue;
		if (inject_parse_task_syscall(text, &sp))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			bigger = realloc(s, cap * sizeof(*s));
			if (!bigger)
				break;
			s = bigger;
		}
		s[(*n)++] = (struct safety_stack){ .tid = atoi(e->d_name), .sp = sp };
	}
	if (d)
		closedir(d);
	return s;
}

int inject_target_check(pid_t pid, uint64_t addr, size_t size,
			const struct safety_range *allowed, size_t nr_allowed)
{
	struct maps_entry *maps = NULL;
	struct pagemap_info *pages = NULL;
	struct safety_stack *stacks = NULL;
	size_t nr_stacks = 0, nr_maps = 0, nr_pages = (size + 4095) / 4096;
	char why[256];
	int r, maps_err;

	if (!size || nr_pages > TARGET_MAX_PAGES)
		return error_set(EINVAL, "size %zu: must be 1 byte to 1 GiB", size);
	if (pid > 0) {
		pid_t tgid = target_tgid(pid);

		if (tgid < 0)
			return error_set(ESRCH, "no process %d", (int)pid);
		pid = tgid;
	}
	/* Without maps the rules that need none (PID 1, alignment) still speak. */
	maps_err = maps_read(pid, &maps, &nr_maps);
	if (maps_err < 0)
		nr_maps = 0;
	pages = calloc(nr_pages, sizeof(*pages));
	if (!pages) {
		r = error_set(ENOMEM, "out of memory");
		goto out;
	}
	/* A range past its mapping's end has no pagemap: let the rules say so. */
	if (pagemap_read_range(pid, addr, nr_pages, pages) < 0)
		memset(pages, 0, nr_pages * sizeof(*pages));
	if (pid > 0)
		stacks = target_stacks(pid, &nr_stacks);
	r = safety_judge(&(struct safety_target){
				 .pid = pid, .self_pid = getpid(), .addr = addr, .size = size,
				 .maps = maps, .nr_maps = nr_maps, .pages = pages,
				 .nr_pages = nr_pages, .allowed = allowed,
				 .nr_allowed = nr_allowed, .stacks = stacks,
				 .nr_stacks = nr_stacks,
			 }, why, sizeof(why));
	if (r == SAFETY_RULE_UNMAPPED && maps_err < 0)
		r = error_set(-maps_err, "cannot read /proc/%d/maps: %s", (int)pid,
			      strerror(-maps_err));
	else if (r != SAFETY_OK)
		r = error_set(EPERM, "refused: %s", why);
out:
	free(stacks);
	free(pages);
	maps_free(maps);
	return r;
}
