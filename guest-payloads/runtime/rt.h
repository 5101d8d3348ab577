/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The freestanding guest runtime: what every payload links against.
 *
 * A payload defines guest_main(); the runtime has already loaded the IDT and
 * set CR4.MCE on this vCPU when it is called, and passes its return value to
 * rt_exit() (0 means this vCPU passed).
 *
 * Everything here runs identity mapped (gva == gpa), with interrupts off,
 * on the vCPU's own stack inside MCEFWD_GPA_STACKS.
 */
#ifndef MCEFWD_RT_H
#define MCEFWD_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"

/* ---- Payload entry and vCPU identity ------------------------------------ */

int guest_main(unsigned int vcpu, unsigned int nr_vcpus);

/* Exit codes besides guest_main()'s own; all but 0 fail the vCPU. */
#define RT_EXIT_BUG		0x7f	/* runtime misuse or inconsistent entry state */
#define RT_EXIT_EXCEPTION(v)	(0x80 + (v))	/* unexpected exception vector v */

unsigned int rt_vcpu_id(void);
unsigned int rt_nr_vcpus(void);
/* MCG_CAP as KVM stored it (the host reads it back after KVM_X86_SETUP_MCE: kvm_amd keeps bits 8:0), passed in RDX */
uint64_t rt_mcg_cap(void);

__attribute__((noreturn)) void rt_exit(int code);

/* ---- Ucalls ------------------------------------------------------------- */

/* Nonzero when the payload booted under QEMU (pvh.S): ucalls go as text (qemu.c). */
extern unsigned int rt_qemu;
/* The vCPUs QEMU runs (1 until vCPU 0 has read the command line). */
extern unsigned int rt_qemu_nr;
/* The PVH start info QEMU passed in EBX (pvh.S). */
extern uint32_t rt_pvh_start_info;
void rt_qemu_send(const struct mcefwd_ucall *u);
/* Waits for the host's answer to this vCPU's READY or WAIT and fills its mailbox from it. */
void rt_qemu_ack(void);
/* vCPU 0, from the PVH entry: starts the others; returns how many vCPUs there are. */
unsigned int rt_qemu_smp_boot(void);
/* After UCALL_EXIT: the others park, vCPU 0 returns (to write the exit port) once they have. */
void rt_qemu_exit(int code);
/* Each vCPU under QEMU, at start: its x2APIC timer, so that it can nap. */
void rt_qemu_cpu_init(void);
/*
 * Under QEMU, instead of spinning: halts until the APIC timer's next tick
 * (10 ms) or a #MC, so a waiting vCPU leaves the CPU to the others
 * and to QEMU. Interrupts are on only inside.
 */
void rt_qemu_nap(void);
/* The APIC timer's vector under QEMU; its gate only ends the interrupt (pvh.S rt_qemu_tick). */
#define RT_VEC_TICK		32

void rt_ucall(struct mcefwd_ucall *u);
void rt_hello(void);
void rt_value(uint64_t key, uint64_t value);

/*
 * Waits until all rt_nr_vcpus() vCPUs have called it; reusable. Spins (with
 * pause), so keep waits short: every vCPU must get there, none may exit first.
 */
void rt_barrier(void);

/*
 * MCEFWD_UCALL_READY: ask the host to poison @count pages from @gpa as
 * @kind (MCEFWD_READY_AR or _AO); it has acted when this returns.
 * rt_ready(step) is the bare request, rt_poison(step, 0, 0, 0).
 */
void rt_poison(uint64_t step, uint64_t gpa, unsigned int kind,
	       unsigned int count);
void rt_ready(uint64_t step);

/*
 * This vCPU's mailbox, written by the host only. rt_wait_events(n) halts
 * until the host has finished n MCE events for this vCPU, injected or not;
 * an injected #MC is handled at the entry that ends the halt, so
 * rt_mce_count() is up to date when it returns.
 */
