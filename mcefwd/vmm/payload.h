/* SPDX-License-Identifier: GPL-2.0-only */
/* Guest payloads: the images built into mcefwd, and what each is expected to do. */
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

/* A built-in payload by name, or NULL. */
int payload_get(const char *name, struct payload *out);
/* A payload ELF from a path (the argument contains a '/'). */
int payload_read_file(const char *path, struct payload *out);
void payload_put(struct payload *p);

/* Built-in payload names, NULL-terminated. */
unsigned int payload_count(void);
const char *payload_name(unsigned int i);

#endif
