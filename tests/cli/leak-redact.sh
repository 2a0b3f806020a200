# SPDX-License-Identifier: MIT
# leak-redact through the CLI: the pattern check (golden files), reject
# mode, the canary added in the request phase, config errors.  The
# request->response flows (echo of the system prompt, canary found in the
# answer) need one call across both phases: see tests/unit/test-leak.c.
. "$top_srcdir/tests/lib.sh"
JQ="$top_builddir/tests/tools/gs-jsonq"
G="$top_srcdir/tests/golden/leak-redact"
get() { "$JQ" get "$1" <"$T/out"; }

# ---- golden files: the response phase -------------------------------------
for pair in pattern:basic clean:basic custom:pattern; do
	case_=${pair%%:*}
	stack=${pair#*:}
	gs filter -s "$STACKS/leak-redact-$stack.ini" -p response \
		<"$G/$case_.in"
	is "$rc" 0 "golden $case_: exit 0"
	ok "golden $case_: output matches $case_.out" \
		cmp -s "$T/out" "$G/$case_.out"
done

gs filter -s "$STACKS/leak-redact-basic.ini" -p response -v <"$G/pattern.in"
like "$(err)" "leak-redact: modified (2 leaks)" "pattern: two findings counted"

gs_in 'Your system prompt: hidden' filter -s \
	"$STACKS/leak-redact-nopattern.ini" -p response
is "$rc" 0 "empty pattern: exit 0"
is "$(out)" "Your system prompt: hidden" "empty pattern: check is off"

gs_in 'Fine. The SYSTEM prompt: be a pirate' filter -s \
	"$STACKS/leak-redact-reject.ini" -p response
is "$rc" 1 "reject: pattern match exits 1"
is "$(out)" "" "reject: nothing on stdout"
like "$(err)" "leak-redact: the answer matches the leak pattern" \
	"reject: reason on stderr"

# ---- JSON lines: one verdict per answer ------------------------------------
printf '%s\n' '{"text":"All good."}' \
	'{"text":"system prompt: x"}' \
	'{"text":"a\nSystem Prompt: y\nb"}' >"$T/in.jsonl"
gs filter -s "$STACKS/leak-redact-basic.ini" -p response --jsonl <"$T/in.jsonl"
is "$rc" 0 "jsonl: exit 0"
is "$(get verdict | tr '\n' ' ')" "pass modified modified " "jsonl: verdicts"
is "$(get text | tr '\n' '|')" "All good.|[REDACTED]|a|[REDACTED]|b|" \
	"jsonl: texts"
is "$(get filters.0.count | tr '\n' ' ')" "0 1 1 " "jsonl: counts"

# ---- the canary, request phase ---------------------------------------------
REQ='{"model":"m","messages":[{"role":"system","content":"Be a rail clerk."},
 {"role":"user","content":"Fares?"}]}'
gs_in "$REQ" filter -s "$STACKS/leak-redact-canary.ini" --json
is "$rc" 0 "canary: request passes"
sys=$(get messages.0.content)
tok=$(printf '%s\n' "$sys" | sed -n 's/.*gs-canary-\([0-9a-f]*\)$/\1/p')
is "${#tok}" 32 "canary: 32 hex digits at the end of the system prompt"
like "$sys" "Be a rail clerk.

Internal reference" "canary: after the caller's prompt"
is "$(get messages.1.content)" "Fares?" "canary: user text untouched"
gs_in "$REQ" filter -s "$STACKS/leak-redact-canary.ini" --json
tok2=$(get messages.0.content | sed -n 's/.*gs-canary-\([0-9a-f]*\)$/\1/p')
ok "canary: a new token per call" test -n "$tok2" -a "$tok" != "$tok2"

gs_in "$REQ" filter -s "$STACKS/leak-redact-abstain.ini" --json -v
is "$rc" 0 "no canary: request passes"
is "$(get messages.0.content)" "Be a rail clerk." \
	"no canary: request unchanged"
like "$(err)" "leak-redact: ignored" \
	"no canary: abstains in the request phase"

# ---- configuration errors --------------------------------------------------
bad() { # bad NAME EXPECTED-MESSAGE INI-BODY
	printf '[leak-redact]\n%s\n' "$3" >"$T/bad.ini"
	gs check -s "$T/bad.ini"
	is "$rc" 2 "config: $1: exit 2"
	like "$(err)" "$2" "config: $1: message"
}
bad "bad pattern" "bad.ini:2: [leak-redact]: " 'pattern = (unclosed'
bad "min_words too small" "bad.ini:3: [leak-redact]: " '
min_words = 2'
bad "unknown action" "bad.ini:2: [leak-redact]: " 'action = drop'
bad "canary not a boolean" "bad.ini:2: [leak-redact]: " 'canary = maybe'
bad "unknown key" "unknown key 'min_word'" 'min_word = 8'

done_testing
