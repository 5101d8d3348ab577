// SPDX-License-Identifier: GPL-2.0-only
/*
 * mcefwd-inject --pid PID (--addr VA | --qmp SOCKET --gpa GPA): poison guest
 * RAM of a KVM VMM, and only that.
 *
 *   1. pin the target (pin.h): a pidfd and its start time, held to the end;
 *   2. prove it: every safety rule (safety.h), then a KVM VMM (it holds a
 *      kvm-vm descriptor) and the address its guest RAM (QEMU's gpa2hva
 *      through QMP, or mcefwd's named RAM), unless --any-process;
 *   3. for each page: look the frame up; check the pin; narrow corrupt-pfn
 *      with the hwpoison filter where it can be (filter.h); write; record;
 *      then check that the page is still that frame in the same mapping of
 *      the same live process: a mismatch is said loudly and undone at once;
 *   4. keep, hold or undo, as asked.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inject/cmd.h"
#include "inject/filter.h"
#include "inject/maps.h"
#include "inject/pagemap.h"
#include "inject/pin.h"
#include "inject/qmp.h"
#include "inject/state.h"
#include "inject/vmm.h"
#include "mcefwd/util/error.h"

#define PAGE 4096UL

/* What a page was when its frame was looked up, to compare after the write. */
struct page_ref {
	uint64_t va, pfn;
	struct maps_entry map;
};

static int fail(const char *what)
{
	fprintf(stderr, "mcefwd-inject: %s%s%s\n", what ? what : "", what ? ": " : "",
		error_get());
	return EXIT_FAIL;
}

/* The mapping holding va now; -ENOENT when none. */
static int mapping_of(pid_t pid, uint64_t va, struct maps_entry *out)
{
	struct maps_entry *maps;
	const struct maps_entry *m;
	size_t n;
	int r = maps_read(pid, &maps, &n);

	if (r)
		return r;
	m = maps_find(maps, n, va);
	if (m)
		*out = *m;
	maps_free(maps);
	return m ? 0 : error_set(ENOENT, "0x%" PRIx64 " is not mapped in pid %d", va, (int)pid);
}

/* Step 2: the rules allow the range, the target is a KVM VMM and the range its guest RAM. */
static int prove(struct inject_opts *o, const struct pin *pin)
{
	size_t size = o->pages * PAGE;
	struct maps_entry *maps;
	char region[128];
	size_t n;
	int r, fd;

	if (o->qmp) {
		uint64_t hva;

		if (qmp_gpa2hva(o->qmp, o->pid, o->gpa, &hva, region, sizeof(region)))
			return fail(NULL);
		printf("QEMU pid %d: gpa 0x%" PRIx64 " is 0x%" PRIx64 " in its RAM block %s\n",
		       (int)o->pid, o->gpa, hva, region);
		o->addr = hva & ~(PAGE - 1);
	}
	if (inject_target_check(o->pid, o->addr, size, NULL, 0) < 0)
		return fail(NULL);
	if (o->any_process) {
		printf("--any-process: pid %d need not be a KVM VMM, nor 0x%" PRIx64 " its guest RAM\n",
		       (int)o->pid, o->addr);
	} else {
		if (vmm_find_kvm_vm(o->pid, &fd))
			return fail("refused");
		printf("pid %d is a KVM VMM (fd %d is %s)\n", (int)o->pid, fd, VMM_KVM_VM_LINK);
		if (!o->qmp) {
			r = maps_read(o->pid, &maps, &n);
			if (r)
				return fail(NULL);
			r = vmm_judge_ram(maps, n, o->pid, o->addr, size);
			maps_free(maps);
			if (r)
				return fail(NULL);
			printf("0x%" PRIx64 "+0x%zx is in its guest RAM, named as mcefwd names it\n",
			       o->addr, size);
		}
	}
	/* Everything read by PID above was of the pinned process. */
	if (pin_check(pin))
		return fail("refused");
	printf("pid %d 0x%" PRIx64 "+0x%zx: allowed by every safety rule\n", (int)o->pid, o->addr,
	       size);
	return EXIT_OK;
}

/* MCEFWD_INJECT_HOOK: wait until the test has done its worst. */
static void hook_wait(const char *fifo, const struct page_ref *ref)
{
	char buf[64];
	int fd;

	printf("hook: pfn 0x%" PRIx64 " of 0x%" PRIx64 " looked up; waiting on %s\n", ref->pfn,
	       ref->va, fifo);
	fflush(stdout);
	fd = open(fifo, O_RDONLY | O_CLOEXEC);
	while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
		;
	if (fd >= 0)
		close(fd);
}

static int lookup(pid_t pid, uint64_t va, struct page_ref *ref)
{
	int r;

	ref->va = va;
	r = inject_pfn_lookup(pid, va, &ref->pfn);
	if (!r)
		r = mapping_of(pid, va, &ref->map);
	return r ? error_wrap(-r, "frame of 0x%" PRIx64 " in pid %d", va, (int)pid) : 0;
}

