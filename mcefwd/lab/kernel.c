// SPDX-License-Identifier: GPL-2.0-only
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
#include "mcefwd/lab/exec.h"
#include "mcefwd/lab/file.h"
#include "mcefwd/lab/kconfig.h"
#include "mcefwd/lab/kernel.h"

/*
 * Bumped when what an entry holds changes (another module set): an old
 * entry is then unpacked again instead of being used short of a module.
 */
#define LAB_CACHE_FORMAT "v1"

/*
 * What the lab loads: virtio and 9p to reach the host's files, overlay for
 * a writable layer over them, then the work. Their dependencies come along.
 */
static const struct {
	const char *name;
	bool required;
} lab_wanted[] = {
	{ "virtio_pci", true }, { "9pnet_virtio", true }, { "9p", true }, { "overlay", true },
	{ "kvm_amd", true }, { "hwpoison_inject", true }, { "mce_inject", false },
};


void lab_kernel_cache_dir(char *buf, size_t len)
{
	const char *e = getenv("MCEFWD_LAB_CACHE"), *home;

	if (e && *e) {
		lab_fmt(buf, len, "%s", e);
		return;
	}
	e = getenv("XDG_CACHE_HOME");
	if (e && *e) {
		lab_fmt(buf, len, "%s/mcefwd/lab", e);
		return;
	}
	home = getenv("HOME");
	lab_fmt(buf, len, "%s/.cache/mcefwd/lab", home && *home ? home : "/root");
}

int lab_bzimage_release(const void *image, size_t len, char *release, size_t rlen)
{
	const unsigned char *img = image;
	size_t off, n = 0;

	/* The boot protocol header: "HdrS" at 0x202, kernel_version at 0x20e (+0x200). */
	if (len < 0x210 || memcmp(img + 0x202, "HdrS", 4))
		return error_set(EINVAL, "not an x86 boot image (no HdrS header)");
	off = (size_t)(img[0x20e] | img[0x20f] << 8) + 0x200;
	if (off == 0x200 || off >= len)
		return error_set(EINVAL, "its header has no kernel version string");
	while (off + n < len && n + 1 < rlen && img[off + n] > ' ' && img[off + n] < 0x7f)
		n++;
	if (!n)
		return error_set(EINVAL, "its kernel version string is empty");
	memcpy(release, img + off, n);
	release[n] = '\0';
	return 0;
}

int lab_bzimage_payload(const void *image, size_t len, size_t *off, size_t *plen,
			const char **tool)
{
	static const struct {
		const unsigned char magic[6];
		size_t n;
		const char *tool;
	} formats[] = {
		{ { 0xfd, '7', 'z', 'X', 'Z', 0 }, 6, "xz" },
		{ { 0x28, 0xb5, 0x2f, 0xfd }, 4, "zstd" },
		{ { 0x1f, 0x8b }, 2, "gzip" },
	};
	const unsigned char *img = image;
	size_t setup, po, pl;

	/* Boot protocol 2.08 and later: setup_sects at 0x1f1, payload at 0x248/0x24c. */
	if (len < 0x250 || memcmp(img + 0x202, "HdrS", 4) || (img[0x206] | img[0x207] << 8) < 0x208)
		return error_set(EINVAL, "not an x86 boot image of protocol 2.08 or later");
	setup = ((size_t)(img[0x1f1] ? img[0x1f1] : 4) + 1) * 512;
	po = (size_t)img[0x248] | (size_t)img[0x249] << 8 | (size_t)img[0x24a] << 16 |
	     (size_t)img[0x24b] << 24;
	pl = (size_t)img[0x24c] | (size_t)img[0x24d] << 8 | (size_t)img[0x24e] << 16 |
	     (size_t)img[0x24f] << 24;
	if (pl < 8 || setup > len || po > len - setup || pl > len - setup - po)
		return error_set(EINVAL, "its payload lies outside the file");
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (memcmp(img + setup + po, formats[i].magic, formats[i].n))
			continue;
		*off = setup + po;
		*plen = pl - 4;	/* the uncompressed size is appended */
		*tool = formats[i].tool;
		return 0;
	}
	return error_set(EINVAL, "its payload is compressed in a way the lab does not uncompress");
}

/* ---- modules ---------------------------------------------------------------- */

