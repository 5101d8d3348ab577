// SPDX-License-Identifier: GPL-2.0-only
/*
 * The state file of poisoned frames (format in state.h): an append-only
 * log, written as frames are poisoned, read back by --unpoison-all. Its
 * lines are parsed in state_parse.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "inject/state.h"
#include "mcefwd/util/error.h"
#include "mcefwd/util/io.h"

#define STATE_FILE_MAX (64u << 20)

struct state {
	int fd;
	bool torn_tail; /* our own last write was short */
	char boot[STATE_BOOT_ID_LEN + 1];
	char *path;
};

const char *state_default_path(void)
{
	const char *env = getenv("MCEFWD_STATE");

	return env && *env ? env : STATE_DEFAULT_PATH;
}

/* Frames the kernel keeps out of service until unpoison-pfn or a reboot. */
static bool state_method_poisons_frame(enum inject_method m)
{
	const struct inject_method_ops *ops = inject_method(m);

	return ops && (ops->flags & INJECT_F_FRAME);
}

/* This boot's boot_id, or "" if unreadable. */
static void state_boot_id(char boot[STATE_BOOT_ID_LEN + 1])
{
	char path[PATH_MAX + 32], buf[64];

	boot[0] = '\0';
	snprintf(path, sizeof(path), "%s/sys/kernel/random/boot_id", inject_proc_root());
	if (io_read_text(path, buf, sizeof(buf)) <= 0)
		return;
	buf[strcspn(buf, "\n")] = '\0';
	if (state_boot_id_valid(buf, strlen(buf)))
		strcpy(boot, buf);
}

/* ---- writing ---- */

/* mkdir -p of path's directory, each new one 0700 whatever the umask. */
static int state_mkdirs(const char *path)
{
	char dir[PATH_MAX];
	char *p;

	if (strlen(path) >= sizeof(dir))
		return error_set(ENAMETOOLONG, "%s: %s", path, strerror(ENAMETOOLONG));
	strcpy(dir, path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1;; p++) {
		bool last = !*p;

		if (*p && *p != '/')
			continue;
		*p = '\0';
		if (!mkdir(dir, 0700)) {
			if (chmod(dir, 0700))
				return error_set(errno, "chmod 0700 %s: %s", dir, strerror(errno));
		} else if (errno != EEXIST) {
			return error_set(errno, "mkdir %s: %s", dir, strerror(errno));
		}
		if (last)
			break;
		*p = '/';
	}
	return 0;
}

/* A new directory entry survives a crash only once its directory is synced. */
static void state_sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (!copy)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

