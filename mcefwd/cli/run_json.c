// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "mcefwd/cli/caps.h"
#include "mcefwd/cli/run_json.h"

void run_json_begin(FILE *out, const struct run_json_head *h)
{
	fprintf(out, "{\n  \"version\": %d,\n  \"where\": ", RUN_JSON_VERSION);
	where_print_json(h->where, out);
	fputs(",\n  \"poison\": {\"method\": ", out);
	caps_json_string(out, h->poison);
	fprintf(out, ", \"auto\": %s, \"why\": ", h->poison_auto ? "true" : "false");
	caps_json_string(out, h->poison_why);
	fputs("},\n  \"encoding\": ", out);
	caps_json_string(out, h->encoding);
	fputs(",\n  \"model\": ", out);
	caps_json_string(out, h->vmm ? "" : h->model);
	fprintf(out, ",\n  \"bank\": %u,\n  \"mce_kill\": ", h->bank);
	caps_json_string(out, h->mce_kill);
	fputs(",\n  \"capabilities\": ", out);
	caps_json_string(out, h->capabilities);
	fputs(",\n  \"vmm\": {\"name\": ", out);
	caps_json_string(out, h->vmm ? "qemu" : "mcefwd");
	fputs(", \"path\": ", out);
	caps_json_string(out, h->vmm ? h->vmm->path : "");
	fputs(", \"version\": ", out);
	caps_json_string(out, h->vmm ? h->vmm->version : "");
	fputs("},\n  \"tests\": [", out);
}

static const char *const verdict_names[] = {
	[MCE_DELIVER] = "inject", [MCE_STOP_VM] = "stop-vm", [MCE_IGNORE] = "ignore",
};

const char *run_json_verdict(enum mce_verdict v)
{
	return (unsigned int)v < sizeof(verdict_names) / sizeof(verdict_names[0]) ?
	       verdict_names[v] : "unknown";
}

static void run_json_events(FILE *out, const struct run_result *res)
{
	unsigned int n = res->nr_events < RUN_MAX_EVENTS ? res->nr_events : RUN_MAX_EVENTS;

	fprintf(out, ",\n     \"events_total\": %u, \"events\": [", res->nr_events);
	for (unsigned int i = 0; i < n; i++) {
		const struct run_event *e = &res->events[i];

		fprintf(out, "%s\n       {\"vcpu\": %u, \"code\": \"%s\", \"arrived\": \"%s\", \"lsb\": %d, ",
			i ? "," : "", e->vcpu, e->broadcast ? "broadcast" : e->ar ? "AR" : "AO",
			e->broadcast ? "another vcpu" : e->emulated ? "raised by mcefwd" :
			e->from_main ? "main thread" : "vcpu thread", e->lsb);
		caps_json_hex(out, "gpa", e->gpa);
		fprintf(out, ", \"in_ram\": %s, \"verdict\": \"%s\", \"bank\": %u, ",
			e->in_ram ? "true" : "false", run_json_verdict(e->verdict), e->bank);
		caps_json_hex(out, "status", e->status);
		fputs(", ", out);
		caps_json_hex(out, "mcg_status", e->mcg_status);
		fputc('}', out);
	}
	fputs(n ? "\n     ]" : "]", out);
}

static void run_json_pages(FILE *out, const struct run_result *res)
{
	fputs(",\n     \"poisoned\": [", out);
	for (unsigned int i = 0; i < res->nr_pages; i++) {
		const struct run_page *p = &res->pages[i];

		fputs(i ? ", {" : "{", out);
		caps_json_hex(out, "gpa", p->gpa);
		fputs(", ", out);
		caps_json_hex(out, "pfn", p->pfn);
		fprintf(out, ", \"unpoisoned\": %s}", p->unpoisoned ? "true" : "false");
	}
	fputc(']', out);
}

void run_json_observation_fields(FILE *out, const struct run_observation *o)
{
	fputs("\"outcome\": ", out);
	caps_json_string(out, o->outcome);
	fprintf(out, ", \"records\": %u, ", o->nr_mce);
	caps_json_hex(out, "mcg_status", o->mcg_status);
	fprintf(out, ", \"bank\": %u, ", o->bank);
	caps_json_hex(out, "status", o->status);
	fputs(", ", out);
	caps_json_hex(out, "addr", o->addr);
	fputs(", ", out);
	caps_json_hex(out, "misc", o->misc);
	fputs(", \"rip\": ", out);
	caps_json_string(out, o->rip);
	fputs(", \"vcpus\": ", out);
	caps_json_string(out, o->vcpus);
	fputs(", \"note\": ", out);
	caps_json_string(out, o->note);
}

static void run_json_observation(FILE *out, const struct run_observation *o)
{
	fputs(",\n     \"observation\": {", out);
	run_json_observation_fields(out, o);
	fputc('}', out);
}

void run_json_test(FILE *out, bool first, const char *name, bool scenario,
		   const struct run_result *res, const char *diag, size_t len)
{
	static const char *const results[] = { [KTAP_PASS] = "pass", [KTAP_FAIL] = "fail",
					       [KTAP_SKIP] = "skip" };
	bool any = false;

	fputs(first ? "\n    {\"name\": " : ",\n    {\"name\": ", out);
	caps_json_string(out, name);
	fprintf(out, ", \"kind\": \"%s\", \"result\": \"%s\", \"reason\": ", scenario ? "scenario" : "payload",
		results[res->status]);
	caps_json_string(out, res->reason);
	fputs(", \"kill\": ", out);
	if (res->kill)
		caps_json_string(out, res->kill);
	else
		fputs("null", out);
	fprintf(out, ", \"timed_out\": %s", res->timed_out ? "true" : "false");
	if (res->obs.valid)
		run_json_observation(out, &res->obs);
	run_json_events(out, res);
	run_json_pages(out, res);
	fprintf(out, ",\n     \"lost_bytes\": %llu,\n     \"diagnostics\": [",
		(unsigned long long)res->lost_bytes);
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(diag + i, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - (diag + i)) : len - i;
		char line[1024];

		if (ll >= 2 && diag[i] == '#' && diag[i + 1] == ' ') {
			snprintf(line, sizeof(line), "%.*s", (int)(ll - 2), diag + i + 2);
			fputs(any ? ",\n       " : "\n       ", out);
			caps_json_string(out, line);
			any = true;
		}
		i += ll + 1;
	}
	fputs(any ? "\n     ]}" : "]}", out);
}

void run_json_end(FILE *out, unsigned int passed, unsigned int failed, unsigned int skipped)
{
	fprintf(out, "\n  ],\n  \"totals\": {\"pass\": %u, \"fail\": %u, \"skip\": %u}\n}\n", passed,
		failed, skipped);
}