struct mod_file {
	char name[MODINFO_NAME_MAX];
	char *path;
};

/* Every module file under a modules directory, and what is built in. */
struct mod_index {
	const char *root;		/* .../lib/modules/RELEASE */
	const char *release;
	const char *dest;		/* where uncompressed copies go */
	struct mod_file *files;
	size_t nr, cap;
	char *builtin;			/* modules.builtin, or NULL */
	const char *config;		/* config text, or NULL */
};

static struct mod_index *index_being_built;

static int index_add(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct mod_index *ix = index_being_built;

	(void)st;
	(void)ftw;
	if (flag != FTW_F || !strstr(path + ftw->base, ".ko"))
		return 0;
	if (ix->nr == ix->cap) {
		size_t cap = ix->cap ? ix->cap * 2 : 1024;
		struct mod_file *f = realloc(ix->files, cap * sizeof(*f));

		if (!f)
			return -1;
		ix->files = f;
		ix->cap = cap;
	}
	modinfo_name_of_file(path, ix->files[ix->nr].name, MODINFO_NAME_MAX);
	ix->files[ix->nr].path = strdup(path);
	if (!ix->files[ix->nr].path)
		return -1;
	ix->nr++;
	return 0;
}

static void index_free(struct mod_index *ix)
{
	for (size_t i = 0; i < ix->nr; i++)
		free(ix->files[i].path);
	free(ix->files);
	free(ix->builtin);
	ix->files = NULL;
	ix->builtin = NULL;
	ix->nr = ix->cap = 0;
}

/* Whether modules.builtin lists the module, or the config builds it in. */
static bool index_builtin(const struct mod_index *ix, const char *name)
{
	char opt[MODINFO_NAME_MAX + 8], v[8];

	for (const char *line = ix->builtin; line && *line;) {
		const char *nl = strchr(line, '\n');
		char file[PATH_MAX], mod[MODINFO_NAME_MAX];
		size_t ll = nl ? (size_t)(nl - line) : strlen(line);

		snprintf(file, sizeof(file), "%.*s", (int)ll, line);
		modinfo_name_of_file(file, mod, sizeof(mod));
		if (!strcmp(mod, name))
			return true;
		line = nl ? nl + 1 : NULL;
	}
	if (!ix->config)
		return false;
	/* kvm_amd: CONFIG_KVM_AMD. */
	lab_fmt(opt, sizeof(opt), "CONFIG_%s", name);
	for (char *c = opt; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	kconfig_value(ix->config, opt, v, sizeof(v));
	return !strcmp(v, "y");
}

/* The module's bytes, uncompressed by the tool its suffix names. */
static int module_read(const char *path, char **data, size_t *len)
{
	static const struct {
		const char *suffix, *tool, *package;
	} tools[] = {
		{ ".ko.xz", "xz", "xz-utils" }, { ".ko.zst", "zstd", "zstd" },
		{ ".ko.gz", "gzip", "gzip" },
	};
	size_t pl = strlen(path);
	int r;

	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		size_t sl = strlen(tools[i].suffix);
		char *argv[] = { (char *)tools[i].tool, (char *)"-dc", (char *)path, NULL };
		struct exec_out out;

		if (pl < sl || strcmp(path + pl - sl, tools[i].suffix))
			continue;
		r = exec_run(argv, NULL, &out);
		if (r == -ENOENT)
			return error_set(ENOENT, "%s is compressed and %s is not installed (apt-get install %s)",
					 path, tools[i].tool, tools[i].package);
		if (r != 0) {
			free(out.data);
			return error_set(EIO, "%s -dc %s failed (%d): %s", tools[i].tool, path, r, out.err);
		}
		*data = out.data;
		*len = out.len;
		return 0;
	}
	r = file_read(path, data, len);
	return r < 0 ? error_set(-r, "%s: %s", path, strerror(-r)) : 0;
}

