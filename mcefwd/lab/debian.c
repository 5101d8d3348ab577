// SPDX-License-Identifier: GPL-2.0-only
/* A Debian kernel package: found with apt (apt.c), downloaded, unpacked once into the cache. */
#include <ctype.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "mcefwd/util/error.h"
#include "mcefwd/lab/apt.h"
#include "mcefwd/lab/exec.h"
#include "mcefwd/lab/file.h"
#include "mcefwd/lab/kconfig.h"
#include "mcefwd/lab/kernel.h"
#include "mcefwd/lab/kernel_int.h"

/* ---- a Debian package ---------------------------------------------------------- */

/*
 * One file of the cache per question asked of apt: "default" for what
 * linux-image-amd64 depends on (the default, and the 6.1 series),
 * "series-NAME" for the newest of another series.
 */
static void memo_path(const struct lab_kernel_opts *o, char *path, size_t len)
{
	const struct kernel_series *s = o->series;

	if (!s || (s->meta && !strcmp(s->meta, KERNEL_ARG_DEFAULT_META)))
		lab_fmt(path, len, "%s/kernels/" LAB_CACHE_FORMAT "/default", o->cache);
	else
		lab_fmt(path, len, "%s/kernels/" LAB_CACHE_FORMAT "/series-%s", o->cache, s->name);
}

/*
 * The package name apt gave last time, in the cache: asking apt costs most
 * of a second per command, and Debian moves its kernels on rarely. Asked
 * again once a day (max_age 0: whatever its age, when apt cannot say).
 */
static bool package_remembered(const struct lab_kernel_opts *o, char *pkg, size_t len,
			       time_t max_age)
{
	char path[PATH_MAX], *text;
	struct stat st;
	size_t n;

	memo_path(o, path, sizeof(path));
	if (stat(path, &st) || (max_age && time(NULL) - st.st_mtime > max_age) ||
	    file_read(path, &text, &n) < 0)
		return false;
	lab_fmt(pkg, len, "%.*s", (int)strcspn(text, "\n"), text);
	free(text);
	return !strncmp(pkg, "linux-image-", 12) && (!o->series || apt_series_names(o->series, pkg));
}

static void package_remember(const struct lab_kernel_opts *o, const char *pkg)
{
	char path[PATH_MAX];

	lab_fmt(path, sizeof(path), "%s/kernels/" LAB_CACHE_FORMAT, o->cache);
	if (file_mkdir_p(path) < 0)
		return;
	memo_path(o, path, sizeof(path));
	file_write(path, pkg, strlen(pkg));
}

/* The package of the series asked for (none: what linux-image-amd64 depends on). */
static int series_package(char *pkg, size_t len, const struct lab_kernel_opts *o)
{
	const struct kernel_series *s = o->series;
	char what[128];
	int r = 0;

	if (s && !s->meta)
		lab_fmt(what, sizeof(what), "the newest of the %s series", s->name);
	else
		lab_fmt(what, sizeof(what), "what %s depends on", s ? s->meta : KERNEL_ARG_DEFAULT_META);
	if (package_remembered(o, pkg, len, 24 * 3600))
		return 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		r = apt_series_package(s, pkg, len);
		if (r == 0) {
			package_remember(o, pkg);
			return 0;
		}
		/* Not installed, or Debian's default moved on: apt-get update changes neither. */
		if (r == -ENOENT || r == -EINVAL)
			return r;
		if (attempt == 0) {
			lab_note(o->notes, "apt cannot say %s yet (%s): apt-get update", what, error_get());
			if (apt_update() < 0)
				break;
		}
	}
	if (package_remembered(o, pkg, len, 0)) {
		lab_note(o->notes, "apt cannot say %s now: the last one it named, %s", what, pkg);
		return 0;
	}
	/* apt's own words say what to do (apt-get update as root, install apt). */
	return error_wrap(-r, "cannot tell which kernel package is %s", what);
}

