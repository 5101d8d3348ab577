// SPDX-License-Identifier: GPL-2.0-only
/*
 * A scenario under QEMU: boot its payload, poison what the guest asks for
 * with mcefwd-inject aimed at QEMU, judge what the guest saw against what
 * this QEMU must do (expect.c), and undo every frame.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inject/state.h"
#include "mcefwd/mce/encode.h"
#include "mcefwd/qemu/qemu_int.h"
#include "mcefwd/util/error.h"
#include "mcefwd/util/ktap.h"

/* One mcefwd-inject holding a frame of QEMU's poisoned until told to stop. */
struct qscn_injector {
	pid_t pid;
	int out;		/* its stdout and stderr */
	uint64_t gpa, pfn;
	bool unpoisoned;
};

struct qscn {
	const struct scenario *sc;
	const struct qemu_expect *e;
	enum inject_method method;
	const char *state_path;
	unsigned int hold_s;
	unsigned int events_expected;	/* waited for, by the first guess of the vendor */
	unsigned int nr_steps;
	unsigned int events_at[SCN_MAX_MCE];	/* MEMORY_FAILURE events when step n was answered */
	unsigned int nr_inj;
	struct qscn_injector inj[QEMU_MAX_PAGES];
};

/* Reads the injector's lines until it holds (true) or has gone; each line as a diagnostic. */
static bool qscn_injector_wait(struct qemu_session *s, struct qscn_injector *ij)
{
	char buf[1024], *nl;
	size_t len = 0;
	bool holding = false;

	for (;;) {
		ssize_t n;
		struct pollfd p = { .fd = ij->out, .events = POLLIN };

		if (poll(&p, 1, 30000) <= 0)
			break;
		n = read(ij->out, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			unsigned long long pfn;

			*nl = '\0';
			ktap_diag(s->k, "mcefwd-inject: %s", buf);
			if (sscanf(buf, "poisoned pfn 0x%llx", &pfn) == 1)
				ij->pfn = pfn;
			holding |= !strncmp(buf, "holding", 7);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
		if (holding)
			return true;
		if (len == sizeof(buf) - 1)
			len = 0;
	}
	return false;
}

static int qscn_inject(struct qemu_session *s, struct qscn *c, uint64_t gpa)
{
	struct qscn_injector *ij = &c->inj[c->nr_inj];
	char pid[16], gpa_text[32], hold[16];
	uint64_t hva;
	int r;

	if (c->nr_inj == QEMU_MAX_PAGES)
		return error_set(E2BIG, "more than %u pages to poison", QEMU_MAX_PAGES);
	r = qs_gpa2hva(s, gpa, &hva, 10000);
	if (r < 0)
		return r;
	ktap_diag(s->k, "guest page 0x%llx is QEMU's 0x%llx (QMP gpa2hva)", (unsigned long long)gpa,
		  (unsigned long long)hva);
	snprintf(pid, sizeof(pid), "%d", (int)s->pid);
	snprintf(gpa_text, sizeof(gpa_text), "0x%llx", (unsigned long long)gpa);
	snprintf(hold, sizeof(hold), "%u", c->hold_s);
	ij->gpa = gpa;
	{
		/*
		 * The guest page as QEMU names it, on the monitor QEMU serves for
		 * the injector: mcefwd-inject asks gpa2hva itself and checks that
		 * QEMU (pid) is who answers, its proof that the page is guest RAM.
		 */
		char *argv[] = { (char *)s->vmm->injector, "--pid", pid, "--qmp", s->inj_qmp,
				 "--gpa", gpa_text, "--method",
				 (char *)inject_method_name(c->method), "--ar", "--hold", hold,
				 "--state", (char *)c->state_path, NULL };

		r = qs_exec(argv, false, &ij->pid, &ij->out);
		if (r < 0)
			return r;
	}
	c->nr_inj++;
	if (!qscn_injector_wait(s, ij))
		return error_set(EIO, "mcefwd-inject did not poison guest page 0x%llx (QEMU's 0x%llx)",
				 (unsigned long long)gpa, (unsigned long long)hva);
	return 0;
}

/* A frame no process maps, poisoned by us: undone by us (injector pid 0). */
static int qscn_untouched(struct qemu_session *s, struct qscn *c, uint64_t gpa)
{
	struct qscn_injector *ij = &c->inj[c->nr_inj];
	int r;

	if (c->nr_inj == QEMU_MAX_PAGES)
		return error_set(E2BIG, "more than %u pages to poison", QEMU_MAX_PAGES);
	*ij = (struct qscn_injector){ .pid = 0, .out = -1, .gpa = gpa };
	r = qemu_poison_untouched(s, gpa, c->state_path, &ij->pfn);
	if (ij->pfn)
		c->nr_inj++;
	return r;
}

static void qscn_undo_untouched(struct qemu_session *s, struct qscn *c, struct qscn_injector *ij)
{
	struct state *st = NULL;

	if (inject_pfn_unpoison(ij->pfn) < 0) {
		ktap_diag(s->k, "unpoison-pfn 0x%llx: %s", (unsigned long long)ij->pfn, error_get());
		return;
	}
	ij->unpoisoned = true;
	ktap_diag(s->k, "unpoisoned pfn 0x%llx", (unsigned long long)ij->pfn);
	if (state_open(c->state_path, &st) == 0) {
		state_record_unpoison(st, ij->pfn);
		state_close(st);
	}
}

/* Stops every injector: each undoes its frame and says so. */
static void qscn_undo(struct qemu_session *s, struct qscn *c, struct run_result *res)
{
	for (unsigned int i = 0; i < c->nr_inj; i++) {
		struct qscn_injector *ij = &c->inj[i];
		char buf[2048];
		size_t len = 0;
		ssize_t n;
		int st = 0;

		if (!ij->pid) {
			qscn_undo_untouched(s, c, ij);
			goto account;
		}
		kill(ij->pid, SIGTERM);
		while (len < sizeof(buf) - 1 &&
		       (n = read(ij->out, buf + len, sizeof(buf) - 1 - len)) > 0)
			len += (size_t)n;
		buf[len] = '\0';
		while (waitpid(ij->pid, &st, 0) < 0 && errno == EINTR)
			;
		close(ij->out);
		for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			ktap_diag(s->k, "mcefwd-inject: %s", l);
			ij->unpoisoned |= !strncmp(l, "unpoisoned pfn", 14);
		}
		if (!ij->pfn)
			ij->unpoisoned = true;	/* nothing was poisoned */
account:
		if (!ij->unpoisoned && res)
			run_fail(res, "pfn 0x%llx of guest page 0x%llx was left poisoned",
				 (unsigned long long)ij->pfn, (unsigned long long)ij->gpa);
		if (!ij->unpoisoned)
			ktap_diag(s->k, "pfn 0x%llx of guest page 0x%llx is still poisoned: it is in %s, and `mcefwd-inject --unpoison-all --state %s` undoes it",
				  (unsigned long long)ij->pfn, (unsigned long long)ij->gpa,
				  c->state_path, c->state_path);
		if (res && res->nr_pages < RUN_MAX_PAGES)
			res->pages[res->nr_pages++] = (struct run_page){
				.gpa = ij->gpa, .pfn = ij->pfn, .unpoisoned = ij->unpoisoned,
			};
	}
	c->nr_inj = 0;
}

