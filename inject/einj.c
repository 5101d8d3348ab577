// SPDX-License-Identifier: GPL-2.0-only
/*
 * The "einj" method: the firmware's ACPI error injection (EINJ), driven
 * through debugfs apei/einj as the kernel's
 * Documentation/firmware-guide/acpi/apei/einj.rst describes. This raises a
 * real hardware error on the host, so nothing picks it automatically.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "inject/method.h"
#include "inject/probe.h"
#include "mcefwd/util/error.h"
#include "mcefwd/util/io.h"

#define EINJ_TABLE "/sys/firmware/acpi/tables/EINJ"
#define EINJ_DIR "apei/einj"

static void einj_path(char *buf, size_t len, const char *file)
{
	snprintf(buf, len, "%s/" EINJ_DIR "/%s", inject_debugfs_root(), file);
}

static bool einj_exists(const char *file)
{
	char path[PATH_MAX + 64];

	einj_path(path, sizeof(path), file);
	return access(path, F_OK) == 0;
}

int inject_einj_parse_types(const char *text, uint32_t *types)
{
	unsigned int line = 0;
	uint32_t mask = 0;

	if (!text || !types)
		return -EINVAL;
	while (*text) {
		size_t n = strcspn(text, "\n");
		const char *p = text;
		unsigned long long v;
		char *end;

		line++;
		while (p < text + n && (*p == ' ' || *p == '\t'))
			p++;
		/* EINJv2 types are selected differently; the v1 list is what we use. */
		if (p < text + n && strncmp(p, "V2_", 3)) {
			errno = 0;
			v = strtoull(p, &end, 16);
			if (errno || end == p || end > text + n || v > UINT32_MAX ||
			    (end < text + n && *end != '\t' && *end != ' '))
				return error_set(EINVAL,
						 "available_error_type line %u: "
						 "\"%.*s\" is not \"0xTYPE<tab>description\"",
						 line, (int)n, text);
			mask |= (uint32_t)v;
		}
		text += n + (text[n] == '\n');
	}
	*types = mask;
	return 0;
}

static int einj_read_types(uint32_t *types)
{
	char path[PATH_MAX + 64], buf[2048];
	ssize_t n;

	einj_path(path, sizeof(path), "available_error_type");
	/* The caller words ENOENT and EACCES. */
	n = io_read_text(path, buf, sizeof(buf));
	if (n < 0)
		return error_set((int)-n, "%s: %s", path, strerror((int)-n));
	n = inject_einj_parse_types(buf, types);
	return n ? error_wrap(-n, "%s", path) : 0;
}

static bool einj_debugfs_mounted(void)
{
	struct statfs st;

	return !statfs(inject_debugfs_root(), &st) && st.f_type == DEBUGFS_MAGIC;
}

/*
 * Whether debugfs apei/einj offers what inject_einj_memory() needs; the
 * reason goes to error_set() either way.
 */
static int einj_check_debugfs(void)
{
	const char *root = inject_debugfs_root();
	uint32_t types;
	int ret;

	ret = einj_read_types(&types);
	if (ret == -ENOENT && !einj_debugfs_mounted())
		return error_set(ENOENT,
				 "debugfs not mounted at %s: mount -t debugfs "
				 "none %s",
				 root, root);
	if (ret == -ENOENT)
		return error_set(ENOENT,
				 "no %s/" EINJ_DIR ": modprobe einj (needs "
				 "CONFIG_ACPI_APEI_EINJ)",
				 root);
	if (ret == -EACCES || ret == -EPERM)
		return error_set(-ret,
				 "%s/" EINJ_DIR "/available_error_type: %s: needs "
				 "root; under kernel lockdown debugfs is closed",
				 root, strerror(-ret));
	if (ret)
		return ret;
	if (!(types & INJECT_EINJ_MEM_UC_NONFATAL))
		return error_set(EOPNOTSUPP,
				 "firmware EINJ offers types 0x%x but not "
				 "0x%x (Memory Uncorrectable non-fatal)",
				 types, INJECT_EINJ_MEM_UC_NONFATAL);
	/* ACPI 4.0 firmware takes an address only through the extension. */
	if (!einj_exists("param1") || !einj_exists("param2"))
		return error_set(EOPNOTSUPP,
				 "firmware EINJ takes no address (no %s/" EINJ_DIR
				 "/param1): boot with einj.param_extension=1 "
				 "if the BIOS supports it",
				 root);
	return error_set(0,
			 "ACPI EINJ: Memory Uncorrectable non-fatal (0x%x) at a "
			 "chosen address",
			 INJECT_EINJ_MEM_UC_NONFATAL);
}

