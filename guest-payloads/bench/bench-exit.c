// SPDX-License-Identifier: GPL-2.0-only
/*
 * The exit loop of `mcefwd bench exit` and `mcefwd bench qemu`: rounds of
 * `outl` to the ucall port, unrolled by 16, timed with rdtsc around each
 * round. The same bytes run under mcefwd's run loop, under a bare KVM_RUN
 * loop and, entered at bench_pvh_entry, as a PVH kernel in QEMU microvm,
 * where nothing serves the port and the round's cycles are printed on the
 * debug console (port 0xe9) instead.
 */
#include "rt.h"
#include "bench-abi.h"

#define DEFAULT_ROUNDS	2
#define DEFAULT_ITERS	32

/* What the loop sends: a VALUE ucall the host does nothing with. */
static struct mcefwd_ucall bench_loop_ucall = {
	.magic = MCEFWD_UCALL_MAGIC,
	.type = MCEFWD_UCALL_VALUE,
	.vcpu = 0,
	.value = { BENCH_KEY_LOOP },
};

/*
 * iters exits, 16 outs per pass: the dec/jnz is 1/8 of an instruction per
 * exit, which matters where every guest instruction is emulated.
 */
static uint64_t bench_round(uint64_t iters)
{
	uint64_t n = iters / 16, t0, t1;
	uint32_t val = (uint32_t)(uintptr_t)&bench_loop_ucall;

	t0 = rdtsc();
	asm volatile("1:\n\t"
		     ".rept 16\n\t"
		     "outl %%eax, %%dx\n\t"
		     ".endr\n\t"
		     "dec %%rcx\n\t"
		     "jnz 1b"
		     : "+c"(n)
		     : "a"(val), "d"((uint16_t)MCEFWD_PORT_UCALL)
		     : "memory");
	t1 = rdtsc();
	return t1 - t0;
}

/* The round's marks: static records, so a mark costs the guest one store and an out. */
static struct mcefwd_ucall bench_start_ucall = {
	.magic = MCEFWD_UCALL_MAGIC,
	.type = MCEFWD_UCALL_VALUE,
	.value = { BENCH_KEY_START },
};
static struct mcefwd_ucall bench_end_ucall = {
	.magic = MCEFWD_UCALL_MAGIC,
	.type = MCEFWD_UCALL_VALUE,
	.value = { BENCH_KEY_END },
};

static void bench_send(struct mcefwd_ucall *u)
{
	outl(MCEFWD_PORT_UCALL, (uint32_t)(uintptr_t)u);
}

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	volatile struct bench_params *p = (volatile struct bench_params *)BENCH_GPA_PARAMS;
	volatile struct bench_results *res = (volatile struct bench_results *)BENCH_GPA_RESULTS;
	uint64_t rounds = DEFAULT_ROUNDS, iters = DEFAULT_ITERS, r, c;

	(void)nr_vcpus;
	if (vcpu != 0)
		return 0;
	if (p->magic == BENCH_MAGIC) {
		rounds = p->rounds;
		iters = p->iters;
	}
	if (iters < 16 || iters % 16 || rounds > BENCH_MAX_SAMPLES)
		return 1;
	for (r = 0; r < rounds; r++) {
		bench_start_ucall.value[1] = r;
		bench_send(&bench_start_ucall);
		c = bench_round(iters);
		bench_end_ucall.value[1] = r;
		bench_end_ucall.value[2] = c;
		bench_send(&bench_end_ucall);
		res->sample[r] = c;
		res->rounds_done = r + 1;
	}
	return 0;
}

/* ---- QEMU: the PVH entry, and the same rounds reported on the debug console ---- */

/* The start info QEMU's firmware passes in EBX (xen/arch-x86/hvm/start_info.h). */
struct bench_hvm_start_info {
	uint32_t magic;		/* 0x336ec578 */
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
};
#define HVM_START_MAGIC		0x336ec578

void bench_pvh_entry(void);
__attribute__((noreturn, used)) void bench_qemu_main(uint32_t start_info);

const struct bench_pvh_header bench_pvh_header __attribute__((used, aligned(8))) = {
	.magic = BENCH_PVH_MAGIC,
	.entry = (uint64_t)(uintptr_t)bench_pvh_entry,
};

/* Identity map of the first 64 MiB (2 MiB pages) and a flat 64-bit GDT. */
static uint64_t bench_pvh_pml4[512] __attribute__((aligned(4096), used));
static uint64_t bench_pvh_pdpt[512] __attribute__((aligned(4096), used));
static uint64_t bench_pvh_pd[512] __attribute__((aligned(4096), used));

/*
 * PVH entry state: 32-bit protected mode, flat segments, paging off, EBX
 * the start info. Into long mode with our own tables, onto vCPU 0's stack.
 */
