// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the mcefwd command line (mcefwd/cli/cli.c) and what names a
 * run (scenario and payload names, every option value parser). The input is
 * argv, its arguments separated by NUL bytes. Whatever cli_parse() accepts
 * must be a configuration the rest of mcefwd can take without checking
 * again: the limits below are the ones its help text promises.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest-payloads/abi.h"
#include "inject/inject.h"
#include "mcefwd/cli/cli.h"
#include "mcefwd/cli/encodings.h"
#include "mcefwd/util/error.h"
#include "mcefwd/vmm/kick.h"
#include "mcefwd/mce/encode.h"
#include "mcefwd/vmm/mem.h"
#include "mcefwd/scenario/scenario.h"

#define MAX_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every value parser on its own, as the options and a run's names use them. */
static void fuzz_cli_values(const char *s)
{
	enum inject_method m;
	enum mce_profile p;
	enum fwd_emulated e;
	enum kick_mode k;
	enum mem_kind mk;
	unsigned int ms;
	uint64_t v;

	if (cli_parse_timeout(s, &ms) == 0 && (ms < 1 || ms > 86400000u))
		abort();
	if (cli_parse_size(s, &v) == 0 && v > 0 && !strchr("0123456789", s[0]))
		abort();
	cli_parse_u64(s, &v);
	if (inject_method_parse(s, &m) == 0 && strcmp(inject_method_name(m), s))
		abort();
	if (mce_profile_parse(s, &p) == 0 && strcmp(mce_profile_name(p), s))
		abort();
	if (kick_mode_parse(s, &k) == 0 && strcmp(kick_mode_name(k), s))
		abort();
	if (mem_kind_parse(s, &mk) == 0 && strcmp(mem_kind_name(mk), s))
		abort();
	fwd_emulated_parse(s, &e);
	scenario_find(s);
}

static void fuzz_cli_check(const struct cli *c, int argc, char **argv)
{
	const struct vm_config *vm = &c->run.vm;

	if (vm->nr_vcpus > MCEFWD_MAX_VCPUS)
		abort();
	if (vm->ram_size < MCEFWD_RAM_MIN || vm->ram_size > MCEFWD_RAM_MAX ||
	    vm->ram_size % (2UL << 20))
		abort();
	if (vm->fwd.bank >= (vm->mcg_cap & 0xff) || vm->fwd.bank > 31)
		abort();
	if (vm->fwd.ao_target >= MCEFWD_MAX_VCPUS || vm->fwd.ao_target < FWD_AO_OWNER)
		abort();
	if (vm->nr_vcpus && vm->fwd.ao_target >= 0 &&
	    (unsigned int)vm->fwd.ao_target >= vm->nr_vcpus)
		abort();
	if (c->run.timeout_ms < 1 || c->run.timeout_ms > 86400000u)
		abort();
	if (vm->numa_node > 1023 || vm->mem_kind >= MEM_KIND_COUNT)
		abort();
	if (!c->poison_auto && (unsigned int)c->poison >= INJECT_METHOD_COUNT)
		abort();
	if (c->run.state_path && !c->run.state_path[0])
		abort();
	if (c->nr_names < 0 || c->nr_names >= argc ||
	    (c->nr_names && (c->names < argv || c->names + c->nr_names > argv + argc)))
		abort();
	for (int i = 0; i < c->nr_names; i++)
		if (!c->names[i])
			abort();
}

/* What cli_parse() accepts for 'encodings' prints, as text and as JSON. */
static void fuzz_cli_encodings(const struct cli *c)
{
	const struct encodings_opts o = {
		.gpa = c->gpa, .bank = c->run.vm.fwd.bank, .mcg_cap = c->run.vm.mcg_cap,
		.one = c->encoding_set, .profile = c->run.vm.fwd.profile,
	};
	FILE *f = fopen("/dev/null", "w");

	if (!f)
		abort();
	if (encodings_print_text(&o, f) || encodings_print_json(&o, f))
		abort();
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[MAX_ARGS + 2];
	int argc = 0;
	struct cli c;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = "mcefwd";
	for (size_t i = 0; i <= size && argc <= MAX_ARGS; ) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;

	for (int i = 1; i < argc; i++)
		fuzz_cli_values(argv[i]);
	error_clear();
	if (cli_parse(argc, argv, &c) == 0) {
		fuzz_cli_check(&c, argc, argv);
		if (c.cmd == CLI_ENCODINGS)
			fuzz_cli_encodings(&c);
	} else if (!strcmp(error_get(), "unknown error"))
		abort();	/* a usage error must say why */
	error_clear();
	free(buf);
	return 0;
}
