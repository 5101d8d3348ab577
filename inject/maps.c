// SPDX-License-Identifier: GPL-2.0-only
/*
 * /proc/PID/maps parsing and classification. Everything here but the
 * readers at the bottom is pure.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inject/maps.h"
#include "mcefwd/util/error.h"

static const char *const maps_kind_names[MAPS_KIND_COUNT] = {
	[MAPS_ANON] = "anon",
	[MAPS_HEAP] = "heap",
	[MAPS_STACK] = "stack",
	[MAPS_VDSO] = "vdso",
	[MAPS_SPECIAL] = "special",
	[MAPS_MEMFD] = "memfd",
	[MAPS_HUGETLB_ANON] = "hugetlb-anon",
	[MAPS_FILE] = "file",
	[MAPS_HUGETLB_FILE] = "hugetlb-file",
};

const char *maps_kind_name(enum maps_kind kind)
{
	if ((unsigned int)kind >= MAPS_KIND_COUNT)
		return NULL;
	return maps_kind_names[kind];
}

/* ---- one line ---- */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Digits only: no sign, no "0x", no leading blanks (unlike strtoull). */
static const char *parse_hex(const char *p, uint64_t *v)
{
	const char *s = p;
	uint64_t x = 0;
	int d;

	while ((d = hex_digit(*p)) >= 0) {
		if (x > UINT64_MAX >> 4)
			return NULL;
		x = x << 4 | (uint64_t)d;
		p++;
	}
	if (p == s)
		return NULL;
	*v = x;
	return p;
}

static const char *parse_dec(const char *p, uint64_t *v)
{
	const char *s = p;
	uint64_t x = 0;

	while (*p >= '0' && *p <= '9') {
		uint64_t d = (uint64_t)(*p - '0');

		if (x > (UINT64_MAX - d) / 10)
			return NULL;
		x = x * 10 + d;
		p++;
	}
	if (p == s)
		return NULL;
	*v = x;
	return p;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_eol(char c)
{
	return c == '\0' || c == '\n';
}

/* At least one blank, then the next field; NULL if the line ends first. */
static const char *next_field(const char *p)
{
	if (!p || !is_blank(*p))
		return NULL;
	while (is_blank(*p))
		p++;
	return is_eol(*p) ? NULL : p;
}

static bool perms_valid(const char *p)
{
	return (p[0] == 'r' || p[0] == '-') && (p[1] == 'w' || p[1] == '-') &&
	       (p[2] == 'x' || p[2] == '-') && (p[3] == 'p' || p[3] == 's');
}

static bool span_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && !memcmp(s, word, len);
}

static bool span_starts(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && !memcmp(s, prefix, n);
}

/*
 * From the whole path, before any truncation. The memfd and anon_hugepage
 * names are the kernel's internal shmem/hugetlbfs files, which live on an
 * anonymous device (major 0): a real file called "/memfd:x" on a disk is
 * just a file.
 */
static enum maps_kind maps_classify(const char *path, size_t len, unsigned int dev_major,
				    uint64_t inode)
{
	if (!len)
		return inode ? MAPS_FILE : MAPS_ANON;
	if (path[0] == '[' && path[len - 1] == ']') {
		if (span_is(path, len, "[heap]"))
			return MAPS_HEAP;
		if (span_is(path, len, "[stack]") || span_starts(path, len, "[stack:"))
			return MAPS_STACK;
		if (span_is(path, len, "[vdso]") || span_is(path, len, "[vvar]") ||
		    span_is(path, len, "[vsyscall]") || span_is(path, len, "[vvar_vclock]"))
			return MAPS_VDSO;
		/*
		 * prctl(PR_SET_VMA_ANON_NAME) names private anonymous memory
		 * and changes nothing else: mcefwd names its guest RAM so.
		 * Shared anonymous memory ("[anon_shmem:NAME]") stays special.
		 */
		if (span_starts(path, len, "[anon:") && !inode)
			return MAPS_ANON;
		return MAPS_SPECIAL;
	}
	if (dev_major == 0 && span_starts(path, len, "/memfd:") && len > strlen("/memfd:"))
		return MAPS_MEMFD;
	if (dev_major == 0 && span_is(path, len, "/anon_hugepage (deleted)"))
		return MAPS_HUGETLB_ANON;
	return MAPS_FILE;
}

