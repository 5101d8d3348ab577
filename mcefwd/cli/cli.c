// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "guest-payloads/abi.h"
#include "mcefwd/cli/cli.h"
#include "mcefwd/util/error.h"
#include "mcefwd/vmm/kick.h"
#include "mcefwd/mce/encode.h"

int cli_parse_u64(const char *s, uint64_t *out)
{
	const char *digits = s;
	unsigned long long v;
	int base = 10;
	char *end;

	if (!s)
		return -EINVAL;
	/* Base 16 for 0x, else 10: a leading zero is not octal here. */
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		digits = s + 2;
		base = 16;
	}
	if (base == 16 ? !isxdigit((unsigned char)*digits) : !isdigit((unsigned char)*digits))
		return -EINVAL;
	errno = 0;
	v = strtoull(digits, &end, base);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	static const struct { const char *sfx; unsigned int shift; } units[] = {
		{ "", 0 }, { "K", 10 }, { "KiB", 10 }, { "M", 20 }, { "MiB", 20 },
		{ "G", 30 }, { "GiB", 30 },
	};
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].sfx))
			continue;
		if (v > (~0ULL >> units[i].shift))
			return -EINVAL;
		*out = v << units[i].shift;
		return 0;
	}
	return -EINVAL;
}

int cli_parse_timeout(const char *s, unsigned int *ms)
{
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	/* Plain decimal only: strtod would also take 1e3, 0x10, inf. */
	for (end = (char *)s; isdigit((unsigned char)*end) || *end == '.'; end++)
		;
	if (end == s || (*end && strcmp(end, "s") && strcmp(end, "ms")))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		return -EINVAL;
	if (!strcmp(end, "ms"))
		;
	else if (!*end || !strcmp(end, "s"))
		v *= 1000.0;
	else
		return -EINVAL;
	if (!(v >= 1.0 && v <= 86400000.0))
		return -EINVAL;
	*ms = (unsigned int)v;
	return 0;
}

enum {
	OPT_VCPUS = 'n', OPT_HELP = 'h', OPT_VERBOSE = 'v', OPT_QUIET = 'q',
	OPT_RAM = 256, OPT_MEMORY, OPT_MCG_CAP, OPT_BANKS, OPT_KICK, OPT_TIMEOUT,
	OPT_JSON, OPT_VERSION, OPT_POISON, OPT_ENCODING, OPT_BANK, OPT_MCE_KILL,
	OPT_AO_TARGET, OPT_EMULATED, OPT_STATE, OPT_NUMA, OPT_MARKDOWN, OPT_ON, OPT_GPA,
	OPT_KERNEL, OPT_MODULES, OPT_VMM, OPT_QEMU_CPU, OPT_MODEL,
};

static const struct option cli_options[] = {
	{ "vcpus", required_argument, NULL, OPT_VCPUS },
	{ "ram", required_argument, NULL, OPT_RAM },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "mcg-cap", required_argument, NULL, OPT_MCG_CAP },
	{ "banks", required_argument, NULL, OPT_BANKS },
	{ "kick", required_argument, NULL, OPT_KICK },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "markdown", no_argument, NULL, OPT_MARKDOWN },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "poison", required_argument, NULL, OPT_POISON },
	{ "encoding", required_argument, NULL, OPT_ENCODING },
	{ "bank", required_argument, NULL, OPT_BANK },
	{ "mce-kill", required_argument, NULL, OPT_MCE_KILL },
	{ "ao-target", required_argument, NULL, OPT_AO_TARGET },
	{ "emulated-access", required_argument, NULL, OPT_EMULATED },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "numa-node", required_argument, NULL, OPT_NUMA },
	{ "on", required_argument, NULL, OPT_ON },
	{ "gpa", required_argument, NULL, OPT_GPA },
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "modules", required_argument, NULL, OPT_MODULES },
	{ "vmm", required_argument, NULL, OPT_VMM },
	{ "qemu-cpu", required_argument, NULL, OPT_QEMU_CPU },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ NULL, 0, NULL, 0 },
};

