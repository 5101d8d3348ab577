// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>
#include <sys/utsname.h>

#include "mcefwd/cli/caps.h"
#include "mcefwd/cli/where.h"
#include "mcefwd/mce/encode.h"

void caps_gather(struct caps_report *r, const struct kvm *kvm, const char *kvm_error)
{
	struct utsname u;

	memset(r, 0, sizeof(*r));
	/* Inside the lab, the lab's kernel: its release is a dimension of every result. */
	snprintf(r->kernel_release, sizeof(r->kernel_release), "%s",
		 uname(&u) == 0 ? u.release : "unknown");
	r->kvm_ok = kvm != NULL;
	r->kvm = kvm ? &kvm->caps : NULL;
	if (!kvm)
		snprintf(r->kvm_error, sizeof(r->kvm_error), "%s", kvm_error);
	r->cap_sys_admin = inject_has_cap_sys_admin();
	if (inject_caps_describe(r->process_caps, sizeof(r->process_caps)) < 0 &&
	    !r->process_caps[0])
		snprintf(r->process_caps, sizeof(r->process_caps), "unknown");
	for (int m = 0; m < INJECT_METHOD_COUNT; m++)
		inject_probe((enum inject_method)m, &r->poison[m]);
	r->auto_method = inject_auto(r->auto_why, sizeof(r->auto_why));
}

static const char *yes_no(int v)
{
	return v > 0 ? "yes" : "no";
}

/* One paragraph a person can read at a glance; the details follow. */
static void caps_print_summary(const struct caps_report *r, FILE *out)
{
	const struct kvm_caps *k = r->kvm;
	char mcg[256];
	bool first;

	fputs("Summary\n", out);
	if (!k) {
		fprintf(out, "  no KVM: %s\n", r->kvm_error);
	} else {
		mce_mcg_cap_describe(k->mcg_cap_supported, mcg, sizeof(mcg));
		fprintf(out, "  KVM API %d on %s: guests run, %d MCE banks, MCG_CAP bits %s%s;\n",
			k->api_version, k->vendor, k->mce_banks, mcg,
			k->mcg_cap_supported & MCE_MCG_LMCE_P ? "" : " (no LMCE)");
		fprintf(out, "  kicks with %s\n", k->immediate_exit ?
			"immediate_exit" : "KVM_SET_SIGNAL_MASK (no KVM_CAP_IMMEDIATE_EXIT)");
	}
	fputs("  poison with:", out);
	first = true;
	for (int m = 0; m < INJECT_METHOD_COUNT; m++) {
		if (!r->poison[m].available)
			continue;
		fprintf(out, "%s %s", first ? "" : ",", inject_method_name((enum inject_method)m));
		first = false;
	}
	fprintf(out, "%s (auto picks %s)\n  not here:", first ? " nothing" : "",
		inject_method_name(r->auto_method));
	first = true;
	for (int m = 0; m < INJECT_METHOD_COUNT; m++) {
		if (r->poison[m].available)
			continue;
		fprintf(out, "%s %s", first ? "" : ",", inject_method_name((enum inject_method)m));
		first = false;
	}
	fprintf(out, "%s (why: below)\n  %s\n\n", first ? " nothing" : "",
		r->cap_sys_admin ? "this process holds CAP_SYS_ADMIN" :
		"without CAP_SYS_ADMIN: hwpoison, pfn and soft-offline need it");
}