/* modinfo_deps_fn: finds, reads, checks and copies one module. */
static int index_deps(void *ctx, const char *name, char *depends, size_t len)
{
	struct mod_index *ix = ctx;
	struct modinfo mi;
	char dest[PATH_MAX], vr[128];
	char *data = NULL;
	size_t dlen, i;
	int r;

	for (i = 0; i < ix->nr && strcmp(ix->files[i].name, name); i++)
		;
	if (i == ix->nr) {
		if (index_builtin(ix, name))
			return 1;
		return error_set(ENOENT, "module %s is neither under %s nor built in", name, ix->root);
	}
	r = module_read(ix->files[i].path, &data, &dlen);
	if (r < 0)
		return r;
	r = modinfo_parse(data, dlen, &mi);
	if (r < 0) {
		free(data);
		return error_wrap(EINVAL, "%s", ix->files[i].path);
	}
	snprintf(vr, sizeof(vr), "%.*s", (int)strcspn(mi.vermagic, " "), mi.vermagic);
	if (strcmp(vr, ix->release)) {
		free(data);
		return error_set(EINVAL, "%s was built for kernel %s, not %s", ix->files[i].path,
				 vr[0] ? vr : "(no vermagic)", ix->release);
	}
	lab_fmt(dest, sizeof(dest), "%s/%s.ko", ix->dest, name);
	r = file_write(dest, data, dlen);
	free(data);
	if (r < 0)
		return error_set(-r, "%s: %s", dest, strerror(-r));
	snprintf(depends, len, "%s", mi.depends);
	return 0;
}

/*
 * Finds what the lab loads under root, copies each (uncompressed) to
 * dir/mods and writes dir/mods/order: "NAME required|optional" per line,
 * dependencies first. Optional modules that are missing are said and left out.
 */
static int collect_modules(const struct lab_kernel_opts *o, const char *root, const char *release,
			   const char *config_text, const char *dir)
{
	char mods[PATH_MAX], path[PATH_MAX], order[LAB_KERNEL_MAX_MODS][MODINFO_NAME_MAX];
	struct mod_index ix = { .root = root, .release = release, .dest = mods, .config = config_text };
	size_t count = 0, nreq = 0, blen;
	char *list = NULL;
	int r;

	lab_fmt(mods, sizeof(mods), "%s/mods", dir);
	r = file_mkdir_p(mods);
	if (r < 0)
		return error_set(-r, "%s: %s", mods, strerror(-r));
	index_being_built = &ix;
	r = nftw(root, index_add, 32, FTW_PHYS);
	index_being_built = NULL;
	if (r) {
		index_free(&ix);
		return error_set(errno ? errno : ENOMEM, "reading %s: %s", root, strerror(errno ? errno : ENOMEM));
	}
	lab_fmt(path, sizeof(path), "%s/modules.builtin", root);
	if (file_read(path, &ix.builtin, &blen) < 0)
		ix.builtin = NULL;
	for (size_t i = 0; i < sizeof(lab_wanted) / sizeof(lab_wanted[0]); i++) {
		const char *w = lab_wanted[i].name;
		size_t before = count;

		r = modinfo_load_order(&w, 1, index_deps, &ix, order, LAB_KERNEL_MAX_MODS, &count);
		if (r < 0 && lab_wanted[i].required) {
			index_free(&ix);
			return r;
		}
		if (r < 0) {
			lab_note(o->notes, "optional module %s left out: %s", w, error_get());
			count = before;
			continue;
		}
		if (lab_wanted[i].required)
			nreq = count;
	}
	index_free(&ix);
	/* "NAME required|optional": an optional module's dependencies are optional too. */
	list = calloc(count + 1, MODINFO_NAME_MAX + 16);
	if (!list)
		return error_set(ENOMEM, "out of memory");
	blen = 0;
	for (size_t i = 0; i < count; i++)
		blen += (size_t)sprintf(list + blen, "%s %s\n", order[i],
					i < nreq ? "required" : "optional");
	lab_fmt(path, sizeof(path), "%s/order", mods);
	r = file_write(path, list, blen);
	free(list);
	if (r < 0)
		return error_set(-r, "%s: %s", path, strerror(-r));
	return 0;
}

/* Fills k->mods from dir/mods/order. */
static int load_order(struct lab_kernel *k)
{
	char path[PATH_MAX], *text, *line, *save = NULL;
	size_t len;
	int r;

	lab_fmt(path, sizeof(path), "%s/mods/order", k->dir);
	r = file_read(path, &text, &len);
	if (r < 0)
		return error_set(-r, "%s: %s", path, strerror(-r));
	k->nr_mods = 0;
	k->kvm_amd_builtin = true;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct lab_kmod *m;
		char role[16];

		if (k->nr_mods == LAB_KERNEL_MAX_MODS)
			break;
		m = &k->mods[k->nr_mods];
		if (sscanf(line, "%63s %15s", m->name, role) != 2)
			continue;
		m->required = !strcmp(role, "required");
		lab_fmt(m->path, sizeof(m->path), "%s/mods/%s.ko", k->dir, m->name);
		if (!strcmp(m->name, "kvm_amd"))
			k->kvm_amd_builtin = false;
		k->nr_mods++;
	}
	free(text);
	return 0;
}

