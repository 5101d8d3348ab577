# SPDX-License-Identifier: GPL-2.0-only
#
# What the integration scripts share beyond TAP (tests/lib/tap.sh, sourced
# here): the expect helper, what the host offers. The sourcing script sets
# $tmp (a scratch directory) and, after running a command, $rc and $tmp/out
# (its output).

# shellcheck source=tests/lib/tap.sh
. "${0%/*}/../lib/tap.sh"

# expect DESC STATUS PATTERN...: the last command exited STATUS and printed
# every extended-regex PATTERN.
expect() {
	desc=$1 want=$2
	shift 2
	if [ "$rc" -ne "$want" ]; then
		echo "# exit status $rc, expected $want" >>"$tmp/out"
		not_ok "$desc" "$tmp/out"
		return
	fi
	for pat in "$@"; do
		if ! grep -qE -- "$pat" "$tmp/out"; then
			echo "# output lacks: $pat" >>"$tmp/out"
			not_ok "$desc" "$tmp/out"
			return
		fi
	done
	ok "$desc"
}

# kvm_reason: why /dev/kvm cannot be used here, or nothing when it can. It
# only looks: a probe such as `: <>/dev/kvm` opens with O_CREAT and, run as
# root on a host without KVM, creates /dev/kvm as an empty regular file that
# every later check then takes for KVM.
kvm_reason() {
	if [ ! -e /dev/kvm ]; then
		echo "/dev/kvm does not exist (load kvm_intel or kvm_amd)"
	elif [ ! -c /dev/kvm ]; then
		echo "/dev/kvm is not a character device ($(stat -c %F /dev/kvm))"
	elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		echo "/dev/kvm is not readable and writable by $(id -un)"
	fi
}

# method_available M / method_why M: what `mcefwd caps --json` says of poison
# method M (needs $MCEFWD or $B; the caps JSON is read once per script).
caps_json() {
	[ -n "${caps_json_cache:-}" ] ||
		caps_json_cache=$("${MCEFWD:-${B:-build}/bin/mcefwd}" caps --json)
	printf '%s\n' "$caps_json_cache"
}
method_available() {
	caps_json | jq -e --arg m "$1" '.poison_methods[] | select(.name == $m) | .available' >/dev/null
}
method_why() {
	caps_json | jq -r --arg m "$1" '.poison_methods[] | select(.name == $m) | .why'
}
