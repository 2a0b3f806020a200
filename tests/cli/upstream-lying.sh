#!/bin/sh
# SPDX-License-Identifier: MIT
# An upstream that lies or fails in the middle of an answer, beyond what
# upstream-errors.sh covers (every HTTP error kind, 429/5xx retries and
# their delays, a slow answer, truncated or non-chat JSON, an early close
# and a reset before any byte): a body dripped a byte every 200 ms past
# the timeout, a reset in the middle of the body, a chunked body cut
# short, a Content-Length shorter than the body; and that retries stay
# bounded.  Every failure must be exit 3, nothing on stdout (no partial
# answer passed off as complete, in text or --json), within the
# configured timeout.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fake-mistral/fake.sh"
fake_start
MISTRAL_API_KEY=$(canary)
export MISTRAL_API_KEY
between() { # between VALUE LOW HIGH NAME
	if [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; then _report 0 "$4"
	else _report 1 "$4"; echo "#   $1 not in [$2, $3]"; fi
}
failed() { # failed NAME: exit 3, nothing printed on stdout
	is "$rc/$(out)" "3/" "$1: exit 3, no answer"
}
ms() { date +%s%3N; }
# Under valgrind, starting the program alone takes seconds.
slack=3000
[ "${GS_PASS:-}" = valgrind ] && slack=15000

# A body dripped a byte every 200 ms (116 bytes: 23 s) against timeout =
# 2: given up at 2 s, and a timeout is not retried.
up_stack drip drip 'timeout = 2' 'retries = 2' 'backoff_ms = 10'
fake_mark
t0=$(ms)
gs run -s "$T/drip.ini" "hi"
t1=$(ms)
failed "dripped body"
like "$(err)" "upstream timed out after 2 s" "dripped body: a timeout"
between "$((t1 - t0))" 1900 $((2000 + slack)) \
	"dripped body: given up at the timeout, not at the end of the drip"
echo "# dripped body: gave up after $((t1 - t0)) ms (timeout = 2 s)"
is "$(fake_count)" "$((FAKE_MARK + 1))" "dripped body: not retried"
gs run --json -s "$T/drip.ini" <<'EOF'
{"messages":[{"role":"user","content":"hi"}]}
EOF
failed "dripped body, --json"

# A reset in the middle of the body: retried, and then the retry's
# answer is the one used; when retries run out, an error.
up_stack rmid resetmid 'retries = 2' 'backoff_ms = 10'
fake_mark
gs run -s "$T/rmid.ini" "hi"
failed "reset mid-body"
like "$(err)" "upstream connection failed after 2 retries: " \
	"reset mid-body: the error names the retries"
is "$(fake_count)" "$((FAKE_MARK + 3))" \
	"reset mid-body: retries = 2, three requests"
up_stack rmidok resetmid,ok 'retries = 1' 'backoff_ms = 10'
gs run -s "$T/rmidok.ini" "fresh"
is "$rc/$(out)" "0/echo: fresh" "reset mid-body, then ok: the whole answer"
up_stack trok trunc,ok 'retries = 1' 'backoff_ms = 10'
gs run -s "$T/trok.ini" "again"
is "$rc/$(out)" "0/echo: again" \
	"closed before Content-Length, then ok: the whole answer"

# A chunked body that ends without its last chunk.
up_stack chunk chunktrunc 'retries = 0'
gs run -s "$T/chunk.ini" "hi"
failed "chunked body cut short"
like "$(err)" "upstream connection failed" "chunked body cut short: message"
gs run --json -s "$T/chunk.ini" <<'EOF'
{"messages":[{"role":"user","content":"hi"}]}
EOF
failed "chunked body cut short, --json"

# A Content-Length shorter than the body: the client reads what was
# promised, which is not a whole completion.
up_stack short shortlen 'retries = 0'
gs run -s "$T/short.ini" "hi"
failed "Content-Length shorter than the body"
like "$(err)" "not a chat completion: response: invalid JSON" \
	"short Content-Length: the cut JSON is refused"
unlike "$(out)$(err)" "whole" \
	"short Content-Length: no part of the answer shown"

# Bounded retries: no more requests than retries + 1, whatever the kind.
for kind in 500 503 429 reset resetmid trunc; do
	up_stack "b$kind" "$kind" 'retries = 3' 'backoff_ms = 1' \
		'max_backoff = 1'
	fake_mark
	gs run -s "$T/b$kind.ini" "hi"
	is "$rc/$(fake_count)" "3/$((FAKE_MARK + 4))" \
		"$kind every time, retries = 3: exit 3 after 4 requests"
	up_stack "z$kind" "$kind" 'retries = 0'
	fake_mark
	gs run -s "$T/z$kind.ini" "hi"
	is "$rc/$(fake_count)" "3/$((FAKE_MARK + 1))" \
		"$kind, retries = 0: one request"
done

# The worst case stays within (retries + 1) x timeout plus the waits:
# slow answers every time, retries = 1, timeout = 1.
up_stack slowall slow5 'timeout = 1' 'retries = 1' 'backoff_ms = 10'
t0=$(ms)
gs run -s "$T/slowall.ini" "hi"
t1=$(ms)
failed "slow every time"
between "$((t1 - t0))" 900 $((2000 + slack)) \
	"slow every time: bounded by (retries + 1) x timeout"

no_leak "$MISTRAL_API_KEY" "the key appears in no output"
done_testing