static int qscn_ready(struct qemu_session *s, const struct mcefwd_ucall *u, void *priv)
{
	struct qscn *c = priv;
	unsigned int step = (unsigned int)u->value[0], count = u->value[3] ? (unsigned int)u->value[3] : 1;
	int r = 0;

	if (!u->value[1])
		return 0;
	for (unsigned int i = 0; i < count && r == 0; i++) {
		uint64_t gpa = u->value[1] + i * MCEFWD_PAGE_SIZE;

		if (c->e->untouched)
			r = qscn_untouched(s, c, gpa);
		else
			r = qscn_inject(s, c, gpa);
	}
	if (r < 0) {
		qs_fail(s, "step %u: %s", step, error_get());
		return r;
	}
	if (step >= 1 && step <= c->e->nr_ready)
		c->events_expected += c->e->ready_events[step - 1];
	qs_wait_events(s, c->events_expected, 10000);
	if (c->nr_steps < SCN_MAX_MCE)
		c->events_at[c->nr_steps++] = s->nr_mf;
	return 0;
}

/* ---- judging ---- */

static void qscn_diff(struct qemu_session *s, struct run_result *res, unsigned int rec,
		      const char *field, uint64_t saw, uint64_t want)
{
	if (saw == want)
		return;
	ktap_diag(s->k, "record %u: %s: guest saw 0x%llx, QEMU %u.%u must give 0x%llx", rec, field,
		  (unsigned long long)saw, s->vmm->major, s->vmm->minor, (unsigned long long)want);
	run_fail(res, "record %u: %s is 0x%llx, expected 0x%llx", rec, field,
		 (unsigned long long)saw, (unsigned long long)want);
}

