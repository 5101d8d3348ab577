// SPDX-License-Identifier: GPL-2.0-only
/*
 * mcefwd-inject: poison one page of another process's guest memory (a
 * running QEMU, say), hold it, and undo it; or say what this host can do;
 * or undo whatever an earlier run left poisoned.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inject/inject.h"
#include "inject/state.h"
#include "inject/usage.h"
#include "mcefwd/util/version.h"
#include "mcefwd/util/error.h"

#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2
#define EXIT_SKIP	4	/* the host lacks what the method needs */


struct opts {
	pid_t pid;
	uint64_t addr;
	size_t size;
	enum inject_method method;
	bool ao, keep, dry_run, probe, json, unpoison_all;
	long hold;		/* seconds; -1 until a signal */
	const char *state;
};

static atomic_int stop_signal;

static void on_stop(int sig)
{
	atomic_store(&stop_signal, sig);
}

/* One line of reason, then the synopsis (the first lines of --help). */
static int bad(const char *fmt, const char *arg)
{
	const char *end = strstr(inject_usage, "\n\n");

	fprintf(stderr, "mcefwd-inject: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%.*s\n(mcefwd-inject --help explains every option)\n",
		end ? (int)(end - inject_usage) : (int)strlen(inject_usage), inject_usage);
	return EXIT_USAGE;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return !errno && !*end;
}

