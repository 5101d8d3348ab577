#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The folders of mcefwd/ are layers (docs/design.md): a file includes only
# its own folder and the folders below it, so each layer builds and tests
# without the ones above. One TAP test per folder; a "not ok" names the
# include that climbs.
#
#   tests/layers.sh            (from the top of the source tree)
set -u

# Bottom to top; "bench lab" share a rank (neither includes the other).
ranks="util:1 inject:2 mce:3 vmm:4 scenario:5 qemu:6 cli:7 bench:8 lab:8 main:9"

rank() {
	for r in $ranks; do
		[ "${r%%:*}" = "$1" ] && { echo "${r#*:}"; return; }
	done
	echo 0
}

# folder of a path: mcefwd/X/... -> X, inject/... -> inject, mcefwd/main.c -> main
folder() {
	case $1 in
	mcefwd/main.c) echo main ;;
	mcefwd/*/*) f=${1#mcefwd/}; echo "${f%%/*}" ;;
	inject/*) echo inject ;;
	*) echo other ;;
	esac
}

layers="util inject mce vmm scenario qemu cli bench lab main"
# shellcheck disable=SC2086
echo "1..$(set -- $layers; echo $#)"
n=0 failed=0
for layer in $layers; do
	n=$((n + 1))
	mine=$(rank "$layer")
	bad=""
	if [ "$layer" = main ]; then
		files=mcefwd/main.c
	elif [ "$layer" = inject ]; then
		files=$(ls inject/*.c inject/*.h)
	else
		files=$(find "mcefwd/$layer" -name '*.[ch]' | sort)
	fi
	[ -n "$files" ] || { echo "not ok $n - $layer: no source files found"; failed=$((failed + 1)); continue; }
	for f in $files; do
		for inc in $(sed -n 's/^#include "\(\(mcefwd\|inject\)\/[^"]*\)".*/\1/p' "$f"); do
			to=$(folder "$inc")
			[ "$to" = "$layer" ] && continue
			r=$(rank "$to")
			if [ "$r" -ge "$mine" ]; then
				bad="$bad $f:$inc"
			fi
		done
	done
	if [ -z "$bad" ]; then
		echo "ok $n - $layer includes only the layers below it"
	else
		echo "not ok $n - $layer includes a layer at or above its own"
		for b in $bad; do echo "#   $b"; done
		failed=$((failed + 1))
	fi
done
[ "$failed" -eq 0 ]
