// SPDX-License-Identifier: GPL-2.0-only
/*
 * loader.c: the built-in payloads load where they were linked, and an image
 * with any one field wrong is refused with a message that says which.
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "guest-payloads/abi.h"
#include "mcefwd/bench/bench_payload.h"
#include "mcefwd/util/error.h"
#include "mcefwd/vmm/loader.h"
#include "mcefwd/vmm/mem.h"
#include "mcefwd/vmm/payload.h"
#include "tests/lib/test_payload.h"

#define RAM_SIZE	(4ULL << 20)
#define FILL		0xcc
#define NO_ENTRY	0xdeadbeefULL

struct fixture {
	struct guest_mem mem;
	uint8_t *ram;
	struct payload hello;
	uint8_t *img;		/* writable copy of hello, restored per test */
	size_t len;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->ram = malloc(RAM_SIZE);
	if (!f->ram || payload_get("hello", &f->hello))
		goto err;
	memset(f->ram, FILL, RAM_SIZE);
	mem_init_table(&f->mem);
	if (mem_slot_add(&f->mem, 0, RAM_SIZE, f->ram))
		goto err;
	f->len = f->hello.image_len;
	f->img = malloc(f->len);
	if (!f->img)
		goto err;
	memcpy(f->img, f->hello.image, f->len);
	*state = f;
	return 0;
err:
	free(f->ram);
	free(f);
	return -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->img);
	free(f->ram);
	free(f);
	return 0;
}

static Elf64_Ehdr *ehdr(struct fixture *f)
{
	return (Elf64_Ehdr *)f->img;
}

static Elf64_Phdr *phdr(struct fixture *f, unsigned int i)
{
	assert_true(i < ehdr(f)->e_phnum);
	return (Elf64_Phdr *)(f->img + ehdr(f)->e_phoff) + i;
}

/* The index of the n-th PT_LOAD (0-based). */
static unsigned int nth_load(struct fixture *f, unsigned int n)
{
	for (unsigned int i = 0; i < ehdr(f)->e_phnum; i++)
		if (phdr(f, i)->p_type == PT_LOAD && n-- == 0)
			return i;
	fail_msg("hello has fewer than %u PT_LOAD segments", n + 1);
	return 0;
}

static void assert_error_mentions(const char *what)
{
	if (!strstr(error_get(), what))
		fail_msg("error \"%s\" does not mention \"%s\"", error_get(), what);
}

/* Loads f->img (as corrupted) and expects a refusal that mentions what. */
static void assert_refused(struct fixture *f, size_t len, const char *what)
{
	uint64_t entry = NO_ENTRY;

	error_clear();
	assert_int_equal(loader_load_elf(f->img, len, &f->mem, &entry), -ENOEXEC);
	assert_int_equal(entry, NO_ENTRY);
	assert_error_mentions(what);
}

static void test_load_hello(void **state)
{
	struct fixture *f = *state;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f->hello.image;
	uint64_t entry = NO_ENTRY;
	unsigned int loads = 0;

	assert_true(f->hello.image_len > sizeof(Elf64_Ehdr));
	assert_int_equal(loader_load_elf(f->hello.image, f->hello.image_len, &f->mem,
					 &entry), 0);
	assert_true(entry >= MCEFWD_GPA_LOAD && entry < MCEFWD_GPA_LOAD_END);
	assert_int_equal(entry, eh->e_entry);

	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, f->hello.image + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		loads++;
		/* File bytes copied, the rest of memsz (bss) zeroed. */
		assert_memory_equal(f->ram + ph.p_paddr, f->hello.image + ph.p_offset,
				    ph.p_filesz);
		for (uint64_t b = ph.p_filesz; b < ph.p_memsz; b++)
			if (f->ram[ph.p_paddr + b])
				fail_msg("segment %u: bss byte at gpa 0x%lx is 0x%x, not 0",
					 i, (unsigned long)(ph.p_paddr + b),
					 f->ram[ph.p_paddr + b]);
	}
	assert_true(loads >= 1);
	/* Nothing outside the payload area was touched. */
	assert_int_equal(f->ram[0], FILL);
	assert_int_equal(f->ram[MCEFWD_GPA_LOAD - 1], FILL);
	assert_int_equal(f->ram[MCEFWD_GPA_LOAD_END], FILL);
	assert_int_equal(f->ram[RAM_SIZE - 1], FILL);
}

