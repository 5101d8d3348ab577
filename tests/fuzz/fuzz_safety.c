// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the injector's safety rules (inject/safety.c), the
 * only thing between a bad --pid/--addr and a poisoned host page. The
 * input is a 24-byte header (target, pagemap bits, which mapping to aim
 * at) and then /proc/PID/maps text. Whatever safety_judge() allows is
 * checked against the rules again, written out independently here: one
 * mapping, guest-RAM kinds only, readable, present, exclusively mapped if
 * anonymous, inside registered guest RAM if the injector's own.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inject/maps.h"
#include "inject/pagemap.h"
#include "inject/safety.h"
#include "mcefwd/util/error.h"

#define HDR		24
#define MAX_PAGES	64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_hdr {
	uint8_t pid_sel;	/* 0: 0, 1: 1, 2: self, 3+: another */
	uint8_t map_sel;	/* which mapping the address is in */
	uint16_t page_off;	/* pages into it */
	uint16_t nr_pages;	/* the range's length */
	uint8_t odd;		/* bit 0: misalign addr, bit 1: size not whole pages */
	uint8_t allowed_sel;	/* 0: none, 1: the whole mapping, 2: its first page */
	uint64_t present;	/* pagemap: bit i, page i present */
	uint64_t exclusive;	/* pagemap: bit i, page i exclusively mapped */
};

static bool fuzz_safety_kind_ok(enum maps_kind k)
{
	return k == MAPS_ANON || k == MAPS_MEMFD || k == MAPS_HUGETLB_ANON ||
	       k == MAPS_HUGETLB_FILE;
}

/* Every rule again, from scratch: abort if t was allowed and one refuses. */
static void fuzz_safety_oracle(const struct safety_target *t)
{
	const struct maps_entry *e = maps_find(t->maps, t->nr_maps, t->addr);
	bool inside = false;

	if (t->pid <= 1 || t->self_pid <= 0 || t->addr % 4096 || !t->size ||
	    t->size > UINT64_MAX - t->addr)
		abort();
	if (!e || t->addr + t->size > e->end || !fuzz_safety_kind_ok(e->kind))
		abort();
	if (e->perms[0] != 'r')
		abort();
	if (t->pid == t->self_pid) {
		for (size_t i = 0; i < t->nr_allowed; i++)
			inside |= t->allowed[i].start <= t->addr &&
				  t->addr + t->size <= t->allowed[i].end;
		if (!inside)
			abort();
	}
	if (t->nr_pages != (t->size + 4095) / 4096)
		abort();
	for (size_t i = 0; i < t->nr_pages; i++) {
		if (!t->pages[i].present)
			abort();
		if (e->kind == MAPS_ANON && !t->pages[i].exclusive)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pagemap_info pages[MAX_PAGES];
	struct safety_range allowed;
	struct safety_target t;
	struct maps_entry *maps;
	struct fuzz_hdr h;
	size_t n = 0;
	char *text, why[256];
	const struct maps_entry *m;

	if (size < HDR)
		return 0;
	memcpy(&h, data, HDR);
	text = malloc(size - HDR + 1);
	if (!text)
		abort();
	memcpy(text, data + HDR, size - HDR);
	text[size - HDR] = '\0';
	if (maps_parse(text, NULL, 0, &n) || !n) {
		free(text);
		error_clear();
		return 0;
	}
	maps = malloc(n * sizeof(*maps));
	if (!maps || maps_parse(text, maps, n, &n))
		abort();
	m = &maps[h.map_sel % n];

	memset(&t, 0, sizeof(t));
	t.self_pid = 1000;
	t.pid = h.pid_sel == 0 ? 0 : h.pid_sel == 1 ? 1 : h.pid_sel == 2 ? 1000 : 2000 + h.pid_sel;
	t.addr = m->start + (uint64_t)h.page_off * 4096 + (h.odd & 1);
	t.size = (size_t)(h.nr_pages % MAX_PAGES + 1) * 4096 - (h.odd & 2 ? 100 : 0);
	t.maps = maps;
	t.nr_maps = n;
	t.nr_pages = (t.size + 4095) / 4096;
	for (size_t i = 0; i < MAX_PAGES; i++) {
		uint64_t raw = (h.present >> i & 1 ? PAGEMAP_PRESENT | (0x1000 + i) : 0) |
			       (h.exclusive >> i & 1 ? PAGEMAP_EXCLUSIVE : 0);

		pagemap_decode(raw, &pages[i]);
	}
	t.pages = pages;
	if (h.allowed_sel % 3 == 1)
		allowed = (struct safety_range){ m->start, m->end };
	else
		allowed = (struct safety_range){ m->start, m->start + 4096 };
	t.allowed = &allowed;
	t.nr_allowed = h.allowed_sel % 3 ? 1 : 0;

	if (safety_judge(&t, why, sizeof(why)) == SAFETY_OK)
		fuzz_safety_oracle(&t);
	else if (!why[0])
		abort();	/* a refusal must say why */
	if ((safety_judge(&t, NULL, 0) == SAFETY_OK) != (safety_check(&t, why, 17) == 0))
		abort();
	free(maps);
	free(text);
	error_clear();
	return 0;
}
