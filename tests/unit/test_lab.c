// SPDX-License-Identifier: GPL-2.0-only
/*
 * The lab's pure parts: the initramfs archive, module facts and load order,
 * the kernel config check, the protocol with the lab's /init, QEMU's
 * command line, a bzImage's release, --on, what apt says of a kernel series
 * (dpkg's version order, apt-cache's output), --kernel's lab options and
 * --list-kernels' JSON. The lab itself boots in tests/lab/ and the
 * integration tests.
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "tests/unit/fixture.h"

#include "mcefwd/util/error.h"
#include "mcefwd/lab/apt.h"
#include "mcefwd/lab/cpio.h"
#include "mcefwd/lab/kconfig.h"
#include "mcefwd/lab/kernel.h"
#include "mcefwd/lab/list.h"
#include "mcefwd/lab/modinfo.h"
#include "mcefwd/lab/proto.h"
#include "mcefwd/lab/qemu.h"
#include "mcefwd/cli/where.h"

/* ---- cpio ---- */

static unsigned long hex8(const char *p)
{
	char b[9];

	memcpy(b, p, 8);
	b[8] = '\0';
	return strtoul(b, NULL, 16);
}

static void test_cpio_newc_entries(void **state)
{
	char *buf = NULL;
	size_t len = 0, off = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *want_names[] = { "lab", "init", "lab/config", "TRAILER!!!" };
	unsigned long want_sizes[] = { 0, 5, 3, 0 };
	struct cpio c;

	(void)state;
	assert_non_null(f);
	cpio_begin(&c, f);
	cpio_add(&c, "lab", S_IFDIR | 0755, NULL, 0);
	cpio_add(&c, "init", S_IFREG | 0755, "12345", 5);
	cpio_add(&c, "lab/config", S_IFREG | 0644, "a\0b", 3);
	assert_int_equal(cpio_end(&c), 0);
	fclose(f);
	for (unsigned int i = 0; i < 4; i++) {
		unsigned long namesize, filesize, mode;

		assert_true(off + 110 <= len);
		assert_memory_equal(buf + off, "070701", 6);
		mode = hex8(buf + off + 14);
		filesize = hex8(buf + off + 54);
		namesize = hex8(buf + off + 94);
		assert_int_equal(filesize, want_sizes[i]);
		assert_int_equal(namesize, strlen(want_names[i]) + 1);
		assert_string_equal(buf + off + 110, want_names[i]);
		if (i == 0)
			assert_true(S_ISDIR(mode));
		if (i == 1) {
			assert_true(S_ISREG(mode));
			assert_int_equal(mode & 0777, 0755);
		}
		/* Name and data each padded to 4 bytes from the header's start. */
		off = (off + 110 + namesize + 3) & ~3UL;
		if (i == 1)
			assert_memory_equal(buf + off, "12345", 5);
		off = (off + filesize + 3) & ~3UL;
	}
	assert_int_equal(off, len);
	free(buf);
}

static void test_cpio_refuses_data_for_a_directory(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct cpio c;

	(void)state;
	cpio_begin(&c, f);
	cpio_add(&c, "d", S_IFDIR | 0755, "x", 1);
	cpio_add(&c, "after", S_IFREG | 0644, "y", 1);
	assert_int_equal(cpio_end(&c), -EINVAL);
	fclose(f);
	free(buf);
}

/* ---- modinfo ---- */

/* A minimal module: ELF64 ET_REL with .shstrtab and a .modinfo section. */
static size_t make_module(unsigned char *img, size_t cap, const char *modinfo, size_t mlen,
			  const char *secname)
{
	char shstr[64];
	size_t shlen, off = sizeof(Elf64_Ehdr);
	Elf64_Ehdr eh = { 0 };
	Elf64_Shdr sh[3] = { { 0 } };

	shlen = (size_t)snprintf(shstr, sizeof(shstr), "%c.shstrtab%c%s", 0, 0, secname) + 1;
	assert_true(off + shlen + mlen + sizeof(sh) <= cap);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_type = ET_REL;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 3;
	eh.e_shstrndx = 1;
	memcpy(img + off, shstr, shlen);
	sh[1] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_STRTAB, .sh_offset = off, .sh_size = shlen };
	off += shlen;
	memcpy(img + off, modinfo, mlen);
	sh[2] = (Elf64_Shdr){ .sh_name = 11, .sh_type = SHT_PROGBITS, .sh_offset = off,
			      .sh_size = mlen };
	off += mlen;
	eh.e_shoff = off;
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + off, sh, sizeof(sh));
	return off + sizeof(sh);
}

