// SPDX-License-Identifier: GPL-2.0-only
/* Gathers what the safety rules need about a target range, and asks them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inject/inject.h"
#include "inject/maps.h"
#include "inject/pagemap.h"
#include "inject/safety.h"
#include "mcefwd/util/error.h"

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

int inject_target_check(pid_t pid, uint64_t addr, size_t size,
			const struct safety_range *allowed, size_t nr_allowed)
{
	struct maps_entry *maps = NULL;
	struct pagemap_info *pages = NULL;
	size_t nr_maps = 0, nr_pages = (size + 4095) / 4096;
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
	r = safety_judge(&(struct safety_target){
				 .pid = pid, .self_pid = getpid(), .addr = addr, .size = size,
				 .maps = maps, .nr_maps = nr_maps, .pages = pages,
				 .nr_pages = nr_pages, .allowed = allowed,
				 .nr_allowed = nr_allowed,
			 }, why, sizeof(why));
	if (r == SAFETY_RULE_UNMAPPED && maps_err < 0)
		r = error_set(-maps_err, "cannot read /proc/%d/maps: %s", (int)pid,
			      strerror(-maps_err));
	else if (r != SAFETY_OK)
		r = error_set(EPERM, "refused: %s", why);
out:
	free(pages);
	maps_free(maps);
	return r;
}
