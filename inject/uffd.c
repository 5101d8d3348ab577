// SPDX-License-Identifier: GPL-2.0-only
/*
 * The "uffd" method: UFFDIO_POISON (Linux 6.6) installs a poison marker in
 * the pte of a non-present page of a userfaultfd-registered range. An
 * access then faults like a hwpoisoned page (SIGBUS; KVM sees the hwpoison
 * pfn), without CONFIG_MEMORY_FAILURE or any privilege beyond userfaultfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "inject/method.h"
#include "mcefwd/util/error.h"

/*
 * Debian 12's headers predate Linux 6.6; these values are from the kernel's
 * include/uapi/linux/userfaultfd.h.
 */
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON (1 << 14)
#endif
#ifndef _UFFDIO_POISON
#define _UFFDIO_POISON (0x08)
struct uffdio_poison {
	struct uffdio_range range;
#define UFFDIO_POISON_MODE_DONTWAKE ((__u64)1 << 0)
	__u64 mode;
	__s64 updated;
};
#endif
#ifndef UFFDIO_POISON
#define UFFDIO_POISON _IOWR(UFFDIO, _UFFDIO_POISON, struct uffdio_poison)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

struct inject_uffd {
	int fd;
	void *hva;
	size_t size;
};

static __thread const char *uffd_step = "none";

const char *inject_uffd_failed_step(void)
{
	return uffd_step;
}

/* -errno, with the step that failed remembered for the caller's message. */
static int uffd_fail(const char *step, int err)
{
	uffd_step = step;
	return -err;
}

/*
 * The syscall is refused (EPERM) to unprivileged users when
 * vm.unprivileged_userfaultfd is 0, unless faults are limited to user
 * mode; /dev/userfaultfd is governed by its file mode instead. Poison
 * markers work the same in all three, so take the first that opens.
 */
static int uffd_open(void)
{
	int flags = O_CLOEXEC | O_NONBLOCK;
	int fd, dev, err;

	fd = syscall(SYS_userfaultfd, flags);
	if (fd >= 0)
		return fd;
	err = errno;
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
		close(dev);
		if (fd >= 0)
			return fd;
	}
	if (err == EPERM) {
		fd = syscall(SYS_userfaultfd, flags | UFFD_USER_MODE_ONLY);
		if (fd >= 0)
			return fd;
	}
	return uffd_fail("userfaultfd", err);
}

static int uffd_api(int fd)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_POISON,
	};

	/* A kernel that does not know a requested feature bit says EINVAL. */
	if (ioctl(fd, UFFDIO_API, &api))
		return uffd_fail("UFFDIO_API", errno);
	if (!(api.features & UFFD_FEATURE_POISON))
		return uffd_fail("UFFDIO_API", EOPNOTSUPP);
	return 0;
}

static int uffd_register(int fd, void *hva, size_t size)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)hva, .len = size },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	if (ioctl(fd, UFFDIO_REGISTER, &reg))
		return uffd_fail("UFFDIO_REGISTER", errno);
	if (!(reg.ioctls & ((__u64)1 << _UFFDIO_POISON))) {
		struct uffdio_range range = reg.range;

		ioctl(fd, UFFDIO_UNREGISTER, &range);
		return uffd_fail("UFFDIO_REGISTER", EOPNOTSUPP);
	}
	return 0;
}

static int uffd_unregister(int fd, void *hva, size_t size)
{
	struct uffdio_range range = { .start = (uintptr_t)hva, .len = size };

	if (ioctl(fd, UFFDIO_UNREGISTER, &range))
		return uffd_fail("UFFDIO_UNREGISTER", errno);
	return 0;
}

int inject_uffd_poison(void *page_hva, size_t page_size, struct inject_uffd **out)
{
	size_t base = sysconf(_SC_PAGESIZE);
	struct uffdio_poison poison = {
		.range = { .start = (uintptr_t)page_hva, .len = page_size },
	};
	struct inject_uffd *u;
	int ret;

	if (!page_hva || !out || !page_size || page_size % base ||
	    (uintptr_t)page_hva % base)
		return uffd_fail("arguments", EINVAL);
	u = calloc(1, sizeof(*u));
	if (!u)
		return uffd_fail("calloc", ENOMEM);
	u->hva = page_hva;
	u->size = page_size;
	u->fd = uffd_open();
	if (u->fd < 0) {
		ret = u->fd;
		goto err_free;
	}
	ret = uffd_api(u->fd);
	if (ret)
		goto err_close;
	ret = uffd_register(u->fd, page_hva, page_size);
	if (ret)
		goto err_close;
	/*
	 * UFFDIO_POISON fails with EEXIST on a present pte. Registered in
	 * MISSING mode without UFFD_FEATURE_EVENT_REMOVE, the zap raises no
	 * event; a racing access blocks on the fault until UFFDIO_POISON
	 * wakes it, and then sees the poison.
	 */
	if (madvise(page_hva, page_size, MADV_DONTNEED)) {
		ret = uffd_fail("MADV_DONTNEED", errno);
		goto err_unregister;
	}
	if (ioctl(u->fd, UFFDIO_POISON, &poison)) {
		ret = uffd_fail("UFFDIO_POISON", errno);
		goto err_unregister;
	}
	if (poison.updated != (__s64)page_size) {
		ret = uffd_fail("UFFDIO_POISON", EAGAIN);
		goto err_unregister;
	}
	*out = u;
	return 0;

err_unregister:
	uffd_unregister(u->fd, page_hva, page_size);
err_close:
	close(u->fd);
err_free:
	free(u);
	return ret;
}

