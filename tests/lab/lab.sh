#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The real-kernel lab suite: mcefwd's scenarios with real memory failure
# (--poison=hwpoison and pfn, soft offline, the injector's corrupt-pfn)
# through KVM, inside the lab (mcefwd lab: Debian's kernel under QEMU's TCG,
# kvm_amd on the emulated SVM), once per kvm_amd nested-paging setting: one
# boot each. tests/lab/steps.sh runs inside and judges every step from
# mcefwd's --json record and the kernel's log. TAP output, each boot a
# subtest (KTAP's nesting) whose steps come as the lab prints them.
#
#   tests/lab/lab.sh [OPTIONS] [SCENARIO...]
#
# Exit status: 0 pass, 1 fail, 2 usage error, 4 skip (the reason is printed).
set -u

usage() {
	cat <<'EOF'
usage: tests/lab/lab.sh [OPTIONS] [SCENARIO...]

Runs mcefwd's scenarios with real memory failure through KVM inside the lab
('mcefwd lab --help'), once per kvm_amd nested-paging setting, and judges
every step from mcefwd's --json record and the kernel's log. TAP output.

  SCENARIO...           ar ao ar-no-ser vmm-memory vmm-memory-ao soft-offline
                        corrupt-pfn qemu (default: all of them; qemu: every
                        scenario under Debian's QEMU, mcefwd run --vmm=qemu)
  --poison=M,M          hwpoison,pfn (default: both)
  --encoding=E,E        default,amd (default: both; or qemu-7, qemu-6.2)
  --npt=N,N             1,0: kvm_amd's nested paging on, then off (a boot each)
  --kernel=K            the lab's kernel: 6.1 (Debian's current one, the
                        default), 6.12, FILE.deb ('mcefwd lab --help')
  --kernel-deb=FILE     a Debian kernel package instead of Debian's current one
  --kernel=BZIMAGE --modules=DIR   a kernel of your own
  --timeout=SECONDS     bound on each boot (default 600)
  --console=FILE        keep the kernel console of the last boot
  -h, --help            this text

Environment: B (build directory, default build), MCEFWD_LAB_CACHE.
Exit status: 0 pass, 1 fail, 2 usage error, 4 skip.
EOF
}

here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 1
# shellcheck source=tests/lib/tap.sh
. tests/lib/tap.sh
B=${B:-build}
MCEFWD=$B/bin/mcefwd
methods="hwpoison pfn uffd" encodings="default amd" npts="1 0" timeout=600
lab_opts=() scenarios=()

die_usage() {
	echo "lab: $1 (see tests/lab/lab.sh --help)" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	a=$1
	shift
	case $a in
	--poison | --encoding | --npt | --kernel-deb | --kernel | --modules | --timeout | --console)
		[ $# -gt 0 ] || die_usage "$a needs a value"
		a="$a=$1"
		shift
		;;
	esac
	case $a in
	--poison=*) methods=${a#*=}; methods=${methods//,/ } ;;
	--encoding=*) encodings=${a#*=}; encodings=${encodings//,/ } ;;
	--npt=*) npts=${a#*=}; npts=${npts//,/ } ;;
	--kernel-deb=* | --kernel=* | --modules=* | --console=*) lab_opts+=("$a") ;;
	--timeout=*) timeout=${a#*=} ;;
	-h | --help) usage; exit 0 ;;
	-*) die_usage "unknown option '$a'" ;;
	*) scenarios+=("$a") ;;
	esac
done
for m in $methods; do
	case $m in hwpoison | pfn | uffd) ;; *) die_usage "--poison: '$m' is not hwpoison, pfn or uffd" ;; esac
done
for e in $encodings; do
	case $e in default | qemu-7 | qemu-6.2 | amd) ;; *) die_usage "--encoding: invalid '$e'" ;; esac
done
for v in $npts; do
	case $v in 0 | 1) ;; *) die_usage "--npt: '$v' is not 0 or 1" ;; esac
done
case $timeout in '' | *[!0-9]*) die_usage "invalid --timeout '$timeout'" ;; esac
[ ${#scenarios[@]} -eq 0 ] &&
	scenarios=(ar ao ar-no-ser vmm-memory vmm-memory-ao soft-offline corrupt-pfn qemu)
for s in "${scenarios[@]}"; do
	case $s in
	ar | ao | ar-no-ser | vmm-memory | vmm-memory-ao | soft-offline | corrupt-pfn | qemu) ;;
	*) die_usage "no lab step for '$s'" ;;
	esac
done
[ -x "$MCEFWD" ] || die_usage "$MCEFWD is not built (make)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcefwd-lab.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# One subtest per boot, its steps as they come out of the lab (numbered by
# tests/lab/steps.sh, which plans them first), then the boot's own result.
# shellcheck disable=SC2086
tap_plan $(set -- $npts; echo $#)
for v in $npts; do
	tap_subtest "kvm_amd npt=$v"
	t0=$(date +%s.%N)
	: >"$tmp/err"
	while IFS= read -r line; do
		case $line in
		1..[0-9]*)
			# The steps', and this boot's own result after them.
			[ -z "$tap_planned" ] && tap_plan $((${line#1..} + 1))
			;;
		"ok "[0-9]*" - "*" # SKIP "*)
			line=${line#ok * - }
			skip "${line% # SKIP *}" "${line##* # SKIP }"
			;;
		"ok "[0-9]*" - "*) ok "${line#ok * - }" ;;
		"not ok "[0-9]*" - "*) not_ok "${line#not ok * - }" ;;
		"#"*) tap_line "$line" ;;
		*)
			# mcefwd lab's errors, the steps' standard error.
			printf '%s\n' "$line" >>"$tmp/err"
			tap_line "# $line"
			;;
		esac
	done < <(
		"$MCEFWD" lab "${lab_opts[@]}" --npt "$v" --timeout "$timeout" -- \
			tests/lab/steps.sh "$v" "$methods" "$encodings" "${scenarios[@]}" 2>&1
		echo $? >"$tmp/rc"
	)
	rc=$(cat "$tmp/rc")
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	if [ "$rc" -eq 4 ] && [ "$tap_n" -eq 0 ]; then
		why=$(sed -n 's/^mcefwd lab: cannot run here: //p' "$tmp/err" | head -n 1)
		tap_subtest_end "${why:-the lab cannot run here}"
		continue
	fi
	if [ "$rc" -eq 0 ]; then
		ok "the lab with kvm_amd npt=$v booted, ran every step and powered off ($secs s)"
	else
		sed -n 's/^mcefwd lab: //p' "$tmp/err" >"$tmp/why"
		not_ok "the lab with kvm_amd npt=$v: exit status $rc ($secs s)" "$tmp/why"
	fi
	tap_subtest_end
done
tap_done || exit 1
[ "$tap_skipped" -eq "$tap_n" ] && exit 4
exit 0
