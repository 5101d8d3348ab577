/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The lab: a real memory-failure host with KVM, in software. Debian's own
 * kernel boots under QEMU's TCG (-cpu max: an AMD CPU with SVM), loads
 * kvm_amd and hwpoison_inject, sees this machine's root file system
 * read-only through virtio-9p under a throw-away writable layer, and runs
 * one command there, in the same directory with the same environment. The
 * command's output comes back as it is written, and its exit status is
 * the result. One boot per command.
 */
#ifndef MCEFWD_LAB_H
#define MCEFWD_LAB_H

#include <stdbool.h>
#include <stdio.h>

#include "mcefwd/util/error.h"
#include "mcefwd/cli/kernel_arg.h"
#include "mcefwd/lab/note.h"

#define LAB_DEFAULT_TIMEOUT_S	1800
#define LAB_DEFAULT_MEM_MB	4096
/*
 * /init says "alive" every 2 s while the command runs; silent for two of
 * them, its kernel is nudged, and silent this long, it is taken for stopped.
 */
#define LAB_DEFAULT_SILENCE_S	60

struct lab_opts {
	struct kernel_arg kernel;	/* --kernel (zero: Debian's current kernel) */
	const char *cache;		/* NULL: lab_kernel_cache_dir() */
	const char *qemu;		/* NULL: $MCEFWD_QEMU, else qemu-system-x86_64 */
	int npt;			/* kvm_amd's nested paging: 1 or 0 */
	unsigned int cpus;		/* 0: one (lab.c says why) */
	unsigned int mem_mb;		/* 0: LAB_DEFAULT_MEM_MB */
	unsigned int timeout_s;		/* the whole boot; 0: LAB_DEFAULT_TIMEOUT_S */
	unsigned int silence_s;		/* /init's silence that stops it; 0: LAB_DEFAULT_SILENCE_S */
	const char *console;		/* keep the kernel's console in this file, or NULL */
	const struct lab_notes *notes;	/* what the lab does, as it goes */
};

enum lab_how {
	LAB_RAN,		/* the command ran; status is its exit status */
	LAB_SKIPPED,		/* this host lacks what the lab needs (why says what) */
	LAB_FAILED,		/* the lab broke: no boot, a panic, a hang (why says which) */
};

struct lab_result {
	enum lab_how how;
	int status;			/* LAB_RAN: exit status, 128 + N if killed by signal N */
	char why[ERROR_MAX];
	char release[128];		/* the kernel that ran */
	char source[512];		/* where it came from */
	char kvm[256];			/* /dev/kvm in the lab: "api=12 mce=32 npt=Y ..." */
	bool started;			/* the command started (it may have written output) */
	double boot_s;			/* QEMU start to the command's start */
	double wall_s;			/* the whole run, kernel preparation included */
	unsigned int wrote;		/* files the command wrote (thrown away with the lab) */
	unsigned int nudges;		/* silences of /init's that a nudge ended */
	char nudged[256];		/* what they were, a sentence; "" if none */
};

/*
 * Runs argv in the lab, in directory cwd, with environment envp. Its
 * stdout and stderr go to this process's. Returns 0 with res filled in,
 * whatever happened (res->how says), or -errno for a bad option.
 */
int lab_run(const struct lab_opts *o, char *const argv[], char *const envp[], const char *cwd,
	    struct lab_result *res);

#endif
