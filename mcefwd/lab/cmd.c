// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcefwd/cli/cli.h"
#include "mcefwd/util/ktap.h"
#include "mcefwd/lab/cmd.h"
#include "mcefwd/lab/kernel.h"
#include "mcefwd/lab/list.h"

extern char **environ;

static const char lab_usage[] =
"usage: mcefwd lab [OPTIONS] [--] COMMAND [ARG]...\n"
"\n"
"Runs COMMAND in the lab: Debian's own kernel booted under QEMU's software\n"
"emulation (TCG, -cpu max: an AMD CPU with SVM), with kvm_amd and\n"
"hwpoison_inject loaded, so KVM and the kernel's real memory-failure path\n"
"work on any x86-64 Linux host, with or without /dev/kvm. The lab sees this\n"
"machine's files read-only (what COMMAND writes goes to a layer thrown away\n"
"at the end, and the lab says what it was), starts COMMAND in the current\n"
"directory with the current environment, and sends its output back as it\n"
"is written. One boot per command: COMMAND starts about 4 s after QEMU.\n"
"'mcefwd run|caps|matrix|bench --on=lab' runs those commands this way.\n"
"\n"
"Kernel (default: Debian's, the package linux-image-amd64 depends on; the\n"
"first run of a Debian kernel downloads it with apt-get, about 70 MB, and\n"
"keeps what the lab needs of it, about 80 MB, in the cache, once):\n"
"      --kernel K          which kernel boots, by the form of K:\n"
"                          6.1   Debian 12's kernel, what linux-image-amd64\n"
"                                depends on (the default)\n"
"                          6.12  the newest linux-image-6.12.*-amd64-unsigned\n"
"                                apt offers\n"
"                          FILE.deb  a Debian kernel package (linux-image-*.deb)\n"
"                          BZIMAGE   a kernel you built (arch/x86/boot/bzImage),\n"
"                                with --modules (./6.1 for a file named 6.1)\n"
"      --modules DIR       a bzImage's modules: /lib/modules/RELEASE, or the\n"
"                          INSTALL_MOD_PATH of 'make modules_install'\n"
"      --kernel-deb FILE   a Debian kernel package, whatever FILE is named\n"
"      --list-kernels      what the cache holds (each kernel's release, size,\n"
"                          whether complete) and what apt offers of 6.1 and\n"
"                          6.12; with --json, one JSON document (docs/json.md)\n"
"  A kernel whose config lacks an option the lab needs (CONFIG_MEMORY_FAILURE,\n"
"  CONFIG_KVM_AMD, 9p over virtio, ...) is refused before it boots, named.\n"
"  'mcefwd run|caps|matrix|bench --kernel K' run in the lab on kernel K.\n"
"\n"
"Machine:\n"
"      --npt 0|1           kvm_amd's nested paging (default 1)\n"
"      --cpus N            emulated CPUs (default 1: with more, QEMU's TCG runs\n"
"                          nested KVM far slower, and its kernel may stall)\n"
"      --memory SIZE       its RAM (default 4G)\n"
"      --timeout SECONDS   bound on the whole run (default 1800)\n"
"      --silence SECONDS   while COMMAND runs, the lab's /init says it is alive\n"
"                          every 2 s; silent for 5 s, its kernel is nudged\n"
"                          with a line on a serial port (a lost wake-up in\n"
"                          QEMU's emulation can leave the CPU halted with\n"
"                          nothing to wake it; a nudge that helped is said on\n"
"                          stderr), and silent for SECONDS (default 60), it\n"
"                          is taken for stopped and the run fails\n"
"      --console FILE      keep the kernel's console log in FILE\n"
"  -q, --quiet             do not say the lab's own steps (failures and\n"
"                          nudges still)\n"
"      --cache-dir         print the kernel cache directory and exit\n"
"  -h, --help              this text\n"
"\n"
"Environment: MCEFWD_LAB_CACHE (the kernel cache; default\n"
"$XDG_CACHE_HOME/mcefwd/lab, else ~/.cache/mcefwd/lab; delete it to start\n"
"afresh), MCEFWD_QEMU (default qemu-system-x86_64).\n"
"\n"
"^C (SIGINT) is passed to COMMAND inside; if it has not ended 20 s later,\n"
"QEMU is stopped. COMMAND's standard input is /dev/null.\n"
"\n"
"Exit status: COMMAND's. If the lab itself cannot run it: 4 when this host\n"
"lacks something (QEMU, the first download), 1 when the lab broke (a kernel\n"
"panic, no boot, a hang past --timeout, a kernel silent past --silence);\n"
"either is said on stderr.\n"
"\n"
"Examples:\n"
"  mcefwd lab -- mcefwd run ar ao --poison=hwpoison\n"
"  mcefwd lab --npt 0 -- mcefwd caps\n"
"  mcefwd lab -- sh -c 'uname -r; ls -l /dev/kvm'\n"
"  mcefwd lab --kernel 6.12 -- uname -r\n"
"  mcefwd lab --kernel ./linux-image-6.12.57+deb12-amd64-unsigned_6.12.57-1~deb12u1_amd64.deb -- uname -r\n"
"  mcefwd run ar ao --kernel 6.12\n"
"  mcefwd lab --list-kernels --json | jq '.cached[] | {name, release, complete}'\n";

