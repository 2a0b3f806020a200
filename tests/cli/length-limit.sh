#!/bin/sh
# SPDX-License-Identifier: MIT
# length-limit end to end: units, scopes, actions, message count.
. "$top_srcdir/tests/lib.sh"

mk() { printf '[length-limit]\n%s\n' "$2" >"$T/$1.ini"; }

mk chars 'max = 3'
gs_in "héllo" filter -s "$T/chars.ini"
is "$(out)" "hél" "chars: counts code points"

mk bytes 'max = 2
unit = bytes'
gs_in "héllo" filter -s "$T/bytes.ini"
is "$(out)" "h" "bytes: never splits a UTF-8 sequence"
mk bytes3 'max = 3
unit = bytes'
gs_in "héllo" filter -s "$T/bytes3.ini"
is "$(out)" "hé" "bytes: whole sequence kept when it fits"
gs_in "𝄞𝄞" filter -s "$T/bytes3.ini"
is "$(out)" "" "bytes: a 4-byte character over the budget is dropped whole"

gs_in "abc" filter -s "$T/chars.ini"
is "$(out)" "abc" "text at the limit is unchanged"
printf '{"text":"abc"}\n{"text":"abcd"}\n' >"$T/in"
	gsf filter --jsonl -s "$T/chars.ini"
like "$(out | sed -n 1p)" '"verdict":"pass"' "at the limit: verdict pass"
like "$(out | sed -n 2p)" '"verdict":"modified","reason":null,"filters":[{"name":"length-limit","verdict":"modified","count":1}]' \
	"over the limit: modified, counted"

mk reject 'max = 3
action = reject'
gs_in "abcd" filter -s "$T/reject.ini"
is "$rc" 1 "action = reject: exit 1"
like "$(err)" "message text longer than 3 chars" "action = reject: reason"

req='{"messages":[{"role":"user","content":"aaaa"},{"role":"assistant","content":"zzzzzz"},{"role":"user","content":"bbbb"}]}'
mk total 'max = 6
scope = total'
gs_in "$req" filter --json -s "$T/total.ini"
is "$(out)" '{"messages":[{"role":"user","content":"aaaa"},{"role":"assistant","content":"zzzzzz"},{"role":"user","content":"bb"}]}' \
	"scope = total: budget spent in order, assistant text not counted"
mk permsg 'max = 3'
gs_in "$req" filter --json -s "$T/permsg.ini"
is "$(out)" '{"messages":[{"role":"user","content":"aaa"},{"role":"assistant","content":"zzzzzz"},{"role":"user","content":"bbb"}]}' \
	"scope = message: each text cut on its own"

mk maxmsg 'max_messages = 2'
gs_in "$req" filter --json -s "$T/maxmsg.ini"
is "$rc" 1 "max_messages: too many messages rejected"
like "$(err)" "request has 3 messages, more than the 2 allowed" "max_messages: reason"

mk zero 'max = 0'
gs_in "abc" filter -s "$T/zero.ini"
is "$(out)" "" "max = 0 empties the text"

# Default: 4000 characters.
awk 'BEGIN { for (i = 0; i < 5000; i++) printf "é" }' >"$T/in"
	gsf filter -s "$STACKS/length-limit-default.ini"
is "$(out | wc -m | tr -d ' ')" 4000 "default max is 4000 characters"

done_testing
