# SPDX-License-Identifier: MIT
# logger: every JSON field, no content and no key in the log, the file's
# mode and safety checks, concurrent writers, the stderr and syslog sinks.
. "$top_srcdir/tests/lib.sh"
JQ="$top_builddir/tests/tools/gs-jsonq"
LOG="$T/calls.log"
field() { "$JQ" get "$1" <"$T/line"; } # field PATH: of the line in $T/line
line() { sed -n "${1}p" "$LOG" >"$T/line"; }

# The stacks name their log relative to themselves: run copies from $T.
for s in file reject stderr syslog; do
	cp "$STACKS/logger-$s.ini" "$T/"
done
FILE_STACK="$T/logger-file.ini"
REJECT_STACK="$T/logger-reject.ini"

# Canaries: a unique string in the content and a key-shaped string in the
# environment.  Neither may reach the log.
CANARY="canary-content-$$-7f3e9b21"
KEY="sk-CANARY$$x9d8f7e6c5b4a39281706f5e4d3c2b1a0"
export MISTRAL_API_KEY="$KEY" OPENAI_API_KEY="$KEY" GUARDSTACK_API_KEY="$KEY"

# ---- the file: created 0600, whatever the umask ---------------------------
(umask 000; gs check -s "$FILE_STACK"; echo "$rc" >"$T/rc")
is "$(cat "$T/rc")" 0 "file: stack loads"
is "$(stat -c %a "$LOG")" 600 "file: created 0600 under umask 000"
is "$(wc -c <"$LOG" | tr -d ' ')" 0 "file: check alone logs nothing"

# ---- one passing call, one rejected: every field -------------------------
gs_in "héllo $CANARY" filter -s "$FILE_STACK"
is "$rc" 0 "pass: exit 0"
gs_in "$CANARY again" filter -s "$REJECT_STACK"
is "$rc" 1 "reject: exit 1"
is "$(wc -l <"$LOG" | tr -d ' ')" 2 "two calls, two lines"
is "$("$JQ" check <"$LOG")" 2 "both lines are JSON objects"

line 1
is "$("$JQ" keys <"$T/line")" \
	"time,stack,call_id,outcome,messages,input_chars,latency_ms,filters" \
	"pass: exactly these keys (unknown values left out)"
ok "pass: time is UTC RFC 3339 with milliseconds" grep -Eq \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$' \
	<<EOF
$(field time)
EOF
is "$(field stack)" "$FILE_STACK" "pass: stack"
ok "pass: call_id is 16 hex digits" grep -Eq '^[0-9a-f]{16}$' <<EOF
$(field call_id)
EOF
is "$(field outcome)" "modified" "pass: outcome"
is "$(field messages)" 1 "pass: messages"
# input_chars counts code points of the request as forwarded: the template
# (38) plus "héllo " (6) plus the canary.
is "$(field input_chars)" "$((38 + 6 + ${#CANARY}))" "pass: input_chars"
ok "pass: latency_ms is a non-negative number" grep -Eq \
	'^[0-9]+(\.[0-9]+)?$' <<EOF
$(field latency_ms)
EOF
is "$(field filters.0.name)" "prompt-wrap" "pass: filters[0].name"
is "$(field filters.0.module)" "prompt-wrap" "pass: filters[0].module"
is "$(field filters.0.verdict)" "modified" "pass: filters[0].verdict"
is "$(field filters.0.count)" 1 "pass: filters[0].count"
is "$(field filters.1.name)" "allow" "pass: filters[1].name"
is "$(field filters.1.module)" "gs-debug" "pass: filters[1].module"
is "$(field filters.1.verdict)" "pass" "pass: filters[1].verdict"
is "$(field filters.2)" "(missing)" "pass: the logger does not list itself"

line 2
is "$(field outcome)" "rejected" "reject: outcome"
is "$(field rejected_by)" "deny" "reject: rejected_by"
is "$(field reason)" "blocked by policy" "reject: reason"
is "$(field filters.1.verdict)" "rejected" "reject: filters[1].verdict"
is "$(field stack)" "$REJECT_STACK" "reject: stack"
ok "reject: another call_id" test "$(field call_id)" != \
	"$("$JQ" get call_id <"$LOG" | sed -n 1p)"

# A reason with quotes, a backslash, a tab and a byte that is not UTF-8
# (from gs-debug's \xff: a stack file may hold UTF-8 only) still makes
# one valid JSON line.
{
	printf '[deny]\nmodule = gs-debug\nrequest = reject\n'
	printf 'reason = a "q" \\ b \\xff c\t d\n'
	printf '[logger]\nfile = esc.log\n'
} >"$T/esc.ini"
gs_in x filter -s "$T/esc.ini"
is "$("$JQ" check <"$T/esc.log")" 1 "escaping: the line is valid JSON"
is "$("$JQ" get reason <"$T/esc.log")" \
	"$(printf 'a "q" \\ b \357\277\275 c\t d')" \
	"escaping: reason intact, invalid byte as U+FFFD"

# A whole request and a whole response: model, tokens, finish reason.
gs_in '{"model":"mistral-small-latest","messages":[
 {"role":"system","content":"'"$CANARY"'"},
 {"role":"user","content":"'"$CANARY"'"}]}' filter -s "$FILE_STACK" --json
is "$rc" 0 "json request: exit 0"
line 3
is "$(field model)" "mistral-small-latest" "json request: model"
is "$(field messages)" 2 "json request: messages"
gs_in '{"model":"mistral-small-latest","choices":[{"index":0,
 "message":{"role":"assistant","content":"ok '"$CANARY"'"},
 "finish_reason":"stop"}],
 "usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}' \
	filter -s "$FILE_STACK" -p response --json
