# SPDX-License-Identifier: MIT
# fake.sh - sourced by the upstream tests after tests/lib.sh: starts
# fake-mistral on loopback and helps read what it received.
#
#   fake_start         starts it; sets FAKE (http://127.0.0.1:PORT) and
#                      FAKE_LOG; it is killed when the test exits
#   fake_get FIELD     FIELD of every request logged so far, one a line
#   fake_count         requests logged so far
#   fake_mark          remembers the count; fake_new FIELD then prints
#                      FIELD of the requests since the mark only
#   canary             prints a fresh canary key: sk-CANARY-<16 hex>
#   no_leak KEY NAME   passes when KEY is in no output of any gs call so
#                      far (all are kept in $T/all) nor in the files given
JSONQ="$top_builddir/tests/tools/gs-jsonq"
FAKE_BIN="$top_builddir/tests/fake-mistral/fake-mistral"
# A proxy from the environment must not see loopback test traffic.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY \
	no_proxy NO_PROXY MISTRAL_API_KEY GOOGLE_OAUTH_ACCESS_TOKEN
FAKE_MARK=0

fake_start() {
	FAKE_LOG="$T/requests.log"
	: >"$FAKE_LOG"
	"$FAKE_BIN" --port-file "$T/port" --log "$FAKE_LOG" --lifetime 300 &
	FAKE_PID=$!
	trap 'kill "$FAKE_PID" 2>/dev/null; rm -rf "$T"' EXIT
	_i=0
	while [ ! -s "$T/port" ] && [ "$_i" -lt 200 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	if [ ! -s "$T/port" ]; then
		echo "Bail out! fake-mistral did not start"
		exit 1
	fi
	FAKE="http://127.0.0.1:$(cat "$T/port")"
}
fake_get() { "$JSONQ" get "$1" <"$FAKE_LOG"; }
fake_count() { wc -l <"$FAKE_LOG" | tr -d ' '; }
fake_mark() { FAKE_MARK=$(fake_count); }
fake_new() { tail -n +"$((FAKE_MARK + 1))" "$FAKE_LOG" | "$JSONQ" get "$1"; }
canary() {
	printf 'sk-CANARY-%s' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
}
# up_stack NAME SCRIPT [KEY = VALUE lines]: a stack file $T/NAME.ini whose
# [upstream] points at the fake server with the given script.
up_stack() {
	_fn=$1 _fs=$2
	shift 2
	{
		printf '[upstream]\nurl = %s/%s/v1/chat/completions\n' \
			"$FAKE" "$_fs"
		for _l in "$@"; do printf '%s\n' "$_l"; done
	} >"$T/$_fn.ini"
}
# gs as in lib.sh, also keeping every output in $T/all.
gs() {
	# shellcheck disable=SC2086
	$GS_WRAP "$GS_BIN" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq 97 ]; then
		echo "# valgrind reported errors for: guardstack $*" >&2
		cat "$T/err" >&2
	fi
	cat "$T/out" "$T/err" >>"$T/all"
	return 0
}
no_leak() { # no_leak KEY NAME [FILES...]
	_fk=$1 _fname=$2
	shift 2
	if grep -rqF -e "$_fk" "$T/all" "$@" 2>/dev/null; then
		_report 1 "$_fname"
		grep -rnF -e "$_fk" "$T/all" "$@" | sed 's/^/#   /' | head -5
	else
		_report 0 "$_fname"
	fi
}