/* Refuses, before anything boots, a kernel whose config lacks what the lab needs. */
static int check_config(struct lab_kernel *k, const struct lab_kernel_opts *o)
{
	char why[2048], *text;
	size_t len;
	int r;

	if (!k->config[0]) {
		lab_note(o->notes, "no config found for kernel %s: its options are not checked before it boots",
			 k->release);
		return 0;
	}
	r = file_read(k->config, &text, &len);
	if (r < 0)
		return error_set(-r, "%s: %s", k->config, strerror(-r));
	r = kconfig_check(text, why, sizeof(why));
	free(text);
	if (r)
		return error_set(EINVAL, "kernel %s cannot run the lab (not booted): its config %s lacks %d option(s): %s",
				 k->release, k->config, r, why);
	return 0;
}

/*
 * dir/vmlinux: the kernel of the bzImage at path, uncompressed, if it can
 * boot through its PVH entry (CONFIG_PVH). Saves about 3 s of emulated
 * decompression on every boot; without it the bzImage boots, slower.
 */
static void extract_vmlinux(const struct lab_kernel_opts *o, const char *bzimage,
			    const char *config_text, const char *dir)
{
	char payload[PATH_MAX], out_path[PATH_MAX], v[8];
	char *img = NULL, *argv[] = { NULL, (char *)"-dc", payload, NULL };
	const char *tool;
	struct exec_out out = { 0 };
	size_t len, off, plen;
	int r;

	kconfig_value(config_text ? config_text : "", "CONFIG_PVH", v, sizeof(v));
	if (strcmp(v, "y")) {
		lab_note(o->notes, "the kernel cannot boot through PVH (CONFIG_PVH is not y): it boots from its bzImage, about 3 s slower");
		return;
	}
	if (file_read(bzimage, &img, &len) < 0)
		return;
	if (lab_bzimage_payload(img, len, &off, &plen, &tool) < 0) {
		lab_note(o->notes, "%s: %s: it boots compressed, about 3 s slower", bzimage, error_get());
		free(img);
		return;
	}
	lab_fmt(payload, sizeof(payload), "%s/payload", dir);
	lab_fmt(out_path, sizeof(out_path), "%s/vmlinux", dir);
	r = file_write(payload, img + off, plen);
	free(img);
	argv[0] = (char *)tool;
	if (r == 0)
		r = exec_run(argv, NULL, &out);
	unlink(payload);
	if (r == 0 && out.len > 4 && !memcmp(out.data, ELFMAG, SELFMAG))
		r = file_write(out_path, out.data, out.len);
	else
		lab_note(o->notes, "%s -dc of the kernel in %s failed (%d%s%s): it boots compressed, about 3 s slower",
			 tool, bzimage, r, out.err[0] ? ": " : "", out.err);
	free(out.data);
	if (r < 0)
		unlink(out_path);
}

/* ---- a Debian package ---------------------------------------------------------- */

static int apt_updated;

static int apt_update(void)
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

/*
 * The package name apt gave last time, in the cache: asking apt costs most
 * of a second per command, and Debian moves its kernel on rarely. Asked
 * again once a day (max_age 0: whatever its age, when apt cannot say).
 */
static bool default_remembered(const struct lab_kernel_opts *o, char *pkg, size_t len,
			       time_t max_age)
{
	char path[PATH_MAX], *text;
	struct stat st;
	size_t n;

	lab_fmt(path, sizeof(path), "%s/kernels/" LAB_CACHE_FORMAT "/default", o->cache);
	if (stat(path, &st) || (max_age && time(NULL) - st.st_mtime > max_age) ||
	    file_read(path, &text, &n) < 0)
		return false;
	lab_fmt(pkg, len, "%.*s", (int)strcspn(text, "\n"), text);
	free(text);
	return !strncmp(pkg, "linux-image-", 12);
}

