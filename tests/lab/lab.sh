#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The real-kernel lab: boots a kernel with memory-failure support under
# QEMU's software emulation (TCG, -cpu max: AMD SVM, so kvm_amd loads inside)
# and runs mcefwd there with --poison=hwpoison, pfn and soft-offline for
# real, with KVM's nested paging on and off. The console is read back here,
# and this side decides: every step must report ok, and a kernel panic, a
# hang or a missing result is a failure that says which. TAP output.
#
#   tests/lab/lab.sh [OPTIONS] [SCENARIO...]
#
# Without a kernel option, the kernel is Debian's (the package
# linux-image-amd64 depends on), fetched with apt-get download and cached.
# Exit status: 0 pass, 1 fail, 2 usage error, 4 skip (the reason is printed).
set -u

usage() {
	cat <<'EOF'
usage: tests/lab/lab.sh [OPTIONS] [SCENARIO...]

Boots a kernel with memory-failure support under QEMU (TCG, -cpu max, AMD
SVM) and runs mcefwd inside with the real poison methods; reads the serial
console back and judges every step. TAP output.

Kernel (default: Debian's, the package linux-image-amd64 depends on):
  --kernel=BZIMAGE      a kernel you built (arch/x86/boot/bzImage) ...
  --modules=DIR         ... and its modules: /lib/modules/RELEASE, or the
                        INSTALL_MOD_PATH of 'make modules_install'
  --kernel-deb=FILE     a Debian kernel package (linux-image-*.deb)
  The kernel's config (config-* next to BZIMAGE or in the package, .config of
  the build tree, DIR/build/.config) is checked before booting.

What runs (default: all of each):
  SCENARIO...           ar ao ar-no-ser vmm-memory vmm-memory-ao soft-offline
                        corrupt-pfn,
                        or any other 'mcefwd list' scenario
  --poison=M,M          hwpoison,pfn (soft-offline runs the soft-offline
                        scenario; corrupt-pfn uses mcefwd-inject)
  --encoding=E,E        default,amd (default: mcefwd's own choice, named in
                        the output; or qemu-7, qemu-6.2, amd)
  --npt=N,N             1,0: kvm_amd's nested paging on, then off
  --timeout=SECONDS     bound on the whole QEMU run (default 300)
  --keep-log=FILE       keep the serial console log (default B/lab/serial.log)
  --append=ARGS         more kernel command line (e.g. 'nokaslr')
  -h, --help            this text

Environment: B (build directory, default build), MCEFWD_LAB_CACHE (where the
packages are kept, default B/lab-cache). Needs qemu-system-x86 and cpio
(installed with apt-get as root; otherwise the apt-get line is printed and
the lab is skipped, exit 4).
Exit status: 0 pass, 1 fail, 2 usage error, 4 skip.
EOF
}

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top" || exit 1

B=${B:-build}
CACHE=${MCEFWD_LAB_CACHE:-$B/lab-cache}
QEMU_TIMEOUT=300
# Inside the lab each mcefwd run gets this watchdog; nested KVM under TCG is
# slow, and a run that needs it is broken anyway.
RUN_TIMEOUT=60
kernel="" modules="" kdeb="" log="" append="" skipped_npt=""
QEMU=${QEMU:-qemu-system-x86_64}
methods="hwpoison pfn" encodings="default amd" npts="1 0"
scenarios=()

die_usage() {
	echo "lab: $1" >&2
	echo "(see tests/lab/lab.sh --help)" >&2
	exit 2
}

# Options take their value after '=' or as the next argument.
while [ $# -gt 0 ]; do
	a=$1
	shift
	case $a in
	--kernel | --modules | --kernel-deb | --poison | --encoding | --npt | --timeout | --keep-log | --append)
		[ $# -gt 0 ] || die_usage "$a needs a value"
		a="$a=$1"
		shift
		;;
	esac
	case $a in
	--kernel=*) kernel=${a#*=} ;;
	--modules=*) modules=${a#*=} ;;
	--kernel-deb=*) kdeb=${a#*=} ;;
	--poison=*) methods=${a#*=}; methods=${methods//,/ } ;;
	--encoding=*) encodings=${a#*=}; encodings=${encodings//,/ } ;;
	--npt=*) npts=${a#*=}; npts=${npts//,/ } ;;
	--timeout=*) QEMU_TIMEOUT=${a#*=} ;;
	--keep-log=*) log=${a#*=} ;;
	--append=*) append=${a#*=} ;;
	-h | --help) usage; exit 0 ;;
	-*) die_usage "unknown option '$a'" ;;
	*) scenarios+=("$a") ;;
	esac
