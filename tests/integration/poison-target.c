// SPDX-License-Identifier: GPL-2.0-only
/*
 * A process for mcefwd-inject to aim at: it maps one page of each kind the
 * safety rules tell apart, prints their addresses on one line, and waits to
 * be killed. It never touches the pages again unless told to, so poisoning
 * them is safe.
 *
 *   --kvm        hold a KVM VM (KVM_CREATE_VM, nothing in it): a KVM VMM to
 *                the injector; exits 3 where /dev/kvm cannot make one
 *   --qmp PATH   serve a fake QMP monitor on the unix socket PATH whose
 *                gpa2hva maps gpa 0x1000.. to ram, 0x2000.. to anon, 0x3000..
 *                to heap (offsets kept), anything else to "No memory is
 *                mapped"; an event comes before every reply
 *
 * ram= is a memfd page named as mcefwd names its guest RAM; tstack= a page
 * of a second thread's stack (blocked in a system call); mchunk= a page of
 * a malloc'd chunk big enough to be mmap'd. Signals change ram between the
 * injector's look-up and its write (tests/integration/inject.sh), and a
 * line says when it is done: SIGUSR1 maps a fresh anonymous page over it
 * ("remapped"), SIGUSR2 frees its page from the memfd ("freed").
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/kvm.h>

static volatile sig_atomic_t got_usr1, got_usr2;
static char *anon, *ram, *heap;
static int ram_fd;
static long pg;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_usr2 = 1;
}

static void *blocked_thread(void *fd)
{
	char page_of_stack = 1;
	uintptr_t sp = (uintptr_t)&page_of_stack & ~(uintptr_t)(pg - 1);

	*(volatile char *)&page_of_stack = 2;
	dprintf(*(int *)fd, "%p", (void *)sp);
	close(*(int *)fd);
	/* Blocked in pause() for good: /proc/PID/task/TID/syscall gives its SP. */
	for (;;)
		pause();
	return NULL;
}

static void qmp_reply(int fd, const char *line)
{
	static const char event[] = "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
				    "\"event\": \"RESUME\"}\r\n";
	char gpa_text[32], out[256];
	unsigned long long gpa;
	const char *p;

	if (write(fd, event, sizeof(event) - 1) < 0)
		return;
	if (strstr(line, "\"qmp_capabilities\"")) {
		dprintf(fd, "{\"return\": {}}\r\n");
		return;
	}
	p = strstr(line, "gpa2hva ");
	if (!strstr(line, "human-monitor-command") || !p ||
	    sscanf(p + 8, "%31[0-9a-fA-Fx]", gpa_text) != 1) {
		dprintf(fd, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"not faked\"}}\r\n");
		return;
	}
	gpa = strtoull(gpa_text, NULL, 0);
	if (gpa >= 0x1000 && gpa < 0x4000) {
		char *base = gpa < 0x2000 ? ram : gpa < 0x3000 ? anon : heap;

		snprintf(out, sizeof(out), "Host virtual address for 0x%llx (pc.ram) is %p\\r\\n",
			 gpa, (void *)(base + (gpa & 0xfff)));
	} else {
		snprintf(out, sizeof(out), "No memory is mapped at address 0x%llx\\r\\n", gpa);
	}
	dprintf(fd, "{\"return\": \"%s\"}\r\n", out);
}

/* Serves one client after another; returns only on a signal. */
static void serve(int lfd, const sigset_t *wait_mask)
{
	static char buf[4096];
	static size_t have;
	static int cfd = -1;
	struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = cfd, .events = POLLIN } };
	char *nl;
	ssize_t n;

	p[1].fd = cfd;
	if (ppoll(p, 2, NULL, wait_mask) <= 0)
		return;
	if (p[0].revents && cfd < 0) {
		cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		have = 0;
		if (cfd >= 0)
			dprintf(cfd, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
				"\"major\": 8}, \"package\": \"fake\"}, \"capabilities\": []}}\r\n");
		return;
	}
	if (cfd < 0 || !p[1].revents)
		return;
	n = read(cfd, buf + have, sizeof(buf) - 1 - have);
	if (n <= 0) {
		close(cfd);
		cfd = -1;
		return;
	}
	have += (size_t)n;
	buf[have] = '\0';
	while ((nl = strchr(buf, '\n'))) {
		*nl = '\0';
		qmp_reply(cfd, buf);
		have -= (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, have + 1);
	}
}

