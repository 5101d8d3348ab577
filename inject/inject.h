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
#include <stdint.h>
#include <sys/capability.h>
#include <sys/types.h>

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

struct inject_probe {
	bool available;
	char why[512];	/* why available, or what is missing and what to do */
};

/* ---- method.c: one table of the methods; each method in its own file ---- */

struct inject_uffd;

/* What soft offline did to a range (see inject_soft_offline()). */
struct inject_soft_offline_result {
	uint64_t pfn_before;	/* frame of the first page before, 0 if hidden */
	uint64_t pfn_after;	/* and after, 0 if hidden or not present */
	bool contents_preserved;	/* the range reads as it did before */
	bool frame_changed;	/* every page moved to a new frame */
	bool pfn_visible;	/* pagemap gave PFNs before and after */
};

/* One page (or range) of a process, as a method is given it. */
struct inject_page {
	pid_t pid;		/* 0: this process */
	void *hva;		/* page aligned, in pid's address space */
	size_t size;		/* a non-zero multiple of the page size */
	uint64_t pfn;		/* the frame behind hva: set by the caller for INJECT_F_FRAME methods, else 0 */
	int si_code;		/* signal: BUS_MCEERR_AR or BUS_MCEERR_AO */
	short lsb;		/* signal: si_addr_lsb */
};

/* What undoing a poisoning takes: filled by poison(), used by unpoison(). */
struct inject_undo {
	enum inject_method method;
	uint64_t pfn;				/* a frame taken out of service; 0: none */
	struct inject_uffd *uffd;		/* uffd's registration; NULL: none */
	struct inject_soft_offline_result so;	/* soft-offline: what moved */
	/*
	 * hwpoison: the kernel killed the helper that called madvise with
	 * SIGBUS BUS_MCEERR_AR (MADV_HWPOISON is action-required for its
	 * caller since Linux 6.11; hwpoison.c says more).
	 */
	bool caller_killed;
	/* How the method went about it, where that is worth a line of the run: static text, or NULL. */
	const char *note;
};

#define INJECT_F_FRAME		(1u << 0) /* takes a frame out of service: look its pfn up first, record it (state.h) */
#define INJECT_F_MEMORY_FAILURE	(1u << 1) /* goes through memory_failure(): PR_MCE_KILL decides AO (early) or AR (late) */
#define INJECT_F_OTHER_PROCESS	(1u << 2) /* can poison another process's page (pid != 0) */
#define INJECT_F_AUTO		(1u << 3) /* --poison=auto may pick it (never EINJ) */
#define INJECT_F_UNDO		(1u << 4) /* unpoison() can undo it (not EINJ: the kernel keeps a real hardware error until reboot; not signal: nothing to undo) */
#define INJECT_F_THREAD		(1u << 5) /* acts on the calling thread (signal): call poison() on the thread that must get the SIGBUS */
#define INJECT_F_NO_MEMORY	(1u << 6) /* poisons no memory (signal): the guest's access completes */
#define INJECT_F_MIGRATES	(1u << 7) /* moves the page to a new frame, contents kept, no SIGBUS (soft-offline) */

struct inject_method_ops {
	enum inject_method id;
	const char *name;		/* "hwpoison", as on the command line */
	const char *what;		/* "madvise(MADV_HWPOISON)", for messages */
	unsigned int flags;		/* INJECT_F_* */
	const cap_value_t *caps;	/* capabilities it needs */
	unsigned int nr_caps;
	/* Without INJECT_F_OTHER_PROCESS: why it only reaches the caller's own memory. */
	const char *self_only;
	/* Without INJECT_F_UNDO: why, for a message about what is left poisoned. */
	const char *no_undo;
	/* What this host supports, without side effects (see inject_probe); fills all of *out. */
	void (*probe)(struct inject_probe *out);
	/*
	 * 0/-errno; on success *undo says what unpoison() needs. On error
	 * error_get() says what failed and, where it can, what to do; a
	 * caller adds which page (and ->what, if its words need it).
	 * Refuses (-EINVAL) a page that is not whole pages, another process's
	 * page without INJECT_F_OTHER_PROCESS, and, with INJECT_F_FRAME, a
	 * range of more than one page or no pfn: one frame, one record.
	 */
	int (*poison)(const struct inject_page *pg, struct inject_undo *undo);
	/*
	 * 0/-errno, error_get() saying why; NULL when the method cannot be
	 * undone (no INJECT_F_UNDO). A frame that comes back is for the
	 * caller to record (state_record_unpoison(undo->pfn)); undo->uffd is
	 * released and NULL afterwards, whatever the result.
	 */
	int (*unpoison)(struct inject_undo *undo);
};

/* The table, in enum order (most to least real); NULL out of range. */
const struct inject_method_ops *inject_method(enum inject_method m);

/* ---- probe.c: what this host supports, without side effects ---- */

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
/*
 * Gives up every capability but those in keep[] (and of those only what the
 * process holds now), for good: permitted and effective sets both. 0/-errno.
 */
int inject_caps_keep(const cap_value_t *keep, int n);

/* ---- signal.c ---- */

/*
 * The calling thread sends itself SIGBUS with si_code BUS_MCEERR_AR or
 * BUS_MCEERR_AO (anything else: -EINVAL), si_addr = hva, si_addr_lsb = lsb,
 * as the kernel's memory-failure path would. 0/-errno. If SIGBUS is not
 * blocked, the handler has run by the time this returns.
 */
int inject_signal_self(int si_code, void *hva, short lsb);

