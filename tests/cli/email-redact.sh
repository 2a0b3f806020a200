#!/bin/sh
# SPDX-License-Identifier: MIT
# email-redact end to end: every form and setting through golden files
# (both phases), idempotence, counts in -v and --jsonl, default roles in
# --json, settings errors, and a generated corpus of 2000 lines with known
# counts.
. "$top_srcdir/tests/lib.sh"
G="$top_srcdir/tests/golden/email-redact"

# ---- golden files ----------------------------------------------------------
# CASE:STACK:COUNT; the stack is tests/stacks/email-STACK.ini, COUNT the
# redactions in CASE.in.
for triple in forms:basic:65 negatives:basic:0 keep:keep:3 \
	replacement:replacement:2; do
	c=${triple%%:*}
	rest=${triple#*:}
	s="$STACKS/email-${rest%%:*}.ini"
	n=${rest#*:}
	for ph in request response; do
		gs filter -s "$s" -p "$ph" <"$G/$c.in"
		is "$rc" 0 "golden $c ($ph): exit 0"
		ok "golden $c ($ph): output matches $c.out" \
			cmp -s "$T/out" "$G/$c.out"
	done
	gs filter -s "$s" -v <"$G/$c.in"
	if [ "$n" -eq 0 ]; then
		like "$(err)" "email-redact: pass" "golden $c: nothing counted"
	else
		like "$(err)" "email-redact: modified ($n redactions)" \
			"golden $c: $n redactions counted"
	fi
	# Idempotence: the output holds nothing the detector still matches
	# (keep_domain's "[EMAIL]@example.com" included).
	gs filter -s "$s" -v <"$G/$c.out"
	ok "golden $c: a second pass changes nothing" \
		cmp -s "$T/out" "$G/$c.out"
	like "$(err)" "email-redact: pass" "golden $c: a second pass counts 0"
done

# ---- single behaviours -------------------------------------------------------
B="$STACKS/email-basic.ini"
gs_in 'a@example.com' filter -s "$B"
is "$(out)" '[EMAIL]' "an address that is the whole text"
gs_in '' filter -s "$B"
is "$rc" 0 "empty text: exit 0"
gs_in 'no at sign here, just prose.' filter -s "$B" -v
is "$(out)" 'no at sign here, just prose.' "text without '@' unchanged"
like "$(err)" "email-redact: pass" "text without '@': pass"
# Whole or nothing: the longest address is replaced, never a part of it.
gs_in 'x first.last+tag@sub.example.co.uk y' filter -s "$B"
is "$(out)" 'x [EMAIL] y' "no half-redaction of a long address"
# A local part is at most 256 bytes; a longer run is not an address.
long=$(awk 'BEGIN { for (i = 0; i < 300; i++) printf "a" }')
gs_in "${long}@example.com" filter -s "$B"
is "$(out)" "${long}@example.com" "a 300-byte local part is not one"
ok256=$(awk 'BEGIN { for (i = 0; i < 256; i++) printf "a" }')
gs_in "${ok256}@example.com" filter -s "$B"
is "$(out)" "[EMAIL]" "a 256-byte local part is one"
# A label is at most 63 characters.
lab=$(awk 'BEGIN { for (i = 0; i < 64; i++) printf "b" }')
gs_in "a@${lab}.com" filter -s "$B"
is "$(out)" "a@${lab}.com" "a 64-character label is not a domain"
gs_in "a@${lab#b}.com" filter -s "$B"
is "$(out)" "[EMAIL]" "a 63-character label is"
# Many '@' in a row stay linear and untouched.
ats=$(awk 'BEGIN { for (i = 0; i < 5000; i++) printf "a@" }')
gs_in "$ats" filter -s "$B"
is "$(out)" "$ats" "5000 '@' without domains: unchanged"

# ---- counts in --jsonl -------------------------------------------------------
printf '%s\n' '{"text":"a@b.com, \"c d\"@e.org and f@[192.0.2.1]"}' \
	'{"text":"@Override npm i @scope/pkg@1.2.3"}' \
	'{"text":"josé@exämple.de"}' >"$T/in"
gsf filter --jsonl -s "$B"
is "$rc" 0 "jsonl: exit 0"
l1=$(out | sed -n 1p)
like "$l1" '"text":"[EMAIL], [EMAIL] and [EMAIL]","verdict":"modified"' \
	"jsonl: three addresses redacted"
like "$l1" \
	'"filters":[{"name":"email-redact","verdict":"modified","count":3}]' \
	"jsonl: three addresses, count 3"
like "$(out | sed -n 2p)" \
	'"filters":[{"name":"email-redact","verdict":"pass","count":0}]' \
	"jsonl: decorator and package pass, count 0"
like "$(out | sed -n 3p)" '"text":"[EMAIL]","verdict":"modified"' \
	"jsonl: UTF-8 address"

# ---- default roles -----------------------------------------------------------
sys='{"role":"system","content":"ops@example.com"}'
usr='{"role":"user","content":"I am jo@example.com"}'
want='{"role":"user","content":"I am [EMAIL]"}'
gs_in "{\"messages\":[$sys,$usr]}" \
	filter --json -s "$B"
is "$(out)" "{\"messages\":[$sys,$want]}" \
	"json request: user text redacted, system prompt not"
ans='{"role":"assistant","content":"Write to jo@example.com."}'
gs_in "{\"choices\":[{\"index\":0,\"message\":$ans}]}" \
	filter --json -p response -s "$B"
like "$(out)" '"content":"Write to [EMAIL]."' "json response: the answer"

# ---- settings errors ---------------------------------------------------------
for pair in bad-key:5:"unknown key 'mask'" \
	bad-bool:4:"keep_domain = 'sometimes': expected yes or no" \
	bad-keep:5:"keep_domain = yes needs a replacement that ends in"; do
	name=${pair%%:*}
	rest=${pair#*:}
	line=${rest%%:*}
	msg=${rest#*:}
	gs check -s "$STACKS/email-$name.ini"
	is "$rc" 2 "$name: check exits 2"
	like "$(err)" "email-$name.ini:$line: [email-redact]: $msg" \
		"$name: FILE:LINE and the reason"
	gs_in 'a@example.com' filter -s "$STACKS/email-$name.ini"
	is "$rc" 2 "$name: filter exits 2"
	is "$(out)" '' "$name: filter prints no text"
done

# ---- generated corpus --------------------------------------------------------
# 2000 lines, each a phrase with one item that must or must not be
# redacted; the expected text and count come from the same generator.
awk -v expf="$T/expect" -v cntf="$T/count" 'BEGIN {
	srand(20240602)
	split("anna bob chen dana eve farid gus hana ivan jo", first, " ")
	split("smith lee o'\''neil garcia kim novak patel", last, " ")
	split("example.com mail.example.org corp.example.co.uk " \
	      "xn--bcher-kva.example exämple.de example.io", dom, " ")
	for (i = 0; i < 2000; i++) {
		k = int(rand() * 14)
		f = first[1 + int(rand() * 10)]
		l = last[1 + int(rand() * 7)]
		d = dom[1 + int(rand() * 6)]
		pos = 1
		pre = "Please write to "
		post = " before Friday."
		if (k == 0) x = f "." l "@" d
		else if (k == 1) x = f "+tag" i "@" d
		else if (k == 2) x = toupper(f) "@" toupper(d)
		else if (k == 3) x = "\"" f " " l "\"@" d
		else if (k == 4) x = f "@[192.0.2." (i % 256) "]"
		else if (k == 5) { x = f "@" d; post = ". Thanks." }
		else if (k == 6) { pre = "Contact: <"; x = f "@" d; post = ">" }
		else if (k == 7) x = "josé" i "@" d
		else if (k == 8) { pos = 0; pre = "Ping "; x = "@" f }
		else if (k == 9) {
			pos = 0
			pre = "Install "
			x = "@scope/" f "@" (i % 10) "." (i % 7) ".1"
		} else if (k == 10) { pos = 0; x = f "@host" }
		else if (k == 11) { pos = 0; pre = "See "; x = f "@2x.png" }
		else if (k == 12) { pos = 0; pre = "CSS "; x = "@media print" }
		else { pos = 0; x = f "@example.c" }
		print pre x post
		print pre (pos ? "[EMAIL]" : x) post >expf
		n += pos
	}
	print n >cntf
}' >"$T/corpus"
want=$(cat "$T/count")
ok "corpus: 2000 lines" test "$(wc -l <"$T/corpus" | tr -d ' ')" = 2000
ok "corpus: has positives and negatives" \
	test "$want" -gt 500 -a "$want" -lt 1500
gs filter -s "$B" -v <"$T/corpus"
is "$rc" 0 "corpus: exit 0"
ok "corpus: output is the expected text" cmp -s "$T/out" "$T/expect"
if ! cmp -s "$T/out" "$T/expect"; then
	diff "$T/expect" "$T/out" | head -20 | sed 's/^/# /'
fi
like "$(err)" "email-redact: modified ($want redactions)" \
	"corpus: $want redactions counted"
cp "$T/out" "$T/once"
gs filter -s "$B" -v <"$T/once"
ok "corpus: a second pass changes nothing" cmp -s "$T/out" "$T/once"
like "$(err)" "email-redact: pass" "corpus: a second pass counts 0"

# The same corpus as JSON lines: one count per line, adding up.
sed 's/\\/\\\\/g; s/"/\\"/g; s/.*/{"text":"&"}/' "$T/corpus" >"$T/in"
gsf filter --jsonl -s "$B"
is "$rc" 0 "corpus jsonl: exit 0"
is "$(grep -o '"count":[0-9]*' "$T/out" | cut -d: -f2 |
	awk '{ n += $1 } END { print n + 0 }')" "$want" \
	"corpus jsonl: counts add up to $want"
is "$(grep -c '"verdict":"modified"' "$T/out")" "$want" \
	"corpus jsonl: one modified line per positive"

# keep_domain on the corpus: every positive keeps its domain.
gs filter -s "$STACKS/email-keep.ini" <"$T/corpus"
is "$(grep -c '\[EMAIL\]@' "$T/out")" "$want" \
	"corpus keep_domain: [EMAIL]@domain on every positive line"

done_testing
