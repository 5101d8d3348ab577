// SPDX-License-Identifier: GPL-2.0-only
/* The modules the lab loads, found with their dependencies, in load order. */
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
#include "mcefwd/lab/kernel_int.h"

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
int lab_kmod_collect(const struct lab_kernel_opts *o, const char *root, const char *release,
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
int lab_kmod_order(struct lab_kernel *k)
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
