/* SPDX-License-Identifier: GPL-2.0-only */
/* What the files of mcefwd/qemu/ share: one QEMU session, and the expectations. */
#ifndef MCEFWD_QEMU_INT_H
#define MCEFWD_QEMU_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "guest-payloads/abi.h"
#include "mcefwd/qemu/qemu.h"
#include "mcefwd/scenario/qemu_rules.h"

struct ktap;


/* One QMP MEMORY_FAILURE event. */
struct qemu_mf {
	bool guest;		/* recipient "guest" (else "hypervisor") */
	char action[16];	/* "inject", "ignore", "reset", "fatal" */
	bool ar, recursive;
};

#define QEMU_MAX_MF	32
#define QEMU_MAX_PAGES	8
/* vCPUs a run under QEMU may have (the scenarios use up to 4). */
#define QEMU_MAX_VCPUS	16
/* ARs for the same page in a row with nothing else happening: a re-fault loop. */
#define QEMU_REFAULT_LIMIT	8

struct qemu_session;

/* What the session does when the guest asks for poison (scenario.c). */
typedef int (*qemu_ready_fn)(struct qemu_session *s, const struct mcefwd_ucall *u, void *priv);

struct qemu_session {
	const struct qemu_vmm *vmm;
	struct ktap *k;
	unsigned int nr_vcpus;		/* -smp, and mcefwd.vcpus= for the guest */
	char dir[64];
	char kernel[96], con_path[96], ser_path[96], qmp_path[96], inj_qmp[96];
	int con_l, ser_l, qmp_l;	/* listening sockets: QEMU connects to us */
	int con, ser, qmp, err;		/* connections, and QEMU's stderr */
	pid_t pid;
	int pidfd;
	bool reaped;
	int status;			/* wait status, once reaped */
	bool killed;			/* by us */
	enum qemu_outcome outcome;

	/* The console's lines; a #MC handler's may start inside another's. */
	char line[4][4096];
	size_t line_len[4];
	unsigned int depth;
	/* QMP: a line at a time, and the answer to the one command in flight. */
	char qbuf[16384];
	size_t qlen;
	bool qret_ready, qret_error;
	char qret[512];
	char shutdown_reason[64];
	/* QEMU's stderr, kept for the report (the last part of it). */
	char errbuf[8192];
	size_t errlen;
	unsigned int ar_lines;		/* "... of type BUS_MCEERR_AR injected" so far */
	unsigned int ar_run;		/* of those, since the guest last said anything */

	/* What the guest said. */
	unsigned int nr_mf;
	struct qemu_mf mf[QEMU_MAX_MF];
	unsigned int nr_mce;
	struct mcefwd_mce_record mce[QEMU_MAX_MCE];
	unsigned int mce_vcpu[QEMU_MAX_MCE];	/* who took record i */
	unsigned int reports_passed, reports_failed;
	bool vendor_known, guest_amd;	/* what the guest's CPUID said */
	uint32_t guest_version;		/* its CPUID 1 EAX: family and model */
	/* Each vCPU's UCALL_EXIT; vCPU 0's is followed by the exit port. */
	bool vcpu_exited[QEMU_MAX_VCPUS];
	uint32_t vcpu_exit_code[QEMU_MAX_VCPUS];
	unsigned int hello[QEMU_MAX_VCPUS];	/* HELLOs each vCPU sent */
	uint64_t hello_id[QEMU_MAX_VCPUS];	/* the id it said it has */
	bool spoke[QEMU_MAX_VCPUS];	/* sent anything at all */
	bool exception;
	struct mcefwd_exception exc;
	/* READY and WAIT waiting for their answer, one per vCPU. */
	bool request[QEMU_MAX_VCPUS];
	struct mcefwd_ucall req[QEMU_MAX_VCPUS];
	uint64_t req_deadline[QEMU_MAX_VCPUS];	/* a WAIT is answered by then anyway */
	qemu_ready_fn ready;
	void *priv;
	char failure[256];		/* the first protocol failure */
};

/*
 * Boots payload image as a PVH kernel under q with -cpu cpu and nr_vcpus
 * vCPUs. 0 or -errno (error_get()).
 */
int qs_start(struct qemu_session *s, const struct qemu_vmm *q, const struct payload *p,
	     const char *cpu, unsigned int nr_vcpus, bool memfd, struct ktap *k);
/*
 * Runs until QEMU has gone (its outcome set) or timeout_ms passed (then it
 * is killed: QO_TIMEOUT), answering READY through s->ready and WAIT itself,
 * each vCPU's in turn.
 */
void qs_run(struct qemu_session *s, unsigned int timeout_ms);
/*
 * Starts argv[0] with stdin on /dev/null and stdout and stderr on a pipe
 * (*out, its reading end). confined: it dies with us and gains no
 * capability on exec (QEMU); else it outlives us (an injector, which must
 * undo what it did). 0 or -errno (error_get()).
 */
int qs_exec(char *const argv[], bool confined, pid_t *pid, int *out);
/* Reads what QEMU said for up to ms; false once QEMU has gone and everything it said is read. */
bool qs_poll(struct qemu_session *s, int ms);
/* Kills and reaps QEMU if still there, closes everything, removes the directory. */
void qs_end(struct qemu_session *s);
/* The host address of guest page gpa (QMP gpa2hva). 0 or -errno. */
int qs_gpa2hva(struct qemu_session *s, uint64_t gpa, uint64_t *hva, unsigned int timeout_ms);
/* Waits until QEMU has sent n MEMORY_FAILURE events (or timeout, or its end). */
void qs_wait_events(struct qemu_session *s, unsigned int n, unsigned int timeout_ms);
/* Answers vCPU vcpu's READY or WAIT: the events so far, and those QEMU injected. */
void qs_ack(struct qemu_session *s, unsigned int vcpu);
/* Fails the run for each vCPU that did not exit with 0 (UCALL_EXIT), naming it. */
void qs_check_exits(struct qemu_session *s, struct run_result *res);
/* QEMU's stderr as diagnostics. */
void qs_show_stderr(struct qemu_session *s);
void qs_fail(struct qemu_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* What QEMU's console and QMP socket said, as read (exported for the tests). */
void qs_console_input(struct qemu_session *s, const char *buf, size_t n);
void qs_qmp_input(struct qemu_session *s, const char *buf, size_t n);

/* ---- untouched.c ---- */

/* The name QEMU gives a memory-backend-memfd's memfd (backends/hostmem-memfd.c). */
#define QEMU_MEMFD_NAME "memory-backend-memfd"

/*
 * Makes guest page gpa's frame in QEMU's memfd RAM without any process
 * mapping it afterwards, and poisons it (debugfs corrupt-pfn), recorded in
 * state_path first. *pfn: the frame. 0 or -errno (error_get()).
 */
int qemu_poison_untouched(struct qemu_session *s, uint64_t gpa, const char *state_path,
			  uint64_t *pfn);

/* ---- expect.c: what QEMU of this version must do ---- */

/* One record a vCPU must report under QEMU. */



/* g: the guest's CPU (the -cpu model's), as it said, or a first guess. */
int qemu_expect(const struct qemu_vmm *q, const struct qemu_guest *g, const struct scenario *sc,
		enum inject_method m, struct qemu_expect *e);
/* QEMU's cpu_x86_support_mca_broadcast() for this guest under this QEMU. */
bool qemu_broadcasts(const struct qemu_vmm *q, const struct qemu_guest *g);

#endif
