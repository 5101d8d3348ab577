// SPDX-License-Identifier: GPL-2.0-only
/*
 * Machine-check encoding, after QEMU's target/i386/kvm/kvm.c
 * (kvm_arch_on_sigbus_vcpu, kvm_mce_inject) and target/i386/helper.c
 * (cpu_x86_inject_mce, cpu_x86_support_mca_broadcast).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mcefwd/mce/encode.h"
#include "mcefwd/mce/qemu_model.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- what QEMU writes ------------------------------------------------- */

#define INTEL_SRAx_STATUS \
	(MCE_STATUS_VAL | MCE_STATUS_UC | MCE_STATUS_EN | MCE_STATUS_MISCV | \
	 MCE_STATUS_ADDRV | MCE_STATUS_S)
#define INTEL_AR_STATUS \
	(INTEL_SRAx_STATUS | MCE_STATUS_AR | MCE_MCACOD_SRAR_DATA_LOAD)
#define INTEL_AO_STATUS	(INTEL_SRAx_STATUS | MCE_MCACOD_SRAO_MEM_SCRUB)
/* AMD has no S/AR: UC|POISON is consumed poison, DEFERRED|POISON is not. */
#define AMD_STATUS \
	(MCE_STATUS_VAL | MCE_STATUS_EN | MCE_STATUS_MISCV | MCE_STATUS_ADDRV)
#define AMD_AR_STATUS	(AMD_STATUS | MCE_STATUS_UC | MCE_STATUS_POISON)
#define AMD_AO_STATUS	(AMD_STATUS | MCE_STATUS_DEFERRED | MCE_STATUS_POISON)

struct encoding {
	uint64_t status;
	uint64_t mcg_status;
};

/*
 * QEMU before 7.0 left RIPV clear for an AR error, so a guest kernel could
 * not return from the handler and panicked; 7.0 sets RIPV for both kinds.
 */
static const struct encoding encodings[][2] = {
	[MCE_PROFILE_QEMU62] = {
		[MCE_AR] = { INTEL_AR_STATUS,
			     MCE_MCG_STATUS_MCIP | MCE_MCG_STATUS_EIPV },
		[MCE_AO] = { INTEL_AO_STATUS,
			     MCE_MCG_STATUS_MCIP | MCE_MCG_STATUS_RIPV },
	},
	[MCE_PROFILE_QEMU7] = {
		[MCE_AR] = { INTEL_AR_STATUS,
			     MCE_MCG_STATUS_MCIP | MCE_MCG_STATUS_RIPV |
			     MCE_MCG_STATUS_EIPV },
		[MCE_AO] = { INTEL_AO_STATUS,
			     MCE_MCG_STATUS_MCIP | MCE_MCG_STATUS_RIPV },
	},
	[MCE_PROFILE_AMD] = {
		[MCE_AR] = { AMD_AR_STATUS,
			     MCE_MCG_STATUS_MCIP | MCE_MCG_STATUS_RIPV |
			     MCE_MCG_STATUS_EIPV },
		[MCE_AO] = { AMD_AO_STATUS,
			     MCE_MCG_STATUS_MCIP | MCE_MCG_STATUS_RIPV },
	},
};

static const char *const profile_names[] = {
	[MCE_PROFILE_QEMU62] = "qemu-6.2",
	[MCE_PROFILE_QEMU7] = "qemu-7",
	[MCE_PROFILE_AMD] = "amd",
};

static bool profile_valid(enum mce_profile profile)
{
	return (unsigned int)profile < ARRAY_SIZE(profile_names);
}

static bool kind_valid(enum mce_kind kind)
{
	return kind == MCE_AR || kind == MCE_AO;
}