static int download(const char *pkg, const char *dir, char *deb, size_t len,
		    const struct lab_kernel_opts *o)
{
	char *argv_root[] = { (char *)"apt-get", (char *)"download", (char *)"-q", (char *)"-o",
			      (char *)"APT::Sandbox::User=root", (char *)pkg, NULL };
	char *argv_user[] = { (char *)"apt-get", (char *)"download", (char *)"-q", (char *)pkg, NULL };
	struct exec_out out = { 0 };
	int r = -EIO;

	lab_note(o->notes, "downloading %s with apt-get download (about 70 MB, once; cached in %s)", pkg,
		 o->cache);
	for (int attempt = 0; attempt < 2; attempt++) {
		DIR *d;
		struct dirent *e;

		free(out.data);
		/* apt's download sandbox user cannot write a directory only root may. */
		r = exec_run(geteuid() == 0 ? argv_root : argv_user, dir, &out);
		d = r == 0 ? opendir(dir) : NULL;
		while (d && (e = readdir(d))) {
			size_t n = strlen(e->d_name);

			if (n > 4 && !strcmp(e->d_name + n - 4, ".deb")) {
				lab_fmt(deb, len, "%s/%s", dir, e->d_name);
				closedir(d);
				free(out.data);
				return 0;
			}
		}
		if (d)
			closedir(d);
		if (attempt || apt_update() < 0)
			break;
	}
	free(out.data);
	return error_set(r == -ENOENT ? ENOENT : ENETUNREACH,
			 "apt-get download %s failed%s%s: the first lab run of a Debian kernel needs Debian's package archive (or name a kernel package you have: --kernel=FILE.deb, also --kernel-deb=FILE)",
			 pkg, out.err[0] ? ": " : "", out.err);
}

/* Unpacks deb into the cache entry dir: vmlinuz, config, release, source, mods/. */
static int unpack(const struct lab_kernel_opts *o, const char *deb, const char *entry,
		  const char *source)
{
	char tmp[PATH_MAX], x[PATH_MAX], path[PATH_MAX], dir[PATH_MAX], to[PATH_MAX];
	char release[128] = "", *config_text = NULL;
	char *argv[] = { (char *)"dpkg-deb", (char *)"-x", (char *)deb, x, NULL };
	struct exec_out out;
	struct dirent *e;
	size_t len;
	DIR *d;
	int r;

	lab_fmt(tmp, sizeof(tmp), "%s/unpack.XXXXXX", o->cache);
	if (!mkdtemp(tmp))
		return error_set(errno, "mkdtemp %s: %s", tmp, strerror(errno));
	lab_fmt(x, sizeof(x), "%s/x", tmp);
	lab_note(o->notes, "unpacking %s", deb);
	r = exec_run(argv, NULL, &out);
	free(out.data);
	if (r != 0) {
		r = error_set(r == -ENOENT ? ENOENT : EIO, "dpkg-deb -x %s failed: %s", deb,
			      r == -ENOENT ? "dpkg-deb is not installed" : out.err);
		goto out;
	}
	lab_fmt(path, sizeof(path), "%s/boot", x);
	d = opendir(path);
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, "vmlinuz-", 8))
			snprintf(release, sizeof(release), "%s", e->d_name + 8);
	if (d)
		closedir(d);
	if (!release[0]) {
		r = error_set(EINVAL, "%s holds no boot/vmlinuz-*: not a kernel image package", deb);
		goto out;
	}
	lab_fmt(dir, sizeof(dir), "%s/entry", tmp);
	mkdir(dir, 0755);
	lab_fmt(path, sizeof(path), "%s/boot/vmlinuz-%s", x, release);
	lab_fmt(to, sizeof(to), "%s/vmlinuz", dir);
	r = file_copy(path, to);
	if (r < 0) {
		r = error_set(-r, "copying %s: %s", path, strerror(-r));
		goto out;
	}
	lab_fmt(path, sizeof(path), "%s/boot/config-%s", x, release);
	lab_fmt(to, sizeof(to), "%s/config", dir);
	if (file_copy(path, to) == 0)
		file_read(to, &config_text, &len);
	lab_fmt(to, sizeof(to), "%s/release", dir);
	file_write(to, release, strlen(release));
	lab_fmt(to, sizeof(to), "%s/source", dir);
	file_write(to, source, strlen(source));
	/* Refused before anything else is done with it. */
	{
		struct lab_kernel chk = { .config = "" };

		lab_fmt(chk.release, sizeof(chk.release), "%s", release);
		lab_fmt(chk.config, sizeof(chk.config), "%s/config", dir);
		if (!config_text)
			chk.config[0] = '\0';
		r = lab_kernel_check_config(&chk, o);
		if (r < 0)
			goto out;
	}
	lab_fmt(path, sizeof(path), "%s/lib/modules/%s", x, release);
	if (access(path, F_OK))
		lab_fmt(path, sizeof(path), "%s/usr/lib/modules/%s", x, release);
	r = lab_kmod_collect(o, path, release, config_text, dir);
	if (r < 0) {
		error_wrap(-r, "%s", deb);
		goto out;
	}
	lab_fmt(path, sizeof(path), "%s/vmlinuz", dir);
	lab_kernel_extract_vmlinux(o, path, config_text, dir);
	lab_fmt(to, sizeof(to), "%s/.done", dir);
	file_write(to, LAB_CACHE_FORMAT "\n", 3);
	/* Another lab may have made the same entry meanwhile: theirs stands. */
	if (rename(dir, entry) && errno != ENOTEMPTY && errno != EEXIST)
		r = error_set(errno, "rename %s %s: %s", dir, entry, strerror(errno));
