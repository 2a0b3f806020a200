#!/bin/sh
# SPDX-License-Identifier: MIT
# The secrets sweep: a canary API key and canary content through every
# path of the CLI (run: success, -v, --json, a key file, each upstream
# error kind; check; audit; filter; --jsonl; rejections), with two
# loggers, one writing a file and one stderr.  Afterwards the key must be
# in no output (stdout or stderr of any call) and in no file under the
# test's directory but the fake server's request log and the key file;
# the content must be in no logger line, file or stderr.  Core dumps
# while a key is in memory: see upstream-keys.sh, which reads the limits
# of the `run` process.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fake-mistral/fake.sh"
fake_start
KEY=$(canary)
MISTRAL_API_KEY=$KEY
export MISTRAL_API_KEY
CONTENT="canary-content-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n' |
	tr 0-9a-f g-v)"
# up NAME SCRIPT [LINES...]: a stack with redaction, a file logger and a
# stderr logger, whose upstream is the fake server with SCRIPT.
up() {
	_un=$1 _us=$2
	shift 2
	up_stack "$_un" "$_us" 'retries = 1' 'backoff_ms = 10' 'timeout = 1' \
		"$@" '[ssn-redact]' 'phase = both' '[email-redact]' \
		'phase = both' '[logger]' 'file = calls.log' '[errlog]' \
		'module = logger' 'stderr = yes'
}
# Each call's stderr is kept apart too: content may be in stdout (it is
# the answer) but never in stderr.
n=0
keep_err() { n=$((n + 1)); cp "$T/err" "$T/stderr.$n"; }

# run: success, in every output form.
up ok ok
gs run -s "$T/ok.ini" "say $CONTENT"; keep_err
is "$rc/$(out)" "0/echo: say $CONTENT" "run: success"
gs run -v -s "$T/ok.ini" "say $CONTENT"; keep_err
is "$rc" 0 "run -v: success"
gs run --json -s "$T/ok.ini" <<EOF
{"model":"m","messages":[{"role":"user","content":"say $CONTENT"}]}
EOF
keep_err
is "$rc" 0 "run --json: success"
printf 'say %s\n' "$CONTENT" >"$T/prompt"
gs run -s "$T/ok.ini" - <"$T/prompt"; keep_err
is "$rc" 0 "run - (prompt on stdin): success"

# run: every kind of upstream failure.
for kind in 401 403 429 500 503 502html 400 422 slow3 badjson notchat \
	text trunc reset resetmid drip echoauth; do
	up "e$kind" "$kind"
	gs run -v -s "$T/e$kind.ini" "say $CONTENT"; keep_err
	is "$rc" 3 "run, upstream $kind: exit 3"
done
up bigans big64 'max_response_bytes = 4096'
gs run -s "$T/bigans.ini" "say $CONTENT"; keep_err
is "$rc" 3 "run, oversized answer: exit 3"
printf '[upstream]\nurl = http://127.0.0.1:1/v1\nretries = 0\n' \
	>"$T/refused.ini"
gs run -s "$T/refused.ini" "say $CONTENT"; keep_err
is "$rc" 3 "run, connection refused: exit 3"
# Two keys, the first refused: the second answers.
SECOND=$(canary)
BADKEY="sk-BAD-$(canary)"
export SECOND BADKEY
up two ok 'keys = env:BADKEY, env:SECOND'
gs run -v -s "$T/two.ini" "say $CONTENT"; keep_err
is "$rc/$(out)" "0/echo: say $CONTENT" "run: a refused key, then the next"

# check prints the stack resolved; filter and --jsonl never need a key.
gs check -s "$T/ok.ini"; keep_err
is "$rc" 0 "check"
gs check -s "$T/two.ini"; keep_err
is "$rc" 0 "check, two key sources"
printf 'mail %s at me@example.com\n' "$CONTENT" >"$T/in"
gs filter -s "$T/ok.ini" <"$T/in"; keep_err
is "$rc/$(out)" "0/mail $CONTENT at [EMAIL]" "filter"
gs filter -s "$T/ok.ini" -p response <"$T/in"; keep_err
is "$rc" 0 "filter -p response"
printf '{"text":"a %s"}\n{"text":"ssn 123-45-6789 %s"}\n' "$CONTENT" \
	"$CONTENT" >"$T/in.jsonl"
gs filter --jsonl -s "$T/ok.ini" <"$T/in.jsonl"; keep_err
is "$rc/$(out | wc -l | tr -d ' ')" "0/2" "filter --jsonl: two lines"
gs filter --json -s "$T/ok.ini" <<EOF
{"messages":[{"role":"user","content":"$CONTENT"}]}
EOF
keep_err
is "$rc" 0 "filter --json"

# The key from a file (kept apart: that file is meant to hold it).
mkdir "$T/keys"
printf '%s\n' "$KEY" >"$T/keys/key.txt"
chmod 600 "$T/keys/key.txt"
up kfile ok 'keys = file:keys/key.txt'
gs run -v -s "$T/kfile.ini" "say $CONTENT"; keep_err
is "$rc/$(out)" "0/echo: say $CONTENT" "run: key from a file"

# audit reads the stacks, resolves the key sources and looks for
# key-shaped values written in stack files: it must name, never show.
LITERAL=$(canary)
up lit ok "[note]" "module = email-redact" "replacement = $LITERAL"
for s in ok two kfile lit; do
	gs audit -s "$T/$s.ini"; keep_err
	ok "audit $s: exit 0 or 1 (rc $rc)" test "$rc" -le 1
	gs audit --json -s "$T/$s.ini"; keep_err
	ok "audit --json $s: exit 0 or 1 (rc $rc)" test "$rc" -le 1
done
like "$(out)" '"key-literal":{"status":"fail"' \
	"audit: the key written in a stack file is found"
no_leak "$LITERAL" "audit: ... and not shown"

# A rejection, and a malformed input.
cat >"$T/rej.ini" <<'EOF'
[length-limit]
max = 5
action = reject
[logger]
file = calls.log
[errlog]
module = logger
stderr = yes
EOF
gs filter -s "$T/rej.ini" <"$T/in"; keep_err
is "$rc" 1 "filter: rejected"
gs filter --json -s "$T/ok.ini" <<EOF
{"messages":[{"role":"user","content":"$CONTENT"
EOF
keep_err
is "$rc" 4 "filter --json: malformed input"

# The sweep.
lines=$(cat "$T/calls.log" | wc -l | tr -d ' ')
ok "the file logger wrote a line per call ($lines)" test "$lines" -ge 25
no_leak "$KEY" "the key is in no output"
no_leak "$SECOND" "the second key is in no output"
no_leak "$BADKEY" "the refused key is in no output"
files=$(find "$T" -type f ! -name requests.log ! -name all \
	! -path "$T/keys/*")
# shellcheck disable=SC2086
no_leak "$KEY" "the key is in no file written (logs, stacks, outputs)" \
	$files
# shellcheck disable=SC2086
no_leak "$SECOND" "nor the second key" $files
if grep -qF -e "$CONTENT" "$T/calls.log" "$T"/stderr.*; then
	_report 1 "the content is in no log line and no stderr"
	grep -nF -e "$CONTENT" "$T/calls.log" "$T"/stderr.* |
		sed 's/^/#   /' | head -5
else
	_report 0 "the content is in no log line and no stderr"
fi
like "$(cat "$T"/stderr.*)" '"outcome":' "(the stderr logger did write)"
done_testing