volatile struct mcefwd_mailbox *rt_mailbox(void);
/* vCPU id's mailbox, to see what the host did for another vCPU. */
volatile struct mcefwd_mailbox *rt_mailbox_of(unsigned int vcpu);
void rt_wait_events(uint64_t n);

/* One MCEFWD_UCALL_PRINT; truncated to MCEFWD_TEXT_MAX - 1, one trailing '\n' dropped. */
__attribute__((format(printf, 1, 2))) void rt_printf(const char *fmt, ...);

/*
 * Formatting: %d %i %u %x %X %p %s %c %%, flags '-' '0' '#', a width (or *),
 * a precision for %s, and the hh/h/l/ll/z length modifiers. Returns the length
 * the whole output would have; always terminates buf when size > 0.
 */
__attribute__((format(printf, 3, 0)))
int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
__attribute__((format(printf, 3, 4)))
int rt_snprintf(char *buf, size_t size, const char *fmt, ...);

/*
 * report(cond) or report(cond, "fmt", ...): one MCEFWD_UCALL_REPORT with the
 * result, this file and line, and the message (or the condition's text when
 * no message is given). Evaluates cond once and returns it as a bool.
 */
__attribute__((format(printf, 4, 5)))
bool rt_report(bool pass, const char *file, unsigned int line,
	       const char *fmt, ...);

/*
 * __VA_OPT__ picks the branch: with a message, the first call survives and
 * RT_EAT swallows the second; without one, only the parenthesised second
 * call is left.
 */
