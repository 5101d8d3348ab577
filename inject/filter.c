// SPDX-License-Identifier: GPL-2.0-only
/* The hwpoison filter, narrowed to one frame's memory cgroup (filter.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inject/filter.h"
#include "inject/inject.h"
#include "mcefwd/util/error.h"
#include "mcefwd/util/io.h"

static void filter_path(char *path, size_t len, const char *knob)
{
	snprintf(path, len, "%s/hwpoison/%s", inject_debugfs_root(), knob);
}

/* A debugfs u32/u64 knob, which reads as decimal. -ENOENT if absent. */
static int filter_read(const char *knob, uint64_t *v)
{
	char path[PATH_MAX + 64], text[32];
	ssize_t n;
	char *end;

	filter_path(path, sizeof(path), knob);
	n = io_read_text(path, text, sizeof(text));
	if (n < 0)
		return error_set((int)-n, "%s: %s", path, strerror((int)-n));
	errno = 0;
	*v = strtoull(text, &end, 0);
	if (errno || end == text || (*end && *end != '\n'))
		return error_set(EINVAL, "%s reads \"%.20s\", not a number", path, text);
	return 0;
}

static int filter_write(const char *knob, uint64_t v)
{
	char path[PATH_MAX + 64], text[32];
	int fd, len, err = 0;

	filter_path(path, sizeof(path), knob);
	len = snprintf(text, sizeof(text), "%" PRIu64 "\n", v);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return error_set(errno, "%s: %s", path, strerror(errno));
	if (write(fd, text, (size_t)len) != len)
		err = errno ? errno : EIO;
	close(fd);
	if (err)
		return error_set(err, "writing %" PRIu64 " to %s: %s", v, path, strerror(err));
	return 0;
}

/* page_cgroup_ino() of pfn, from /proc/kpagecgroup. */
static int filter_frame_memcg(uint64_t pfn, uint64_t *ino)
{
	char path[PATH_MAX + 16];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/kpagecgroup", inject_proc_root());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(errno, "%s: %s", path, strerror(errno));
	n = pread(fd, ino, sizeof(*ino), (off_t)(pfn * sizeof(*ino)));
	close(fd);
	if (n != (ssize_t)sizeof(*ino))
		return error_set(n < 0 ? errno : EIO, "%s at pfn 0x%" PRIx64 ": %s", path, pfn,
				 n < 0 ? strerror(errno) : "short read");
	return 0;
}

int filter_arm(uint64_t pfn, struct filter_saved *s, char *why, size_t len)
{
	uint64_t enable;
	int r;

	memset(s, 0, sizeof(*s));
	r = filter_read("corrupt-filter-enable", &enable);
	if (!r)
		r = filter_read("corrupt-filter-memcg", &s->old_memcg);
	if (r == -ENOENT) {
		snprintf(why, len, "no hwpoison/corrupt-filter-memcg (hwpoison_inject without it, or CONFIG_MEMCG off)");
		return 0;
	}
	if (r)
		return r;
	if (enable)
		return error_set(EBUSY,
				 "%s/hwpoison/corrupt-filter-enable is %" PRIu64 ": a hwpoison filter "
				 "is already set (another injector's, or one a killed run left), and "
				 "it could drop this write or hit another page; when nobody uses it: "
				 "echo 0 > %s/hwpoison/corrupt-filter-enable",
				 inject_debugfs_root(), enable, inject_debugfs_root());
	r = filter_frame_memcg(pfn, &s->memcg);
	if (r) {
		snprintf(why, len, "%s", error_get());
		return 0;
	}
	if (!s->memcg) {
		snprintf(why, len, "pfn 0x%" PRIx64 " is charged to no memory cgroup", pfn);
		return 0;
	}
	r = filter_write("corrupt-filter-memcg", s->memcg);
	if (r)
		return r;
	r = filter_write("corrupt-filter-enable", 1);
	if (r) {
		filter_write("corrupt-filter-memcg", s->old_memcg);
		return r;
	}
	s->armed = true;
	snprintf(why, len, "corrupt-filter-memcg=%" PRIu64 " (the frame's memory cgroup)", s->memcg);
	return 0;
}

int filter_restore(struct filter_saved *s)
{
	int r, r2;

	if (!s->armed)
		return 0;
	/* Off first: a filter half put back would filter by the old cgroup. */
	r = filter_write("corrupt-filter-enable", 0);
	r2 = filter_write("corrupt-filter-memcg", s->old_memcg);
	s->armed = false;
	return r ? r : r2;
}