static int state_write_all(struct state *s, const char *buf, size_t len)
{
	ssize_t n;

	do {
		n = write(s->fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len)
		return 0;
	/* Part of a line may be in the file: the next one must not join it. */
	if (n > 0)
		s->torn_tail = true;
	return error_set(n < 0 ? errno : EIO, "appending to %s: %s", s->path,
			 n < 0 ? strerror(errno) : "short write");
}

/* One record: one write(), then fdatasync. */
static int state_append(struct state *s, const char *line, size_t len)
{
	int ret;

	if (s->torn_tail) {
		ret = state_write_all(s, STATE_TORN_MARK "\n", strlen(STATE_TORN_MARK) + 1);
		if (ret)
			return ret;
		s->torn_tail = false;
	}
	ret = state_write_all(s, line, len);
	if (ret)
		return ret;
	if (fdatasync(s->fd))
		return error_set(errno,
				 "fdatasync %s: %s: the record may not survive "
				 "a crash",
				 s->path, strerror(errno));
	return 0;
}

/* End a torn last line left by a crash, without rewriting anything. */
static int state_end_torn_line(struct state *s)
{
	struct stat st;
	char last;
	int ret = 0;

	if (flock(s->fd, LOCK_EX))
		return error_set(errno, "flock %s: %s", s->path, strerror(errno));
	if (fstat(s->fd, &st)) {
		ret = error_set(errno, "stat %s: %s", s->path, strerror(errno));
	} else if (st.st_size > 0) {
		ssize_t n = pread(s->fd, &last, 1, st.st_size - 1);
		int err = n < 0 ? errno : EIO;

		if (n != 1)
			ret = error_set(err, "reading %s: %s", s->path, strerror(err));
		else if (last != '\n')
			s->torn_tail = true;
	}
	if (!ret && s->torn_tail) {
		ret = state_write_all(s, STATE_TORN_MARK "\n", strlen(STATE_TORN_MARK) + 1);
		if (!ret && fdatasync(s->fd))
			ret = error_set(errno, "fdatasync %s: %s", s->path, strerror(errno));
		if (!ret)
			s->torn_tail = false;
	}
	flock(s->fd, LOCK_UN);
	return ret;
}

int state_open(const char *path, struct state **out)
{
	const int flags = O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW;
	struct state *s;
	struct stat st;
	bool created = false;
	int ret;

	if (!out)
		return error_set(EINVAL, "state_open: no out");
	*out = NULL;
	if (!path)
		path = state_default_path();
	ret = state_mkdirs(path);
	if (ret)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		return error_set(ENOMEM, "state file %s: %s", path, strerror(ENOMEM));
	}
	s->fd = open(path, flags | O_CREAT | O_EXCL, 0600);
	if (s->fd >= 0)
		created = true;
	else if (errno == EEXIST)
		s->fd = open(path, flags);
	if (s->fd < 0) {
		ret = error_set(errno, "state file %s: %s%s", path, strerror(errno),
				errno == ELOOP ? " (a symlink: refused)" : "");
		goto err_free;
	}
	if (fstat(s->fd, &st)) {
		ret = error_set(errno, "stat %s: %s", path, strerror(errno));
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = error_set(EINVAL, "state file %s is not a regular file", path);
		goto err_close;
	}
	if (created) {
		/* 0600 whatever the umask: it names frames and processes. */
		if (fchmod(s->fd, 0600)) {
			ret = error_set(errno, "chmod 0600 %s: %s", path, strerror(errno));
			goto err_close;
		}
		state_sync_dir(path);
	}
	ret = state_end_torn_line(s);
	if (ret)
		goto err_close;
	state_boot_id(s->boot);
	*out = s;
	return 0;

err_close:
	close(s->fd);
err_free:
	free(s->path);
	free(s);
	return ret;
}

int state_record_poison(struct state *s, const struct state_entry *e)
{
	char line[STATE_LINE_MAX];
	int len;

	if (!s || !e || !e->pfn)
		return error_set(EINVAL, "state_record_poison: bad arguments");
	if (!state_method_poisons_frame(e->method))
		return error_set(EINVAL,
				 "method %s poisons no page frame: nothing to "
				 "record",
				 inject_method_name(e->method) ?: "?");
	len =
	    snprintf(line, sizeof(line),
		     "poisoned pfn=0x%" PRIx64 " pid=%d addr=0x%" PRIx64 " size=%zu "
		     "method=%s time=%" PRId64 "%s%s\n",
		     e->pfn, (int)e->pid, e->addr, e->size, inject_method_name(e->method),
		     e->time ? e->time : (int64_t)time(NULL), s->boot[0] ? " boot=" : "", s->boot);
	return state_append(s, line, len);
}

static int state_append_unpoisoned(struct state *s, uint64_t pfn, const char *reason)
{
	char line[STATE_LINE_MAX];
	int len;

	len = snprintf(line, sizeof(line), "unpoisoned pfn=0x%" PRIx64 "%s%s\n", pfn,
		       reason ? " reason=" : "", reason ? reason : "");
	return state_append(s, line, len);
}

int state_record_unpoison(struct state *s, uint64_t pfn)
{
	if (!s || !pfn)
		return error_set(EINVAL, "state_record_unpoison: bad arguments");
	return state_append_unpoisoned(s, pfn, NULL);
}

void state_close(struct state *s)
{
	if (!s)
		return;
	close(s->fd);
	free(s->path);
	free(s);
}

/* ---- replay ---- */

/*
 * The whole file as a string. A crash can leave NUL bytes where a record
 * was being written; they become '?' so the line is judged, not cut short.
 */
