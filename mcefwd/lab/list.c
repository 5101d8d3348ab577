// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "mcefwd/cli/caps.h"
#include "mcefwd/lab/apt.h"
#include "mcefwd/lab/file.h"
#include "mcefwd/lab/kernel_int.h"
#include "mcefwd/lab/list.h"

/* Bytes on disk under the directory dirfd (which this closes), links not followed. */
static unsigned long long list_du(int dirfd)
{
	unsigned long long sum = 0;
	DIR *d = fdopendir(dirfd);
	struct dirent *e;

	if (!d) {
		close(dirfd);
		return 0;
	}
	while ((e = readdir(d))) {
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		sum += (unsigned long long)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode)) {
			int fd = openat(dirfd, e->d_name,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (fd >= 0)
				sum += list_du(fd);
		}
	}
	closedir(d);
	return sum;
}

/* The first line of dir/name into buf ("" if there is none). */
static void list_read_line(const char *dir, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX], *text;
	size_t n;

	buf[0] = '\0';
	lab_fmt(path, sizeof(path), "%s/%s", dir, name);
	if (file_read(path, &text, &n) < 0)
		return;
	lab_fmt(buf, len, "%.*s", (int)strcspn(text, "\n"), text);
	free(text);
}

static int list_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lab_list_entry *)a)->name,
		      ((const struct lab_list_entry *)b)->name);
}

static void list_entries(struct lab_list *l)
{
	DIR *d = opendir(l->dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		struct lab_list_entry *en;
		char path[PATH_MAX];
		struct stat st;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		lab_fmt(path, sizeof(path), "%s/%s", l->dir, e->d_name);
		/* Files beside the entries ("default", "series-6.12") remember what apt said. */
		if (lstat(path, &st) || !S_ISDIR(st.st_mode))
			continue;
		if (l->nr_entries == LAB_LIST_MAX_ENTRIES) {
			l->truncated = true;
			break;
		}
		en = &l->entries[l->nr_entries++];
		lab_fmt(en->name, sizeof(en->name), "%s", e->d_name);
		lab_fmt(en->package, sizeof(en->package), "%.*s", (int)strcspn(e->d_name, "_"),
			e->d_name);
		list_read_line(path, "release", en->release, sizeof(en->release));
		list_read_line(path, "source", en->source, sizeof(en->source));
		en->complete = lab_debian_entry_done(path);
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		en->bytes = fd >= 0 ? (unsigned long long)st.st_blocks * 512 + list_du(fd) : 0;
	}
	if (d)
		closedir(d);
	qsort(l->entries, l->nr_entries, sizeof(l->entries[0]), list_entry_cmp);
}

static void list_offer(struct lab_list *l, struct lab_list_offer *of)
{
	const struct kernel_series *s = of->series;

	of->is_default = s->meta && !strcmp(s->meta, KERNEL_ARG_DEFAULT_META);
	if (apt_series_package(s, of->package, sizeof(of->package)) < 0 ||
	    apt_candidate(of->package, of->version, sizeof(of->version)) < 0) {
		lab_fmt(of->error, sizeof(of->error), "%s", error_get());
		return;
	}
	of->ok = true;
	for (unsigned int i = 0; i < l->nr_entries; i++)
		if (!strcmp(l->entries[i].name, of->package) && l->entries[i].complete)
			of->cached = true;
}

void lab_list_gather(const char *cache, struct lab_list *l)
{
	memset(l, 0, sizeof(*l));
	lab_fmt(l->dir, sizeof(l->dir), "%s/kernels/" LAB_CACHE_FORMAT, cache);
	list_entries(l);
	for (unsigned int i = 0; i < kernel_arg_series_count() && i < LAB_LIST_MAX_SERIES; i++) {
		struct lab_list_offer *of = &l->offers[l->nr_offers++];

		of->series = kernel_arg_series_at(i);
		list_offer(l, of);
	}
}

void lab_list_print_text(const struct lab_list *l, FILE *out)
{
	fprintf(out, "Cached kernels (%s):\n", l->dir);
	if (!l->nr_entries)
		fprintf(out, "  none yet (the first lab run of a kernel unpacks it here)\n");
	for (unsigned int i = 0; i < l->nr_entries; i++) {
		const struct lab_list_entry *e = &l->entries[i];

		fprintf(out, "  %s\n    release %s, %.1f MiB, %s\n", e->name,
			e->release[0] ? e->release : "unknown", (double)e->bytes / (1 << 20),
			e->complete ? "complete" : "incomplete (unpacked again when next used)");
		if (e->source[0])
			fprintf(out, "    %s\n", e->source);
	}
	if (l->truncated)
		fprintf(out, "  ... and more (only the first %d are listed)\n", LAB_LIST_MAX_ENTRIES);
	fprintf(out, "Offered by apt (--kernel SERIES):\n");
	for (unsigned int i = 0; i < l->nr_offers; i++) {
		const struct lab_list_offer *of = &l->offers[i];

		fprintf(out, "  %-5s %s\n", of->series->name, of->series->summary);
		if (of->ok)
			fprintf(out, "        %s %s, %s\n", of->package, of->version,
				of->cached ? "cached" : "not cached: the first run downloads it");
		else
			fprintf(out, "        apt cannot say: %s\n", of->error);
	}
}

/* "key": "value", or "key": null for an empty value. */
static void list_json_str(FILE *out, const char *key, const char *val, bool null_if_empty)
{
	fprintf(out, "\"%s\": ", key);
	if (null_if_empty && !val[0])
		fputs("null", out);
	else
		caps_json_string(out, val);
}

void lab_list_print_json(const struct lab_list *l, FILE *out)
{
	fputs("{\n  \"version\": 1,\n  ", out);
	list_json_str(out, "cache", l->dir, false);
	fputs(",\n  \"cached\": [", out);
	for (unsigned int i = 0; i < l->nr_entries; i++) {
		const struct lab_list_entry *e = &l->entries[i];

		fputs(i ? ",\n    {" : "\n    {", out);
		list_json_str(out, "name", e->name, false);
		fputs(", ", out);
		list_json_str(out, "package", e->package, false);
		fputs(", ", out);
		list_json_str(out, "release", e->release, true);
		fputs(", ", out);
		list_json_str(out, "source", e->source, true);
		fprintf(out, ", \"bytes\": %llu, \"complete\": %s}", e->bytes,
			e->complete ? "true" : "false");
	}
	fprintf(out, "%s],\n  \"truncated\": %s,\n  \"offered\": [", l->nr_entries ? "\n  " : "",
		l->truncated ? "true" : "false");
	for (unsigned int i = 0; i < l->nr_offers; i++) {
		const struct lab_list_offer *of = &l->offers[i];

		fputs(i ? ",\n    {" : "\n    {", out);
		list_json_str(out, "series", of->series->name, false);
		fputs(", ", out);
		list_json_str(out, "summary", of->series->summary, false);
		fprintf(out, ", \"default\": %s, \"ok\": %s, ", of->is_default ? "true" : "false",
			of->ok ? "true" : "false");
		list_json_str(out, "package", of->ok ? of->package : "", true);
		fputs(", ", out);
		list_json_str(out, "version", of->ok ? of->version : "", true);
		fprintf(out, ", \"cached\": %s, ", of->cached ? "true" : "false");
		list_json_str(out, "error", of->ok ? "" : of->error, true);
		fputc('}', out);
	}
	fprintf(out, "%s]\n}\n", l->nr_offers ? "\n  " : "");
}
