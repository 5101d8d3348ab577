/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel's hwpoison filter (Documentation/mm/hwpoison.rst, debugfs
 * hwpoison/corrupt-filter-*, module hwpoison_inject), narrowed to one
 * frame's memory cgroup around one corrupt-pfn write, then put back.
 *
 * What it narrows: with corrupt-filter-enable set, corrupt-pfn poisons only
 * a page on an LRU list, a hugetlb page or a free page (never a kernel
 * page: slab, page tables, ...), and with corrupt-filter-memcg only a page
 * charged to that memory cgroup, checked again under the page lock inside
 * memory_failure(). The cgroup is the frame's own as /proc/kpagecgroup gave
 * it when the frame was looked up as the target's guest page (the very
 * value the filter compares, page_cgroup_ino()): if the frame is freed and
 * reused by a process of another cgroup before the write, the kernel drops
 * the write. It cannot tell the target from another process of its own
 * cgroup, nor from a freed page (the kernel's own comment says as much);
 * the re-check after the write covers those.
 *
 * What it costs: the filter is global. While it is set (three debugfs
 * writes, around one page) any other memory failure is filtered too: a
 * real hardware error elsewhere in that window is dropped as the kernel
 * drops filtered errors (-EOPNOTSUPP), to be raised again when the bad
 * memory is next consumed; another injector in that window sees our
 * filter. So it is set only when it was off (corrupt-filter-enable 0),
 * never over someone else's, and put back at once. The flags and device
 * filters are left alone: page flags tell kinds of pages apart, not their
 * owners, and anonymous memory has no device.
 */
#ifndef MCEFWD_INJECT_FILTER_H
#define MCEFWD_INJECT_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct filter_saved {
	bool armed;			/* filter_arm() set the filter; filter_restore() owes it back */
	uint64_t memcg;			/* the cgroup it was narrowed to */
	uint64_t old_memcg;		/* corrupt-filter-memcg before */
};

/*
 * Narrows corrupt-pfn to pfn's memory cgroup. 0 with s->armed when it did;
 * 0 without when it cannot here (no filter knobs: an old or missing
 * hwpoison_inject, CONFIG_MEMCG off; no /proc/kpagecgroup; a frame charged
 * to no cgroup), with why saying so; -EBUSY when a filter is already
 * enabled (someone else's, or one a killed run left), -errno if a knob
 * cannot be read or written; error_get() says which and what to do.
 */
int filter_arm(uint64_t pfn, struct filter_saved *s, char *why, size_t len);

/* Puts back what filter_arm() changed, if anything. 0/-errno. */
int filter_restore(struct filter_saved *s);

#endif /* MCEFWD_INJECT_FILTER_H */
