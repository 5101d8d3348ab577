/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The PVH entry every payload has, for booting under QEMU (mcefwd run
 * --vmm=qemu). QEMU's PVH boot (xen/arch-x86/hvm/start_info.h, the
 * XEN_ELFNOTE_PHYS32_ENTRY note the host adds) enters here in 32-bit
 * protected mode with flat segments, paging off and EBX the start info,
 * which nothing here needs. This builds what mcefwd's host builds
 * (mcefwd/vmm/boot.c): the GDT, the identity map of the first GiB with the
 * first 4 MiB in 4 KiB pages at the ABI's addresses (the #MC handler
 * retires test pages by rewriting PT1), marks the runtime as under QEMU
 * (rt_qemu), starts the other vCPUs (rt_qemu_smp_boot, qemu.c) and enters
 * _start in long mode on vCPU 0's stack with RDI = 0, RSI = the number of
 * vCPUs and RDX = MCG_CAP as the guest reads it.
 *
 * The other vCPUs wake at MCEFWD_GPA_TRAMPOLINE in real mode (SIPI), where
 * vCPU 0 copied rt_ap_trampoline: they take the page tables vCPU 0 built
 * and go straight to long mode (CR0.PE and PG together, EFER.LME already
 * set), then enter _start on the stack of their initial APIC ID.
 */
#include "abi.h"

#define PTE_PW		3		/* present, writable */
#define PDE_2M		0x83		/* present, writable, 2 MiB */
/* PE | MP | ET | NE | WP | AM | PG: what the host sets (boot_sregs). */
#define CR0_LONG	0x80050033
#define CR4_PAE		0x20
#define MSR_EFER	0xc0000080
#define EFER_LME	0x100

/*
 * PAE, the ABI's page tables, EFER.LME, then paging on: long mode, once the
 * far jump that follows loads the 64-bit code segment. Assembled as 32-bit
 * code for vCPU 0 and as 16-bit code for the others (the same instructions).
 */
	.macro	long_mode_on
	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$MCEFWD_GPA_PML4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	$CR0_LONG, %eax
	movl	%eax, %cr0
	.endm

	.section .rodata
	.balign 8
	.globl	rt_pvh_header
rt_pvh_header:
	.quad	MCEFWD_PVH_MAGIC
	.quad	rt_pvh_entry
rt_pvh_gdtr:
	.word	3 * 8 - 1
	.long	MCEFWD_GPA_GDT

	.section .text
	.code32
	.globl	rt_pvh_entry
	.type	rt_pvh_entry, @function
rt_pvh_entry:
	cli
	cld
	movl	%ebx, rt_pvh_start_info
	/* Zero the GDT, PML4, PDPT, PT0 and PT1 pages, and the first PD. */
	xorl	%eax, %eax
	movl	$MCEFWD_GPA_GDT, %edi
	movl	$(5 * 4096 / 4), %ecx
	rep stosl
	movl	$MCEFWD_GPA_PD, %edi
	movl	$(4096 / 4), %ecx
	rep stosl

	/* Null, 64-bit code at MCEFWD_SEL_CODE, flat data at MCEFWD_SEL_DATA. */
	movl	$0x0000ffff, MCEFWD_GPA_GDT + MCEFWD_SEL_CODE
	movl	$0x00af9b00, MCEFWD_GPA_GDT + MCEFWD_SEL_CODE + 4
	movl	$0x0000ffff, MCEFWD_GPA_GDT + MCEFWD_SEL_DATA
	movl	$0x00cf9300, MCEFWD_GPA_GDT + MCEFWD_SEL_DATA + 4

	movl	$(MCEFWD_GPA_PDPT | PTE_PW), MCEFWD_GPA_PML4
	movl	$(MCEFWD_GPA_PD | PTE_PW), MCEFWD_GPA_PDPT

	/* The first GiB in 2 MiB pages... */
	movl	$MCEFWD_GPA_PD, %edi
	movl	$PDE_2M, %eax
	movl	$512, %ecx
