// SPDX-License-Identifier: GPL-2.0-only
/*
 * The storm (issue 9): EVENTS machine-check events through one VM at once,
 * half of them action-required errors raised on every vCPU thread (each
 * sends itself SIGBUS BUS_MCEERR_AR right before KVM_RUN, as the signal
 * method does), half action-optional ones raised on the main thread
 * (SIGBUS BUS_MCEERR_AO, routed by --ao-target), plus the bank-1 broadcast
 * each of them fans out to the other vCPUs. Every event must be accounted
 * for: injected and counted by the guest's #MC handler (stress-storm.c),
 * with the right address, or counted as lost by mcefwd and reported. No
 * crash, no hang: past the time limit every thread's stack is printed and
 * the run fails.
 *
 *   storm [-n EVENTS] [-v VCPUS] [-w WINDOW] [-a AO_TARGET|all]
 *         [-k immediate|sigmask] [-e qemu-7|qemu-6.2|amd] [-t SECONDS] [-L]
 *
 * WINDOW bounds the events each producer has in flight (sent, not yet
 * seen by the guest); the rings hold 64, the queues 256. Within them
 * nothing may be lost. -L overflows them on purpose: then every event the
 * guests did not see must be one mcefwd counted lost, once. With -e amd
 * there is no broadcast (each error sends the other vCPUs a notice instead)
 * and no AO (AMD's is a deferred error that raises no #MC): all EVENTS are
 * ARs. One TAP line.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guest-payloads/abi.h"
#include "inject/inject.h"
#include "mcefwd/util/error.h"
#include "mcefwd/mce/forward.h"
#include "mcefwd/vmm/kick.h"
#include "mcefwd/vmm/loader.h"
#include "mcefwd/mce/encode.h"
#include "mcefwd/vmm/payload.h"
#include "mcefwd/vmm/vcpu.h"
#include "mcefwd/vmm/vm.h"
#include "tests/lib/test_payload.h"
#include "tests/stress/common.h"

/* Must match guest-payloads/tests/stress-storm.c. */
struct storm_count {
	uint64_t ar, ao, bcast, other;
	uint64_t ar_addr_sum, ao_addr_sum;
	uint64_t pad[2];
};

struct storm {
	struct vm vm;
	unsigned int nr_vcpus;
	unsigned int window;
	bool allow_loss;			/* -L: overflow on purpose */
	enum mce_profile profile;
	bool bcast;				/* QEMU's broadcast rule says yes */
	int ao_target;
	uint64_t ar_quota[MCEFWD_MAX_VCPUS];
	atomic_ullong ar_sent[MCEFWD_MAX_VCPUS];
	uint64_t ar_addr_sum[MCEFWD_MAX_VCPUS];	/* by vCPU i's thread only */
	uint64_t ao_quota, ao_sent, ao_addr_sum;	/* by the main thread only */
	struct storm_count *counts;		/* in guest RAM */
	struct mcefwd_mailbox *mailbox;		/* in guest RAM: what mcefwd finished */
	uint64_t *stop;				/* in guest RAM */
	atomic_int fail_before_run;
	/* vCPUs whose guest can take an #MC: none may get one before all can. */
	atomic_uint nr_ready;
	bool ready[MCEFWD_MAX_VCPUS];		/* by vCPU i's thread only */
	time_t deadline;
};

static long storm_now_ms(void)
{
	return (long)(stress_now_ns() / 1000000);
}

static uint64_t storm_load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* The k-th test page: consecutive events never hit the same one. */
static uint64_t storm_gpa(unsigned int k)
{
	return MCEFWD_GPA_TEST + (uint64_t)(k % MCEFWD_TEST_PAGES) * MCEFWD_PAGE_SIZE;
}

