/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The rules that keep the injector from poisoning the host: a page is
 * poisoned only if it is memory a guest owns and nobody else maps. Pure:
 * the caller gathers maps (maps_read()) and pagemap (pagemap_read_range())
 * and passes them in. There is deliberately no way to turn a rule off.
 *
 * The rules, checked in this order; the first that applies refuses:
 *
 *   1. SAFETY_RULE_PID          pid <= 0
 *   2. SAFETY_RULE_INIT         pid 1 (init) is never a target
 *   3. SAFETY_RULE_SELF_PID     self_pid <= 0: own memory could not be told apart
 *   4. SAFETY_RULE_ALIGN        addr not 4 KiB aligned
 *   5. SAFETY_RULE_SIZE         size 0
 *   6. SAFETY_RULE_OVERFLOW     addr + size wraps
 *   7. SAFETY_RULE_UNMAPPED     addr in no mapping of pid
 *   8. SAFETY_RULE_CROSSES      [addr, addr + size) runs past its mapping's end
 *   9. SAFETY_RULE_FILE         MAPS_FILE (page cache other processes share)
 *  10. SAFETY_RULE_STACK        MAPS_STACK, or any mapping that holds a
 *                               thread's stack pointer (stacks[]): since
 *                               Linux 4.5 maps names only the main thread's
 *                               stack, and a thread's is plain anonymous
 *                               memory (a thread running on a CPU at that
 *                               moment cannot be asked where its stack is)
 *  11. SAFETY_RULE_VDSO         MAPS_VDSO
 *  12. SAFETY_RULE_HEAP         MAPS_HEAP
 *  13. SAFETY_RULE_SPECIAL      MAPS_SPECIAL or any kind not allowed below
 *      (allowed: MAPS_ANON, MAPS_MEMFD, MAPS_HUGETLB_ANON, MAPS_HUGETLB_FILE)
 *  14. SAFETY_RULE_GUARD        no permissions at all ("---p"): a guard page
 *  15. SAFETY_RULE_UNREADABLE   no read permission
 *  16. SAFETY_RULE_SELF         pid == self_pid and the range is not wholly
 *                               inside one of allowed[] (registered guest RAM)
 *  17. SAFETY_RULE_PAGES        nr_pages is not one per 4 KiB page of the range
 *  18. SAFETY_RULE_NOT_PRESENT  a page not present (pagemap bit 63)
 *  19. SAFETY_RULE_SHARED       MAPS_ANON and a page not exclusively mapped
 *                               (bit 56): KSM, copy-on-write after fork, or
 *                               the shared zero page of a page only read
 *
 * pid must be a thread-group id: a thread id of the injector itself would
 * name the injector's memory under another number.
 */
#ifndef MCEFWD_INJECT_SAFETY_H
#define MCEFWD_INJECT_SAFETY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "inject/maps.h"
#include "inject/pagemap.h"

enum safety_rule {
	SAFETY_OK,
	SAFETY_RULE_PID,
	SAFETY_RULE_INIT,
	SAFETY_RULE_SELF_PID,
	SAFETY_RULE_ALIGN,
	SAFETY_RULE_SIZE,
	SAFETY_RULE_OVERFLOW,
	SAFETY_RULE_UNMAPPED,
	SAFETY_RULE_CROSSES,
	SAFETY_RULE_FILE,
	SAFETY_RULE_STACK,
	SAFETY_RULE_VDSO,
	SAFETY_RULE_HEAP,
	SAFETY_RULE_SPECIAL,
	SAFETY_RULE_GUARD,
	SAFETY_RULE_UNREADABLE,
	SAFETY_RULE_SELF,
	SAFETY_RULE_PAGES,
	SAFETY_RULE_NOT_PRESENT,
	SAFETY_RULE_SHARED,
	SAFETY_RULE_COUNT
};

/* A host virtual range [start, end) of guest RAM the caller owns. */
struct safety_range {
	uint64_t start, end;
};

/* Where a thread of the target had its stack pointer (/proc/PID/task/TID/syscall). */
struct safety_stack {
	pid_t tid;
	uint64_t sp;
};

struct safety_target {
	pid_t pid;			/* the process to poison */
	pid_t self_pid;			/* getpid() of the injector */
	uint64_t addr;			/* host virtual address in pid */
	size_t size;
	const struct maps_entry *maps;	/* pid's maps */
	size_t nr_maps;
	const struct pagemap_info *pages;	/* one per 4 KiB page of [addr, addr + size) */
	size_t nr_pages;
	const struct safety_range *allowed;	/* guest RAM, for pid == self_pid */
	size_t nr_allowed;
	const struct safety_stack *stacks;	/* pid's threads' stack pointers, as known */
	size_t nr_stacks;
};

/*
 * The first rule that refuses t (SAFETY_OK if none), with why set to a
 * one-line reason naming the rule and the address. why may be NULL.
 */
enum safety_rule safety_judge(const struct safety_target *t, char *why, size_t len);

/* 0 if t may be poisoned, else -EPERM with why as for safety_judge(). */
int safety_check(const struct safety_target *t, char *why, size_t len);

/* "ok", "pid", "init", ..., "shared"; NULL if out of range. */
const char *safety_rule_name(int rule);

#endif /* MCEFWD_INJECT_SAFETY_H */