int inject_uffd_unpoison(struct inject_uffd *u)
{
	int ret;

	if (!u)
		return uffd_fail("arguments", EINVAL);
	/*
	 * Unregister first: a touch of a zapped page still registered in
	 * MISSING mode would wait for a fault handler nobody runs. The poison
	 * marker outlives the registration and the userfaultfd itself; only
	 * zapping the anonymous range drops it (measured on 6.18, asserted by
	 * tests/unit/test_inject.c).
	 */
	ret = uffd_unregister(u->fd, u->hva, u->size);
	if (madvise(u->hva, u->size, MADV_DONTNEED) && !ret)
		ret = uffd_fail("MADV_DONTNEED", errno);
	if (close(u->fd) && !ret)
		ret = uffd_fail("close", errno);
	free(u);
	return ret;
}

bool inject_uffd_available(char *why, size_t len)
{
	size_t size = sysconf(_SC_PAGESIZE);
	bool ok = false;
	void *scratch;
	int fd, ret;

	fd = uffd_open();
	if (fd < 0) {
		if (fd == -ENOSYS)
			snprintf(why, len, "kernel without userfaultfd (CONFIG_USERFAULTFD)");
		else if (fd == -EPERM || fd == -EACCES)
			snprintf(why, len, "userfaultfd not permitted: run as root, "
				 "set vm.unprivileged_userfaultfd=1 or give access to /dev/userfaultfd");
		else
			snprintf(why, len, "userfaultfd: %s", strerror(-fd));
		return false;
	}
	ret = uffd_api(fd);
	if (ret == -EINVAL || ret == -EOPNOTSUPP) {
		snprintf(why, len, "kernel too old for UFFDIO_POISON (needs 6.6)");
		goto out_close;
	} else if (ret) {
		snprintf(why, len, "UFFDIO_API: %s", strerror(-ret));
		goto out_close;
	}
	scratch = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (scratch == MAP_FAILED) {
		snprintf(why, len, "mmap of a scratch page: %s", strerror(errno));
		goto out_close;
	}
	ret = uffd_register(fd, scratch, size);
	if (ret == -EOPNOTSUPP) {
		snprintf(why, len, "UFFDIO_POISON not offered for anonymous memory");
		goto out_unmap;
	} else if (ret) {
		snprintf(why, len, "UFFDIO_REGISTER: %s", strerror(-ret));
		goto out_unmap;
	}
	uffd_unregister(fd, scratch, size);
	snprintf(why, len, "userfaultfd with UFFDIO_POISON (kernel ≥ 6.6)");
	ok = true;
out_unmap:
	munmap(scratch, size);
out_close:
	close(fd);
	return ok;
}

static void uffd_probe(struct inject_probe *p)
{
	p->available = inject_uffd_available(p->why, sizeof(p->why));
}

static int uffd_poison(const struct inject_page *pg, struct inject_undo *undo)
{
	int ret = method_check_page(&inject_method_uffd, pg, undo);

	if (ret)
		return ret;
	ret = inject_uffd_poison(pg->hva, pg->size, &undo->uffd);
	if (ret)
		return error_set(-ret, "%s: %s", inject_uffd_failed_step(), strerror(-ret));
	return 0;
}

static int uffd_unpoison(struct inject_undo *undo)
{
	int ret;

	if (!undo || !undo->uffd)
		return error_set(EINVAL, "unpoison: no userfaultfd registration to undo");
	ret = inject_uffd_unpoison(undo->uffd);
	undo->uffd = NULL;
	if (ret)
		return error_set(-ret, "%s: %s", inject_uffd_failed_step(), strerror(-ret));
	return 0;
}

/* Only where vm.unprivileged_userfaultfd is 0 and user-mode-only faults will not do. */
static const cap_value_t uffd_caps[] = { CAP_SYS_PTRACE };

const struct inject_method_ops inject_method_uffd = {
	.id = INJECT_UFFD,
	.name = "uffd",
	.what = "UFFDIO_POISON",
	/* No frame: the poison is a marker in this process's page table. */
	.flags = INJECT_F_AUTO | INJECT_F_UNDO,
	.caps = uffd_caps,
	.nr_caps = sizeof(uffd_caps) / sizeof(uffd_caps[0]),
	.self_only = "userfaultfd works on the caller's own mappings",
	.probe = uffd_probe,
	.poison = uffd_poison,
	.unpoison = uffd_unpoison,
};