done
[ -n "$kernel" ] && [ -n "$kdeb" ] && die_usage "--kernel and --kernel-deb exclude each other"
[ -n "$kernel" ] && [ -z "$modules" ] && die_usage "--kernel needs --modules=DIR (its modules: kvm, kvm-amd, hwpoison-inject)"
[ -n "$modules" ] && [ -z "$kernel" ] && die_usage "--modules needs --kernel=BZIMAGE"
[ -n "$kernel" ] && [ ! -r "$kernel" ] && die_usage "--kernel=$kernel: no such file"
[ -n "$modules" ] && [ ! -d "$modules" ] && die_usage "--modules=$modules: no such directory"
[ -n "$kdeb" ] && [ ! -r "$kdeb" ] && die_usage "--kernel-deb=$kdeb: no such file"
case $QEMU_TIMEOUT in '' | *[!0-9]*) die_usage "invalid --timeout '$QEMU_TIMEOUT'" ;; esac
for m in $methods; do
	case $m in hwpoison | pfn | soft-offline) ;; *) die_usage "--poison: '$m' is not hwpoison, pfn or soft-offline" ;; esac
done
for e in $encodings; do
	case $e in default | qemu-7 | qemu-6.2 | amd) ;; *) die_usage "--encoding: invalid '$e'" ;; esac
done
for v in $npts; do
	case $v in 0 | 1) ;; *) die_usage "--npt: '$v' is not 0 or 1" ;; esac
