// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcefwd/lab/proto.h"
#include "mcefwd/util/io.h"

void proto_buf_free(struct proto_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static void proto_append(struct proto_buf *b, const char *s)
{
	size_t n = strlen(s) + 1;

	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;

		while (cap < b->len + n)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d) {
			b->oom = true;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

void proto_put(struct proto_buf *b, const char *tag, const char *value)
{
	proto_append(b, tag);
	proto_append(b, value);
}

int proto_next(const char *buf, size_t len, size_t *pos, const char **tag, const char **value)
{
	const char *t, *v, *end;

	if (*pos >= len)
		return 0;
	t = buf + *pos;
	end = memchr(t, '\0', len - *pos);
	if (!end)
		return -1;
	v = end + 1;
	if ((size_t)(v - buf) >= len)
		return -1;
	end = memchr(v, '\0', len - (size_t)(v - buf));
	if (!end)
		return -1;
	*tag = t;
	*value = v;
	*pos = (size_t)(end + 1 - buf);
	return 1;
}

int proto_mod_split(char *value, struct proto_mod *m)
{
	char *f[4];
	int n = 0;

	f[n++] = value;
	for (char *p = value; *p && n < 4; p++) {
		if (*p == '\t') {
			*p = '\0';
			f[n++] = p + 1;
		}
	}
	if (n != 4 || !*f[0] || !*f[1] || strchr(f[3], '\t'))
		return -1;
	if (strcmp(f[3], "required") && strcmp(f[3], "optional"))
		return -1;
	m->name = f[0];
	m->path = f[1];
	m->params = f[2];
	m->required = !strcmp(f[3], "required");
	return 0;
}

void proto_parse_line(const char *line, struct proto_line *out)
{
	static const struct {
		const char *word;
		enum proto_event ev;
		bool num;
	} words[] = {
		{ "up", PROTO_EV_UP, true }, { "mod", PROTO_EV_MOD, false },
		{ "kvm", PROTO_EV_KVM, false }, { "run", PROTO_EV_RUN, true },
		{ "wrote", PROTO_EV_WROTE, false }, { "exit", PROTO_EV_EXIT, true },
		{ "signal", PROTO_EV_SIGNAL, true }, { "error", PROTO_EV_ERROR, false },
		{ "alive", PROTO_EV_ALIVE, true },
	};
	size_t wl = strcspn(line, " ");

	out->ev = PROTO_EV_UNKNOWN;
	out->rest = line[wl] ? line + wl + 1 : "";
	out->num = 0;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strlen(words[i].word) != wl || strncmp(line, words[i].word, wl))
			continue;
		out->ev = words[i].ev;
		if (words[i].num) {
			char *end;

			out->num = strtol(out->rest, &end, 10);
			if (end == out->rest || (*end && *end != ' '))
				out->ev = PROTO_EV_UNKNOWN;
		}
		return;
	}
}

void proto_write_all(int fd, const char *buf, size_t len)
{
	/* A reader that went away (EPIPE): the rest is dropped. */
	(void)io_write_all(fd, buf, len);
}