static uint64_t storm_ao_seen(struct storm *s)
{
	uint64_t min = UINT64_MAX, sum = 0;

	for (unsigned int i = 0; i < s->nr_vcpus; i++) {
		uint64_t n = storm_load(&s->counts[i].ao);

		sum += n;
		if (n < min)
			min = n;
	}
	/* With --ao-target all every vCPU takes each AO. */
	return s->ao_target == FWD_AO_ALL ? min : sum;
}

/* Primary events (AR, AO) the guests took: each is one event done on every vCPU. */
static uint64_t storm_primaries(struct storm *s)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < s->nr_vcpus; i++)
		n += storm_load(&s->counts[i].ar) + storm_load(&s->counts[i].ao);
	/* With --ao-target all each vCPU took each AO: count it once. */
	return s->ao_target == FWD_AO_ALL ? n - storm_ao_seen(s) * (s->nr_vcpus - 1) : n;
}

/* Every thread's stack (gdb), then what the guests and mcefwd counted. */
static void storm_dump(struct storm *s, const char *why)
{
	stress_dump_stacks(why);
	for (unsigned int i = 0; i < s->nr_vcpus; i++) {
		const struct storm_count *c = &s->counts[i];

		printf("# vcpu-%u: AR sent %llu seen %llu, AO seen %llu, broadcasts seen %llu, other %llu; mcefwd finished %llu of %llu events for it; requests 0x%x, broadcasts owed %lu\n",
		       i, (unsigned long long)atomic_load(&s->ar_sent[i]),
		       (unsigned long long)storm_load(&c->ar), (unsigned long long)storm_load(&c->ao),
		       (unsigned long long)storm_load(&c->bcast),
		       (unsigned long long)storm_load(&c->other),
		       (unsigned long long)storm_load(&s->mailbox[i].events_done),
		       (unsigned long long)storm_primaries(s),
		       atomic_load(&s->vm.vcpus[i]->requests),
		       atomic_load(&s->vm.vcpus[i]->fwd.fanout_bcast));
	}
	printf("# AO sent %llu; mcefwd counted %lu lost\n", (unsigned long long)s->ao_sent,
	       ledger_events_lost(&s->vm.fwd));
	fflush(stdout);
}

static void storm_hung(void *arg)
{
	storm_dump(arg, "watchdog: the storm hung");
}

/*
 * Each primary event one vCPU took fans out to every other vCPU: QEMU's
 * bank-1 broadcast, or (no broadcast: AMD) a notice for its mailbox.
 * mcefwd counts those per vCPU rather than queueing them, so however long
 * a vCPU is kept off a CPU (more vCPU threads than host CPUs) it owes
 * them all and loses none: the storm does not pace its producers for it.
 */
/* Here a storm sees thousands of events a second: a minute of none is a hang. */
#define STORM_STALL_MS		60000

/*
 * Whether vCPU i may send another AR: it has some left, and fewer than
 * WINDOW in flight (sent, neither seen by its guest nor counted lost).
 */
static bool storm_ar_room(struct storm *s, unsigned int i, uint64_t sent)
{
	const struct vcpu *v = s->vm.vcpus[i];
	/*
	 * A lost event never shows up in the guest: it frees its slot too.
	 * The queue's losses are of every kind: counted only when losing is
	 * the point (-L), else a loss stalls the storm, which then fails.
	 * Then they may count AOs too, and done pass sent.
	 */
	uint64_t done = storm_load(&s->counts[i].ar) + ring_spsc_overflows(&v->fwd.ring) +
			(s->allow_loss ? atomic_load(&v->fwd.q_overflows) : 0);

	return sent < s->ar_quota[i] && (done >= sent || sent - done < s->window);
}

