#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/fuzz/run.sh [BUILD-DIR] - builds the libFuzzer targets and runs
# each for FUZZ_SECONDS (default 60) with ASan, UBSan and leak detection.
# Fails on any crash, leak, timeout (10 s on one input) or out-of-memory
# (2 GB).  A failing input is left in BUILD-DIR/fuzz/artifacts/; once the
# bug is fixed, copy it to tests/fuzz/TARGET/regressions/, where `make
# check` replays it for good.
#
# BUILD-DIR (default: build-fuzz in the source tree) is configured with
# clang on first use:
#   CC=clang CFLAGS='-g -O1 -fsanitize=address,undefined,fuzzer-no-link
#                    -fno-sanitize-recover=undefined'
# Needs clang and libclang-rt (Debian: clang, libclang-rt-14-dev).
# FUZZ_TARGETS picks targets (default: stack request response jsonl
# ip-diff).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build-fuzz}
secs=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-stack request response jsonl ip-diff}
jobs=$(nproc 2>/dev/null || echo 2)
flags="-g -O1 -fsanitize=address,undefined,fuzzer-no-link"
flags="$flags -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

command -v clang >/dev/null 2>&1 || {
	echo "run.sh: clang not found (apt-get install clang" \
	     "libclang-rt-14-dev)" >&2; exit 1; }
mkdir -p "$build" || exit 1
build=$(cd "$build" && pwd)
if [ ! -f "$build/Makefile" ]; then
	[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi) || exit 1
	(cd "$build" && "$top/configure" --quiet CC=clang CFLAGS="$flags") ||
		exit 1
fi
(cd "$build" && make -j"$jobs" --no-print-directory >/dev/null &&
	make -j"$jobs" --no-print-directory fuzz >/dev/null) || {
	echo "run.sh: building the fuzz targets in $build failed" >&2
	exit 1; }

mkdir -p "$build/fuzz/artifacts"
failed=0
for t in $targets; do
	work=$build/fuzz/corpus/$t
	mkdir -p "$work"
	set -- "$work" "$top/tests/fuzz/$t"
	[ -d "$top/tests/fuzz/$t/regressions" ] &&
		set -- "$@" "$top/tests/fuzz/$t/regressions"
	case $t in stack) dict=stack.dict ;; ip-diff) dict=ip-diff.dict ;;
	*) dict=json.dict ;; esac
	set -- -dict="$top/tests/fuzz/$dict" "$@"
	log=$build/fuzz/$t.log
	start=$(date +%s)
	GUARDSTACK_PLUGIN_PATH="$build/plugins/.libs:$build/tests/plugins/.libs" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"$build/tests/fuzz/fuzz-$t" -max_total_time="$secs" \
		-timeout=10 -rss_limit_mb=2048 -max_len=8192 \
		-print_final_stats=1 \
		-artifact_prefix="$build/fuzz/artifacts/$t-" "$@" \
		>"$log" 2>&1
	rc=$?
	took=$(( $(date +%s) - start ))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
	n=$(find "$work" -type f | wc -l)
	if [ "$rc" -eq 0 ]; then
		echo "fuzz-$t: ok, ${took} s, ${execs:-?} inputs run," \
		     "peak RSS ${rss:-?} MB, corpus $n"
	else
		failed=$((failed + 1))
		echo "fuzz-$t: FAILED (exit $rc) after ${took} s; $log:"
		grep -E 'ERROR|SUMMARY|check failed|Test unit written' \
			"$log" | head -n 10 | sed 's/^/    /'
	fi
done
[ "$failed" -eq 0 ]