static void qscn_show(struct qemu_session *s, const struct mcefwd_mce_record *m, unsigned int bank)
{
	ktap_diag(s->k, "guest saw #MC %llu: MCG_STATUS 0x%llx, bank %u STATUS 0x%016llx ADDR 0x%llx MISC 0x%llx, RIP 0x%llx",
		  (unsigned long long)m->seq, (unsigned long long)m->mcg_status, bank,
		  (unsigned long long)m->bank[bank].status, (unsigned long long)m->bank[bank].addr,
		  (unsigned long long)m->bank[bank].misc, (unsigned long long)m->rip);
}

static void qscn_records(struct qemu_session *s, const struct qemu_expect *e,
			 struct run_result *res)
{
	const unsigned int bank = 9;	/* kvm_mce_inject: always bank 9 */
	unsigned int taken = 0;

	if (s->nr_mce != e->nr_mce)
		run_fail(res, "the guest took %u #MC, QEMU %u.%u must give %u", s->nr_mce,
			 s->vmm->major, s->vmm->minor, e->nr_mce);
	for (unsigned int i = 0; i < s->nr_mce && i < e->nr_mce && i < QEMU_MAX_MCE; i++) {
		const struct mcefwd_mce_record *m = &s->mce[i];
		struct kvm_x86_mce want;

		if (mce_build(e->profile, e->mce[i].kind,
			      MCEFWD_GPA_TEST + e->mce[i].page * MCEFWD_PAGE_SIZE, bank,
			      e->mcg_cap, false, &want) < 0) {
			run_fail(res, "cannot build the expected record %u", i + 1);
			continue;
		}
		if (e->mce[i].over)
			want.status |= MCE_STATUS_OVER;
		/* Without UC QEMU only writes the bank: no #MC, the guest polls (seq 0). */
		if (!(want.status & MCE_STATUS_UC))
			want.mcg_status = 0;
		qscn_show(s, m, bank);
		qscn_diff(s, res, i + 1, "seq (0: found by polling)", m->seq,
			  want.status & MCE_STATUS_UC ? ++taken : 0);
		qscn_diff(s, res, i + 1, "MCG_CAP", m->mcg_cap, e->mcg_cap);
		qscn_diff(s, res, i + 1, "MCG_STATUS", m->mcg_status, want.mcg_status);
		qscn_diff(s, res, i + 1, "banks reported", m->nr_banks, e->mcg_cap & MCE_MCG_CAP_COUNT_MASK);
		qscn_diff(s, res, i + 1, "bank 9 STATUS", m->bank[bank].status, want.status);
		qscn_diff(s, res, i + 1, "bank 9 ADDR", m->bank[bank].addr, want.addr);
		qscn_diff(s, res, i + 1, "bank 9 MISC", m->bank[bank].misc, want.misc);
		for (unsigned int b = 0; b < m->nr_banks && b < MCEFWD_MAX_BANKS; b++) {
			char name[48];

			if (b == bank)
				continue;
			snprintf(name, sizeof(name), "bank %u STATUS.VAL", b);
			qscn_diff(s, res, i + 1, name, m->bank[b].status & MCE_STATUS_VAL, 0);
		}
	}
}

