// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ucalls under QEMU (abi.h, "Under QEMU"): a record goes out as one line
 * of hex on the console port, and the answers to READY and WAIT come back
 * as a line on COM1, which the runtime turns into the asking vCPU's mailbox.
 * With more than one vCPU, vCPU 0 starts the others here first.
 */
#include "rt.h"

/* Set by the PVH entry (pvh.S); 0 under mcefwd, which enters at _start. */
unsigned int rt_qemu;
/* The vCPUs the host started QEMU with, and how many of the others have exited. */
unsigned int rt_qemu_nr = 1;
static unsigned int rt_qemu_exited;

#define COM1_LSR	(MCEFWD_PORT_COM1 + 5)
#define LSR_DR		0x01	/* a received byte is waiting */

/* ---- starting the other vCPUs ---- */

/* xen/include/public/arch-x86/hvm/start_info.h: struct hvm_start_info. */
#define PVH_START_MAGIC		0x336ec578
#define PVH_CMDLINE_OFFSET	24

#define MSR_APIC_BASE		0x1b
#define APIC_BASE_EN		(1u << 11)
#define APIC_BASE_EXTD		(1u << 10)	/* x2APIC mode */
#define MSR_X2APIC_ICR		0x830
/* ICR: destination shorthand "all excluding self", level assert, delivery mode. */
#define ICR_ALL_BUT_SELF	(3u << 18)
#define ICR_ASSERT		(1u << 14)
#define ICR_INIT		(5u << 8)
#define ICR_STARTUP		(6u << 8)
#define CPUID1_ECX_X2APIC	(1u << 21)

extern const char rt_ap_trampoline[], rt_ap_trampoline_end[];

/* The N of "mcefwd.vcpus=N" on the kernel command line; 1 if it is not there. */
static unsigned int rt_qemu_cmdline_vcpus(void)
{
	const uint32_t *info = (const uint32_t *)(uintptr_t)rt_pvh_start_info;
	const char *p, *key = MCEFWD_QEMU_VCPUS;
	size_t klen = strlen(key);
	unsigned int n = 0;
	uint64_t cmdline;

	if (!info || info[0] != PVH_START_MAGIC)
		return 1;
	memcpy(&cmdline, (const char *)info + PVH_CMDLINE_OFFSET, sizeof(cmdline));
	if (!cmdline || cmdline >= MCEFWD_GPA_TEST)
		return 1;
	for (p = (const char *)(uintptr_t)cmdline; *p; p++) {
		if ((p == (const char *)(uintptr_t)cmdline || p[-1] == ' ') &&
		    !memcmp(p, key, klen)) {
			for (p += klen; *p >= '0' && *p <= '9'; p++)
				n = n * 10 + (unsigned int)(*p - '0');
			return n ? n : 1;
		}
	}
	return 1;
}

/* A short wait that costs QEMU nothing: no exit to it. */
static void rt_qemu_delay(void)
{
	for (unsigned int i = 0; i < 10000; i++)
		pause();
}

/*
 * This vCPU's APIC in x2APIC mode, its registers MSRs; false if the CPU has
 * none (KVM offers it to every model, and QEMU turns it on under KVM).
 */
static bool rt_qemu_x2apic_on(void)
{
	if (!(cpuid(1, 0).ecx & CPUID1_ECX_X2APIC))
		return false;
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_EN | APIC_BASE_EXTD);
	return true;
}

/* ---- napping ---- */

#define MSR_X2APIC_EOI		0x80b	/* pvh.S rt_qemu_tick writes it */
#define MSR_X2APIC_SVR		0x80f
#define SVR_APIC_ENABLED	(1u << 8)
#define SVR_SPURIOUS		0xff
#define MSR_X2APIC_LVT_TIMER	0x832
#define LVT_TIMER_PERIODIC	(1u << 17)	/* SDM vol. 3 "LVT": timer mode 01b */
#define MSR_X2APIC_TIMER_ICR	0x838	/* 0 stops the timer, in either mode */
#define MSR_X2APIC_TIMER_DCR	0x83e
#define TIMER_DIVIDE_BY_1	0xb
/*
 * KVM's APIC timer counts at 1 GHz (lapic.c APIC_BUS_CYCLE_NS 1): 10 ms. A
 * shorter nap costs more than it saves where every wake-up is emulated.
 */
#define RT_QEMU_NAP_COUNT	10000000

static uint8_t rt_qemu_napping[MCEFWD_MAX_VCPUS];
/* A nap of this vCPU's under way: the one that owns the timer. */
static uint8_t rt_qemu_in_nap[MCEFWD_MAX_VCPUS];

