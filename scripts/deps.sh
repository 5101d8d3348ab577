#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Install (as root) or name (as anyone else) the Debian packages mcefwd needs.
#   scripts/deps.sh build     what `make`/`make run` needs
#   scripts/deps.sh lab       what the lab needs (QEMU; xz for Debian's kernel):
#                             `make run` asks for it on a host without usable KVM
#   scripts/deps.sh check     build and lab, plus what `make check` needs
# Exit 0 when everything is there, 1 when something is missing and could not
# be installed (the exact apt-get line is printed).
set -eu

build_pkgs="gcc make libc6-dev binutils pkg-config libcap-dev libnuma-dev"
# The lab: QEMU's software emulation boots Debian's kernel (xz-compressed).
lab_pkgs="qemu-system-x86 xz-utils"
# jq: the tests read mcefwd's --json with it; perl: prove and TAP::Parser read
# make check's KTAP (tests/lib/agree.sh).
check_pkgs="libcmocka-dev valgrind man-db jq perl"

case "${1:-build}" in
build) want="$build_pkgs" ;;
lab) want="$lab_pkgs" ;;
check) want="$build_pkgs $lab_pkgs $check_pkgs" ;;
fuzz) want="$build_pkgs $check_pkgs clang libclang-rt-14-dev" ;;
*) echo "usage: $0 build|lab|check|fuzz" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: missing packages:$missing, and apt-get is not available; install them with your package manager" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: as root, run:  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# The package lists may be absent or stale on a fresh machine.
apt-get update -q >&2 || echo "deps: apt-get update failed; trying the lists we have" >&2
apt-get install -y -q --no-install-recommends $missing >&2
echo "deps: installed:$missing" >&2
