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

/* How long mcefwd-inject may stay silent before it counts as stuck (its QMP waits 30 s). */
#define QSCN_INJECT_MS	40000

/* One mcefwd-inject holding a frame of QEMU's poisoned until told to stop. */
struct qscn_injector {
	pid_t pid;
	int out;		/* its stdout and stderr */
	uint64_t gpa, pfn;
	bool unpoisoned;
};

struct qscn {
	const struct scenario *sc;
	const struct qemu_vmm *q;
	struct qemu_expect *e;
	bool guest_expected;		/* e derived from the CPU the guest said it has */
	enum inject_method method;
	const char *state_path;
	unsigned int hold_s;
	unsigned int events_expected;	/* waited for, by the first guess of the vendor */
	unsigned int nr_steps;
	unsigned int events_at[SCN_MAX_MCE];	/* MEMORY_FAILURE events when step n was answered */
	unsigned int nr_inj;
	struct qscn_injector inj[QEMU_MAX_PAGES];
};

/*
 * Reads the injector's lines until it holds (true), has gone, or said
 * nothing for QSCN_INJECT_MS; each line as a diagnostic. QEMU is read all
 * the while: a QEMU whose output nobody reads stops, monitor and all.
 */
static bool qscn_injector_wait(struct qemu_session *s, struct qscn_injector *ij)
{
	char buf[1024], *nl;
	size_t len = 0;
	bool holding = false;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		ssize_t n;
		struct pollfd p = { .fd = ij->out, .events = POLLIN };
		int r = poll(&p, 1, 100);

		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >
			    QSCN_INJECT_MS)
				break;
			qs_poll(s, 0);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
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

/*
 * Derives c->e again, once, for the CPU the guest said it has: its vendor
 * decides QEMU's encoding (>= 9.1), its family and model the broadcast.
 * False while the guest has not said.
 */