/* On every vCPU thread right before KVM_RUN: its ARs, WINDOW at a time. */
static int storm_before_run(struct vcpu *v)
{
	struct storm *s = v->vm->ops->priv;
	uint64_t sent = atomic_load(&s->ar_sent[v->id]);

	if (atomic_load(&s->nr_ready) < s->nr_vcpus)
		return 0;	/* a broadcast now would shut a starting vCPU down */
	while (storm_ar_room(s, v->id, sent)) {
		unsigned int k = v->id * 37 + (unsigned int)sent;
		void *hva = mem_gpa_to_hva(&v->vm->mem, storm_gpa(k), MCEFWD_PAGE_SIZE);
		int r = inject_signal_self(BUS_MCEERR_AR, hva, 12);

		if (r < 0) {
			atomic_store(&s->fail_before_run, -r);
			return error_set(-r, "rt_tgsigqueueinfo(SIGBUS AR): %s", strerror(-r));
		}
		s->ar_addr_sum[v->id] += storm_gpa(k);
		sent++;
	}
	atomic_store(&s->ar_sent[v->id], sent);
	return 0;
}

/* The guest's first ucall: its #MC handler is in place, CR4.MCE set. */
static int storm_on_ucall(struct vcpu *v, const struct mcefwd_ucall *u)
{
	struct storm *s = v->vm->ops->priv;

	if (u->type == MCEFWD_UCALL_VALUE && !s->ready[v->id]) {
		s->ready[v->id] = true;
		atomic_fetch_add(&s->nr_ready, 1);
	}
	return 0;
}

/* Broadcasts vCPU j must see: one per AR or routed AO another vCPU took. */
static uint64_t storm_bcast_due(struct storm *s, unsigned int j)
{
	uint64_t due = 0;

	for (unsigned int i = 0; i < s->nr_vcpus && s->bcast; i++) {
		if (i == j)
			continue;
		due += storm_load(&s->counts[i].ar);
		if (s->ao_target != FWD_AO_ALL)
			due += storm_load(&s->counts[i].ao);
	}
	return due;
}

/*
 * Events due and not (yet) seen by a guest, broadcasts included, from the
 * live counts: exact once the guests have stopped (the judge's use).
 */
static uint64_t storm_missing(struct storm *s)
{
	uint64_t due = 0, seen = 0;

	for (unsigned int i = 0; i < s->nr_vcpus; i++) {
		const struct storm_count *c = &s->counts[i];

		due += s->ar_quota[i] + storm_bcast_due(s, i) +
		       (s->ao_target == FWD_AO_ALL ? s->ao_quota :
			(int)i == s->ao_target ? s->ao_quota : 0);
		seen += storm_load(&c->ar) + storm_load(&c->ao) + storm_load(&c->bcast);
	}
	return due > seen ? due - seen : 0;
}

/*
 * Whether every guest has seen all it will ever be due, judged against
 * the final numbers (the quotas), not live counts: from live counts, an
 * AR injected but not yet counted by its guest owes no broadcasts yet, so
 * the storm could be called done with those still on their way.
 */
static bool storm_complete(struct storm *s)
{
	for (unsigned int j = 0; j < s->nr_vcpus; j++) {
		const struct storm_count *c = &s->counts[j];
		uint64_t ao_due = s->ao_target == FWD_AO_ALL || (int)j == s->ao_target ?
				  s->ao_quota : 0;
		uint64_t bcast_due = 0;

		for (unsigned int i = 0; i < s->nr_vcpus && s->bcast; i++) {
			if (i == j)
				continue;
			bcast_due += s->ar_quota[i];
			if (s->ao_target != FWD_AO_ALL && (int)i == s->ao_target)
				bcast_due += s->ao_quota;
		}
		if (storm_load(&c->ar) < s->ar_quota[j] || storm_load(&c->ao) < ao_due ||
		    storm_load(&c->bcast) < bcast_due)
			return false;
	}
	return true;
}

