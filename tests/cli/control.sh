#!/bin/sh
# SPDX-License-Identifier: MIT
# Linux-PAM control-flag semantics, one stack file per rule, driven by the
# scriptable gs-debug plugin.
. "$top_srcdir/tests/lib.sh"

run() { gs_in "x" filter -s "$STACKS/control-$1.ini"; }
# verdicts NAME: the per-filter verdicts of a --jsonl run, "a=v b=v".
verdicts() {
	printf '{"text":"x"}\n' >"$T/in"
	gsf filter --jsonl -s "$STACKS/control-$1.ini"
	out | sed 's/.*"filters":\[//; s/\]}$//' | tr '{' '\n' |
		sed -n 's/"name":"\([^"]*\)","verdict":"\([^"]*\)".*/\1=\2/p' |
		tr '\n' ' '
}

run required-continues
is "$rc" 1 "required: failure rejects"
like "$(err)" "rejected by a: reason-a" "required: first failure's reason"
is "$(verdicts required-continues)" "a=rejected b=modified " \
	"required: the stack goes on after a failure"

run requisite-stops
is "$rc" 1 "requisite: failure rejects"
is "$(verdicts requisite-stops)" "a=rejected b=skipped " \
	"requisite: the stack stops at the failure"

run sufficient-done
is "$rc" 0 "sufficient: success passes"
is "$(out)" "x+a" "sufficient: later filters do not run"
is "$(verdicts sufficient-done)" "a=modified b=skipped " \
	"sufficient: rest skipped"

run sufficient-after-failure
is "$rc" 1 "sufficient after a required failure: still rejected"
like "$(err)" "reason-a" "sufficient after failure: first reason"
is "$(verdicts sufficient-after-failure)" "a=rejected b=pass c=modified " \
	"sufficient after failure: does not stop the stack"

run sufficient-fail
is "$rc" 0 "sufficient: its failure is ignored"
is "$(out)" "x+b" "sufficient failure: stack went on"

run optional-fail
is "$rc" 0 "optional: its failure is ignored"
is "$(out)" "x+b" "optional failure: stack went on"

run all-abstain
is "$rc" 1 "every filter abstained: rejected"
like "$(err)" "no filter in the request phase accepted the content" \
	"every filter abstained: says so"

run error-closed
is "$rc" 3 "runtime error: exit 3"
like "$(err)" "a failed: boom; nothing was passed on" \
	"runtime error: reason, fail closed"
is "$(out)" "" "runtime error: no output"
is "$(verdicts error-closed)" "a=error b=modified " \
	"runtime error: recorded as error"

run error-ignored
is "$rc" 0 "on_error = ignore: passes"
is "$(out)" "x+b" "on_error = ignore: stack went on"

run first-reason
like "$(err)" "rejected by a: first" "first failure's reason wins"
unlike "$(err)" "second" "later reasons are not shown"

run bad-replace
is "$rc" 3 "invalid UTF-8 from a plugin: exit 3"
like "$(err)" "produced invalid UTF-8" "invalid UTF-8 from a plugin: message"

# Request phase then response phase runs only the filters of the phase.
gs_in "x" filter -s "$STACKS/order.ini"
is "$(out)" "x[base-one][base-two][first]-second[second]" \
	"request phase: run order and content chaining"
gs_in "y" filter -p response -s "$STACKS/order.ini"
is "$(out)" "y[base-one][base-two][first]-second[second][third]" \
	"response phase: the response-only filter runs last"

done_testing
