// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kick race (issue 9): KICKS kicks, one kicker thread per vCPU. Each
 * kick carries work, as mcefwd's own do: the kicker puts an event (a
 * notice, which injects nothing) in the vCPU's inbox, then kicks it. Half
 * the kicks are fired at a random offset from the moment the vCPU is
 * about to enter KVM_RUN: while it is still checking its requests, between
 * the check and the ioctl, while KVM enters the guest, once the guest runs
 * (spin) or while the vCPU sleeps on its halt (idle). The other half
 * follow the previous kick's work at once, landing while the vCPU is
 * still on its way round its loop from that exit: draining its inbox,
 * taking its requests. The vCPU itself adds a random pause right before
 * KVM_RUN to move its side of the window too. No kick may be lost: its
 * event must be handled (the vCPU's mailbox counts it) within 10 s,
 * though a spinning guest never exits on its own. A lost kick, or any
 * hang, prints every thread's stack and fails.
 *
 *   kick-race [-n KICKS] [-v VCPUS] [-k immediate|sigmask] [-p spin|idle]
 *             [-d MAX_DELAY_US] [-s SEED] [-t SECONDS]
 *
 * One TAP line.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guest-payloads/abi.h"
#include "mcefwd/util/error.h"
#include "mcefwd/mce/forward.h"
#include "mcefwd/vmm/kick.h"
#include "mcefwd/mce/encode.h"
#include "mcefwd/vmm/payload.h"
#include "mcefwd/mce/ring.h"
#include "mcefwd/vmm/vcpu.h"
#include "mcefwd/vmm/vm.h"
#include "tests/lib/test_payload.h"
#include "tests/stress/common.h"

/*
 * A kick not taken after this long was lost: a spinning guest never exits.
 * Generous: on a small host the vCPU thread may wait long for a CPU.
 */
#define RACE_LOST_NS	10000000000LL
/* Busy-wait this long for what the other side does, then sleep between looks. */
#define RACE_SPIN_NS	200000LL

struct race_vcpu {
	atomic_ullong entries;		/* before_run calls: about to enter KVM_RUN */
	atomic_llong ioctl_at;		/* when this entry's KVM_RUN ioctl starts */
	unsigned long early;		/* at-entry kicks that landed before it */
	unsigned long follow;		/* kicks right behind the previous one's work */
	uint64_t rng;			/* this vCPU's own, for its pre-entry pause */
	pthread_t kicker;
	unsigned long quota, done;
	long long max_ns, sum_ns;	/* kick to take */
	unsigned long lost;
	uint64_t krng;			/* the kicker's */
};

struct race {
	struct vm vm;
	unsigned int nr_vcpus;
	unsigned int max_delay_us;
	struct race_vcpu v[MCEFWD_MAX_VCPUS];
	atomic_int failed;
};

static uint64_t race_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void race_spin_ns(long long ns)
{
	long long end = stress_now_ns() + ns;

	while (stress_now_ns() < end)
		;
}

/* Lets a busy host run the other side: spins first (to catch entry), then sleeps. */
static void race_pause(long long since)
{
	struct timespec ts = { 0, 20000 };

	if (stress_now_ns() - since > RACE_SPIN_NS)
		nanosleep(&ts, NULL);
}

static void race_dump(struct race *r, const char *why)
{
	stress_dump_stacks(why);
	for (unsigned int i = 0; i < r->nr_vcpus; i++)
		printf("# vcpu-%u: %lu of %lu kicks taken, requests 0x%x, %llu entries\n", i,
		       r->v[i].done, r->v[i].quota, atomic_load(&r->vm.vcpus[i]->requests),
		       (unsigned long long)atomic_load(&r->v[i].entries));
	fflush(stdout);
}

static void race_hung(void *arg)
{
	race_dump(arg, "watchdog: the kick race hung");
}

/* Right before KVM_RUN: count the entry, then wait a random moment. */
static int race_before_run(struct vcpu *v)
{
	struct race *r = v->vm->ops->priv;
	struct race_vcpu *rv = &r->v[v->id];

	long long pause = (long long)(race_rand(&rv->rng) % (r->max_delay_us * 500ULL + 1));

	atomic_store(&rv->ioctl_at, stress_now_ns() + pause);
	atomic_fetch_add(&rv->entries, 1);
	race_spin_ns(pause);
	return 0;
}

/* Waits until the vCPU handled `want` events; false after RACE_LOST_NS. */
static bool race_wait_done(const struct mcefwd_mailbox *mb, uint64_t want, long long since,
			   long long *took)
{
	while (__atomic_load_n(&mb->events_done, __ATOMIC_ACQUIRE) < want) {
		if (stress_now_ns() - since > RACE_LOST_NS)
			return false;
		race_pause(since);
	}
	*took = stress_now_ns() - since;
	return true;
}

static void *race_kicker(void *arg)
{
	struct vcpu *v = arg;
	struct race *r = v->vm->ops->priv;
	struct race_vcpu *rv = &r->v[v->id];
	const struct mcefwd_mailbox *mb = vm_mailbox(v->vm, v->id);
	const struct mce_event notice = { .kind = MCE_EVENT_NOTICE, .origin = MCE_ORIGIN_FANOUT };
	unsigned long long entries = 0;
	char name[16];

	snprintf(name, sizeof(name), "kicker-%u", v->id);
	pthread_setname_np(pthread_self(), name);

	for (rv->done = 0; rv->done < rv->quota && !atomic_load(&r->failed); rv->done++) {
		bool at_entry = race_rand(&rv->krng) & 1;
		long long t0, took;

		/* Until the vCPU is on its way into KVM_RUN again since the last kick. */
		t0 = stress_now_ns();
		while (at_entry && atomic_load(&rv->entries) == entries) {
			if (stress_now_ns() - t0 > RACE_LOST_NS) {
				printf("# vcpu-%u: did not come back to KVM_RUN after kick %lu\n",
				       v->id, rv->done);
				atomic_store(&r->failed, 1);
				return NULL;
			}
			race_pause(t0);
		}
		race_spin_ns((long long)(race_rand(&rv->krng) % (r->max_delay_us * 1000ULL + 1)));
		entries = atomic_load(&rv->entries);
		t0 = stress_now_ns();
		/* What route_to() does: the event first, then the kick. */
		if (!ring_mpsc_push(&v->fwd.inbox, &notice)) {
			printf("# vcpu-%u: inbox full at kick %lu, with one event in flight\n",
			       v->id, rv->done + 1);
			atomic_store(&r->failed, 1);
			return NULL;
		}
		kick(v, VCPU_REQ_WORK);
		if (at_entry)
			rv->early += t0 < atomic_load(&rv->ioctl_at);
		else
			rv->follow++;
		if (!race_wait_done(mb, rv->done + 1, t0, &took)) {
			printf("# vcpu-%u: kick %lu lost: its event is still unhandled after 10 s (requests 0x%x)\n",
			       v->id, rv->done + 1, atomic_load(&v->requests));
			rv->lost++;
			atomic_store(&r->failed, 1);
			return NULL;
		}
		rv->sum_ns += took;
		if (took > rv->max_ns)
			rv->max_ns = took;
	}
	return NULL;
}

static void race_usage(void)
{
	fprintf(stderr, "usage: kick-race [-n KICKS] [-v VCPUS] [-k immediate|sigmask] [-p spin|idle] [-d MAX_DELAY_US] [-s SEED] [-t SECONDS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long kicks = 2000, vcpus = 4, delay = 20, secs = 120, seed = 0;
	unsigned long done = 0, early = 0, follow = 0;
	long long max_ns = 0, sum_ns = 0;
	const char *payload = "spin";
	enum kick_mode kick_mode = KICK_IMMEDIATE;
	static const struct vm_ops ops_template = { .before_run = race_before_run };
	struct vm_ops ops = ops_template;
	struct race *r = calloc(1, sizeof(*r));
	struct vm_config cfg;
	struct payload p;
	struct kvm kvm;
	long long t0;
	int opt;

	if (!r)
		return 1;
	while ((opt = getopt(argc, argv, "n:v:k:p:d:s:t:")) != -1) {
		switch (opt) {
		case 'n':
			kicks = strtoul(optarg, NULL, 0);
			break;
		case 'v':
			vcpus = strtoul(optarg, NULL, 0);
			break;
		case 'k':
			if (kick_mode_parse(optarg, &kick_mode))
				race_usage();
			break;
		case 'p':
			payload = optarg;
			break;
		case 'd':
			delay = strtoul(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoul(optarg, NULL, 0);
			break;
		case 't':
			secs = strtoul(optarg, NULL, 0);
			break;
		default:
			race_usage();
		}
	}
	if (!kicks || !vcpus || vcpus > 64 || !secs || (strcmp(payload, "spin") && strcmp(payload, "idle")))
		race_usage();
	if (!seed)
		seed = (unsigned long)time(NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (kvm_open(&kvm) < 0) {
		printf("ok 1 - kick race # SKIP %s\n", error_get());
		return 0;
	}
	cfg = (struct vm_config){
		.ram_size = 16UL << 20, .mem_kind = MEM_ANON, .nr_vcpus = (unsigned int)vcpus,
		.mcg_cap = mce_default_mcg_cap(), .kick = kick_mode, .numa_node = -1,
		.fwd = { .profile = MCE_PROFILE_DEFAULT, .bank = MCE_QEMU_BANK },
	};
	r->nr_vcpus = (unsigned int)vcpus;
	r->max_delay_us = (unsigned int)delay;
	if (test_payload_get(payload, &p) < 0 || vm_create(&r->vm, &kvm, &cfg) < 0) {
		printf("not ok 1 - kick race: setting up: %s\n", error_get());
		return 1;
	}
	ops.priv = r;
	r->vm.ops = &ops;
	if (vm_load(&r->vm, p.image, p.image_len) < 0) {
		printf("not ok 1 - kick race: %s\n", error_get());
		return 1;
	}
	for (unsigned int i = 0; i < r->nr_vcpus; i++) {
		r->v[i].quota = kicks / vcpus + (i < kicks % vcpus);
		r->v[i].rng = seed * 2654435761UL + 2 * i + 1;
		r->v[i].krng = seed * 40503UL + 2 * i + 7;
	}
	if (stress_watchdog_start("kick race", time(NULL) + (time_t)secs, race_hung, r) < 0) {
		printf("not ok 1 - kick race: cannot start the watchdog\n");
		return 1;
	}

	t0 = stress_now_ns();
	if (vm_start(&r->vm) < 0) {
		printf("not ok 1 - kick race: %s\n", error_get());
		return 1;
	}
	for (unsigned int i = 0; i < r->nr_vcpus; i++)
		pthread_create(&r->v[i].kicker, NULL, race_kicker, r->vm.vcpus[i]);
	for (unsigned int i = 0; i < r->nr_vcpus; i++) {
		pthread_join(r->v[i].kicker, NULL);
		done += r->v[i].done;
		early += r->v[i].early;
		follow += r->v[i].follow;
		sum_ns += r->v[i].sum_ns;
		if (r->v[i].max_ns > max_ns)
			max_ns = r->v[i].max_ns;
	}
	if (atomic_load(&r->failed))
		race_dump(r, "a kick was lost");
	/* The stop is a kick too: every vCPU must leave, parked or spinning. */
	vm_stop_and_join(&r->vm);
	for (unsigned int i = 0; i < r->nr_vcpus; i++) {
		if (r->vm.vcpus[i]->res.outcome != VCPU_STOPPED) {
			printf("# vcpu-%u: %s %s\n", i, vcpu_outcome_name(r->vm.vcpus[i]->res.outcome),
			       r->vm.vcpus[i]->res.error);
			atomic_store(&r->failed, 1);
		}
	}
	printf("%s 1 - kick race: %lu of %lu kicks' events handled on %lu vCPUs (%s, kick=%s), %lu at 0-%lu us after the requests check (%lu before the KVM_RUN ioctl), %lu right behind the previous event, seed %lu: kick to handled %.1f us mean, %.1f ms max, in %.1f s\n",
	       atomic_load(&r->failed) ? "not ok" : "ok", done, kicks, vcpus, payload,
	       kick_mode_name(kick_mode), done - follow, delay, early, follow, seed,
	       done ? sum_ns / 1000.0 / done : 0.0, max_ns / 1e6, (stress_now_ns() - t0) / 1e9);
	opt = atomic_load(&r->failed) ? 1 : 0;
	vm_destroy(&r->vm);
	kvm_close(&kvm);
	free(r);
	return opt;
}