int main(int argc, char **argv)
{
	int prot = PROT_READ | PROT_WRITE, lfd = -1, pipefd[2], kvm, vm;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sigaction act = { .sa_handler = on_signal };
	char *untouched, *guard, *memfd, *file, *chunk, tstack[32] = "";
	sigset_t block, wait_mask;
	pthread_t thread;
	int mfd, ffd;
	volatile char stack = 1;

	pg = sysconf(_SC_PAGESIZE);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--kvm")) {
			kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
			vm = kvm < 0 ? -1 : ioctl(kvm, KVM_CREATE_VM, 0);
			if (vm < 0)
				return 3;
		} else if (!strcmp(argv[i], "--qmp") && i + 1 < argc &&
			   strlen(argv[i + 1]) < sizeof(sa.sun_path)) {
			strcpy(sa.sun_path, argv[++i]);
			lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4))
				return 1;
		} else {
			return 2;
		}
	}
	anon = mmap(NULL, pg, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	untouched = mmap(NULL, pg, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	guard = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mfd = memfd_create("poison-target", MFD_CLOEXEC);
	ram_fd = memfd_create("mcefwd-guest-ram", MFD_CLOEXEC);
	ffd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	/* sbrk, not malloc: ASan's malloc serves from anonymous mappings. */
	heap = sbrk(pg);
	chunk = malloc(1 << 20);
	if (anon == MAP_FAILED || untouched == MAP_FAILED || guard == MAP_FAILED ||
	    mfd < 0 || ftruncate(mfd, pg) || ram_fd < 0 || ftruncate(ram_fd, 4 * pg) ||
	    ffd < 0 || heap == (void *)-1 || !chunk || pipe(pipefd))
		return 1;
	memfd = mmap(NULL, pg, prot, MAP_SHARED, mfd, 0);
	ram = mmap(NULL, 4 * pg, prot, MAP_SHARED, ram_fd, 0);
	file = mmap(NULL, pg, PROT_READ, MAP_PRIVATE, ffd, 0);
	if (memfd == MAP_FAILED || ram == MAP_FAILED || file == MAP_FAILED ||
	    pthread_create(&thread, NULL, blocked_thread, &pipefd[1]) ||
	    read(pipefd[0], tstack, sizeof(tstack) - 1) <= 0)
		return 1;
	close(pipefd[0]);
	memset(anon, 0x5a, pg);
	memset(memfd, 0xa5, pg);
	memset(ram, 0x11, 4 * pg);
	memset(chunk, 0x22, 1 << 20);
	heap[0] = file[0];
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigaction(SIGUSR1, &act, NULL);
	sigaction(SIGUSR2, &act, NULL);
	/* A client that hangs up early is no reason to die. */
	signal(SIGPIPE, SIG_IGN);
	printf("anon=%p untouched=%p guard=%p memfd=%p file=%p heap=%p stack=%p ram=%p tstack=%s mchunk=%p\n",
	       (void *)anon, (void *)untouched, (void *)guard, (void *)memfd,
	       (void *)file, (void *)((uintptr_t)heap & ~(uintptr_t)(pg - 1)),
	       (void *)((uintptr_t)&stack & ~(uintptr_t)(pg - 1)), (void *)ram, tstack,
	       (void *)(((uintptr_t)chunk + pg) & ~(uintptr_t)(pg - 1)));
	fflush(stdout);
	for (;;) {
		if (lfd >= 0)
			serve(lfd, &wait_mask);
		else
			sigsuspend(&wait_mask);
		if (got_usr1) {
			got_usr1 = 0;
			if (mmap(ram, pg, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
				return 1;
			ram[0] = 1;
			printf("remapped\n");
			fflush(stdout);
		}
		if (got_usr2) {
			got_usr2 = 0;
			if (fallocate(ram_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, pg))
				return 1;
			printf("freed\n");
			fflush(stdout);
		}
	}
}
