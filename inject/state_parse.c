// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading the state file (format in state.h): pure, text in and frames
 * out, so every malformed or torn line can be tested without a file.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inject/state.h"
#include "mcefwd/util/error.h"

bool state_boot_id_valid(const char *s, size_t len)
{
	if (!len || len > STATE_BOOT_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!strchr("0123456789abcdef-", s[i]))
			return false;
	}
	return true;
}

enum state_kind { STATE_SKIP, STATE_POISONED, STATE_UNPOISONED };

enum state_field {
	F_PFN = 1 << 0,
	F_PID = 1 << 1,
	F_ADDR = 1 << 2,
	F_SIZE = 1 << 3,
	F_METHOD = 1 << 4,
	F_TIME = 1 << 5,
	F_BOOT = 1 << 6,
};

static const struct {
	const char *key;
	enum state_field bit;
} state_fields[] = {
    {"pfn", F_PFN},	  {"pid", F_PID},   {"addr", F_ADDR}, {"size", F_SIZE},
    {"method", F_METHOD}, {"time", F_TIME}, {"boot", F_BOOT},
};

static bool state_u64(const char *v, int base, uint64_t *out)
{
	char *end;

	if (!*v || *v == '-' || *v == '+')
		return false;
	errno = 0;
	*out = strtoull(v, &end, base);
	return !errno && !*end;
}

static int state_field_value(struct state_entry *e, enum state_field bit, const char *v)
{
	uint64_t u;
	char *end;

	switch (bit) {
	case F_PFN:
		return state_u64(v, 0, &e->pfn) && e->pfn ? 0 : -1;
	case F_ADDR:
		return state_u64(v, 0, &e->addr) ? 0 : -1;
	case F_PID:
		if (!state_u64(v, 10, &u) || u > INT_MAX)
			return -1;
		e->pid = (pid_t)u;
		return 0;
	case F_SIZE:
		if (!state_u64(v, 10, &u) || !u || u > SIZE_MAX)
			return -1;
		e->size = u;
		return 0;
	case F_METHOD:
		/* Only a method that takes a frame out of service leaves one to record. */
		if (inject_method_parse(v, &e->method) ||
		    !(inject_method(e->method)->flags & INJECT_F_FRAME))
			return -1;
		return 0;
	case F_TIME:
		if (!*v)
			return -1;
		errno = 0;
		e->time = strtoll(v, &end, 10);
		return errno || *end ? -1 : 0;
	case F_BOOT:
		if (!state_boot_id_valid(v, strlen(v)))
			return -1;
		strcpy(e->boot, v);
		return 0;
	}
	return -1;
}

/* One complete line (no '\n'), 1-based number lineno. */
static int state_parse_line(const char *text, size_t len, unsigned int lineno,
			    struct state_entry *e, enum state_kind *kind)
{
	static const unsigned int need_poisoned =
	    F_PFN | F_PID | F_ADDR | F_SIZE | F_METHOD | F_TIME;
	char line[STATE_LINE_MAX], *tok, *save;
	unsigned int seen = 0;

	*kind = STATE_SKIP;
	memset(e, 0, sizeof(*e));
	if (!len || text[0] == '#')
		return 0;
	if (len >= sizeof(line))
		return error_set(EINVAL, "line %u: longer than %d bytes", lineno,
				 STATE_LINE_MAX - 1);
	memcpy(line, text, len);
	line[len] = '\0';

	tok = strtok_r(line, " ", &save);
	if (!tok)
		return error_set(EINVAL, "line %u: only spaces", lineno);
	if (!strcmp(tok, "poisoned"))
		*kind = STATE_POISONED;
	else if (!strcmp(tok, "unpoisoned"))
		*kind = STATE_UNPOISONED;
	else
		return error_set(EINVAL,
				 "line %u: \"%.40s\" is neither \"poisoned\" "
				 "nor \"unpoisoned\"",
				 lineno, tok);

	while ((tok = strtok_r(NULL, " ", &save))) {
		char *eq = strchr(tok, '=');
		size_t i;

		if (!eq || eq == tok)
			return error_set(EINVAL, "line %u: \"%.40s\" is not key=value", lineno,
					 tok);
		*eq = '\0';
		for (i = 0; i < sizeof(state_fields) / sizeof(state_fields[0]); i++) {
			if (!strcmp(tok, state_fields[i].key))
				break;
		}
		if (i == sizeof(state_fields) / sizeof(state_fields[0]))
			continue;
		if (seen & state_fields[i].bit)
			return error_set(EINVAL, "line %u: %s= given twice", lineno, tok);
		seen |= state_fields[i].bit;
		if (state_field_value(e, state_fields[i].bit, eq + 1))
			return error_set(EINVAL, "line %u: bad %s=%.40s", lineno, tok, eq + 1);
	}

	if (!(seen & F_PFN))
		return error_set(EINVAL, "line %u: no pfn=", lineno);
	if (*kind == STATE_POISONED && (seen & need_poisoned) != need_poisoned) {
		for (size_t i = 0; i < sizeof(state_fields) / sizeof(state_fields[0]); i++) {
			if ((need_poisoned & state_fields[i].bit) && !(seen & state_fields[i].bit))
				return error_set(EINVAL,
						 "line %u: poisoned record without %s=", lineno,
						 state_fields[i].key);
		}
	}
	return 0;
}

static size_t state_find(const struct state_entry *v, size_t n, uint64_t pfn)
{
	size_t i;

	for (i = 0; i < n && v[i].pfn != pfn; i++)
		;
	return i;
}

int state_parse(const char *text, struct state_entry *out, size_t max, size_t *n,
		unsigned int *torn)
{
	unsigned int lineno = 0, t = 0;
	struct state_entry e;
	enum state_kind kind;
	size_t count = 0, i;
	int ret;

	if (!text || !n || (max && !out))
		return error_set(EINVAL, "state_parse: bad arguments");
	*n = 0;
	while (*text) {
		size_t len = strcspn(text, "\n");

		lineno++;
		/* A crash between write() and its '\n' reaching the disk. */
		if (!text[len]) {
			t++;
			break;
		}
		if (len >= strlen(STATE_TORN_MARK) &&
		    !memcmp(text + len - strlen(STATE_TORN_MARK), STATE_TORN_MARK,
			    strlen(STATE_TORN_MARK))) {
			t++;
			text += len + 1;
			continue;
		}
		ret = state_parse_line(text, len, lineno, &e, &kind);
		if (ret)
			return ret;
		i = state_find(out, count, e.pfn);
		if (kind == STATE_POISONED && i < count) {
			out[i] = e;
		} else if (kind == STATE_POISONED) {
			if (count == max)
				return error_set(ENOSPC,
						 "line %u: more than %zu frames "
						 "poisoned",
						 lineno, max);
			out[count++] = e;
		} else if (kind == STATE_UNPOISONED && i < count) {
			memmove(&out[i], &out[i + 1], (count - i - 1) * sizeof(*out));
			count--;
		}
		text += len + 1;
	}
	*n = count;
	if (torn)
		*torn = t;
	return 0;
}
