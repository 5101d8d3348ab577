// SPDX-License-Identifier: GPL-2.0-only
/*
 * A process for mcefwd-inject to aim at: it maps one page of each kind the
 * safety rules tell apart, prints their addresses on one line, and waits to
 * be killed. It never touches the pages again, so poisoning them is safe.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	int prot = PROT_READ | PROT_WRITE;
	char *anon = mmap(NULL, pg, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *untouched = mmap(NULL, pg, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *guard = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int mfd = memfd_create("poison-target", MFD_CLOEXEC);
	int ffd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	/* sbrk, not malloc: ASan's malloc serves from anonymous mappings. */
	char *memfd, *file, *heap = sbrk(pg);
	volatile char stack = 1;

	if (anon == MAP_FAILED || untouched == MAP_FAILED || guard == MAP_FAILED ||
	    mfd < 0 || ftruncate(mfd, pg) || ffd < 0 || heap == (void *)-1)
		return 1;
	memfd = mmap(NULL, pg, prot, MAP_SHARED, mfd, 0);
	file = mmap(NULL, pg, PROT_READ, MAP_PRIVATE, ffd, 0);
	if (memfd == MAP_FAILED || file == MAP_FAILED)
		return 1;
	memset(anon, 0x5a, pg);
	memset(memfd, 0xa5, pg);
	heap[0] = file[0];
	printf("anon=%p untouched=%p guard=%p memfd=%p file=%p heap=%p stack=%p\n",
	       (void *)anon, (void *)untouched, (void *)guard, (void *)memfd,
	       (void *)file, (void *)((uintptr_t)heap & ~(uintptr_t)(pg - 1)),
	       (void *)((uintptr_t)&stack & ~(uintptr_t)(pg - 1)));
	fflush(stdout);
	for (;;)
		pause();
}
