// SPDX-License-Identifier: GPL-2.0-only
/*
 * A pure AR under stock QEMU, which always asks for early kill: poison a
 * frame that no process maps at that moment. memory_failure() then notifies
 * nobody (mm/memory-failure.c hwpoison_user_mappings: a page not mapped is
 * "always a late kill"), and the guest's first touch of the page makes KVM
 * fault on it (VM_FAULT_HWPOISON: SIGBUS BUS_MCEERR_AR to the vCPU thread,
 * kvm_send_hwpoison_signal). Anonymous memory has no frame before its first
 * touch; guest RAM in a memfd does once we write it through a mapping of
 * our own, and keeps it in the page cache when we unmap it again.
 *
 * What proves the frame is the guest page: QEMU's own mapping of its memfd
 * RAM (/proc/PID/maps) holds gpa's page at the file offset we map, and QMP
 * gpa2hva names an address inside that mapping at that offset.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "inject/inject.h"
#include "inject/state.h"
#include "mcefwd/qemu/qemu_int.h"
#include "mcefwd/util/error.h"
#include "mcefwd/util/ktap.h"

/* The fd of QEMU's guest-RAM memfd, opened through /proc; -errno if none. */
static int untouched_memfd(pid_t pid)
{
	char dir[64], path[384], link[256];
	struct dirent *d;
	DIR *dp;
	int fd = -ENOENT;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	dp = opendir(dir);
	if (!dp)
		return error_set(errno, "%s: %s", dir, strerror(errno));
	while (fd < 0 && (d = readdir(dp))) {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strncmp(link, "/memfd:" QEMU_MEMFD_NAME " ", strlen("/memfd:" QEMU_MEMFD_NAME " ")))
			continue;
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			fd = error_set(errno, "%s: %s", path, strerror(errno));
	}
	closedir(dp);
	if (fd == -ENOENT)
		return error_set(ENOENT, "QEMU (pid %d) holds no memfd named %s", (int)pid,
				 QEMU_MEMFD_NAME);
	return fd;
}

/* QEMU maps gpa's page of its memfd at hva: its maps line says so. */
static int untouched_check_maps(pid_t pid, uint64_t hva, uint64_t gpa)
{
	char path[64], line[512];
	FILE *f;
	int r = error_set(ENOENT, "0x%" PRIx64 " is in no memfd mapping of QEMU's", hva);

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return error_set(errno, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off;
		char name[256] = "";

		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %255[^\n]", &start, &end, &off,
			   name) < 3 || hva < start || hva >= end)
			continue;
		if (!strstr(name, "/memfd:" QEMU_MEMFD_NAME))
			r = error_set(EINVAL, "QEMU's 0x%" PRIx64 " is in '%s', not its memfd RAM",
				      hva, name);
		else if (hva - start + off != gpa)
			r = error_set(EINVAL, "QEMU's 0x%" PRIx64 " is memfd offset 0x%llx, not gpa 0x%" PRIx64,
				      hva, hva - start + off, gpa);
		else
			r = 0;
		break;
	}
	fclose(f);
	return r;
}

int qemu_poison_untouched(struct qemu_session *s, uint64_t gpa, const char *state_path,
			  uint64_t *pfn)
{
	struct state *st = NULL;
	struct state_entry e;
	uint64_t hva;
	void *p;
	int fd, r;

	*pfn = 0;
	r = qs_gpa2hva(s, gpa, &hva, 10000);
	if (r < 0)
		return r;
	r = untouched_check_maps(s->pid, hva, gpa);
	if (r < 0)
		return r;
	fd = untouched_memfd(s->pid);
	if (fd < 0)
		return fd;
	p = mmap(NULL, MCEFWD_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)gpa);
	close(fd);
	if (p == MAP_FAILED)
		return error_set(errno, "mapping QEMU's memfd at 0x%" PRIx64 ": %s", gpa,
				 strerror(errno));
	/* The frame: made by this write, found in our own pagemap. */
	memset(p, 0x5a, MCEFWD_PAGE_SIZE);
	r = inject_pfn_lookup(0, (uint64_t)(uintptr_t)p, pfn);
	munmap(p, MCEFWD_PAGE_SIZE);
	if (r < 0) {
		*pfn = 0;
		return r;
	}
	ktap_diag(s->k, "guest page 0x%" PRIx64 " (QEMU's 0x%" PRIx64 "): frame 0x%" PRIx64
		  " made in QEMU's memfd RAM by a mapping of ours, unmapped again: no process maps it",
		  gpa, hva, *pfn);
	e = (struct state_entry){ .pfn = *pfn, .pid = s->pid, .addr = hva,
				  .size = MCEFWD_PAGE_SIZE, .method = INJECT_PFN, .time = (int64_t)time(NULL) };
	r = state_open(state_path, &st);
	if (r == 0)
		r = state_record_poison(st, &e);
	if (r == 0)
		r = inject_pfn_poison(*pfn);
	if (st)
		state_close(st);
	if (r < 0) {
		*pfn = 0;
		return error_wrap(-r, "poisoning frame 0x%" PRIx64, e.pfn);
	}
	ktap_diag(s->k, "poisoned pfn 0x%" PRIx64 " with corrupt-pfn; recorded in %s", e.pfn,
		  state_path);
	return 0;
}
