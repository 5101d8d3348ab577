// SPDX-License-Identifier: GPL-2.0-only
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "guest-payloads/abi.h"
#include "mcefwd/util/error.h"
#include "mcefwd/vmm/loader.h"

static bool range_ok(uint64_t off, uint64_t size, uint64_t len)
{
	return off <= len && size <= len - off;
}

static int loader_check_header(const void *img, size_t len, const Elf64_Ehdr **out)
{
	const Elf64_Ehdr *eh = img;

	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return error_set(ENOEXEC, "not an ELF image");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64)
		return error_set(ENOEXEC, "not a little-endian ELF64 x86-64 image");
	if (eh->e_type != ET_EXEC)
		return error_set(ENOEXEC, "ELF type %u is not ET_EXEC (link the payload with -static -no-pie)",
				 eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    !range_ok(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), len))
		return error_set(ENOEXEC, "ELF program headers lie outside the image");
	*out = eh;
	return 0;
}

int loader_load_elf(const void *img, size_t len, struct guest_mem *mem,
		    uint64_t *entry)
{
	const uint8_t *bytes = img;
	const Elf64_Ehdr *eh;
	bool entry_ok = false;
	unsigned int loaded = 0;
	int r;

	r = loader_check_header(img, len, &eh);
	if (r < 0)
		return r;
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;
		uint8_t *dst;

		/* The image may be unaligned; copy rather than cast. */
		memcpy(&ph, bytes + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_vaddr != ph.p_paddr)
			return error_set(ENOEXEC, "segment %u: vaddr 0x%lx != paddr 0x%lx, but guests are identity-mapped",
					 i, (unsigned long)ph.p_vaddr,
					 (unsigned long)ph.p_paddr);
		if (ph.p_filesz > ph.p_memsz || !range_ok(ph.p_offset, ph.p_filesz, len))
			return error_set(ENOEXEC, "segment %u: file range 0x%lx+0x%lx outside the image or larger than memsz",
					 i, (unsigned long)ph.p_offset,
					 (unsigned long)ph.p_filesz);
		if (ph.p_paddr < MCEFWD_GPA_LOAD || ph.p_memsz > MCEFWD_GPA_LOAD_END ||
		    ph.p_paddr > MCEFWD_GPA_LOAD_END - ph.p_memsz)
			return error_set(ENOEXEC, "segment %u: gpa 0x%lx+0x%lx outside the payload area 0x%lx-0x%lx",
					 i, (unsigned long)ph.p_paddr,
					 (unsigned long)ph.p_memsz,
					 (unsigned long)MCEFWD_GPA_LOAD,
					 (unsigned long)MCEFWD_GPA_LOAD_END);
		dst = mem_gpa_to_hva(mem, ph.p_paddr, ph.p_memsz);
		if (!dst)
			return error_set(ENOEXEC, "segment %u: gpa 0x%lx not in guest RAM",
					 i, (unsigned long)ph.p_paddr);
		memcpy(dst, bytes + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if ((ph.p_flags & PF_X) && eh->e_entry >= ph.p_vaddr &&
		    eh->e_entry - ph.p_vaddr < ph.p_memsz)
			entry_ok = true;
		loaded++;
	}
	if (!loaded)
		return error_set(ENOEXEC, "ELF image has no PT_LOAD segment");
	if (!entry_ok)
		return error_set(ENOEXEC, "entry point 0x%lx is not inside an executable segment",
				 (unsigned long)eh->e_entry);
	*entry = eh->e_entry;
	return 0;
}

int loader_for_each_symbol(const void *img, size_t len,
			   int (*fn)(const char *name, uint64_t value, void *ctx), void *ctx)
{
	const uint8_t *bytes = img;
	const Elf64_Ehdr *eh;
	int r;

	r = loader_check_header(img, len, &eh);
	if (r < 0)
		return r;
	if (eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    !range_ok(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), len))
		return error_set(ENOEXEC, "ELF section headers lie outside the image");
	for (unsigned int i = 0; i < eh->e_shnum; i++) {
		Elf64_Shdr sh, strsh;

		memcpy(&sh, bytes + eh->e_shoff + i * sizeof(sh), sizeof(sh));
		if (sh.sh_type != SHT_SYMTAB || sh.sh_link >= eh->e_shnum ||
		    sh.sh_entsize != sizeof(Elf64_Sym) ||
		    !range_ok(sh.sh_offset, sh.sh_size, len))
			continue;
		memcpy(&strsh, bytes + eh->e_shoff + sh.sh_link * sizeof(strsh),
		       sizeof(strsh));
		if (!range_ok(strsh.sh_offset, strsh.sh_size, len))
			continue;
		for (uint64_t j = 0; j < sh.sh_size / sizeof(Elf64_Sym); j++) {
			const char *name;
			Elf64_Sym sym;

			memcpy(&sym, bytes + sh.sh_offset + j * sizeof(sym), sizeof(sym));
			if (sym.st_name >= strsh.sh_size)
				continue;
			name = (const char *)bytes + strsh.sh_offset + sym.st_name;
			/* Only a name whose NUL lies inside the string table. */
			if (!memchr(name, 0, strsh.sh_size - sym.st_name))
				continue;
			r = fn(name, sym.st_value, ctx);
			if (r)
				return r;
		}
	}
	return 0;
}

struct find_symbol {
	const char *name;
	uint64_t value;
};

static int find_symbol_fn(const char *name, uint64_t value, void *ctx)
{
	struct find_symbol *f = ctx;

	if (strcmp(name, f->name))
		return 0;
	f->value = value;
	return 1;
}

int loader_find_symbol(const void *img, size_t len, const char *name,
		       uint64_t *value)
{
	struct find_symbol f = { .name = name };
	int r = loader_for_each_symbol(img, len, find_symbol_fn, &f);

	if (r < 0)
		return r;
	if (!r)
		return -ENOENT;
	*value = f.value;
	return 0;
}
