#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Writes docs/guest-visible-mce.md to standard output: the behaviour matrix
# (`mcefwd matrix --on=lab --kernel=K --markdown`, real runs) for each of
# Debian 12's kernel series, one section each under its fingerprint, and
# first the rows where the kernels differ, each with why. A difference no
# rule below explains is marked UNEXPLAINED and the script exits 1: explain
# it (here and in docs/forwarding.md) or fix what caused it.
#
# Then, beside mcefwd's own forwarding, what a real QEMU's guest saw: `mcefwd
# run --vmm=qemu --on=lab --kernel=K --json` on each kernel, judged there
# against what that QEMU version must do.
#
#   B=build scripts/guest-visible-mce.sh > docs/guest-visible-mce.md
#   KERNELS="6.1 6.12" (default), MATRIX_MD=DIR: take K.md (and K.qemu.json)
#   from DIR instead of running the matrix (tests)
set -u

B=${B:-build}
KERNELS=${KERNELS:-6.1 6.12}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcefwd-gvm.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

for k in $KERNELS; do
	if [ -n "${MATRIX_MD:-}" ]; then
		cp "$MATRIX_MD/$k.md" "$tmp/$k.md" || exit 1
	elif ! "$B/bin/mcefwd" matrix --on=lab --kernel="$k" --markdown >"$tmp/$k.md" 2>"$tmp/$k.err"; then
		echo "guest-visible-mce: mcefwd matrix --on=lab --kernel=$k failed:" >&2
		tail -n 20 "$tmp/$k.err" >&2
		exit 1
	fi
	# "scenario<TAB>method<TAB>encoding<TAB>the rest of the row", one per row.
	awk '/^## / { s = substr($0, 4) }
	     /^\| / && s != "" && $2 != "method" && $2 !~ /^-+$/ {
		split($0, c, " \\| ")
		rest = $0
		sub(/^\| [^|]* \| [^|]* \| /, "", rest)
		print s "\t" substr(c[1], 3) "\t" c[2] "\t" rest
	     }' "$tmp/$k.md" | sort >"$tmp/$k.rows"
	if [ -n "${MATRIX_MD:-}" ]; then
		cp "$MATRIX_MD/$k.qemu.json" "$tmp/$k.qemu.json" || exit 1
	elif ! "$B/bin/mcefwd" run --vmm=qemu --on=lab --kernel="$k" --json \
		--state "$tmp/qemu-state" >"$tmp/$k.qemu.json" 2>"$tmp/$k.qemu.err"; then
		echo "guest-visible-mce: mcefwd run --vmm=qemu --on=lab --kernel=$k failed:" >&2
		jq -r '.tests[] | select(.result == "fail") | .name + ": " + .reason' \
			"$tmp/$k.qemu.json" >&2 2>/dev/null
		tail -n 20 "$tmp/$k.qemu.err" >&2
		exit 1
	fi
	# The release, from the fingerprint's Host: line.
	sed -n 's/^Host: Linux \([^,]*\),.*/\1/p' "$tmp/$k.md" | head -n 1 >"$tmp/$k.release"
done

# Why a row may differ between kernels: by poison method.
why_differs() {
	case $1 in
	uffd)
		echo "UFFDIO_POISON exists from Linux 6.6 (mm/userfaultfd.c): on an older kernel the method is not offered, so its rows are only where it is."
		;;
	*)
		return 1
		;;
	esac
}

# A cell of the QEMU table: outcome, records, the last record.
# shellcheck disable=SC2016
QEMU_CELL='if .result == "skip" then "skipped: " + (.reason | sub("^--vmm=qemu: "; ""))
	elif .result == "fail" then "FAIL: " + .reason
	else (.observation | .outcome + (if .records > 0 then " x" + (.records | tostring) +
		": MCG_STATUS " + .mcg_status + ", " + (.bank | tostring) + ": " + .status +
		", ADDR " + .addr else "" end) +
		(if .vcpus != "0" and .vcpus != "none" then " (#MC on vCPUs " + .vcpus + ")" else "" end)) end'