static int storm_setup(struct storm *s, struct kvm *kvm, enum kick_mode kick)
{
	struct vm_config cfg = {
		.ram_size = 64UL << 20, .mem_kind = MEM_ANON, .nr_vcpus = s->nr_vcpus,
		.mcg_cap = mce_default_mcg_cap(), .kick = kick, .numa_node = -1,
		.fwd = { .profile = s->profile, .bank = MCE_QEMU_BANK,
			 .ao_target = s->ao_target },
	};
	static struct vm_ops ops = { .before_run = storm_before_run, .on_ucall = storm_on_ucall };
	uint64_t counts_gpa, stop_gpa;
	struct payload p;
	int r;

	r = test_payload_get("stress-storm", &p);
	if (r < 0)
		return r;
	if (loader_find_symbol(p.image, p.image_len, "storm_counts", &counts_gpa) ||
	    loader_find_symbol(p.image, p.image_len, "storm_stop", &stop_gpa))
		return error_set(ENOENT, "stress-storm has no storm_counts/storm_stop symbol");
	r = vm_create(&s->vm, kvm, &cfg);
	if (r < 0)
		return r;
	ops.priv = s;
	s->vm.ops = &ops;
	s->bcast = mce_wants_broadcast(s->profile, s->vm.fwd.cpuid_version, false);
	/* One line per event injected: keep them out of the TAP output. */
	s->vm.diag.out = tmpfile();
	if (!s->vm.diag.out)
		return error_set(errno, "tmpfile: %s", strerror(errno));
	s->counts = mem_gpa_to_hva(&s->vm.mem, counts_gpa,
				   sizeof(*s->counts) * MCEFWD_MAX_VCPUS);
	s->stop = mem_gpa_to_hva(&s->vm.mem, stop_gpa, sizeof(*s->stop));
	s->mailbox = mem_gpa_to_hva(&s->vm.mem, MCEFWD_GPA_MAILBOX,
				    sizeof(*s->mailbox) * MCEFWD_MAX_VCPUS);
	if (!s->counts || !s->stop || !s->mailbox)
		return error_set(EFAULT, "storm symbols outside guest RAM");
	return vm_load(&s->vm, p.image, p.image_len);
}

static uint64_t storm_seen_total(struct storm *s)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < s->nr_vcpus; i++)
		n += storm_load(&s->counts[i].ar) + storm_load(&s->counts[i].ao) +
		     storm_load(&s->counts[i].bcast);
	return n;
}

/* The main thread: AOs, WINDOW at a time, routed as the eventfd fires. */
static bool storm_main_loop(struct storm *s)
{
	struct pollfd pfd = { .fd = s->vm.event_fd, .events = POLLIN };
	uint64_t count, last_seen = 0;
	long last_change = storm_now_ms();

	while (time(NULL) < s->deadline) {
		/*
		 * Only the process ring loses AOs alone. A vCPU's inbox and
		 * queue lose every kind: counted here too only when losing is
		 * the point (-L), where an AO lost there would otherwise hold
		 * its window slot for ever (as in storm_before_run).
		 */
		uint64_t seen = storm_ao_seen(s) + ring_mpsc_overflows(&s->vm.fwd.process);
		bool all_sent = s->ao_sent == s->ao_quota;

		for (unsigned int i = 0; i < s->nr_vcpus && s->allow_loss; i++)
			seen += ring_mpsc_overflows(&s->vm.vcpus[i]->fwd.inbox) +
				atomic_load(&s->vm.vcpus[i]->fwd.q_overflows);

		if (poll(&pfd, 1, 1) > 0 && read(s->vm.event_fd, &count, sizeof(count)) < 0 &&
		    errno != EAGAIN)
			return false;
		route_main_drain(&s->vm.fwd);
		if (atomic_load(&s->fail_before_run) || atomic_load(&s->vm.nr_running) < s->nr_vcpus)
			return false;	/* a vCPU ended: the judge says why */
		while (atomic_load(&s->nr_ready) == s->nr_vcpus && s->ao_sent < s->ao_quota &&
		       (seen >= s->ao_sent || s->ao_sent - seen < s->window)) {
			uint64_t gpa = storm_gpa((unsigned int)s->ao_sent * 7 + 5);
			int r = inject_signal_self(BUS_MCEERR_AO,
						   mem_gpa_to_hva(&s->vm.mem, gpa, 1), 12);

			if (r < 0) {
				printf("# rt_tgsigqueueinfo(SIGBUS AO): %s\n", strerror(-r));
				return false;
			}
			s->ao_addr_sum += gpa;
			s->ao_sent++;
		}
		for (unsigned int i = 0; i < s->nr_vcpus; i++) {
			uint64_t sent = atomic_load(&s->ar_sent[i]);

			all_sent &= sent == s->ar_quota[i];
			/*
			 * With -L every AR of a vCPU's window may be lost: its
			 * guest then takes nothing and never exits to send more.
			 */
			if (s->allow_loss && storm_ar_room(s, i, sent))
				kick(s->vm.vcpus[i], VCPU_REQ_WORK);
		}
		if (storm_seen_total(s) != last_seen) {
			last_seen = storm_seen_total(s);
			last_change = storm_now_ms();
		}
		if (all_sent && storm_complete(s))
			return true;
		/* Overflowing on purpose: once quiet, the rest was lost (judged after). */
		if (all_sent && s->allow_loss && storm_now_ms() - last_change > 2000)
			return true;
		/* Nothing seen for a minute is a hang, however slow the host. */
		if (storm_now_ms() - last_change > STORM_STALL_MS) {
			storm_dump(s, "the storm stalled: no event seen by a guest for 60 s");
			return false;
		}
	}
	storm_dump(s, "the storm ran out of time: events neither seen nor counted lost");
	return false;
}

