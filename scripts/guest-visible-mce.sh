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
# against what that QEMU version must do, and mcefwd under that QEMU's
# rules, `--model=qemu-7 --poison=pfn`, which must give each scenario both
# run the same records and outcome: a difference is marked DIFFERS and
# the script exits 1.
#
#   B=build scripts/guest-visible-mce.sh > docs/guest-visible-mce.md
#   KERNELS="6.1 6.12" (default), MATRIX_MD=DIR: take K.md (and K.qemu.json,
#   K.model.json) from DIR instead of running them (tests)
set -u

B=${B:-build}
KERNELS=${KERNELS:-6.1 6.12}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcefwd-gvm.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# run_json K NAME ARGS...: `mcefwd run ARGS --on=lab --kernel=K --json` into
# $tmp/K.NAME.json (from $MATRIX_MD when set); on a failed run says which
# tests failed and why, and returns 1.
run_json() {
	local k="$1" name="$2"
	shift 2
	if [ -n "${MATRIX_MD:-}" ]; then
		cp "$MATRIX_MD/$k.$name.json" "$tmp/$k.$name.json"
		return
	fi
	"$B/bin/mcefwd" run "$@" --on=lab --kernel="$k" --json --state "$tmp/$k.$name-state" \
		>"$tmp/$k.$name.json" 2>"$tmp/$k.$name.err" && return 0
	echo "guest-visible-mce: mcefwd run $* --on=lab --kernel=$k failed:" >&2
	jq -r '.tests[] | select(.result == "fail") | .name + ": " + .reason' \
		"$tmp/$k.$name.json" >&2 2>/dev/null
	tail -n 20 "$tmp/$k.$name.err" >&2
	return 1
}

# collect K: every run of kernel K into $tmp/K.*; 1 (said on stderr) if one failed.
collect() {
	local k="$1"

	if [ -n "${MATRIX_MD:-}" ]; then
		cp "$MATRIX_MD/$k.md" "$tmp/$k.md" || return 1
	elif ! "$B/bin/mcefwd" matrix --on=lab --kernel="$k" --markdown >"$tmp/$k.md" 2>"$tmp/$k.err"; then
		echo "guest-visible-mce: mcefwd matrix --on=lab --kernel=$k failed:" >&2
		tail -n 20 "$tmp/$k.err" >&2
		return 1
	fi
	# "scenario<TAB>method<TAB>encoding<TAB>the rest of the row", one per row.
	awk '/^## / { s = substr($0, 4) }
	     /^\| / && s != "" && $2 != "method" && $2 !~ /^-+$/ {
		split($0, c, " \\| ")
		rest = $0
		sub(/^\| [^|]* \| [^|]* \| /, "", rest)
		print s "\t" substr(c[1], 3) "\t" c[2] "\t" rest
	     }' "$tmp/$k.md" | sort >"$tmp/$k.rows"
	run_json "$k" qemu --vmm=qemu || return 1
	run_json "$k" model --poison=pfn --model=qemu-7 || return 1
	# QEMU 9.1's rules where no QEMU 9.1 is at hand: on the first kernel,
	# judged by the rows derived from its source (the lab's guest is AMD).
	if [ "$k" = "${KERNELS%% *}" ]; then
		run_json "$k" model91 --poison=pfn --model=qemu-9.1 || return 1
	fi
	# The release, from the fingerprint's Host: line.
	sed -n 's/^Host: Linux \([^,]*\),.*/\1/p' "$tmp/$k.md" | head -n 1 >"$tmp/$k.release"
}

# Each kernel's lab runs on one emulated CPU, so two kernels take two of
# this host's cores side by side; but a kernel not yet in the lab's cache
# is fetched with apt, one at a time (apt's lock): then one after another.
together=1
if [ -z "${MATRIX_MD:-}" ]; then
	"$B/bin/mcefwd" lab --list-kernels --json >"$tmp/kernels.json" 2>/dev/null || together=0
	for k in $KERNELS; do
		jq -e --arg k "$k" 'any(.offered[]; .series == $k and .cached)' "$tmp/kernels.json" \
			>/dev/null 2>&1 || together=0
	done
fi
failed=0
if [ $together = 1 ]; then
	pids=""
	for k in $KERNELS; do
		collect "$k" 2>"$tmp/$k.collect" &
		pids="$pids $!"
	done
	for p in $pids; do
		wait "$p" || failed=1
	done
	for k in $KERNELS; do cat "$tmp/$k.collect" >&2; done
else
	for k in $KERNELS; do
		collect "$k" || { failed=1; break; }
	done
fi
[ $failed = 0 ] || exit 1

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

# A run's record and outcome as a comparable key: outcome, and vCPU 0's last
# record if there is one.
# shellcheck disable=SC2016
KEY='.observation | .outcome + (if .records > 0 then " MCG_STATUS " + .mcg_status + ", " +
	(.bank | tostring) + ": " + .status + ", ADDR " + .addr else "" end)'