static void test_modinfo_reads_name_depends_vermagic(void **state)
{
	static const char mi[] = "license=GPL\0\0\0depends=kvm,ccp\0name=kvm_amd\0"
				 "vermagic=6.1.0-57-amd64 SMP preempt mod_unload modversions ";
	unsigned char img[1024];
	size_t len = make_module(img, sizeof(img), mi, sizeof(mi), ".modinfo");
	struct modinfo m;

	(void)state;
	assert_int_equal(modinfo_parse(img, len, &m), 0);
	assert_string_equal(m.name, "kvm_amd");
	assert_string_equal(m.depends, "kvm,ccp");
	assert_string_equal(m.vermagic, "6.1.0-57-amd64 SMP preempt mod_unload modversions ");
}

static void test_modinfo_refuses_what_is_not_a_module(void **state)
{
	static const char mi[] = "name=x";
	unsigned char img[1024];
	size_t len;
	struct modinfo m;

	(void)state;
	assert_int_equal(modinfo_parse("not elf at all", 14, &m), -EINVAL);
	/* A section whose name only starts like ".modinfo" is not it. */
	len = make_module(img, sizeof(img), mi, sizeof(mi), ".modinfoX");
	assert_int_equal(modinfo_parse(img, len, &m), -EINVAL);
	assert_non_null(strstr(error_get(), ".modinfo"));
	/* Section headers beyond the end of the file. */
	len = make_module(img, sizeof(img), mi, sizeof(mi), ".modinfo");
	assert_int_equal(modinfo_parse(img, len - 1, &m), -EINVAL);
}

static void test_modinfo_name_of_file(void **state)
{
	char n[MODINFO_NAME_MAX];

	(void)state;
	modinfo_name_of_file("/lib/modules/6.12/kernel/arch/x86/kvm/kvm-amd.ko.xz", n, sizeof(n));
	assert_string_equal(n, "kvm_amd");
	modinfo_name_of_file("hwpoison-inject.ko", n, sizeof(n));
	assert_string_equal(n, "hwpoison_inject");
	modinfo_name_of_file("9pnet_virtio.ko.zst", n, sizeof(n));
	assert_string_equal(n, "9pnet_virtio");
}

/* A made-up module graph: name -> depends, "!" for built in, absent for missing. */
static const char *const graph[][2] = {
	{ "kvm_amd", "kvm,ccp" }, { "kvm", "irqbypass" }, { "ccp", "" }, { "irqbypass", "" },
	{ "9p", "9pnet,netfs" }, { "9pnet", "" }, { "netfs", "!" }, { "loop_a", "loop_b" },
	{ "loop_b", "loop_a" }, { "needs_ghost", "ghost" },
};

static int graph_deps(void *ctx, const char *name, char *depends, size_t len)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof(graph) / sizeof(graph[0]); i++) {
		if (strcmp(graph[i][0], name))
			continue;
		if (!strcmp(graph[i][1], "!"))
			return 1;
		snprintf(depends, len, "%s", graph[i][1]);
		return 0;
	}
	return error_set(ENOENT, "no module %s", name);
}

static size_t index_of(char (*order)[MODINFO_NAME_MAX], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(order[i], name))
			return i;
	fail_msg("%s is not in the load order", name);
	return n;
}

static void test_load_order_deps_first_each_once(void **state)
{
	const char *wanted[] = { "kvm_amd", "9p", "kvm" };
	char order[16][MODINFO_NAME_MAX];
	size_t n = 0;

	(void)state;
	assert_int_equal(modinfo_load_order(wanted, 3, graph_deps, NULL, order, 16, &n), 0);
	/* kvm_amd kvm ccp irqbypass 9p 9pnet; netfs is built in. */
	assert_int_equal(n, 6);
	assert_true(index_of(order, n, "irqbypass") < index_of(order, n, "kvm"));
	assert_true(index_of(order, n, "kvm") < index_of(order, n, "kvm_amd"));
	assert_true(index_of(order, n, "ccp") < index_of(order, n, "kvm_amd"));
	assert_true(index_of(order, n, "9pnet") < index_of(order, n, "9p"));
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(order[i], "netfs");
}

