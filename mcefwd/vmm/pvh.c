// SPDX-License-Identifier: GPL-2.0-only
/* A payload image as a PVH kernel (pvh.h). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "mcefwd/util/error.h"
#include "mcefwd/util/io.h"
#include "mcefwd/vmm/pvh.h"

/* The write's error, said with the file it was for. */
static int pvh_write_error(int r, const char *path)
{
	return r < 0 ? error_set(-r, "writing %s: %s", path, strerror(-r)) : 0;
}

int pvh_write(const uint8_t *image, size_t len, uint64_t magic, const char *path)
{
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph, *src[8];
	Elf64_Phdr out[8];
	Elf64_Ehdr oh;
	struct {
		Elf64_Nhdr n;
		char name[4];
		uint64_t entry;
	} note = { { 4, 8, 18 /* XEN_ELFNOTE_PHYS32_ENTRY */ }, "Xen", 0 };
	unsigned int nl = 0;
	uint64_t off;
	int fd, r;

	eh = (const Elf64_Ehdr *)image;
	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(*ph) > len)
		return error_set(ENOEXEC, "the payload is not an ELF image");
	ph = (const Elf64_Phdr *)(image + eh->e_phoff);
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (nl == 7 || ph[i].p_offset + ph[i].p_filesz > len)
			return error_set(ENOEXEC, "the payload has unexpected segments");
		src[nl] = &ph[i];
		out[nl++] = ph[i];
		/* The header, 8-aligned, somewhere in the loaded bytes. */
		for (uint64_t o = 0; !note.entry && o + 16 <= ph[i].p_filesz; o += 8) {
			const uint64_t *w = (const uint64_t *)(image + ph[i].p_offset + o);

			if (w[0] == magic)
				note.entry = w[1];
		}
	}
	if (!note.entry)
		return error_set(ENOEXEC, "the payload carries no PVH entry");

	oh = *eh;
	oh.e_phoff = sizeof(oh);
	oh.e_phnum = (Elf64_Half)(nl + 1);
	oh.e_shoff = 0;
	oh.e_shnum = 0;
	oh.e_shstrndx = 0;
	off = sizeof(oh) + (nl + 1) * sizeof(Elf64_Phdr) + sizeof(note);
	for (unsigned int i = 0; i < nl; i++) {
		off = (off + 4095) & ~4095ULL;
		out[i].p_offset = off;
		off += out[i].p_filesz;
	}
	out[nl] = (Elf64_Phdr){
		.p_type = PT_NOTE, .p_flags = PF_R, .p_align = 4,
		.p_offset = sizeof(oh) + (nl + 1) * sizeof(Elf64_Phdr),
		.p_filesz = sizeof(note), .p_memsz = sizeof(note),
	};
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_set(errno, "%s: %s", path, strerror(errno));
	r = io_write_all(fd, &oh, sizeof(oh));
	if (r == 0)
		r = io_write_all(fd, out, (nl + 1) * sizeof(out[0]));
	if (r == 0)
		r = io_write_all(fd, &note, sizeof(note));
	for (unsigned int i = 0; i < nl && r == 0; i++) {
		if (lseek(fd, (off_t)out[i].p_offset, SEEK_SET) < 0)
			r = -errno;
		else
			r = io_write_all(fd, image + src[i]->p_offset, src[i]->p_filesz);
	}
	close(fd);
	return pvh_write_error(r, path);
}


int pvh_write_image(const uint8_t *image, size_t len, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), r;

	if (fd < 0)
		return error_set(errno, "%s: %s", path, strerror(errno));
	r = io_write_all(fd, image, len);
	close(fd);
	return pvh_write_error(r, path);
}