# Why mcefwd's own model shows a guest something else than QEMU does, by
# scenario (the pfn row: a real memory failure). "improves:" where mcefwd's
# is the better behaviour. A differing row with no why here is UNEXPLAINED.
own_differs() {
	case $1 in
	ar | overflow | broadcast)
		echo "policy: mcefwd kills late where a scenario is about the access, so the guest's #MC is the AR of the load itself; QEMU always kills early (PR_MCE_KILL_EARLY), so its guest gets an AO at poisoning (mcefwd --mce-kill=early does the same)" ;;
	nested)
		echo "as hardware: mcefwd's AR under MCIP is KVM's shutdown; QEMU's do_inject_x86_mce asks for a reset, and from 9.1 drops an AMD guest's second error (docs/forwarding.md)" ;;
	no-cr4-mce)
		echo "as hardware: KVM_X86_SET_MCE makes it a triple fault (shutdown); QEMU's do_inject_x86_mce asks for a guest reset" ;;
	bank-disabled)
		echo "improves: mcefwd stops the livelock after 8 identical errors and names it; under QEMU the guest faults again for ever (stopped here by the test)" ;;
	ar-no-ser)
		echo "mcefwd stops the VM and says why; QEMU's hardware_memory_error exits the whole process with status 1" ;;
	*)
		return 1 ;;
	esac
}