out:
	free(config_text);
	file_rm_rf(tmp);
	return r;
}

static int read_entry(struct lab_kernel *k, const char *entry)
{
	char path[PATH_MAX], *text;
	size_t len;

	lab_fmt(k->dir, sizeof(k->dir), "%s", entry);
	lab_fmt(k->vmlinuz, sizeof(k->vmlinuz), "%s/vmlinuz", entry);
	lab_fmt(k->vmlinux, sizeof(k->vmlinux), "%s/vmlinux", entry);
	if (access(k->vmlinux, R_OK))
		k->vmlinux[0] = '\0';
	lab_fmt(k->config, sizeof(k->config), "%s/config", entry);
	if (access(k->config, R_OK))
		k->config[0] = '\0';
	lab_fmt(path, sizeof(path), "%s/release", entry);
	if (file_read(path, &text, &len) < 0)
		return error_set(errno, "%s: %s", path, strerror(errno));
	snprintf(k->release, sizeof(k->release), "%.*s", (int)strcspn(text, "\n"), text);
	free(text);
	lab_fmt(path, sizeof(path), "%s/source", entry);
	if (file_read(path, &text, &len) == 0) {
		lab_fmt(k->source, sizeof(k->source), "%.*s", (int)strcspn(text, "\n"), text);
		free(text);
	}
	return lab_kmod_order(k);
}

bool lab_debian_entry_done(const char *entry)
{
	char path[PATH_MAX], *text;
	size_t len;
	bool ok;

	lab_fmt(path, sizeof(path), "%s/.done", entry);
	if (file_read(path, &text, &len) < 0)
		return false;
	ok = !strncmp(text, LAB_CACHE_FORMAT "\n", 3);
	free(text);
	return ok;
}

int lab_debian_get(const struct lab_kernel_opts *o, struct lab_kernel *k)
{
	char pkg[128], entry[PATH_MAX], dl[PATH_MAX], deb[PATH_MAX], source[PATH_MAX];
	const char *base;
	int r;

	if (o->deb) {
		if (access(o->deb, R_OK))
			return error_set(errno, "the kernel package %s: %s", o->deb, strerror(errno));
		base = strrchr(o->deb, '/');
		base = base ? base + 1 : o->deb;
		snprintf(pkg, sizeof(pkg), "%.*s", (int)strcspn(base, "_"), base);
		lab_fmt(entry, sizeof(entry), "%s/kernels/" LAB_CACHE_FORMAT "/%.*s", o->cache,
			 (int)(strlen(base) > 4 ? strlen(base) - 4 : strlen(base)), base);
		lab_fmt(source, sizeof(source), "Debian package %s (%s)", pkg, o->deb);
	} else {
		r = series_package(pkg, sizeof(pkg), o);
		if (r < 0) {
			k->host_lacks = true;
			return r;
		}
		lab_fmt(entry, sizeof(entry), "%s/kernels/" LAB_CACHE_FORMAT "/%s", o->cache, pkg);
		if (o->series && !o->series->meta)
			lab_fmt(source, sizeof(source), "Debian package %s, the newest of the %s series when fetched",
				 pkg, o->series->name);
		else
			lab_fmt(source, sizeof(source), "Debian package %s, what %s depends on", pkg,
				 o->series ? o->series->meta : KERNEL_ARG_DEFAULT_META);
	}
	if (lab_debian_entry_done(entry))
		return read_entry(k, entry);
	/* Half made (an unpack cut short) or of an older format: made again. */
	file_rm_rf(entry);
	lab_fmt(dl, sizeof(dl), "%s/kernels/" LAB_CACHE_FORMAT, o->cache);
	r = file_mkdir_p(dl);
	if (r < 0)
		return error_set(-r, "the lab's cache %s cannot be created: %s (set MCEFWD_LAB_CACHE)", dl,
				 strerror(-r));
	if (o->deb) {
		r = unpack(o, o->deb, entry, source);
	} else {
		lab_fmt(dl, sizeof(dl), "%s/download.XXXXXX", o->cache);
		if (!mkdtemp(dl))
			return error_set(errno, "mkdtemp %s: %s", dl, strerror(errno));
		r = download(pkg, dl, deb, sizeof(deb), o);
		if (r < 0)
			k->host_lacks = true;
		else
			r = unpack(o, deb, entry, source);
		file_rm_rf(dl);
	}
	if (r < 0)
		return r;
	return read_entry(k, entry);
}

