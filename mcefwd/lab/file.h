/* SPDX-License-Identifier: GPL-2.0-only */
/* The lab's files: the kernel cache and its temporary directories. 0 or -errno. */
#ifndef MCEFWD_LAB_FILE_H
#define MCEFWD_LAB_FILE_H

#include <stddef.h>

/* A whole file, NUL-terminated (malloc'd; the caller frees *data). */
int file_read(const char *path, char **data, size_t *len);
/* Creates or truncates path (0644) and writes data[0..len). */
int file_write(const char *path, const void *data, size_t len);
int file_copy(const char *from, const char *to);
/* mkdir -p, 0755. */
int file_mkdir_p(const char *path);
/* rm -rf, not following links; quiet. */
void file_rm_rf(const char *path);

#endif