static int parse(int argc, char **argv, struct opts *o)
{
	enum { O_PID = 256, O_ADDR, O_SIZE, O_METHOD, O_AR, O_AO, O_HOLD, O_KEEP,
	       O_DRY, O_PROBE, O_JSON, O_UNPOISON, O_STATE, O_VERSION };
	static const struct option lo[] = {
		{ "pid", required_argument, NULL, O_PID },
		{ "addr", required_argument, NULL, O_ADDR },
		{ "size", required_argument, NULL, O_SIZE },
		{ "method", required_argument, NULL, O_METHOD },
		{ "ar", no_argument, NULL, O_AR },
		{ "ao", no_argument, NULL, O_AO },
		{ "hold", required_argument, NULL, O_HOLD },
		{ "keep", no_argument, NULL, O_KEEP },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "probe", no_argument, NULL, O_PROBE },
		{ "json", no_argument, NULL, O_JSON },
		{ "unpoison-all", no_argument, NULL, O_UNPOISON },
		{ "state", required_argument, NULL, O_STATE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	bool have_addr = false, have_hold = false;
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->method = INJECT_PFN;
	o->size = 4096;
	o->hold = -1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(inject_usage, stdout);
			exit(EXIT_OK);
		case O_VERSION:
			printf("mcefwd-inject %s\n", MCEFWD_VERSION);
			exit(EXIT_OK);
		case O_PID:
			if (!parse_u64(optarg, &v) || v == 0 || v > 0x3fffffff)
				return bad("invalid --pid '%s': a process id", optarg);
			o->pid = (pid_t)v;
			break;
		case O_ADDR:
			if (!parse_u64(optarg, &o->addr))
				return bad("invalid --addr '%s': a hex address such as 0x7f0000001000", optarg);
			have_addr = true;
			break;
		case O_SIZE:
			if (!parse_u64(optarg, &v) || !v || v > (1UL << 30))
				return bad("invalid --size '%s': 1 byte to 1 GiB", optarg);
			o->size = (size_t)v;
			break;
		case O_METHOD:
			if (inject_method_parse(optarg, &o->method))
				return bad("invalid --method '%s': pfn or einj (hwpoison, soft-offline, uffd and signal are mcefwd's own)", optarg);
			break;
		case O_AR:
			o->ao = false;
			break;
		case O_AO:
			o->ao = true;
			break;
		case O_HOLD:
			if (!parse_u64(optarg, &v) || v > 86400 * 365)
				return bad("invalid --hold '%s': seconds", optarg);
			o->hold = (long)v;
			have_hold = true;
			break;
		case O_KEEP:
			o->keep = true;
			break;
		case O_DRY:
			o->dry_run = true;
			break;
		case O_PROBE:
			o->probe = true;
			break;
		case O_JSON:
			o->json = true;
			break;
		case O_UNPOISON:
			o->unpoison_all = true;
			break;
		case O_STATE:
			o->state = optarg;
			break;
		case ':':
			return bad("option '%s' needs a value", argv[optind - 1]);
		default:
			return bad("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	if (o->probe || o->unpoison_all) {
		if (o->pid || have_addr)
			return bad("%s takes no target", o->probe ? "--probe" : "--unpoison-all");
		return 0;
	}
	if (!o->pid || !have_addr)
		return bad("%s", "--pid and --addr name the page to poison");
	if (o->ao && !have_hold)
		o->hold = 0;
	o->size = ((o->addr & 4095) + o->size + 4095) & ~4095UL;
	o->addr &= ~4095UL;
	return 0;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

/*
 * What this host supports, and what of it reaches another process: the
 * default method (pfn), and einj on request. mcefwd's own auto pick
 * (uffd, say) is no answer here: the injector refuses what acts on the
 * caller's own memory.
 */
static int cmd_probe(bool json)
{
	const struct inject_method_ops *def = inject_method(INJECT_PFN);
	struct inject_probe dp;
	char caps[256];
	bool first = true;

	inject_caps_describe(caps, sizeof(caps));
	inject_probe(def->id, &dp);
	if (json) {
		printf("{\"version\": 1, \"cap_sys_admin\": %s, \"capabilities\": ",
		       inject_has_cap_sys_admin() ? "true" : "false");
		json_str(caps);
		printf(", \"methods\": [");
	} else {
		printf("CAP_SYS_ADMIN %s (capabilities: %s)\n",
		       inject_has_cap_sys_admin() ? "yes" : "no", caps);
	}
	for (int m = 0; m < INJECT_METHOD_COUNT; m++) {
		const struct inject_method_ops *ops = inject_method((enum inject_method)m);
		struct inject_probe p;

		inject_probe((enum inject_method)m, &p);
		if (json) {
			printf("%s{\"name\": \"%s\", \"available\": %s, \"other_process\": %s, \"why\": ",
			       m ? ", " : "", ops->name, p.available ? "true" : "false",
			       ops->flags & INJECT_F_OTHER_PROCESS ? "true" : "false");
			json_str(p.why);
			printf("}");
		} else {
			printf("%-13s %-4s %s\n", ops->name, p.available ? "yes" : "no", p.why);
		}
	}
	if (json) {
		printf("], \"default\": ");
		json_str(def->name);
		printf(", \"default_available\": %s}\n", dp.available ? "true" : "false");
		return EXIT_OK;
	}
	printf("for another process (--pid): ");
	for (int m = 0; m < INJECT_METHOD_COUNT; m++) {
		const struct inject_method_ops *ops = inject_method((enum inject_method)m);

		if (!(ops->flags & INJECT_F_OTHER_PROCESS))
			continue;
		printf("%s%s%s", first ? "" : ", ", ops->name, ops == def ? " (the default)" : "");
		first = false;
	}
	printf("; the default %s\n", dp.available ? "is available here" : "is not available here");
	return EXIT_OK;
}

static int cmd_unpoison_all(const char *path)
{
	struct state_replay_result res;
	int r;

	r = state_replay(path, &res);
	if (r == -ENOENT) {
		printf("%s: no state file: nothing was left poisoned\n", path);
		return EXIT_OK;
	}
	if (r < 0) {
		fprintf(stderr, "mcefwd-inject: %s: %s\n", path, error_get());
		return EXIT_FAIL;
	}
	printf("%s: %zu frame(s) still poisoned, %zu undone, %zu cleared by a reboot\n",
	       path, res.poisoned, res.unpoisoned, res.rebooted);
	for (size_t i = 0; i < res.nr_left; i++)
		printf("left poisoned: pfn 0x%llx (pid %d, 0x%llx): %s\n  to clear it: %s\n",
		       (unsigned long long)res.left[i].entry.pfn, (int)res.left[i].entry.pid,
		       (unsigned long long)res.left[i].entry.addr, res.left[i].reason,
		       res.left[i].command);
	if (res.torn)
		printf("%u torn line(s) ignored (a run was cut off mid-write)\n", res.torn);
	r = res.nr_left ? EXIT_FAIL : EXIT_OK;
	state_replay_free(&res);
	return r;
}

/* Which frames back the range, each checked present; 0 or an exit status. */
static int lookup_frames(const struct opts *o, uint64_t *pfns, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = inject_pfn_lookup(o->pid, o->addr + i * 4096, &pfns[i]);

		if (r < 0) {
			fprintf(stderr, "mcefwd-inject: frame of 0x%llx in pid %d: %s\n",
				(unsigned long long)(o->addr + i * 4096), (int)o->pid, error_get());
			return EXIT_FAIL;
		}
	}
	return 0;
}

/*
 * Gives back what undo[0..n) took, recording each frame that comes back.
 * A frame a method cannot give back (no unpoison(): a real hardware error)
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

/*
 * Every method that reaches another process does it through the frame
 * behind the page (INJECT_F_OTHER_PROCESS methods are INJECT_F_FRAME):
 * look the frames up, poison and record them one by one.
 */
static int cmd_inject(const struct opts *o, const char *state_path)
{
	const struct inject_method_ops *ops = inject_method(o->method);
	size_t n = o->size / 4096;
	struct inject_probe probe;
	struct inject_undo *undos = NULL;
	struct state *st = NULL;
	uint64_t *pfns = NULL;
	size_t done = 0;
	int r, status = EXIT_OK;

	if (!(ops->flags & INJECT_F_OTHER_PROCESS)) {
		char why[256];

		snprintf(why, sizeof(why), "--method=%s acts on the caller's own memory (%s); for another process use --method=pfn or --method=einj",
			 ops->name, ops->self_only);
		return bad("%s", why);
	}
	if (!inject_has_cap_sys_admin()) {
		fprintf(stderr, "mcefwd-inject: needs CAP_SYS_ADMIN (to read frame numbers from /proc/%d/pagemap and write debugfs): run as root\n",
			(int)o->pid);
		return EXIT_SKIP;
	}
	/* The rules first: a refusal is the same on every host. */
	if (inject_target_check(o->pid, o->addr, o->size, NULL, 0) < 0) {
		fprintf(stderr, "mcefwd-inject: %s\n", error_get());
		return EXIT_FAIL;
	}
	printf("pid %d 0x%llx+0x%zx: allowed by every safety rule\n", (int)o->pid,
	       (unsigned long long)o->addr, o->size);
	if (o->dry_run)
		return EXIT_OK;
	inject_probe(o->method, &probe);
	if (!probe.available) {
		fprintf(stderr, "mcefwd-inject: --method=%s is not available here: %s\n",
			ops->name, probe.why);
		return EXIT_SKIP;
	}
	pfns = calloc(n, sizeof(*pfns));
	undos = calloc(n, sizeof(*undos));
	if (!pfns || !undos) {
		status = EXIT_FAIL;
		goto out;
	}
	status = lookup_frames(o, pfns, n);
	if (status)
		goto out;
	r = state_open(state_path, &st);
	if (r < 0) {
		fprintf(stderr, "mcefwd-inject: state file %s: %s\n", state_path, error_get());
		status = EXIT_FAIL;
		goto out;
	}
	for (done = 0; done < n; done++) {
		struct state_entry e = {
			.pfn = pfns[done], .pid = o->pid, .addr = o->addr + done * 4096,
			.size = 4096, .method = o->method, .time = (int64_t)time(NULL),
		};
		struct inject_page pg = {
			.pid = o->pid, .hva = (void *)(uintptr_t)e.addr, .size = 4096,
			.pfn = pfns[done],
		};

		r = ops->poison(&pg, &undos[done]);
		if (r < 0) {
			fprintf(stderr, "mcefwd-inject: poisoning pfn 0x%llx: %s\n",
				(unsigned long long)pfns[done], error_get());
			status = EXIT_FAIL;
			break;
		}
		/* Recorded before anything else can happen to us. */
		if (state_record_poison(st, &e) < 0) {
			fprintf(stderr, "mcefwd-inject: recording pfn 0x%llx in %s failed: %s; undoing it\n",
				(unsigned long long)pfns[done], state_path, error_get());
			if (ops->unpoison)
				ops->unpoison(&undos[done]);
			status = EXIT_FAIL;
			break;
		}
		printf("poisoned pfn 0x%llx (pid %d, 0x%llx) with %s; recorded in %s\n",
		       (unsigned long long)pfns[done], (int)o->pid,
		       (unsigned long long)e.addr, ops->name, state_path);
	}
	/*
	 * Undoing needs what poisoning needed (unpoison-pfn checks
	 * CAP_SYS_ADMIN itself: mm/hwpoison-inject.c hwpoison_unpoison): keep
	 * the method's capabilities, give up every other.
	 */
	inject_caps_keep(ops->caps, (int)ops->nr_caps);
	if (status == EXIT_OK && o->keep) {
		printf("--keep: left poisoned; undo with mcefwd-inject --unpoison-all --state %s\n",
		       state_path);
		goto out;
	}
	if (status == EXIT_OK && o->hold != 0) {
		if (o->hold < 0)
			printf("holding until SIGINT or SIGTERM (Ctrl-C)\n");
		else
			printf("holding for %ld s\n", o->hold);
		fflush(stdout);
		for (long t = 0; !atomic_load(&stop_signal) && (o->hold < 0 || t < o->hold * 10); t++)
			usleep(100000);
		if (atomic_load(&stop_signal))
			printf("%s: undoing\n", strsignal(atomic_load(&stop_signal)));
	}
	if (undo(st, ops, undos, done) != EXIT_OK)
		status = EXIT_FAIL;
out:
	if (st)
		state_close(st);
	free(undos);
	free(pfns);
	return status;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct opts o;
	const char *env;
	int r;

	r = parse(argc, argv, &o);
	if (r)
		return r;
	if ((env = getenv("MCEFWD_DEBUGFS")) && *env) {
		inject_set_debugfs_root(env);
		fprintf(stderr, "mcefwd-inject: MCEFWD_DEBUGFS=%s: debugfs writes go to these files, nothing is poisoned\n",
			env);
	}
	if ((env = getenv("MCEFWD_PROCFS")) && *env) {
		inject_set_proc_root(env);
		fprintf(stderr, "mcefwd-inject: MCEFWD_PROCFS=%s: memory-failure support is read from these files\n",
			env);
	}
	if (o.probe)
		return cmd_probe(o.json);
	if (o.unpoison_all)
		return cmd_unpoison_all(o.state ? o.state : state_default_path());

	/* No handler work beyond a flag: the main flow undoes and reports. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return cmd_inject(&o, o.state ? o.state : state_default_path());
}
