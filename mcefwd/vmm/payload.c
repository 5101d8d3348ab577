// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mcefwd/util/error.h"
#include "mcefwd/vmm/payload.h"
#include "mcefwd/vmm/vcpu.h"
#include "mcefwd/vmm/vm.h"

/* Emitted by the GNUmakefile (payload-blob.S): one row per product guest. */
extern const struct payload_blob payload_blobs[];

#define PAYLOAD_MAX_FILE (1UL << 20)

static int payload_check_smp(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		const struct vcpu_result *r = &vm->vcpus[i]->res;

		if (r->nr_hello != 1)
			return error_set(EPROTO, "vcpu-%u said hello %u times, expected once",
					 i, r->nr_hello);
		if (r->hello[0] != i)
			return error_set(EPROTO, "vcpu-%u believes it is vCPU %lu",
					 i, (unsigned long)r->hello[0]);
	}
	return 0;
}

static const struct payload payload_info[] = {
	{ .name = "hello", .default_vcpus = 1,
	  .summary = "prints a greeting and checks CR4.MCE and CPUID MCE/MCA" },
	{ .name = "smp", .default_vcpus = 4, .check = payload_check_smp,
	  .summary = "every vCPU reports its id; the host checks all did, once" },
	{ .name = "spin", .default_vcpus = 1,
	  .summary = "loops forever: the watchdog must stop it" },
	{ .name = "mce-ar", .summary = "guest side of the ar, ar-no-ser and vmm-memory scenarios" },
	{ .name = "mce-ao", .summary = "guest side of the ao and ao-no-ser scenarios" },
	{ .name = "mce-ao-ar", .summary = "guest side of the ao-ar scenario" },
	{ .name = "mce-ar-untouched", .summary = "guest side of the ar-untouched scenario" },
	{ .name = "mce-no-cr4", .summary = "guest side of the no-cr4-mce scenario" },
	{ .name = "mce-nested", .summary = "guest side of the nested scenario" },
	{ .name = "mce-bank-disabled", .summary = "guest side of the bank-disabled scenario" },
	{ .name = "mce-overflow", .summary = "guest side of the overflow scenario" },
	{ .name = "mce-burst", .summary = "guest side of the burst scenario" },
	{ .name = "mce-soft-offline", .summary = "guest side of the soft-offline scenario" },
	{ .name = "mce-broadcast", .summary = "guest side of the broadcast scenario" },
	{ .name = "mce-ao-route", .summary = "guest side of the ao-route scenario" },
	{ .name = "mce-reset", .summary = "guest side of the reset scenario" },
	{ .name = "mce-lmce", .summary = "guest side of the lmce scenario" },
};

const struct payload_table payload_table = {
	.blobs = payload_blobs,
	.info = payload_info,
	.nr_info = sizeof(payload_info) / sizeof(payload_info[0]),
};

unsigned int payload_count_in(const struct payload_table *t)
{
	unsigned int n = 0;

	while (t->blobs[n].name)
		n++;
	return n;
}

const char *payload_name_in(const struct payload_table *t, unsigned int i)
{
	return i < payload_count_in(t) ? t->blobs[i].name : NULL;
}

static void payload_describe(const struct payload_table *t, struct payload *out,
			     const char *name)
{
	for (size_t i = 0; i < t->nr_info; i++) {
		if (!strcmp(t->info[i].name, name)) {
			*out = t->info[i];
			return;
		}
	}
	memset(out, 0, sizeof(*out));
	out->summary = "";
}

int payload_get_from(const struct payload_table *t, const char *name, struct payload *out)
{
	for (unsigned int i = 0; t->blobs[i].name; i++) {
		const struct payload_blob *b = &t->blobs[i];

		if (strcmp(b->name, name))
			continue;
		payload_describe(t, out, name);
		out->name = b->name;
		out->image = b->start;
		out->image_len = (size_t)(b->end - b->start);
		out->owned = NULL;
		return 0;
	}
	return error_set(ENOENT, "no payload named '%s'", name);
}

int payload_get(const char *name, struct payload *out)
{
	if (payload_get_from(&payload_table, name, out) < 0)
		return error_set(ENOENT, "no payload named '%s' (see 'mcefwd list')", name);
	return 0;
}

unsigned int payload_count(void)
{
	return payload_count_in(&payload_table);
}

const char *payload_name(unsigned int i)
{
	return payload_name_in(&payload_table, i);
}

int payload_read_file(const char *path, struct payload *out)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(errno, "cannot open payload %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (size_t)st.st_size > PAYLOAD_MAX_FILE) {
		close(fd);
		return error_set(EINVAL, "payload %s: not a regular file of 1 byte to 1 MiB", path);
	}
	buf = malloc((size_t)st.st_size);
	if (!buf) {
		close(fd);
		return error_set(ENOMEM, "out of memory reading %s", path);
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n <= 0) {
			r = n < 0 ? errno : EIO;
			free(buf);
			close(fd);
			return error_set(r, "reading payload %s: %s", path, strerror(r));
		}
		got += (size_t)n;
	}
	close(fd);
	memset(out, 0, sizeof(*out));
	out->name = path;
	out->summary = "";
	out->image = buf;
	out->image_len = got;
	out->owned = buf;
	return 0;
}

void payload_put(struct payload *p)
{
	free(p->owned);
	p->owned = NULL;
}
