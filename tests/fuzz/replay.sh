#!/bin/sh
# SPDX-License-Identifier: MIT
# Replays every fuzz target's seed corpus and regression inputs through
# the target's own entry point, built without libFuzzer (replay.c), so
# the plain, ASan and valgrind passes of `make check` run them all.  A
# failed check in a target aborts it: that is a failure here.
. "$top_srcdir/tests/lib.sh"

for t in stack request response jsonl ip-diff; do
	dirs="$top_srcdir/tests/fuzz/$t"
	[ -d "$top_srcdir/tests/fuzz/$t/regressions" ] &&
		dirs="$dirs $top_srcdir/tests/fuzz/$t/regressions"
	# shellcheck disable=SC2086
	$GS_WRAP "$top_builddir/tests/fuzz/replay-$t" $dirs >"$T/out" 2>"$T/err"
	rc=$?
	is "$rc" 0 "$t: every seed and regression input replays cleanly"
	[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/err" | tail -n 30
	n=$(sed -n 's/^ok [0-9]* - .*: \([0-9]*\) inputs$/\1/p' "$T/out" |
		awk '{ s += $1 } END { print s + 0 }')
	ok "$t: replayed $n inputs" test "$n" -gt 0
done

done_testing