/* ---- uffd.c ---- */

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
/*
 * The same from a helper process that shares the frame (fork), so this
 * process meets the failure as the frame's other user, whatever the
 * kernel does to the caller: an early-kill AO at once, or an AR at its
 * next access. *caller_killed: the kernel killed the helper with SIGBUS
 * BUS_MCEERR_AR (Linux 6.11 and later). The page must be present and not
 * written by this process until the call returns. 0/-errno.
 */
int inject_hwpoison_shared(void *page, size_t size, bool *caller_killed);
/* The helper's name (comm), as the kernel's memory-failure messages say it. */
#define HWPOISON_HELPER_NAME "mcefwd-hwpoison"

/* ---- pfn.c: debugfs hwpoison/corrupt-pfn, on any process ---- */

/*
 * Where debugfs and procfs are looked for: /sys/kernel/debug and /proc
 * unless set (tests point them at a directory of fake files); NULL restores
 * the default. 0, or -ENAMETOOLONG. Not thread-safe: set before use.
 */
int inject_set_debugfs_root(const char *dir);
int inject_set_proc_root(const char *dir);
const char *inject_debugfs_root(void);
const char *inject_proc_root(void);

/*
 * The page frame behind vaddr in process pid (0: this process), from
 * /proc/PID/pagemap. -ENOENT if the page is not present (never touched,
 * swapped out, already poisoned), -EPERM if the PFN reads 0 (needs
 * CAP_SYS_ADMIN), -ESRCH if there is no such process. The frame of a
 * running process can change (migration, compaction, KSM): poison promptly.
 */
int inject_pfn_lookup(pid_t pid, uint64_t vaddr, uint64_t *pfn);

/*
 * Write "0x<pfn>\n" to debugfs hwpoison/corrupt-pfn. If debugfs is mounted
 * but the file is missing, runs "/sbin/modprobe hwpoison_inject" (no shell)
 * and retries; never mounts debugfs. The frame stays poisoned until
 * inject_pfn_unpoison(): record it (state.h) before returning to anyone.
 */
int inject_pfn_poison(uint64_t pfn);
/*
 * Makes sure hwpoison/corrupt-pfn is there (modprobe as above), so that
 * the filter knobs beside it are too. 0/-errno.
 */
int inject_pfn_ready(void);
/*
 * Whether the kernel marks pfn poisoned (KPF_HWPOISON in /proc/kpageflags,
 * under the procfs root): 1 or 0, or -errno if that cannot be read.
 */
int inject_pfn_poisoned(uint64_t pfn);
/* The same with hwpoison/unpoison-pfn; no module loading. 0/-errno. */
int inject_pfn_unpoison(uint64_t pfn);
/* Whether hwpoison/unpoison-pfn is there to be written, as things are now. */
bool inject_pfn_can_unpoison(void);
/* HardwareCorrupted from /proc/meminfo in kB; -1 if absent or unreadable. */
long inject_hardware_corrupted_kb(void);

/* ---- softoffline.c ---- */

/*
 * madvise(MADV_SOFT_OFFLINE) on [page, page + size) of this process, every
 * page of it present (-ENOENT otherwise: write to it first; reading an
 * absent page would map the shared zero page). The kernel migrates the
 * contents and takes the old frame (pfn_before) out of service, so it is
 * recorded like a poisoned one. No SIGBUS is expected. Returns 0 when the
 * madvise succeeded, whatever *out says; -errno otherwise.
 */
int inject_soft_offline(void *page, size_t size,
			struct inject_soft_offline_result *out);

/* ---- einj.c: ACPI EINJ via debugfs apei/einj (never chosen by auto) ---- */

#define INJECT_EINJ_MEM_UC_NONFATAL 0x10u	/* "Memory Uncorrectable non-fatal" */
#define INJECT_EINJ_FLAG_MEM 0x2u	/* flags: param1 address, param2 mask valid */
#define INJECT_EINJ_PAGE_MASK 0xfffffffffffff000ull

/*
 * Parse available_error_type ("0x00000010\tMemory Uncorrectable non-fatal"
 * lines; EINJv2 "V2_" lines are skipped) into a mask of types. 0, or
 * -EINVAL naming the line.
 */
int inject_einj_parse_types(const char *text, uint32_t *types);

/*
 * 0 if the EINJ table is there and debugfs apei/einj offers memory
 * uncorrectable non-fatal errors, else -errno; why says which, always.
 */
int inject_einj_available(char *why, size_t len);

/*
 * Raise a real uncorrectable memory error at phys_addr's page, as
 * Documentation/firmware-guide/acpi/apei/einj.rst says: error_type=0x10,
 * param1=phys_addr, param2=0xfffffffffffff000, flags=0x2, error_inject=1.
 * After a real hardware error the kernel refuses every unpoison until
 * reboot. 0/-errno.
 */
int inject_einj_memory(uint64_t phys_addr);

/* ---- target.c: the safety rules applied to a live process ---- */

struct safety_range;

/*
 * Pure: the stack pointer in a /proc/PID/task/TID/syscall line ("NR ARG1
 * .. ARG6 SP PC" for a thread in a system call, "-1 SP PC" for one blocked
 * otherwise). 0, -EAGAIN for "running" (on a CPU: it cannot be asked),
 * -EINVAL if malformed.
 */
int inject_parse_task_syscall(const char *text, uint64_t *sp);

/*
 * Reads pid's maps, its pagemap for [addr, addr + size) and its threads'
 * stack pointers, and applies every rule of inject/safety.h. allowed[] is the guest RAM the caller owns, for
 * pid == getpid(). 0 if the range may be poisoned, else -EPERM (or the
 * error reading /proc) with error_get() saying "refused: <rule's reason>".
 */
int inject_target_check(pid_t pid, uint64_t addr, size_t size,
			const struct safety_range *allowed, size_t nr_allowed);

#endif /* MCEFWD_INJECT_H */