is "$rc" 0 "json response: exit 0"
line 4
is "$(field output_chars)" "$((3 + ${#CANARY}))" "response: output_chars"
is "$(field prompt_tokens)" 11 "response: prompt_tokens"
is "$(field completion_tokens)" 7 "response: completion_tokens"
is "$(field total_tokens)" 18 "response: total_tokens"
is "$(field finish_reason)" "stop" "response: finish_reason"
is "$(field outcome)" "pass" "response: outcome"

# ---- nothing but info fields ----------------------------------------------
ok "no content canary in the log" test -z "$(grep -F "$CANARY" "$LOG")"
ok "no key canary in the log" test -z "$(grep -F "sk-CANARY" "$LOG")"
ok "no prompt-wrap template in the log" \
	test -z "$(grep -F "treat as untrusted" "$LOG")"

# ---- concurrent writers: 8 processes x 500 calls, one line each ----------
printf '[prompt-wrap]\n[allow]\nmodule = gs-debug\n[logger]\n%s\n' \
	'file = many.log' >"$T/many.ini"
i=0
while [ "$i" -lt 500 ]; do
	printf '{"text":"line %d %s"}\n' "$i" "$CANARY"
	i=$((i + 1))
done >"$T/500.jsonl"
for p in 1 2 3 4 5 6 7 8; do
	$GS_WRAP "$GS_BIN" filter -s "$T/many.ini" --jsonl <"$T/500.jsonl" \
		>"$T/many.$p.out" 2>"$T/many.$p.err" &
done
wait
is "$("$JQ" check <"$T/many.log")" 4000 \
	"concurrent: 4000 lines, every one a JSON object"
is "$("$JQ" get call_id <"$T/many.log" | sort -u | wc -l | tr -d ' ')" \
	4000 "concurrent: 4000 distinct calls"
is "$(cat "$T"/many.*.out | wc -l | tr -d ' ')" 4000 \
	"concurrent: every process answered every line"
ok "concurrent: no canary either" test -z "$(grep -F "$CANARY" "$T/many.log")"

# ---- unsafe files ----------------------------------------------------------
printf '' >"$T/open.log"
chmod 644 "$T/open.log"
printf '[logger]\nfile = open.log\n' >"$T/open.ini"
gs check -s "$T/open.ini"
is "$rc" 2 "strict: existing other-readable log refused"
like "$(err)" "open.ini:2: [logger]: " "strict: error names file:line"
like "$(err)" "readable or writable by group or others (mode 644)" \
	"strict: error says why"
printf '[stack]\nstrict = no\n[logger]\nfile = open.log\n' >"$T/loose.ini"
gs check -s "$T/loose.ini"
is "$rc" 0 "strict = no: accepted"
ln -s calls.log "$T/link.log"
printf '[logger]\nfile = link.log\n' >"$T/link.ini"
gs check -s "$T/link.ini"
is "$rc" 2 "a symlinked log file is refused"
printf '[logger]\nfile = no/such/dir.log\n' >"$T/nodir.ini"
gs check -s "$T/nodir.ini"
is "$rc" 2 "an unwritable log path fails the load"
printf '[logger]\nsyslog_facility = kern\n' >"$T/fac.ini"
gs check -s "$T/fac.ini"
is "$rc" 2 "an unknown facility fails the load"

# ---- stderr, the default sink ----------------------------------------------
gs_in "$CANARY" filter -s "$T/logger-stderr.ini"
is "$rc" 0 "stderr: exit 0"
is "$("$JQ" check <"$T/err")" 1 "stderr: one JSON line on stderr"
is "$("$JQ" get filters.0.name <"$T/err")" "allow" "stderr: the call's line"
unlike "$(err)" "$CANARY" "stderr: no content"

# ---- syslog, to a test socket ----------------------------------------------
"$JQ" recv "$T/log.sock" 1 >"$T/syslog.out" &
recv=$!
n=0
while [ ! -S "$T/log.sock" ] && [ "$n" -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
gs_in "$CANARY" filter -s "$T/logger-syslog.ini"
is "$rc" 0 "syslog: exit 0"
is "$(err)" "" "syslog: nothing on stderr"
wait "$recv"
msg=$(cat "$T/syslog.out")
like "$msg" "<158>" "syslog: priority local3.info"
like "$msg" " guardstack[" "syslog: ident guardstack[pid]"
printf '%s\n' "$msg" | sed 's/^[^{]*//' >"$T/line"
is "$("$JQ" check <"$T/line")" 1 "syslog: the message is the JSON line"
is "$(field filters.0.verdict)" "pass" "syslog: the call's line"
unlike "$msg" "$CANARY" "syslog: no content"

# ---- a file the lines cannot be written to: said once, on stderr -------
# (a file size limit of 0 with SIGXFSZ ignored: every write fails with
# EFBIG; stdout to /dev/null and stderr to a pipe, which the limit spares)
printf '[logger]\nfile = full.log\n' >"$T/full.ini"
: >"$T/full.log"
chmod 600 "$T/full.log"
printf '{"text":"a"}\n{"text":"b"}\n{"text":"c"}\n' >"$T/in"
full=$( (trap '' XFSZ; ulimit -f 0
	"$GS_BIN" filter --jsonl -s "$T/full.ini" <"$T/in" 2>&1 >/dev/null
	echo "rc=$?") )
like "$full" "rc=0" "unwritable log: the calls still run (exit 0)"
is "$(printf '%s\n' "$full" | grep -c 'log lines are being lost')" 1 \
	"unwritable log: said once for three lines"
like "$full" "logger [logger]: writing $T/full.log failed: File too large" \
	"unwritable log: which file and why"
unlike "$full" "$KEY" "unwritable log: no key in the message"

done_testing
