/* SPDX-License-Identifier: GPL-2.0-only */
/* Whole writes: the one loop over short writes and EINTR. */
#ifndef MCEFWD_IO_H
#define MCEFWD_IO_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Writes all of buf[0..len) to fd, again after EINTR and short writes.
 * 0, or -errno (-EIO for a write of nothing); sets no error message, so the
 * lab's static /init can use it too.
 */
int io_write_all(int fd, const void *buf, size_t len);
/*
 * The same on a socket, with send(MSG_NOSIGNAL): a peer that has gone is
 * -EPIPE, not a SIGPIPE that ends the writer.
 */
int io_send_all(int fd, const void *buf, size_t len);
/*
 * One read of the small file at path (a /proc, /sys or debugfs file says
 * everything in one) into buf, NUL-terminated: its length (0: empty), or
 * -errno from the open or the read. Sets no error message.
 */
ssize_t io_read_text(const char *path, char *buf, size_t len);

#endif