static void test_load_order_appends(void **state)
{
	const char *first[] = { "kvm" }, *then[] = { "kvm_amd" };
	char order[16][MODINFO_NAME_MAX];
	size_t n = 0;

	(void)state;
	assert_int_equal(modinfo_load_order(first, 1, graph_deps, NULL, order, 16, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(modinfo_load_order(then, 1, graph_deps, NULL, order, 16, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(order[0], "irqbypass");
	assert_string_equal(order[1], "kvm");
	assert_string_equal(order[3], "kvm_amd");
}

static void test_load_order_errors(void **state)
{
	const char *cycle[] = { "loop_a" }, *ghost[] = { "needs_ghost" }, *big[] = { "kvm_amd" };
	char order[16][MODINFO_NAME_MAX];
	size_t n = 0;

	(void)state;
	assert_int_equal(modinfo_load_order(cycle, 1, graph_deps, NULL, order, 16, &n), -ELOOP);
	assert_non_null(strstr(error_get(), "loop_a"));
	n = 0;
	assert_int_equal(modinfo_load_order(ghost, 1, graph_deps, NULL, order, 16, &n), -ENOENT);
	assert_non_null(strstr(error_get(), "ghost"));
	n = 0;
	assert_int_equal(modinfo_load_order(big, 1, graph_deps, NULL, order, 2, &n), -ENOSPC);
}

/* ---- kconfig ---- */

static const char good_config[] =
	"CONFIG_X86_64=y\nCONFIG_X86_MCE=y\nCONFIG_MEMORY_FAILURE=y\nCONFIG_HWPOISON_INJECT=m\n"
	"CONFIG_KVM=m\nCONFIG_KVM_AMD=m\nCONFIG_DEBUG_FS=y\nCONFIG_PROC_PAGE_MONITOR=y\n"
	"CONFIG_BLK_DEV_INITRD=y\nCONFIG_DEVTMPFS=y\nCONFIG_SERIAL_8250_CONSOLE=y\n"
	"CONFIG_VIRTIO_PCI=m\nCONFIG_NET_9P_VIRTIO=m\nCONFIG_9P_FS=m\nCONFIG_OVERLAY_FS=m\n"
	"CONFIG_TMPFS=y\nCONFIG_UNIX98_PTYS=y\n# CONFIG_FOO is not set\n";

static void test_kconfig_value(void **state)
{
	char v[32];

	(void)state;
	kconfig_value(good_config, "CONFIG_KVM_AMD", v, sizeof(v));
	assert_string_equal(v, "m");
	kconfig_value(good_config, "CONFIG_KVM", v, sizeof(v));
	assert_string_equal(v, "m");
	kconfig_value(good_config, "CONFIG_FOO", v, sizeof(v));
	assert_string_equal(v, "");
	kconfig_value("CONFIG_LOCALVERSION=\"-x\"", "CONFIG_LOCALVERSION", v, sizeof(v));
	assert_string_equal(v, "\"-x\"");
}

static void test_kconfig_check(void **state)
{
	char why[2048], *cfg;

	(void)state;
	assert_int_equal(kconfig_check(good_config, "; ", why, sizeof(why)), 0);
	assert_string_equal(why, "");
	assert_int_equal(kconfig_missing_names(good_config, why, sizeof(why)), 0);
	assert_string_equal(why, "");

	/* Without memory failure, and with MCE support only as a module: two refusals. */
	cfg = strdup(good_config);
	assert_non_null(cfg);
	memcpy(strstr(cfg, "CONFIG_MEMORY_FAILURE=y"), "# CONFIG_MEMORY_FAILUR", 22);
	*(strstr(cfg, "CONFIG_X86_MCE=y") + 15) = 'm';
	assert_int_equal(kconfig_check(cfg, "; ", why, sizeof(why)), 2);
	assert_non_null(strstr(why, "CONFIG_MEMORY_FAILURE is not set, the lab needs y"));
	assert_non_null(strstr(why, "CONFIG_X86_MCE is m, the lab needs y"));
	assert_non_null(strstr(why, "); CONFIG_MEMORY_FAILURE"));
	assert_int_equal(kconfig_check(cfg, "\n", why, sizeof(why)), 2);
	assert_non_null(strstr(why, ")\nCONFIG_MEMORY_FAILURE is not set"));
	/* By name only, for a message that must name every one. */
	assert_int_equal(kconfig_missing_names(cfg, why, sizeof(why)), 2);
	assert_string_equal(why, "CONFIG_X86_MCE, CONFIG_MEMORY_FAILURE");
	free(cfg);
}

/* ---- the protocol with /init ---- */

static void test_proto_records_round_trip(void **state)
{
	struct proto_buf b = { 0 };
	const char *tag, *val;
	size_t pos = 0;
	int n = 0;

	(void)state;
	proto_put(&b, "arg", "mcefwd");
	proto_put(&b, "arg", "");
	proto_put(&b, "env", "A=b c\td");
	assert_false(b.oom);
	while (proto_next(b.data, b.len, &pos, &tag, &val) == 1) {
		const char *want_tag[] = { "arg", "arg", "env" }, *want_val[] = { "mcefwd", "", "A=b c\td" };

		assert_string_equal(tag, want_tag[n]);
		assert_string_equal(val, want_val[n]);
		n++;
	}
	assert_int_equal(n, 3);
	/* Cut inside the last record: an error, not a short value. */
	pos = 0;
	for (int i = 0; i < 2; i++)
		assert_int_equal(proto_next(b.data, b.len - 1, &pos, &tag, &val), 1);
	assert_int_equal(proto_next(b.data, b.len - 1, &pos, &tag, &val), -1);
	proto_buf_free(&b);
}

static void test_proto_mod_split(void **state)
{
	char good[] = "kvm_amd\t/lab/mod/kvm_amd.ko\tnpt=0\trequired";
	char opt[] = "mce_inject\t/lab/mod/mce_inject.ko\t\toptional";
	char bad1[] = "kvm_amd\t/lab/mod/kvm_amd.ko\tnpt=0";
	char bad2[] = "kvm_amd\t/x\t\tmaybe";
	struct proto_mod m;

	(void)state;
	assert_int_equal(proto_mod_split(good, &m), 0);
	assert_string_equal(m.name, "kvm_amd");
	assert_string_equal(m.path, "/lab/mod/kvm_amd.ko");
	assert_string_equal(m.params, "npt=0");
	assert_true(m.required);
	assert_int_equal(proto_mod_split(opt, &m), 0);
	assert_string_equal(m.params, "");
	assert_false(m.required);
	assert_int_equal(proto_mod_split(bad1, &m), -1);
	assert_int_equal(proto_mod_split(bad2, &m), -1);
}

static void test_proto_control_lines(void **state)
{
	struct proto_line l;

	(void)state;
	proto_parse_line("exit 3", &l);
	assert_int_equal(l.ev, PROTO_EV_EXIT);
	assert_int_equal(l.num, 3);
	proto_parse_line("signal 9", &l);
	assert_int_equal(l.ev, PROTO_EV_SIGNAL);
	assert_int_equal(l.num, 9);
	proto_parse_line("up 2431 release=6.1.0-57-amd64 vendor=AuthenticAMD", &l);
	assert_int_equal(l.ev, PROTO_EV_UP);
	assert_int_equal(l.num, 2431);
	assert_string_equal(l.rest, "2431 release=6.1.0-57-amd64 vendor=AuthenticAMD");
	proto_parse_line("error mount -t 9p /lower: No such device", &l);
	assert_int_equal(l.ev, PROTO_EV_ERROR);
	assert_string_equal(l.rest, "mount -t 9p /lower: No such device");
	proto_parse_line("exit", &l);
	assert_int_equal(l.ev, PROTO_EV_UNKNOWN);
	proto_parse_line("exit 3x", &l);
	assert_int_equal(l.ev, PROTO_EV_UNKNOWN);
	proto_parse_line("exited 0", &l);
	assert_int_equal(l.ev, PROTO_EV_UNKNOWN);
	proto_parse_line("alive 61250", &l);
	assert_int_equal(l.ev, PROTO_EV_ALIVE);
	assert_int_equal(l.num, 61250);
	/* The host's nudge, were it ever read back: no event. */
	proto_parse_line("", &l);
	assert_int_equal(l.ev, PROTO_EV_UNKNOWN);
}

/* ---- QEMU's command line ---- */

static int argv_find(char **argv, int argc, const char *a)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], a))
			return i;
	return -1;
}

