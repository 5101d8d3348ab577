/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Stubs for exception vectors 0-31. Each makes the stack look the same,
 * a struct rt_frame (rt.h), before the common path calls rt_exception():
 *
 *	rsp + 176	(the CPU aligned RSP to 16 before pushing)
 *	rsp + 168	ss
 *	rsp + 160	rsp
 *	rsp + 152	rflags
 *	rsp + 144	cs
 *	rsp + 136	rip
 *	rsp + 128	error code (pushed by the CPU, or a 0 by the stub)
 *	rsp + 120	vector
 *	rsp + 112	r15 ... rsp + 56 r8
 *	rsp + 48	rbp, rdi, rsi, rdx, rcx, rbx
 *	rsp + 0		rax
 *
 * There is no TSS and no IST: exceptions stay on the interrupted stack,
 * which is what lets the runtime find the vCPU from RSP in a handler too.
 */

/* Vectors for which the CPU pushes an error code itself. */
#define HAS_ERROR_CODE(v) \
	((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || \
	 (v) == 29 || (v) == 30)

	.macro	vector_stub vec
	.balign	16
rt_vector_\vec:
	.if	HAS_ERROR_CODE(\vec)
	.else
	pushq	$0
	.endif
	pushq	$\vec
	jmp	rt_vector_common
	.endm

	.text
	.irp	vec, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, \
		16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	vector_stub \vec
	.endr

	.balign	16
rt_vector_common:
	pushq	%r15
	pushq	%r14
	pushq	%r13
	pushq	%r12
	pushq	%r11
	pushq	%r10
	pushq	%r9
	pushq	%r8
	pushq	%rbp
	pushq	%rdi
	pushq	%rsi
	pushq	%rdx
	pushq	%rcx
	pushq	%rbx
	pushq	%rax

	/*
	 * rbx is callee-saved and already in the frame, so it can keep the
	 * frame address across the call whatever alignment the C call needs.
	 */
	movq	%rsp, %rdi
	movq	%rsp, %rbx
	andq	$-16, %rsp
	cld
	call	rt_exception
	movq	%rbx, %rsp

	popq	%rax
	popq	%rbx
	popq	%rcx
	popq	%rdx
	popq	%rsi
	popq	%rdi
	popq	%rbp
	popq	%r8
	popq	%r9
	popq	%r10
	popq	%r11
	popq	%r12
	popq	%r13
	popq	%r14
	popq	%r15
	/* Drop the vector and the error code. */
	addq	$16, %rsp
	iretq

	.section .rodata
	.balign	8
	.globl	rt_vector_stubs
rt_vector_stubs:
	.irp	vec, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, \
		16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	.quad	rt_vector_\vec
	.endr
	.size	rt_vector_stubs, . - rt_vector_stubs

	.section .note.GNU-stack, "", @progbits