/*
 * After the write: the process is the pinned one, va is still in the same
 * mapping (kind, file, name), and pagemap still names the frame written:
 * mapped at it, or a hwpoison entry for it (the kernel unmaps a page it
 * poisoned). 0, or -EIO with error_get() saying what changed.
 */
static int verify(const struct pin *pin, const struct page_ref *ref, bool *unseen)
{
	const struct maps_entry *was = &ref->map;
	struct pagemap_info pi;
	struct maps_entry now;

	*unseen = false;
	if (pin_check(pin))
		return error_wrap(EIO, "the target changed since the write");
	if (pagemap_read(pin->pid, ref->va, &pi))
		return error_wrap(EIO, "the page cannot be read back");
	if (mapping_of(pin->pid, ref->va, &now))
		return error_wrap(EIO, "the mapping is gone");
	if (now.kind != was->kind || now.inode != was->inode || now.dev_major != was->dev_major ||
	    now.dev_minor != was->dev_minor || strcmp(now.path, was->path))
		return error_set(EIO, "0x%" PRIx64 " is now in a mapping of kind %s%s%s, not the %s mapping%s%s",
				 ref->va, maps_kind_name(now.kind), now.path[0] ? " " : "", now.path,
				 maps_kind_name(was->kind), was->path[0] ? " " : "", was->path);
	if (pi.present && pi.pfn == ref->pfn)
		return 0;
	if (pi.swapped && !pi.present && pi.swap_offset == ref->pfn)
		return 0;
	/* pagemap shows no swap entry of a huge page: a poisoned one reads as absent. */
	if ((was->kind == MAPS_HUGETLB_ANON || was->kind == MAPS_HUGETLB_FILE) && !pi.present &&
	    !pi.swapped) {
		*unseen = true;
		return 0;
	}
	if (pi.present)
		return error_set(EIO, "0x%" PRIx64 " is now frame 0x%" PRIx64, ref->va, pi.pfn);
	return error_set(EIO, "0x%" PRIx64 " is no longer in memory%s", ref->va,
			 pi.swapped ? " (swapped out)" : " (freed)");
}

/*
 * Gives back what u[0..n) took, recording each frame that comes back. A
 * frame a method cannot give back (no unpoison(): a real hardware error)
 * stays out of service until the machine reboots.
 */
static int undo(struct state *st, const struct inject_method_ops *ops, struct inject_undo *u,
		size_t n)
{
	int status = EXIT_OK;

	for (size_t i = 0; i < n; i++) {
		uint64_t pfn = u[i].pfn;
		int r = ops->unpoison ? ops->unpoison(&u[i]) : -EOPNOTSUPP;

		if (r == 0) {
			state_record_unpoison(st, pfn);
			printf("unpoisoned pfn 0x%llx\n", (unsigned long long)pfn);
			continue;
		}
		status = EXIT_FAIL;
		printf("left poisoned: pfn 0x%llx: %s\n  to clear it: %s\n",
		       (unsigned long long)pfn, ops->unpoison ? error_get() : ops->no_undo,
		       ops->unpoison ? "mcefwd-inject --unpoison-all (after: modprobe hwpoison_inject; mount -t debugfs none /sys/kernel/debug)" :
				       "reboot");
	}
	return status;
}