static int state_read_file(const char *path, char **text)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;
	int fd, ret = 0;

	*text = NULL;
	if (!buf)
		return error_set(ENOMEM, "%s: %s", path, strerror(ENOMEM));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		free(buf);
		return errno == ENOENT
			   ? -ENOENT
			   : error_set(errno, "state file %s: %s", path, strerror(errno));
	}
	for (;;) {
		if (len + 1 == cap) {
			char *bigger = cap < STATE_FILE_MAX ? realloc(buf, cap * 2) : NULL;

			if (!bigger) {
				ret = error_set(EFBIG, "state file %s: larger than %u bytes", path,
						STATE_FILE_MAX);
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			ret = error_set(errno, "reading %s: %s", path, strerror(errno));
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	if (ret) {
		free(buf);
		return ret;
	}
	for (size_t i = 0; i < len; i++) {
		if (!buf[i])
			buf[i] = '?';
	}
	buf[len] = '\0';
	*text = buf;
	return 0;
}

/* An upper bound of the frames text can leave poisoned. */
static size_t state_count_poisoned(const char *text)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, "poisoned ")); p++)
		n++;
	return n;
}

/* reason: why it is left, NULL if unpoison-pfn is not there to try. */
static void state_leave(struct state_replay_result *res, const struct state_entry *e, int err,
			const char *reason)
{
	struct state_left *l = &res->left[res->nr_left++];
	const char *root = inject_debugfs_root();

	l->entry = *e;
	l->err = err;
	if (reason) {
		snprintf(l->reason, sizeof(l->reason), "%s", reason);
		snprintf(l->command, sizeof(l->command),
			 "echo 0x%" PRIx64 " > %s/hwpoison/unpoison-pfn", e->pfn, root);
	} else {
		snprintf(l->reason, sizeof(l->reason), "no %s/hwpoison/unpoison-pfn to write",
			 root);
		snprintf(l->command, sizeof(l->command),
			 "echo 0x%" PRIx64 " > %s/hwpoison/unpoison-pfn (after: modprobe "
			 "hwpoison_inject; mount -t debugfs none %s)",
			 e->pfn, root, root);
	}
}

int state_replay(const char *path, struct state_replay_result *res)
{
	char boot[STATE_BOOT_ID_LEN + 1];
	struct state_entry *v = NULL;
	struct state *s = NULL;
	char *text;
	size_t n, i;
	bool can;
	int ret;

	if (!res)
		return error_set(EINVAL, "state_replay: no result");
	memset(res, 0, sizeof(*res));
	if (!path)
		path = state_default_path();
	ret = state_read_file(path, &text);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	n = state_count_poisoned(text);
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		ret = error_set(ENOMEM, "%s: %s", path, strerror(ENOMEM));
		goto out;
	}
	ret = state_parse(text, v, n, &n, &res->torn);
	if (ret) {
		error_wrap(-ret, "%s", path);
		goto out;
	}
	res->poisoned = n;
	if (!n)
		goto out;
	res->left = calloc(n, sizeof(*res->left));
	if (!res->left) {
		ret = error_set(ENOMEM, "%s: %s", path, strerror(ENOMEM));
		goto out;
	}
	ret = state_open(path, &s);
	if (ret)
		goto out;
	state_boot_id(boot);
	can = inject_pfn_can_unpoison();
	for (i = 0; i < n; i++) {
		const struct state_entry *e = &v[i];

		if (boot[0] && e->boot[0] && strcmp(boot, e->boot)) {
			res->rebooted++;
			ret = state_append_unpoisoned(s, e->pfn, "reboot");
		} else if (!can) {
			state_leave(res, e, 0, NULL);
		} else if ((ret = inject_pfn_unpoison(e->pfn))) {
			state_leave(res, e, ret, error_get());
			ret = 0;
		} else {
			res->unpoisoned++;
			ret = state_record_unpoison(s, e->pfn);
		}
		if (ret)
			break;
	}
	/* A failed append stops the replay: the rest is still poisoned. */
	while (ret && ++i < n)
		state_leave(res, &v[i], 0, error_get());
	state_close(s);
out:
	free(v);
	free(text);
	return ret;
}

void state_replay_free(struct state_replay_result *res)
{
	if (!res)
		return;
	free(res->left);
	res->left = NULL;
	res->nr_left = 0;
}
