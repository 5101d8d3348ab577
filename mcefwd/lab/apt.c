// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcefwd/util/error.h"
#include "mcefwd/lab/apt.h"
#include "mcefwd/lab/exec.h"
#include "mcefwd/lab/note.h"

/* ---- dpkg's version order (lib/dpkg/version.c, verrevcmp) ------------------ */

/* '~' sorts before everything, even the end; letters before other characters. */
static int apt_order(int c)
{
	if (isdigit(c))
		return 0;
	if (isalpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c)
		return c + 256;
	return 0;
}

static int apt_verrevcmp(const char *a, const char *b)
{
	while (*a || *b) {
		int first_diff = 0;

		while ((*a && !isdigit((unsigned char)*a)) || (*b && !isdigit((unsigned char)*b))) {
			int ac = apt_order((unsigned char)*a), bc = apt_order((unsigned char)*b);

			if (ac != bc)
				return ac - bc;
			a++;
			b++;
		}
		while (*a == '0')
			a++;
		while (*b == '0')
			b++;
		/* Digits compare as numbers: 107 > 57. */
		while (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			if (!first_diff)
				first_diff = *a - *b;
			a++;
			b++;
		}
		if (isdigit((unsigned char)*a))
			return 1;
		if (isdigit((unsigned char)*b))
			return -1;
		if (first_diff)
			return first_diff;
	}
	return 0;
}

struct apt_version {
	unsigned long epoch;
	char upstream[128], revision[128];
};

static void apt_version_split(const char *s, struct apt_version *v)
{
	const char *colon = strchr(s, ':'), *dash;

	v->epoch = 0;
	if (colon && colon > s && strspn(s, "0123456789") == (size_t)(colon - s)) {
		v->epoch = strtoul(s, NULL, 10);
		s = colon + 1;
	}
	dash = strrchr(s, '-');
	snprintf(v->upstream, sizeof(v->upstream), "%.*s", dash ? (int)(dash - s) : (int)strlen(s),
		 s);
	snprintf(v->revision, sizeof(v->revision), "%s", dash ? dash + 1 : "");
}

int apt_version_cmp(const char *a, const char *b)
{
	struct apt_version va, vb;
	int r;

	apt_version_split(a, &va);
	apt_version_split(b, &vb);
	if (va.epoch != vb.epoch)
		return va.epoch > vb.epoch ? 1 : -1;
	r = apt_verrevcmp(va.upstream, vb.upstream);
	if (!r)
		r = apt_verrevcmp(va.revision, vb.revision);
	return (r > 0) - (r < 0);
}

/* ---- apt-cache's output --------------------------------------------------------- */

bool apt_series_names(const struct kernel_series *s, const char *pkg)
{
	char prefix[64], ver[128];

	if (!s->meta)
		return apt_series_member(s, pkg, ver, sizeof(ver));
	snprintf(prefix, sizeof(prefix), "linux-image-%s.", s->name);
	return !strncmp(pkg, prefix, strlen(prefix));
}

bool apt_series_member(const struct kernel_series *s, const char *pkg, char *ver, size_t len)
{
	char prefix[64];
	size_t pn, sn, n = strlen(pkg);

	if (s->meta || !s->suffix)
		return false;
	snprintf(prefix, sizeof(prefix), "linux-image-%s.", s->name);
	pn = strlen(prefix);
	sn = strlen(s->suffix);
	if (n <= pn + sn || strncmp(pkg, prefix, pn) || strcmp(pkg + n - sn, s->suffix))
		return false;
	/* What lies between is the version: a flavour (-cloud, -rt) adds a '-'. */
	if (!isdigit((unsigned char)pkg[pn]) || memchr(pkg + pn, '-', n - pn - sn))
		return false;
	snprintf(ver, len, "%s.%.*s", s->name, (int)(n - pn - sn), pkg + pn);
	return true;
}