void rt_qemu_cpu_init(void)
{
	if (!rt_qemu_x2apic_on())
		return;
	wrmsr(MSR_X2APIC_SVR, SVR_APIC_ENABLED | SVR_SPURIOUS);
	wrmsr(MSR_X2APIC_TIMER_DCR, TIMER_DIVIDE_BY_1);
	wrmsr(MSR_X2APIC_LVT_TIMER, RT_VEC_TICK | LVT_TIMER_PERIODIC);
	rt_qemu_napping[rt_vcpu_id()] = 1;
}

/*
 * Halts until the next tick, at most 10 ms. A #MC may come anywhere in a
 * nap, and its handler may nap too (waiting for the console): only the
 * outermost nap uses the timer, a nested one spins. A nested one that armed
 * the timer again and took its tick would leave the outer hlt with none;
 * and a #MC taken in the tick's own handler, before its EOI, halts with the
 * tick's vector in service, where no further tick is delivered (SDM vol. 3
 * "Interrupt, Task, and Processor Priority"): that halt would never end.
 * The timer is periodic while the nap lasts: a #MC in sti's shadow returns
 * with interrupts on, a tick may be taken there before the hlt, and the
 * next one still ends it.
 */
void rt_qemu_nap(void)
{
	unsigned int self = rt_vcpu_id();

	if (!rt_qemu_napping[self] || READ_ONCE(rt_qemu_in_nap[self])) {
		rt_qemu_delay();
		return;
	}
	WRITE_ONCE(rt_qemu_in_nap[self], 1);
	wrmsr(MSR_X2APIC_TIMER_ICR, RT_QEMU_NAP_COUNT);
	asm volatile("sti; hlt; cli" ::: "memory");
	wrmsr(MSR_X2APIC_TIMER_ICR, 0);
	WRITE_ONCE(rt_qemu_in_nap[self], 0);
}

unsigned int rt_qemu_smp_boot(void)
{
	unsigned int nr = rt_qemu_cmdline_vcpus();

	if (nr > MCEFWD_MAX_VCPUS) {
		rt_printf("rt: the host asks for %u vCPUs, at most %u have a stack", nr,
			  MCEFWD_MAX_VCPUS);
		rt_exit(RT_EXIT_BUG);
	}
	rt_qemu_nr = nr;
	if (nr == 1)
		return 1;
	if (!rt_qemu_x2apic_on()) {
		rt_printf("rt: %u vCPUs to start, but this CPU has no x2APIC", nr);
		rt_exit(RT_EXIT_BUG);
	}
	memcpy((void *)MCEFWD_GPA_TRAMPOLINE, rt_ap_trampoline,
	       (size_t)(rt_ap_trampoline_end - rt_ap_trampoline));
	/* INIT, then SIPI twice, as the MP specification has it. */
	wrmsr(MSR_X2APIC_ICR, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_INIT);
	rt_qemu_delay();
	for (int i = 0; i < 2; i++) {
		wrmsr(MSR_X2APIC_ICR, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_STARTUP |
				      (uint32_t)(MCEFWD_GPA_TRAMPOLINE >> 12));
		rt_qemu_delay();
	}
	return nr;
}

/* ---- the exit ---- */

void rt_qemu_exit(int code)
{
	/* The exit port ends QEMU: the others say theirs and park; vCPU 0 goes last. */
	if (rt_vcpu_id() != 0) {
		__atomic_add_fetch(&rt_qemu_exited, 1, __ATOMIC_RELEASE);
		for (;;) {
			cli();
			hlt();
		}
	}
	/* A failure ends the run at once: the host names who had not exited. */
	if (code == 0)
		while (__atomic_load_n(&rt_qemu_exited, __ATOMIC_ACQUIRE) < rt_qemu_nr - 1)
			rt_qemu_nap();
}

/* ---- lines out ---- */

/*
 * One line at a time on the console: the owner's id + 1 above 8 bits, its
 * depth below, in one word, so that a #MC handler interrupting its own
 * vCPU's line (which the host expects, abi.h) nests, and leaves the word as
 * it found it, whichever instruction it interrupted.
 */
static uint32_t rt_qemu_tx;

