// SPDX-License-Identifier: GPL-2.0-only
/*
 * A QMP client for one question, gpa2hva (qmp.h). The JSON reader knows
 * only what QMP's replies need: an object's keys, strings, and how to skip
 * any other value.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "inject/qmp.h"
#include "mcefwd/util/error.h"
#include "mcefwd/util/io.h"

#define QMP_DEPTH_MAX 32
#define QMP_LINE_MAX (64 * 1024)

/* ---- JSON, as much as QMP needs ---- */

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

static int json_hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* A string at p (its '"'), unescaped into out (may be NULL); after it, or NULL. */
static const char *json_string(const char *p, char *out, size_t len)
{
	size_t n = 0;

	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		char c = *p;

		if (!c || (unsigned char)c < 0x20)
			return NULL;
		if (c == '\\') {
			int u;

			switch (*++p) {
			case '"': case '\\': case '/': c = *p; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u':
				u = json_hex4(p + 1);
				if (u < 0)
					return NULL;
				c = u < 0x80 ? (char)u : '?';
				p += 4;
				break;
			default:
				return NULL;
			}
		}
		if (out && n + 1 < len)
			out[n++] = c;
	}
	if (out && len)
		out[n] = '\0';
	return p + 1;
}

static const char *json_skip(const char *p, int depth);

/*
 * The members of the object at p: each key is passed to member(), which
 * reads its value and returns what follows it, or skips it if it returns
 * NULL without touching it. After the object, or NULL.
 */
typedef const char *(*json_member_fn)(const char *key, const char *value, void *ctx);

static const char *json_object(const char *p, int depth, json_member_fn member, void *ctx)
{
	char key[64];

	if (depth > QMP_DEPTH_MAX || *p != '{')
		return NULL;
	p = json_ws(p + 1);
	if (*p == '}')
		return p + 1;
	for (;;) {
		const char *v, *after = NULL;

		p = json_string(p, key, sizeof(key));
		if (!p)
			return NULL;
		p = json_ws(p);
		if (*p++ != ':')
			return NULL;
		v = json_ws(p);
		if (member)
			after = member(key, v, ctx);
		p = after ? after : json_skip(v, depth + 1);
		if (!p)
			return NULL;
		p = json_ws(p);
		if (*p == '}')
			return p + 1;
		if (*p++ != ',')
			return NULL;
		p = json_ws(p);
	}
}

static const char *json_skip(const char *p, int depth)
{
	if (depth > QMP_DEPTH_MAX)
		return NULL;
	p = json_ws(p);
	if (*p == '"')
		return json_string(p, NULL, 0);
	if (*p == '{')
		return json_object(p, depth, NULL, NULL);
	if (*p == '[') {
		p = json_ws(p + 1);
		if (*p == ']')
			return p + 1;
		for (;;) {
			p = json_skip(p, depth + 1);
			if (!p)
				return NULL;
			p = json_ws(p);
			if (*p == ']')
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	/* true, false, null, a number */
	if (!*p || !strchr("-0123456789tfn", *p))
		return NULL;
	while (*p && strchr("+-.0123456789eEtrufalsn", *p))
		p++;
	return p;
}

struct qmp_parse_ctx {
	struct qmp_reply *out;
	bool kind_set;
};

static const char *qmp_error_member(const char *key, const char *v, void *ctx)
{
	struct qmp_reply *out = ctx;

	if (strcmp(key, "desc") || *v != '"')
		return NULL;
	return json_string(v, out->text, sizeof(out->text));
}

static const char *qmp_member(const char *key, const char *v, void *ctx)
{
	struct qmp_parse_ctx *c = ctx;
	struct qmp_reply *out = c->out;

	if (!strcmp(key, "QMP")) {
		out->kind = QMP_GREETING;
		v = NULL;
	} else if (!strcmp(key, "return")) {
		out->kind = QMP_RETURN;
		if (*v == '"')
			v = json_string(v, out->text, sizeof(out->text));
		else
			v = NULL;
	} else if (!strcmp(key, "error")) {
		out->kind = QMP_ERROR;
		v = *v == '{' ? json_object(v, 1, qmp_error_member, out) : NULL;
	} else if (!strcmp(key, "event")) {
		out->kind = QMP_EVENT;
		v = *v == '"' ? json_string(v, out->text, sizeof(out->text)) : NULL;
	} else {
		return NULL;
	}
	c->kind_set = true;
	return v;
}

int qmp_parse(const char *line, struct qmp_reply *out)
{
	struct qmp_parse_ctx c = { .out = out };
	const char *end;

	memset(out, 0, sizeof(*out));
	if (!line)
		return error_set(EINVAL, "QMP: no reply");
	end = json_object(json_ws(line), 0, qmp_member, &c);
	if (!end || *json_ws(end))
		return error_set(EINVAL, "QMP: not one JSON object: \"%.80s\"", line);
	if (!c.kind_set)
		return error_set(EINVAL, "QMP: neither greeting, return, error nor event: \"%.80s\"",
				 line);
	return 0;
}

int qmp_parse_gpa2hva(const char *text, uint64_t gpa, uint64_t *hva, char *region,
		      size_t len)
{
	unsigned long long g, h;
	const char *open, *close;
	int n = -1;

	/* "Host virtual address for 0x%HWADDR (%s) is %p\r\n" (QEMU's monitor/hmp-cmds-target.c). */
	if (sscanf(text, "Host virtual address for 0x%llx (%n", &g, &n) != 1 || n < 0)
		goto refuse;
	open = text + n;
	close = strstr(open, ") is 0x");
	if (!close || sscanf(close, ") is 0x%llx", &h) != 1)
		goto refuse;
	if (g != gpa)
		return error_set(EINVAL, "QEMU answered for gpa 0x%llx, not 0x%" PRIx64, g, gpa);
	if (region && len)
		snprintf(region, len, "%.*s", (int)(close - open), open);
	*hva = h;
	return 0;
refuse:
	n = (int)strcspn(text, "\r\n");
	return error_set(EINVAL, "QEMU's gpa2hva 0x%" PRIx64 ": %.*s", gpa, n > 200 ? 200 : n,
			 text);
}

/* ---- the client ---- */

struct qmp_conn {
	int fd;
	char buf[QMP_LINE_MAX];
	size_t have;
};

static int qmp_send(struct qmp_conn *c, const char *msg)
{
	int r = io_send_all(c->fd, msg, strlen(msg));

	/* SO_SNDTIMEO ran out: EAGAIN. */
	if (r < 0)
		return error_set(r == -EAGAIN ? ETIMEDOUT : -r, "QMP: sending: %s", strerror(-r));
	return 0;
}

/* The next line that is not an event, parsed. */
static int qmp_recv(struct qmp_conn *c, struct qmp_reply *r)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->have);
		ssize_t n;
		int ret;

		if (nl) {
			*nl = '\0';
			ret = qmp_parse(c->buf, r);
			c->have -= (size_t)(nl + 1 - c->buf);
			memmove(c->buf, nl + 1, c->have);
			if (ret < 0)
				return ret;
			if (r->kind == QMP_EVENT)
				continue;
			return 0;
		}
		if (c->have == sizeof(c->buf) - 1)
			return error_set(E2BIG, "QMP: a line longer than %d bytes", QMP_LINE_MAX);
		n = recv(c->fd, c->buf + c->have, sizeof(c->buf) - 1 - c->have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return error_set(ETIMEDOUT,
					 "QMP: no answer within %d s (is another client connected? QEMU serves one at a time)",
					 QMP_TIMEOUT_S);
		if (n < 0)
			return error_set(errno, "QMP: %s", strerror(errno));
		if (n == 0)
			return error_set(ECONNRESET, "QMP: QEMU closed the connection");
		c->have += (size_t)n;
	}
}

