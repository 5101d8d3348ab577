/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guests only tests run (guest-payloads/tests/): a table linked into
 * the test programs alone, never into mcefwd. Shell tests run the same
 * guests as files: mcefwd run $B/guest-payloads/tests/NAME.elf.
 */
#ifndef MCEFWD_TEST_PAYLOAD_H
#define MCEFWD_TEST_PAYLOAD_H

#include "mcefwd/vmm/payload.h"

extern const struct payload_table test_payload_table;

/* A test guest by name, else the product's (hello, smp, spin): 0 or -ENOENT. */
int test_payload_get(const char *name, struct payload *out);

#endif