# "## Under a real QEMU": for each scenario, mcefwd's own row (pfn, qemu-7:
# QEMU's encoding before 9.1), mcefwd under QEMU's rules (--model=qemu-7,
# pfn), and what QEMU's guest saw on each kernel. The model must match QEMU
# wherever both ran; that and every other difference is counted.
qemu_section() {
	local k v sc own own_key q_key m_key model_cell mq vs why
	v=$(jq -r '.vmm.version | capture("version (?<v>[0-9]+\\.[0-9]+)").v' "$tmp/$first.qemu.json")
	echo
	echo "## Under a real QEMU"
	echo
	echo "Debian's QEMU $v as the VMM (\`mcefwd run --vmm=qemu\`: \`-accel kvm"
	echo "-machine microvm -cpu host\`, the scenario's own payload as a PVH kernel),"
	echo "its guest page poisoned with debugfs \`corrupt-pfn\` by \`mcefwd-inject\`,"
	echo "on each kernel; each run judged against what that QEMU version must"
	echo "do, derived from its source (\`mcefwd/scenario/qemu_rules.c\`)."
	echo
	echo "Beside it, mcefwd, \`--poison=pfn\`, in its models; the first two with"
	echo "the same encoding. **mcefwd's own model** (the default, \`--model=mcefwd\`): every"
	echo "error kept and delivered in turn with \`KVM_X86_SET_MCE\`, each once the"
	echo "guest cleared MCIP, killed late where a scenario is about the access."
	echo "**mcefwd as QEMU 7.2** (\`--model=qemu-7\`): QEMU's rules, rule for rule"
	echo "(\`mcefwd/mce/forward_qemu.c\`); \`make check\` requires it to give every"
	echo "scenario both ran the same records and outcome as the real QEMU on the"
	echo "same kernel, and says \"same as QEMU\" only then. **mcefwd as QEMU 9.1**"
	echo "(\`--model=qemu-9.1\`, on $first): no QEMU 9.1 is at hand, so each run is"
	echo "judged by the rows derived from its source alone; the lab's guest CPU is"
	echo "AMD, so from 9.1 the AMD encoding (no UC in the AO, no AR bit at all) and"
	echo "no broadcast. The last column says"
	echo "where and why mcefwd's own model differs from QEMU, \"improves\" where"
	echo "its behaviour is the better one (docs/forwarding.md has the rest, with"
	echo "the errors QEMU cannot be driven through). Cells: outcome x vCPU 0's"
	echo "records: its last record's MCG_STATUS, bank: MCi_STATUS, ADDR; and which"
	echo "vCPUs took a #MC where others did too (QEMU's bank-1 broadcast)."
	echo
	echo "<!-- fingerprint: begin (not compared by the docs test) -->"
	for k in $KERNELS; do
		echo "QEMU on \`--kernel=$k\`: $(jq -r .vmm.version "$tmp/$k.qemu.json"), $(jq -r .vmm.path "$tmp/$k.qemu.json")."
	done
	echo "<!-- fingerprint: end -->"
	echo
	printf '| scenario | mcefwd'"'"'s own model (pfn, qemu-7) | mcefwd as QEMU %s (pfn) | mcefwd as QEMU 9.1 (pfn, %s) |' "$v" "$first"
	for k in $KERNELS; do printf ' QEMU %s on %s |' "$v" "$k"; done
	echo " why QEMU | mcefwd's own model against QEMU |"
	printf '| --- | --- | --- | --- |'
	for k in $KERNELS; do printf ' --- |'; done
	echo " --- | --- |"
	jq -r '.tests[] | select(.kind == "scenario") | .name' "$tmp/$first.qemu.json" >"$tmp/scenarios"
	while read -r sc; do
		own=$(awk -F '\t' -v s="$sc" '$1 == s && $2 == "pfn" && $3 == "qemu-7" { print $4 }' \
			"$tmp/$first.rows" | awk -F ' [|] ' '{
				# outcome | MCG_STATUS | bank: MCi_STATUS | ADDR ..., or outcome | note | ...
				if ($2 ~ /^0x/) print $1 ": MCG_STATUS " $2 ", " $3 ", ADDR " $4
				else if ($2 != "" && $2 != "|") print $1 ": " $2
				else print $1 }' | sed 's/ (\([^)]*\))//g; s/ *|$//')
		# The model against the real QEMU, kernel by kernel.
		model_cell="" vs=""
		for k in $KERNELS; do
			mq=$(jq -r --arg s "$sc" '.tests[] | select(.name == $s) | .result' "$tmp/$k.model.json")
			q=$(jq -r --arg s "$sc" '.tests[] | select(.name == $s) | .result' "$tmp/$k.qemu.json")
			if [ "$mq" = pass ] && [ "$q" = pass ]; then
				m_key=$(jq -r --arg s "$sc" ".tests[] | select(.name == \$s) | $KEY" "$tmp/$k.model.json")
				q_key=$(jq -r --arg s "$sc" ".tests[] | select(.name == \$s) | $KEY" "$tmp/$k.qemu.json")
				[ "$m_key" = "$q_key" ] && continue
				vs="$vs DIFFERS on $k: $m_key;"
			elif [ "$mq" = pass ] && [ "$q" = skip ]; then
				continue	# QEMU cannot be driven through it; the model can
			elif [ "$mq" = skip ] && [ "$q" = skip ]; then
				continue
			elif [ "$mq" = skip ] && [ "$sc" = ar-untouched ]; then
				continue	# mcefwd's own RAM has no frame to poison untouched
			else
				vs="$vs DIFFERS on $k: the model's run is $mq, QEMU's $q;"
			fi
		done
		if [ -n "$vs" ]; then
			model_cell="${vs% ;}"
			model_cell="${model_cell# }"
			differs=$((differs + 1))
		else
			case "$(jq -r --arg s "$sc" '.tests[] | select(.name == $s) | .result' "$tmp/$first.model.json"):$(jq -r --arg s "$sc" '.tests[] | select(.name == $s) | .result' "$tmp/$first.qemu.json")" in
			pass:pass) model_cell="same as QEMU" ;;
			pass:*) model_cell="$(jq -r --arg s "$sc" ".tests[] | select(.name == \$s) | $QEMU_CELL" \
				"$tmp/$first.model.json") (QEMU cannot be driven through it)" ;;
			*) model_cell=$(jq -r --arg s "$sc" ".tests[] | select(.name == \$s) | $QEMU_CELL" \
				"$tmp/$first.model.json") ;;
			esac
		fi
		# mcefwd's own model against QEMU, on the first kernel.
		why=""
		if [ "$(jq -r --arg s "$sc" '.tests[] | select(.name == $s) | .result' "$tmp/$first.qemu.json")" = pass ] &&
		   [ -n "$own" ] && [ "${own#skipped}" = "$own" ]; then
			own_key=$(printf '%s\n' "$own" | sed -E 's/^([^: ]*) x[0-9]+:/\1:/; s/^([^:]*): (MCG_STATUS .*)$/\1 \2/; t; s/^([^:]*):.*$/\1/')
			q_key=$(jq -r --arg s "$sc" ".tests[] | select(.name == \$s) | $KEY" "$tmp/$first.qemu.json")
			if [ "$own_key" = "$q_key" ]; then
				why="same"
			elif ! why=$(own_differs "$sc"); then
				why="UNEXPLAINED: $own_key, QEMU $q_key"
				unexplained=$((unexplained + 1))
			fi
		fi
		printf '| %s | %s | %s | %s |' "$sc" "${own:-not run: no pfn row}" \
			"$(printf '%s' "$model_cell" | sed 's/|/\\|/g')" \
			"$(jq -r --arg s "$sc" ".tests[] | select(.name == \$s) | $QEMU_CELL" \
				"$tmp/$first.model91.json" | sed 's/|/\\|/g')"
		for k in $KERNELS; do
			printf ' %s |' "$(jq -r --arg s "$sc" ".tests[] | select(.name == \$s) | $QEMU_CELL" \
				"$tmp/$k.qemu.json" | sed 's/|/\\|/g')"
		done
		printf ' %s | %s |\n' "$(jq -r --arg s "$sc" '.tests[] | select(.name == $s) | .observation.note // ""' \
			"$tmp/$first.qemu.json" | sed 's/|/\\|/g')" "$why"
	done <"$tmp/scenarios"
}

set -- $KERNELS
first=$1
unexplained=0 differs=0
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
	echo "guest-visible-mce: $unexplained row(s) differ with no explanation (UNEXPLAINED)" >&2
	exit 1
fi
if [ $differs -gt 0 ]; then
	echo "guest-visible-mce: $differs scenario(s) where mcefwd --model=qemu-7 and the real QEMU differ (DIFFERS)" >&2
	exit 1
fi
