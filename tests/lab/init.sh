#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-only
#
# /init of the lab's initramfs: mounts what mcefwd needs, loads the modules,
# runs the steps of /lab/plan and reports each between markers on the serial
# console, then powers off. It decides nothing: tests/lab/lab.sh reads the
# console and judges every step. The markers, one per line:
#
#   LAB-BEGIN release=R vendor=V        the kernel is up, /init runs
#   LAB-KVM npt=N rc=RC PARAM=VALUE...  kvm_amd (re)loaded with these parameters
#   LAB-TEST ID CMD                     a step starts; its output follows
#   LAB-DMESG LINE                      a kernel message the step caused
#   LAB-MEMINFO before=KB during=KB after=KB   HardwareCorrupted (corrupt step)
#   LAB-END ID rc=RC ms=MS              the step ended after MS milliseconds
#   LAB-DONE                            every step ran
#
# Plan lines: "modules PATH..." (insmod in this order), "kvm PARAMS" (reload
# kvm_amd), "test ID CMD...", "corrupt ID".
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
# Kernel messages go into the log of the step that caused them, not
# between the lines of its output; an emergency (a panic) still shows.
dmesg -n 1
dmesg -c >/dev/null
export MCEFWD_STATE=/tmp/mcefwd-state

ms() {
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

kmsgs() {
	dmesg -c | sed 's/^/LAB-DMESG /'
}

hwcorrupted() {
	sed -n 's/^HardwareCorrupted: *\([0-9]*\) kB/\1/p' /proc/meminfo
}

kvm_reload() {
	rc=0
	# Built in (no module file): its parameters came on the command line.
	if [ -n "${KVM_AMD:-}" ]; then
		rmmod kvm_amd 2>/dev/null
		insmod "$KVM_AMD" "$@"
		rc=$?
	fi
	params=""
	for p in npt nested nrips; do
		[ -r "/sys/module/kvm_amd/parameters/$p" ] &&
			params="$params $p=$(cat "/sys/module/kvm_amd/parameters/$p")"
	done
	[ -c /dev/kvm ] || rc=99
	echo "LAB-KVM $* rc=$rc$params"
	kmsgs
}

# corrupt-pfn on a page of a helper process, then unpoison-pfn through the
# state file: HardwareCorrupted must rise by one page and come back.
corrupt() {
	poison-target >/tmp/target </dev/null &
	pid=$!
	i=0
	while [ ! -s /tmp/target ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	addr=$(tr ' ' '\n' </tmp/target | sed -n 's/^anon=//p')
	before=$(hwcorrupted)
	echo "helper pid $pid, anonymous page $addr"
	mcefwd-inject --pid "$pid" --addr "$addr" --method pfn --keep --state /tmp/corrupt-state </dev/null 2>&1
	r1=$?
	during=$(hwcorrupted)
	mcefwd-inject --unpoison-all --state /tmp/corrupt-state </dev/null 2>&1
	r2=$?
	after=$(hwcorrupted)
	kill "$pid"
	wait "$pid" 2>/dev/null
	echo "LAB-MEMINFO before=$before during=$during after=$after"
	return $((r1 | r2))
}

step() {
	id=$1
	shift
	echo "LAB-TEST $id $*"
	t0=$(ms)
	# Through a pipe: the console is a terminal, and a program that sees
	# one may draw progress lines on it.
	{
		if [ "$1" = corrupt ]; then
			corrupt
		else
			# shellcheck disable=SC2068
			timeout 150 $@ </dev/null 2>&1
		fi
		echo $? >/tmp/rc
	} | cat
	rc=$(cat /tmp/rc)
	t1=$(ms)
	kmsgs
	echo "LAB-END $id rc=$rc ms=$((t1 - t0))"
}

echo "LAB-BEGIN release=$(uname -r) vendor=$(sed -n 's/^vendor_id[^:]*: //p' /proc/cpuinfo | head -n 1)"
while read -r kind rest; do
	case $kind in
	modules)
		for m in $rest; do
			case $m in
			*/kvm-amd.ko) KVM_AMD=$m ;;
			*) insmod "$m" || echo "LAB-INSMOD-FAILED $m" ;;
			esac
		done
		;;
	kvm)
		# shellcheck disable=SC2086
		kvm_reload $rest
		;;
	test)
		# shellcheck disable=SC2086
		step $rest
		;;
	corrupt)
		step "$rest" corrupt
		;;
	esac
done </lab/plan
echo "LAB-DONE"
sync
poweroff -f