static void test_load_first_segment_bytes(void **state)
{
	struct fixture *f = *state;
	uint64_t entry;
	Elf64_Phdr *ph = phdr(f, nth_load(f, 0));

	assert_int_equal(loader_load_elf(f->img, f->len, &f->mem, &entry), 0);
	assert_true(ph->p_filesz > 0);
	assert_memory_equal(mem_gpa_to_hva(&f->mem, ph->p_paddr, ph->p_filesz),
			    f->img + ph->p_offset, ph->p_filesz);
}

static void test_load_needs_ram(void **state)
{
	struct fixture *f = *state;
	struct guest_mem small;
	uint64_t entry = NO_ENTRY;

	/* RAM ending one page into the payload area. */
	mem_init_table(&small);
	assert_int_equal(mem_slot_add(&small, 0, MCEFWD_GPA_LOAD + 0x1000, f->ram), 0);
	error_clear();
	assert_int_equal(loader_load_elf(f->img, f->len, &small, &entry), -ENOEXEC);
	assert_error_mentions("not in guest RAM");
	assert_int_equal(entry, NO_ENTRY);
}

static void test_find_symbol(void **state)
{
	struct fixture *f = *state;
	struct payload fault;
	uint64_t value = NO_ENTRY, entry;
	const uint8_t *code;

	assert_int_equal(payload_get_from(&test_payload_table, "fault", &fault), 0);
	assert_int_equal(loader_find_symbol(fault.image, fault.image_len, "fault_ud2",
					    &value), 0);
	assert_true(value >= MCEFWD_GPA_LOAD && value < MCEFWD_GPA_LOAD_END);
	/* And the symbol is where the loaded image has its ud2 (0f 0b). */
	assert_int_equal(loader_load_elf(fault.image, fault.image_len, &f->mem, &entry), 0);
	code = mem_gpa_to_hva(&f->mem, value, 2);
	assert_non_null(code);
	assert_int_equal(code[0], 0x0f);
	assert_int_equal(code[1], 0x0b);

	value = NO_ENTRY;
	assert_int_equal(loader_find_symbol(fault.image, fault.image_len,
					    "no_such_symbol", &value), -ENOENT);
	/* Whole names only: neither a prefix nor an extension matches. */
	assert_int_equal(loader_find_symbol(fault.image, fault.image_len, "fault_ud",
					    &value), -ENOENT);
	assert_int_equal(loader_find_symbol(fault.image, fault.image_len, "fault_ud2x",
					    &value), -ENOENT);
	assert_int_equal(value, NO_ENTRY);

	/* _start is the entry point. */
	assert_int_equal(loader_find_symbol(f->img, f->len, "_start", &value), 0);
	assert_int_equal(value, ehdr(f)->e_entry);
}

static void test_find_symbol_bad_image(void **state)
{
	struct fixture *f = *state;
	uint64_t value = NO_ENTRY;

	assert_int_equal(loader_find_symbol(f->img, 32, "_start", &value), -ENOEXEC);
	ehdr(f)->e_shoff = f->len;
	error_clear();
	assert_int_equal(loader_find_symbol(f->img, f->len, "_start", &value), -ENOEXEC);
	assert_error_mentions("section headers");
	ehdr(f)->e_shoff = ((const Elf64_Ehdr *)f->hello.image)->e_shoff;
	ehdr(f)->e_shnum = 0xffff;
	assert_int_equal(loader_find_symbol(f->img, f->len, "_start", &value), -ENOEXEC);
	assert_int_equal(value, NO_ENTRY);

	/* Without a symbol table there is nothing to find. */
	memcpy(f->img, f->hello.image, f->len);
	for (unsigned int i = 0; i < ehdr(f)->e_shnum; i++) {
		Elf64_Shdr *sh = (Elf64_Shdr *)(f->img + ehdr(f)->e_shoff) + i;

		if (sh->sh_type == SHT_SYMTAB)
			sh->sh_type = SHT_PROGBITS;
	}
	assert_int_equal(loader_find_symbol(f->img, f->len, "_start", &value), -ENOENT);
	assert_int_equal(value, NO_ENTRY);
}

static void test_bad_magic(void **state)
{
	struct fixture *f = *state;

	f->img[EI_MAG1] = 'X';
	assert_refused(f, f->len, "not an ELF image");
}

