// SPDX-License-Identifier: GPL-2.0-only
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mcefwd/util/error.h"
#include "mcefwd/lab/modinfo.h"

/* Where a section's bytes are, if they lie inside the file. */
static int modinfo_section(size_t len, const Elf64_Shdr *sh, size_t *off, size_t *size)
{
	if (sh->sh_offset > len || sh->sh_size > len - sh->sh_offset)
		return -EINVAL;
	*off = (size_t)sh->sh_offset;
	*size = (size_t)sh->sh_size;
	return 0;
}

int modinfo_parse(const void *image, size_t len, struct modinfo *out)
{
	const unsigned char *img = image;
	size_t str_off, str_size, off = 0, size = 0;
	Elf64_Ehdr eh;
	Elf64_Shdr sh, strsh;
	bool found = false;

	memset(out, 0, sizeof(*out));
	if (len < sizeof(eh) || memcmp(img, ELFMAG, SELFMAG))
		return error_set(EINVAL, "not an ELF file");
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_type != ET_REL)
		return error_set(EINVAL, "not a 64-bit relocatable ELF file (a kernel module is one)");
	if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shstrndx >= eh.e_shnum ||
	    eh.e_shoff > len || (size_t)eh.e_shnum * sizeof(Elf64_Shdr) > len - eh.e_shoff)
		return error_set(EINVAL, "its section headers lie outside the file");
	memcpy(&strsh, img + eh.e_shoff + (size_t)eh.e_shstrndx * sizeof(Elf64_Shdr), sizeof(strsh));
	if (modinfo_section(len, &strsh, &str_off, &str_size))
		return error_set(EINVAL, "its section names lie outside the file");
	for (unsigned int i = 0; i < eh.e_shnum && !found; i++) {
		memcpy(&sh, img + eh.e_shoff + (size_t)i * sizeof(Elf64_Shdr), sizeof(sh));
		/* ".modinfo" and its NUL, all inside the string table. */
		if (sh.sh_name > str_size || str_size - sh.sh_name < sizeof(".modinfo") ||
		    memcmp(img + str_off + sh.sh_name, ".modinfo", sizeof(".modinfo")) ||
		    sh.sh_type == SHT_NOBITS)
			continue;
		if (modinfo_section(len, &sh, &off, &size))
			return error_set(EINVAL, ".modinfo lies outside the file");
		found = true;
	}
	if (!found)
		return error_set(EINVAL, "no .modinfo section: not a kernel module");
	/* NUL-separated "key=value" strings, with padding NULs between them. */
	for (size_t p = off; p < off + size;) {
		const char *s = (const char *)img + p;
		size_t n = strnlen(s, off + size - p);

		if (!strncmp(s, "name=", 5) && n - 5 < sizeof(out->name))
			snprintf(out->name, sizeof(out->name), "%.*s", (int)(n - 5), s + 5);
		else if (!strncmp(s, "depends=", 8) && n - 8 < sizeof(out->depends))
			snprintf(out->depends, sizeof(out->depends), "%.*s", (int)(n - 8), s + 8);
		else if (!strncmp(s, "vermagic=", 9) && n - 9 < sizeof(out->vermagic))
			snprintf(out->vermagic, sizeof(out->vermagic), "%.*s", (int)(n - 9), s + 9);
		p += n + 1;
	}
	return 0;
}

void modinfo_name_of_file(const char *file, char *name, size_t len)
{
	const char *base = strrchr(file, '/'), *dot;
	size_t n;

	base = base ? base + 1 : file;
	dot = strstr(base, ".ko");
	n = dot ? (size_t)(dot - base) : strlen(base);
	if (n >= len)
		n = len - 1;
	for (size_t i = 0; i < n; i++)
		name[i] = base[i] == '-' ? '_' : base[i];
	name[n] = '\0';
}

struct order_walk {
	modinfo_deps_fn deps;
	void *ctx;
	char (*order)[MODINFO_NAME_MAX];
	size_t max, count;
	/* The path from a wanted module down to the one being visited. */
	char stack[32][MODINFO_NAME_MAX];
	size_t depth;
};

static bool order_has(const struct order_walk *w, const char *name)
{
	for (size_t i = 0; i < w->count; i++)
		if (!strcmp(w->order[i], name))
			return true;
	return false;
}

static int order_visit(struct order_walk *w, const char *name)
{
	char deps[MODINFO_DEPS_MAX], *tok, *save = NULL;
	int r;

	if (!*name || order_has(w, name))
		return 0;
	for (size_t i = 0; i < w->depth; i++)
		if (!strcmp(w->stack[i], name))
			return error_set(ELOOP, "module %s depends on itself (through %s)", name,
					 w->stack[w->depth - 1]);
	if (w->depth == sizeof(w->stack) / sizeof(w->stack[0]))
		return error_set(ELOOP, "module dependencies nest deeper than %zu", w->depth);
	r = w->deps(w->ctx, name, deps, sizeof(deps));
	if (r < 0)
		return r;
	if (r == 1)
		return 0;
	snprintf(w->stack[w->depth++], MODINFO_NAME_MAX, "%s", name);
	for (tok = strtok_r(deps, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		r = order_visit(w, tok);
		if (r < 0)
			return r;
	}
	w->depth--;
	if (w->count == w->max)
		return error_set(ENOSPC, "more than %zu modules to load", w->max);
	snprintf(w->order[w->count++], MODINFO_NAME_MAX, "%s", name);
	return 0;
}

int modinfo_load_order(const char *const *wanted, size_t nr, modinfo_deps_fn deps, void *ctx,
		       char (*order)[MODINFO_NAME_MAX], size_t max, size_t *count)
{
	struct order_walk w = { .deps = deps, .ctx = ctx, .order = order, .max = max,
				.count = *count };
	int r = 0;

	for (size_t i = 0; i < nr && r == 0; i++)
		r = order_visit(&w, wanted[i]);
	*count = w.count;
	return r;
}
