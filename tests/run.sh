#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/run.sh - the whole test suite, as CI runs it:
#   1. make check                      (build/)
#   2. make check under ASan + UBSan   (build-asan/)
#   3. make check-valgrind             (build/, every program under valgrind)
#   4. the example plugin, built out of tree with pkg-config against a
#      staged `make install`, loaded by a stack
#   5. make distcheck (tarball builds, installs, uninstalls cleanly)
#   6. each libFuzzer target for FUZZ_SECONDS (default 30) under ASan+UBSan
#   7. the threaded tests (8 threads x 10,000 calls, key rotation) under
#      ThreadSanitizer
# It ends with one line: "N passed, N failed, N skipped".
# Needs what ./setup.sh installs; run that first.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)
pass=0 fail=0 skip=0
log() { printf '== %s\n' "$*"; }

# Adds up one test-suite.log's counts.
count() {
	f=$1
	if [ ! -f "$f" ]; then
		echo "run.sh: no $f: the suite did not run" >&2
		fail=$((fail + 1))
		return
	fi
	p=$(sed -n 's/^# PASS: *//p' "$f"); s=$(sed -n 's/^# SKIP: *//p' "$f")
	x=$(sed -n 's/^# FAIL: *//p' "$f"); e=$(sed -n 's/^# ERROR: *//p' "$f")
	xp=$(sed -n 's/^# XPASS: *//p' "$f")
	pass=$((pass + ${p:-0})); skip=$((skip + ${s:-0}))
	fail=$((fail + ${x:-0} + ${e:-0} + ${xp:-0}))
	echo "   pass ${p:-0}, fail ${x:-0}, error ${e:-0}, skip ${s:-0}"
}
step() { # NAME COMMAND...: one pass/fail item for a whole step
	name=$1; shift
	if "$@" >"$top/build/step-$name.log" 2>&1; then
		pass=$((pass + 1)); echo "   ok: $name"
	else
		fail=$((fail + 1)); echo "   FAILED: $name (build/step-$name.log):"
		tail -n 30 "$top/build/step-$name.log"
	fi
}
show_failures() {
	grep -E '^(FAIL|ERROR|XPASS):' "$1" 2>/dev/null | head -n 40
}

[ -x configure ] || autoreconf -fi >/dev/null 2>&1 || {
	echo "run.sh: autoreconf failed; run ./setup.sh first" >&2
	echo "0 passed, 1 failed"; exit 1; }

log "1/7 make check"
mkdir -p build
(cd build && { [ -f Makefile ] || ../configure --quiet; } &&
	make -j"$jobs" --no-print-directory >/dev/null &&
	make -j"$jobs" --no-print-directory check >check.out 2>&1)
count build/test-suite.log
show_failures build/test-suite.log

log "2/7 make check with AddressSanitizer + UndefinedBehaviorSanitizer"
mkdir -p build-asan
san="-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
(cd build-asan && { [ -f Makefile ] || ../configure --quiet \
	CC="gcc $san" CFLAGS="-O1 -g"; } &&
	make -j"$jobs" --no-print-directory >/dev/null &&
	ASAN_OPTIONS=exitcode=98:detect_leaks=1 \
	UBSAN_OPTIONS=exitcode=98:print_stacktrace=1:halt_on_error=1 \
	GS_PASS=asan make -j"$jobs" --no-print-directory check \
		>check.out 2>&1)
count build-asan/test-suite.log
show_failures build-asan/test-suite.log

log "3/7 make check-valgrind"
(cd build && GUARDSTACK_NO_DLCLOSE=1 GUARDSTACK_NO_JIT=1 GS_PASS=valgrind \
	make -j"$jobs" --no-print-directory check-valgrind \
		>check-valgrind.out 2>&1)
count build/test-suite.log
show_failures build/test-suite.log

log "4/7 example plugin, out of tree, against the installed headers"
step example-plugin sh tests/example-plugin.sh "$top/build"

log "5/7 make distcheck"
step distcheck make -C build --no-print-directory distcheck \
	TESTS="tests/unit/test-api tests/cli/check.sh tests/cli/control.sh"

log "6/7 fuzzing: every target for ${FUZZ_SECONDS:-30} s"
step fuzz env FUZZ_SECONDS="${FUZZ_SECONDS:-30}" sh tests/fuzz/run.sh \
	"$top/build-fuzz"

log "7/7 ThreadSanitizer: one stack shared by 8 threads"
step tsan sh tests/tsan.sh "$top/build-tsan"

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
