#!/bin/sh
# SPDX-License-Identifier: MIT
# doc/examples/embed.c, built against the in-tree library: the embedding
# API's full round trip with the offline backend, and a rejection.
. "$top_srcdir/tests/lib.sh"
EMBED="$top_builddir/doc/examples/embed"
embed() {
	# shellcheck disable=SC2086
	$GS_WRAP "$EMBED" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" -ne 97 ] || { echo "# valgrind: embed $*" >&2; cat "$T/err" >&2; }
}

printf '[cut]\nmodule = length-limit\nmax = 4\n[upstream]\nurl = offline\n' \
	>"$T/off.ini"
embed "$T/off.ini" "hello there"
is "$rc" 0 "embed: exit 0"
is "$(out)" "outcome: modified
answer: offline: no model was called; mistral-small-latest would have received:
[system] (23 characters, not shown)
[user] hell" "embed: request phase, offline upstream, response phase, answer"

printf '[deny]\nmodule = gs-debug\nresponse = reject\nreason = no answers today\n[upstream]\nurl = offline\n' \
	>"$T/deny.ini"
embed "$T/deny.ini" "hello"
is "$rc" 1 "embed: rejected answer: exit 1"
is "$(out)" "outcome: rejected
rejected by: deny
reason: no answers today" "embed: outcome, rejecting filter and reason"

printf '[upstream]\nurl = http://127.0.0.1:1/v1\nkeys = env:EMBED_KEY\nretries = 0\n' \
	>"$T/down.ini"
EMBED_KEY=sk-embed-test embed "$T/down.ini" "hello"
is "$rc" 3 "embed: upstream down: exit 3"
like "$(err)" "upstream: upstream connection failed: Failed to connect" \
	"embed: the upstream's message"
done_testing