static void test_bad_class_data_machine(void **state)
{
	struct fixture *f = *state;

	f->img[EI_CLASS] = ELFCLASS32;
	assert_refused(f, f->len, "ELF64");
	memcpy(f->img, f->hello.image, f->len);
	f->img[EI_DATA] = ELFDATA2MSB;
	assert_refused(f, f->len, "little-endian");
	memcpy(f->img, f->hello.image, f->len);
	ehdr(f)->e_machine = EM_386;
	assert_refused(f, f->len, "x86-64");
}

static void test_bad_type(void **state)
{
	struct fixture *f = *state;

	ehdr(f)->e_type = ET_DYN;
	assert_refused(f, f->len, "ET_EXEC");
	assert_error_mentions("type 3");
	ehdr(f)->e_type = ET_REL;
	assert_refused(f, f->len, "ET_EXEC");
}

static void test_bad_program_headers(void **state)
{
	struct fixture *f = *state;
	const Elf64_Ehdr *orig = (const Elf64_Ehdr *)f->hello.image;

	ehdr(f)->e_phoff = f->len;
	assert_refused(f, f->len, "program headers");
	ehdr(f)->e_phoff = f->len - sizeof(Elf64_Phdr) + 1;
	assert_refused(f, f->len, "program headers");
	ehdr(f)->e_phoff = UINT64_MAX - 8;
	assert_refused(f, f->len, "program headers");
	ehdr(f)->e_phoff = orig->e_phoff;

	ehdr(f)->e_phnum = 0xffff;
	assert_refused(f, f->len, "program headers");
	ehdr(f)->e_phnum = orig->e_phnum;

	ehdr(f)->e_phentsize = 32;
	assert_refused(f, f->len, "program headers");
}

static void test_no_load_segment(void **state)
{
	struct fixture *f = *state;

	for (unsigned int i = 0; i < ehdr(f)->e_phnum; i++)
		if (phdr(f, i)->p_type == PT_LOAD)
			phdr(f, i)->p_type = PT_NOTE;
	assert_refused(f, f->len, "no PT_LOAD");
	ehdr(f)->e_phnum = 0;
	assert_refused(f, f->len, "no PT_LOAD");
}

static void test_filesz_over_memsz(void **state)
{
	struct fixture *f = *state;
	unsigned int i = nth_load(f, 0);

	phdr(f, i)->p_filesz = phdr(f, i)->p_memsz + 1;
	assert_refused(f, f->len, "larger than memsz");
}

static void test_file_range_outside_image(void **state)
{
	struct fixture *f = *state;
	unsigned int i = nth_load(f, 0);

	phdr(f, i)->p_offset = f->len - phdr(f, i)->p_filesz + 1;
	assert_refused(f, f->len, "outside the image");
	phdr(f, i)->p_offset = UINT64_MAX - 16;
	assert_refused(f, f->len, "outside the image");
	phdr(f, i)->p_offset = 0;
	phdr(f, i)->p_filesz = phdr(f, i)->p_memsz = f->len + 1;
	assert_refused(f, f->len, "outside the image");
}

static void test_segment_below_payload_area(void **state)
{
	struct fixture *f = *state;
	unsigned int i = nth_load(f, 0);

	phdr(f, i)->p_paddr = phdr(f, i)->p_vaddr = MCEFWD_GPA_LOAD - 0x1000;
	assert_refused(f, f->len, "outside the payload area");
	phdr(f, i)->p_paddr = phdr(f, i)->p_vaddr = 0;
	assert_refused(f, f->len, "outside the payload area");
}

static void test_segment_past_payload_area(void **state)
{
	struct fixture *f = *state;
	unsigned int i = nth_load(f, 0);
	Elf64_Phdr *ph = phdr(f, i);

	/* Ends one byte past MCEFWD_GPA_LOAD_END. */
	ph->p_paddr = ph->p_vaddr = MCEFWD_GPA_LOAD_END - ph->p_memsz + 1;
	assert_refused(f, f->len, "outside the payload area");
	/* memsz so large that paddr + memsz wraps. */
	memcpy(f->img, f->hello.image, f->len);
	ph->p_memsz = UINT64_MAX - 0xfff;
	assert_refused(f, f->len, "outside the payload area");
	/* Starting at the end itself. */
	memcpy(f->img, f->hello.image, f->len);
	ph->p_paddr = ph->p_vaddr = MCEFWD_GPA_LOAD_END;
	assert_refused(f, f->len, "outside the payload area");
}

