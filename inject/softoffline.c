// SPDX-License-Identifier: GPL-2.0-only
/*
 * The "soft-offline" method: madvise(MADV_SOFT_OFFLINE) asks the kernel to
 * retire a page that is still good: it copies the contents to a new frame,
 * remaps it and takes the old frame out of service. Nothing faults, so the
 * guest sees no machine check; what can be checked is that the contents
 * survived and the frame changed.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "inject/method.h"
#include "inject/pagemap.h"
#include "inject/probe.h"
#include "mcefwd/util/error.h"

#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE 101 /* include/uapi/asm-generic/mman-common.h */
#endif

static const char *softoffline_hint(int err)
{
	char knob[PATH_MAX + 64];

	switch (err) {
	case EINVAL:
		snprintf(knob, sizeof(knob), "%s/sys/vm/memory_failure_recovery",
			 inject_proc_root());
		if (access(knob, F_OK))
			return ": kernel without memory-failure support "
			       "(CONFIG_MEMORY_FAILURE): use --poison=uffd or signal";
		return ": not a page the kernel can migrate (hugetlb without a "
		       "free huge page, or a special mapping?)";
	case EPERM:
		return ": needs CAP_SYS_ADMIN: run as root";
	case EBUSY:
	case EIO:
		return ": the kernel could not migrate the page (pinned or in use)";
	default:
		return "";
	}
}

static int softoffline_frames(void *page, size_t nr, struct pagemap_info *pi)
{
	int ret = pagemap_read_range(getpid(), (uintptr_t)page, nr, pi);

	return ret ? error_wrap(-ret, "soft-offline of %p: pagemap", page) : 0;
}

/* Every page readable without a fault and with a frame to compare against. */
static int softoffline_check_present(void *page, size_t nr, const struct pagemap_info *pi)
{
	for (size_t i = 0; i < nr; i++) {
		if (!pi[i].present)
			return error_set(ENOENT,
					 "soft-offline: page %p not present%s: "
					 "write to it first",
					 (char *)page + i * PAGEMAP_PAGE_SIZE,
					 pi[i].swapped ? " (swapped out or poisoned)" : "");
	}
	return 0;
}

/*
 * EBUSY can be a moment's reference to the page elsewhere (seen once in
 * about 220 lab runs of the soft-offline scenario, never twice in a row):
 * a few more tries, 10 ms apart, before it is a failure.
 */
static int softoffline_madvise(void *page, size_t size)
{
	int err = 0;

	for (int tries = 0; tries < 5; tries++) {
		if (tries)
			usleep(10000);
		if (!madvise(page, size, MADV_SOFT_OFFLINE))
			return 0;
		err = errno;	/* the hint looks at files */
		if (err != EBUSY)
			break;
	}
	return error_set(err, "madvise(%p, %zu, MADV_SOFT_OFFLINE): %s%s", page, size,
			 strerror(err), softoffline_hint(err));
}

int inject_soft_offline(void *page, size_t size, struct inject_soft_offline_result *out)
{
	struct pagemap_info *before, *after;
	size_t ps = sysconf(_SC_PAGESIZE), nr;
	unsigned char *copy;
	bool visible = true, moved = true, present = true;
	int ret;

	if (!page || !out || !size || (uintptr_t)page % ps || size % ps || ps != PAGEMAP_PAGE_SIZE)
		return error_set(EINVAL,
				 "soft-offline: %p + %zu is not a range of "
				 "whole pages",
				 page, size);
	memset(out, 0, sizeof(*out));
	nr = size / ps;
	before = calloc(2 * nr, sizeof(*before));
	copy = malloc(size);
	if (!before || !copy) {
		ret = error_set(ENOMEM, "soft-offline: %zu bytes: %s", size, strerror(ENOMEM));
		goto out_free;
	}
	after = before + nr;

	ret = softoffline_frames(page, nr, before);
	if (!ret)
		ret = softoffline_check_present(page, nr, before);
	if (ret)
		goto out_free;
	memcpy(copy, page, size);

	ret = softoffline_madvise(page, size);
	if (ret)
		goto out_free;

	/* The offline happened: from here on, report, do not fail. */
	if (softoffline_frames(page, nr, after))
		memset(after, 0, nr * sizeof(*after));
	for (size_t i = 0; i < nr; i++) {
		present &= after[i].present;
		visible &= !before[i].pfn_hidden && !after[i].pfn_hidden;
		moved &= after[i].pfn != before[i].pfn;
	}
	out->pfn_before = before[0].pfn;
	out->pfn_after = after[0].pfn;
	out->pfn_visible = visible && present;
	out->frame_changed = visible && present && moved;
	/* A page that is not present (or a poison entry) might fault: do not read it. */
	out->contents_preserved = present && !memcmp(copy, page, size);
	ret = 0;

out_free:
	free(copy);
	free(before);
	return ret;
}

static void softoffline_probe(struct inject_probe *p)
{
	p->available = false;
	if (!probe_memory_failure(p) || !probe_sys_admin(p))
		return;
	p->available = true;
	probe_set(p, "madvise(MADV_SOFT_OFFLINE) with CAP_SYS_ADMIN and CONFIG_MEMORY_FAILURE");
}

/*
 * The old frame (pg->pfn, looked up before) is the one out of service;
 * undo->so says where the contents went, for the caller to check.
 */
static int softoffline_poison(const struct inject_page *pg, struct inject_undo *undo)
{
	int ret = method_check_page(&inject_method_soft_offline, pg, undo);

	if (!ret)
		ret = inject_soft_offline(pg->hva, pg->size, &undo->so);
	if (!ret)
		undo->pfn = pg->pfn;
	return ret;
}

static const cap_value_t softoffline_caps[] = { CAP_SYS_ADMIN };

const struct inject_method_ops inject_method_soft_offline = {
	.id = INJECT_SOFT_OFFLINE,
	.name = "soft-offline",
	.what = "madvise(MADV_SOFT_OFFLINE)",
	/* Not INJECT_F_MEMORY_FAILURE: soft offline migrates, nobody is killed. */
	.flags = INJECT_F_FRAME | INJECT_F_AUTO | INJECT_F_UNDO | INJECT_F_MIGRATES,
	.caps = softoffline_caps,
	.nr_caps = sizeof(softoffline_caps) / sizeof(softoffline_caps[0]),
	.self_only = "madvise works on the caller's own mappings",
	.probe = softoffline_probe,
	.poison = softoffline_poison,
	.unpoison = method_unpoison_frame,
};
