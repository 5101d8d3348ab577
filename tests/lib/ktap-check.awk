# SPDX-License-Identifier: GPL-2.0-only
#
# A strict reader of one KTAP document (Documentation/dev-tools/ktap.rst in
# Linux), such as `make check` prints: it says what is wrong with it and
# counts its tests. POSIX awk.
#
#   awk -f tests/lib/ktap-check.awk FILE
#
# Checks:
#   - the first line is "KTAP version 1", the top level's plan comes before
#     its first result and holds
#   - a subtest opens with "KTAP version 1", indented 4 spaces more than its
#     parent; its plan, if it has one, comes before its results; its
#     "# Subtest: NAME", if any, names the result that closes it; a subtest
#     that passed ran something, as many tests as it planned, and none of
#     them failed
#   - results are numbered 1, 2, ... at each level; a description has no
#     '#'; after " # ", SKIP (upper case) on an "ok" line is the only
#     directive: "not ok ... # SKIP", TODO or a lower-case skip, which TAP
#     readers take differently, are refused; anything else there is the
#     test's diagnostic
#   - every other line is a "#" diagnostic, no deeper than the open subtest,
#     but the last, which may be "N passed, N failed, N skipped": then those
#     are the counts
# Counts: a test with no subtests as its result says (pass, fail, skip); a
# subtest that failed when none of its tests did, as one failure (what
# Linux's kunit_parser.py does). Prints "P F S" then "top P F S" (the top
# level's own results) on standard output, every fault on standard error;
# status 1 if there was one.

function fault(msg) {
	printf "ktap-check: line %d: %s: %s\n", NR, msg, $0 >"/dev/stderr"
	faults++
}

function mark_bad(    k) {
	for (k = 1; k <= depth; k++)
		bad[k] = 1
}

function count(status) {
	if (status == "skip")
		skipped++
	else if (status == "fail") {
		failed++
		mark_bad()
	} else
		passed++
}

BEGIN {
	depth = 0
	faults = passed = failed = skipped = 0
	top_p = top_f = top_s = 0
	summary = 0
}

NR == 1 {
	if ($0 != "KTAP version 1")
		fault("the document does not begin with \"KTAP version 1\"")
	num[0] = 0
	plan[0] = ""
	next
}

summary {
	fault("a line after the totals")
	summary = 0
}

{
	match($0, /^ */)
	ind = RLENGTH
	body = substr($0, ind + 1)
	if (ind % 4 != 0) {
		fault("indented by " ind " spaces, not a multiple of 4")
		next
	}
	d = ind / 4
	opened = just_opened
	just_opened = 0
}

body ~ /^(K?TAP) version/ {
	if (body != "KTAP version 1")
		fault("not \"KTAP version 1\"")
	else if (d != depth + 1)
		fault("a subtest opens 4 spaces deeper than the level it is in")
	else {
		depth = d
		num[d] = 0
		plan[d] = ""
		name[d] = ""
		bad[d] = 0
		just_opened = 1
	}
	next
}

body ~ /^#/ {
	if (d > depth)
		fault("a diagnostic deeper than the open subtest")
	else if (opened && d == depth && body ~ /^# Subtest: /)
		name[d] = substr(body, 12)
	if (d == depth && opened)
		just_opened = 1
	next
}

body ~ /^1\.\./ {
	if (body !~ /^1\.\.[0-9]+$/)
		fault("a plan is 1..N and nothing else")
	else if (d != depth)
		fault("a plan outside the level it plans")
	else if (plan[d] != "")
		fault("a second plan")
	else if (num[d] > 0)
		fault("the plan after results: it comes first, or not at all")
	else
		plan[d] = substr(body, 4) + 0
	next
}

body ~ /^(not )?ok / {
	if (body !~ /^(not )?ok [1-9][0-9]*( |$)/) {
		fault("a result without its number")
		next
	}
	rest = body
	fail = sub(/^not ok /, "", rest)
	if (!fail)
		sub(/^ok /, "", rest)
	n = rest
	sub(/ .*/, "", n)
	rest = substr(rest, length(n) + 2)
	desc = rest
	dir = ""
	if (index(rest, " # ")) {
		desc = substr(rest, 1, index(rest, " # ") - 1)
		dir = substr(rest, index(rest, " # ") + 3)
	} else if (rest ~ /^# /) {
		desc = ""
		dir = substr(rest, 3)
	}
	if (index(desc, "#"))
		fault("a '#' in the description")
	status = fail ? "fail" : "pass"
	if (dir ~ /^SKIP( |$)/) {
		if (fail)
			fault("\"not ok ... # SKIP\": a TAP reader counts it a failure, KTAP a skip")
		status = "skip"
	} else if (dir ~ /^[Ss][Kk][Ii][Pp]/ || dir ~ /^[Tt][Oo][Dd][Oo]/)
		fault("a directive KTAP does not take: " dir)
	sub(/^- /, "", desc)

	if (d == depth - 1) {
		# The result of the subtest open above it.
		# A plan that did not hold is the subtest's failure (its runner
		# ended early), not a fault of the document, unless it passed.
		if (plan[depth] != "" && plan[depth] != num[depth] && status != "fail")
			fault("ok, but it planned " plan[depth] " tests and ran " num[depth])
		if (name[depth] != "" && name[depth] != desc)
			fault("the subtest was \"" name[depth] "\", its result names \"" desc "\"")
		ran = num[depth]
		was_bad = bad[depth]
		depth--
		if (ran == 0)
			count(status)
		else if (status == "fail" && !was_bad)
			count("fail")
		else if (status == "pass" && was_bad)
			fault("ok, but a test in it failed")
		if (status == "pass" && ran == 0)
			fault("ok, but it ran nothing")
		if (was_bad)
			mark_bad()
	} else if (d == depth) {
		count(status)
	} else {
		fault("a result at no open level")
		next
	}
	if (n != num[d] + 1)
		fault("number " n ", expected " (num[d] + 1))
	num[d] = n + 0
	if (d == 0) {
		if (status == "skip")
			top_s++
		else if (status == "fail")
			top_f++
		else
			top_p++
	}
	next
}

body ~ /^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ && d == 0 {
	summary = 1
	split(body, w, " ")
	sum_p = w[1] + 0
	sum_f = w[3] + 0
	sum_s = w[5] + 0
	next
}

{
	fault("not KTAP: a diagnostic starts with '#'")
}

END {
	if (NR == 0) {
		print "ktap-check: empty" >"/dev/stderr"
		exit 1
	}
	if (depth > 0)
		fault("the document ends inside a subtest")
	if (plan[0] == "")
		fault("the document has no plan")
	else if (plan[0] != num[0])
		fault("the document planned " plan[0] " tests and ran " num[0])
	if (summary && (sum_p != passed || sum_f != failed || sum_s != skipped))
		fault("the totals say " sum_p "/" sum_f "/" sum_s ", the tests " passed "/" failed "/" skipped)
	print passed, failed, skipped
	print "top", top_p, top_f, top_s
	exit (faults > 0 ? 1 : 0)
}
