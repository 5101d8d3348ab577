// SPDX-License-Identifier: GPL-2.0-only
/*
 * The table of poison methods, most to least real (DESIGN.md, "Poison
 * methods"); each entry lives in the method's own file. Names on the
 * command line (--poison=NAME, --method NAME) are the table's.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "inject/method.h"
#include "mcefwd/util/error.h"

static const struct inject_method_ops *const method_table[INJECT_METHOD_COUNT] = {
	[INJECT_EINJ] = &inject_method_einj,
	[INJECT_HWPOISON] = &inject_method_hwpoison,
	[INJECT_PFN] = &inject_method_pfn,
	[INJECT_SOFT_OFFLINE] = &inject_method_soft_offline,
	[INJECT_UFFD] = &inject_method_uffd,
	[INJECT_SIGNAL] = &inject_method_signal,
};

const struct inject_method_ops *inject_method(enum inject_method m)
{
	if ((unsigned int)m >= INJECT_METHOD_COUNT)
		return NULL;
	return method_table[m];
}

const char *inject_method_name(enum inject_method m)
{
	const struct inject_method_ops *ops = inject_method(m);

	return ops ? ops->name : NULL;
}

int inject_method_parse(const char *name, enum inject_method *out)
{
	if (!name)
		return -EINVAL;
	for (int m = 0; m < INJECT_METHOD_COUNT; m++) {
		if (!strcmp(name, method_table[m]->name)) {
			*out = m;
			return 0;
		}
	}
	return -EINVAL;
}

int method_check_page(const struct inject_method_ops *ops, const struct inject_page *pg,
		      struct inject_undo *undo)
{
	size_t ps = sysconf(_SC_PAGESIZE);

	if (!pg || !undo)
		return error_set(EINVAL, "%s: no page or no undo", ops->what);
	memset(undo, 0, sizeof(*undo));
	undo->method = ops->id;
	if (!pg->hva || (uintptr_t)pg->hva % ps || !pg->size || pg->size % ps)
		return error_set(EINVAL, "%s: %p + 0x%zx is not a range of whole pages", ops->what,
				 pg->hva, pg->size);
	if (pg->pid < 0)
		return error_set(EINVAL, "%s: pid %d is no process", ops->what, (int)pg->pid);
	if (pg->pid && pg->pid != getpid() && !(ops->flags & INJECT_F_OTHER_PROCESS))
		return error_set(EINVAL, "%s cannot reach pid %d: %s", ops->what, (int)pg->pid,
				 ops->self_only);
	if ((ops->flags & INJECT_F_FRAME) && (!pg->pfn || pg->size != ps))
		return error_set(EINVAL,
				 "%s takes one frame at a time: %p + 0x%zx, pfn 0x%" PRIx64
				 " (look the pfn up first: inject_pfn_lookup)",
				 ops->what, pg->hva, pg->size, pg->pfn);
	return 0;
}

int method_unpoison_frame(struct inject_undo *undo)
{
	if (!undo || !undo->pfn)
		return error_set(EINVAL, "unpoison: no frame to give back");
	return inject_pfn_unpoison(undo->pfn);
}
