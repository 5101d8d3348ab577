// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rules in safety.h, in its order. Each refusal is its own sentence,
 * starting from the address, so that a user who sees it knows which page
 * and why without reading this file.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "inject/safety.h"

static const char *const safety_rule_names[SAFETY_RULE_COUNT] = {
	[SAFETY_OK] = "ok",
	[SAFETY_RULE_PID] = "pid",
	[SAFETY_RULE_INIT] = "init",
	[SAFETY_RULE_SELF_PID] = "self-pid",
	[SAFETY_RULE_ALIGN] = "align",
	[SAFETY_RULE_SIZE] = "size",
	[SAFETY_RULE_OVERFLOW] = "overflow",
	[SAFETY_RULE_UNMAPPED] = "unmapped",
	[SAFETY_RULE_CROSSES] = "crosses",
	[SAFETY_RULE_FILE] = "file",
	[SAFETY_RULE_STACK] = "stack",
	[SAFETY_RULE_VDSO] = "vdso",
	[SAFETY_RULE_HEAP] = "heap",
	[SAFETY_RULE_SPECIAL] = "special",
	[SAFETY_RULE_GUARD] = "guard",
	[SAFETY_RULE_UNREADABLE] = "unreadable",
	[SAFETY_RULE_SELF] = "self",
	[SAFETY_RULE_PAGES] = "pages",
	[SAFETY_RULE_NOT_PRESENT] = "not-present",
	[SAFETY_RULE_SHARED] = "shared",
};

const char *safety_rule_name(int rule)
{
	if (rule < 0 || rule >= SAFETY_RULE_COUNT)
		return NULL;
	return safety_rule_names[rule];
}

__attribute__((format(printf, 4, 5)))
static enum safety_rule refuse(enum safety_rule rule, char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return rule;
}

/* What to call a mapping in a sentence: its path, or its range if it has none. */
static const char *mapping_name(const struct maps_entry *m, char *buf, size_t len)
{
	if (m->path[0])
		return m->path;
	snprintf(buf, len, "the anonymous mapping 0x%" PRIx64 "-0x%" PRIx64, m->start, m->end);
	return buf;
}

static enum safety_rule safety_judge_kind(const struct safety_target *t,
					  const struct maps_entry *m, char *why, size_t len)
{
	switch (m->kind) {
	case MAPS_ANON:
	case MAPS_MEMFD:
	case MAPS_HUGETLB_ANON:
	case MAPS_HUGETLB_FILE:
		for (size_t i = 0; t->stacks && i < t->nr_stacks; i++)
			if (t->stacks[i].sp >= m->start && t->stacks[i].sp < m->end)
				return refuse(SAFETY_RULE_STACK, why, len,
					      "0x%" PRIx64 " is in the stack of thread %d (its "
					      "stack pointer 0x%" PRIx64 " is in 0x%" PRIx64
					      "-0x%" PRIx64 "): refusing to poison a stack",
					      t->addr, (int)t->stacks[i].tid, t->stacks[i].sp,
					      m->start, m->end);
		return SAFETY_OK;
	case MAPS_FILE:
		return refuse(SAFETY_RULE_FILE, why, len,
			      "0x%" PRIx64 " is in a file-backed mapping of %s: poisoning it "
			      "would poison the page cache other processes share",
			      t->addr, m->path[0] ? m->path : "an unnamed file");
	case MAPS_STACK:
		return refuse(SAFETY_RULE_STACK, why, len,
			      "0x%" PRIx64 " is in %s: refusing to poison a stack", t->addr,
			      m->path);
	case MAPS_VDSO:
		return refuse(SAFETY_RULE_VDSO, why, len,
			      "0x%" PRIx64 " is in %s: kernel-provided pages every process "
			      "maps, not guest memory", t->addr, m->path);
	case MAPS_HEAP:
		return refuse(SAFETY_RULE_HEAP, why, len,
			      "0x%" PRIx64 " is in [heap]: [heap] is the process heap, not "
			      "guest memory", t->addr);
	case MAPS_SPECIAL:
	default:
		return refuse(SAFETY_RULE_SPECIAL, why, len,
			      "0x%" PRIx64 " is in %s: a special kernel mapping (%s), not guest "
			      "memory", t->addr, m->path[0] ? m->path : "an unnamed mapping",
			      maps_kind_name(m->kind) ? maps_kind_name(m->kind) : "unknown kind");
	}
}

static bool inside_allowed(const struct safety_target *t, uint64_t end)
{
	for (size_t i = 0; t->allowed && i < t->nr_allowed; i++) {
		const struct safety_range *a = &t->allowed[i];

		if (a->start <= t->addr && end <= a->end)
			return true;
	}
	return false;
}

enum safety_rule safety_judge(const struct safety_target *t, char *why, size_t len)
{
	const struct maps_entry *m, *next;
	char name[80], next_name[80];
	uint64_t end;
	size_t nr;
	enum safety_rule rule;

