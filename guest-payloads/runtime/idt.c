// SPDX-License-Identifier: GPL-2.0-only
/*
 * The IDT for vectors 0-31 and the dispatch of exceptions to C handlers,
 * and the gate of the APIC timer's tick, which a vCPU under QEMU naps on
 * (qemu.c). Interrupts are off everywhere else, so vectors above it are
 * left out of the IDT: raising one is a #GP.
 */
#include "rt.h"

struct rt_idt_gate {
	uint16_t offset0;	/* 15:0 */
	uint16_t selector;
	uint8_t ist;
	uint8_t type;
	uint16_t offset1;	/* 31:16 */
	uint32_t offset2;	/* 63:32 */
	uint32_t reserved;
} __attribute__((packed));

struct rt_idt_desc {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* Present, DPL 0, 64-bit interrupt gate. */
#define RT_GATE_INTERRUPT	0x8e

_Static_assert(sizeof(struct rt_idt_gate) == 16, "64-bit IDT gates are 16 bytes");
_Static_assert(offsetof(struct rt_frame, vector) == 15 * 8, "vectors.S frame layout");
_Static_assert(offsetof(struct rt_frame, rip) == 17 * 8, "vectors.S frame layout");
_Static_assert(sizeof(struct rt_frame) == 22 * 8, "vectors.S frame layout");

extern const uint64_t rt_vector_stubs[RT_NR_VECTORS];
extern const char rt_qemu_tick[];

_Static_assert(RT_VEC_TICK == RT_NR_VECTORS, "the tick's gate follows the exceptions'");

/*
 * One IDT for all vCPUs. Every vCPU fills it at start with the same bytes,
 * so a vCPU already using it never sees a gate change.
 */
static struct rt_idt_gate rt_idt[RT_VEC_TICK + 1] __attribute__((aligned(16)));
static rt_handler_t rt_handlers[RT_NR_VECTORS];

void rt_idt_init(void)
{
	struct rt_idt_desc desc = {
		.limit = sizeof(rt_idt) - 1,
		.base = (uintptr_t)rt_idt,
	};
	unsigned int v;

	for (v = 0; v <= RT_VEC_TICK; v++) {
		uint64_t stub = v == RT_VEC_TICK ? (uintptr_t)rt_qemu_tick : rt_vector_stubs[v];

		rt_idt[v] = (struct rt_idt_gate){
			.offset0 = stub & 0xffff,
			.selector = MCEFWD_SEL_CODE,
			.ist = 0,
			.type = RT_GATE_INTERRUPT,
			.offset1 = (stub >> 16) & 0xffff,
			.offset2 = stub >> 32,
			.reserved = 0,
		};
	}
	asm volatile("lidt %0" : : "m"(desc) : "memory");
}

void rt_set_handler(unsigned int vector, rt_handler_t fn)
{
	if (vector >= RT_NR_VECTORS) {
		rt_printf("rt_set_handler: vector %u is not an exception", vector);
		rt_exit(RT_EXIT_BUG);
	}
	WRITE_ONCE(rt_handlers[vector], fn);
}

static __attribute__((noreturn)) void rt_unexpected(struct rt_frame *f)
{
	struct mcefwd_ucall u;
	struct mcefwd_exception *e = &u.u.exception;
	/* First, before anything in here could fault and overwrite it. */
	uint64_t cr2 = f->vector == X86_VEC_PF ? read_cr2() : 0;

	memset(&u, 0, offsetof(struct mcefwd_ucall, u) + sizeof(*e));
	u.type = MCEFWD_UCALL_EXCEPTION;
	e->vector = f->vector;
	e->error_code = f->error_code;
	e->rip = f->rip;
	e->cr2 = cr2;
	rt_ucall(&u);
	rt_exit(RT_EXIT_EXCEPTION(f->vector));
}

void rt_exception(struct rt_frame *f)
{
	rt_handler_t fn = NULL;

	if (f->vector < RT_NR_VECTORS)
		fn = READ_ONCE(rt_handlers[f->vector]);
	if (!fn)
		rt_unexpected(f);
	fn(f);
}