static bool qscn_expect_guest(struct qemu_session *s, struct qscn *c)
{
	struct qemu_guest g = { s->guest_amd, s->guest_version };

	if (!s->vendor_known)
		return false;
	if (!c->guest_expected)
		qemu_expect(c->q, &g, c->sc, c->method, c->e);
	c->guest_expected = true;
	return true;
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
	/* Every vCPU says its CPU first: how many events to wait for is this guest's. */
	qscn_expect_guest(s, c);
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

static void qscn_show(struct qemu_session *s, unsigned int vcpu, const struct mcefwd_mce_record *m,
		      unsigned int bank)
{
	ktap_diag(s->k, "vCPU %u saw #MC %llu: MCG_STATUS 0x%llx, bank %u STATUS 0x%016llx ADDR 0x%llx MISC 0x%llx, RIP 0x%llx",
		  vcpu, (unsigned long long)m->seq, (unsigned long long)m->mcg_status, bank,
		  (unsigned long long)m->bank[bank].status, (unsigned long long)m->bank[bank].addr,
		  (unsigned long long)m->bank[bank].misc, (unsigned long long)m->rip);
}

/* What record e must hold, into *want. 0, or -1 if it cannot be built. */
static int qscn_want(const struct qemu_expect *e, const struct qemu_mce *x, struct kvm_x86_mce *want)
{
	if (x->broadcast)
		return mce_build_broadcast(e->profile, want) < 0 ? -1 : 0;
	/* kvm_mce_inject: always bank 9 */
	if (mce_build(e->profile, x->kind, MCEFWD_GPA_TEST + x->page * MCEFWD_PAGE_SIZE, 9,
		      e->mcg_cap, x->lmce, want) < 0)
		return -1;
	if (x->over)
		want->status |= MCE_STATUS_OVER;
	/* Without UC QEMU only writes the bank: no #MC, the guest polls (seq 0). */
	if (!(want->status & MCE_STATUS_UC))
		want->mcg_status = 0;
	return 0;
}

/* Each vCPU's records in the order it took them, against what QEMU must give that vCPU. */
static void qscn_records(struct qemu_session *s, const struct qemu_expect *e,
			 struct run_result *res)
{
	unsigned int rec = 0;

	if (s->nr_mce > QEMU_MAX_MCE)
		run_fail(res, "the guest took %u #MC, more than the %u kept", s->nr_mce, QEMU_MAX_MCE);
	for (unsigned int v = 0; v < s->nr_vcpus; v++) {
		unsigned int saw[QEMU_MAX_MCE], wants[QEMU_MAX_MCE], nsaw = 0, nwant = 0, taken = 0;

		for (unsigned int i = 0; i < s->nr_mce && i < QEMU_MAX_MCE; i++)
			if (s->mce_vcpu[i] == v)
				saw[nsaw++] = i;
		for (unsigned int i = 0; i < e->nr_mce; i++)
			if (e->mce[i].vcpu == v)
				wants[nwant++] = i;
		if (nsaw != nwant)
			run_fail(res, "vCPU %u took %u #MC, QEMU %u.%u must give it %u", v, nsaw,
				 s->vmm->major, s->vmm->minor, nwant);
		for (unsigned int j = 0; j < nsaw && j < nwant; j++) {
			const struct mcefwd_mce_record *m = &s->mce[saw[j]];
			const struct qemu_mce *x = &e->mce[wants[j]];
			unsigned int bank = x->broadcast ? MCE_BROADCAST_BANK : 9;
			struct kvm_x86_mce want;
			char name[48];

			rec++;
			if (qscn_want(e, x, &want) < 0) {
				run_fail(res, "cannot build the expected record %u", rec);
				continue;
			}
			qscn_show(s, v, m, bank);
			qscn_diff(s, res, rec, "seq (0: found by polling)", m->seq,
				  want.status & MCE_STATUS_UC ? ++taken : 0);
			qscn_diff(s, res, rec, "MCG_CAP", m->mcg_cap, e->mcg_cap);
			qscn_diff(s, res, rec, "MCG_STATUS", m->mcg_status, want.mcg_status);
			qscn_diff(s, res, rec, "banks reported", m->nr_banks,
				  e->mcg_cap & MCE_MCG_CAP_COUNT_MASK);
			snprintf(name, sizeof(name), "bank %u STATUS", bank);
			qscn_diff(s, res, rec, name, m->bank[bank].status, want.status);
			snprintf(name, sizeof(name), "bank %u ADDR", bank);
			qscn_diff(s, res, rec, name, m->bank[bank].addr, want.addr);
			snprintf(name, sizeof(name), "bank %u MISC", bank);
			qscn_diff(s, res, rec, name, m->bank[bank].misc, want.misc);
			for (unsigned int b = 0; b < m->nr_banks && b < MCEFWD_MAX_BANKS; b++) {
				if (b == bank)
					continue;
				snprintf(name, sizeof(name), "bank %u STATUS.VAL", b);
				qscn_diff(s, res, rec, name, m->bank[b].status & MCE_STATUS_VAL, 0);
			}
		}
	}
}

/* As mcefwd's own observation (scenario/observe.c): vCPU 0's records, and who took any. */
static void qscn_observe(struct qemu_session *s, const struct qemu_expect *e,
			 struct run_result *res)
{
	struct run_observation *o = &res->obs;
	const struct mcefwd_mce_record *last = NULL;
	bool took[QEMU_MAX_VCPUS] = { false };
	size_t used = 0;

	memset(o, 0, sizeof(*o));
	o->valid = true;
	/* Why QEMU does what it must (expect.c), for the document. */
	snprintf(o->note, sizeof(o->note), "%s", e->why ? e->why : "");
	for (unsigned int i = 0; i < s->nr_mce && i < QEMU_MAX_MCE; i++) {
		took[s->mce_vcpu[i]] = true;
		if (s->mce_vcpu[i] == 0) {
			o->nr_mce++;
			last = &s->mce[i];
		}
	}
	for (unsigned int v = 0; v < s->nr_vcpus && v < QEMU_MAX_VCPUS; v++)
		if (took[v] && used < sizeof(o->vcpus) - 8)
			used += (size_t)snprintf(o->vcpus + used, sizeof(o->vcpus) - used, "%s%u",
						 used ? "," : "", v);
	if (!used)
		snprintf(o->vcpus, sizeof(o->vcpus), "none");
	snprintf(o->outcome, sizeof(o->outcome), "%s",
		 s->outcome == QO_EXIT ? (o->nr_mce ? "#MC" : "nothing") :
		 s->outcome == QO_RESET ? "reset" : s->outcome == QO_QEMU_EXIT ? "QEMU exit" :
		 s->outcome == QO_REFAULT ? "re-fault loop" : qemu_outcome_name(s->outcome));
	if (last) {
		o->bank = 9;
		o->mcg_status = last->mcg_status;
		o->status = last->bank[9].status;
		o->addr = last->bank[9].addr;
		o->misc = last->bank[9].misc;
	}
	snprintf(res->seen, sizeof(res->seen), "%u #MC (vCPUs %s), then %s; %u MEMORY_FAILURE event(s)",
		 s->nr_mce, o->vcpus, qemu_outcome_name(s->outcome), s->nr_mf);
	if (last)
		snprintf(res->seen + strlen(res->seen), sizeof(res->seen) - strlen(res->seen),
			 "; vCPU 0's last: MCG_STATUS 0x%llx STATUS 0x%016llx ADDR 0x%llx",
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
	else if (e->outcome == QO_EXIT)
		qs_check_exits(s, res);
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
	struct qemu_guest guess = { q->amd, q->cpuid_version };
	struct qscn c = { .sc = sc, .q = q, .e = &e, .method = m };
	struct timespec t0, t1;
	struct payload p;
	int r;

	memset(res, 0, sizeof(*res));
	/* A first guess, this host's CPU (-cpu host): the guest says its own. */
	qemu_expect(q, &guess, sc, m, &e);
	if (e.cannot) {
		res->status = KTAP_SKIP;
		snprintf(res->reason, sizeof(res->reason), "--vmm=qemu: %s", e.cannot);
		return 0;
	}
	if (!sc->nr_vcpus && o->vm.nr_vcpus > 1) {
		res->status = KTAP_SKIP;
		snprintf(res->reason, sizeof(res->reason),
			 "--vmm=qemu: %s runs on one vCPU under QEMU; what QEMU gives %u vCPUs here is not derived (drop --vcpus)",
			 sc->name, o->vm.nr_vcpus);
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
	r = qs_start(&s, q, &p, e.cpu, e.nr_vcpus, e.untouched, k);
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
	if (!qscn_expect_guest(&s, &c))
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
	unsigned int nr = o->vm.nr_vcpus ? o->vm.nr_vcpus : p->default_vcpus;
	int r;

	memset(res, 0, sizeof(*res));
	r = qs_start(&s, q, p, q->cpu, nr, false, k);
	if (r == 0)
		qs_run(&s, o->timeout_ms);
	res->status = KTAP_PASS;
	if (r < 0)
		run_fail(res, "QEMU: %s", error_get());
	else if (s.outcome != QO_EXIT)
		run_fail(res, "QEMU's run ended in %s", qemu_outcome_name(s.outcome));
	else
		qs_check_exits(&s, res);
	/* A vCPU that says hello says it once, with its own id, and so do all of them. */
	for (unsigned int v = 0; r == 0 && v < nr; v++) {
		if (s.hello[v] > 1 || (s.hello[v] && s.hello_id[v] != v))
			run_fail(res, "vCPU %u said hello %u time(s), last as vCPU %llu", v, s.hello[v],
				 (unsigned long long)s.hello_id[v]);
		else if (!s.hello[v] != !s.hello[0])
			run_fail(res, "vCPU %u said hello %u time(s), vCPU 0 %u", v, s.hello[v],
				 s.hello[0]);
	}
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