int mce_profile_parse(const char *s, enum mce_profile *out)
{
	unsigned int i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(profile_names); i++) {
		if (!strcmp(s, profile_names[i])) {
			*out = (enum mce_profile)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *mce_profile_name(enum mce_profile profile)
{
	return profile_valid(profile) ? profile_names[profile] : "unknown";
}

bool mce_profile_is_amd(enum mce_profile profile)
{
	return profile == MCE_PROFILE_AMD;
}

enum mce_verdict mce_decide(enum mce_kind kind, uint64_t mcg_cap,
			    bool in_guest_ram, const char **reason)
{
	enum mce_verdict verdict;
	const char *why;

	if (!kind_valid(kind)) {
		verdict = MCE_IGNORE;
		why = "unknown memory error kind";
	} else if (!(mcg_cap & MCE_MCG_SER_P)) {
		/* Without SER_P the guest cannot recover: nothing to report into. */
		if (kind == MCE_AR) {
			verdict = MCE_STOP_VM;
			why = "hardware memory error: guest MCG_CAP has no MCG_SER_P, an action-required error cannot be delivered";
		} else {
			verdict = MCE_IGNORE;
			why = "guest MCG_CAP has no MCG_SER_P: action-optional error ignored";
		}
	} else if (!in_guest_ram) {
		if (kind == MCE_AR) {
			verdict = MCE_STOP_VM;
			why = "hardware memory error: the address is not guest RAM but memory the VMM itself uses";
		} else {
			verdict = MCE_IGNORE;
			why = "warning: action-optional error in memory the VMM itself uses, not guest RAM: ignored";
		}
	} else {
		verdict = MCE_DELIVER;
		why = kind == MCE_AR ?
			"action-required error in guest RAM: inject" :
			"action-optional error in guest RAM: inject";
	}
	if (reason)
		*reason = why;
	return verdict;
}

bool mce_lmce_active(enum mce_profile profile, uint64_t mcg_cap,
		     bool lmce_enabled)
{
	return lmce_enabled && profile_valid(profile) &&
	       !mce_profile_is_amd(profile) && (mcg_cap & MCE_MCG_LMCE_P);
}

int mce_build(enum mce_profile profile, enum mce_kind kind, uint64_t gpa,
	      unsigned int bank, uint64_t mcg_cap, bool lmce_enabled,
	      struct kvm_x86_mce *out)
{
	const struct encoding *enc;
	uint64_t mcg_status;

	if (!profile_valid(profile) || !kind_valid(kind))
		return -EINVAL;
	if (bank >= (mcg_cap & MCE_MCG_CAP_COUNT_MASK) ||
	    bank >= MCE_KVM_MAX_BANKS)
		return -EINVAL;

	enc = &encodings[profile][kind];
	mcg_status = enc->mcg_status;
	if (mce_lmce_active(profile, mcg_cap, lmce_enabled))
		mcg_status |= MCE_MCG_STATUS_LMCE;

	*out = (struct kvm_x86_mce){
		.status = enc->status,
		.addr = gpa,
		.misc = MCE_MISC_PHYS_4K,
		.mcg_status = mcg_status,
		.bank = (uint8_t)bank,
	};
	return 0;
}

struct kvm_x86_mce mce_broadcast_record(void)
{
	return (struct kvm_x86_mce){
		.status = MCE_STATUS_VAL | MCE_STATUS_UC,
		.mcg_status = MCE_MCG_STATUS_MCIP | MCE_MCG_STATUS_RIPV,
		.bank = MCE_BROADCAST_BANK,
	};
}

int mce_build_broadcast(enum mce_profile profile, struct kvm_x86_mce *out)
{
	if (!profile_valid(profile))
		return -EINVAL;
	if (mce_profile_is_amd(profile))
		return -EOPNOTSUPP;
	*out = mce_broadcast_record();
	return 0;
}

bool mce_wants_broadcast(enum mce_profile profile, uint32_t cpuid_version, bool lmce_enabled)
{
	if (!profile_valid(profile) || mce_profile_is_amd(profile))
		return false;
	/* A local machine check is delivered to the one CPU that hit it. */
	if (lmce_enabled)
		return false;
	return qemu_model_family_broadcasts(cpuid_version);
}

uint64_t mce_default_mcg_cap(void)
{
	return 10 | MCE_MCG_CTL_P | MCE_MCG_SER_P;
}

/* ---- text ------------------------------------------------------------- */

/* Appends like snprintf: pos counts what the whole text needs. */
struct sbuf {
	char *buf;
	size_t len;
	size_t pos;
};

static void sb_printf(struct sbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	size_t room = sb->pos < sb->len ? sb->len - sb->pos : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? sb->buf + sb->pos : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb->pos += (size_t)n;
}

static void sb_init(struct sbuf *sb, char *buf, size_t len)
{
	sb->buf = buf;
	sb->len = buf ? len : 0;
	sb->pos = 0;
	if (sb->len)
		buf[0] = '\0';
}

struct bit_name {
	uint64_t bit;
	const char *name;
};

static const struct bit_name intel_status_bits[] = {
	{ MCE_STATUS_VAL, "VAL" },
	{ MCE_STATUS_OVER, "OVER" },
	{ MCE_STATUS_UC, "UC" },
	{ MCE_STATUS_EN, "EN" },
	{ MCE_STATUS_MISCV, "MISCV" },
	{ MCE_STATUS_ADDRV, "ADDRV" },
	{ MCE_STATUS_PCC, "PCC" },
	{ MCE_STATUS_S, "S" },
	{ MCE_STATUS_AR, "AR" },
};

static const struct bit_name amd_status_bits[] = {
	{ MCE_STATUS_VAL, "VAL" },
	{ MCE_STATUS_OVER, "OVER" },
	{ MCE_STATUS_UC, "UC" },
	{ MCE_STATUS_EN, "EN" },
	{ MCE_STATUS_MISCV, "MISCV" },
	{ MCE_STATUS_ADDRV, "ADDRV" },
	{ MCE_STATUS_PCC, "PCC" },
	{ MCE_STATUS_DEFERRED, "DEFERRED" },
	{ MCE_STATUS_POISON, "POISON" },
};

static const struct bit_name mcg_status_bits[] = {
	{ MCE_MCG_STATUS_MCIP, "MCIP" },
	{ MCE_MCG_STATUS_RIPV, "RIPV" },
	{ MCE_MCG_STATUS_EIPV, "EIPV" },
	{ MCE_MCG_STATUS_LMCE, "LMCE" },
};

/* Ascending, as the reasons list them. */
static const struct bit_name mcg_cap_bits[] = {
	{ MCE_MCG_CTL_P, "MCG_CTL_P" },
	{ MCE_MCG_EXT_P, "MCG_EXT_P" },
	{ MCE_MCG_CMCI_P, "MCG_CMCI_P" },
	{ MCE_MCG_TES_P, "MCG_TES_P" },
	{ MCE_MCG_SER_P, "MCG_SER_P" },
	{ MCE_MCG_EMC_P, "MCG_EMC_P" },
	{ MCE_MCG_ELOG_P, "MCG_ELOG_P" },
	{ MCE_MCG_LMCE_P, "MCG_LMCE_P" },
};

/* Names the bits of value in table order; returns the bits it named. */
static uint64_t sb_flags(struct sbuf *sb, uint64_t value,
			 const struct bit_name *names, size_t n)
{
	uint64_t named = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!(value & names[i].bit))
			continue;
		sb_printf(sb, "%s%s", named ? "|" : "", names[i].name);
		named |= names[i].bit;
	}
	return named;
}

