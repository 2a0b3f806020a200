#!/bin/sh
# SPDX-License-Identifier: MIT
# script-strip end to end: golden files for each family (active elements,
# handler attributes, obfuscated schemes, Markdown destinations, constructs
# left open at the end, prose), both phases, idempotence and counts, the
# benign HTML and Markdown of the browser test byte for byte, escape mode,
# the schemes setting, --jsonl counts and settings errors.  That nothing
# in the output runs script in a real browser is tests/browser/run.sh.
. "$top_srcdir/tests/lib.sh"
G="$top_srcdir/tests/golden/script-strip"
B="$STACKS/script-strip-basic.ini"
R="$STACKS/script-strip-request.ini"

# ---- golden files ------------------------------------------------------------
# CASE:COUNT, COUNT the removals in CASE.in (0: passes unchanged).
for pair in elements:37 attributes:29 schemes:20 markdown:18 unclosed:1 \
	trailing:1 open:3 prose:0; do
	c=${pair%%:*}
	n=${pair#*:}
	gs filter -s "$B" -p response -v <"$G/$c.in"
	is "$rc" 0 "golden $c: exit 0"
	ok "golden $c: output matches $c.out" cmp -s "$T/out" "$G/$c.out"
	if [ "$n" -eq 0 ]; then
		like "$(err)" "script-strip: pass" "golden $c: passes"
	else
		like "$(err)" "script-strip: modified ($n removals)" \
			"golden $c: $n removals counted"
	fi
	gs filter -s "$R" <"$G/$c.in"
	ok "golden $c: same in the request phase" \
		cmp -s "$T/out" "$G/$c.out"
	# Idempotence: what comes out goes through unchanged.
	gs filter -s "$B" -p response -v <"$G/$c.out"
	ok "golden $c: a second pass changes nothing" \
		cmp -s "$T/out" "$G/$c.out"
	like "$(err)" "script-strip: pass" "golden $c: a second pass passes"
done

# ---- benign markup and Markdown: byte for byte -----------------------------
for f in "$top_srcdir"/tests/browser/benign/*; do
	b=${f##*/}
	gs filter -s "$B" -p response -v <"$f"
	ok "benign $b: unchanged" cmp -s "$T/out" "$f"
	like "$(err)" "script-strip: pass" "benign $b: passes, 0 removals"
done

# ---- single behaviours -------------------------------------------------------
gs_in '' filter -s "$B" -p response
is "$rc:$(out)" "0:" "empty text: exit 0, empty output"
gs_in '<script>alert(1)</script>' filter -s "$B" -p response
is "$rc:$(out)" "0:" "a text that is only script: empty output"
gs_in 'plain prose without markup.' filter -s "$B" -p response -v
is "$(out)" 'plain prose without markup.' "prose unchanged"
like "$(err)" "script-strip: pass" "prose: pass"
# The naive regex's misses.
gs_in '<SCRIPT>alert(1)</SCRIPT>x' filter -s "$B" -p response
is "$(out)" 'x' "upper-case <SCRIPT> removed"
gs_in '<script >alert(1)</script	>x' filter -s "$B" -p response
is "$(out)" 'x' "whitespace inside the tags"
gs_in 'a<script>alert(1)' filter -s "$B" -p response
is "$(out)" 'a&lt;script>alert(1)' "unclosed <script>: made text"
gs_in 'x<img src=x onerror=alert(1)' filter -s "$B" -p response
is "$(out)" 'x&lt;img src=x onerror=alert(1)' \
	"tag cut off at the end: made text, not left open"
gs_in '<img src=x onerror=alert(1)>' filter -s "$B" -p response
is "$(out)" '<img src=x>' "non-script vector: handler removed"
# Removals cannot reassemble: each round runs on the last one's output.
gs_in '<<script></script>script>alert(1)</script>' filter -s "$B" \
	-p response
is "$(out)" '&lt;script>alert(1)' "removal that would reassemble <script>"
gs_in '[a](javascript:javascript:alert(1))' filter -s "$B" -p response
is "$(out)" '[a](alert(1))' "a scheme behind a scheme"
# Deep nesting that keeps changing is escaped whole after 16 rounds.
deep=$(awk 'BEGIN { for (i = 0; i < 40; i++) printf "<"; printf "script>";
	for (i = 0; i < 40; i++) printf "</script>script>"; }')
gs_in "$deep" filter -s "$B" -p response
is "$rc" 0 "deep nesting: exit 0"
unlike "$(out)" "<script" "deep nesting: no <script left"
gs_in "$(out)" filter -s "$B" -p response -v
like "$(err)" "script-strip: pass" "deep nesting: output is stable"
# Long and many: linear, unchanged.
many=$(awk 'BEGIN { for (i = 0; i < 20000; i++) printf "a < b ] ( "; }')
gs_in "$many" filter -s "$B" -p response
is "$(out)" "$many" "20000 stray '<' and ']': unchanged"
tags=$(awk 'BEGIN { for (i = 0; i < 5000; i++) printf "<b>x</b>"; }')
gs_in "$tags" filter -s "$B" -p response
is "$(out)" "$tags" "5000 harmless tags: unchanged"
# UTF-8 around removals stays valid (the core would refuse it otherwise).
gs_in 'é<script>ü</script>ß<a href="javascript:1">ñ</a>' filter -s "$B" \
	-p response
is "$rc:$(out)" '0:éß<a>ñ</a>' "UTF-8 around removals"

# ---- escape mode -------------------------------------------------------------
gs filter -s "$STACKS/script-strip-escape.ini" -p response -v \
	<"$G/escape.in"
ok "escape: output matches escape.out" cmp -s "$T/out" "$G/escape.out"
like "$(err)" "script-strip: modified (14 removals)" \
	"escape: 14 characters escaped"

# ---- schemes setting ---------------------------------------------------------
gs filter -s "$STACKS/script-strip-schemes.ini" -p response <"$G/schemes.in"
ok "schemes = https, data_images = no: matches schemes-https.out" \
	cmp -s "$T/out" "$G/schemes-https.out"

# ---- counts in --jsonl -------------------------------------------------------
printf '%s\n' '{"text":"<b onclick=\"x()\">hi</b><script>x</script>"}' \
	'{"text":"a < b"}' >"$T/in"
gsf filter --jsonl -s "$B" -p response
is "$rc" 0 "jsonl: exit 0"
l1=$(out | sed -n 1p)
like "$l1" '"text":"<b>hi</b>","verdict":"modified"' "jsonl: line 1 stripped"
like "$l1" \
	'"filters":[{"name":"script-strip","verdict":"modified","count":2}]' \
	"jsonl: line 1 counts 2 removals"
like "$(out | sed -n 2p)" \
	'"filters":[{"name":"script-strip","verdict":"pass","count":0}]' \
	"jsonl: line 2 passes with count 0"

# ---- settings errors ---------------------------------------------------------
for pair in bad-scheme:5:"'javascript' runs or embeds code" \
	bad-mode:5:"mode = 'sanitize'" \
	bad-key:5:"unknown key 'allow_style'"; do
	name=${pair%%:*}
	rest=${pair#*:}
	line=${rest%%:*}
	msg=${rest#*:}
	gs check -s "$STACKS/script-strip-$name.ini"
	is "$rc" 2 "$name: check exits 2"
	like "$(err)" "script-strip-$name.ini:$line: [script-strip]: $msg" \
		"$name: FILE:LINE and the reason"
done

done_testing
