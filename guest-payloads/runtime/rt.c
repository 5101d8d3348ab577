// SPDX-License-Identifier: GPL-2.0-only
/*
 * Runtime start, vCPU identity, exit, the ucalls to the host and the
 * mailbox back from it.
 *
 * Ucall records live on the sender's stack: a #MC can arrive between any
 * two instructions (the host injects it on the next entry), and its handler
 * sends a record of its own, which must not overwrite one being built.
 */
#include "rt.h"

struct rt_cpu {
	unsigned int id;	/* as the host passed it in RDI */
	unsigned int nr;
	uint64_t mcg_cap;
};

/* The host writes MAILBOX + id * size; it must not run into the page directories. */
_Static_assert(sizeof(struct mcefwd_mailbox) == 64, "mailbox layout");
_Static_assert(MCEFWD_GPA_MAILBOX + MCEFWD_MAX_VCPUS * sizeof(struct mcefwd_mailbox)
	       <= MCEFWD_GPA_PD, "mailboxes overlap the page directories");

/* Indexed by stack slot, which equals the id unless the host got it wrong. */
static struct rt_cpu rt_cpus[MCEFWD_MAX_VCPUS];

/*
 * There is no per-CPU segment base to find this vCPU's data with, but each
 * vCPU runs on its own stack, exceptions included (no TSS, no IST).
 */
static unsigned int rt_stack_slot(void)
{
	uintptr_t sp;

	asm volatile("mov %%rsp, %0" : "=r"(sp));
	if (sp <= MCEFWD_GPA_STACKS ||
	    sp > MCEFWD_GPA_STACKS + MCEFWD_MAX_VCPUS * MCEFWD_STACK_SIZE)
		rt_exit(RT_EXIT_BUG);
	/* - 1: the top of stack n is the bottom of stack n + 1. */
	return (sp - 1 - MCEFWD_GPA_STACKS) / MCEFWD_STACK_SIZE;
}

static struct rt_cpu *rt_cpu_self(void)
{
	return &rt_cpus[rt_stack_slot()];
}

unsigned int rt_vcpu_id(void)
{
	return rt_cpu_self()->id;
}

unsigned int rt_nr_vcpus(void)
{
	return rt_cpu_self()->nr;
}

uint64_t rt_mcg_cap(void)
{
	return rt_cpu_self()->mcg_cap;
}

void rt_exit(int code)
{
	/* QEMU's isa-debug-exit keeps only (code << 1) | 1: say it whole first. */
	if (rt_qemu) {
		struct mcefwd_ucall u;

		memset(&u, 0, sizeof(u));
		u.type = MCEFWD_UCALL_EXIT;
		u.value[0] = (uint32_t)code;
		rt_ucall(&u);
		rt_qemu_exit(code);
	}
	outl(MCEFWD_PORT_EXIT, (uint32_t)code);
	/* The host should not run this vCPU again; if it does, stay put. */
	for (;;) {
		cli();
		hlt();
	}
}

void rt_ucall(struct mcefwd_ucall *u)
{
	u->magic = MCEFWD_UCALL_MAGIC;
	u->vcpu = rt_vcpu_id();
	u->pad = 0;
	if (rt_qemu) {
		rt_qemu_send(u);
		return;
	}
	/* Identity mapped and below 4 GiB: the pointer is the gpa. */
	outl(MCEFWD_PORT_UCALL, (uint32_t)(uintptr_t)u);
}

/* Zero what the host reads of this type, so no stale stack bytes reach it. */
static void rt_ucall_init(struct mcefwd_ucall *u, uint32_t type, size_t body)
{
	memset(u, 0, offsetof(struct mcefwd_ucall, u) + body);
	u->type = type;
}

static void rt_ucall_values(uint32_t type, uint64_t v0, uint64_t v1)
{
	struct mcefwd_ucall u;

	rt_ucall_init(&u, type, 0);
	u.value[0] = v0;
	u.value[1] = v1;
	rt_ucall(&u);
}

void rt_hello(void)
{
	rt_ucall_values(MCEFWD_UCALL_HELLO, rt_vcpu_id(), 0);
}

