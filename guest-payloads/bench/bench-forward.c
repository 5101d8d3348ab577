// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest of `mcefwd bench forward` and `mcefwd bench storm`. The #MC
 * gate points at a bare entry of its own instead of the runtime's stub and
 * C handler, so what is timed is the forwarding, not twenty emulated
 * pushes:
 *
 * forward: ask for one error (an ARM ucall), take its #MC; the entry's first
 * instruction is rdtsc, stored for the host, which compares it with its own
 * TSC when it re-entered KVM_RUN with the #MC queued.
 * storm: exit over and over (TICK ucalls) while the host keeps errors
 * coming; the entry counts each #MC and stamps it into a ring.
 *
 * Both entries clear MCG_STATUS.MCIP, so the host may inject the next, and
 * leave the bank as it is (the next error sets OVER; no one reads it).
 * Without parameters from the host there is nothing to measure: exit 0.
 */
#include "rt.h"
#include "bench-abi.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define RES(off) STR(BENCH_GPA_RESULTS) " + " STR(off)

void bench_mc_forward(void);
void bench_mc_storm(void);

/*
 * rdtsc first; RAX and RDX belong to no one at that point (the ARM out
 * below clobbers them by contract), RCX is saved for wrmsr.
 */
asm(".pushsection .text\n"
    ".globl bench_mc_forward\n"
    ".type bench_mc_forward, @function\n"
    "bench_mc_forward:\n"
    "	rdtsc\n"
    "	movl	%eax, " RES(BENCH_RES_MC_TSC) "\n"
    "	movl	%edx, " RES(BENCH_RES_MC_TSC) " + 4\n"
    "	pushq	%rcx\n"
    "	xorl	%eax, %eax\n"
    "	xorl	%edx, %edx\n"
    "	movl	$" STR(MCEFWD_MSR_IA32_MCG_STATUS) ", %ecx\n"
    "	wrmsr\n"
    "	popq	%rcx\n"
    "	incq	" RES(BENCH_RES_MC_COUNT) "\n"
    "	iretq\n"
    ".size bench_mc_forward, . - bench_mc_forward\n"
    ".globl bench_mc_storm\n"
    ".type bench_mc_storm, @function\n"
    "bench_mc_storm:\n"
    "	pushq	%rax\n"
    "	pushq	%rcx\n"
    "	pushq	%rdx\n"
    "	rdtsc\n"
    "	shlq	$32, %rdx\n"
    "	orq	%rdx, %rax\n"
    "	movq	" RES(BENCH_RES_MC_COUNT) ", %rcx\n"
    "	andl	$" STR(BENCH_MAX_SAMPLES) " - 1, %ecx\n"
    "	movq	%rax, " RES(BENCH_RES_SAMPLE) "(,%rcx,8)\n"
    "	incq	" RES(BENCH_RES_MC_COUNT) "\n"
    "	xorl	%eax, %eax\n"
    "	xorl	%edx, %edx\n"
    "	movl	$" STR(MCEFWD_MSR_IA32_MCG_STATUS) ", %ecx\n"
    "	wrmsr\n"
    "	popq	%rdx\n"
    "	popq	%rcx\n"
    "	popq	%rax\n"
    "	iretq\n"
    ".size bench_mc_storm, . - bench_mc_storm\n"
    ".popsection");

static struct mcefwd_ucall bench_arm_ucall = {
	.magic = MCEFWD_UCALL_MAGIC,
	.type = MCEFWD_UCALL_VALUE,
	.value = { BENCH_KEY_ARM },
};
static struct mcefwd_ucall bench_tick_ucall = {
	.magic = MCEFWD_UCALL_MAGIC,
	.type = MCEFWD_UCALL_VALUE,
	.value = { BENCH_KEY_TICK },
};

/* The #MC lands right after this out: RAX and RDX are given up to its entry. */
static void bench_arm(void)
{
	uint32_t a = (uint32_t)(uintptr_t)&bench_arm_ucall;
	uint32_t d = MCEFWD_PORT_UCALL;

	asm volatile("outl %%eax, %%dx" : "+a"(a), "+d"(d) : : "memory");
}

static void bench_tick(void)
{
	outl(MCEFWD_PORT_UCALL, (uint32_t)(uintptr_t)&bench_tick_ucall);
}

/* Points vector at entry, in the IDT the runtime loaded (shared by all vCPUs). */
static void bench_set_gate(unsigned int vector, void (*entry)(void))
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr;
	uint64_t off = (uint64_t)(uintptr_t)entry;
	volatile uint32_t *gate;

	asm volatile("sidt %0" : "=m"(idtr));
	gate = (volatile uint32_t *)(uintptr_t)(idtr.base + 16 * vector);
	/* Present, DPL 0, 64-bit interrupt gate, no IST, the runtime's code selector. */
	gate[0] = (uint32_t)(off & 0xffff) | (MCEFWD_SEL_CODE << 16);
	gate[1] = (uint32_t)(off & 0xffff0000) | 0x8e00;
	gate[2] = (uint32_t)(off >> 32);
	gate[3] = 0;
}

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	volatile struct bench_params *p = (volatile struct bench_params *)BENCH_GPA_PARAMS;
	volatile struct bench_results *res = (volatile struct bench_results *)BENCH_GPA_RESULTS;
	uint64_t r, spins;

	(void)nr_vcpus;
	if (vcpu != 0 || p->magic != BENCH_MAGIC)
		return 0;
	/* MCG_CTL and every MCi_CTL all ones, or KVM drops the errors. */
	rt_mce_install();
	if (p->mode == BENCH_MODE_STORM) {
		bench_set_gate(X86_VEC_MC, bench_mc_storm);
		while (!p->stop)
			bench_tick();
		return 0;
	}
	if (p->mode != BENCH_MODE_FORWARD || p->rounds > BENCH_MAX_SAMPLES)
		return 1;
	bench_set_gate(X86_VEC_MC, bench_mc_forward);
	for (r = 0; r < p->rounds; r++) {
		bench_arm();
		/* Taken before the instruction after the out; if not, let the host look. */
		for (spins = 0; res->mc_count <= r; spins++) {
			if (spins == 1000) {
				bench_tick();
				spins = 0;
			}
		}
		res->sample[r] = res->mc_tsc;
		res->rounds_done = r + 1;
	}
	return 0;
}