static void test_last_segment_past_payload_area(void **state)
{
	struct fixture *f = *state;
	Elf64_Phdr *ph = phdr(f, nth_load(f, 1));

	ph->p_paddr = ph->p_vaddr = MCEFWD_GPA_LOAD_END - 0x1000;
	ph->p_memsz = 0x1001;
	ph->p_filesz = 0;
	assert_refused(f, f->len, "outside the payload area");
}

static void test_vaddr_not_paddr(void **state)
{
	struct fixture *f = *state;
	Elf64_Phdr *ph = phdr(f, nth_load(f, 0));

	ph->p_vaddr = 0xffffffff80000000ULL + ph->p_paddr;
	assert_refused(f, f->len, "identity-mapped");
	assert_error_mentions("vaddr 0xffffffff80100000");
}

static void test_entry_outside_exec_segment(void **state)
{
	struct fixture *f = *state;
	Elf64_Phdr *text = phdr(f, nth_load(f, 0));
	Elf64_Phdr *data = phdr(f, nth_load(f, 1));

	assert_true(text->p_flags & PF_X);
	assert_false(data->p_flags & PF_X);
	/* Inside a loaded but not executable segment. */
	ehdr(f)->e_entry = data->p_vaddr;
	assert_refused(f, f->len, "entry point");
	assert_error_mentions("executable");
	/* Just past the executable segment. */
	ehdr(f)->e_entry = text->p_vaddr + text->p_memsz;
	assert_refused(f, f->len, "entry point");
	ehdr(f)->e_entry = 0;
	assert_refused(f, f->len, "entry point 0x0");
	/* Executable segment made non-executable. */
	memcpy(f->img, f->hello.image, f->len);
	text->p_flags &= ~(Elf64_Word)PF_X;
	assert_refused(f, f->len, "entry point");
}

static void test_truncated_and_empty(void **state)
{
	struct fixture *f = *state;
	uint64_t entry = NO_ENTRY;

	assert_refused(f, 32, "not an ELF image");
	assert_refused(f, sizeof(Elf64_Ehdr) - 1, "not an ELF image");
	assert_refused(f, 0, "not an ELF image");
	/* Headers intact but the first segment's last byte cut off. */
	assert_refused(f, phdr(f, nth_load(f, 0))->p_offset +
			  phdr(f, nth_load(f, 0))->p_filesz - 1, "outside the image");
	error_clear();
	assert_int_equal(loader_load_elf(NULL, 0, &f->mem, &entry), -ENOEXEC);
	assert_error_mentions("not an ELF image");
	assert_int_equal(entry, NO_ENTRY);
}

struct sym_walk {
	unsigned int seen, stop_at;
	bool saw_ud2, saw_start;
	uint64_t ud2;
};

static int sym_walk_fn(const char *name, uint64_t value, void *ctx)
{
	struct sym_walk *w = ctx;

	assert_non_null(name);
	w->seen++;
	if (!strcmp(name, "fault_ud2")) {
		w->saw_ud2 = true;
		w->ud2 = value;
	}
	w->saw_start |= !strcmp(name, "_start");
	return w->seen == w->stop_at ? 7 : 0;
}

/* The walk sees every symbol find_symbol finds, and stops when told. */
static void test_for_each_symbol(void **state)
{
	struct sym_walk all = { 0 }, some = { .stop_at = 2 };
	struct payload fault;
	uint64_t value;

	(void)state;
	assert_int_equal(payload_get_from(&test_payload_table, "fault", &fault), 0);
	assert_int_equal(loader_for_each_symbol(fault.image, fault.image_len, sym_walk_fn, &all), 0);
	assert_true(all.saw_ud2 && all.saw_start);
	assert_int_equal(loader_find_symbol(fault.image, fault.image_len, "fault_ud2", &value), 0);
	assert_int_equal(all.ud2, value);
	assert_true(all.seen > 2);
	/* A non-zero return ends the walk and is what the walk returns. */
	assert_int_equal(loader_for_each_symbol(fault.image, fault.image_len, sym_walk_fn, &some), 7);
	assert_int_equal(some.seen, 2);
	/* Not an image: an error, and no call. */
	some = (struct sym_walk){ 0 };
	assert_int_equal(loader_for_each_symbol(fault.image, 16, sym_walk_fn, &some), -ENOEXEC);
	assert_int_equal(some.seen, 0);
}