1:	movl	%eax, (%edi)
	addl	$0x200000, %eax
	addl	$8, %edi
	loop	1b
	/* ...but the first 4 MiB in 4 KiB pages: PT0, then PT1 for the test pages. */
	movl	$(MCEFWD_GPA_PT0 | PTE_PW), MCEFWD_GPA_PD
	movl	$(MCEFWD_GPA_PT1 | PTE_PW), MCEFWD_GPA_PD + 8
	/* PT0: page k at k << 12, page 0 left unmapped so a NULL access faults. */
	movl	$(MCEFWD_GPA_PT0 + 8), %edi
	movl	$(0x1000 | PTE_PW), %eax
	movl	$511, %ecx
2:	movl	%eax, (%edi)
	addl	$0x1000, %eax
	addl	$8, %edi
	loop	2b
	movl	$MCEFWD_GPA_PT1, %edi
	movl	$(MCEFWD_GPA_TEST | PTE_PW), %eax
	movl	$MCEFWD_TEST_PAGES, %ecx
3:	movl	%eax, (%edi)
	addl	$0x1000, %eax
	addl	$8, %edi
	loop	3b

	/* Into long mode. */
	lgdt	rt_pvh_gdtr
	long_mode_on
	ljmp	$MCEFWD_SEL_CODE, $rt_pvh_64
	.size	rt_pvh_entry, . - rt_pvh_entry

	/* Every vCPU's first step in long mode: the flat data segment everywhere. */
	.macro	flat_data_segments
	movl	$MCEFWD_SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	.endm

	.code64
rt_pvh_64:
	flat_data_segments
	movl	$1, rt_qemu(%rip)
	movq	$(MCEFWD_GPA_STACKS + MCEFWD_STACK_SIZE), %rsp
	/* The others started: how many vCPUs there are. */
	call	rt_qemu_smp_boot
	xorl	%edi, %edi
	movl	%eax, %esi
	jmp	rt_pvh_start

/*
 * Another vCPU, in long mode on the GDT and page tables of vCPU 0: its
 * initial APIC ID (CPUID 1, EBX[31:24]) is its id and picks its stack. One
 * out of range stays parked; the host names every vCPU that never spoke.
 */
rt_ap_64:
	flat_data_segments
	movl	$1, %eax
	cpuid
	shrl	$24, %ebx
	cmpl	rt_qemu_nr(%rip), %ebx
	jae	2f
	leal	1(%ebx), %eax
	imull	$MCEFWD_STACK_SIZE, %eax
	addq	$MCEFWD_GPA_STACKS, %rax
	movq	%rax, %rsp
	movl	%ebx, %edi
	movl	rt_qemu_nr(%rip), %esi
	jmp	rt_pvh_start
2:	cli
	hlt
	jmp	2b

/*
 * Every vCPU on its own stack, EDI its id and ESI the number of vCPUs:
 * RDX = MCG_CAP as the guest reads it, as the host passes it (rt.h), then
 * _start.
 */
rt_pvh_start:
	movl	$MCEFWD_MSR_IA32_MCG_CAP, %ecx
	rdmsr
	shlq	$32, %rdx
	orq	%rax, %rdx
	jmp	_start

/*
 * The APIC timer's tick (RT_VEC_TICK): it only wakes a napping vCPU
 * (qemu.c rt_qemu_nap), so all it does is end the interrupt (x2APIC EOI).
 */
	.globl	rt_qemu_tick
rt_qemu_tick:
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	movl	$0x80b, %ecx
	xorl	%eax, %eax
	xorl	%edx, %edx
	wrmsr
	popq	%rdx
	popq	%rcx
	popq	%rax
	iretq

/*
 * Real mode at MCEFWD_GPA_TRAMPOLINE (CS = its page, IP = 0), copied there
 * by vCPU 0: only offsets from rt_ap_trampoline and absolute addresses.
 */
	.code16
	.globl	rt_ap_trampoline, rt_ap_trampoline_end
rt_ap_trampoline:
	cli
	xorw	%ax, %ax
	movw	%ax, %ds
	lgdtl	MCEFWD_GPA_TRAMPOLINE + (rt_ap_gdtr - rt_ap_trampoline)
	long_mode_on
	ljmpl	$MCEFWD_SEL_CODE, $rt_ap_64
	.balign	4
rt_ap_gdtr:
	.word	3 * 8 - 1
	.long	MCEFWD_GPA_GDT
rt_ap_trampoline_end:

	.data
	.balign	4
	.globl	rt_pvh_start_info
rt_pvh_start_info:
	.long	0

	.section .note.GNU-stack, "", @progbits