int inject_einj_available(char *why, size_t len)
{
	int ret;

	if (access(EINJ_TABLE, F_OK))
		ret = error_set(ENODEV, "no ACPI EINJ table (" EINJ_TABLE "): the "
					"firmware offers no error injection (look for WHEA "
					"or error injection in the BIOS setup)");
	else
		ret = einj_check_debugfs();
	if (why && len)
		snprintf(why, len, "%s", error_get());
	return ret;
}

static const char *einj_hint(const char *file, int err)
{
	if (strcmp(file, "error_inject"))
		return err == EINVAL ? ": value refused" : "";
	switch (err) {
	case EINVAL:
		return ": refused (address not in system RAM, mask coarser than a "
		       "page, or a type or flag the firmware does not take)";
	case EBUSY:
		return ": firmware busy: try again";
	case EADDRINUSE:
		return ": that is the zero page";
	case EIO:
		return ": the firmware reported a failure";
	default:
		return "";
	}
}

static __attribute__((format(printf, 2, 3))) int einj_write(const char *file, const char *fmt, ...)
{
	char path[PATH_MAX + 64], text[64];
	va_list ap;
	int fd, len, err = 0;
	ssize_t n;

	va_start(ap, fmt);
	len = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	einj_path(path, sizeof(path), file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
	} else {
		n = write(fd, text, len);
		if (n < 0)
			err = errno;
		else if (n != len)
			err = EIO;
		close(fd);
	}
	if (err)
		return error_set(err, "writing %.*s to %s: %s%s", len - 1, text, path,
				 strerror(err), einj_hint(file, err));
	return 0;
}

int inject_einj_memory(uint64_t phys_addr)
{
	int ret;

	ret = einj_check_debugfs();
	if (ret)
		return ret;
	/*
	 * The order of einj.rst; error_inject goes last, the values before it
	 * are only stored. flags bit 1 says param1/param2 are the address and
	 * mask (ACPI 5.0 SET_ERROR_TYPE_WITH_ADDRESS); kernels before 3.13 have
	 * no flags file and take param1/param2 as they are.
	 */
	ret = einj_write("error_type", "0x%x\n", INJECT_EINJ_MEM_UC_NONFATAL);
	if (!ret)
		ret = einj_write("param1", "0x%" PRIx64 "\n", phys_addr);
	if (!ret)
		ret = einj_write("param2", "0x%llx\n", INJECT_EINJ_PAGE_MASK);
	if (!ret && einj_exists("flags"))
		ret = einj_write("flags", "0x%x\n", INJECT_EINJ_FLAG_MEM);
	if (!ret)
		ret = einj_write("error_inject", "1\n");
	return ret;
}

/*
 * Only looks at what exists, as every probe: whether the firmware takes the
 * error type is for inject_einj_available(), which reads debugfs.
 */
static void einj_probe(struct inject_probe *p)
{
	p->available = false;
	if (!probe_exists(EINJ_TABLE)) {
		probe_set(p, "no ACPI EINJ table (" EINJ_TABLE ")");
		return;
	}
	if (!probe_sys_admin(p) || !probe_debugfs(p))
		return;
	if (!probe_exists(PROBE_DEBUGFS "/" EINJ_DIR)) {
		probe_set(p, "EINJ table present but no " PROBE_DEBUGFS "/" EINJ_DIR
			  ": modprobe einj");
		return;
	}
	p->available = true;
	probe_set(p, "ACPI EINJ table and " PROBE_DEBUGFS "/" EINJ_DIR " present");
}

static int einj_poison(const struct inject_page *pg, struct inject_undo *undo)
{
	int ret = method_check_page(&inject_method_einj, pg, undo);

	if (!ret)
		ret = inject_einj_memory(pg->pfn << 12);
	if (!ret)
		undo->pfn = pg->pfn;
	return ret;
}

static const cap_value_t einj_caps[] = { CAP_SYS_ADMIN };

const struct inject_method_ops inject_method_einj = {
	.id = INJECT_EINJ,
	.name = "einj",
	.what = "ACPI EINJ",
	/* No INJECT_F_AUTO: a real hardware error on the host, only when asked. */
	.flags = INJECT_F_FRAME | INJECT_F_MEMORY_FAILURE | INJECT_F_OTHER_PROCESS,
	.caps = einj_caps,
	.nr_caps = sizeof(einj_caps) / sizeof(einj_caps[0]),
	.no_undo = "a real hardware error: the kernel refuses to unpoison it until reboot",
	.probe = einj_probe,
	.poison = einj_poison,
	/* After a real hardware error the kernel refuses every unpoison-pfn. */
	.unpoison = NULL,
};