int apt_series_newest(const struct kernel_series *s, const char *text, char *pkg, size_t len)
{
	char best[128] = "", best_ver[128] = "";

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = strcspn(line, " \t\n");
		char name[128], ver[128];

		if (n && n < sizeof(name)) {
			memcpy(name, line, n);
			name[n] = '\0';
			if (apt_series_member(s, name, ver, sizeof(ver)) &&
			    (!best[0] || apt_version_cmp(ver, best_ver) > 0)) {
				snprintf(best, sizeof(best), "%s", name);
				snprintf(best_ver, sizeof(best_ver), "%s", ver);
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	if (!best[0])
		return -ENODATA;
	snprintf(pkg, len, "%s", best);
	return 0;
}

int apt_depends_first(const char *text, char *pkg, size_t len)
{
	const char *d = text ? strstr(text, "Depends: linux-image-") : NULL;

	if (!d)
		return -ENODATA;
	d += strlen("Depends: ");
	snprintf(pkg, len, "%.*s", (int)strcspn(d, " \n<"), d);
	return 0;
}

int apt_policy_candidate(const char *text, const char *pkg, char *ver, size_t len)
{
	size_t pn = strlen(pkg);

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');

		if (!strncmp(line, pkg, pn) && line[pn] == ':' &&
		    (line[pn + 1] == '\n' || !line[pn + 1])) {
			/* Its own lines are indented; the next package's are not. */
			for (line = nl ? nl + 1 : NULL; line && *line == ' ';) {
				const char *c = line + strspn(line, " ");

				nl = strchr(line, '\n');
				if (!strncmp(c, "Candidate: ", 11)) {
					c += 11;
					if (!strncmp(c, "(none)", 6))
						return -ENODATA;
					snprintf(ver, len, "%.*s", (int)strcspn(c, " \n"), c);
					return 0;
				}
				line = nl ? nl + 1 : NULL;
			}
			return -ENODATA;
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENODATA;
}

/* ---- asking apt ------------------------------------------------------------------- */

static int apt_updated;

int apt_update(void)
{
	char *argv[] = { (char *)"apt-get", (char *)"update", (char *)"-q", NULL };
	struct exec_out out;
	int r;

	if (apt_updated || geteuid() != 0)
		return -EPERM;
	apt_updated = 1;
	r = exec_run(argv, NULL, &out);
	free(out.data);
	return r == 0 ? 0 : -EIO;
}

/* Runs apt-cache with argv; its output into out. 0 or -errno, error_get() saying why. */
static int apt_cache(char *const argv[], struct exec_out *out)
{
	int r = exec_run(argv, NULL, out);

	if (r != 0) {
		free(out->data);
		out->data = NULL;
	}
	if (r == -ENOENT)
		return error_set(ENOENT, "apt-cache is not installed: the lab finds Debian's kernels with apt; name a kernel with --kernel=FILE.deb or --kernel=BZIMAGE --modules=DIR");
	if (r < 0)
		return error_set(-r, "apt-cache %s: %s", argv[1], strerror(-r));
	if (r != 0) {
		size_t n = strlen(out->err);

		while (n && isspace((unsigned char)out->err[n - 1]))
			out->err[--n] = '\0';
		return error_set(EIO, "apt-cache %s failed (exit status %d)%s%s", argv[1], r,
				 n ? ": " : "", out->err);
	}
	return 0;
}

/* What meta depends on; of series s, when s is given. */
static int apt_meta_package(const char *meta, const struct kernel_series *s, char *pkg, size_t len)
{
	char *argv[] = { (char *)"apt-cache", (char *)"depends", (char *)meta, NULL };
	struct exec_out out;
	int r = apt_cache(argv, &out);

	/* Without package lists apt-cache says "No packages found" and fails. */
	if (r == -EIO)
		return error_wrap(ENODATA, "apt knows no %s (no package lists? as root, apt-get update)",
				  meta);
	if (r < 0)
		return r;
	r = apt_depends_first(out.data, pkg, len);
	free(out.data);
	if (r < 0)
		return error_set(ENODATA, "apt knows no kernel package %s depends on (apt-cache depends %s names none: no package lists? as root, apt-get update)",
				 meta, meta);
	if (s && !apt_series_names(s, pkg))
		return error_set(EINVAL, "%s depends on %s now, not on a kernel of the %s series: name its package file (--kernel=FILE.deb)",
				 meta, pkg, s->name);
	return 0;
}

/* The newest package of series s that apt-cache search finds. */
static int apt_newest_package(const struct kernel_series *s, char *pkg, size_t len)
{
	char pattern[96] = "^linux-image-";
	char *argv[] = { (char *)"apt-cache", (char *)"search", (char *)"--names-only", pattern,
			 NULL };
	size_t n = strlen(pattern);
	struct exec_out out;
	int r;

	/* A regular expression: the series' dots, and the one after it, are literal. */
	for (const char *c = s->name; *c && n + 4 < sizeof(pattern); c++) {
		if (*c == '.')
			pattern[n++] = '\\';
		pattern[n++] = *c;
	}
	lab_fmt(pattern + n, sizeof(pattern) - n, "\\.");
	r = apt_cache(argv, &out);
	if (r < 0)
		return r;
	r = apt_series_newest(s, out.data, pkg, len);
	free(out.data);
	if (r < 0)
		return error_set(ENODATA, "apt knows no linux-image-%s.*%s package (no package lists? as root, apt-get update)",
				 s->name, s->suffix);
	return 0;
}

int apt_series_package(const struct kernel_series *s, char *pkg, size_t len)
{
	if (!s)
		return apt_meta_package(KERNEL_ARG_DEFAULT_META, NULL, pkg, len);
	if (s->meta)
		return apt_meta_package(s->meta, s, pkg, len);
	return apt_newest_package(s, pkg, len);
}

int apt_candidate(const char *pkg, char *ver, size_t len)
{
	char *argv[] = { (char *)"apt-cache", (char *)"policy", (char *)pkg, NULL };
	struct exec_out out;
	int r = apt_cache(argv, &out);

	if (r < 0)
		return r;
	r = apt_policy_candidate(out.data, pkg, ver, len);
	free(out.data);
	if (r < 0)
		return error_set(ENODATA, "apt offers no version of %s (apt-cache policy names no candidate)", pkg);
	return 0;
}
