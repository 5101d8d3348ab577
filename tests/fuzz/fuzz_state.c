// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the state file of poisoned frames (inject/state.c,
 * inject/state_parse.c). A crash can leave any prefix of a record, and
 * --unpoison-all trusts the file to list every frame still poisoned. The
 * input is a state file.
 * Checked: state_parse() stays in bounds and within the "poisoned "
 * upper bound state_replay() sizes its array with; and, for a file that
 * parses, the writer's repair of a torn last line plus two new records
 * still parses, with the new frame poisoned.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inject/state.h"
#include "mcefwd/util/error.h"

#define FRAME_NEW	0xfeedf00dULL
#define FRAME_GONE	0x1234ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[512];

static void fuzz_state_unlink(void)
{
	unlink(path);
}

static size_t fuzz_state_bound(const char *text)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, "poisoned ")); p++)
		n++;
	return n;
}

static char *fuzz_state_slurp(void)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long len;

	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		abort();
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
		abort();
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* Append two records to the file as an mcefwd run would; it must still parse. */
static void fuzz_state_roundtrip(const uint8_t *data, size_t size)
{
	struct state_entry e = {
		.pfn = FRAME_NEW, .pid = 1, .addr = 0x7f0000000000ULL, .size = 4096,
		.method = INJECT_PFN, .time = 1,
	};
	struct state_entry *out;
	struct state *s;
	size_t n, max;
	char *text;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (state_open(path, &s))
		abort();
	if (state_record_unpoison(s, FRAME_GONE) || state_record_poison(s, &e))
		abort();
	state_close(s);
	text = fuzz_state_slurp();
	max = fuzz_state_bound(text);
	out = calloc(max, sizeof(*out));
	if (!out || state_parse(text, out, max, &n, NULL))
		abort();
	if (!n || out[n - 1].pfn != FRAME_NEW)
		abort();	/* the last record written is not the last one read */
	free(out);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state_entry *out;
	unsigned int torn = 0;
	size_t n = 0, max;
	char *text;
	int r;

	if (!path[0]) {
		snprintf(path, sizeof(path), "%s/fuzz-state.%d",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
		atexit(fuzz_state_unlink);
	}
	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	max = fuzz_state_bound(text);
	/* Exactly max entries: state_parse() must never need more. */
	out = malloc((max ? max : 1) * sizeof(*out));
	if (!out)
		abort();
	r = state_parse(text, out, max, &n, &torn);
	if (r == -ENOSPC)
		abort();
	if (r == 0) {
		if (n > max)
			abort();
		for (size_t i = 0; i < n; i++)
			if (!out[i].pfn || strlen(out[i].boot) > STATE_BOOT_ID_LEN)
				abort();
		/* Only what a reader sees as text: a NUL would end it early. */
		if (!memchr(data, '\0', size) && size < 4096)
			fuzz_state_roundtrip(data, size);
	}
	free(out);
	free(text);
	error_clear();
	return 0;
}