static void default_remember(const struct lab_kernel_opts *o, const char *pkg)
{
	char path[PATH_MAX];

	lab_fmt(path, sizeof(path), "%s/kernels/" LAB_CACHE_FORMAT, o->cache);
	if (file_mkdir_p(path) < 0)
		return;
	lab_fmt(path, sizeof(path), "%s/kernels/" LAB_CACHE_FORMAT "/default", o->cache);
	file_write(path, pkg, strlen(pkg));
}

/* The kernel package linux-image-amd64 depends on: Debian's current kernel. */
static int default_package(char *pkg, size_t len, const struct lab_kernel_opts *o)
{
	char *argv[] = { (char *)"apt-cache", (char *)"depends", (char *)"linux-image-amd64", NULL };

	if (default_remembered(o, pkg, len, 24 * 3600))
		return 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		struct exec_out out;
		char *d;
		int r = exec_run(argv, NULL, &out);

		if (r == -ENOENT)
			return error_set(ENOENT, "apt-cache is not installed: the lab fetches Debian's kernel with apt; name a kernel with --kernel-deb=FILE or --kernel=BZIMAGE --modules=DIR");
		d = r == 0 && out.data ? strstr(out.data, "Depends: linux-image-") : NULL;
		if (d) {
			d += strlen("Depends: ");
			lab_fmt(pkg, len, "%.*s", (int)strcspn(d, " \n<"), d);
			free(out.data);
			default_remember(o, pkg);
			return 0;
		}
		free(out.data);
		if (attempt == 0) {
			lab_note(o->notes, "apt does not know linux-image-amd64 yet: apt-get update");
			if (apt_update() < 0)
				break;
		}
	}
	if (default_remembered(o, pkg, len, 0)) {
		lab_note(o->notes, "apt cannot say which kernel linux-image-amd64 depends on now: the last one it named, %s",
			 pkg);
		return 0;
	}
	return error_set(ENOENT, "cannot tell which kernel package linux-image-amd64 depends on (apt-cache depends linux-image-amd64 names none%s)",
			 geteuid() ? "; as root, run apt-get update" : "");
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
			 "apt-get download %s failed%s%s: the first lab run needs Debian's package archive (or name a kernel package you have: --kernel-deb=FILE)",
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
		r = check_config(&chk, o);
		if (r < 0)
			goto out;
	}
	lab_fmt(path, sizeof(path), "%s/lib/modules/%s", x, release);
	if (access(path, F_OK))
		lab_fmt(path, sizeof(path), "%s/usr/lib/modules/%s", x, release);
	r = collect_modules(o, path, release, config_text, dir);
	if (r < 0) {
		error_wrap(-r, "%s", deb);
		goto out;
	}
	lab_fmt(path, sizeof(path), "%s/vmlinuz", dir);
	extract_vmlinux(o, path, config_text, dir);
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
	return load_order(k);
}

static bool entry_done(const char *entry)
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