/* After the join: every event in one column or the other, exactly. */
static int storm_judge(struct storm *s, char *why, size_t len)
{
	uint64_t ar_sent = 0, ar_seen = 0, ao_seen = 0, bcast = 0;
	unsigned long proc = ring_mpsc_overflows(&s->vm.fwd.process);
	unsigned long lost = proc + s->vm.fwd.undeliverable, copies;
	int bad = 0;

	/* Each loss counted once, where it happened. */
	for (unsigned int i = 0; i < s->nr_vcpus; i++) {
		const struct fwd_vcpu *f = &s->vm.vcpus[i]->fwd;

		lost += ring_spsc_overflows(&f->ring) + ring_mpsc_overflows(&f->inbox) +
			atomic_load(&f->q_overflows);
	}
	if (ledger_events_lost(&s->vm.fwd) + s->vm.fwd.undeliverable != lost) {
		printf("# mcefwd reports %lu event(s) lost, %lu were\n",
		       ledger_events_lost(&s->vm.fwd) + s->vm.fwd.undeliverable, lost);
		bad++;
	}
	/* An AO lost before routing (--ao-target all) was one copy per vCPU. */
	copies = lost + (s->ao_target == FWD_AO_ALL ? proc * (s->nr_vcpus - 1) : 0);
	if (lost && !s->allow_loss) {
		printf("# %lu event(s) lost within the window: the rings and queues should hold them\n",
		       lost);
		bad++;
	}

	for (unsigned int i = 0; i < s->nr_vcpus; i++) {
		const struct storm_count *c = &s->counts[i];
		const struct vcpu *v = s->vm.vcpus[i];
		uint64_t mc = c->ar + c->ao + c->bcast + c->other;
		uint64_t ao_due = s->ao_target == FWD_AO_ALL || (int)i == s->ao_target ?
				  s->ao_quota : 0;

		ar_sent += s->ar_quota[i];
		ar_seen += c->ar;
		ao_seen += c->ao;
		bcast += c->bcast;
		if (v->res.outcome != VCPU_EXITED || v->res.exit_code) {
			printf("# vcpu-%u: %s %s\n", i, vcpu_outcome_name(v->res.outcome),
			       v->res.error);
			bad++;
		}
		if (c->other) {
			printf("# vcpu-%u: %llu #MC of no kind mcefwd sends\n", i,
			       (unsigned long long)c->other);
			bad++;
		}
		/* Each injection reached the guest, and nothing else did. */
		if (mc != v->fwd.delivered) {
			printf("# vcpu-%u: mcefwd injected %llu, the guest took %llu #MC\n", i,
			       (unsigned long long)v->fwd.delivered, (unsigned long long)mc);
			bad++;
		}
		if (lost)
			continue;
		/* Every primary event, here or fanned out from elsewhere, finished here. */
		if (s->mailbox[i].events_done != storm_primaries(s)) {
			printf("# vcpu-%u: mcefwd finished %llu events for it, %llu were due\n", i,
			       (unsigned long long)s->mailbox[i].events_done,
			       (unsigned long long)storm_primaries(s));
			bad++;
		}
		if (c->ar != s->ar_quota[i] || c->ar_addr_sum != s->ar_addr_sum[i] ||
		    c->ao != ao_due || c->ao_addr_sum != (ao_due ? s->ao_addr_sum : 0) ||
		    c->bcast != storm_bcast_due(s, i)) {
			printf("# vcpu-%u: AR %llu of %llu (addresses %s), AO %llu of %llu (addresses %s), broadcasts %llu of %llu\n",
			       i, (unsigned long long)c->ar, (unsigned long long)s->ar_quota[i],
			       c->ar_addr_sum == s->ar_addr_sum[i] ? "match" : "DIFFER",
			       (unsigned long long)c->ao, (unsigned long long)ao_due,
			       c->ao_addr_sum == (ao_due ? s->ao_addr_sum : 0) ? "match" : "DIFFER",
			       (unsigned long long)c->bcast,
			       (unsigned long long)storm_bcast_due(s, i));
			bad++;
		}
	}
	if (storm_missing(s) != copies) {
		printf("# %llu event(s) not seen by a guest, %lu counted lost\n",
		       (unsigned long long)storm_missing(s), copies);
		bad++;
	}
	snprintf(why, len, "%llu AR on %u vCPU threads, %llu AO on the main thread, %llu broadcasts: %llu seen, %lu counted lost%s",
		 (unsigned long long)ar_sent, s->nr_vcpus, (unsigned long long)s->ao_quota,
		 (unsigned long long)bcast,
		 (unsigned long long)(ar_seen + ao_seen + bcast), lost,
		 lost ? " (reported: see the lines above)" : "");
	return bad;
}