asm(".pushsection .text\n"
    ".code32\n"
    ".globl bench_pvh_entry\n"
    ".type bench_pvh_entry, @function\n"
    "bench_pvh_entry:\n"
    "	cli\n"
    "	cld\n"
    "	movl	%ebx, %esi\n"
    "	movl	$bench_pvh_pd, %edi\n"
    "	movl	$0x83, %eax\n"			/* present, writable, 2 MiB */
    "	movl	$32, %ecx\n"
    "1:	movl	%eax, (%edi)\n"
    "	addl	$0x200000, %eax\n"
    "	addl	$8, %edi\n"
    "	loop	1b\n"
    "	movl	$bench_pvh_pd + 3, bench_pvh_pdpt\n"
    "	movl	$bench_pvh_pdpt + 3, bench_pvh_pml4\n"
    "	movl	$bench_pvh_pml4, %eax\n"
    "	movl	%eax, %cr3\n"
    "	movl	%cr4, %eax\n"
    "	orl	$0x20, %eax\n"			/* PAE */
    "	movl	%eax, %cr4\n"
    "	movl	$0xc0000080, %ecx\n"		/* EFER */
    "	rdmsr\n"
    "	orl	$0x100, %eax\n"			/* LME */
    "	wrmsr\n"
    "	movl	%cr0, %eax\n"
    "	orl	$0x80000001, %eax\n"		/* PG, PE */
    "	movl	%eax, %cr0\n"
    "	lgdt	bench_pvh_gdtr\n"
    "	ljmp	$0x08, $2f\n"
    ".code64\n"
    "2:	movl	$0x10, %eax\n"
    "	movl	%eax, %ds\n"
    "	movl	%eax, %es\n"
    "	movl	%eax, %ss\n"
    "	movl	%eax, %fs\n"
    "	movl	%eax, %gs\n"
    "	movq	$" "0x404000" ", %rsp\n"		/* MCEFWD_GPA_STACKS + MCEFWD_STACK_SIZE */
    "	movl	%esi, %edi\n"
    "	call	bench_qemu_main\n"
    "3:	hlt\n"
    "	jmp	3b\n"
    ".size bench_pvh_entry, . - bench_pvh_entry\n"
    ".section .rodata\n"
    ".balign 8\n"
    "bench_pvh_gdt:\n"
    "	.quad	0\n"
    "	.quad	0x00af9b000000ffff\n"		/* 0x08: 64-bit code */
    "	.quad	0x00cf93000000ffff\n"		/* 0x10: flat data */
    "bench_pvh_gdtr:\n"
    "	.word	3 * 8 - 1\n"
    "	.long	bench_pvh_gdt\n"
    ".popsection");

_Static_assert(MCEFWD_GPA_STACKS + MCEFWD_STACK_SIZE == 0x404000, "the PVH stack top above");

static void bench_putc(char c)
{
	outb(MCEFWD_PORT_CONSOLE, (uint8_t)c);
}

static void bench_puts(const char *s)
{
	while (*s)
		bench_putc(*s++);
}

static void bench_putu(uint64_t v)
{
	char d[24];
	int n = 0;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		bench_putc(d[--n]);
}

/* "ROUNDS ITERS" from the kernel command line; anything else keeps the defaults. */
static const char *bench_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	while (*s == ' ')
		s++;
	if (*s < '0' || *s > '9')
		return NULL;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (uint64_t)(*s++ - '0');
	*out = v;
	return s;
}

void bench_qemu_main(uint32_t start_info)
{
	const struct bench_hvm_start_info *si =
		(const struct bench_hvm_start_info *)(uintptr_t)start_info;
	uint64_t rounds = DEFAULT_ROUNDS, iters = DEFAULT_ITERS, r, a, b;
	const char *s;

	if (si && si->magic == HVM_START_MAGIC && si->cmdline_paddr) {
		s = (const char *)(uintptr_t)si->cmdline_paddr;
		s = bench_parse_u64(s, &a);
		if (s && bench_parse_u64(s, &b)) {
			rounds = a;
			iters = b;
		}
	}
	bench_puts("bench-exit pvh\n");
	if (iters < 16 || iters % 16)
		iters = DEFAULT_ITERS;
	for (r = 0; r < rounds; r++) {
		uint64_t c = bench_round(iters);

		bench_puts("round ");
		bench_putu(r);
		bench_putc(' ');
		bench_putu(iters);
		bench_putc(' ');
		bench_putu(c);
		bench_putc('\n');
	}
	bench_puts("done\n");
	/* isa-debug-exit at the exit port: QEMU exits with status 1. */
	outl(MCEFWD_PORT_EXIT, 0);
	for (;;)
		hlt();
}