/* Step 3 for one page: 0 poisoned and proven, 1 not poisoned (said why), -1 stop. */
static int poison_one(const struct inject_opts *o, const struct pin *pin, struct state *st,
		      const struct inject_method_ops *ops, uint64_t va, struct inject_undo *u)
{
	struct filter_saved fs = { 0 };
	struct page_ref ref;
	char why[512] = "";
	bool unseen;
	int r;

	if (lookup(o->pid, va, &ref)) {
		fail(NULL);
		return -1;
	}
	if (o->hook)
		hook_wait(o->hook, &ref);
	if (pin_check(pin)) {
		fprintf(stderr, "mcefwd-inject: not writing pfn 0x%" PRIx64 ": %s\n", ref.pfn,
			error_get());
		return -1;
	}
	if (o->method == INJECT_PFN && filter_arm(ref.pfn, &fs, why, sizeof(why))) {
		fail("not writing");
		return -1;
	}
	if (why[0])
		printf("hwpoison filter: %s%s\n", fs.armed ? "" : "not narrowed: ", why);
	r = ops->poison(&(struct inject_page){ .pid = o->pid, .hva = (void *)(uintptr_t)va,
					       .size = PAGE, .pfn = ref.pfn }, u);
	if (filter_restore(&fs))
		fprintf(stderr, "mcefwd-inject: THE HWPOISON FILTER IS STILL SET: %s; put it back: echo 0 > %s/hwpoison/corrupt-filter-enable; echo %" PRIu64 " > %s/hwpoison/corrupt-filter-memcg\n",
			error_get(), inject_debugfs_root(), fs.old_memcg, inject_debugfs_root());
	if (r < 0) {
		fprintf(stderr, "mcefwd-inject: poisoning pfn 0x%" PRIx64 ": %s\n", ref.pfn, error_get());
		return -1;
	}
	/* Recorded before anything else can happen to us. */
	if (state_record_poison(st, &(struct state_entry){
				.pfn = ref.pfn, .pid = o->pid, .addr = va, .size = PAGE,
				.method = o->method, .time = (int64_t)time(NULL) }) < 0) {
		fprintf(stderr, "mcefwd-inject: recording pfn 0x%" PRIx64 " in %s failed: %s; undoing it\n",
			ref.pfn, o->state, error_get());
		if (ops->unpoison)
			ops->unpoison(u);
		return -1;
	}
	printf("poisoned pfn 0x%" PRIx64 " (pid %d, 0x%" PRIx64 ") with %s; recorded in %s\n",
	       ref.pfn, (int)o->pid, va, ops->name, o->state);
	if (verify(pin, &ref, &unseen)) {
		fprintf(stderr, "mcefwd-inject: MISMATCH after writing pfn 0x%" PRIx64 " for 0x%" PRIx64 " of pid %d: %s; undoing it at once\n",
			ref.pfn, va, (int)o->pid, error_get());
		undo(st, ops, u, 1);
		return -1;
	}
	if (unseen)
		printf("0x%" PRIx64 ": a poisoned huge page reads as absent in pagemap\n", va);
	/* corrupt-pfn runs memory_failure() in the write: a dropped write shows at once. */
	if (o->method == INJECT_PFN && inject_pfn_poisoned(ref.pfn) == 0) {
		fprintf(stderr, "mcefwd-inject: pfn 0x%" PRIx64 " is not poisoned after the write: the kernel dropped it (a hwpoison filter?)\n",
			ref.pfn);
		state_record_unpoison(st, ref.pfn);
		return 1;
	}
	return 0;
}

int cmd_inject(struct inject_opts *o, const atomic_int *stop)
{
	const struct inject_method_ops *ops = inject_method(o->method);
	struct inject_undo *undos = NULL;
	struct inject_probe probe;
	struct state *st = NULL;
	struct pin pin = { .pid = -1, .pidfd = -1 };
	size_t done = 0;
	int r, status;

	if (!inject_has_cap_sys_admin()) {
		fprintf(stderr, "mcefwd-inject: needs CAP_SYS_ADMIN (to read frame numbers from /proc/%d/pagemap and write debugfs): run as root\n",
			(int)o->pid);
		return EXIT_SKIP;
	}
	/* The proofs and the rules first: a refusal is the same on every host. */
	if (pin_open(o->pid, &pin))
		return fail(NULL);
	if (pin.pidfd < 0)
		printf("pid %d is pinned by its start time only: pidfd_open is not implemented here (Linux before 5.3, or valgrind)\n",
		       (int)o->pid);
	status = prove(o, &pin);
	if (status || o->dry_run)
		goto out;
	inject_probe(o->method, &probe);
	if (!probe.available) {
		fprintf(stderr, "mcefwd-inject: --method=%s is not available here: %s\n",
			ops->name, probe.why);
		status = EXIT_SKIP;
		goto out;
	}
	if (o->method == INJECT_PFN && inject_pfn_ready()) {
		status = fail(NULL);
		goto out;
	}
	undos = calloc(o->pages, sizeof(*undos));
	if (!undos) {
		status = EXIT_FAIL;
		goto out;
	}
	r = state_open(o->state, &st);
	if (r < 0) {
		fprintf(stderr, "mcefwd-inject: state file %s: %s\n", o->state, error_get());
		status = EXIT_FAIL;
		goto out;
	}
	for (done = 0; done < o->pages; done++) {
		r = poison_one(o, &pin, st, ops, o->addr + done * PAGE, &undos[done]);
		if (r) {
			status = EXIT_FAIL;
			break;
		}
	}
	/*
	 * Undoing needs what poisoning needed (unpoison-pfn checks
	 * CAP_SYS_ADMIN itself: mm/hwpoison-inject.c hwpoison_unpoison): keep
	 * the method's capabilities, give up every other.
	 */
	inject_caps_keep(ops->caps, (int)ops->nr_caps);
	if (status == EXIT_OK && o->keep) {
		printf("--keep: left poisoned; undo with mcefwd-inject --unpoison-all --state %s\n",
		       o->state);
		goto out;
	}
	if (status == EXIT_OK && o->hold != 0) {
		if (o->hold < 0)
			printf("holding until SIGINT or SIGTERM (Ctrl-C)\n");
		else
			printf("holding for %ld s\n", o->hold);
		fflush(stdout);
		for (long t = 0; !atomic_load(stop) && (o->hold < 0 || t < o->hold * 10); t++)
			usleep(100000);
		if (atomic_load(stop))
			printf("%s: undoing\n", strsignal(atomic_load(stop)));
	}
	if (undo(st, ops, undos, done) != EXIT_OK)
		status = EXIT_FAIL;
out:
	if (st)
		state_close(st);
	free(undos);
	pin_close(&pin);
	return status;
}
