#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Builds the libFuzzer targets tests/fuzz/fuzz_*.c with clang (ASan + UBSan,
# every library object instrumented too) into $FUZZ_B, then runs each for
# FUZZ_TIME seconds, starting from the seeds in tests/fuzz/corpus/NAME (new
# inputs go to $FUZZ_B/corpus/NAME, never into the tree). A crash, leak,
# timeout or sanitizer report fails the target; the input that did it is
# kept in $FUZZ_B/crashes/NAME/ and named in the output. TAP output.
#
#   B=build FUZZ_TIME=20 tests/fuzz/run.sh [NAME...]     NAME: loader, cli, ...
set -u

B=${B:-build}
FUZZ_B=${FUZZ_B:-$B/fuzz}
FUZZ_TIME=${FUZZ_TIME:-20}
CLANG=${CLANG:-clang}
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

if ! command -v "$CLANG" >/dev/null 2>&1; then
	skip "fuzz" "$CLANG is not installed (apt-get install clang)"
	tap_done
	exit
fi

targets=${*:-$(ls tests/fuzz/fuzz_*.c | sed 's,.*/fuzz_,,; s,\.c$,,')}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CFLAGS="-g -O1 -std=gnu11 -D_GNU_SOURCE -pthread -I. -Iguest-payloads \
-Wall -Wextra -Wno-unused-parameter $SAN -fno-omit-frame-pointer"
log="$FUZZ_B/build.log"
mkdir -p "$FUZZ_B/obj" "$FUZZ_B/bin"
: >"$log"

# The library, instrumented for coverage (fuzzer-no-link), as an archive:
# each target pulls in only the objects it uses.
build_lib() {
	objs=""
	for src in mcefwd/*/*.c inject/*.c; do
		case $src in */main.c) continue ;; esac
		obj="$FUZZ_B/obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')"
		if [ ! -e "$obj" ] || [ "$src" -nt "$obj" ] ||
		   [ -n "$(find mcefwd inject guest-payloads/abi.h -name '*.h' -newer "$obj")" ]; then
			# shellcheck disable=SC2086
			$CLANG $CFLAGS -fsanitize=fuzzer-no-link -c -o "$obj" "$src" >>"$log" 2>&1 ||
				return 1
		fi
		objs="$objs $obj"
	done
	# payload.c and bench_payload.c name the payloads the GNUmakefile
	# embeds; none are needed here: empty tables.
	printf '%s\n' '.section .data.rel.ro,"aw"' '.balign 8' \
		'.globl payload_blobs, bench_payload_blobs' \
		'payload_blobs: .quad 0, 0, 0' 'bench_payload_blobs: .quad 0, 0, 0' \
		'.section .note.GNU-stack,"",@progbits' \
		>"$FUZZ_B/obj/no-payloads.S"
	$CLANG -c -o "$FUZZ_B/obj/no-payloads.o" "$FUZZ_B/obj/no-payloads.S" >>"$log" 2>&1 ||
		return 1
	rm -f "$FUZZ_B/libmcefwd-fuzz.a"
	# shellcheck disable=SC2086
	ar rcs "$FUZZ_B/libmcefwd-fuzz.a" $objs "$FUZZ_B/obj/no-payloads.o"
}

if ! build_lib; then
	tail -30 "$log" >"$log.tail"
	not_ok "fuzz: build the instrumented library" "$log.tail"
	tap_done
	exit
fi

for t in $targets; do
	bin="$FUZZ_B/bin/fuzz_$t"
	seeds="tests/fuzz/corpus/$t"
	work="$FUZZ_B/corpus/$t"
	crashes="$FUZZ_B/crashes/$t"
	out="$FUZZ_B/fuzz_$t.log"

	# shellcheck disable=SC2086
	if ! $CLANG $CFLAGS -fsanitize=fuzzer -o "$bin" "tests/fuzz/fuzz_$t.c" \
		"$FUZZ_B/libmcefwd-fuzz.a" -lcap -lnuma >"$out" 2>&1; then
		tail -30 "$out" >"$out.tail"
		not_ok "fuzz_$t: builds" "$out.tail"
		continue
	fi
	mkdir -p "$work" "$crashes"
	[ -d "$seeds" ] || seeds=""
	# -timeout: one input taking 10 s is a hang; the outer timeout bounds
	# the whole run should libFuzzer itself get stuck.
	# shellcheck disable=SC2086
	timeout -k 10 $((FUZZ_TIME + 60)) "$bin" -max_total_time="$FUZZ_TIME" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" \
		"$work" $seeds >"$out" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out")
	if [ "$rc" -eq 0 ]; then
		ok "fuzz_$t: ${runs:-?} inputs in ${FUZZ_TIME}s, no crash ($(ls "$work" | wc -l) in corpus)"
	else
		{
			grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|    #[0-9]+ )' "$out" |
				head -20
			ls "$crashes" | sed 's/^/kept: /'
		} >"$out.why"
		not_ok "fuzz_$t: exit $rc after ${runs:-?} inputs; input kept in $crashes/" "$out.why"
	fi
done
tap_done