static const struct {
	const char *name;
	enum cli_cmd cmd;
} cli_cmds[] = {
	{ "run", CLI_RUN }, { "caps", CLI_CAPS }, { "list", CLI_LIST },
	{ "help", CLI_HELP }, { "version", CLI_VERSION }, { "matrix", CLI_MATRIX },
	{ "where", CLI_WHERE }, { "encodings", CLI_ENCODINGS },
};

/* What 'encodings' takes: it builds records, it runs nothing. */
static bool cli_encodings_option(int opt)
{
	return opt == OPT_JSON || opt == OPT_ENCODING || opt == OPT_BANK || opt == OPT_GPA ||
	       opt == OPT_MCG_CAP || opt == OPT_BANKS || opt == OPT_VERSION;
}

/* "--vcpus" for OPT_VCPUS: the long name of an option. */
static const char *cli_option_name(int opt)
{
	for (const struct option *o = cli_options; o->name; o++)
		if (o->val == opt)
			return o->name;
	return "?";
}

static int cli_bad(const char *opt, const char *val, const char *want)
{
	return error_set(EINVAL, "invalid %s '%s': %s", opt, val, want);
}

/* What --kernel and --modules said, before kernel_arg_parse judges them together. */
struct cli_kernel_opts {
	const char *kernel, *modules;
};

