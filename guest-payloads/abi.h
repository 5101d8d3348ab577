/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest ABI: the one header shared by the host (mcefwd/) and the
 * freestanding guests (guest-payloads/). Constants and plain structs only.
 *
 * Guest virtual addresses equal guest physical addresses (identity map), so
 * a guest pointer is also the gpa the host reads.
 */
#ifndef MCEFWD_ABI_H
#define MCEFWD_ABI_H

#ifdef __ASSEMBLER__
#define MCEFWD_UL(x) x
#else
#include <stdint.h>
#define MCEFWD_UL(x) x##UL
#endif

/* ---- Guest physical memory map ------------------------------------------ */

/* Page 0 stays unmapped in the guest page tables so a NULL access faults. */
#define MCEFWD_GPA_GDT		MCEFWD_UL(0x1000)
#define MCEFWD_GPA_PML4		MCEFWD_UL(0x2000)
#define MCEFWD_GPA_PDPT		MCEFWD_UL(0x3000)
/* 4 KiB page tables for the first 4 MiB: PT0 maps 0-2 MiB, PT1 2-4 MiB. */
#define MCEFWD_GPA_PT0		MCEFWD_UL(0x4000)
#define MCEFWD_GPA_PT1		MCEFWD_UL(0x5000)
/* Page directories, one per GiB of guest RAM (2 MiB pages above 4 MiB). */
#define MCEFWD_GPA_PD		MCEFWD_UL(0x10000)
#define MCEFWD_MAX_PD		3

/*
 * Host-to-guest mailboxes, one struct mcefwd_mailbox per vCPU at
 * MAILBOX + id * sizeof(struct mcefwd_mailbox): the host writes, the guest
 * reads (volatile). Lets a guest wait for an event the host decided NOT to
 * inject (ignored, dropped), which no #MC would ever tell it.
 */
#define MCEFWD_GPA_MAILBOX	MCEFWD_UL(0x8000)

/* Payload ELF images are linked here; code, data and bss must fit below 2 MiB. */
#define MCEFWD_GPA_LOAD		MCEFWD_UL(0x100000)
#define MCEFWD_GPA_LOAD_END	MCEFWD_UL(0x200000)

/*
 * The test-page region: 512 pages mapped with 4 KiB PTEs (in PT1), the
 * targets for poisoning and the spare pages a guest retires them to.
 * PTE of page i is at MCEFWD_GPA_PT1 + 8 * i.
 */
#define MCEFWD_GPA_TEST		MCEFWD_UL(0x200000)
#define MCEFWD_TEST_PAGES	512
#define MCEFWD_PAGE_SIZE	MCEFWD_UL(4096)

/* Per-vCPU stacks: vCPU n's stack top is STACKS + (n + 1) * STACK_SIZE. */
#define MCEFWD_GPA_STACKS	MCEFWD_UL(0x400000)
#define MCEFWD_STACK_SIZE	MCEFWD_UL(0x4000)
#define MCEFWD_MAX_VCPUS	256

/* Guest RAM: starts at gpa 0, between these sizes (bytes). */
#define MCEFWD_RAM_MIN		MCEFWD_UL(0x800000)
#define MCEFWD_RAM_MAX		(MCEFWD_UL(0x40000000) * MCEFWD_MAX_PD)

/* GDT selectors (flat, 64-bit code). */
#define MCEFWD_SEL_CODE		0x08
#define MCEFWD_SEL_DATA		0x10

/*
 * Entry state set by the host on every vCPU: 64-bit long mode, paging on,
 * CR4.PAE set and CR4.MCE clear (the runtime sets it, as an OS would),
 * RIP = ELF entry, RSP = that vCPU's stack top, RDI = vCPU id,
 * RSI = number of vCPUs, RDX = MCG_CAP the host configured.
 */

/* ---- I/O ports ---------------------------------------------------------- */

