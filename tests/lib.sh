# SPDX-License-Identifier: MIT
# lib.sh - TAP helpers for the shell tests.  Source it; the test harness
# (Makefile.am's AM_TESTS_ENVIRONMENT) exports GS_BIN, top_srcdir,
# top_builddir, GUARDSTACK_PLUGIN_PATH and GUARDSTACK_CONFDIR.
set -u
: "${GS_BIN:?run through make check}"
: "${top_srcdir:?}"
: "${top_builddir:?}"
: "${GS_WRAP:=}"
STACKS="$top_srcdir/tests/stacks"
_n=0
_failed=0
# A private scratch directory (mode 0700) removed on exit.
T=$(mktemp -d "${TMPDIR:-/tmp}/gs-test.XXXXXX")
chmod 700 "$T"
trap 'rm -rf "$T"' EXIT

_report() { # status name
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $_n - $2"
	else echo "not ok $_n - $2"; _failed=$((_failed + 1)); fi
}
# gs ARGS...: run the CLI (under GS_WRAP when set); stdout in $T/out,
# stderr in $T/err, exit status in $rc.
gs() {
	# shellcheck disable=SC2086
	$GS_WRAP "$GS_BIN" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	# 97: valgrind found errors; 98: a sanitizer did (tests/run.sh sets
	# these).  Either is a failure whatever the test checks next.
	if [ "$rc" -eq 97 ] || [ "$rc" -eq 98 ]; then
		_report 1 "no valgrind or sanitizer report from: guardstack $*"
		sed 's/^/# /' "$T/err"
	fi
	return 0
}
# gsf ARGS...: same with stdin from the file $T/in (a pipe into gs would
# run it in a subshell and lose $rc).
gsf() {
	gs "$@" <"$T/in"
}
# gs_in INPUT ARGS...: same with INPUT on stdin.
gs_in() {
	printf '%s' "$1" >"$T/in"; shift
	gsf "$@"
}
ok() { # ok NAME COMMAND...: passes when COMMAND succeeds
	_name=$1; shift
	if "$@"; then _report 0 "$_name"; else _report 1 "$_name"; fi
}
is() { # is GOT WANT NAME
	if [ "$1" = "$2" ]; then _report 0 "$3"
	else
		_report 1 "$3"
		printf '#   got:  %s\n#   want: %s\n' "$1" "$2"
	fi
}
like() { # like TEXT FIXED-STRING NAME
	case $1 in
	*"$2"*) _report 0 "$3" ;;
	*) _report 1 "$3"; printf '#   %s\n#   lacks: %s\n' "$1" "$2" ;;
	esac
}
unlike() { # unlike TEXT FIXED-STRING NAME
	case $1 in
	*"$2"*) _report 1 "$3"; printf '#   %s\n#   has: %s\n' "$1" "$2" ;;
	*) _report 0 "$3" ;;
	esac
}
out() { cat "$T/out"; }
err() { cat "$T/err"; }
done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}
