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
#include "mcefwd/lab/kernel_int.h"



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

#define LAB_CONFIG_REFUSED "kernel %s cannot run the lab (not booted): its config %s lacks %d option(s): %s"

int lab_kernel_check_config(struct lab_kernel *k, const struct lab_kernel_opts *o)
{
	char why[4096], names[1024], *text;
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
	r = kconfig_check(text, "; ", why, sizeof(why));
	if (r > 0 &&
	    snprintf(NULL, 0, LAB_CONFIG_REFUSED, k->release, k->config, r, why) >= ERROR_MAX) {
		/*
		 * Too many for one message: it names them all, and each with
		 * its reason goes on a line of its own.
		 */
		kconfig_check(text, "\n", why, sizeof(why));
		for (char *line = why, *nl; line && *line; line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			lab_note(o->notes, "kernel %s: %.*s", k->release,
				 nl ? (int)(nl - line) : (int)strlen(line), line);
		}
		kconfig_missing_names(text, names, sizeof(names));
		free(text);
		return error_set(EINVAL, LAB_CONFIG_REFUSED, k->release, k->config, r, names);
	}
	free(text);
	if (r)
		return error_set(EINVAL, LAB_CONFIG_REFUSED, k->release, k->config, r, why);
	return 0;
}

/*
 * dir/vmlinux: the kernel of the bzImage at path, uncompressed, if it can
 * boot through its PVH entry (CONFIG_PVH). Saves about 3 s of emulated
 * decompression on every boot; without it the bzImage boots, slower.
 */
void lab_kernel_extract_vmlinux(const struct lab_kernel_opts *o, const char *bzimage,
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
	r = lab_kernel_check_config(k, o);
	if (r < 0)
		return r;
	if (k->config[0])
		file_read(k->config, &config_text, &len);
	r = lab_kmod_collect(o, root, k->release, config_text, k->dir);
	if (r == 0) {
		lab_kernel_extract_vmlinux(o, o->bzimage, config_text, k->dir);
		lab_fmt(k->vmlinux, sizeof(k->vmlinux), "%s/vmlinux", k->dir);
		if (access(k->vmlinux, R_OK))
			k->vmlinux[0] = '\0';
	}
	free(config_text);
	if (r < 0)
		return error_wrap(-r, "kernel %s", o->bzimage);
	return lab_kmod_order(k);
}

void lab_kernel_opts_set(struct lab_kernel_opts *o, const struct kernel_arg *k)
{
	o->series = k->kind == KERNEL_ARG_SERIES ? k->series : NULL;
	o->deb = k->kind == KERNEL_ARG_DEB ? k->value : NULL;
	o->bzimage = k->kind == KERNEL_ARG_BZIMAGE ? k->value : NULL;
	o->modules = k->kind == KERNEL_ARG_BZIMAGE ? k->modules : NULL;
}

int lab_kernel_get(const struct lab_kernel_opts *o, struct lab_kernel *k)
{
	int r;

	memset(k, 0, sizeof(*k));
	r = o->bzimage ? get_bzimage(o, k) : lab_debian_get(o, k);
	/* A cached kernel is checked each time: the lab's needs may have grown. */
	if (r == 0 && !o->bzimage)
		r = lab_kernel_check_config(k, o);
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