static void test_qemu_argv(void **state)
{
	struct lab_qemu_cfg c = { .qemu = "qemu-system-x86_64", .kernel = "/k/vmlinuz",
				  .initrd = "/t/initramfs.cpio", .append = "console=ttyS0 quiet",
				  .share = "/a,b", .cpus = 2, .mem_mb = 4096 };
	char *argv[64], store[4096];
	int argc, i, serials = 0;

	(void)state;
	argc = lab_qemu_argv(&c, argv, 64, store, sizeof(store));
	assert_true(argc > 0);
	assert_null(argv[argc]);
	assert_string_equal(argv[0], "qemu-system-x86_64");
	i = argv_find(argv, argc, "-accel");
	assert_true(i > 0);
	assert_string_equal(argv[i + 1], "tcg,thread=multi");
	i = argv_find(argv, argc, "-append");
	assert_string_equal(argv[i + 1], "console=ttyS0 quiet");
	i = argv_find(argv, argc, "-virtfs");
	/* A comma in the shared path is doubled, as QEMU's option syntax wants. */
	assert_non_null(strstr(argv[i + 1], "path=/a,,b,"));
	assert_non_null(strstr(argv[i + 1], "readonly=on"));
	assert_non_null(strstr(argv[i + 1], "multidevs=remap"));
	for (int j = 0; j < argc; j++) {
		char want[32];

		if (strcmp(argv[j], "-serial"))
			continue;
		/* Console, stdout, stderr on fds 3-5; control on QEMU's stdio. */
		if (serials < PROTO_NR_PORTS - 1)
			snprintf(want, sizeof(want), "file:/proc/self/fd/%d", 3 + serials);
		else
			snprintf(want, sizeof(want), "chardev:mcefwdctl");
		serials++;
		assert_string_equal(argv[j + 1], want);
	}
	assert_int_equal(serials, PROTO_NR_PORTS);
	i = argv_find(argv, argc, "stdio,id=mcefwdctl,signal=off");
	assert_true(i > 0);
	assert_string_equal(argv[i - 1], "-chardev");
	assert_true(argv_find(argv, argc, "-no-reboot") > 0);
	assert_true(argv_find(argv, argc, "-nodefaults") > 0);

	c.cpus = 1;
	argc = lab_qemu_argv(&c, argv, 64, store, sizeof(store));
	assert_string_equal(argv[argv_find(argv, argc, "-accel") + 1], "tcg");
	/* Too little room is an error, never a cut command line. */
	assert_int_equal(lab_qemu_argv(&c, argv, 8, store, sizeof(store)), -ENOSPC);
	assert_int_equal(lab_qemu_argv(&c, argv, 64, store, 64), -ENOSPC);
}

