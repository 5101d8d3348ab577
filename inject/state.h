/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The state file: every page frame mcefwd has poisoned, so that none is
 * ever left poisoned without saying so. Text, one record per line, only
 * ever appended; each record is one write() and is fdatasync()ed before
 * state_record_*() returns:
 *
 *   poisoned pfn=0x1234 pid=42 addr=0x7f5a00000000 size=4096 method=pfn time=1718000000 boot=<id>
 *   unpoisoned pfn=0x1234
 *
 * The last record of a frame wins (poisoned, unpoisoned, poisoned again is
 * poisoned). A crash leaves a consistent prefix: a last line without '\n'
 * is torn, ignored and counted. The writer never rewrites, so when it opens
 * a file that ends in a torn line it ends that line with "\ttorn\n" and the
 * next record starts a line of its own; such lines are counted as torn too.
 * Empty lines and lines starting with '#' are ignored, unknown key=value
 * fields are ignored (room for later versions; "unpoisoned ... reason=reboot"
 * uses that), anything else is an error naming the line.
 *
 * boot= is the kernel's boot_id when the frame was poisoned: software
 * poison does not survive a reboot, so replay only notes frames of an
 * earlier boot as gone. Records without boot= are taken as of this boot.
 *
 * Record a frame right after the method poisoned it, before telling anyone
 * else: every method with INJECT_F_FRAME (hwpoison, pfn, soft-offline: the
 * old frame, pfn_before; einj: pfn = phys_addr >> 12). signal and uffd
 * poison no frame and are never recorded; uffd poison is undone in-process.
 */
#ifndef MCEFWD_INJECT_STATE_H
#define MCEFWD_INJECT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "inject/inject.h"

#define STATE_DEFAULT_DIR "/var/lib/mcefwd"
#define STATE_DEFAULT_PATH STATE_DEFAULT_DIR "/state"
#define STATE_BOOT_ID_LEN 36 /* /proc/sys/kernel/random/boot_id, a UUID */

struct state_entry {
	uint64_t pfn;
	pid_t pid;			  /* whose page it was; 0 for einj */
	uint64_t addr;			  /* its address in pid; einj: the physical address */
	size_t size;			  /* bytes poisoned from addr */
	enum inject_method method;	  /* einj, hwpoison, pfn or soft-offline */
	int64_t time;			  /* UNIX seconds; recording 0 writes "now" */
	char boot[STATE_BOOT_ID_LEN + 1]; /* "" if unknown; set by the writer */
};

#define STATE_LINE_MAX 512	      /* bytes of a line, its '\n' included */
#define STATE_TORN_MARK "\ttorn" /* ends a line a crash cut short (see above) */

struct state;

/* Pure: whether s[0..len) can be a boot_id (lower-case hex and '-', at most 36). */
bool state_boot_id_valid(const char *s, size_t len);

/* $MCEFWD_STATE if set and not empty, else STATE_DEFAULT_PATH. */
const char *state_default_path(void);

/*
 * Open (create 0600, missing directories 0700) path for appending, NULL
 * meaning state_default_path(). O_NOFOLLOW: the file itself may not be a
 * symlink. Ends a torn last line (see above). 0/-errno.
 */
int state_open(const char *path, struct state **out);

/*
 * Append "poisoned ..." for e (e->boot is ignored: the writer's boot_id is
 * written) and fdatasync. -EINVAL for a method that poisons no frame.
 * On any error the frame is poisoned but not durably recorded: undo it or
 * tell the user.
 */
int state_record_poison(struct state *s, const struct state_entry *e);
/* Append "unpoisoned pfn=0x..." and fdatasync. 0/-errno. */
int state_record_unpoison(struct state *s, uint64_t pfn);
void state_close(struct state *s);

/*
 * Pure: the frames text leaves poisoned, in the order of their last
 * "poisoned" record, into out[0..*n). *torn counts torn lines (may be
 * NULL). -EINVAL with error_get() naming the line for a malformed one,
 * -ENOSPC if more than max frames are poisoned at some point.
 */
int state_parse(const char *text, struct state_entry *out, size_t max, size_t *n,
		unsigned int *torn);

/* A frame state_replay() could not clear, and how to clear it by hand. */
struct state_left {
	struct state_entry entry;
	int err; /* -errno of unpoison-pfn, 0 if it was not tried */
	char reason[256];
	char command[256]; /* "echo 0x1234 > .../hwpoison/unpoison-pfn ..." */
};

struct state_replay_result {
	size_t poisoned;   /* frames the file listed as still poisoned */
	size_t unpoisoned; /* cleared through unpoison-pfn just now */
	size_t rebooted;   /* poisoned in an earlier boot: nothing left to undo */
	size_t nr_left;	   /* still poisoned: left[0..nr_left) */
	struct state_left *left;
	unsigned int torn; /* torn lines in the file: records may be missing */
};

/*
 * The --unpoison-all engine. For each frame path lists as poisoned: of an
 * earlier boot, append "unpoisoned ... reason=reboot"; else if
 * inject_pfn_can_unpoison(), unpoison it and append "unpoisoned"; else (or
 * if unpoisoning fails) list it in res->left with the command that would
 * clear it. A missing file is nothing to do. Returns 0 even when frames are
 * left (see res->nr_left), -errno if the file cannot be read, parsed or
 * appended to. res is filled either way: release it with state_replay_free().
 */
int state_replay(const char *path, struct state_replay_result *res);
void state_replay_free(struct state_replay_result *res);

#endif /* MCEFWD_INJECT_STATE_H */