/* mcefwd's counters and its own words for what it lost (the first lines). */
static void storm_show_losses(struct storm *s)
{
	unsigned int shown = 0, lines = 0;
	char line[512];

	for (unsigned int i = 0; i < s->nr_vcpus; i++) {
		const struct fwd_vcpu *f = &s->vm.vcpus[i]->fwd;

		printf("# vcpu-%u lost: %lu to its full SIGBUS ring, %lu to its full inbox, %lu to its full queue\n",
		       i, ring_spsc_overflows(&f->ring), ring_mpsc_overflows(&f->inbox),
		       atomic_load(&f->q_overflows));
	}
	printf("# lost: %lu to the full process ring; %lu unroutable, %lu undeliverable\n",
	       ring_mpsc_overflows(&s->vm.fwd.process), s->vm.fwd.unroutable,
	       s->vm.fwd.undeliverable);
	rewind(s->vm.diag.out);
	while (fgets(line, sizeof(line), s->vm.diag.out)) {
		if (!strstr(line, "lost") && !strstr(line, "cannot be delivered"))
			continue;
		lines++;
		if (shown++ < 10)
			printf("%s", line);
	}
	printf("# %u line(s) of mcefwd's diagnostics report a loss\n", lines);
}

static void storm_usage(void)
{
	fprintf(stderr, "usage: storm [-n EVENTS] [-v VCPUS] [-w WINDOW] [-a AO_TARGET|all] [-k immediate|sigmask] [-e ENCODING] [-t SECONDS] [-L]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long events = 2000, vcpus = 4, window = 8, secs = 120;
	enum kick_mode kick = KICK_IMMEDIATE;
	struct storm *s = calloc(1, sizeof(*s));
	char why[512], target[16];
	struct kvm kvm;
	long t0;
	int opt, bad;

	if (!s)
		return 1;
	s->ao_target = 0;
	s->profile = MCE_PROFILE_DEFAULT;
	while ((opt = getopt(argc, argv, "n:v:w:a:k:t:e:L")) != -1) {
		switch (opt) {
		case 'e':
			if (mce_profile_parse(optarg, &s->profile))
				storm_usage();
			break;
		case 'L':
			s->allow_loss = true;
			break;
		case 'n':
			events = strtoul(optarg, NULL, 0);
			break;
		case 'v':
			vcpus = strtoul(optarg, NULL, 0);
			break;
		case 'w':
			window = strtoul(optarg, NULL, 0);
			break;
		case 'a':
			s->ao_target = strcmp(optarg, "all") ? (int)strtol(optarg, NULL, 0) : FWD_AO_ALL;
			break;
		case 'k':
			if (kick_mode_parse(optarg, &kick))
				storm_usage();
			break;
		case 't':
			secs = strtoul(optarg, NULL, 0);
			break;
		default:
			storm_usage();
		}
	}
	if (!events || !vcpus || vcpus > 64 || !window || window > 256 || !secs ||
	    (s->ao_target != FWD_AO_ALL && (s->ao_target < 0 || (unsigned long)s->ao_target >= vcpus)))
		storm_usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (kvm_open(&kvm) < 0) {
		printf("ok 1 - storm # SKIP %s\n", error_get());
		return 0;
	}
	s->nr_vcpus = (unsigned int)vcpus;
	s->window = (unsigned int)window;
	/* AMD's AO is a deferred error: logged, no #MC, so none to count. */
	s->ao_quota = mce_profile_is_amd(s->profile) ? 0 : events / 2;
	for (unsigned int i = 0; i < s->nr_vcpus; i++)
		s->ar_quota[i] = (events - s->ao_quota) / vcpus + (i < (events - s->ao_quota) % vcpus);
	if (storm_setup(s, &kvm, kick) < 0) {
		printf("not ok 1 - storm: setting up: %s\n", error_get());
		return 1;
	}
	s->deadline = time(NULL) + (time_t)secs;
	/* The main loop reports a stall itself; the watchdog is for a hang in mcefwd. */
	if (stress_watchdog_start("storm", s->deadline + 30, storm_hung, s) < 0) {
		printf("not ok 1 - storm: cannot start the watchdog\n");
		return 1;
	}

	t0 = storm_now_ms();
	if (vm_start(&s->vm) < 0) {
		printf("not ok 1 - storm: %s\n", error_get());
		return 1;
	}
	if (storm_main_loop(s)) {
		__atomic_store_n(s->stop, 1, __ATOMIC_RELEASE);
		/* Each guest sees storm_stop and exits 0. */
		vm_wait(&s->vm, 30000);
	}
	vm_stop_and_join(&s->vm);
	bad = storm_judge(s, why, sizeof(why));
	if (ledger_events_lost(&s->vm.fwd) || s->vm.fwd.undeliverable)
		storm_show_losses(s);
	if (s->ao_target == FWD_AO_ALL)
		snprintf(target, sizeof(target), "all");
	else
		snprintf(target, sizeof(target), "%d", s->ao_target);
	printf("%s 1 - storm: %lu events, %lu vCPUs, ao-target %s, kick=%s, encoding=%s, window %lu: %s, in %.1f s\n",
	       bad ? "not ok" : "ok", events, vcpus, target, kick_mode_name(kick),
	       mce_profile_name(s->profile), window, why, (storm_now_ms() - t0) / 1000.0);
	fclose(s->vm.diag.out);
	s->vm.diag.out = stdout;
	vm_destroy(&s->vm);
	kvm_close(&kvm);
	free(s);
	return bad ? 1 : 0;
}