size_t mce_status_describe(uint64_t status, bool amd, char *buf, size_t len)
{
	const struct bit_name *names = amd ? amd_status_bits : intel_status_bits;
	size_t n = amd ? ARRAY_SIZE(amd_status_bits) :
			 ARRAY_SIZE(intel_status_bits);
	/* Bits 63:32 are flags or model-specific "other information". */
	uint64_t high = status & ~0xffffffffULL;
	struct sbuf sb;
	uint64_t named;

	sb_init(&sb, buf, len);
	named = sb_flags(&sb, status, names, n);
	if (!named)
		sb_printf(&sb, "none");
	sb_printf(&sb, " MCACOD=0x%llx MSCOD=0x%llx",
		  (unsigned long long)(status & MCE_STATUS_MCACOD_MASK),
		  (unsigned long long)((status & MCE_STATUS_MSCOD_MASK) >>
				       MCE_STATUS_MSCOD_SHIFT));
	if (high & ~named)
		sb_printf(&sb, " OTHER=0x%llx",
			  (unsigned long long)(high & ~named));
	return sb.pos;
}

size_t mce_mcg_status_describe(uint64_t mcg_status, char *buf, size_t len)
{
	struct sbuf sb;
	uint64_t named;

	sb_init(&sb, buf, len);
	named = sb_flags(&sb, mcg_status, mcg_status_bits,
			 ARRAY_SIZE(mcg_status_bits));
	if (mcg_status & ~named)
		sb_printf(&sb, "%s0x%llx", named ? "|" : "",
			  (unsigned long long)(mcg_status & ~named));
	else if (!named)
		sb_printf(&sb, "none");
	return sb.pos;
}