/* ---- a bzImage's release ---- */

static void test_bzimage_release(void **state)
{
	static unsigned char img[0x1000];
	char rel[64];

	(void)state;
	memset(img, 0, sizeof(img));
	memcpy(img + 0x202, "HdrS", 4);
	img[0x20e] = 0x00;	/* kernel_version at 0x800 + 0x200 */
	img[0x20f] = 0x08;
	strcpy((char *)img + 0xa00, "6.12.57+deb12-amd64 (debian-kernel@lists.debian.org) #1 SMP");
	assert_int_equal(lab_bzimage_release(img, sizeof(img), rel, sizeof(rel)), 0);
	assert_string_equal(rel, "6.12.57+deb12-amd64");
	img[0x202] = 'X';
	assert_int_equal(lab_bzimage_release(img, sizeof(img), rel, sizeof(rel)), -EINVAL);
	img[0x202] = 'H';
	img[0x20f] = 0x10;	/* past the end */
	assert_int_equal(lab_bzimage_release(img, sizeof(img), rel, sizeof(rel)), -EINVAL);
}

/* ---- --on ---- */

static void test_where_parse_and_env(void **state)
{
	enum where_on on;
	struct where w;

	(void)state;
	assert_int_equal(where_parse("host", &on), 0);
	assert_int_equal(on, WHERE_HOST);
	assert_int_equal(where_parse("lab", &on), 0);
	assert_int_equal(on, WHERE_LAB);
	assert_int_equal(where_parse("auto", &on), 0);
	assert_int_equal(on, WHERE_AUTO);
	assert_int_equal(where_parse("Lab", &on), -EINVAL);
	assert_int_equal(where_parse(NULL, &on), -EINVAL);

	/* Asked for: taken as asked, whatever /dev/kvm is. */
	unsetenv("MCEFWD_LAB_KERNEL");
	unsetenv("MCEFWD_ON");
	where_decide(WHERE_LAB, &w);
	assert_int_equal(w.on, WHERE_LAB);
	assert_string_equal(w.why, "--on=lab");
	/* Auto defers to MCEFWD_ON, as the lab sets it for what runs inside. */
	setenv("MCEFWD_ON", "host", 1);
	where_decide(WHERE_AUTO, &w);
	assert_int_equal(w.on, WHERE_HOST);
	assert_string_equal(w.why, "MCEFWD_ON=host");
	/* Inside the lab, even --on=lab means the lab's own KVM. */
	setenv("MCEFWD_LAB_KERNEL", "6.1.0-57-amd64 (test)", 1);
	where_decide(WHERE_LAB, &w);
	assert_int_equal(w.on, WHERE_HOST);
	assert_true(w.in_lab);
	unsetenv("MCEFWD_LAB_KERNEL");
	unsetenv("MCEFWD_ON");
}