static int qmp_connect(const char *path, pid_t pid, struct qmp_conn *c)
{
	struct timeval tv = { .tv_sec = QMP_TIMEOUT_S };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return error_set(ENAMETOOLONG, "QMP socket path %s is too long", path);
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return error_set(errno, "QMP: socket: %s", strerror(errno));
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = errno;
		return error_set(err, "QMP socket %s: %s%s", path, strerror(err),
				 err == ECONNREFUSED || err == ENOENT ?
				 ": start QEMU with -qmp unix:PATH,server=on,wait=off" : "");
	}
	/* Who listens: the process that called listen() on the socket. */
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen))
		return error_set(errno, "QMP socket %s: SO_PEERCRED: %s", path, strerror(errno));
	if (cred.pid != pid)
		return error_set(EPERM,
				 "refused: QMP socket %s is served by pid %d, not the target %d: "
				 "the guest addresses it gives are another process's",
				 path, (int)cred.pid, (int)pid);
	return 0;
}

int qmp_gpa2hva(const char *path, pid_t pid, uint64_t gpa, uint64_t *hva, char *region,
		size_t len)
{
	struct qmp_conn *c = calloc(1, sizeof(*c));
	struct qmp_reply r;
	char cmd[160];
	int ret;

	if (!c)
		return error_set(ENOMEM, "QMP: out of memory");
	c->fd = -1;
	ret = qmp_connect(path, pid, c);
	if (ret)
		goto out;
	ret = qmp_recv(c, &r);
	if (!ret && r.kind != QMP_GREETING)
		ret = error_set(EPROTO, "QMP socket %s: no QMP greeting: is it a QMP monitor (-qmp, not -monitor)?",
				path);
	if (!ret)
		ret = qmp_send(c, "{\"execute\": \"qmp_capabilities\"}\n");
	if (!ret)
		ret = qmp_recv(c, &r);
	if (!ret && r.kind != QMP_RETURN)
		ret = error_set(EPROTO, "QMP: qmp_capabilities: %s", r.text);
	if (ret)
		goto out;
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"gpa2hva 0x%" PRIx64 "\"}}\n",
		 gpa);
	ret = qmp_send(c, cmd);
	if (!ret)
		ret = qmp_recv(c, &r);
	if (!ret && r.kind != QMP_RETURN)
		ret = error_set(EPROTO, "QMP: human-monitor-command gpa2hva: %s", r.text);
	if (!ret)
		ret = qmp_parse_gpa2hva(r.text, gpa, hva, region, len);
out:
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return ret;
}