void rt_poison(uint64_t step, uint64_t gpa, unsigned int kind,
	       unsigned int count)
{
	struct mcefwd_ucall u;

	rt_ucall_init(&u, MCEFWD_UCALL_READY, 0);
	u.value[0] = step;
	u.value[1] = gpa;
	u.value[2] = kind;
	u.value[3] = count;
	rt_ucall(&u);
	/* mcefwd acts before the outl returns; QEMU's host answers on COM1. */
	if (rt_qemu)
		rt_qemu_ack();
}

void rt_ready(uint64_t step)
{
	rt_poison(step, 0, 0, 0);
}

volatile struct mcefwd_mailbox *rt_mailbox(void)
{
	return rt_mailbox_of(rt_vcpu_id());
}

volatile struct mcefwd_mailbox *rt_mailbox_of(unsigned int vcpu)
{
	return (volatile struct mcefwd_mailbox *)MCEFWD_GPA_MAILBOX + vcpu;
}

/*
 * Halting, not spinning: every emulated instruction costs the host time,
 * and a halted vCPU is one the host knows it may deliver to.
 */
void rt_wait_events(uint64_t n)
{
	volatile struct mcefwd_mailbox *mb = rt_mailbox();

	/*
	 * Under QEMU the host answers once QEMU has finished n events, or
	 * when it gave up waiting: then the payload's checks say what is missing.
	 */
	if (rt_qemu && mb->events_done < n) {
		struct mcefwd_ucall u;

		rt_ucall_init(&u, MCEFWD_UCALL_WAIT, 0);
		u.value[0] = n;
		rt_ucall(&u);
		rt_qemu_ack();
		return;
	}
	while (mb->events_done < n)
		hlt();
}

void rt_value(uint64_t key, uint64_t value)
{
	rt_ucall_values(MCEFWD_UCALL_VALUE, key, value);
}

void rt_printf(const char *fmt, ...)
{
	struct mcefwd_ucall u;
	va_list ap;
	size_t n;

	rt_ucall_init(&u, MCEFWD_UCALL_PRINT, 0);
	va_start(ap, fmt);
	rt_vsnprintf(u.u.text, sizeof(u.u.text), fmt, ap);
	va_end(ap);
	/* A record is a line already; a trailing newline would be a blank one. */
	n = strlen(u.u.text);
	if (n && u.u.text[n - 1] == '\n')
		u.u.text[n - 1] = '\0';
	rt_ucall(&u);
}

bool rt_report(bool pass, const char *file, unsigned int line,
	       const char *fmt, ...)
{
	struct mcefwd_ucall u;
	struct mcefwd_report *r = &u.u.report;
	const char *base = file;
	va_list ap;

	rt_ucall_init(&u, MCEFWD_UCALL_REPORT, sizeof(*r));
	r->pass = pass;
	r->line = line;
	for (; *file; file++)
		if (*file == '/')
			base = file + 1;
	rt_snprintf(r->file, sizeof(r->file), "%s", base);
	va_start(ap, fmt);
	rt_vsnprintf(r->cond, sizeof(r->cond), fmt, ap);
	va_end(ap);
	rt_ucall(&u);
	return pass;
}

void rt_start(unsigned int id, unsigned int nr, uint64_t mcg_cap)
{
	unsigned int slot = rt_stack_slot();
	struct rt_cpu *self = &rt_cpus[slot];

	self->id = id;
	self->nr = nr;
	self->mcg_cap = mcg_cap;

	/* Under QEMU the -cpu model decides the vendor, and with it QEMU's encoding. */
	if (rt_qemu) {
		struct rt_cpuid v = cpuid(0, 0);
		struct mcefwd_ucall u;

		rt_ucall_init(&u, MCEFWD_UCALL_VALUE, 0);
		u.value[0] = MCEFWD_VALUE_VENDOR;
		u.value[1] = v.ebx | (uint64_t)v.edx << 32;
		u.value[2] = v.ecx;
		u.value[3] = cpuid(1, 0).eax;
		rt_ucall(&u);
	}
	rt_idt_init();
	if (rt_qemu)
		rt_qemu_cpu_init();
	/* Without CR4.MCE an injected #MC is a shutdown, not an exception. */
	write_cr4(read_cr4() | X86_CR4_MCE);

	if (slot != id || id >= nr || nr > MCEFWD_MAX_VCPUS) {
		rt_printf("rt_start: vCPU id %u of %u entered on the stack of vCPU %u",
			  id, nr, slot);
		rt_exit(RT_EXIT_BUG);
	}

	rt_exit(guest_main(id, nr));
}