/* ---- --kernel SERIES: what apt says ---- */

static void test_apt_version_cmp(void **state)
{
	static const struct {
		const char *a, *b;
		int want;
	} cases[] = {
		{ "6.12.107", "6.12.57", 1 },		/* numbers, not strings */
		{ "6.12.57", "6.12.107", -1 },
		{ "6.12.107+deb12", "6.12.57+deb12", 1 },
		{ "6.12.107+deb12", "6.12.107+deb12", 0 },
		{ "6.12.107-1~deb12u1", "6.12.107-1", -1 },	/* ~ before the end */
		{ "6.12.107-1~deb12u1", "6.12.57-1", 1 },
		{ "6.1.0", "6.1", 1 },
		{ "6.1.192-3", "6.1.170-3", 1 },
		{ "6.1.192-3", "6.1.192-10", -1 },		/* revisions as numbers too */
		{ "1.0~rc1", "1.0", -1 },
		{ "1:0.1", "2.0", 1 },				/* the epoch first */
		{ "0:2.0", "2.0", 0 },
		{ "007", "7", 0 },				/* leading zeros */
		{ "1.0a", "1.0+", -1 },				/* letters before other marks */
		{ "", "0", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = apt_version_cmp(cases[i].a, cases[i].b);

		if (got != cases[i].want)
			fail_msg("apt_version_cmp(\"%s\", \"%s\") = %d, expected %d", cases[i].a,
				 cases[i].b, got, cases[i].want);
		if (apt_version_cmp(cases[i].b, cases[i].a) != -cases[i].want)
			fail_msg("apt_version_cmp(\"%s\", \"%s\") is not the opposite", cases[i].b,
				 cases[i].a);
	}
}

/* What apt-cache search --names-only '^linux-image-6\.12\.' says, in part. */
static const char apt_search_612[] =
	"linux-image-6.12-amd64 - Linux for 64-bit PCs (meta-package)\n"
	"linux-image-6.12.57+deb12-amd64-unsigned - Linux 6.12 for 64-bit PCs\n"
	"linux-image-6.12.107+deb12-amd64-dbg - Debug symbols for linux-image-6.12.107+deb12-amd64\n"
	"linux-image-6.12.107+deb12-amd64-unsigned - Linux 6.12 for 64-bit PCs\n"
	"linux-image-6.12.107+deb12-cloud-amd64-unsigned - Linux 6.12 for x86-64 cloud\n"
	"linux-image-6.12.118+deb12-rt-amd64-unsigned - Linux 6.12 for 64-bit PCs, PREEMPT_RT\n"
	"linux-image-6.12.118+deb12-amd64 - Linux 6.12 for 64-bit PCs (signed)\n"
	"linux-image-6.12.99+deb12-amd64-unsigned - Linux 6.12 for 64-bit PCs\n";

static void test_apt_series(void **state)
{
	const struct kernel_series *s612 = kernel_arg_series_find("6.12");
	const struct kernel_series *s61 = kernel_arg_series_find("6.1");
	char pkg[128], ver[128];

	(void)state;
	assert_non_null(s612);
	assert_non_null(s61);
	assert_true(apt_series_member(s612, "linux-image-6.12.107+deb12-amd64-unsigned", ver,
				      sizeof(ver)));
	assert_string_equal(ver, "6.12.107+deb12");
	/* Flavours, debug symbols, the signed package, another series: not it. */
	assert_false(apt_series_member(s612, "linux-image-6.12.107+deb12-cloud-amd64-unsigned", ver,
				       sizeof(ver)));
	assert_false(apt_series_member(s612, "linux-image-6.12.107+deb12-amd64-dbg", ver, sizeof(ver)));
	assert_false(apt_series_member(s612, "linux-image-6.12.107+deb12-amd64", ver, sizeof(ver)));
	assert_false(apt_series_member(s612, "linux-image-6.12-amd64-unsigned", ver, sizeof(ver)));
	assert_false(apt_series_member(s612, "linux-image-6.1.0-57-amd64-unsigned", ver, sizeof(ver)));
	/* The newest by dpkg's order: 107 > 99 > 57. */
	assert_int_equal(apt_series_newest(s612, apt_search_612, pkg, sizeof(pkg)), 0);
	assert_string_equal(pkg, "linux-image-6.12.107+deb12-amd64-unsigned");
	/* pkgnames' form (a name a line) will do; nothing of the series: -ENODATA. */
	assert_int_equal(apt_series_newest(s612, "linux-image-6.12.9+deb12-amd64-unsigned\n"
					   "linux-image-6.12.10+deb12-amd64-unsigned", pkg, sizeof(pkg)), 0);
	assert_string_equal(pkg, "linux-image-6.12.10+deb12-amd64-unsigned");
	assert_int_equal(apt_series_newest(s612, "", pkg, sizeof(pkg)), -ENODATA);
	assert_int_equal(apt_series_newest(s612, NULL, pkg, sizeof(pkg)), -ENODATA);

	/* 6.1 is named by linux-image-amd64: by its dependency, not by a search. */
	assert_false(apt_series_member(s61, "linux-image-6.1.0-57-amd64", ver, sizeof(ver)));
	assert_true(apt_series_names(s61, "linux-image-6.1.0-57-amd64"));
	assert_false(apt_series_names(s61, "linux-image-6.12.107+deb12-amd64"));
	assert_true(apt_series_names(s612, "linux-image-6.12.107+deb12-amd64-unsigned"));
	assert_false(apt_series_names(s612, "linux-image-6.1.0-57-amd64"));
}

static void test_apt_depends_and_policy(void **state)
{
	static const char policy[] =
		"linux-image-6.12.107+deb12-amd64-unsigned:\n"
		"  Installed: (none)\n"
		"  Candidate: 6.12.107-1~deb12u1\n"
		"  Version table:\n"
		"     6.12.107-1~deb12u1 500\n"
		"        500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages\n"
		"linux-image-6.1.0-57-amd64:\n"
		"  Installed: 6.1.192-3\n"
		"  Candidate: 6.1.192-3\n"
		"linux-image-gone:\n"
		"  Installed: (none)\n"
		"  Candidate: (none)\n";
	char pkg[128], ver[64];

	(void)state;
	assert_int_equal(apt_depends_first("linux-image-amd64\n  Depends: linux-image-6.1.0-57-amd64\n",
					   pkg, sizeof(pkg)), 0);
	assert_string_equal(pkg, "linux-image-6.1.0-57-amd64");
	assert_int_equal(apt_depends_first("linux-image-amd64\n", pkg, sizeof(pkg)), -ENODATA);
	assert_int_equal(apt_depends_first(NULL, pkg, sizeof(pkg)), -ENODATA);

	assert_int_equal(apt_policy_candidate(policy, "linux-image-6.12.107+deb12-amd64-unsigned", ver,
					      sizeof(ver)), 0);
	assert_string_equal(ver, "6.12.107-1~deb12u1");
	assert_int_equal(apt_policy_candidate(policy, "linux-image-6.1.0-57-amd64", ver, sizeof(ver)), 0);
	assert_string_equal(ver, "6.1.192-3");
	assert_int_equal(apt_policy_candidate(policy, "linux-image-gone", ver, sizeof(ver)), -ENODATA);
	/* A name that is only the start of another's is not that one. */
	assert_int_equal(apt_policy_candidate(policy, "linux-image-6.1.0", ver, sizeof(ver)), -ENODATA);
	assert_int_equal(apt_policy_candidate("", "x", ver, sizeof(ver)), -ENODATA);
}

static void test_lab_kernel_opts_set(void **state)
{
	struct lab_kernel_opts o;
	struct kernel_arg k;

	(void)state;
	memset(&o, 0xa5, sizeof(o));
	assert_int_equal(kernel_arg_parse("6.12", NULL, &k), 0);
	lab_kernel_opts_set(&o, &k);
	assert_ptr_equal(o.series, kernel_arg_series_find("6.12"));
	assert_null(o.deb);
	assert_null(o.bzimage);
	assert_null(o.modules);
	assert_int_equal(kernel_arg_parse("k.deb", NULL, &k), 0);
	lab_kernel_opts_set(&o, &k);
	assert_null(o.series);
	assert_string_equal(o.deb, "k.deb");
	assert_int_equal(kernel_arg_parse("bzImage", "/m", &k), 0);
	lab_kernel_opts_set(&o, &k);
	assert_null(o.deb);
	assert_string_equal(o.bzimage, "bzImage");
	assert_string_equal(o.modules, "/m");
	assert_int_equal(kernel_arg_parse(NULL, NULL, &k), 0);
	lab_kernel_opts_set(&o, &k);
	assert_null(o.series);
	assert_null(o.deb);
	assert_null(o.bzimage);
}

static void test_list_json(void **state)
{
	struct lab_list *l = calloc(1, sizeof(*l));
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_non_null(l);
	snprintf(l->dir, sizeof(l->dir), "/c/kernels/v1");
	l->nr_entries = 1;
	snprintf(l->entries[0].name, sizeof(l->entries[0].name), "linux-image-6.1.0-57-amd64");
	snprintf(l->entries[0].package, sizeof(l->entries[0].package), "linux-image-6.1.0-57-amd64");
	snprintf(l->entries[0].release, sizeof(l->entries[0].release), "6.1.0-57-amd64");
	l->entries[0].bytes = 78974976;
	l->entries[0].complete = true;
	l->nr_offers = 2;
	l->offers[0] = (struct lab_list_offer){ .series = kernel_arg_series_find("6.1"), .ok = true,
						.is_default = true, .cached = true };
	snprintf(l->offers[0].package, sizeof(l->offers[0].package), "linux-image-6.1.0-57-amd64");
	snprintf(l->offers[0].version, sizeof(l->offers[0].version), "6.1.192-3");
	l->offers[1] = (struct lab_list_offer){ .series = kernel_arg_series_find("6.12") };
	snprintf(l->offers[1].error, sizeof(l->offers[1].error), "apt-cache is \"not\" installed");
	f = open_memstream(&text, &len);
	assert_non_null(f);
	lab_list_print_json(l, f);
	fclose(f);
	fx_assert_contains(text, "\"version\": 1,");
	fx_assert_contains(text, "\"cache\": \"/c/kernels/v1\"");
	fx_assert_contains(text, "{\"name\": \"linux-image-6.1.0-57-amd64\", \"package\": \"linux-image-6.1.0-57-amd64\", "
			   "\"release\": \"6.1.0-57-amd64\", \"source\": null, \"bytes\": 78974976, \"complete\": true}");
	fx_assert_contains(text, "\"series\": \"6.1\"");
	fx_assert_contains(text, "\"default\": true, \"ok\": true, \"package\": \"linux-image-6.1.0-57-amd64\", "
			   "\"version\": \"6.1.192-3\", \"cached\": true, \"error\": null}");
	fx_assert_contains(text, "\"default\": false, \"ok\": false, \"package\": null, \"version\": null, "
			   "\"cached\": false, \"error\": \"apt-cache is \\\"not\\\" installed\"}");
	free(text);
	free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpio_newc_entries),
		cmocka_unit_test(test_cpio_refuses_data_for_a_directory),
		cmocka_unit_test(test_modinfo_reads_name_depends_vermagic),
		cmocka_unit_test(test_modinfo_refuses_what_is_not_a_module),
		cmocka_unit_test(test_modinfo_name_of_file),
		cmocka_unit_test(test_load_order_deps_first_each_once),
		cmocka_unit_test(test_load_order_appends),
		cmocka_unit_test(test_load_order_errors),
		cmocka_unit_test(test_kconfig_value),
		cmocka_unit_test(test_kconfig_check),
		cmocka_unit_test(test_proto_records_round_trip),
		cmocka_unit_test(test_proto_mod_split),
		cmocka_unit_test(test_proto_control_lines),
		cmocka_unit_test(test_qemu_argv),
		cmocka_unit_test(test_bzimage_release),
		cmocka_unit_test(test_where_parse_and_env),
		cmocka_unit_test(test_apt_version_cmp),
		cmocka_unit_test(test_apt_series),
		cmocka_unit_test(test_apt_depends_and_policy),
		cmocka_unit_test(test_lab_kernel_opts_set),
		cmocka_unit_test(test_list_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