static void rt_qemu_tx_lock(void)
{
	uint32_t mine = (rt_vcpu_id() + 1) << 8;

	for (;;) {
		uint32_t w = __atomic_load_n(&rt_qemu_tx, __ATOMIC_ACQUIRE);

		if ((w & ~0xffu) == mine || !w) {
			if (__atomic_compare_exchange_n(&rt_qemu_tx, &w, w ? w + 1 : mine | 1, false,
							__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				return;
			continue;
		}
		rt_qemu_nap();
	}
}

static void rt_qemu_tx_unlock(void)
{
	uint32_t w = __atomic_load_n(&rt_qemu_tx, __ATOMIC_RELAXED);

	while (!__atomic_compare_exchange_n(&rt_qemu_tx, &w, (w & 0xff) == 1 ? 0 : w - 1, false,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

/*
 * rep outsb: KVM hands a whole string to QEMU in one exit where it can,
 * which matters where every exit is emulated (the lab).
 */
static void rt_qemu_write(const char *s, size_t n)
{
	asm volatile("rep outsb" : "+S"(s), "+c"(n) : "d"((uint16_t)MCEFWD_PORT_CONSOLE)
		     : "memory");
}

void rt_qemu_send(const struct mcefwd_ucall *u)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *b = (const uint8_t *)u;
	size_t n = sizeof(*u), i = 0;
	char buf[130];
	size_t used = 0;

	/* Trailing zero bytes stay behind: the host zero-fills. */
	while (n > offsetof(struct mcefwd_ucall, value) && !b[n - 1])
		n--;
	rt_qemu_tx_lock();
	buf[used++] = '@';
	buf[used++] = MCEFWD_QEMU_LINE;
	for (; i < n; i++) {
		buf[used++] = hex[b[i] >> 4];
		buf[used++] = hex[b[i] & 15];
		if (used >= sizeof(buf) - 2) {
			rt_qemu_write(buf, used);
			used = 0;
		}
	}
	buf[used++] = '\n';
	rt_qemu_write(buf, used);
	rt_qemu_tx_unlock();
}

/* ---- answers in ---- */

/* Who reads COM1 now (id + 1), and the answers read for each vCPU. */
static uint32_t rt_qemu_rx;
static uint8_t rt_qemu_answered[MCEFWD_MAX_VCPUS];

static char rt_qemu_getc(void)
{
	while (!(inb(COM1_LSR) & LSR_DR))
		pause();
	return (char)inb(MCEFWD_PORT_COM1);
}

static uint64_t rt_qemu_number(const char **p)
{
	uint64_t v = 0;

	while (**p == ' ')
		(*p)++;
	while (**p >= '0' && **p <= '9')
		v = v * 10 + (uint64_t)(*(*p)++ - '0');
	return v;
}

/* Reads one "A VCPU DONE DELIVERED" line into that vCPU's mailbox; anything else is reported. */
static void rt_qemu_read_answer(void)
{
	volatile struct mcefwd_mailbox *mb;
	char line[64];
	const char *p = line + 1;
	size_t n = 0;
	uint64_t vcpu;
	char c;

	while ((c = rt_qemu_getc()) != '\n')
		if (n < sizeof(line) - 1)
			line[n++] = c;
	line[n] = '\0';
	vcpu = rt_qemu_number(&p);
	if (line[0] != 'A' || vcpu >= rt_qemu_nr) {
		rt_printf("rt: the host's answer is not an ack: '%s'", line);
		return;
	}
	mb = rt_mailbox_of((unsigned int)vcpu);
	mb->events_done = rt_qemu_number(&p);
	mb->events_delivered = rt_qemu_number(&p);
	__atomic_store_n(&rt_qemu_answered[vcpu], 1, __ATOMIC_RELEASE);
}

static bool rt_qemu_answered_to(unsigned int vcpu)
{
	return __atomic_load_n(&rt_qemu_answered[vcpu], __ATOMIC_ACQUIRE);
}

/*
 * Waits for the host's answer to this vCPU's READY or WAIT. One vCPU at a
 * time reads COM1, every answer there for whichever vCPU it is, until its
 * own has come; the others nap. Between two looks at the line status the
 * reader naps too: each look is an exit QEMU serves under its big lock,
 * and spinning vCPUs take the CPU from QEMU and the injector (in the lab,
 * one emulated CPU for all of them).
 */
void rt_qemu_ack(void)
{
	unsigned int self = rt_vcpu_id();
	uint32_t mine = self + 1;

	while (!rt_qemu_answered_to(self)) {
		uint32_t free = 0;

		if (!__atomic_compare_exchange_n(&rt_qemu_rx, &free, mine, false, __ATOMIC_ACQUIRE,
						 __ATOMIC_RELAXED)) {
			rt_qemu_nap();
			continue;
		}
		while (!rt_qemu_answered_to(self)) {
			if (inb(COM1_LSR) & LSR_DR)
				rt_qemu_read_answer();
			else
				rt_qemu_nap();
		}
		__atomic_store_n(&rt_qemu_rx, 0, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&rt_qemu_answered[self], 0, __ATOMIC_RELAXED);
}
