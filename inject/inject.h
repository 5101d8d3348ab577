/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host-side poisoning: every way mcefwd can make a page of guest memory
 * "bad", how to tell whether this host supports it, and how to undo it.
 *
 * Library rules: functions return 0/-errno (commands), bool (predicates)
 * or a pointer; nothing here prints or exits.
 */
#ifndef MCEFWD_INJECT_H
#define MCEFWD_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/capability.h>

/* From most to least real (DESIGN.md, "Poison methods"). */
enum inject_method {
	INJECT_EINJ,		/* ACPI EINJ via debugfs: a real hardware error */
	INJECT_HWPOISON,	/* madvise(MADV_HWPOISON) */
	INJECT_PFN,		/* debugfs hwpoison/corrupt-pfn + pagemap */
	INJECT_SOFT_OFFLINE,	/* madvise(MADV_SOFT_OFFLINE) */
	INJECT_UFFD,		/* UFFDIO_POISON, kernel >= 6.6 */
	INJECT_SIGNAL,		/* the thread sends itself SIGBUS MCEERR */
	INJECT_METHOD_COUNT
};

/* "einj", "hwpoison", "pfn", "soft-offline", "uffd", "signal"; NULL if out of range. */
const char *inject_method_name(enum inject_method m);
/* 0, or -EINVAL for a name that is not exactly one of the above. */
int inject_method_parse(const char *name, enum inject_method *out);

/* ---- probe.c: what this host supports, without side effects ---- */

struct inject_probe {
	bool available;
	char why[200];	/* why available, or what is missing and what to do */
};

/*
 * Never poisons, loads a module or mounts anything; leaves no fd or
 * mapping behind. probe->why is always a non-empty sentence.
 */
void inject_probe(enum inject_method m, struct inject_probe *probe);

/*
 * The most real available method, never INJECT_EINJ (a real hardware
 * error is never injected unless asked for by name). why receives which
 * one was picked and why each more real one was not.
 */
enum inject_method inject_auto(char *why, size_t len);

/* ---- privs.c ---- */

/* Whether the calling thread holds cap in its effective set. */
bool inject_has_cap(cap_value_t cap);
bool inject_has_cap_sys_admin(void);
/* The thread's capabilities in cap_to_text(3) form ("=ep" for root); 0/-errno, -ENOSPC if truncated. */
int inject_caps_describe(char *buf, size_t len);

/* ---- signal.c ---- */

/*
 * The calling thread sends itself SIGBUS with si_code BUS_MCEERR_AR or
 * BUS_MCEERR_AO (anything else: -EINVAL), si_addr = hva, si_addr_lsb = lsb,
 * as the kernel's memory-failure path would. 0/-errno. If SIGBUS is not
 * blocked, the handler has run by the time this returns.
 */
int inject_signal_self(int si_code, void *hva, short lsb);

/* ---- uffd.c ---- */

struct inject_uffd;

/*
 * Poison [page_hva, page_hva + page_size) of a private anonymous mapping of
 * this process with UFFDIO_POISON. page_hva must be page aligned and
 * page_size a non-zero multiple of the page size. The page's contents are
 * discarded (MADV_DONTNEED) first: UFFDIO_POISON only marks non-present
 * ptes. A later access gets SIGBUS (BUS_MCEERR_AR with memory-failure
 * support, BUS_ADRERR without); a KVM access gets the hwpoison pfn.
 * On success *out owns the userfaultfd; release it with
 * inject_uffd_unpoison(). 0/-errno; on error see inject_uffd_failed_step().
 */
int inject_uffd_poison(void *page_hva, size_t page_size, struct inject_uffd **out);

/*
 * Unregister, drop the poison (only MADV_DONTNEED removes the marker; it
 * outlives the userfaultfd), close and free u, even on error: the next
 * touch gets a fresh zero page. 0/-errno of the first step that failed.
 */
int inject_uffd_unpoison(struct inject_uffd *u);

/*
 * The step that failed in this thread's last failing inject_uffd_*() call
 * ("UFFDIO_POISON", "MADV_DONTNEED", ...), for "%s: %s", step, strerror(-ret).
 */
const char *inject_uffd_failed_step(void);

/*
 * Whether UFFDIO_POISON works here: opens a userfaultfd, registers a
 * scratch one-page mapping, checks the ioctl is offered, undoes it all.
 * why as for struct inject_probe.
 */
bool inject_uffd_available(char *why, size_t len);

/* ---- hwpoison.c ---- */

/*
 * madvise(MADV_HWPOISON) on [page, page + size) of this process: needs
 * CAP_SYS_ADMIN and CONFIG_MEMORY_FAILURE. The frame stays poisoned until
 * debugfs hwpoison/unpoison-pfn clears it. 0/-errno.
 */
int inject_hwpoison(void *page, size_t size);

#endif /* MCEFWD_INJECT_H */
