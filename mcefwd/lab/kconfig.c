// SPDX-License-Identifier: GPL-2.0-only
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mcefwd/lab/kconfig.h"

static const struct {
	const char *option;
	bool module_ok;		/* =m will do: the lab loads it */
	const char *why;
} kconfig_needs[] = {
	{ "CONFIG_X86_64", false, "an x86-64 kernel" },
	{ "CONFIG_X86_MCE", false, "machine-check support" },
	{ "CONFIG_MEMORY_FAILURE", false, "madvise(MADV_HWPOISON) and the kernel's memory-failure path" },
	{ "CONFIG_HWPOISON_INJECT", true, "debugfs hwpoison/corrupt-pfn and unpoison-pfn (--poison=pfn)" },
	{ "CONFIG_KVM", true, "KVM" },
	{ "CONFIG_KVM_AMD", true, "KVM on AMD SVM, the only virtualization QEMU's TCG emulates" },
	{ "CONFIG_DEBUG_FS", false, "debugfs, where hwpoison-inject lives" },
	{ "CONFIG_PROC_PAGE_MONITOR", false, "/proc/PID/pagemap, how mcefwd finds a page's frame" },
	{ "CONFIG_BLK_DEV_INITRD", false, "booting the lab's initramfs" },
	{ "CONFIG_DEVTMPFS", false, "/dev/kvm without udev" },
	{ "CONFIG_SERIAL_8250_CONSOLE", false, "the serial ports the command's output comes back on" },
	{ "CONFIG_VIRTIO_PCI", true, "virtio, to reach the host's files" },
	{ "CONFIG_NET_9P_VIRTIO", true, "9p over virtio: the host's root file system" },
	{ "CONFIG_9P_FS", true, "9p over virtio: the host's root file system" },
	{ "CONFIG_OVERLAY_FS", true, "a writable layer over the host's read-only files" },
	{ "CONFIG_TMPFS", false, "the writable layer and /dev/shm" },
	{ "CONFIG_UNIX98_PTYS", false, "/dev/pts for commands that open a terminal" },
};

void kconfig_value(const char *config, const char *option, char *val, size_t len)
{
	size_t ol = strlen(option);

	val[0] = '\0';
	for (const char *line = config; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t ll = nl ? (size_t)(nl - line) : strlen(line);

		if (ll > ol && !strncmp(line, option, ol) && line[ol] == '=') {
			snprintf(val, len, "%.*s", (int)(ll - ol - 1), line + ol + 1);
			return;
		}
		line = nl ? nl + 1 : NULL;
	}
}

/* Whether config has need i as the lab needs it; its value into v. */
static bool kconfig_has(const char *config, size_t i, char *v, size_t len)
{
	kconfig_value(config, kconfig_needs[i].option, v, len);
	return !strcmp(v, "y") || (kconfig_needs[i].module_ok && !strcmp(v, "m"));
}

/* The options the lab needs that config lacks, into out: with why, or by name. */
static int kconfig_list(const char *config, const char *sep, bool why, char *out, size_t len)
{
	size_t pos = 0;
	int missing = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(kconfig_needs) / sizeof(kconfig_needs[0]); i++) {
		char v[64];

		if (kconfig_has(config, i, v, sizeof(v)))
			continue;
		missing++;
		if (pos >= len)
			continue;
		if (why)
			pos += (size_t)snprintf(out + pos, len - pos, "%s%s is %s, the lab needs %s (%s)",
						pos ? sep : "", kconfig_needs[i].option,
						*v ? v : "not set",
						kconfig_needs[i].module_ok ? "y or m" : "y",
						kconfig_needs[i].why);
		else
			pos += (size_t)snprintf(out + pos, len - pos, "%s%s", pos ? sep : "",
						kconfig_needs[i].option);
	}
	return missing;
}

int kconfig_check(const char *config, const char *sep, char *why, size_t len)
{
	return kconfig_list(config, sep, true, why, len);
}

int kconfig_missing_names(const char *config, char *names, size_t len)
{
	return kconfig_list(config, ", ", false, names, len);
}