done
[ ${#scenarios[@]} -eq 0 ] && scenarios=(ar ao ar-no-ser vmm-memory vmm-memory-ao soft-offline corrupt-pfn)
[ -z "$log" ] && log=$B/lab/serial.log

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	for l in "$@"; do
		echo "$l" | sed 's/^/#   /'
	done
}
note() { echo "# $*"; }
# skip_all REASON: the whole lab cannot run here.
skip_all() {
	echo "ok 1 - real-kernel lab # SKIP $1"
	echo "1..1"
	exit 4
}
fail_all() {
	not_ok "$@"
	echo "1..$n"
	exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcefwd-lab.XXXXXX") || exit 1
qemu_pid=""
cleanup() {
	[ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- host tools ----------------------------------------------------------------

missing=""
command -v "$QEMU" >/dev/null 2>&1 || missing="$missing qemu-system-x86"
command -v cpio >/dev/null 2>&1 || missing="$missing cpio"
if [ -n "$missing" ]; then
	if ! command -v apt-get >/dev/null 2>&1; then
		skip_all "needs$missing, and apt-get is not available: install them with your package manager"
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "# missing packages:$missing; as root, run:"
		echo "#   apt-get update && apt-get install -y --no-install-recommends$missing"
		skip_all "needs$missing (not root: cannot install them)"
	fi
	note "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >"$tmp/apt.log" 2>&1 || note "apt-get update failed; trying the lists we have"
	# shellcheck disable=SC2086
	if ! apt-get install -y -q --no-install-recommends $missing >>"$tmp/apt.log" 2>&1; then
		sed 's/^/#   /' "$tmp/apt.log" | tail -n 5
		skip_all "QEMU cannot be installed: apt-get install$missing failed"
	fi
	note "installed:$missing"
fi

# ---- packages: fetched once, kept in the cache -----------------------------------

mkdir -p "$CACHE/debs" || fail_all "cache directory $CACHE cannot be created"
apt_updated=0

# fetch_deb PACKAGE: prints the path of its .deb, downloading it if the cache
# has none.
fetch_deb() {
	local pkg=$1 f opt=()
	f=$(ls -t "$CACHE/debs/${pkg}"_*.deb 2>/dev/null | head -n 1)
	if [ -n "$f" ]; then
		echo "# cached: $f" >&2
		echo "$f"
		return 0
	fi
	# apt's download sandbox user cannot write a root-owned cache.
	[ "$(id -u)" = 0 ] && opt=(-o APT::Sandbox::User=root)
	mkdir -p "$tmp/dl"
	if ! (cd "$tmp/dl" && apt-get download -q "${opt[@]}" "$pkg") >"$tmp/dl.log" 2>&1; then
		if [ "$(id -u)" = 0 ] && [ $apt_updated = 0 ]; then
			apt_updated=1
			apt-get update -q >>"$tmp/dl.log" 2>&1
			(cd "$tmp/dl" && apt-get download -q "${opt[@]}" "$pkg") >>"$tmp/dl.log" 2>&1
		fi
	fi
	f=$(ls "$tmp/dl/${pkg}"_*.deb 2>/dev/null | head -n 1)
	if [ -z "$f" ]; then
		sed 's/^/#   /' "$tmp/dl.log" | tail -n 5 >&2
		return 1
	fi
	mv "$f" "$CACHE/debs/" || return 1
	f="$CACHE/debs/$(basename "$f")"
	echo "# downloaded: $f ($(du -h "$f" | cut -f1))" >&2
	echo "$f"
}

# The kernel package linux-image-amd64 depends on (linux-image-6.1.0-N-amd64).
kernel_pkg() {
	local p
	p=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: //p' | head -n 1)
	if [ -z "$p" ] && [ "$(id -u)" = 0 ] && [ $apt_updated = 0 ]; then
		apt_updated=1
		apt-get update -q >/dev/null 2>&1
		p=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: //p' | head -n 1)
	fi
	echo "$p"
}

bb_deb=$(fetch_deb busybox-static) || fail_all "busybox-static cannot be downloaded (apt-get download busybox-static)"
if [ -z "$kernel" ] && [ -z "$kdeb" ]; then
	kpkg=$(kernel_pkg)
	if [ -z "$kpkg" ]; then
		kdeb=$(ls -t "$CACHE"/debs/linux-image-*.deb 2>/dev/null | head -n 1)
		[ -z "$kdeb" ] && fail_all "cannot tell which kernel package linux-image-amd64 depends on (apt-cache depends linux-image-amd64 found nothing; run apt-get update)"
		note "apt-cache does not know linux-image-amd64; using the cached $kdeb"
	else
		kdeb=$(fetch_deb "$kpkg") || fail_all "$kpkg cannot be downloaded (apt-get download $kpkg)"
	fi
fi

# ---- the kernel: image, config, release, and the modules the lab loads ------------

# Modules the lab loads; their dependencies (kvm, irqbypass, ccp) come along.
want_mods="kvm_amd hwpoison_inject"
opt_mods="mce_inject"
kdir=""		# holds vmlinuz, config (if any), release, mods/*.ko, mods/order

# ko_field FILE FIELD: a field of an uncompressed module's .modinfo.
ko_field() {
	tr '\0' '\n' <"$1" | sed -n "s/^$2=//p" | head -n 1
}

# collect_modules MODROOT DEST RELEASE CONFIG: copies the wanted modules and
# their dependencies, uncompressed, to DEST and writes DEST/order (load order).
# Prints what is missing and returns 1 if a needed one is.
declare -A modpath
collect_modules() {
	local root=$1 dest=$2 release=$3 config=$4 f name bad=0
	mkdir -p "$dest"
	: >"$dest/order"
	modpath=()
	while IFS= read -r f; do
		name=$(basename "$f")
		name=${name%%.ko*}
		modpath[${name//-/_}]=$f
	done < <(find "$root" \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz' \) 2>/dev/null)
	declare -A done_mod=()
	add_module() {
		local m=$1 optional=$2 src plain dep vm opt
		[ -n "${done_mod[$m]:-}" ] && return 0
		done_mod[$m]=1
		src=${modpath[$m]:-}
		if [ -z "$src" ]; then
			opt=CONFIG_$(echo "$m" | tr '[:lower:]' '[:upper:]')
			if [ -n "$config" ] && grep -q "^$opt=y" "$config" 2>/dev/null; then
				return 0
			fi
			if grep -qs "/${m//_/[-_]}\.ko" "$root/modules.builtin"; then
				return 0
			fi
			[ "$optional" = 1 ] && { echo "# optional module $m not found under $root: skipped"; return 0; }
			echo "# module $m not found under $root (and not built in)"
			return 1
		fi
		plain="$dest/${m}.ko"
		case $src in
		*.ko.xz) xz -dc "$src" >"$plain" ;;
		*.ko.zst) zstd -dcq "$src" >"$plain" ;;
		*.ko.gz) gzip -dc "$src" >"$plain" ;;
		*) cp "$src" "$plain" ;;
		esac || { echo "# cannot decompress $src"; return 1; }
		vm=$(ko_field "$plain" vermagic)
		if [ "${vm%% *}" != "$release" ]; then
			echo "# $src is for kernel ${vm%% *}, not $release"
			return 1
		fi
		for dep in $(ko_field "$plain" depends | tr ',' ' '); do
			add_module "${dep//-/_}" 0 || return 1
		done
		echo "$m" >>"$dest/order"
	}
	for name in $want_mods; do
		add_module "$name" 0 || bad=1
	done
	for name in $opt_mods; do
		add_module "$name" 1 || bad=1
	done
	return $bad
}

# bzImage_release FILE: the release string of an x86 boot image.
bzimage_release() {
	local off
	off=$(od -An -tu2 -j 526 -N 2 "$1" 2>/dev/null | tr -d ' ')
	[ -n "$off" ] && [ "$off" -gt 0 ] || return 1
	dd if="$1" bs=1 skip=$((off + 512)) count=200 2>/dev/null | tr '\0' '\n' | head -n 1 | cut -d' ' -f1
}

# ---- the kernel's config, before anything boots ---------------------------------

# OPTION WANT WHY: WANT is y (built in) or ym (built in or a module).
need_opts="
CONFIG_X86_64 y an x86-64 kernel
CONFIG_X86_MCE y machine-check support
CONFIG_MEMORY_FAILURE y madvise(MADV_HWPOISON) and the kernel's memory-failure path
CONFIG_HWPOISON_INJECT ym debugfs hwpoison/corrupt-pfn and unpoison-pfn (--poison=pfn, corrupt-pfn)
CONFIG_KVM ym KVM
CONFIG_KVM_AMD ym KVM on AMD SVM, the only virtualization TCG emulates
CONFIG_DEBUG_FS y debugfs, where hwpoison-inject lives
CONFIG_PROC_PAGE_MONITOR y /proc/PID/pagemap, how mcefwd finds a page's frame
CONFIG_BLK_DEV_INITRD y booting the lab's initramfs
CONFIG_DEVTMPFS y /dev/kvm without udev
CONFIG_SERIAL_8250_CONSOLE y the serial console the results come back on
"
# check_config: fails the lab, before anything boots, if $config lacks an
# option the lab needs.
check_config() {
	local bad=() opt want why have
	if [ -z "$config" ]; then
		note "no kernel config found (looked for config-$release next to the kernel, .config of its build tree, build/.config in the modules directory): options not checked before booting"
		return
	fi
	while read -r opt want why; do
		[ -z "$opt" ] && continue
		have=$(sed -n "s/^$opt=//p" "$config")
		case "$want:$have" in
		y:y | ym:y | ym:m) ;;
		*) bad+=("$opt=${want/ym/m} is ${have:-not set}: needed for $why") ;;
		esac
	done <<<"$need_opts"
	if [ ${#bad[@]} -gt 0 ]; then
		fail_all "kernel config $config lacks what the lab needs (not booted)" "${bad[@]}"
	fi
	ok "kernel config $config has every option the lab needs (CONFIG_MEMORY_FAILURE, CONFIG_HWPOISON_INJECT, CONFIG_KVM_AMD, CONFIG_X86_MCE, ...)"
}

config_checked=0
if [ -n "$kdeb" ]; then
	stem=$(basename "$kdeb" .deb)
	kdir="$CACHE/kernels/$stem"
	if [ ! -e "$kdir/.done" ]; then
		rm -rf "$kdir"
		mkdir -p "$kdir"
		note "unpacking $kdeb"
		dpkg -x "$kdeb" "$tmp/kernel" || fail_all "dpkg -x $kdeb failed"
		img=$(ls "$tmp"/kernel/boot/vmlinuz-* 2>/dev/null | head -n 1)
		[ -z "$img" ] && fail_all "$kdeb holds no boot/vmlinuz-*: not a kernel image package"
		release=${img##*/vmlinuz-}
		cp "$img" "$kdir/vmlinuz"
		cp "$tmp/kernel/boot/config-$release" "$kdir/config" 2>/dev/null
		echo "$release" >"$kdir/release"
		config="$kdir/config"
		[ -s "$config" ] || config=""
		check_config
		config_checked=1
		out=$(collect_modules "$tmp/kernel/lib/modules/$release" "$kdir/mods" "$release" "$kdir/config")
		r=$?
		[ -n "$out" ] && echo "$out"
		[ $r -ne 0 ] && fail_all "the modules the lab needs are not all in $kdeb"
		rm -rf "$tmp/kernel"
		touch "$kdir/.done"
	else
		note "unpacked already: $kdir"
	fi
	release=$(cat "$kdir/release")
	config="$kdir/config"
	[ -s "$config" ] || config=""
	[ $config_checked = 0 ] && check_config
else
	kdir="$tmp/ukernel"
	mkdir -p "$kdir"
	cp "$kernel" "$kdir/vmlinuz"
	release=$(bzimage_release "$kernel") || fail_all "$kernel is not an x86 bzImage (no version string in its header)"
	mroot=$modules
	[ -d "$modules/lib/modules/$release" ] && mroot="$modules/lib/modules/$release"
	config=""
	kd=$(dirname "$kernel")
	for c in "$kd/config-$release" "$kd/.config" "$kd/../../../.config" "$mroot/build/.config" \
		"$mroot/config" "$modules/boot/config-$release" "/boot/config-$release"; do
		if [ -r "$c" ]; then
			config=$c
			break
		fi
	done
	check_config
	out=$(collect_modules "$mroot" "$kdir/mods" "$release" "$config")
	r=$?
	[ -n "$out" ] && echo "$out"
	[ $r -ne 0 ] && fail_all "the modules the lab needs are not all under $modules (for kernel $release)"
fi
note "kernel $release ($([ -n "$kdeb" ] && basename "$kdeb" || echo "$kernel")), modules: $(tr '\n' ' ' <"$kdir/mods/order")"
# A kvm_amd built into the kernel cannot be reloaded: its npt is set on the
# command line, once.
if ! grep -qx kvm_amd "$kdir/mods/order"; then
	v=${npts%% *}
	for o in ${npts#"$v"}; do
		skipped_npt="$skipped_npt $o"
	done
	npts=$v
	append="$append kvm_amd.npt=$v"
	note "kvm_amd is built in: npt=$v only, set on the kernel command line"
fi

# ---- static binaries -------------------------------------------------------------

SB=$B/lab-static
sbins="$SB/bin/mcefwd $SB/bin/mcefwd-inject $SB/tests/integration/poison-target"
# shellcheck disable=SC2086
if ! ${MAKE:-make} --no-print-directory SANITIZE= B="$SB" CFLAGS='-O2 -g' LDFLAGS=-static $sbins >"$tmp/make.log" 2>&1; then
	fail_all "static build of mcefwd, mcefwd-inject and poison-target failed (make B=$SB LDFLAGS=-static)" "$(tail -n 20 "$tmp/make.log")"
fi
for b in $sbins; do
	# The initramfs has no C library: ldd must find nothing to load.
	ldd "$b" >/dev/null 2>&1 && fail_all "$b is not statically linked" "$(ldd "$b")"
done

# ---- the plan: what runs inside, and what each step must show ----------------------

# For every step: desc, the patterns its output must (or, with a leading !,
# must not) match, the exit status it must end with.
declare -A desc pats
ids=()
plan="$tmp/plan"
: >"$plan"

# Per encoding profile: AR and AO bank status and MCG_STATUS (REFERENCE.md).
declare -A ar_status=([qemu-7]=0xbd80000000000134 [qemu-6.2]=0xbd80000000000134 [amd]=0xbc00080000000000)
declare -A ar_mcg=([qemu-7]=0x7 [qemu-6.2]=0x6 [amd]=0x7)
declare -A ao_status=([qemu-7]=0xbd000000000000c0 [qemu-6.2]=0xbd000000000000c0 [amd]=0x9c00180000000000)

# add_step ID DESC CMD PATTERN...: a test step; its patterns are judged here.
add_step() {
	local id=$1 d=$2 cmd=$3
	shift 3
	ids+=("$id")
	desc[$id]=$d
	pats[$id]=$(printf '%s\n' "$@")
	echo "test $id $cmd" >>"$plan"
}

# How the page was poisoned, as mcefwd says it.
method_pat() {
	case $1 in
	hwpoison) echo 'madvise\(MADV_HWPOISON\) on gpa 0x200000 \(host 0x[0-9a-f]+, pfn 0x[0-9a-f]+\)' ;;
	pfn) echo 'debugfs hwpoison/corrupt-pfn on gpa 0x200000 \(host 0x[0-9a-f]+, pfn 0x[0-9a-f]+\)' ;;
	esac
}

echo "modules $(sed 's|^|/lab/mod/|; s|_|-|g; s|$|.ko|' "$kdir/mods/order" | tr '\n' ' ')" >"$plan"
# The module files keep the names insmod is given.
for v in $npts; do
	echo "kvm npt=$v" >>"$plan"
	for s in "${scenarios[@]}"; do
		case $s in
		soft-offline)
			add_step "npt$v-soft-offline" "npt=$v soft-offline --poison=soft-offline: no SIGBUS, contents kept, the page on a new frame" \
				"mcefwd run soft-offline --poison=soft-offline --timeout $RUN_TIMEOUT" \
				'madvise\(MADV_SOFT_OFFLINE\) on gpa 0x200000' \
				'soft offline: frame 0x([0-9a-f]+) -> 0x([0-9a-f]+), contents preserved' \
				'LAB-DMESG .*Soft offlining pfn 0x' \
				'!BUS_MCEERR' '!Sending SIGBUS' '^ok 1 soft-offline$'
			continue
			;;
		corrupt-pfn)
			# Not KVM: once is enough.
			[ "$v" != "${npts%% *}" ] && continue
			ids+=(corrupt-pfn)
			desc[corrupt-pfn]="corrupt-pfn then unpoison-pfn (mcefwd-inject --method=pfn --keep, then --unpoison-all) on a helper's page: HardwareCorrupted back where it was"
			pats[corrupt-pfn]=$(printf '%s\n' '^poisoned pfn 0x[0-9a-f]+ \(pid [0-9]+, 0x[0-9a-f]+\) with ' \
				'1 frame\(s\) still poisoned, 1 undone' \
				'LAB-DMESG .*Injecting memory failure at pfn 0x' \
				'LAB-DMESG .*Memory failure: 0x[0-9a-f]+: recovery action for dirty LRU page: Recovered')
			echo "corrupt corrupt-pfn" >>"$plan"
			continue
			;;
		esac
		for e in $encodings; do
			eopt=""
			[ "$e" != default ] && eopt=" --encoding=$e"
			for m in $methods; do
				[ "$m" = soft-offline ] && continue
				id="npt$v-$s-$m-$e"
				cmd="mcefwd run $s --poison=$m$eopt --timeout $RUN_TIMEOUT"
				common=("$(method_pat "$m")" "^ok 1 $s\$" 'unpoisoned pfn 0x[0-9a-f]+ \(gpa 0x200000\)')
				case $s in
				ar)
					add_step "$id" "npt=$v ar --poison=$m (encoding $e): SIGBUS BUS_MCEERR_AR on the vCPU, #MC on the load" "$cmd" \
						"${common[@]}" 'PR_MCE_KILL late for ar' \
						'vcpu-0: BUS_MCEERR_AR at gpa 0x200000: injected bank 9 status @AR_STATUS@ mcg_status @AR_MCG@ at rip 0x' \
						'guest saw #MC 1: MCG_STATUS @AR_MCG@ \([A-Z|]+\), bank 9 STATUS @AR_STATUS@ \(.*\) ADDR 0x200000 MISC 0x8c' \
						'guest memory accounted lost: 4 KiB' \
						'LAB-DMESG .*Memory failure: 0x[0-9a-f]+: recovery action for dirty LRU page: Recovered' \
						'!Sending SIGBUS'
					;;
				ao)
					add_step "$id" "npt=$v ao --poison=$m (encoding $e): early kill, SIGBUS BUS_MCEERR_AO to mcefwd's main thread, routed to vCPU 0" "$cmd" \
						"${common[@]}" 'PR_MCE_KILL early for ao' \
						'vcpu-0: BUS_MCEERR_AO at gpa 0x200000: injected bank 9 status @AO_STATUS@ mcg_status 0x5 at rip 0x' \
						'@AO_SEEN@' \
						'LAB-DMESG .*Memory failure: 0x[0-9a-f]+: Sending SIGBUS to mcefwd:[0-9]+ due to hardware memory corruption' \
						'!Sending SIGBUS to vcpu-'
					;;
				vmm-memory-ao)
					add_step "$id" "npt=$v vmm-memory-ao --poison=$m (encoding $e): AO on mcefwd's own page: a warning, the guest goes on" "$cmd" \
						"^ok 1 $s\$" "$(method_pat "$m")" 'BUS_MCEERR_AO at host address 0x[0-9a-f]+ ignored' \
						'LAB-DMESG .*Memory failure: 0x[0-9a-f]+: Sending SIGBUS to mcefwd:[0-9]+ due to hardware memory corruption' \
						'!guest saw #MC'
					;;
				ar-no-ser)
					add_step "$id" "npt=$v ar-no-ser --poison=$m (encoding $e): guest without MCG_SER_P, the VM is stopped" "$cmd" \
						"${common[@]}" \
						'BUS_MCEERR_AR at gpa 0x200000 \(host address 0x[0-9a-f]+\): hardware memory error: guest MCG_CAP has no MCG_SER_P, an action-required error cannot be delivered: VM stopped' \
						'as expected: ' '!guest saw #MC'
					;;
				vmm-memory)
					add_step "$id" "npt=$v vmm-memory --poison=$m (encoding $e): AR on mcefwd's own page, not guest RAM: the VM is stopped" "$cmd" \
						"^ok 1 $s\$" "$(method_pat "$m")" \
						'BUS_MCEERR_AR at host address 0x[0-9a-f]+, which is not guest RAM: .*VM stopped' \
						'LAB-DMESG .*MCE: Killing [^ ]+:[0-9]+ due to hardware memory corruption fault at ' \
						'as expected: ' '!guest saw #MC'
					;;
				*)
					add_step "$id" "npt=$v $s --poison=$m (encoding $e)" "$cmd" "^ok 1 $s\$"
					;;
				esac
			done
		done
	done