int maps_parse_line(const char *line, struct maps_entry *out)
{
	struct maps_entry e = { 0 };
	const char *p = line, *path;
	uint64_t major, minor;
	size_t len;

	if (!line || !out)
		return -EINVAL;
	p = parse_hex(p, &e.start);
	if (!p || *p != '-')
		return -EINVAL;
	p = parse_hex(p + 1, &e.end);
	if (!p || e.start >= e.end)
		return -EINVAL;

	p = next_field(p);
	if (!p || !perms_valid(p))
		return -EINVAL;
	memcpy(e.perms, p, 4);
	e.perms[4] = '\0';

	p = next_field(p + 4);
	p = p ? parse_hex(p, &e.offset) : NULL;

	p = next_field(p);
	p = p ? parse_hex(p, &major) : NULL;
	if (!p || *p != ':')
		return -EINVAL;
	p = parse_hex(p + 1, &minor);
	if (!p || major > UINT_MAX || minor > UINT_MAX)
		return -EINVAL;
	e.dev_major = (unsigned int)major;
	e.dev_minor = (unsigned int)minor;

	p = next_field(p);
	p = p ? parse_dec(p, &e.inode) : NULL;
	if (!p || !(is_blank(*p) || is_eol(*p)))
		return -EINVAL;

	while (is_blank(*p))
		p++;
	path = p;
	len = strcspn(path, "\n");
	e.kind = maps_classify(path, len, e.dev_major, e.inode);
	if (len >= sizeof(e.path))
		len = sizeof(e.path) - 1;
	memcpy(e.path, path, len);
	e.path[len] = '\0';

	*out = e;
	return 0;
}

/* ---- all lines ---- */

static const char *next_line(const char *line)
{
	line += strcspn(line, "\n");
	return *line ? line + 1 : line;
}

int maps_parse(const char *text, struct maps_entry *out, size_t max, size_t *n)
{
	const char *line = text;
	uint64_t prev_end = 0;
	size_t count = 0, lineno = 0;

	if (!text || !n || (max && !out))
		return -EINVAL;
	for (; *line; line = next_line(line)) {
		struct maps_entry e;
		int len = (int)strcspn(line, "\n");

		lineno++;
		if (!len)
			continue;
		if (maps_parse_line(line, &e))
			return error_set(EINVAL, "maps line %zu is malformed: \"%.*s\"", lineno,
					 len > 120 ? 120 : len, line);
		if (count && e.start < prev_end)
			return error_set(EINVAL,
					 "maps line %zu: mapping at 0x%" PRIx64
					 " starts before the previous one ends (0x%" PRIx64 ")",
					 lineno, e.start, prev_end);
		prev_end = e.end;
		if (count < max)
			out[count] = e;
		count++;
	}
	*n = count;
	if (count > max && out)
		return error_set(ENOSPC, "maps has %zu mappings, room for %zu", count, max);
	return 0;
}

const struct maps_entry *maps_find(const struct maps_entry *e, size_t n, uint64_t addr)
{
	/* Linear: a few hundred entries, and no reliance on their order. */
	for (size_t i = 0; e && i < n; i++)
		if (addr >= e[i].start && addr < e[i].end)
			return &e[i];
	return NULL;
}

/* ---- hugetlbfs ---- */

/* Copies one field of a mounts line, decoding the \ooo escapes of " \t\n\\". */
static const char *mounts_field(const char *p, char *buf, size_t size, bool *fits)
{
	size_t i = 0;

	*fits = true;
	while (is_blank(*p))
		p++;
	while (*p && !is_blank(*p) && *p != '\n') {
		char c = *p++;

		if (c == '\\' && p[0] >= '0' && p[0] <= '3' && p[1] >= '0' && p[1] <= '7' &&
		    p[2] >= '0' && p[2] <= '7') {
			c = (char)((p[0] - '0') << 6 | (p[1] - '0') << 3 | (p[2] - '0'));
			p += 3;
		}
		if (i + 1 < size)
			buf[i++] = c;
		else
			*fits = false;
	}
	buf[i] = '\0';
	return p;
}

