// SPDX-License-Identifier: GPL-2.0-only
/*
 * The "hwpoison" method: madvise(MADV_HWPOISON) hands a page of this
 * process to the kernel's memory-failure path, as if the hardware had
 * reported it bad; debugfs hwpoison/unpoison-pfn brings the frame back.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "inject/method.h"
#include "inject/probe.h"
#include "mcefwd/util/error.h"

#ifndef MADV_HWPOISON
#define MADV_HWPOISON 100	/* include/uapi/asm-generic/mman-common.h */
#endif

int inject_hwpoison(void *page, size_t size)
{
	/* The kernel's memory-failure path takes the page out of service. */
	return madvise(page, size, MADV_HWPOISON) ? -errno : 0;
}

static const char *hwpoison_hint(int err)
{
	char knob[PATH_MAX + 64];

	switch (err) {
	case EINVAL:
		snprintf(knob, sizeof(knob), "%s/sys/vm/memory_failure_recovery",
			 inject_proc_root());
		if (access(knob, F_OK))
			return ": kernel without memory-failure support "
			       "(CONFIG_MEMORY_FAILURE): use --poison=uffd or signal";
		return "";
	case EPERM:
		return ": needs CAP_SYS_ADMIN: run as root";
	case EBUSY:
		return ": the kernel could not isolate the page (pinned or in use)";
	default:
		return "";
	}
}

static void hwpoison_probe(struct inject_probe *p)
{
	p->available = false;
	if (!probe_memory_failure(p) || !probe_sys_admin(p))
		return;
	p->available = true;
	probe_set(p, "madvise(MADV_HWPOISON) with CAP_SYS_ADMIN and CONFIG_MEMORY_FAILURE");
}

static int hwpoison_poison(const struct inject_page *pg, struct inject_undo *undo)
{
	int ret = method_check_page(&inject_method_hwpoison, pg, undo);

	if (ret)
		return ret;
	ret = inject_hwpoison(pg->hva, pg->size);
	if (ret)
		return error_set(-ret, "madvise(%p, %zu, MADV_HWPOISON): %s%s", pg->hva, pg->size,
				 strerror(-ret), hwpoison_hint(-ret));
	undo->pfn = pg->pfn;
	return 0;
}

static const cap_value_t hwpoison_caps[] = { CAP_SYS_ADMIN };

const struct inject_method_ops inject_method_hwpoison = {
	.id = INJECT_HWPOISON,
	.name = "hwpoison",
	.what = "madvise(MADV_HWPOISON)",
	.flags = INJECT_F_FRAME | INJECT_F_MEMORY_FAILURE | INJECT_F_AUTO | INJECT_F_UNDO,
	.caps = hwpoison_caps,
	.nr_caps = sizeof(hwpoison_caps) / sizeof(hwpoison_caps[0]),
	.self_only = "madvise works on the caller's own mappings",
	.probe = hwpoison_probe,
	.poison = hwpoison_poison,
	.unpoison = method_unpoison_frame,
};