	if (why && len)
		why[0] = '\0';
	if (!t)
		return refuse(SAFETY_RULE_PID, why, len, "no target given");
	if (t->pid <= 0)
		return refuse(SAFETY_RULE_PID, why, len,
			      "0x%" PRIx64 " in PID %d: not a process id (a PID is > 0)", t->addr,
			      (int)t->pid);
	if (t->pid == 1)
		return refuse(SAFETY_RULE_INIT, why, len,
			      "0x%" PRIx64 " in PID 1: PID 1 (init) is never a target", t->addr);
	if (t->self_pid <= 0)
		return refuse(SAFETY_RULE_SELF_PID, why, len,
			      "0x%" PRIx64 " in PID %d: the injector's own PID is not set "
			      "(self_pid %d), so its own memory cannot be told apart",
			      t->addr, (int)t->pid, (int)t->self_pid);

	if (t->addr % PAGEMAP_PAGE_SIZE)
		return refuse(SAFETY_RULE_ALIGN, why, len,
			      "0x%" PRIx64 " is not 4 KiB page aligned: poison whole pages "
			      "from a page boundary", t->addr);
	if (!t->size)
		return refuse(SAFETY_RULE_SIZE, why, len,
			      "0x%" PRIx64 ": size is 0, nothing to poison", t->addr);
	if (t->size > UINT64_MAX - t->addr)
		return refuse(SAFETY_RULE_OVERFLOW, why, len,
			      "0x%" PRIx64 " + 0x%zx wraps past the end of the address space",
			      t->addr, t->size);
	end = t->addr + t->size;

	m = maps_find(t->maps, t->nr_maps, t->addr);
	if (!m)
		return refuse(SAFETY_RULE_UNMAPPED, why, len,
			      "0x%" PRIx64 " is not mapped in PID %d", t->addr, (int)t->pid);
	/* Mappings end on a page boundary: a partial last page is inside too. */
	if (end > m->end) {
		next = maps_find(t->maps, t->nr_maps, m->end);
		return refuse(SAFETY_RULE_CROSSES, why, len,
			      "0x%" PRIx64 "-0x%" PRIx64 " crosses the end of %s at 0x%" PRIx64
			      " into %s: poison one mapping at a time",
			      t->addr, end, mapping_name(m, name, sizeof(name)), m->end,
			      next ? mapping_name(next, next_name, sizeof(next_name))
				   : "unmapped memory");
	}

	rule = safety_judge_kind(t, m, why, len);
	if (rule != SAFETY_OK)
		return rule;

	if (!strncmp(m->perms, "---", 3))
		return refuse(SAFETY_RULE_GUARD, why, len,
			      "0x%" PRIx64 " is in a %s guard page of %s: no access, nothing "
			      "uses it", t->addr, m->perms, mapping_name(m, name, sizeof(name)));
	if (m->perms[0] != 'r')
		return refuse(SAFETY_RULE_UNREADABLE, why, len,
			      "0x%" PRIx64 " is in %s mapped %s, without read permission: not "
			      "guest RAM", t->addr, mapping_name(m, name, sizeof(name)), m->perms);

	if (t->pid == t->self_pid && !inside_allowed(t, end))
		return refuse(SAFETY_RULE_SELF, why, len,
			      "0x%" PRIx64 "-0x%" PRIx64 " is the injector's own memory outside "
			      "guest RAM: in-process, only registered guest RAM is poisoned",
			      t->addr, end);

	nr = t->size / PAGEMAP_PAGE_SIZE + !!(t->size % PAGEMAP_PAGE_SIZE);
	if (!t->pages || t->nr_pages != nr)
		return refuse(SAFETY_RULE_PAGES, why, len,
			      "0x%" PRIx64 "-0x%" PRIx64 " spans %zu pages but pagemap gives %zu: "
			      "cannot check every page", t->addr, end, nr,
			      t->pages ? t->nr_pages : 0);
	for (size_t i = 0; i < nr; i++) {
		uint64_t page = t->addr + i * PAGEMAP_PAGE_SIZE;

		if (!t->pages[i].present)
			return refuse(SAFETY_RULE_NOT_PRESENT, why, len,
				      "0x%" PRIx64 " is not present in memory: touch it first",
				      page);
		/*
		 * Only anonymous pages: a memfd or hugetlb page is the guest's
		 * own file, mapped by whoever shares that guest on purpose.
		 */
		if (m->kind == MAPS_ANON && !t->pages[i].exclusive)
			return refuse(SAFETY_RULE_SHARED, why, len,
				      "0x%" PRIx64 " is shared with another process (KSM or "
				      "copy-on-write after fork): poisoning it would hit them "
				      "too; if it was only ever read, it may be the zero page: write it "
				      "first", page);
	}
	return SAFETY_OK;
}

int safety_check(const struct safety_target *t, char *why, size_t len)
{
	return safety_judge(t, why, len) == SAFETY_OK ? 0 : -EPERM;
}
