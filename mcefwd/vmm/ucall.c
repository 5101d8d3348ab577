// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "mcefwd/util/error.h"
#include "mcefwd/vmm/ucall.h"

static const char *const type_names[MCEFWD_UCALL_MAX] = {
	[MCEFWD_UCALL_PRINT] = "PRINT",
	[MCEFWD_UCALL_REPORT] = "REPORT",
	[MCEFWD_UCALL_EXCEPTION] = "EXCEPTION",
	[MCEFWD_UCALL_HELLO] = "HELLO",
	[MCEFWD_UCALL_MCE] = "MCE",
	[MCEFWD_UCALL_READY] = "READY",
	[MCEFWD_UCALL_VALUE] = "VALUE",
	[MCEFWD_UCALL_WAIT] = "WAIT",
	[MCEFWD_UCALL_EXIT] = "EXIT",
};

const char *ucall_type_name(uint32_t type)
{
	return type < MCEFWD_UCALL_MAX && type_names[type] ? type_names[type] : "?";
}

/* How much of the union a record of this type uses: only that is copied. */
static size_t ucall_body_size(uint32_t type)
{
	const struct mcefwd_ucall *u = NULL;

	switch (type) {
	case MCEFWD_UCALL_PRINT:
		return sizeof(u->u.text);
	case MCEFWD_UCALL_REPORT:
		return sizeof(u->u.report);
	case MCEFWD_UCALL_EXCEPTION:
		return sizeof(u->u.exception);
	case MCEFWD_UCALL_MCE:
		return sizeof(u->u.mce);
	default:
		return 0;
	}
}

int ucall_decode(const struct guest_mem *mem, uint64_t gpa, unsigned int vcpu_id,
		 struct mcefwd_ucall *out)
{
	/* Bytes, not a struct: the guest picks the gpa, aligned or not. */
	const uint8_t *src = mem_gpa_to_hva(mem, gpa, sizeof(*out));
	size_t body;

	if (!src)
		return error_set(EFAULT, "ucall record at gpa 0x%lx is not inside guest RAM",
				 (unsigned long)gpa);
	/*
	 * The header, then the part of the union the type uses: a VALUE or
	 * HELLO record is 48 bytes, not the 1128 of an MCE snapshot, and
	 * this runs on every ucall exit.
	 */
	memcpy(out, src, offsetof(struct mcefwd_ucall, u));
	body = ucall_body_size(out->type);
	memcpy(&out->u, src + offsetof(struct mcefwd_ucall, u), body);
	/* The rest is defined, never what the guest left there. */
	memset((char *)&out->u + body, 0, sizeof(out->u) - body);
	if (out->magic != MCEFWD_UCALL_MAGIC)
		return error_set(EPROTO, "ucall record at gpa 0x%lx has bad magic 0x%x",
				 (unsigned long)gpa, out->magic);
	if (out->type == 0 || out->type >= MCEFWD_UCALL_MAX)
		return error_set(EPROTO, "ucall record at gpa 0x%lx has unknown type %u",
				 (unsigned long)gpa, out->type);
	if (out->vcpu != vcpu_id)
		return error_set(EPROTO, "ucall record from vcpu-%u claims to come from vcpu %u",
				 vcpu_id, out->vcpu);
	switch (out->type) {
	case MCEFWD_UCALL_PRINT:
		out->u.text[sizeof(out->u.text) - 1] = '\0';
		break;
	case MCEFWD_UCALL_REPORT:
		out->u.report.file[sizeof(out->u.report.file) - 1] = '\0';
		out->u.report.cond[sizeof(out->u.report.cond) - 1] = '\0';
		if (out->u.report.pass > 1)
			return error_set(EPROTO, "report record has pass=%u", out->u.report.pass);
		break;
	case MCEFWD_UCALL_MCE:
		if (out->u.mce.nr_banks > MCEFWD_MAX_BANKS)
			return error_set(EPROTO, "MCE record claims %lu banks (max %d)",
					 (unsigned long)out->u.mce.nr_banks, MCEFWD_MAX_BANKS);
		break;
	default:
		break;
	}
	return 0;
}