/* outb: one console byte (raw, for early debug; prefer UCALL_PRINT). */
#define MCEFWD_PORT_CONSOLE	0xe9
/* outl: gpa (low 32 bits) of this vCPU's struct mcefwd_ucall. */
#define MCEFWD_PORT_UCALL	0xf0
/* outl: exit code of this vCPU; 0 means the vCPU passed. */
#define MCEFWD_PORT_EXIT	0xf4

/* ---- Ucall records ------------------------------------------------------ */

#ifndef __ASSEMBLER__
enum mcefwd_ucall_type {
	MCEFWD_UCALL_PRINT = 1,		/* text: a line of console output */
	MCEFWD_UCALL_REPORT = 2,	/* report: one assertion result */
	MCEFWD_UCALL_EXCEPTION = 3,	/* exception: an unexpected vector */
	MCEFWD_UCALL_HELLO = 4,		/* value[0] = the id the vCPU believes it has */
	MCEFWD_UCALL_MCE = 5,		/* mce: what the #MC handler saw */
	MCEFWD_UCALL_READY = 6,		/* a poison request: see struct mcefwd_ready */
	MCEFWD_UCALL_VALUE = 7,		/* value[0] = key, value[1] = value */
	/* Only where the guest runs under QEMU (see "Under QEMU" below): */
	MCEFWD_UCALL_WAIT = 8,		/* value[0] = events to wait for: ack me then */
	MCEFWD_UCALL_EXIT = 9,		/* value[0] = this vCPU's exit code, sent before the exit port */
	MCEFWD_UCALL_MAX
};
#endif

#define MCEFWD_UCALL_MAGIC	0x4d434546u	/* "FECM" little endian */
#define MCEFWD_TEXT_MAX		200
#define MCEFWD_MAX_BANKS	32

/*
 * MCEFWD_UCALL_READY: "poison now". value[0] = step (1, 2, ...), value[1] =
 * gpa of the first page, value[2] = MCEFWD_READY_AR or _AO (what the guest
 * expects to provoke), value[3] = number of consecutive pages (0 means 1).
 * The host acts before the outl returns: for AR it arranges that the
 * guest's next access (or, for the signal method, the next guest entry)
 * takes the error; for AO it raises the error on a non-vCPU thread.
 */
#define MCEFWD_READY_AR		1
#define MCEFWD_READY_AO		2
/*
 * "Reset me": the host pauses every vCPU, replaces each poisoned page with
 * a fresh zeroed one (a huge page whole), reloads the payload and restarts
 * every vCPU at its entry; mailbox.boots then counts the resets.
 */
#define MCEFWD_READY_RESET	3

/* MCEFWD_UCALL_VALUE keys. */
#define MCEFWD_VALUE_TOUCH	1	/* value[1] = gpa of a page this vCPU uses */
/*
 * Under QEMU, first thing on every vCPU: value[1] = CPUID 0's EBX | EDX << 32,
 * value[2] = its ECX, value[3] = CPUID 1's EAX (family and model).
 */
#define MCEFWD_VALUE_VENDOR	2

#ifndef __ASSEMBLER__
struct mcefwd_mailbox {
	uint64_t events_done;		/* MCE events the host finished for this vCPU */
	uint64_t events_delivered;	/* of those, delivered (KVM_X86_SET_MCE) */
	uint64_t boots;			/* resets the VM went through (0 at first) */
	uint64_t pad[5];
};

struct mcefwd_report {
	uint32_t pass;			/* 1 pass, 0 fail */
	uint32_t line;
	char file[48];
	char cond[MCEFWD_TEXT_MAX];
};

struct mcefwd_exception {
	uint64_t vector;
	uint64_t error_code;
	uint64_t rip;
	uint64_t cr2;
};

struct mcefwd_mce_bank {
	uint64_t ctl;
	uint64_t status;
	uint64_t addr;
	uint64_t misc;
};

