/* SPDX-License-Identifier: GPL-2.0-only */
/* The host side of the guest ABI: ucall records read out of guest RAM. */
#ifndef MCEFWD_UCALL_H
#define MCEFWD_UCALL_H

#include <stdint.h>

#include "guest-payloads/abi.h"
#include "mcefwd/vmm/mem.h"

/*
 * Copies the record at gpa out of guest RAM (the guest cannot change the
 * copy while the host reads it) and validates it: inside RAM, magic, type,
 * sender, NUL-terminated strings. The guest is not trusted.
 */
int ucall_decode(const struct guest_mem *mem, uint64_t gpa, unsigned int vcpu_id,
		 struct mcefwd_ucall *out);

const char *ucall_type_name(uint32_t type);

#endif