done
[ ${#ids[@]} -eq 0 ] && die_usage "nothing to run"

# ---- the initramfs ---------------------------------------------------------------

bb="$CACHE/busybox-$(basename "$bb_deb" .deb)"
if [ ! -x "$bb" ]; then
	dpkg -x "$bb_deb" "$tmp/bb" || fail_all "dpkg -x $bb_deb failed"
	cp "$tmp/bb/bin/busybox" "$bb" || fail_all "$bb_deb holds no bin/busybox"
fi
root="$tmp/root"
mkdir -p "$root/bin" "$root/lab/mod" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp "$bb" "$root/bin/busybox"
# shellcheck disable=SC2086
cp $sbins "$root/bin/"
cp "$here/init.sh" "$root/init"
chmod 0755 "$root/init"
while read -r m; do
	cp "$kdir/mods/$m.ko" "$root/lab/mod/${m//_/-}.ko"
done <"$kdir/mods/order"
cp "$plan" "$root/lab/plan"
(cd "$root" && find . | cpio -o -H newc --quiet) >"$tmp/initramfs.cpio" ||
	fail_all "cpio could not build the initramfs"
note "initramfs: $(du -h "$tmp/initramfs.cpio" | cut -f1), ${#ids[@]} steps; kvm_amd npt: $npts"

# ---- boot ------------------------------------------------------------------------

mkdir -p "$(dirname "$log")"
t0=$(date +%s.%N)
timeout -k 5 "$QEMU_TIMEOUT" "$QEMU" -accel tcg -machine pc -cpu max -m 2048 \
	-kernel "$kdir/vmlinuz" -initrd "$tmp/initramfs.cpio" -nographic -no-reboot -nic none \
	-append "console=ttyS0 panic=-1 oops=panic quiet $append" </dev/null >"$tmp/serial.raw" 2>&1 &
qemu_pid=$!
wait $qemu_pid
qrc=$?
qemu_pid=""
t1=$(date +%s.%N)
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
# SeaBIOS clears the screen without a newline; the console ends lines in CRLF.
sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g; s/\r$//; s/\r/\n/g' "$tmp/serial.raw" >"$log"
note "QEMU ran $wall s (exit $qrc); serial console: $log"

# ---- judging -----------------------------------------------------------------------

con=$log
panic=$(grep -m 1 -E 'Kernel panic|BUG: |Oops: |general protection fault|Attempted to kill init' "$con")
begin=$(grep -m 1 -o 'LAB-BEGIN .*' "$con")
if [ -z "$begin" ]; then
	why="the kernel never ran the lab's /init"
	[ $qrc -eq 124 ] && why="$why: QEMU hung and was killed after $QEMU_TIMEOUT s"
	[ -n "$panic" ] && why="$why: kernel panic: $panic"
	fail_all "lab booted ($why)" "$(tail -n 20 "$con")"
fi
case $begin in
*vendor=AuthenticAMD*) ;;
*) note "the lab's CPU is not AMD ($begin): kvm_amd will not load" ;;
esac
ok "lab booted: ${begin#LAB-BEGIN }"
insfail=$(grep -o 'LAB-INSMOD-FAILED .*' "$con")
[ -n "$insfail" ] && not_ok "modules loaded" "$insfail" "$(grep LAB-DMESG "$con" | head -n 10)"