# "## Under a real QEMU": for each scenario, mcefwd's own row (pfn, qemu-7:
# QEMU's encoding before 9.1) and what QEMU's guest saw on each kernel.
qemu_section() {
	local k v
	v=$(jq -r '.vmm.version | capture("version (?<v>[0-9]+\\.[0-9]+)").v' "$tmp/$first.qemu.json")
	echo
	echo "## Under a real QEMU"
	echo
	echo "Debian's QEMU $v as the VMM (\`mcefwd run --vmm=qemu\`: \`-accel kvm"
	echo "-machine microvm -cpu host\`, the scenario's own payload as a PVH kernel),"
	echo "its guest page poisoned with debugfs \`corrupt-pfn\` by \`mcefwd-inject\`,"
	echo "on each kernel; each run judged against what that QEMU version must"
	echo "do, derived from its source (\`mcefwd/qemu/expect.c\`). Beside it,"
	echo "mcefwd's own forwarding, \`--poison=pfn --encoding=qemu-7\` (the same"
	echo "encoding): QEMU always asks for early kill (\`PR_MCE_KILL_EARLY\`), so"
	echo "its guest gets an action-optional #MC the moment the frame is"
	echo "poisoned, and a guest that retires the page then never touches it;"
	echo "mcefwd kills late where a scenario is about the access. Cells:"
	echo "outcome x vCPU 0's records: its last record's MCG_STATUS, bank: MCi_STATUS,"
	echo "ADDR; and which vCPUs took a #MC where others did too (QEMU's bank-1"
	echo "broadcast: \`mcefwd/qemu/expect.c\`)."
	echo
	echo "<!-- fingerprint: begin (not compared by the docs test) -->"
	for k in $KERNELS; do
		echo "QEMU on \`--kernel=$k\`: $(jq -r .vmm.version "$tmp/$k.qemu.json"), $(jq -r .vmm.path "$tmp/$k.qemu.json")."
	done
	echo "<!-- fingerprint: end -->"
	echo
	printf '| scenario | mcefwd (pfn, qemu-7) |'
	for k in $KERNELS; do printf ' QEMU %s on %s |' "$v" "$k"; done
	echo " why QEMU |"
	printf '| --- | --- |'
	for k in $KERNELS; do printf ' --- |'; done
	echo " --- |"
	jq -r '.tests[] | select(.kind == "scenario") | .name' "$tmp/$first.qemu.json" |
	while read -r sc; do
		own=$(awk -F '\t' -v s="$sc" '$1 == s && $2 == "pfn" && $3 == "qemu-7" { print $4 }' \
			"$tmp/$first.rows" | awk -F ' [|] ' '{
				# outcome | MCG_STATUS | bank: MCi_STATUS | ADDR ..., or outcome | note | ...
				if ($2 ~ /^0x/) print $1 ": MCG_STATUS " $2 ", " $3 ", ADDR " $4
				else if ($2 != "" && $2 != "|") print $1 ": " $2
				else print $1 }' | sed 's/ (\([^)]*\))//g; s/ *|$//')
		printf '| %s | %s |' "$sc" "${own:-not run: no pfn row}"
		for k in $KERNELS; do
			printf ' %s |' "$(jq -r --arg s "$sc" ".tests[] | select(.name == \$s) | $QEMU_CELL" \
				"$tmp/$k.qemu.json" | sed 's/|/\\|/g')"
		done
		printf ' %s |\n' "$(jq -r --arg s "$sc" '.tests[] | select(.name == $s) | .observation.note // ""' \
			"$tmp/$first.qemu.json" | sed 's/|/\\|/g')"
	done
}

set -- $KERNELS
first=$1
unexplained=0
{
	sed '/^<!-- fingerprint: begin/,$d' "$tmp/$first.md"
	echo "This page has a section for each of Debian 12's kernel series, each"
	echo "under its own fingerprint, after the rows where they differ"
	echo "(\`scripts/guest-visible-mce.sh\` writes it; \`make check\` regenerates"
	echo "it in the lab and compares)."
	echo
	echo "## Host kernels"
	echo
	for k in $KERNELS; do
		echo "- \`--kernel=$k\`: Linux $(cat "$tmp/$k.release") (its section below)"
	done
	echo
	echo "## Where the kernels differ"
	echo
	echo "Rows (scenario, method, encoding) that one kernel has and another lacks,"
	echo "or that read differently; the same everywhere else."
	echo
	echo "| scenario | method | encoding | kernels | why |"
	echo "| --- | --- | --- | --- | --- |"
	for k in $KERNELS; do cut -f 1-3 "$tmp/$k.rows"; done | sort -u >"$tmp/keys"
	n=0
	while IFS="$(printf '\t')" read -r sc m e; do
		have="" rows=""
		for k in $KERNELS; do
			r=$(awk -F '\t' -v s="$sc" -v m="$m" -v e="$e" \
				'$1 == s && $2 == m && $3 == e { print $4 }' "$tmp/$k.rows")
			[ -n "$r" ] && have="$have $k"
			rows="$rows$r
"
		done
		if [ "$(printf '%s' "$rows" | sort -u | grep -c .)" -eq 1 ] &&
		   [ "$(echo $have)" = "$(echo $KERNELS)" ]; then
			continue
		fi
		n=$((n + 1))
		if why=$(why_differs "$m"); then :; else
			why="UNEXPLAINED"
			unexplained=$((unexplained + 1))
		fi
		if [ "$(echo $have)" = "$(echo $KERNELS)" ]; then
			where="on all, read differently"
		else
			where="only on$have"
		fi
		printf '%s\t%s\t%s\t%s\t%s\n' "$sc" "$m" "$e" "$where" "$why" >>"$tmp/diff"
	done <"$tmp/keys"
	[ $n -eq 0 ] && echo "| (none) | | | | |"
	# A method whose every row differs the same way is one row.
	[ $n -gt 0 ] && awk -F '\t' 'NR == FNR { all[$2]++; next }
		{ k = $2 "\t" $4 "\t" $5; n[k]++; row[k] = row[k] $0 "\n" }
		END {
			for (k in n) {
				split(k, f, "\t")
				if (n[k] == all[f[1]])
					printf "| every scenario | %s | every encoding | %s | %s |\n", f[1], f[2], f[3]
				else {
					c = split(row[k], r, "\n")
					for (i = 1; i < c; i++) {
						split(r[i], g, "\t")
						printf "| %s | %s | %s | %s | %s |\n", g[1], g[2], g[3], g[4], g[5]
					}
				}
			}
		}' "$tmp/keys" "$tmp/diff" | sort
	qemu_section
	for k in $KERNELS; do
		echo
		echo "## Linux $(cat "$tmp/$k.release") (\`--kernel=$k\`)"
		echo
		sed -n '/^<!-- fingerprint: begin/,$p' "$tmp/$k.md" | sed 's/^## /### /'
	done
} >"$tmp/doc.md"
cat "$tmp/doc.md"
if [ $unexplained -gt 0 ]; then
	echo "guest-visible-mce: $unexplained row(s) differ between kernels with no explanation" >&2
	exit 1
fi
