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

#include "inject/cmd.h"
#include "inject/inject.h"
#include "inject/state.h"
#include "inject/usage.h"
#include "mcefwd/util/version.h"
#include "mcefwd/util/error.h"

struct opts {
	struct inject_opts inj;
	bool probe, json, unpoison_all;
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
	       O_DRY, O_PROBE, O_JSON, O_UNPOISON, O_STATE, O_VERSION, O_QMP, O_GPA,
	       O_ANY };
	static const struct option lo[] = {
		{ "pid", required_argument, NULL, O_PID },
		{ "addr", required_argument, NULL, O_ADDR },
		{ "qmp", required_argument, NULL, O_QMP },
		{ "gpa", required_argument, NULL, O_GPA },
		{ "any-process", no_argument, NULL, O_ANY },
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
	struct inject_opts *i = &o->inj;
	bool have_addr = false, have_gpa = false, have_hold = false;
	uint64_t v, size = 4096;
	int c;

	memset(o, 0, sizeof(*o));
	i->method = INJECT_PFN;
	i->hold = -1;
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
			i->pid = (pid_t)v;
			break;
		case O_ADDR:
			if (!parse_u64(optarg, &i->addr))
				return bad("invalid --addr '%s': a hex address such as 0x7f0000001000", optarg);
			have_addr = true;
			break;
		case O_SIZE:
			if (!parse_u64(optarg, &v) || !v || v > (1UL << 30))
				return bad("invalid --size '%s': 1 byte to 1 GiB", optarg);
			size = v;
			break;
		case O_QMP:
			if (!*optarg)
				return bad("invalid --qmp '%s': the path of QEMU's QMP socket", optarg);
			i->qmp = optarg;
			break;
		case O_GPA:
			if (!parse_u64(optarg, &i->gpa))
				return bad("invalid --gpa '%s': a guest physical address such as 0x100000", optarg);
			have_gpa = true;
			break;
		case O_ANY:
			i->any_process = true;
			break;
		case O_METHOD:
			if (inject_method_parse(optarg, &i->method))
				return bad("invalid --method '%s': pfn or einj (hwpoison, soft-offline, uffd and signal are mcefwd's own)", optarg);
			break;
		case O_AR:
			i->ao = false;
			break;
		case O_AO:
			i->ao = true;
			break;
		case O_HOLD:
			if (!parse_u64(optarg, &v) || v > 86400 * 365)
				return bad("invalid --hold '%s': seconds", optarg);
			i->hold = (long)v;
			have_hold = true;
			break;
		case O_KEEP:
			i->keep = true;
			break;
		case O_DRY:
			i->dry_run = true;
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
			i->state = optarg;
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
		if (i->pid || have_addr || i->qmp || have_gpa)
			return bad("%s takes no target", o->probe ? "--probe" : "--unpoison-all");
		return 0;
	}
	if (have_addr && (i->qmp || have_gpa))
		return bad("%s", "--addr or --qmp with --gpa, not both: QEMU's gpa2hva gives the address");
	if (!i->qmp != !have_gpa)
		return bad("%s", i->qmp ? "--qmp needs --gpa, the guest physical address to poison"
					: "--gpa needs --qmp, the QMP socket of the QEMU that owns it");
	if (!i->pid || !(have_addr || have_gpa))
		return bad("%s", "--pid and --addr name the page to poison (for QEMU: --pid, --qmp and --gpa)");
	if (i->ao && !have_hold)
		i->hold = 0;
	/* Whole pages from the page holding the address: an unaligned one is its page. */
	i->pages = (size_t)((size + 4095) / 4096);
	i->addr &= ~4095UL;
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

int main(int argc, char **argv)
{
	const struct inject_method_ops *ops;
	struct sigaction sa;
	bool fake = false;
	struct opts o;
	const char *env;
	int r;

	r = parse(argc, argv, &o);
	if (r)
		return r;
	/* Lines in the order they happen, stdout and stderr alike, even into a file. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((env = getenv("MCEFWD_DEBUGFS")) && *env) {
		fake = true;
		inject_set_debugfs_root(env);
		fprintf(stderr, "mcefwd-inject: MCEFWD_DEBUGFS=%s: debugfs writes go to these files, nothing is poisoned\n",
			env);
	}
	if ((env = getenv("MCEFWD_PROCFS")) && *env) {
		inject_set_proc_root(env);
		fprintf(stderr, "mcefwd-inject: MCEFWD_PROCFS=%s: memory-failure support is read from these files\n",
			env);
	}
	if ((env = getenv("MCEFWD_INJECT_HOOK")) && *env) {
		if (fake) {
			o.inj.hook = env;
			fprintf(stderr, "mcefwd-inject: MCEFWD_INJECT_HOOK=%s: waits on this FIFO before each write\n",
				env);
		} else {
			fprintf(stderr, "mcefwd-inject: MCEFWD_INJECT_HOOK ignored: a test hook, only with MCEFWD_DEBUGFS\n");
		}
	}
	if (o.probe)
		return cmd_probe(o.json);
	if (o.unpoison_all)
		return cmd_unpoison_all(o.inj.state ? o.inj.state : state_default_path());

	/* No handler work beyond a flag: the main flow undoes and reports. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ops = inject_method(o.inj.method);
	if (!(ops->flags & INJECT_F_OTHER_PROCESS)) {
		char why[256];

		snprintf(why, sizeof(why), "--method=%s acts on the caller's own memory (%s); for another process use --method=pfn or --method=einj",
			 ops->name, ops->self_only);
		return bad("%s", why);
	}
	if (!o.inj.state)
		o.inj.state = state_default_path();
	return cmd_inject(&o.inj, &stop_signal);
}
