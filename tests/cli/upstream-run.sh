#!/bin/sh
# SPDX-License-Identifier: MIT
# guardstack run against fake-mistral: the filtered request goes upstream
# with the key, the answer comes back through the response phase; the
# offline backend; what [upstream] accepts and refuses.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fake-mistral/fake.sh"
fake_start
KEY=$(canary)
MISTRAL_API_KEY=$KEY
export MISTRAL_API_KEY
fp=$(printf '%s' "$KEY" | sha256sum | cut -c1-8)
up() { out | "$JSONQ" get "$1"; }         # field of the JSON on stdout
sent() { fake_new body | "$JSONQ" get "$1"; } # field of what was sent

# The request phase's change is what the upstream receives.
up_stack cut ok '[cut]' 'module = length-limit' 'max = 5'
fake_mark
gs run -v -s "$T/cut.ini" "hello world"
is "$rc" 0 "run: exit 0"
is "$(out)" "echo: hello" "run prints the upstream's answer to the filtered prompt"
is "$(sent messages.0.content)" "hello" "the upstream received the filtered text"
is "$(sent model)" "mistral-small-latest" "the default model is sent"
is "$(fake_new auth)" "Bearer $KEY" "Authorization: Bearer carries the key"
is "$(fake_new method)" "POST" "one POST"
like "$(fake_new path)" "/v1/chat/completions" "to the chat-completions path"
like "$(err)" "guardstack: upstream: HTTP 200, key $fp" \
	"-v names the key by its SHA-256 fingerprint"
like "$(err)" "guardstack: cut: modified" "-v reports the filters"

# --json in and out, -m, fields passed through, usage kept.
printf '%s' '{"model":"m1","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi there friend"}],"temperature":0.25,"safe_prompt":false}' >"$T/in"
fake_mark
gsf run --json -m mistral-large-latest -s "$T/cut.ini"
is "$rc" 0 "run --json: exit 0"
is "$(up choices.0.message.content)" "echo: hi th" "run --json prints the whole response"
is "$(up usage.prompt_tokens)" "13" "the upstream's usage is kept"
is "$(up usage.total_tokens)" "24" "usage total"
is "$(sent model)" "mistral-large-latest" "-m overrides the request's model"
is "$(sent temperature)" "0.25" "unknown fields pass through"
is "$(sent messages.0.content)" "be brief" "system message untouched"
fake_mark
gsf run --json -m '' -s "$T/cut.ini"
is "$rc" 2 "-m '': exit 2"
like "$(err)" "-m: expected a model name (not empty, valid UTF-8)" "-m '': said"
is "$(fake_new method)" "" "-m '': nothing sent"
gsf run --json -m "$(printf 'm\377')" -s "$T/cut.ini"
is "$rc" 2 "-m of invalid UTF-8: exit 2"
is "$(fake_new method)" "" "-m of invalid UTF-8: nothing sent"

# Response phase: modifies or rejects the answer.
up_stack resp ok '[mark]' 'module = gs-debug' 'phase = response' \
	'append = +checked'
gs run -s "$T/resp.ini" "abc"
is "$(out)" "echo: abc+checked" "the answer went through the response phase"
up_stack respno ok '[deny]' 'module = gs-debug' 'phase = response' \
	'response = reject' 'reason = answer not allowed'
gs run -s "$T/respno.ini" "abc"
is "$rc" 1 "answer rejected: exit 1"
is "$(out)" "" "a rejected answer is not printed"
like "$(err)" "response rejected by deny: answer not allowed" "and why"

# A rejected request never reaches the upstream.
up_stack reqno ok '[deny]' 'module = gs-debug' 'request = reject' \
	'reason = not this'
fake_mark
gs run -s "$T/reqno.ini" "abc"
is "$rc" 1 "request rejected: exit 1"
is "$(fake_count)" "$FAKE_MARK" "nothing was sent upstream"

# Prompt from stdin.
up_stack plain ok
printf 'from stdin' >"$T/in"
gsf run -s "$T/plain.ini" -
is "$(out)" "echo: from stdin" "PROMPT - reads stdin"

# No key: exit 2, before anything is sent.
fake_mark
MISTRAL_API_KEY='' gs run -s "$T/plain.ini" "x"
is "$rc" 2 "MISTRAL_API_KEY unset: exit 2"
like "$(err)" "MISTRAL_API_KEY not set" "the message names the variable"
is "$(fake_count)" "$FAKE_MARK" "and nothing was sent"

# "stream": true cannot be filtered.
printf '%s' '{"stream":true,"messages":[{"role":"user","content":"x"}]}' >"$T/in"
gsf run --json -s "$T/plain.ini"
is "$rc" 2 "stream: true refused"
like "$(err)" '"stream": true is not supported' "with the reason"

# The offline backend: the shipped default stack uses it.
gs run -s default "hello"
is "$rc" 0 "run -s default works with no key and no network"
like "$(out)" "offline: no model was called" "offline answer"
# (the default stack may wrap or redact the text: only its presence)
like "$(out)" "hello" "it shows what the model would have received"
printf '[upstream]\nurl = offline\nmodel = tiny\n' >"$T/off.ini"
printf '%s' '{"messages":[{"role":"system","content":"sys"},{"role":"user","content":"hi"}]}' >"$T/in"
gsf run --json -s "$T/off.ini"
is "$(up choices.0.message.content)" "offline: no model was called; tiny would have received:
[system] (3 characters, not shown)
[user] hi" "offline: a deterministic transcript (instructions by size only)"
is "$(up id)/$(up created)/$(up usage.total_tokens)" "offline/0/0" \
	"offline: fixed id and time, no tokens"
printf 'canned answer\n' >"$T/reply.txt"
printf '[upstream]\nurl = offline\nreply_file = reply.txt\n' >"$T/canned.ini"
gs run -s "$T/canned.ini" "x"
is "$(out)" "canned answer" "offline: reply_file, relative to the stack"

# What [upstream] refuses, with FILE:LINE.
cfg() { printf '[upstream]\n%s\n' "$1" >"$T/c.ini"; gs check -s "$T/c.ini"; }
cfg 'colour = blue'
is "$rc" 2 "unknown key: exit 2"
like "$(err)" "c.ini:2: [upstream]: unknown key 'colour'" "unknown key, with line"
LIT=$(canary)
cfg "keys = env:MISTRAL_API_KEY, $LIT"
like "$(err)" "c.ini:2: [upstream]: keys: entry 2 is not a key source" \
	"a literal key is refused"
unlike "$(err)" "$LIT" "and not repeated"
printf '[upstream]\nurl = http://example.com/v1\nallow_http = yes\n' >"$T/c.ini"
gs check -s "$T/c.ini"
is "$rc" 0 "allow_http = yes permits plain http"
like "$(out)" "upstream: http://example.com/v1, model mistral-small-latest, keys env:MISTRAL_API_KEY" \
	"check shows the upstream and key sources"
# (the other refusals are in tests/unit/test-upstream.c)

# No key anywhere in what was printed.
no_leak "$KEY" "the key was never printed"
done_testing