static void lab_print_note(void *priv, const char *line)
{
	(void)priv;
	/* One "# lab: " per line: a console excerpt spans several. */
	for (const char *l = line; l && *l;) {
		const char *nl = strchr(l, '\n');
		int n = nl ? (int)(nl - l) : (int)strlen(l);

		fprintf(stderr, "# lab: %.*s\n", n, l);
		l = nl ? nl + 1 : NULL;
	}
	fflush(stderr);
}

static const struct lab_notes lab_stderr_notes = { .fn = lab_print_note };

enum { OPT_KDEB = 256, OPT_KERNEL, OPT_MODULES, OPT_NPT, OPT_CPUS, OPT_MEMORY, OPT_TIMEOUT,
	OPT_CONSOLE, OPT_CACHE_DIR, OPT_LIST_KERNELS, OPT_JSON, OPT_SILENCE };

static const struct option lab_options[] = {
	{ "kernel-deb", required_argument, NULL, OPT_KDEB },
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "modules", required_argument, NULL, OPT_MODULES },
	{ "npt", required_argument, NULL, OPT_NPT },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "silence", required_argument, NULL, OPT_SILENCE },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "cache-dir", no_argument, NULL, OPT_CACHE_DIR },
	{ "list-kernels", no_argument, NULL, OPT_LIST_KERNELS },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int lab_bad(const char *opt, const char *val, const char *want)
{
	fprintf(stderr, "mcefwd lab: invalid %s '%s': %s\n(see 'mcefwd lab --help')\n", opt, val,
		want);
	return KSFT_USAGE;
}

/* The exit status for a result, said on stderr when the command did not run. */
static int lab_status(const struct lab_result *res)
{
	switch (res->how) {
	case LAB_RAN:
		return res->status;
	case LAB_SKIPPED:
		fprintf(stderr, "mcefwd lab: cannot run here: %s\n", res->why);
		return KSFT_SKIP;
	default:
		fprintf(stderr, "mcefwd lab: %s\n", res->why);
		return KSFT_FAIL;
	}
}

static int lab_list_kernels(bool json)
{
	struct lab_list *l = malloc(sizeof(*l));
	char cache[PATH_MAX];

	if (!l) {
		fprintf(stderr, "mcefwd lab: out of memory\n");
		return KSFT_FAIL;
	}
	lab_kernel_cache_dir(cache, sizeof(cache));
	lab_list_gather(cache, l);
	if (json)
		lab_list_print_json(l, stdout);
	else
		lab_list_print_text(l, stdout);
	free(l);
	return 0;
}

/* --kernel, --kernel-deb and --modules, judged together: 0 or a usage error said. */
static int lab_kernel_choice(const char *kernel, const char *kdeb, const char *modules,
			     struct kernel_arg *ka)
{
	if (kdeb && kernel) {
		fprintf(stderr, "mcefwd lab: --kernel and --kernel-deb exclude each other\n");
		return KSFT_USAGE;
	}
	if (kdeb && modules) {
		fprintf(stderr, "mcefwd lab: --modules goes with --kernel BZIMAGE, not with --kernel-deb (a package brings its modules)\n");
		return KSFT_USAGE;
	}
	if (kdeb) {
		*ka = (struct kernel_arg){ .kind = KERNEL_ARG_DEB, .value = kdeb };
		return 0;
	}
	if (kernel_arg_parse(kernel, modules, ka) < 0) {
		fprintf(stderr, "mcefwd lab: %s\n(see 'mcefwd lab --help')\n", error_get());
		return KSFT_USAGE;
	}
	return 0;
}