#define RT_EAT(...)
#define report(cond, ...)						\
	__VA_OPT__(rt_report(!!(cond), __FILE__, __LINE__, __VA_ARGS__) RT_EAT) \
	(rt_report(!!(cond), __FILE__, __LINE__, "%s", #cond))

/* ---- Exceptions --------------------------------------------------------- */

/*
 * What the vector stubs push, lowest address first. A handler may change any
 * field (rip to skip an instruction, a register); the stub restores them all
 * and returns with iretq. vectors.S depends on this layout.
 */
struct rt_frame {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector;
	uint64_t error_code;		/* 0 for vectors without one */
	/* pushed by the CPU */
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*rt_handler_t)(struct rt_frame *frame);

#define RT_NR_VECTORS		32

#define X86_VEC_DE		0
#define X86_VEC_DB		1
#define X86_VEC_BP		3
#define X86_VEC_UD		6
#define X86_VEC_DF		8
#define X86_VEC_GP		13
#define X86_VEC_PF		14
#define X86_VEC_MC		MCEFWD_VECTOR_MC

/*
 * The IDT and its handler table are shared by all vCPUs: a handler set on
 * one vCPU applies to all. fn == NULL makes the vector unexpected again.
 */
void rt_set_handler(unsigned int vector, rt_handler_t fn);

/* Called by entry.S and vectors.S only. */
__attribute__((noreturn)) void rt_start(unsigned int id, unsigned int nr,
					uint64_t mcg_cap);
void rt_exception(struct rt_frame *frame);
void rt_idt_init(void);

/* ---- Machine checks ----------------------------------------------------- */

/*
 * rt_mce_install() sets the #MC handler: it sends one MCEFWD_UCALL_MCE per
 * #MC with everything read before clearing, clears the banks, retires a
 * poisoned test page to a spare one, clears MCG_STATUS and resumes.
 * rt_mce_count() is the number of #MCs this vCPU has fully handled; wait for
 * one with: while (rt_mce_count() < n) hlt();
 */
void rt_mce_install(void);
/*
 * rt_mce_install(), then rt_barrier(): every vCPU must call it. Once it
 * returns, every vCPU's handler is in place, so an error raised then,
 * and the bank-1 broadcast it gives the others on Intel, finds no vCPU
 * still booting without one (which shuts that vCPU down, as hardware
 * does). Single-vCPU guests call it too: --vcpus may give them more.
 */
void rt_mce_install_all(void);
uint64_t rt_mce_count(void);
/* Another vCPU's count of #MCs fully handled (it may still be running). */
uint64_t rt_mce_count_of(unsigned int vcpu);
/*
 * Polls the banks as an OS does for errors that raise no #MC (corrected or
 * deferred: KVM only logs an error without MCi_STATUS.UC): reports any valid
 * bank as a record with seq 0, clears it and retires its page. Returns the
 * number of valid banks found.
 */
unsigned int rt_mce_poll(void);
/*
 * After an action-optional error: polls if no #MC came (AMD's deferred AO
 * raises none) and reports whether the #MCs taken and the banks found
 * match what the host says it injected into this vCPU.
 */
void rt_mce_report_delivered(void);
/* Spare test pages handed out so far (all vCPUs), from the top down. */
unsigned int rt_mce_spares_used(void);
/* MCG_STATUS as this vCPU's #MC handler last read it; 0 before any #MC. */
uint64_t rt_mce_last_mcg_status(void);

/*
 * What this vCPU's #MC handler leaves undone, to provoke what an OS would
 * avoid; the record is sent and the page retired either way. KEEP_MCIP
 * leaves MCG_STATUS.MCIP set, so the next #MC shuts the vCPU down.
 * KEEP_BANKS leaves MCi_STATUS valid, so the next error in that bank
 * overflows. 0 (the default) clears both. LOG_AO retires no page for an
 * action-optional error, as an OS without SRAO handling only logs it: the
 * page's next access then takes the action-required one.
 */
#define RT_MCE_KEEP_MCIP	(1U << 0)
#define RT_MCE_KEEP_BANKS	(1U << 1)
#define RT_MCE_LOG_AO		(1U << 2)
void rt_mce_set_mode(unsigned int flags);

/* Poison targets are taken from the bottom of the test pages, spares from the top. */
static inline uint64_t rt_test_page(unsigned int i)
{
	return MCEFWD_GPA_TEST + i * MCEFWD_PAGE_SIZE;
}

/* The gpa test page i's gva maps to now: rt_test_page(i) until retired. */
uint64_t rt_test_page_backing(unsigned int i);

/*
 * Write a pattern to test page i: a page the host poisons must be present,
 * and the pattern tells the original from a spare.
 */
#define RT_TEST_PATTERN		0x6d63656677640000ULL
static inline void rt_test_page_touch(unsigned int i)
{
	*(volatile uint64_t *)rt_test_page(i) = RT_TEST_PATTERN + i;
}

/*
 * Defines uint64_t load(const volatile void *p), a single movq from p at
 * the global symbol @load, with the global symbol @after right behind it,
 * so the host can match an #MC's RIP against nm. Top-level asm, so the
 * compiler can neither duplicate the labels nor move the load. Name it
 * NAME_load or NAME_loadN: the scenario table calls an #MC at a symbol so
 * named "the faulting load" (scn_rip_words in mcefwd/scenario.c).
 */
#define RT_DEFINE_LOAD(load, after)					\
	uint64_t load(const volatile void *p);				\
	asm(".pushsection .text\n"					\
	    ".globl " #load "\n"					\
	    ".globl " #after "\n"					\
	    ".type " #load ", @function\n"				\
	    #load ":\n"							\
	    "	movq (%rdi), %rax\n"					\
	    #after ":\n"						\
	    "	ret\n"							\
	    ".size " #load ", . - " #load "\n"			\
	    ".popsection")

#define MCG_CAP_COUNT_MASK	0xffULL
#define MCG_CAP_CTL_P		(1ULL << 8)
#define MCG_CAP_LMCE_P		(1ULL << 27)
#define MCG_STATUS_RIPV		(1ULL << 0)
#define MCG_STATUS_EIPV		(1ULL << 1)
#define MCG_STATUS_MCIP		(1ULL << 2)
#define MCG_STATUS_LMCE		(1ULL << 3)
#define MCI_STATUS_VAL		(1ULL << 63)
#define MCI_STATUS_OVER		(1ULL << 62)
#define MCI_STATUS_UC		(1ULL << 61)
#define MCI_STATUS_EN		(1ULL << 60)
#define MCI_STATUS_MISCV	(1ULL << 59)
#define MCI_STATUS_ADDRV	(1ULL << 58)
#define MCI_STATUS_PCC		(1ULL << 57)
#define MCI_STATUS_S		(1ULL << 56)
#define MCI_STATUS_AR		(1ULL << 55)

static inline uint32_t rt_msr_mc_ctl(unsigned int bank)
{
	return MCEFWD_MSR_IA32_MC0_CTL + 4 * bank;
}

static inline uint32_t rt_msr_mc_status(unsigned int bank)
{
	return MCEFWD_MSR_IA32_MC0_CTL + 4 * bank + 1;
}

static inline uint32_t rt_msr_mc_addr(unsigned int bank)
{
	return MCEFWD_MSR_IA32_MC0_CTL + 4 * bank + 2;
}

static inline uint32_t rt_msr_mc_misc(unsigned int bank)
{
	return MCEFWD_MSR_IA32_MC0_CTL + 4 * bank + 3;
}

/* ---- Memory and strings (string.c; gcc may call these on its own) ------- */

void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);

/* ---- x86 instructions --------------------------------------------------- */

#define X86_CR0_PG		(1UL << 31)
#define X86_CR4_PAE		(1UL << 5)
#define X86_CR4_MCE		(1UL << 6)
#define X86_RFLAGS_IF		(1UL << 9)
#define X86_CPUID1_EDX_MCE	(1U << 7)
#define X86_CPUID1_EDX_MCA	(1U << 14)

#define X86_PTE_ADDR_MASK	0x000ffffffffff000ULL

#define barrier()		asm volatile("" ::: "memory")
#define READ_ONCE(x)		(*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v)	(*(volatile __typeof__(x) *)&(x) = (v))

struct rt_cpuid {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct rt_cpuid cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct rt_cpuid r;

	asm volatile("cpuid"
		     : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
		     : "a"(leaf), "c"(subleaf));
	return r;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return lo | (uint64_t)hi << 32;
}

static inline void wrmsr(uint32_t msr, uint64_t val)
{
	asm volatile("wrmsr"
		     : : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
		     : "memory");
}

static inline uint64_t read_cr0(void)
{
	uint64_t v;

	asm volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline void write_cr0(uint64_t v)
{
	asm volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static inline uint64_t read_cr2(void)
{
	uint64_t v;

	asm volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline void write_cr2(uint64_t v)
{
	asm volatile("mov %0, %%cr2" : : "r"(v) : "memory");
}

static inline uint64_t read_cr3(void)
{
	uint64_t v;

	asm volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline void write_cr3(uint64_t v)
{
	asm volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline uint64_t read_cr4(void)
{
	uint64_t v;

	asm volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline void write_cr4(uint64_t v)
{
	asm volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static inline void invlpg(const volatile void *va)
{
	asm volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline void outb(uint16_t port, uint8_t val)
{
	asm volatile("outb %0, %1" : : "a"(val), "Nd"(port) : "memory");
}

/* The "memory" clobber makes a ucall record complete before the host reads it. */
static inline void outl(uint16_t port, uint32_t val)
{
	asm volatile("outl %0, %1" : : "a"(val), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t val;

	asm volatile("inb %1, %0" : "=a"(val) : "Nd"(port) : "memory");
	return val;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t val;

	asm volatile("inl %1, %0" : "=a"(val) : "Nd"(port) : "memory");
	return val;
}

static inline void cli(void)
{
	asm volatile("cli" ::: "memory");
}

static inline void sti(void)
{
	asm volatile("sti" ::: "memory");
}

/* "memory": a #MC taken across the halt may have changed what we wait on. */
static inline void hlt(void)
{
	asm volatile("hlt" ::: "memory");
}

static inline void pause(void)
{
	asm volatile("pause" ::: "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | (uint64_t)hi << 32;
}

#endif /* MCEFWD_RT_H */