void caps_print_text(const struct caps_report *r, FILE *out)
{
	const struct kvm_caps *k = r->kvm;
	char mcg[256];

	if (r->where)
		where_print(r->where, out, "");
	caps_print_summary(r, out);
	fprintf(out, "Kernel\n  release                %s\n", r->kernel_release);
	fprintf(out, "KVM (%s)\n", KVM_DEV_PATH);
	if (!k) {
		fprintf(out, "  unavailable: %s\n", r->kvm_error);
	} else {
		mce_mcg_cap_describe(k->mcg_cap_supported, mcg, sizeof(mcg));
		fprintf(out, "  API version            %d\n", k->api_version);
		fprintf(out, "  IMMEDIATE_EXIT         %s%s\n", yes_no(k->immediate_exit),
			k->immediate_exit ? "" : " (kicks fall back to KVM_SET_SIGNAL_MASK)");
		fprintf(out, "  MCE banks              %d\n", k->mce_banks);
		fprintf(out, "  supported MCG_CAP      0x%llx (%s)\n",
			(unsigned long long)k->mcg_cap_supported, mcg);
		fprintf(out, "  USER_MEMORY            %s\n", yes_no(k->user_memory));
		fprintf(out, "  USER_MEMORY2           %s\n", yes_no(k->user_memory2));
		fprintf(out, "  SET_TSS_ADDR           %s\n", yes_no(k->set_tss_addr));
		fprintf(out, "  VCPU_EVENTS            %s\n", yes_no(k->vcpu_events));
		fprintf(out, "  MEMORY_FAULT_INFO      %s\n", yes_no(k->memory_fault_info));
		fprintf(out, "  GUEST_MEMFD            %s\n", yes_no(k->guest_memfd));
		fprintf(out, "  vCPUs                  %d recommended, %d max\n",
			k->nr_vcpus, k->max_vcpus);
		fprintf(out, "  supported CPUID leaves %u\n", k->cpuid ? k->cpuid->nent : 0);
		fprintf(out, "CPU\n  vendor                 %s (family 0x%x model 0x%x stepping %u)\n",
			k->vendor, k->family, k->model, k->stepping);
	}
	fprintf(out, "Process\n  CAP_SYS_ADMIN          %s\n  capabilities           %s\n",
		yes_no(r->cap_sys_admin), r->process_caps);
	fprintf(out, "Poison methods (most real first; probed without poisoning)\n");
	for (int m = 0; m < INJECT_METHOD_COUNT; m++)
		fprintf(out, "  %-13s %-4s %s\n", inject_method_name((enum inject_method)m),
			r->poison[m].available ? "yes" : "no", r->poison[m].why);
	fprintf(out, "  --poison=auto picks %s: %s\n", inject_method_name(r->auto_method),
		r->auto_why);
}

void caps_json_hex(FILE *out, const char *key, uint64_t v)
{
	fprintf(out, "\"%s\": \"0x%llx\"", key, (unsigned long long)v);
}

void caps_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

void caps_print_json(const struct caps_report *r, FILE *out)
{
	const struct kvm_caps *k = r->kvm;

	fprintf(out, "{\n  \"version\": 1,\n");
	if (r->where) {
		fputs("  \"where\": ", out);
		where_print_json(r->where, out);
		fputs(",\n", out);
	}
	fputs("  \"kernel\": {\"release\": ", out);
	caps_json_string(out, r->kernel_release);
	fputs("},\n", out);
	fprintf(out, "  \"kvm\": ");
	if (!k) {
		fprintf(out, "{\"available\": false, \"error\": ");
		caps_json_string(out, r->kvm_error);
		fprintf(out, "},\n");
	} else {
		fprintf(out, "{\"available\": true, \"api_version\": %d, "
			"\"immediate_exit\": %d, \"mce_banks\": %d, "
			"\"mcg_cap_supported\": %llu, \"user_memory\": %d, "
			"\"user_memory2\": %d, \"set_tss_addr\": %d, \"vcpu_events\": %d, "
			"\"memory_fault_info\": %d, \"guest_memfd\": %d, "
			"\"nr_vcpus\": %d, \"max_vcpus\": %d},\n",
			k->api_version, k->immediate_exit, k->mce_banks,
			(unsigned long long)k->mcg_cap_supported, k->user_memory,
			k->user_memory2, k->set_tss_addr, k->vcpu_events,
			k->memory_fault_info, k->guest_memfd, k->nr_vcpus, k->max_vcpus);
		fprintf(out, "  \"cpu\": {\"vendor\": ");
		caps_json_string(out, k->vendor);
		fprintf(out, ", \"family\": %u, \"model\": %u, \"stepping\": %u},\n",
			k->family, k->model, k->stepping);
	}
	fprintf(out, "  \"process\": {\"cap_sys_admin\": %s, \"capabilities\": ",
		r->cap_sys_admin ? "true" : "false");
	caps_json_string(out, r->process_caps);
	fprintf(out, "},\n  \"poison_methods\": [\n");
	for (int m = 0; m < INJECT_METHOD_COUNT; m++) {
		fprintf(out, "    {\"name\": ");
		caps_json_string(out, inject_method_name((enum inject_method)m));
		fprintf(out, ", \"available\": %s, \"why\": ",
			r->poison[m].available ? "true" : "false");
		caps_json_string(out, r->poison[m].why);
		fprintf(out, "}%s\n", m + 1 < INJECT_METHOD_COUNT ? "," : "");
	}
	fprintf(out, "  ],\n  \"auto\": {\"method\": ");
	caps_json_string(out, inject_method_name(r->auto_method));
	fprintf(out, ", \"why\": ");
	caps_json_string(out, r->auto_why);
	fprintf(out, "}\n}\n");
}