int lab_main(int argc, char **argv)
{
	struct lab_opts o = { .npt = 1, .notes = &lab_stderr_notes };
	const char *kernel = NULL, *kdeb = NULL, *modules = NULL;
	bool list = false, json = false;
	struct kernel_arg ka;
	struct lab_result res;
	char cwd[PATH_MAX];
	uint64_t v;
	int opt, r;

	optind = 0;
	opterr = 0;
	/* "+": options end at COMMAND; its own options are its own. */
	while ((opt = getopt_long(argc, argv, "+:qh", lab_options, NULL)) != -1) {
		switch (opt) {
		case OPT_KDEB:
			kdeb = optarg;
			break;
		case OPT_KERNEL:
			kernel = optarg;
			break;
		case OPT_MODULES:
			modules = optarg;
			break;
		case OPT_LIST_KERNELS:
			list = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_NPT:
			if (strcmp(optarg, "0") && strcmp(optarg, "1"))
				return lab_bad("--npt", optarg, "0 or 1");
			o.npt = optarg[0] - '0';
			break;
		case OPT_CPUS:
			if (cli_parse_u64(optarg, &v) || v < 1 || v > 64)
				return lab_bad("--cpus", optarg, "a number from 1 to 64");
			o.cpus = (unsigned int)v;
			break;
		case OPT_MEMORY:
			if (cli_parse_size(optarg, &v) || v < (512ULL << 20) || v > (256ULL << 30))
				return lab_bad("--memory", optarg, "a size from 512M to 256G, such as 4G");
			o.mem_mb = (unsigned int)(v >> 20);
			break;
		case OPT_TIMEOUT:
			if (cli_parse_u64(optarg, &v) || v < 1 || v > 86400)
				return lab_bad("--timeout", optarg, "seconds, from 1 to 86400");
			o.timeout_s = (unsigned int)v;
			break;
		case OPT_SILENCE:
			if (cli_parse_u64(optarg, &v) || v < 10 || v > 3600)
				return lab_bad("--silence", optarg, "seconds, from 10 to 3600");
			o.silence_s = (unsigned int)v;
			break;
		case OPT_CONSOLE:
			o.console = optarg;
			break;
		case OPT_CACHE_DIR: {
			char dir[PATH_MAX];

			lab_kernel_cache_dir(dir, sizeof(dir));
			printf("%s\n", dir);
			return 0;
		}
		case 'q':
			o.notes = NULL;
			break;
		case 'h':
			fputs(lab_usage, stdout);
			return 0;
		case ':':
			fprintf(stderr, "mcefwd lab: option '%s' needs a value\n(see 'mcefwd lab --help')\n",
				argv[optind - 1]);
			return KSFT_USAGE;
		default:
			fprintf(stderr, "mcefwd lab: unknown option '%s'\n(see 'mcefwd lab --help')\n",
				argv[optind - 1]);
			return KSFT_USAGE;
		}
	}
	r = lab_kernel_choice(kernel, kdeb, modules, &ka);
	if (r)
		return r;
	o.kernel = ka;
	if (json && !list) {
		fprintf(stderr, "mcefwd lab: --json goes with --list-kernels (a command's own --json goes after --)\n");
		return KSFT_USAGE;
	}
	if (list) {
		if (optind < argc || ka.kind != KERNEL_ARG_DEFAULT) {
			fprintf(stderr, "mcefwd lab: --list-kernels lists them all: it takes no %s\n",
				optind < argc ? "command" : "--kernel");
			return KSFT_USAGE;
		}
		return lab_list_kernels(json);
	}
	if (optind >= argc) {
		fprintf(stderr, "mcefwd lab: no command to run\n%s", lab_usage);
		return KSFT_USAGE;
	}
	if (!getcwd(cwd, sizeof(cwd))) {
		fprintf(stderr, "mcefwd lab: getcwd: %s\n", strerror(errno));
		return KSFT_FAIL;
	}
	r = lab_run(&o, argv + optind, environ, cwd, &res);
	if (r < 0) {
		fprintf(stderr, "mcefwd lab: %s\n", error_get());
		return KSFT_USAGE;
	}
	/* A silence that needed a nudge is said even with -q: the run was not as it should be. */
	if (!o.notes && res.nudged[0])
		fprintf(stderr, "# lab: %s\n", res.nudged);
	return lab_status(&res);
}

int lab_reexec(int argc, char **argv, const char *why, const struct kernel_arg *kernel,
	       struct lab_result *res)
{
	struct lab_opts o = { .npt = 1, .notes = &lab_stderr_notes };
	char self[PATH_MAX], cwd[PATH_MAX], why_env[1024];
	char **args, **env;
	size_t ne = 0, ni = 0;
	ssize_t n;
	int r;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return error_set(errno, "/proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	if (!getcwd(cwd, sizeof(cwd)))
		return error_set(errno, "getcwd: %s", strerror(errno));
	while (environ[ne])
		ne++;
	args = calloc((size_t)argc + 1, sizeof(*args));
	env = calloc(ne + 3, sizeof(*env));
	if (!args || !env) {
		free(args);
		free(env);
		return error_set(ENOMEM, "out of memory");
	}
	o.kernel = *kernel;
	args[0] = self;
	for (int i = 1; i < argc; i++)
		args[i] = argv[i];
	/* Inside, the lab's KVM is the host: MCEFWD_ON=host, and why we came. */
	for (size_t i = 0; i < ne; i++)
		if (strncmp(environ[i], "MCEFWD_ON=", 10) && strncmp(environ[i], "MCEFWD_LAB_WHY=", 15))
			env[ni++] = environ[i];
	env[ni++] = (char *)"MCEFWD_ON=host";
	snprintf(why_env, sizeof(why_env), "MCEFWD_LAB_WHY=%s", why);
	env[ni++] = why_env;
	r = lab_run(&o, args, env, cwd, res);
	free(args);
	free(env);
	return r;
}
