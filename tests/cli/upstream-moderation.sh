#!/bin/sh
# SPDX-License-Identifier: MIT
# mistral-moderation against fake-mistral's /v1/chat/moderations: what it
# sends, thresholds in both phases, failing closed, its own keys.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/fake-mistral/fake.sh"
fake_start
KEY=$(canary)
MOD_KEY=$(canary)
MISTRAL_API_KEY=$KEY
export MISTRAL_API_KEY MOD_KEY
# mod NAME SCRIPT [LINES...]: chat upstream at the fake server, and a
# [mod] section whose moderation url follows SCRIPT.
mod() {
	_mn=$1 _ms=$2
	shift 2
	up_stack "$_mn" ok '[mod]' 'module = mistral-moderation' \
		"url = $FAKE/$_ms/v1/chat/moderations" 'backoff_ms = 10' "$@"
}
mods() { fake_new path | grep -c moderations; }

mod clean ok
fake_mark
gs run -s "$T/clean.ini" "a kind question"
is "$rc/$(out)" "0/echo: a kind question" "clean prompt and answer pass"
is "$(mods)" 2 "moderated twice: the request, then the answer"
req=$(fake_new body | sed -n 1p)
is "$(echo "$req" | "$JSONQ" get model)" "mistral-moderation-latest" \
	"the moderation model"
is "$(echo "$req" | "$JSONQ" get input.0.role)/$(echo "$req" | "$JSONQ" get input.0.content)" \
	"user/a kind question" "the conversation is sent as input"
ans=$(fake_new body | sed -n 3p)
is "$(echo "$ans" | "$JSONQ" get input.1.role)/$(echo "$ans" | "$JSONQ" get input.1.content)" \
	"assistant/echo: a kind question" \
	"response phase: the answer is the last message"
is "$(fake_new auth | sort -u)" "Bearer $KEY" \
	"by default the moderation call uses MISTRAL_API_KEY too"

# Over a threshold in the request: rejected before the model is asked.
fake_mark
gs run -s "$T/clean.ini" "some HATE here"
is "$rc" 1 "flagged request: exit 1"
like "$(err)" "request rejected by mod: request hate_and_discrimination scored 0.95 (threshold 0.50)" \
	"the reason names the category, score and threshold"
is "$(fake_new path | grep -c completions)" 0 "the model was not asked"

# Only the categories a section names are checked; the answer is judged.
up_stack split ok '[in]' 'module = mistral-moderation' \
	"url = $FAKE/ok/v1/chat/moderations" 'phase = request' \
	'hate_and_discrimination = 0.9' \
	'[outmod]' 'module = mistral-moderation' \
	"url = $FAKE/ok/v1/chat/moderations" 'phase = response' \
	'violence_and_threats = 0.8'
gs run -s "$T/split.ini" "VIOLENCE"
is "$rc" 1 "a flagged answer: exit 1"
like "$(err)" "response rejected by outmod: answer violence_and_threats scored 0.91 (threshold 0.80)" \
	"the answer's category"
mod high ok 'hate_and_discrimination = 0.99'
gs run -s "$T/high.ini" "HATE"
is "$rc" 0 "a score under its threshold passes"

# The moderation call fails: closed, unless on_error = ignore.
mod down 500
fake_mark
gs run -s "$T/down.ini" "hi"
is "$rc" 3 "moderation down: exit 3"
like "$(err)" "mod failed: moderation call failed: upstream returned 500 after 1 retry: Internal server error" \
	"fails closed, saying why"
is "$(fake_new path | grep -c completions)" 0 "and the model was not asked"
up_stack ignore ok '[mod]' 'module = mistral-moderation' \
	"url = $FAKE/500/v1/chat/moderations" 'retries = 0' \
	'on_error = ignore' '[pass]' 'module = gs-debug'
gs run -s "$T/ignore.ini" "hi"
is "$rc/$(out)" "0/echo: hi" "on_error = ignore lets it through"
mod junk text 'retries = 0'
gs run -s "$T/junk.ini" "hi"
like "$(err)" "moderation answer is not JSON with results[].category_scores" \
	"an answer of the wrong shape is an error"

# Its own keys (a file: path is taken from the stack's directory).
printf '%s\n' "$MOD_KEY" >"$T/mod.key"
chmod 600 "$T/mod.key"
mod own ok 'keys = file:mod.key'
fake_mark
gs run -s "$T/own.ini" "hi"
is "$(fake_new auth | tr '\n' ' ')" "Bearer $MOD_KEY Bearer $KEY Bearer $MOD_KEY " \
	"keys = in the section: moderation uses its own key"

# Configuration.
mod lit ok "keys = $KEY"
gs check -s "$T/lit.ini"
like "$(err)" "[mod]: keys: entry 1 is not a key source" "a literal key is refused"
# (threshold and unknown-key errors: tests/unit/test-upstream.c)

no_leak "$KEY" "no key in any output"
no_leak "$MOD_KEY" "nor the moderation key"
done_testing