static void qscn_observe(struct qemu_session *s, const struct qemu_expect *e,
			 struct run_result *res)
{
	struct run_observation *o = &res->obs;

	memset(o, 0, sizeof(*o));
	o->valid = true;
	/* Why QEMU does what it must (expect.c), for the document. */
	snprintf(o->note, sizeof(o->note), "%s", e->why ? e->why : "");
	o->nr_mce = s->nr_mce;
	snprintf(o->vcpus, sizeof(o->vcpus), "%s", s->nr_mce ? "0" : "none");
	snprintf(o->outcome, sizeof(o->outcome), "%s",
		 s->outcome == QO_EXIT ? (s->nr_mce ? "#MC" : "nothing") :
		 s->outcome == QO_RESET ? "reset" : s->outcome == QO_QEMU_EXIT ? "QEMU exit" :
		 s->outcome == QO_REFAULT ? "re-fault loop" : qemu_outcome_name(s->outcome));
	if (s->nr_mce && s->nr_mce <= QEMU_MAX_MCE) {
		const struct mcefwd_mce_record *m = &s->mce[s->nr_mce - 1];

		o->bank = 9;
		o->mcg_status = m->mcg_status;
		o->status = m->bank[9].status;
		o->addr = m->bank[9].addr;
		o->misc = m->bank[9].misc;
	}
	snprintf(res->seen, sizeof(res->seen), "%u #MC, then %s; %u MEMORY_FAILURE event(s)",
		 s->nr_mce, qemu_outcome_name(s->outcome), s->nr_mf);
	if (s->nr_mce && s->nr_mce <= QEMU_MAX_MCE)
		snprintf(res->seen + strlen(res->seen), sizeof(res->seen) - strlen(res->seen),
			 "; last: MCG_STATUS 0x%llx STATUS 0x%016llx ADDR 0x%llx",
			 (unsigned long long)o->mcg_status, (unsigned long long)o->status,
			 (unsigned long long)o->addr);
}

static void qscn_judge(struct qemu_session *s, const struct qscn *c,
		       const struct qemu_expect *e, struct run_result *res)
{
	unsigned int want = 0;

	if (s->failure[0])
		run_fail(res, "%s", s->failure);
	if (c->nr_steps != e->nr_ready)
		run_fail(res, "the guest asked for poison %u time(s), the scenario does %u",
			 c->nr_steps, e->nr_ready);
	for (unsigned int i = 0; i < c->nr_steps && i < e->nr_ready; i++) {
		want += e->ready_events[i];
		if (c->events_at[i] != want)
			run_fail(res, "when step %u was answered QEMU had sent %u MEMORY_FAILURE event(s), it must have sent %u",
				 i + 1, c->events_at[i], want);
	}
	if (s->outcome != e->outcome)
		run_fail(res, "QEMU's run ended in %s, QEMU %u.%u must end in %s",
			 qemu_outcome_name(s->outcome), s->vmm->major, s->vmm->minor,
			 qemu_outcome_name(e->outcome));
	else if (e->outcome == QO_EXIT && s->exit_code != 0)
		run_fail(res, "the guest exited with %u", s->exit_code);
	else if (e->outcome == QO_QEMU_EXIT && WEXITSTATUS(s->status) != e->qemu_status)
		run_fail(res, "QEMU exited with %d, expected %d", WEXITSTATUS(s->status),
			 e->qemu_status);
	if (s->exception)
		run_fail(res, "the guest took an unexpected exception %lu", (unsigned long)s->exc.vector);
	if (s->reports_failed)
		run_fail(res, "%u guest check(s) failed", s->reports_failed);
	qscn_records(s, e, res);
	if (res->status == KTAP_FAIL || s->outcome != e->outcome)
		qs_show_stderr(s);
	qscn_observe(s, e, res);
}