/* Every table of built-in guests, and the file that describes its guests. */
static const struct {
	const struct payload_table *t;
	const char *file;
} tables[] = {
	{ &payload_table, "mcefwd/vmm/payload.c" },
	{ &bench_payload_table, "mcefwd/bench/bench_payload.c" },
	{ &test_payload_table, "tests/lib/test_payload.c" },
};
#define NR_TABLES (sizeof(tables) / sizeof(tables[0]))

/*
 * Every guest of a table can be fetched and has a summary (for the product's:
 * its line in 'mcefwd list'); every summary is of a guest of its table.
 */
static void check_table(const struct payload_table *t, const char *file)
{
	unsigned int n = payload_count_in(t);
	struct payload p;

	assert_true(n > 0);
	assert_null(payload_name_in(t, n));
	for (unsigned int i = 0; i < n; i++) {
		const char *name = payload_name_in(t, i);

		assert_non_null(name);
		assert_int_equal(payload_get_from(t, name, &p), 0);
		assert_string_equal(p.name, name);
		assert_true(p.image_len > 0);
		if (!p.summary || !p.summary[0])
			fail_msg("payload '%s' has no summary (%s)", name, file);
		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(payload_name_in(t, j), name))
				fail_msg("payload '%s' is in its table twice", name);
	}
	for (size_t i = 0; i < t->nr_info; i++)
		if (payload_get_from(t, t->info[i].name, &p) < 0)
			fail_msg("%s describes '%s', which is not in its table", file,
				 t->info[i].name);
	assert_int_equal(payload_get_from(t, "no-such-payload", &p), -ENOENT);
}

static void test_every_payload_described(void **state)
{
	struct payload p;

	(void)state;
	for (size_t i = 0; i < NR_TABLES; i++)
		check_table(tables[i].t, tables[i].file);
	/* A guest is in one table: 'mcefwd list' offers no bench or test guest. */
	for (size_t a = 0; a < NR_TABLES; a++)
		for (size_t b = a + 1; b < NR_TABLES; b++)
			for (unsigned int i = 0; i < payload_count_in(tables[a].t); i++) {
				const char *name = payload_name_in(tables[a].t, i);

				if (payload_get_from(tables[b].t, name, &p) == 0)
					fail_msg("payload '%s' is in the tables of %s and of %s",
						 name, tables[a].file, tables[b].file);
			}
	/* payload_get() and the rest are the product's table. */
	assert_int_equal(payload_count(), payload_count_in(&payload_table));
	assert_string_equal(payload_name(0), payload_name_in(&payload_table, 0));
	assert_int_equal(payload_get("hello", &p), 0);
	assert_int_equal(payload_get("bench-exit", &p), -ENOENT);
	assert_string_equal(error_get(), "no payload named 'bench-exit' (see 'mcefwd list')");
	/* bench finds its own guests and the product's it runs (spin). */
	assert_int_equal(bench_payload_get("bench-exit", &p), 0);
	assert_int_equal(bench_payload_get("spin", &p), 0);
	assert_string_equal(p.name, "spin");
	assert_int_equal(bench_payload_get("no-such-payload", &p), -ENOENT);
	/* So do the tests: theirs (fault), and the product's (spin). */
	assert_int_equal(payload_get("fault", &p), -ENOENT);
	assert_int_equal(test_payload_get("fault", &p), 0);
	assert_string_equal(p.name, "fault");
	assert_int_equal(test_payload_get("spin", &p), 0);
	assert_string_equal(p.name, "spin");
	assert_int_equal(test_payload_get("bench-exit", &p), -ENOENT);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_load_hello),
		T(test_load_first_segment_bytes),
		T(test_load_needs_ram),
		T(test_find_symbol),
		T(test_find_symbol_bad_image),
		T(test_bad_magic),
		T(test_bad_class_data_machine),
		T(test_bad_type),
		T(test_bad_program_headers),
		T(test_no_load_segment),
		T(test_filesz_over_memsz),
		T(test_file_range_outside_image),
		T(test_segment_below_payload_area),
		T(test_segment_past_payload_area),
		T(test_last_segment_past_payload_area),
		T(test_vaddr_not_paddr),
		T(test_entry_outside_exec_segment),
		T(test_truncated_and_empty),
		cmocka_unit_test(test_every_payload_described),
		cmocka_unit_test(test_for_each_symbol),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
