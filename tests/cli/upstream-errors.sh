#!/bin/sh
# SPDX-License-Identifier: MIT
# Upstream failures against fake-mistral: key rotation on 401/403, retries
# and their delays (backoff, Retry-After in seconds and as a date),
# timeouts, every kind of bad answer, and the one-line messages they
# become.  Every failure is exit 3 with nothing on stdout.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fake-mistral/fake.sh"
fake_start
GOOD=$(canary)
BAD1="sk-BAD-$(canary)"
BAD2="sk-FORBID-$(canary)"
BAD3="sk-BAD-3-$(canary)"
MISTRAL_API_KEY=$GOOD
export MISTRAL_API_KEY GOOD BAD1 BAD2 BAD3
fp() { printf '%s' "$1" | sha256sum | cut -c1-8; }
# gaps: milliseconds between the requests since the mark, one a line.
gaps() { fake_new t_ms | awk 'NR > 1 { print $1 - p } { p = $1 }'; }
between() { # between VALUE LOW HIGH NAME
	if [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; then _report 0 "$4"
	else _report 1 "$4"; echo "#   $1 not in [$2, $3]"; fi
}
failed() { # failed NAME: exit 3, nothing printed on stdout
	is "$rc/$(out)" "3/" "$1: exit 3, no answer"
}

# 401 then the next key: rotation order, and the answer.
up_stack rot ok 'keys = env:BAD1, env:GOOD'
fake_mark
gs run -v -s "$T/rot.ini" "hi"
is "$(out)" "echo: hi" "401 on the first key: the second answers"
is "$(fake_new auth | tr '\n' ' ')" "Bearer $BAD1 Bearer $GOOD " \
	"keys tried in order"
like "$(err)" "key $(fp "$GOOD")" "the key that answered is reported"

# Every key refused.
up_stack allbad ok 'keys = env:BAD1, env:BAD2, env:BAD3'
fake_mark
gs run -s "$T/allbad.ini" "hi"
failed "all keys refused"
like "$(err)" "upstream returned 401 for all 3 keys: Unauthorized" \
	"all keys refused: one clear line"
is "$(fake_new auth | tr '\n' ' ')" "Bearer $BAD1 Bearer $BAD2 Bearer $BAD3 " \
	"each key tried once, in order (401, 403, 401)"
up_stack one401 401
gs run -s "$T/one401.ini" "hi"
like "$(err)" "upstream returned 401 for key $(fp "$GOOD"): Unauthorized" \
	"a single refused key is named by its fingerprint"

# 429 with Retry-After in seconds is honoured, on the same connection.
up_stack ra 429r1,ok 'backoff_ms = 10'
fake_mark
gs run -s "$T/ra.ini" "hi"
is "$rc/$(out)" "0/echo: hi" "429 with Retry-After: 1, then success"
is "$(fake_count)" "$((FAKE_MARK + 2))" "two requests"
between "$(gaps)" 1000 6000 "Retry-After: 1 waited about 1 s"
echo "# Retry-After: 1 measured: $(gaps) ms"
is "$(fake_new conn | sort -u | wc -l | tr -d ' ')" 1 \
	"the retry reused the connection"

# Retry-After as an HTTP date.
up_stack rd 429d2,ok 'backoff_ms = 10'
fake_mark
gs run -s "$T/rd.ini" "hi"
is "$rc" 0 "429 with an HTTP-date Retry-After, then success"
between "$(gaps)" 900 6000 "the date was honoured (about 1-2 s)"
echo "# Retry-After: HTTP-date +2 s measured: $(gaps) ms"

# 5xx: exponential backoff with jitter: [50, 100] ms, then [100, 200].
up_stack bo 500,503,ok 'backoff_ms = 100'
fake_mark
gs run -s "$T/bo.ini" "hi"
is "$rc/$(out)" "0/echo: hi" "500, 503, then success"
g1=$(gaps | sed -n 1p) g2=$(gaps | sed -n 2p)
between "$g1" 50 3000 "first backoff: at least 50 ms"
between "$g2" 100 3000 "second backoff: at least 100 ms"
echo "# backoff gaps measured: ${g1} ms, ${g2} ms"

# Retries run out.
up_stack out503 503 'retries = 2' 'backoff_ms = 10'
fake_mark
gs run -s "$T/out503.ini" "hi"
failed "503 every time"
like "$(err)" "upstream returned 503 after 2 retries: Service unavailable" \
	"503 after 2 retries (bare {\"message\"} form)"
is "$(fake_count)" "$((FAKE_MARK + 3))" "retries = 2: three requests"
up_stack out429 429 'backoff_ms = 10'
gs run -s "$T/out429.ini" "hi"
like "$(err)" "upstream returned 429 after 3 retries: Requests rate limit exceeded" \
	"429 after 3 retries (the default)"
up_stack far 429r120 'max_backoff = 5'
fake_mark
gs run -s "$T/far.ini" "hi"
like "$(err)" "upstream returned 429 and asked to wait 120 s, more than max_backoff (5 s)" \
	"a Retry-After past max_backoff gives up at once"
is "$(fake_count)" "$((FAKE_MARK + 1))" "without retrying"

# Errors that are not retried.
fake_mark
up_stack e400 400
gs run -s "$T/e400.ini" "hi"
like "$(err)" "upstream returned 400: Invalid model: nope" \
	"400: Mistral's error object"
is "$(fake_count)" "$((FAKE_MARK + 1))" "a 400 is not retried"
up_stack e422 422
gs run -s "$T/e422.ini" "hi"
like "$(err)" "upstream returned 422: Field required" "422: nested detail"
up_stack html 502html 'retries = 0'
gs run -s "$T/html.ini" "hi"
like "$(err)" "upstream returned 502: <html> <head><title>502 Bad Gateway</title></head> <body>" \
	"a non-JSON error body becomes one line"
is "$(err | wc -l | tr -d ' ')" 1 "exactly one line"

# Timeout.
# (The bound is loose: under valgrind starting the program takes seconds.)
up_stack slow slow12 'timeout = 1'
t0=$(date +%s)
gs run -s "$T/slow.ini" "hi"
t1=$(date +%s)
failed "slow answer"
like "$(err)" "upstream timed out after 1 s" "timeout message"
between "$((t1 - t0))" 0 10 "the call gave up long before the answer came"

# Bad 200 answers.
up_stack bj badjson
gs run -s "$T/bj.ini" "hi"
failed "truncated JSON"
like "$(err)" "upstream answered 200 with something that is not a chat completion: response: invalid JSON at byte" \
	"malformed JSON"
up_stack nc notchat
gs run -s "$T/nc.ini" "hi"
like "$(err)" "not a chat completion: response.choices: missing" \
	"valid JSON that is not a completion"
up_stack tx text
gs run -s "$T/tx.ini" "hi"
like "$(err)" "not a chat completion: response: invalid JSON at byte 0" \
	"a plain-text body"
up_stack big big64 'max_response_bytes = 4096'
gs run -s "$T/big.ini" "hi"
failed "oversized answer"
like "$(err)" "upstream answer is larger than max_response_bytes (4096)" \
	"max_response_bytes enforced"

# Broken connections: retried, then reported.
up_stack rst reset 'retries = 1' 'backoff_ms = 10'
fake_mark
gs run -s "$T/rst.ini" "hi"
failed "reset connection"
like "$(err)" "upstream connection failed after 1 retry: " "reset: message"
is "$(fake_count)" "$((FAKE_MARK + 2))" "reset: retried once"
up_stack tr trunc 'retries = 0'
gs run -s "$T/tr.ini" "hi"
like "$(err)" "upstream connection failed: transfer closed with" \
	"truncated transfer"
printf '[upstream]\nurl = http://127.0.0.1:1/v1/chat/completions\nretries = 0\n' >"$T/refused.ini"
gs run -s "$T/refused.ini" "hi"
like "$(err)" "upstream connection failed: Failed to connect to 127.0.0.1 port 1" \
	"connection refused"

# An error body that repeats the request's headers: the key is masked.
up_stack echo echoauth
gs run -s "$T/echo.ini" "hi"
like "$(err)" "Authorization: Bearer [key $(fp "$GOOD")]" \
	"a key echoed by the server is replaced by its fingerprint"

no_leak "$GOOD" "the good key appears in no output"
no_leak "$BAD1" "nor do the refused ones"
no_leak "$BAD2" "(403)"
done_testing