for v in $npts; do
	k=$(grep -m 1 -o "LAB-KVM npt=$v rc=.*" "$con")
	if [ -z "$k" ]; then
		not_ok "kvm_amd loaded with npt=$v (no result: the lab stopped before it)"
	elif [[ $k != *" rc=0 "* ]] || [[ "$k " != *" npt=$(tr 01 NY <<<"$v") "* ]]; then
		not_ok "kvm_amd loaded with npt=$v and /dev/kvm appeared" "$k"
	else
		ok "kvm_amd loaded with npt=$v, /dev/kvm there (${k#LAB-KVM })"
	fi
done

for v in $skipped_npt; do
	ok "kvm_amd with npt=$v # SKIP kvm_amd is built into this kernel: it cannot be reloaded with npt=$v"
done

record="$tmp/record"
: >"$record"
for id in "${ids[@]}"; do
	sec="$tmp/sec"
	awk -v id="$id" '$0 ~ "^LAB-TEST " id " " { on = 1 } on { print } on && $0 ~ "^LAB-END " id " " { exit }' "$con" >"$sec"
	d=${desc[$id]}
	if [ ! -s "$sec" ]; then
		why="no result: the step never started"
		[ -n "$panic" ] && why="$why (kernel panic before it: $panic)"
		[ $qrc -eq 124 ] && why="$why (QEMU hung and was killed after $QEMU_TIMEOUT s)"
		not_ok "$d ($why)"
		continue
	fi
	end=$(grep -m 1 "^LAB-END $id " "$sec")
	sed -e '1d' -e '/^LAB-END /d' -e '/^LAB-DMESG /d' "$sec" | sed "s/^/# lab: [$id] /" >>"$record"
	if [ -z "$end" ]; then
		why="no result: the step started and never ended"
		[ -n "$panic" ] && why="$why: kernel panic: $panic"
		[ $qrc -eq 124 ] && why="$why: QEMU hung and was killed after $QEMU_TIMEOUT s"
		not_ok "$d ($why)" "$(tail -n 15 "$sec")"
		continue
	fi
	rc=$(echo "$end" | sed -n 's/.* rc=\([0-9]*\).*/\1/p')
	ms=$(echo "$end" | sed -n 's/.* ms=\([0-9]*\).*/\1/p')
	secs=$(awk -v m="$ms" 'BEGIN { printf "%.2f", m / 1000 }')
	# Expectations that depend on the encoding profile mcefwd says it used.
	prof=$(grep -m 1 -o 'encoding=[a-z0-9.-]*' "$sec" | cut -d= -f2)
	prof=${prof:-qemu-7}
	ao_seen="guest saw #MC 1: MCG_STATUS 0x5 \\(MCIP\\|RIPV\\), bank 9 STATUS ${ao_status[$prof]:-?} "
	if [ "$prof" = amd ]; then
		# No UC bit: KVM logs it without raising #MC (docs/forwarding.md).
		ao_seen="guest found by polling \\(no #MC\\): MCG_STATUS 0x0 \\(none\\), bank 9 STATUS ${ao_status[amd]} "
	fi
	whys=()
	if [ "$rc" != 0 ]; then
		whys+=("exit status $rc, expected 0")
	fi
	if grep -q '# SKIP' "$sec"; then
		whys+=("skipped inside the lab: $(grep -m 1 -o '# SKIP.*' "$sec")")
	fi
	while IFS= read -r p; do
		[ -z "$p" ] && continue
		p=${p//@AR_STATUS@/${ar_status[$prof]:-?}}
		p=${p//@AR_MCG@/${ar_mcg[$prof]:-?}}
		p=${p//@AO_STATUS@/${ao_status[$prof]:-?}}
		p=${p//@AO_SEEN@/$ao_seen}
		if [ "${p#!}" != "$p" ]; then
			grep -qE -- "${p#!}" "$sec" && whys+=("output has what it must not: ${p#!}")
		else
			grep -qE -- "$p" "$sec" || whys+=("output lacks: $p")
		fi
	done <<<"${pats[$id]}"
	if [ "$id" = corrupt-pfn ]; then
		mi=$(grep -m 1 '^LAB-MEMINFO ' "$sec")
		b=$(echo "$mi" | sed -n 's/.*before=\([0-9]*\).*/\1/p')
		du=$(echo "$mi" | sed -n 's/.*during=\([0-9]*\).*/\1/p')
		af=$(echo "$mi" | sed -n 's/.*after=\([0-9]*\).*/\1/p')
		if [ -z "$b" ] || [ -z "$du" ] || [ -z "$af" ]; then
			whys+=("HardwareCorrupted not reported: '$mi'")
		else
			[ "$du" -ne $((b + 4)) ] && whys+=("HardwareCorrupted was $du kB while poisoned, expected $((b + 4)) kB (before: $b kB)")
			[ "$af" -ne "$b" ] && whys+=("HardwareCorrupted is $af kB after unpoison-pfn, expected $b kB as before")
			d="$d: $b -> $du -> $af kB"
		fi
	fi
	[[ $id == *-default ]] && d="$d, profile $prof"
	if [ ${#whys[@]} -eq 0 ]; then
		ok "$d ($secs s)"
	else
		not_ok "$d ($secs s)" "${whys[@]}" "--- its console section (all of it in $log):" \
			"$(sed '/^LAB-TEST /d' "$sec" | head -n 40)"
	fi
done

if grep -q '^LAB-DONE' "$con"; then
	ok "lab finished every step and powered off (no panic, no hang)"
elif [ $qrc -eq 124 ]; then
	not_ok "lab finished every step and powered off (QEMU hung: killed after $QEMU_TIMEOUT s)" "$(tail -n 10 "$con")"
elif [ -n "$panic" ]; then
	not_ok "lab finished every step and powered off (kernel panic: $panic)" "$(grep -A 15 -m 1 -F "$panic" "$con")"
else
	not_ok "lab finished every step and powered off (the console ends before LAB-DONE, QEMU exit $qrc)" "$(tail -n 10 "$con")"
fi
[ -n "$panic" ] && grep -q '^LAB-DONE' "$con" && not_ok "no kernel oops or panic" "$panic"

cat "$record"
echo "1..$n"
[ $failed -eq 0 ]