/* Everything the guest #MC handler read, before it cleared anything. */
struct mcefwd_mce_record {
	uint64_t seq;			/* 1 for the first #MC this vCPU took */
	uint64_t mcg_cap;
	uint64_t mcg_status;
	uint64_t rip;			/* interrupted RIP from the #MC frame */
	uint64_t cs;
	uint64_t rflags;
	uint64_t nr_banks;		/* banks snapshotted: MCG_CAP[7:0], capped */
	struct mcefwd_mce_bank bank[MCEFWD_MAX_BANKS];
};

struct mcefwd_ucall {
	uint32_t magic;			/* MCEFWD_UCALL_MAGIC */
	uint32_t type;			/* enum mcefwd_ucall_type */
	uint32_t vcpu;			/* sender's vCPU id */
	uint32_t pad;
	uint64_t value[4];
	union {
		char text[MCEFWD_TEXT_MAX];
		struct mcefwd_report report;
		struct mcefwd_exception exception;
		struct mcefwd_mce_record mce;
	} u;
};
#endif /* !__ASSEMBLER__ */

/* ---- Under QEMU (mcefwd run --vmm=qemu) ---------------------------------- */

/*
 * The same payload ELF boots as a PVH kernel (QEMU -machine microvm -kernel):
 * the runtime's 32-bit entry builds the memory map above itself and enters
 * _start on vCPU 0 with the state the host would have set. QEMU serves none
 * of mcefwd's ports but the exit port (isa-debug-exit there, so QEMU exits
 * with (code << 1) | 1), so the ucalls travel as lines of text:
 *
 *   guest to host, on the console port (isa-debugcon):
 *     "@U" then the struct mcefwd_ucall in hex, trailing zero bytes left out
 *     (the host zero-fills), then '\n'. A #MC handler's line may come in the
 *     middle of another line: the host finishes the innermost first.
 *   host to guest, on COM1 (a 16550 at 0x3f8) after READY and WAIT:
 *     "A VCPU DONE DELIVERED\n": for the vCPU that asked, the MCE events QEMU
 *     has finished for the whole guest so far and how many of them it
 *     injected (from its QMP MEMORY_FAILURE events, which name no CPU). The
 *     runtime writes them into that vCPU's mailbox.
 *
 * More than one vCPU: the host passes "mcefwd.vcpus=N" on the kernel command
 * line (PVH start info) and -smp N. vCPU 0 copies the real-mode trampoline to
 * MCEFWD_GPA_TRAMPOLINE and starts the others with INIT and SIPI (x2APIC);
 * each enters _start on the stack of its initial APIC ID. Lines and answers
 * are serialized by the runtime (one line at a time on the console, one
 * reader of COM1), so several requests may be outstanding. Every vCPU sends
 * UCALL_EXIT; vCPU 0 writes the exit port last, once the others have.
 *
 * The header is how the host finds the entry: 8-aligned in the loaded image.
 */
#define MCEFWD_PVH_MAGIC	MCEFWD_UL(0x6876702d6665636d)	/* "mcef-pvh" little endian */
#define MCEFWD_PORT_COM1	0x3f8
#define MCEFWD_QEMU_LINE	'U'
#define MCEFWD_QEMU_VCPUS	"mcefwd.vcpus="
/* A free page below 1 MiB (SIPI vectors name one), unused by mcefwd's own map. */
#define MCEFWD_GPA_TRAMPOLINE	MCEFWD_UL(0x7000)

/* ---- Architectural constants both sides use ----------------------------- */

#define MCEFWD_MSR_IA32_MCG_CAP		0x179
#define MCEFWD_MSR_IA32_MCG_STATUS	0x17a
#define MCEFWD_MSR_IA32_MCG_CTL		0x17b
#define MCEFWD_MSR_IA32_MC0_CTL		0x400	/* bank i: 0x400 + 4 * i + {0,1,2,3} */

#define MCEFWD_VECTOR_MC		18

#endif /* MCEFWD_ABI_H */
