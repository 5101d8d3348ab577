// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "mcefwd/lab/cpio.h"

void cpio_begin(struct cpio *c, FILE *f)
{
	c->f = f;
	c->ino = 1;
	c->err = 0;
}

static void cpio_pad(struct cpio *c, size_t written)
{
	static const char zeros[4];

	if (written % 4 && fwrite(zeros, 1, 4 - written % 4, c->f) != 4 - written % 4)
		c->err = -EIO;
}

void cpio_add(struct cpio *c, const char *name, unsigned int mode, const void *data, size_t len)
{
	size_t namesize = strlen(name) + 1;
	int n;

	if (c->err)
		return;
	if (len > 0xffffffffu || (len && !S_ISREG(mode))) {
		c->err = -EINVAL;
		return;
	}
	/* magic, ino, mode, uid, gid, nlink, mtime, filesize, dev and rdev major/minor, namesize, check */
	n = fprintf(c->f, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		    c->ino++, mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u, (unsigned int)len,
		    0u, 0u, 0u, 0u, (unsigned int)namesize, 0u);
	if (n != 110 || fwrite(name, 1, namesize, c->f) != namesize) {
		c->err = -EIO;
		return;
	}
	cpio_pad(c, 110 + namesize);
	if (len && fwrite(data, 1, len, c->f) != len)
		c->err = -EIO;
	cpio_pad(c, len);
}

int cpio_end(struct cpio *c)
{
	cpio_add(c, "TRAILER!!!", 0, NULL, 0);
	if (!c->err && fflush(c->f))
		c->err = -errno;
	return c->err;
}
