#!/bin/sh
# SPDX-License-Identifier: MIT
# `guardstack filter`: plain text and whole-JSON modes, and malformed input.
. "$top_srcdir/tests/lib.sh"

S="$STACKS/append.ini"

gs_in "hello" filter -s "$S"
is "$rc" 0 "plain request: exit 0"
is "$(out)" "hello+req" "plain request: filtered text on stdout"
gs_in "hello" filter -p response -s "$S"
is "$(out)" "hello+resp" "plain response: the response phase ran"

# --json request: filtered texts, every other field kept.
req='{"model":"mistral-small-latest","temperature":0.2,"messages":[{"role":"system","content":"sys"},{"role":"user","content":"hi"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":"https://x/y.png"},{"type":"text","text":"b"}]},{"role":"assistant","content":null,"tool_calls":[{"id":"t1"}]},{"role":"tool","content":"res","tool_call_id":"t1"}],"safe_prompt":false}'
gs_in "$req" filter --json -s "$S"
is "$rc" 0 "json request: exit 0"
is "$(out)" '{"model":"mistral-small-latest","temperature":0.2,"safe_prompt":false,"messages":[{"role":"system","content":"sys"},{"role":"user","content":"hi+req"},{"role":"user","content":[{"type":"text","text":"a+req"},{"type":"image_url","image_url":"https://x/y.png"},{"type":"text","text":"b+req"}]},{"role":"assistant","content":null,"tool_calls":[{"id":"t1"}]},{"role":"tool","content":"res+req","tool_call_id":"t1"}]}' \
	"json request: user and tool texts filtered, chunks kept, fields kept"

resp='{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"answer"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}'
gs_in "$resp" filter --json -p response -s "$S"
is "$(out)" '{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"answer+resp"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}' \
	"json response: the answer is filtered, the rest kept"

# roles = system: the filter sees the system message only.
gs_in "$req" filter --json -s "$STACKS/roles-system.ini"
like "$(out)" '"content":"sys!"' "roles = system: system text filtered"
like "$(out)" '"content":"hi"' "roles = system: user text untouched"

# Malformed input: exit 4 and a message that says where.
bad() { # NAME INPUT WANT [ARGS]
	_name=$1 _in=$2 _want=$3; shift 3
	gs_in "$_in" filter --json -s "$S" "$@"
	is "$rc" 4 "$_name: exit 4"
	like "$(err)" "$_want" "$_name: message"
	is "$(out)" "" "$_name: nothing on stdout"
}
bad "invalid JSON" '{"messages": [' "request: invalid JSON at byte"
bad "trailing data" '{"messages":[{"role":"user","content":"x"}]} x' \
	"unexpected data after the JSON value at byte 45"
bad "not an object" '[1,2]' "expected a JSON object"
bad "no messages" '{"model":"m"}' "request.messages: missing"
bad "messages not array" '{"messages":{}}' \
	"request.messages: expected an array, got an object"
bad "empty messages" '{"messages":[]}' "request.messages: empty"
bad "bad role" '{"messages":[{"role":"wizard","content":"x"}]}' \
	"messages[0].role: 'wizard' is not a role"
bad "missing role" '{"messages":[{"content":"x"}]}' "messages[0].role: missing"
bad "content type" '{"messages":[{"role":"user","content":5}]}' \
	"messages[0].content: expected a string, an array of chunks or null, got a number"
bad "chunk text type" '{"messages":[{"role":"user","content":[{"type":"text","text":1}]}]}' \
	"messages[0].content[0].text: missing or not a string"
bad "user without content" '{"messages":[{"role":"user"}]}' \
	"messages[0].content: missing"
bad "model type" '{"model":1,"messages":[{"role":"user","content":"x"}]}' \
	"request.model: expected a string, got a number"
bad "empty model" '{"model":"","messages":[{"role":"user","content":"x"}]}' \
	"request.model: empty; name a model or leave the key out"
bad "NUL escape" '{"messages":[{"role":"user","content":"a\u0000b"}]}' \
	"NUL character (\\u0000) in a string at byte 40"
bad "response without choices" '{"id":"x"}' "response.choices: missing" \
	-p response
bad "response wrong role" '{"choices":[{"message":{"role":"user","content":"x"}}]}' \
	"the answer's role is 'user', expected assistant" -p response

printf '{"messages":[{"role":"user","content":"\377"}]}' >"$T/in"
	gsf filter --json -s "$S"
is "$rc" 4 "invalid UTF-8 in JSON: exit 4"
like "$(err)" "invalid UTF-8 at byte 39" "invalid UTF-8 in JSON: byte offset"

printf 'ab\377cd' >"$T/in"
	gsf filter -s "$S"
is "$rc" 4 "invalid UTF-8 in text: exit 4"
like "$(err)" "invalid UTF-8 at byte 2" "invalid UTF-8 in text: byte offset"

printf 'ab\0cd' >"$T/in"
	gsf filter -s "$S"
is "$rc" 4 "NUL in text: exit 4"
like "$(err)" "NUL byte at offset 2" "NUL in text: offset"

head -c 2000 /dev/zero | tr '\0' a >"$T/in"
	gsf filter --max-bytes 1000 -s "$S"
is "$rc" 4 "oversize input: exit 4"
like "$(err)" "larger than 1000 bytes" "oversize input: message"

# Valid multi-byte text passes through untouched.
gs_in "héllo ☃ 𝄞" filter -s "$S"
is "$(out)" "héllo ☃ 𝄞+req" "multi-byte text kept"

done_testing