int qemu_scenario_run(const struct qemu_vmm *q, const struct scenario *sc, enum inject_method m,
		      const struct run_opts *o, struct ktap *k, struct run_result *res)
{
	struct qemu_session s = { 0 };
	struct qemu_expect e;
	struct qscn c = { .sc = sc, .e = &e, .method = m };
	struct timespec t0, t1;
	struct payload p;
	int r;

	memset(res, 0, sizeof(*res));
	qemu_expect(q, q->amd, sc, m, &e);
	if (e.cannot) {
		res->status = KTAP_SKIP;
		snprintf(res->reason, sizeof(res->reason), "--vmm=qemu: %s", e.cannot);
		return 0;
	}
	if (scenario_skip_unavailable(m, res))
		return 0;
	r = payload_get(sc->payload, &p);
	if (r < 0) {
		run_fail(res, "%s", error_get());
		return r;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c.state_path = o->state_path ? o->state_path : state_default_path();
	c.hold_s = o->timeout_ms / 1000 + 60;
	ktap_diag(k, "%s under %s: %s", sc->name, q->version, e.why);
	r = qs_start(&s, q, &p, e.cpu, e.untouched, k);
	if (r < 0) {
		run_fail(res, "QEMU: %s", error_get());
		qs_end(&s);
		return 0;
	}
	res->status = KTAP_PASS;
	s.ready = qscn_ready;
	s.priv = &c;
	qs_run(&s, o->timeout_ms);
	res->timed_out = s.outcome == QO_TIMEOUT;
	res->kill = "early";	/* QEMU's own: qemu_init_sigbus */
	qscn_undo(&s, &c, res);
	/* The guest said which vendor it is: that decides QEMU's encoding (>= 9.1). */
	if (s.vendor_known && s.guest_amd != q->amd)
		qemu_expect(q, s.guest_amd, sc, m, &e);
	else if (!s.vendor_known)
		qs_fail(&s, "the guest never said its CPU vendor");
	qscn_judge(&s, &c, &e, res);
	qs_end(&s);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* The performance of a run under QEMU, boot to reaped: `mcefwd bench` has no QEMU scenario. */
	ktap_diag(k, "wall: %.2f s, from writing the PVH kernel to QEMU reaped and every frame given back",
		  (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

int qemu_payload_run(const struct qemu_vmm *q, const struct payload *p,
		     const struct run_opts *o, struct ktap *k, struct run_result *res)
{
	struct qemu_session s = { 0 };
	int r;

	memset(res, 0, sizeof(*res));
	if (p->default_vcpus > 1) {
		res->status = KTAP_SKIP;
		snprintf(res->reason, sizeof(res->reason),
			 "--vmm=qemu: %s needs %u vCPUs; under QEMU only vCPU 0 boots (PVH starts the first CPU; the runtime has no INIT/SIPI bring-up)",
			 p->name, p->default_vcpus);
		return 0;
	}
	r = qs_start(&s, q, p, q->cpu, false, k);
	if (r == 0)
		qs_run(&s, o->timeout_ms);
	res->status = KTAP_PASS;
	if (r < 0)
		run_fail(res, "QEMU: %s", error_get());
	else if (s.outcome != QO_EXIT || s.exit_code)
		run_fail(res, "QEMU's run ended in %s (guest exit code %u)", qemu_outcome_name(s.outcome),
			 s.exit_code);
	if (s.failure[0])
		run_fail(res, "%s", s.failure);
	if (s.reports_failed)
		run_fail(res, "%u guest check(s) failed", s.reports_failed);
	if (s.nr_mce)
		run_fail(res, "the guest took %u #MC and no error was raised", s.nr_mce);
	if (res->status == KTAP_FAIL)
		qs_show_stderr(&s);
	qs_end(&s);
	return 0;
}
