/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ELF entry of every payload. The host enters each vCPU here in 64-bit
 * mode with RSP = its stack top, RDI = vCPU id, RSI = nr of vCPUs,
 * RDX = MCG_CAP, interrupts off.
 */

	.section .text.entry, "ax", @progbits
	.globl	_start
	.type	_start, @function
_start:
	/* Callee-saved, so setup added before the call cannot lose them. */
	movq	%rdi, %r12
	movq	%rsi, %r13
	movq	%rdx, %r14

	/* The C ABI wants DF clear and a 16-byte aligned stack at the call. */
	cld
	andq	$-16, %rsp
	/* A zero frame pointer ends backtraces here. */
	xorl	%ebp, %ebp

	movq	%r12, %rdi
	movq	%r13, %rsi
	movq	%r14, %rdx
	call	rt_start

	/* rt_start() never returns; if it did, stay parked. */
1:	cli
	hlt
	jmp	1b
	.size	_start, . - _start

	.section .note.GNU-stack, "", @progbits