/* mnt is path's directory or above it: "/" or a whole-component prefix. */
static bool mount_covers(const char *mnt, const char *path)
{
	size_t n = strlen(mnt);

	if (!strcmp(mnt, "/"))
		return true;
	return n && !strncmp(mnt, path, n) && path[n] == '/';
}

bool maps_path_on_hugetlbfs(const char *path, const char *mounts_text)
{
	char mnt[PATH_MAX], type[64], dev[64];
	const char *line = mounts_text;
	bool hugetlbfs = false;

	if (!path || path[0] != '/' || !mounts_text)
		return false;
	for (; *line; line = next_line(line)) {
		const char *p = line;
		bool fits_dev, fits_mnt, fits_type;

		p = mounts_field(p, dev, sizeof(dev), &fits_dev);
		p = mounts_field(p, mnt, sizeof(mnt), &fits_mnt);
		mounts_field(p, type, sizeof(type), &fits_type);
		if (!mnt[0] || !type[0] || !fits_mnt || !mount_covers(mnt, path))
			continue;
		hugetlbfs = fits_type && !strcmp(type, "hugetlbfs");
	}
	return hugetlbfs;
}

void maps_classify_hugetlbfs(struct maps_entry *e, size_t n, const char *mounts_text)
{
	for (size_t i = 0; e && i < n; i++) {
		/* A truncated path might name a different directory: leave it a file. */
		if (e[i].kind != MAPS_FILE || e[i].dev_major != 0 ||
		    strlen(e[i].path) >= sizeof(e[i].path) - 1)
			continue;
		if (maps_path_on_hugetlbfs(e[i].path, mounts_text))
			e[i].kind = MAPS_HUGETLB_FILE;
	}
}

/* ---- readers ---- */

/* The whole of a /proc file, NUL-terminated, in a malloc'd buffer. */
static int maps_slurp(const char *path, char **out)
{
	size_t size = 64 * 1024, len = 0;
	char *buf, *bigger;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(errno, "%s: %s", path, strerror(errno));
	buf = malloc(size);
	if (!buf) {
		ret = error_set(ENOMEM, "%s: out of memory", path);
		goto err_close;
	}
	for (;;) {
		ssize_t r;

		if (size - len < 2) {
			bigger = realloc(buf, size * 2);
			if (!bigger) {
				ret = error_set(ENOMEM, "%s: out of memory for %zu bytes", path,
						size * 2);
				goto err_free;
			}
			buf = bigger;
			size *= 2;
		}
		r = read(fd, buf + len, size - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = error_set(errno, "%s: %s", path, strerror(errno));
			goto err_free;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	close(fd);
	*out = buf;
	return 0;

err_free:
	free(buf);
err_close:
	close(fd);
	return ret;
}

int maps_read(pid_t pid, struct maps_entry **out, size_t *n)
{
	char path[64], *maps_text, *mounts_text;
	struct maps_entry *e;
	size_t count;
	int ret;

	if (!out || !n)
		return -EINVAL;
	if (pid <= 0)
		return error_set(EINVAL, "PID %d is not a process id", (int)pid);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	ret = maps_slurp(path, &maps_text);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/proc/%d/mounts", (int)pid);
	ret = maps_slurp(path, &mounts_text);
	if (ret)
		goto err_free_maps;

	ret = maps_parse(maps_text, NULL, 0, &count);
	if (ret)
		goto err_wrap;
	e = calloc(count ? count : 1, sizeof(*e));
	if (!e) {
		ret = error_set(ENOMEM, "/proc/%d/maps: out of memory for %zu mappings",
				(int)pid, count);
		goto err_free_mounts;
	}
	ret = maps_parse(maps_text, e, count, &count);
	if (ret) {
		free(e);
		goto err_wrap;
	}
	maps_classify_hugetlbfs(e, count, mounts_text);

	free(mounts_text);
	free(maps_text);
	*out = e;
	*n = count;
	return 0;

err_wrap:
	error_wrap(-ret, "/proc/%d/maps", (int)pid);
err_free_mounts:
	free(mounts_text);
err_free_maps:
	free(maps_text);
	return ret;
}

void maps_free(struct maps_entry *e)
{
	free(e);
}