static int cli_option(struct cli *c, int opt, const char *arg, bool *banks_set,
		      uint64_t *banks, struct cli_kernel_opts *k)
{
	struct vm_config *vm = &c->run.vm;
	uint64_t v;

	switch (opt) {
	case OPT_VCPUS:
		if (cli_parse_u64(arg, &v) || v < 1 || v > MCEFWD_MAX_VCPUS)
			return cli_bad("--vcpus", arg, "a number from 1 to 256");
		vm->nr_vcpus = (unsigned int)v;
		return 0;
	case OPT_RAM:
		if (cli_parse_size(arg, &vm->ram_size) || vm->ram_size < MCEFWD_RAM_MIN ||
		    vm->ram_size > MCEFWD_RAM_MAX || vm->ram_size % (2UL << 20))
			return cli_bad("--ram", arg, "a multiple of 2 MiB from 8M to 3G, such as 64M or 1G");
		return 0;
	case OPT_MEMORY:
		if (mem_kind_parse(arg, &vm->mem_kind))
			return cli_bad("--memory", arg, "one of anon, thp, hugetlb, memfd");
		return 0;
	case OPT_MCG_CAP:
		if (cli_parse_u64(arg, &vm->mcg_cap))
			return cli_bad("--mcg-cap", arg, "a number such as 0x100010a");
		return 0;
	case OPT_BANKS:
		if (cli_parse_u64(arg, banks) || *banks < 1 || *banks > 32)
			return cli_bad("--banks", arg, "a number from 1 to 32");
		*banks_set = true;
		return 0;
	case OPT_KICK:
		if (kick_mode_parse(arg, &vm->kick))
			return cli_bad("--kick", arg, "immediate or sigmask");
		return 0;
	case OPT_TIMEOUT:
		if (cli_parse_timeout(arg, &c->run.timeout_ms))
			return cli_bad("--timeout", arg, "seconds (such as 30 or 2.5) or milliseconds (500ms), at least 1 ms");
		return 0;
	case OPT_JSON:
		c->json = true;
		return 0;
	case OPT_MARKDOWN:
		c->markdown = true;
		return 0;
	case OPT_POISON:
		c->poison_auto = !strcmp(arg, "auto");
		if (!c->poison_auto && inject_method_parse(arg, &c->poison))
			return cli_bad("--poison", arg,
				       "auto, einj, hwpoison, pfn, soft-offline, uffd or signal");
		return 0;
	case OPT_ENCODING:
		if (mce_profile_parse(arg, &vm->fwd.profile))
			return cli_bad("--encoding", arg, "qemu-6.2, qemu-7 or amd");
		c->encoding_set = vm->fwd.encoding_set = true;
		return 0;
	case OPT_MODEL:
		if (fwd_model_parse(arg, &vm->fwd.model))
			return cli_bad("--model", arg, "mcefwd, or a QEMU release: qemu-6.2, qemu-7 (7.2), qemu-9.1, qemu-X.Y from 2.11");
		c->model_set = true;
		return 0;
	case OPT_BANK:
		if (cli_parse_u64(arg, &v) || v > 31)
			return cli_bad("--bank", arg, "a bank number from 0 to 31");
		vm->fwd.bank = (unsigned int)v;
		return 0;
	case OPT_MCE_KILL:
		if (!strcmp(arg, "early"))
			c->mce_kill = CLI_MCE_KILL_EARLY;
		else if (!strcmp(arg, "late"))
			c->mce_kill = CLI_MCE_KILL_LATE;
		else if (!strcmp(arg, "default"))
			c->mce_kill = CLI_MCE_KILL_DEFAULT;
		else
			return cli_bad("--mce-kill", arg, "early, late or default");
		c->mce_kill_set = true;
		return 0;
	case OPT_AO_TARGET:
		if (!strcmp(arg, "all"))
			vm->fwd.ao_target = FWD_AO_ALL;
		else if (!strcmp(arg, "page-owner"))
			vm->fwd.ao_target = FWD_AO_OWNER;
		else if (cli_parse_u64(arg, &v) || v >= MCEFWD_MAX_VCPUS)
			return cli_bad("--ao-target", arg, "a vCPU index, 'all' or 'page-owner'");
		else
			vm->fwd.ao_target = (int)v;
		c->ao_target_set = true;
		return 0;
	case OPT_NUMA:
		if (cli_parse_u64(arg, &v) || v > 1023)
			return cli_bad("--numa-node", arg, "a NUMA node number");
		vm->numa_node = (int)v;
		return 0;
	case OPT_STATE:
		if (!*arg)
			return cli_bad("--state", arg, "a file name");
		c->run.state_path = arg;
		return 0;
	case OPT_EMULATED:
		if (fwd_emulated_parse(arg, &vm->fwd.emulated))
			return cli_bad("--emulated-access", arg, "fail or forward");
		return 0;
	case OPT_GPA:
		if (cli_parse_u64(arg, &c->gpa))
			return cli_bad("--gpa", arg, "a guest physical address such as 0x200000");
		return 0;
	case OPT_ON:
		if (where_parse(arg, &c->on))
			return cli_bad("--on", arg, "host, lab or auto");
		c->on_set = true;
		return 0;
	case OPT_VMM:
		if (!strcmp(arg, "mcefwd")) {
			c->vmm_qemu = false;
		} else if (!strcmp(arg, "qemu") || !strncmp(arg, "qemu=", 5)) {
			c->vmm_qemu = true;
			c->qemu_path = arg[4] ? arg + 5 : NULL;
			if (c->qemu_path && !*c->qemu_path)
				return cli_bad("--vmm", arg, "qemu=PATH names the QEMU binary");
		} else {
			return cli_bad("--vmm", arg, "mcefwd, qemu or qemu=PATH");
		}
		return 0;
	case OPT_QEMU_CPU:
		if (!*arg || strlen(arg) > 48 || strpbrk(arg, " \t"))
			return cli_bad("--qemu-cpu", arg, "a QEMU -cpu model such as host or EPYC");
		c->qemu_cpu = arg;
		return 0;
	case OPT_KERNEL:
		k->kernel = arg;
		return 0;
	case OPT_MODULES:
		k->modules = arg;
		return 0;
	case OPT_VERBOSE:
		vm->verbose = true;
		return 0;
	case OPT_QUIET:
		c->quiet = true;
		return 0;
	case OPT_HELP:
		c->help_topic = c->cmd == CLI_HELP ? NULL : "";
		return 0;
	case OPT_VERSION:
		c->cmd = CLI_VERSION;
		return 0;
	}
	return error_set(EINVAL, "unknown option (see 'mcefwd --help')");
}