static int get_debian(const struct lab_kernel_opts *o, struct lab_kernel *k)
{
	char pkg[128], entry[PATH_MAX], dl[PATH_MAX], deb[PATH_MAX], source[PATH_MAX];
	const char *base;
	int r;

	if (o->deb) {
		if (access(o->deb, R_OK))
			return error_set(errno, "--kernel-deb %s: %s", o->deb, strerror(errno));
		base = strrchr(o->deb, '/');
		base = base ? base + 1 : o->deb;
		snprintf(pkg, sizeof(pkg), "%.*s", (int)strcspn(base, "_"), base);
		lab_fmt(entry, sizeof(entry), "%s/kernels/" LAB_CACHE_FORMAT "/%.*s", o->cache,
			 (int)(strlen(base) > 4 ? strlen(base) - 4 : strlen(base)), base);
		lab_fmt(source, sizeof(source), "Debian package %s (%s)", pkg, o->deb);
	} else {
		r = default_package(pkg, sizeof(pkg), o);
		if (r < 0) {
			k->host_lacks = true;
			return r;
		}
		lab_fmt(entry, sizeof(entry), "%s/kernels/" LAB_CACHE_FORMAT "/%s", o->cache, pkg);
		lab_fmt(source, sizeof(source), "Debian package %s, what linux-image-amd64 depends on", pkg);
	}
	if (entry_done(entry))
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

/* ---- a kernel of the user's own ----------------------------------------------- */

/*
 * A bzImage's config: config-RELEASE beside it, the .config of the build
 * tree it sits in (arch/x86/boot/bzImage), or with its modules.
 */
static void find_config(const struct lab_kernel_opts *o, const char *root, struct lab_kernel *k)
{
	const char *slash = strrchr(o->bzimage, '/');
	char dir[PATH_MAX], cand[5][PATH_MAX + 64];

	lab_fmt(dir, sizeof(dir), "%.*s", slash ? (int)(slash - o->bzimage) : 1,
		 slash ? o->bzimage : ".");
	lab_fmt(cand[0], sizeof(cand[0]), "%s/config-%s", dir, k->release);
	lab_fmt(cand[1], sizeof(cand[1]), "%s/.config", dir);
	lab_fmt(cand[2], sizeof(cand[2]), "%s/../../../.config", dir);
	lab_fmt(cand[3], sizeof(cand[3]), "%s/build/.config", root);
	lab_fmt(cand[4], sizeof(cand[4]), "%s/boot/config-%s", o->modules, k->release);
	k->config[0] = '\0';
	for (size_t i = 0; i < 5 && !k->config[0]; i++)
		if (!access(cand[i], R_OK))
			lab_fmt(k->config, sizeof(k->config), "%s", cand[i]);
}

static int get_bzimage(const struct lab_kernel_opts *o, struct lab_kernel *k)
{
	char root[PATH_MAX], tmp[PATH_MAX], *img = NULL, *config_text = NULL;
	const char *tmpdir = getenv("TMPDIR");
	size_t len;
	int r;

	r = file_read(o->bzimage, &img, &len);
	if (r < 0)
		return error_set(-r, "--kernel %s: %s", o->bzimage, strerror(-r));
	r = lab_bzimage_release(img, len, k->release, sizeof(k->release));
	free(img);
	if (r < 0)
		return error_wrap(-r, "--kernel %s", o->bzimage);
	lab_fmt(root, sizeof(root), "%s/lib/modules/%s", o->modules, k->release);
	if (access(root, F_OK))
		lab_fmt(root, sizeof(root), "%s", o->modules);
	if (access(root, R_OK))
		return error_set(errno, "--modules %s: %s", o->modules, strerror(errno));
	lab_fmt(tmp, sizeof(tmp), "%s/mcefwd-lab-kernel.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(tmp))
		return error_set(errno, "mkdtemp %s: %s", tmp, strerror(errno));
	lab_fmt(k->dir, sizeof(k->dir), "%s", tmp);
	k->temporary = true;
	lab_fmt(k->vmlinuz, sizeof(k->vmlinuz), "%s", o->bzimage);
	lab_fmt(k->source, sizeof(k->source), "%s with the modules of %s", o->bzimage, o->modules);
	find_config(o, root, k);
	r = check_config(k, o);
	if (r < 0)
		return r;
	if (k->config[0])
		file_read(k->config, &config_text, &len);
	r = collect_modules(o, root, k->release, config_text, k->dir);
	if (r == 0) {
		extract_vmlinux(o, o->bzimage, config_text, k->dir);
		lab_fmt(k->vmlinux, sizeof(k->vmlinux), "%s/vmlinux", k->dir);
		if (access(k->vmlinux, R_OK))
			k->vmlinux[0] = '\0';
	}
	free(config_text);
	if (r < 0)
		return error_wrap(-r, "kernel %s", o->bzimage);
	return load_order(k);
}

int lab_kernel_get(const struct lab_kernel_opts *o, struct lab_kernel *k)
{
	int r;

	memset(k, 0, sizeof(*k));
	r = o->bzimage ? get_bzimage(o, k) : get_debian(o, k);
	/* A cached kernel is checked each time: the lab's needs may have grown. */
	if (r == 0 && !o->bzimage)
		r = check_config(k, o);
	if (r < 0) {
		bool lacks = k->host_lacks;

		lab_kernel_put(k);
		k->host_lacks = lacks;
	}
	return r;
}

void lab_kernel_put(struct lab_kernel *k)
{
	if (k->temporary)
		file_rm_rf(k->dir);
	memset(k, 0, sizeof(*k));
}