static const char *mcg_cap_bit_name(unsigned int bit)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(mcg_cap_bits); i++)
		if (mcg_cap_bits[i].bit == 1ULL << bit)
			return mcg_cap_bits[i].name;
	return NULL;
}

/*
 * The set bits of an MCG_CAP value by name, unknown ones as "bit N":
 * verbose "MCG_LMCE_P (bit 27), bit 40", short "MCG_CTL_P|MCG_SER_P"
 * (and "none" when no bit is set).
 */
static void sb_cap_bits(struct sbuf *sb, uint64_t bits, bool verbose)
{
	const char *name;
	unsigned int bit;
	bool first = true;

	for (bit = 0; bit < 64; bit++) {
		if (!(bits & (1ULL << bit)))
			continue;
		name = mcg_cap_bit_name(bit);
		sb_printf(sb, "%s", first ? "" : verbose ? ", " : "|");
		if (name && verbose)
			sb_printf(sb, "%s (bit %u)", name, bit);
		else if (name)
			sb_printf(sb, "%s", name);
		else
			sb_printf(sb, "bit %u", bit);
		first = false;
	}
	if (first && !verbose)
		sb_printf(sb, "none");
}

int mce_cap_check(uint64_t requested, uint64_t supported,
		  unsigned int max_banks, char *why, size_t len)
{
	/* The bank count and MCG_EXT_CNT fields are not capability bits. */
	const uint64_t fields = MCE_MCG_CAP_COUNT_MASK | MCE_MCG_EXT_CNT_MASK;
	unsigned int banks = (unsigned int)(requested & MCE_MCG_CAP_COUNT_MASK);
	unsigned int limit = max_banks < MCE_KVM_MAX_BANKS ?
			     max_banks : MCE_KVM_MAX_BANKS;
	uint64_t bad = requested & ~(supported | fields);
	struct sbuf sb;
	bool ok = true;

	sb_init(&sb, why, len);
	if (banks == 0) {
		sb_printf(&sb, "MCG_CAP bank count is 0: at least 1 bank is needed");
		ok = false;
	} else if (limit == 0) {
		sb_printf(&sb, "MCG_CAP bank count %u: this host's KVM reports no machine-check banks (KVM_CAP_MCE is 0)",
			  banks);
		ok = false;
	} else if (banks > limit) {
		sb_printf(&sb, "MCG_CAP bank count %u exceeds the %u banks this host's KVM supports",
			  banks, limit);
		ok = false;
	}
	if (bad) {
		sb_printf(&sb, "%s", ok ? "" : "; ");
		sb_cap_bits(&sb, bad, true);
		sb_printf(&sb, " %s not supported by this host's KVM (supported: ",
			  bad & (bad - 1) ? "are" : "is");
		sb_cap_bits(&sb, supported & ~fields, false);
		sb_printf(&sb, ")");
		ok = false;
	}
	return ok ? 0 : -EINVAL;
}

size_t mce_mcg_cap_describe(uint64_t mcg_cap, char *buf, size_t len)
{
	unsigned int banks = (unsigned int)(mcg_cap & MCE_MCG_CAP_COUNT_MASK);
	struct sbuf sb;

	sb_init(&sb, buf, len);
	sb_cap_bits(&sb, mcg_cap & ~(MCE_MCG_CAP_COUNT_MASK | MCE_MCG_EXT_CNT_MASK),
		    false);
	if (banks)
		sb_printf(&sb, ", %u bank%s", banks, banks == 1 ? "" : "s");
	return sb.pos;
}
