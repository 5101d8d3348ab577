// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "inject/pagemap.h"
#include "mcefwd/util/error.h"

void pagemap_decode(uint64_t raw, struct pagemap_info *out)
{
	*out = (struct pagemap_info){
		.present = raw & PAGEMAP_PRESENT,
		.swapped = raw & PAGEMAP_SWAPPED,
		.file_or_shared = raw & PAGEMAP_FILE_OR_SHARED,
		.exclusive = raw & PAGEMAP_EXCLUSIVE,
		.soft_dirty = raw & PAGEMAP_SOFT_DIRTY,
	};
	/* When swapped, bits 0-54 are the swap type and offset, not a frame. */
	if (out->swapped && !out->present)
		out->swap_offset = (raw & PAGEMAP_PFN_MASK) >> PAGEMAP_SWAP_TYPE_BITS;
	if (out->present) {
		out->pfn = raw & PAGEMAP_PFN_MASK;
		/* PFN 0 is never a user page on x86: it is the hidden value. */
		out->pfn_hidden = out->pfn == 0;
	}
}

int pagemap_read_range(pid_t pid, uint64_t vaddr, size_t nr, struct pagemap_info *out)
{
	uint64_t raw[512];
	char path[64];
	size_t done = 0;
	int fd, ret = 0;

	if (!out || vaddr % PAGEMAP_PAGE_SIZE)
		return -EINVAL;
	if (pid <= 0)
		return error_set(EINVAL, "PID %d is not a process id", (int)pid);
	if (nr > (UINT64_MAX - vaddr) / PAGEMAP_PAGE_SIZE)
		return error_set(EINVAL, "0x%" PRIx64 " + %zu pages wraps", vaddr, nr);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(errno, "%s: %s", path, strerror(errno));
	while (done < nr) {
		size_t want = nr - done < 512 ? nr - done : 512;
		uint64_t off = (vaddr / PAGEMAP_PAGE_SIZE + done) * sizeof(uint64_t);
		ssize_t r = pread(fd, raw, want * sizeof(uint64_t), (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = error_set(errno, "%s at 0x%" PRIx64 ": %s", path,
					vaddr + done * PAGEMAP_PAGE_SIZE, strerror(errno));
			break;
		}
		/* Past the end of the address space, or a torn entry. */
		if (r == 0 || r % sizeof(uint64_t)) {
			ret = error_set(EIO, "%s at 0x%" PRIx64 ": short read of %zd bytes", path,
					vaddr + done * PAGEMAP_PAGE_SIZE, r);
			break;
		}
		for (size_t i = 0; i < (size_t)r / sizeof(uint64_t); i++)
			pagemap_decode(raw[i], &out[done + i]);
		done += (size_t)r / sizeof(uint64_t);
	}
	close(fd);
	return ret;
}

int pagemap_read(pid_t pid, uint64_t vaddr, struct pagemap_info *out)
{
	return pagemap_read_range(pid, vaddr - vaddr % PAGEMAP_PAGE_SIZE, 1, out);
}
