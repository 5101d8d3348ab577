// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "mcefwd/lab/exec.h"

int exec_found(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
	while (*path) {
		size_t n = strcspn(path, ":");

		if (n && (size_t)snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, prog) < sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return 1;
		path += n + (path[n] == ':');
	}
	return 0;
}

void exec_keep_tail(char *tail, size_t size, const char *buf, size_t n)
{
	size_t have = strlen(tail);

	if (n >= size - 1) {
		memcpy(tail, buf + n - (size - 1), size - 1);
		tail[size - 1] = '\0';
		return;
	}
	if (have + n > size - 1) {
		size_t drop = have + n - (size - 1);

		memmove(tail, tail + drop, have - drop + 1);
		have -= drop;
	}
	memcpy(tail + have, buf, n);
	tail[have + n] = '\0';
}

int exec_run(char *const argv[], const char *dir, struct exec_out *out)
{
	int opipe[2] = { -1, -1 }, epipe[2], status, saved;
	struct pollfd p[2];
	size_t cap = 0;
	pid_t pid;

	out->data = NULL;
	out->len = 0;
	out->err[0] = '\0';
	if (pipe2(epipe, O_CLOEXEC))
		return -errno;
	if (pipe2(opipe, O_CLOEXEC)) {
		saved = errno;
		close(epipe[0]);
		close(epipe[1]);
		return -saved;
	}
	pid = fork();
	if (pid < 0) {
		saved = errno;
		close(opipe[0]);
		close(opipe[1]);
		close(epipe[0]);
		close(epipe[1]);
		return -saved;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null >= 0)
			dup2(null, STDIN_FILENO);
		dup2(opipe[1], STDOUT_FILENO);
		dup2(epipe[1], STDERR_FILENO);
		if (dir && chdir(dir))
			_exit(126);
		execvp(argv[0], argv);
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(opipe[1]);
	close(epipe[1]);
	p[0] = (struct pollfd){ .fd = opipe[0], .events = POLLIN };
	p[1] = (struct pollfd){ .fd = epipe[0], .events = POLLIN };
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		char buf[65536];
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				continue;
			}
			if (i == 1) {
				exec_keep_tail(out->err, sizeof(out->err), buf, (size_t)n);
				continue;
			}
			if (cap == (size_t)-1)
				continue;
			if (out->len + (size_t)n + 1 > cap) {
				size_t ncap = cap ? cap : 65536;
				char *d;

				while (ncap < out->len + (size_t)n + 1)
					ncap *= 2;
				d = realloc(out->data, ncap);
				if (!d) {
					/* Out of memory: the caller sees what fit. */
					cap = (size_t)-1;
					continue;
				}
				out->data = d;
				cap = ncap;
			}
			memcpy(out->data + out->len, buf, (size_t)n);
			out->len += (size_t)n;
			out->data[out->len] = '\0';
		}
	}
	for (int i = 0; i < 2; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	if (cap == (size_t)-1) {
		free(out->data);
		out->data = NULL;
		out->len = 0;
		return -ENOMEM;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	if (WEXITSTATUS(status) == 127 && !out->err[0])
		return -ENOENT;
	return WEXITSTATUS(status);
}
