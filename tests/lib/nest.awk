# SPDX-License-Identifier: GPL-2.0-only
#
# One runner's output, as it comes, made a subtest of run-all's KTAP
# document (tests/run-all.sh has printed its "KTAP version 1" and
# "# Subtest: NAME" already):
#   - every line indented 4 more; the runner's own first version line dropped
#   - a skip is "ok N ... # SKIP reason" (cmocka writes "not ok N # SKIP name",
#     which TAP readers such as prove count as a failure), its reason the
#     "skip: ..." line cmocka printed before it
#   - a plan after the results (tap_done's, for a runner that could not count
#     up front) dropped: KTAP has the plan first or not at all
#   - a description without "#"
#   - whatever is not KTAP (valgrind's reports, a program's text, a line out
#     of place) a "#" comment at the indentation of where it stands
#   - a subtest the runner left open closed, not ok
# and counted: tests without subtests, and a "not ok" subtest none of whose
# tests failed, once (as Linux's kunit_parser.py counts).
#
#   awk -f nest.awk -v doc=FILE -v counts=FILE -v fails=FILE -v why=FILE \
#       -v name=SECTION -v status=TEXT
# doc: where each line is appended too; counts: "passed failed skipped
# results plan late_plan errors" at the end (results and plans at the
# runner's own level); fails: one line per failed test; why: the reason of
# a lab that cannot run here. status, when not empty: on a terminal, a
# progress line kept under the output ("[3/40]"), erased at the end.

function put(l) {
	if (status != "" && shown)
		printf "\r\033[K"
	shown = 0
	print "    " l
	print "    " l >>doc
	fflush()
	fflush(doc)
}

function show() {
	if (status == "")
		return
	printf "%s %s: %d passed, %d failed, %d skipped", status, name, passed, failed, skipped
	shown = 1
	fflush()
}

function pad(d,    s) {
	s = ""
	while (d-- > 0)
		s = s "    "
	return s
}

# A line that is no KTAP of the runner's, as a comment where it stands.
function quote(l) {
	put(pad(depth) (l == "" ? "#" : "# " l))
}

function path(    p, k) {
	p = name
	for (k = 1; k <= depth; k++)
		p = p ": " sub_name[k]
	return p
}

function fail_here(l,    k) {
	for (k = 1; k <= depth; k++)
		bad[k] = 1
	print path() ": " l >>fails
	fflush(fails)
}

# A description loses its '#', which would open a directive (tap.sh and
# mcefwd/util/ktap.c write none).
function clean(l,    i, head) {
	i = index(l, " # ")
	head = i ? substr(l, 1, i - 1) : l
	gsub(/#/, "", head)
	return head (i ? substr(l, i) : "")
}

function is_skip(l) {
	return l ~ / # [Ss][Kk][Ii][Pp]([^A-Za-z]|$)/
}

BEGIN {
	depth = 0
	shown = 0
	results = passed = failed = skipped = errors = 0
	plan = late = ""
	seen = 0
	num[0] = 0
	skip_why = ""
}

{
	sub(/\r$/, "")
	line = $0
	match(line, /^ */)
	ind = RLENGTH
	body = substr(line, ind + 1)
	if (ind % 4 != 0) {
		quote(line)
		next
	}
	d = ind / 4
}

body ~ /^(KTAP|TAP) version [0-9]+$/ {
	if (d == 0 && !seen && depth == 0) {
		seen = 1
		next
	}
	if (d == depth + 1) {
		depth = d
		bad[d] = 0
		num[d] = 0
		sub_name[d] = "?"
		put(line)
		next
	}
	quote(line)
	errors++
	next
}

body ~ /^# Subtest: / && d == depth && d > 0 {
	sub_name[d] = substr(body, 12)
	put(line)
	next
}

body ~ /^1\.\.[0-9]+/ {
	if (d != depth) {
		quote(line)
		errors++
		next
	}
	if (d == 0) {
		seen = 1
		n = body
		sub(/^1\.\./, "", n)
		sub(/[^0-9].*/, "", n)
		if (results == 0 && plan == "") {
			plan = n + 0
		} else {
			late = n + 0
			next
		}
	}
	put(line)
	next
}

body ~ /^(not )?ok [0-9]+/ {
	if (d == depth - 1) {
		# The result of the subtest that was open: no leaf of its own.
		was_bad = bad[depth]
		depth--
		num[d]++
		if (d == 0) {
			results++
			seen = 1
		}
		if (body ~ /^not ok/ && !is_skip(body)) {
			if (!was_bad) {
				failed++
				fail_here(body)
			}
		} else if (was_bad) {
			errors++
			quote("the subtest above failed, its result does not say so")
		}
		put(line)
		show()
		next
	}
	if (d != depth) {
		quote(line)
		errors++
		next
	}
	if (body ~ /^not ok [0-9]+ # SKIP/) {
		# cmocka: "not ok N # SKIP name"
		n = body
		sub(/^not ok /, "", n)
		sub(/ .*/, "", n)
		t = body
		sub(/^not ok [0-9]+ # SKIP ?/, "", t)
		body = "ok " n " - " t " # SKIP " (skip_why != "" ? skip_why : "no reason given")
	} else if (is_skip(body)) {
		# One spelling, which every reader takes for a skip.
		sub(/^not ok/, "ok", body)
		sub(/ # [Ss][Kk][Ii][Pp]/, " # SKIP", body)
	}
	skip_why = ""
	body = clean(body)
	num[d]++
	if (d == 0) {
		results++
		seen = 1
	}
	if (is_skip(body))
		skipped++
	else if (body ~ /^not ok/) {
		failed++
		fail_here(body)
	} else
		passed++
	put(pad(d) body)
	show()
	next
}

body ~ /^#/ {
	put(line)
	next
}

{
	# cmocka prints a skip's reason on a line of its own, before it.
	if (line ~ /^skip: /)
		skip_why = substr(line, 7)
	if (why != "" && line ~ /^mcefwd lab: cannot run here: / && !why_seen) {
		print substr(line, 30) >why
		why_seen = 1
	}
	quote(line)
}

END {
	# A subtest left open (the runner died in it): closed, not ok.
	while (depth > 0) {
		was_bad = bad[depth]
		nm = sub_name[depth]
		depth--
		num[depth]++
		if (depth == 0)
			results++
		l = "not ok " num[depth] " " nm " # ended without its result"
		if (!was_bad) {
			failed++
			fail_here(l)
		}
		put(pad(depth) l)
		errors++
	}
	if (status != "" && shown)
		printf "\r\033[K"
	printf "%d %d %d %d %s %s %d\n", passed, failed, skipped, results,
		plan == "" ? "-" : plan, late == "" ? "-" : late, errors >counts
}
