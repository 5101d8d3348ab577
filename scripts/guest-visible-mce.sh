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
#   B=build scripts/guest-visible-mce.sh > docs/guest-visible-mce.md
#   KERNELS="6.1 6.12" (default), MATRIX_MD=DIR: take K.md from DIR instead
#   of running the matrix (tests)
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