/*
 * --kernel picks the lab's kernel, so it sends run, caps and matrix to the
 * lab. Inside the lab (where the command comes again, with the same
 * arguments) where_decide runs everything on the lab's own KVM: --kernel has
 * done its work and is taken without effect.
 */
static int cli_kernel(struct cli *c, const struct cli_kernel_opts *k)
{
	int r;

	if (!k->kernel && !k->modules)
		return 0;
	if (c->cmd != CLI_RUN && c->cmd != CLI_CAPS && c->cmd != CLI_MATRIX && c->cmd != CLI_HELP)
		return error_set(EINVAL, "--%s picks the lab's kernel: an option of run, caps, matrix, bench and lab only",
				 k->kernel ? "kernel" : "modules");
	r = kernel_arg_parse(k->kernel, k->modules, &c->kernel);
	if (r < 0)
		return r;
	if (c->on == WHERE_HOST)
		return error_set(EINVAL, "--kernel %s picks the lab's kernel: it cannot go with --on=host",
				 k->kernel);
	c->on = WHERE_LAB;
	return 0;
}

int cli_parse(int argc, char **argv, struct cli *c)
{
	struct cli_kernel_opts kopts = { 0 };
	bool banks_set = false, help = false;
	int foreign = 0;		/* the first option 'encodings' does not take */
	bool gpa_set = false;
	uint64_t banks = 0;
	int opt, r, first = -1;

	memset(c, 0, sizeof(*c));
	c->cmd = CLI_HELP;
	c->run.vm.ram_size = CLI_DEFAULT_RAM;
	c->run.vm.mem_kind = MEM_ANON;
	c->run.vm.mcg_cap = mce_default_mcg_cap();
	c->run.vm.kick = KICK_IMMEDIATE;
	c->run.timeout_ms = CLI_DEFAULT_TIMEOUT_MS;
	c->run.vm.numa_node = -1;
	c->run.vm.fwd.profile = MCE_PROFILE_DEFAULT;
	c->run.vm.fwd.bank = MCE_QEMU_BANK;
	c->run.vm.fwd.ao_target = 0;
	c->run.vm.fwd.emulated = FWD_EMULATED_FAIL;
	c->poison_auto = true;
	c->mce_kill = CLI_MCE_KILL_EARLY;
	c->gpa = MCEFWD_GPA_TEST;

	optind = 0;	/* GNU: full re-initialisation, so tests may call us again */
	opterr = 0;
	/* GNU getopt permutes: options may follow the command and its names. */
	while ((opt = getopt_long(argc, argv, ":n:hvq", cli_options, NULL)) != -1) {
		if (opt == '?' || opt == ':') {
			const char *what = opt == ':' ? "needs a value" : "is unknown";

			/* For a long option optopt holds its value, not a letter. */
			if (optopt && optopt < 256 && strncmp(argv[optind - 1], "--", 2))
				return error_set(EINVAL, "option -%c %s (see 'mcefwd --help')",
						 optopt, what);
			return error_set(EINVAL, "option '%s' %s (see 'mcefwd --help')",
					 argv[optind - 1], what);
		}
		if (opt == OPT_HELP) {
			help = true;
			continue;
		}
		if (!foreign && !cli_encodings_option(opt))
			foreign = opt;
		gpa_set |= opt == OPT_GPA;
		r = cli_option(c, opt, optarg, &banks_set, &banks, &kopts);
		if (r < 0)
			return r;
	}
	if (optind < argc)
		first = optind;
	if (banks_set)
		c->run.vm.mcg_cap = (c->run.vm.mcg_cap & ~0xffULL) | banks;
	if (c->run.vm.fwd.bank >= (c->run.vm.mcg_cap & 0xff))
		return error_set(EINVAL, "--bank %u: MCG_CAP 0x%llx has only %llu bank(s)",
				 c->run.vm.fwd.bank, (unsigned long long)c->run.vm.mcg_cap,
				 (unsigned long long)(c->run.vm.mcg_cap & 0xff));
	if (c->run.vm.fwd.ao_target >= 0 && c->run.vm.nr_vcpus &&
	    (unsigned int)c->run.vm.fwd.ao_target >= c->run.vm.nr_vcpus)
		return error_set(EINVAL, "--ao-target %d: there are only %u vCPU(s)",
				 c->run.vm.fwd.ao_target, c->run.vm.nr_vcpus);

	if (first >= 0) {
		size_t i;

		for (i = 0; i < sizeof(cli_cmds) / sizeof(cli_cmds[0]); i++)
			if (!strcmp(argv[first], cli_cmds[i].name))
				break;
		if (i == sizeof(cli_cmds) / sizeof(cli_cmds[0]))
			return error_set(EINVAL, "unknown command '%s' (commands: run, caps, list, matrix, where, encodings, bench, lab, help)",
					 argv[first]);
		if (c->cmd != CLI_VERSION)
			c->cmd = cli_cmds[i].cmd;
		c->names = argv + first + 1;
		c->nr_names = argc - first - 1;
	}
	if (help) {
		c->help_topic = first >= 0 && c->cmd != CLI_HELP ? argv[first] : NULL;
		c->cmd = CLI_HELP;
	} else if (c->cmd == CLI_HELP && c->nr_names > 0) {
		c->help_topic = c->names[0];
	}
	if (first >= 0 && !strcmp(argv[first], "version") && c->nr_names)
		return error_set(EINVAL, "'version' takes no arguments, got '%s'", c->names[0]);
	if ((c->cmd == CLI_CAPS || c->cmd == CLI_LIST || c->cmd == CLI_MATRIX ||
	     c->cmd == CLI_WHERE || c->cmd == CLI_ENCODINGS) && c->nr_names)
		return error_set(EINVAL, "'%s' takes no arguments, got '%s'", argv[first],
				 c->names[0]);
	if (c->cmd == CLI_ENCODINGS && foreign)
		return error_set(EINVAL, "'encodings' takes no --%s (its options: --json, --encoding, --bank, --gpa, --mcg-cap, --banks)",
				 cli_option_name(foreign));
	if (c->vmm_qemu && c->cmd != CLI_RUN && c->cmd != CLI_HELP)
		return error_set(EINVAL, "--vmm is an option of 'run' only");
	if (c->model_set && c->cmd != CLI_RUN && c->cmd != CLI_HELP)
		return error_set(EINVAL, "--model is an option of 'run' only");
	if (c->model_set && c->vmm_qemu)
		return error_set(EINVAL, "--model picks mcefwd's forwarding rules; --vmm=qemu runs a real QEMU, whose rules are its own: choose one");
	if (fwd_is_qemu(&c->run.vm.fwd) && c->ao_target_set)
		return error_set(EINVAL, "--ao-target is mcefwd's own model: QEMU gives an AO to vCPU 0 (kvm_on_sigbus), so a QEMU model takes none");
	if (fwd_is_qemu(&c->run.vm.fwd) && c->mce_kill_set)
		return error_set(EINVAL, "--mce-kill is mcefwd's own model: QEMU always asks for early kill (qemu_init_sigbus), so a QEMU model takes none");
	if (c->qemu_cpu && !c->vmm_qemu && c->cmd != CLI_HELP)
		return error_set(EINVAL, "--qemu-cpu needs --vmm=qemu");
	if (gpa_set && c->cmd != CLI_ENCODINGS && c->cmd != CLI_HELP)
		return error_set(EINVAL, "--gpa is an option of 'encodings' only");
	if (c->json && c->markdown)
		return error_set(EINVAL, "--json and --markdown: choose one");
	return cli_kernel(c, &kopts);
}
