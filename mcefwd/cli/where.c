// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mcefwd/cli/caps.h"
#include "mcefwd/util/error.h"
#include "mcefwd/vmm/kvm.h"
#include "mcefwd/cli/where.h"

static const char *const where_names[] = { "auto", "host", "lab" };

int where_parse(const char *s, enum where_on *out)
{
	for (int i = 0; i < 3; i++) {
		if (s && !strcmp(s, where_names[i])) {
			*out = (enum where_on)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *where_name(enum where_on w)
{
	return (unsigned int)w < 3 ? where_names[w] : "unknown";
}

static void where_env(const char *name, char *buf, size_t len)
{
	const char *v = getenv(name);

	snprintf(buf, len, "%s", v ? v : "");
}

void where_decide(enum where_on asked, struct where *w)
{
	struct kvm kvm;
	enum where_on env;

	memset(w, 0, sizeof(*w));
	where_env("MCEFWD_LAB_KERNEL", w->lab_kernel, sizeof(w->lab_kernel));
	where_env("MCEFWD_LAB_BOOT", w->lab_boot, sizeof(w->lab_boot));
	where_env("MCEFWD_LAB_WHY", w->lab_why, sizeof(w->lab_why));
	w->in_lab = w->lab_kernel[0] != '\0';
	if (w->in_lab) {
		/* The lab's KVM is the host of everything run inside it. */
		w->on = WHERE_HOST;
		snprintf(w->why, sizeof(w->why), "inside the lab");
		return;
	}
	if (asked == WHERE_AUTO && where_parse(getenv("MCEFWD_ON"), &env) == 0 && env != WHERE_AUTO) {
		w->on = env;
		snprintf(w->why, sizeof(w->why), "MCEFWD_ON=%s", where_name(env));
		return;
	}
	if (asked != WHERE_AUTO) {
		w->on = asked;
		snprintf(w->why, sizeof(w->why), "--on=%s", where_name(asked));
		return;
	}
	if (kvm_open(&kvm) < 0) {
		w->on = WHERE_LAB;
		snprintf(w->why, sizeof(w->why), "no usable KVM on this host: %s", error_get());
		return;
	}
	if (kvm.caps.mce_banks <= 0) {
		w->on = WHERE_LAB;
		snprintf(w->why, sizeof(w->why),
			 "this host's KVM (API %d) has no KVM_CAP_MCE: it cannot give a guest machine checks",
			 kvm.caps.api_version);
	} else {
		w->on = WHERE_HOST;
		snprintf(w->why, sizeof(w->why), "%s answers KVM API %d with KVM_CAP_MCE (%d banks)",
			 KVM_DEV_PATH, kvm.caps.api_version, kvm.caps.mce_banks);
	}
	kvm_close(&kvm);
}

void where_describe(const struct where *w, char *buf, size_t len)
{
	if (w->in_lab)
		snprintf(buf, len, "lab: kernel %s under QEMU's TCG; %s", w->lab_kernel,
			 w->lab_boot[0] ? w->lab_boot : "booted");
	else
		snprintf(buf, len, "%s: %s", where_name(w->on), w->why);
}

void where_print(const struct where *w, FILE *out, const char *prefix)
{
	char line[1536];

	where_describe(w, line, sizeof(line));
	fprintf(out, "%son: %s\n", prefix, line);
	if (w->in_lab && w->lab_why[0])
		fprintf(out, "%swhy the lab: %s\n", prefix, w->lab_why);
}

void where_print_json(const struct where *w, FILE *out)
{
	fprintf(out, "{\"on\": \"%s\", \"in_lab\": %s, \"why\": ", where_name(w->on),
		w->in_lab ? "true" : "false");
	caps_json_string(out, w->in_lab ? (w->lab_why[0] ? w->lab_why : "run by mcefwd lab") : w->why);
	if (w->in_lab) {
		fputs(", \"lab\": {\"kernel\": ", out);
		caps_json_string(out, w->lab_kernel);
		fputs(", \"boot\": ", out);
		caps_json_string(out, w->lab_boot);
		fputc('}', out);
	}
	fputc('}', out);
}
