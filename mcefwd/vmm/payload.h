/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest payloads: the images built into mcefwd, and what each is expected to
 * do. Built-in images come in tables: payload_table is the product's, what
 * 'mcefwd list' shows and 'mcefwd run NAME' runs; a program with guests of
 * its own links its own table and looks them up with payload_get_from().
 */
#ifndef MCEFWD_PAYLOAD_H
#define MCEFWD_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

struct vm;

struct payload {
	const char *name;
	const char *summary;
	unsigned int default_vcpus;	/* 0: the command line decides (1) */
	/* Extra checks after a clean run; 0 or -errno with error_get(). */
	int (*check)(struct vm *vm);
	const uint8_t *image;
	size_t image_len;
	void *owned;			/* image read from a file, freed by payload_put */
};

/* One embedded ELF image: a row of a table the GNUmakefile generates. */
struct payload_blob {
	const char *name;
	const uint8_t *start;
	const uint8_t *end;
};

/*
 * A table of built-in guests: the images, and what each is for (name,
 * summary, default_vcpus, check; the image fields unused), one row per image.
 */
struct payload_table {
	const struct payload_blob *blobs;	/* the last row's name is NULL */
	const struct payload *info;
	size_t nr_info;
};

/* The product's table. */
extern const struct payload_table payload_table;

/* The guest NAME of table t, its info filled in: 0 or -ENOENT. */
int payload_get_from(const struct payload_table *t, const char *name, struct payload *out);
/* Table t's names, in the order of its rows; payload_name_in is NULL past them. */
unsigned int payload_count_in(const struct payload_table *t);
const char *payload_name_in(const struct payload_table *t, unsigned int i);

/* The same for the product's table. */
int payload_get(const char *name, struct payload *out);
unsigned int payload_count(void);
const char *payload_name(unsigned int i);

/* A payload ELF from a path (the argument contains a '/'). */
int payload_read_file(const char *path, struct payload *out);
void payload_put(struct payload *p);

#endif
