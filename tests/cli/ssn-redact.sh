#!/bin/sh
# SPDX-License-Identifier: MIT
# ssn-redact end to end: every form and setting through golden files (both
# phases), idempotence, counts in -v and --jsonl, default roles in --json,
# settings errors, and a generated corpus of 2000 lines with known counts.
. "$top_srcdir/tests/lib.sh"
G="$top_srcdir/tests/golden/ssn-redact"

# ---- golden files ----------------------------------------------------------
# CASE:STACK:COUNT; the stack is tests/stacks/ssn-STACK.ini, COUNT the
# redactions in CASE.in.
for triple in forms:basic:39 negatives:basic:0 last4:last4:5 all:all:5 \
	novalidate:novalidate:6 nocontext:nocontext:1 window:window:2 \
	replacement:replacement:2; do
	c=${triple%%:*}
	rest=${triple#*:}
	s="$STACKS/ssn-${rest%%:*}.ini"
	n=${rest#*:}
	for ph in request response; do
		gs filter -s "$s" -p "$ph" <"$G/$c.in"
		is "$rc" 0 "golden $c ($ph): exit 0"
		ok "golden $c ($ph): output matches $c.out" \
			cmp -s "$T/out" "$G/$c.out"
	done
	gs filter -s "$s" -v <"$G/$c.in"
	if [ "$n" -eq 0 ]; then
		like "$(err)" "ssn-redact: pass" "golden $c: nothing counted"
	else
		like "$(err)" "ssn-redact: modified ($n redactions)" \
			"golden $c: $n redactions counted"
	fi
	# Idempotence: the output holds nothing the detector still matches.
	gs filter -s "$s" -v <"$G/$c.out"
	ok "golden $c: a second pass changes nothing" \
		cmp -s "$T/out" "$G/$c.out"
	like "$(err)" "ssn-redact: pass" "golden $c: a second pass counts 0"
done

# ---- single behaviours -------------------------------------------------------
B="$STACKS/ssn-basic.ini"
gs_in 'SSN 123-45-6789' filter -s "$B"
is "$(out)" 'SSN [SSN]' "no trailing newline: kept as is"
gs_in '' filter -s "$B"
is "$rc" 0 "empty text: exit 0"
is "$(out)" '' "empty text: stays empty"
gs_in '123-45-6789' filter -s "$B"
is "$(out)" '[SSN]' "a number that is the whole text"
gs_in 'SSN:123456789' filter -s "$B"
is "$(out)" 'SSN:[SSN]' "bare number right after its context word"
gs_in 'SSN123456789' filter -s "$B"
is "$(out)" 'SSN123456789' "bare number glued to letters is not one"
# Digit runs are found 64 bytes at a time: numbers across that step, after
# a run longer than it, and a run that is the rest of a longer one.
x59=$(printf '%059d' 0 | tr 0 x)
gs_in "${x59} 123-45-6789 and ${x59}x 456-78-9012" filter -s "$B"
is "$(out)" "${x59} [SSN] and ${x59}x [SSN]" \
	"numbers across the 64-byte steps are redacted"
d67=$(printf '%067d' 7)
gs_in "${d67} 123-45-6789 ${d67}-45-6789 1${x59} 234-56-7890" filter -s "$B"
is "$(out)" "${d67} [SSN] ${d67}-45-6789 1${x59} [SSN]" \
	"after a 67-digit run: redacted; its last three digits start none"
# The window counts from the end of the context word (30 bytes).
sp30=$(printf '%30s' '')
gs_in "SSN${sp30} 123456789" filter -s "$B"
is "$(out)" "SSN${sp30} 123456789" \
	"bare number 31 bytes after the context word: kept"
gs_in "SSN${sp30}123456789" filter -s "$B"
is "$(out)" "SSN${sp30}[SSN]" \
	"bare number 30 bytes after the context word: redacted"
gs_in "$(printf 'ssn\t123\302\24045\302\2406789')" filter -s "$B"
is "$(out)" "$(printf 'ssn\t[SSN]')" "no-break spaces form one kind"
gs_in "$(printf '123\302\24045 6789')" filter -s "$B"
is "$(out)" "$(printf '123\302\24045 6789')" \
	"a no-break space and a space are two kinds"

# ---- counts in --jsonl -------------------------------------------------------
printf '%s\n' '{"text":"SSN 123-45-6789, 234.56.7890 and 345 67 8901"}' \
	'{"text":"card 4111-1111-1111-1111"}' \
	'{"text":"ssn: 123456789"}' >"$T/in"
gsf filter --jsonl -s "$B"
is "$rc" 0 "jsonl: exit 0"
l1=$(out | sed -n 1p)
like "$l1" '"text":"SSN [SSN], [SSN] and [SSN]","verdict":"modified"' \
	"jsonl: three forms redacted"
like "$l1" '"filters":[{"name":"ssn-redact","verdict":"modified","count":3}]' \
	"jsonl: three forms, count 3"
like "$(out | sed -n 2p)" \
	'"filters":[{"name":"ssn-redact","verdict":"pass","count":0}]' \
	"jsonl: card number passes, count 0"
like "$(out | sed -n 3p)" '"text":"ssn: [SSN]","verdict":"modified"' \
	"jsonl: bare number with context"
like "$(out | sed -n 3p)" '"count":1' "jsonl: bare number counts 1"

# ---- default roles: user text in requests, the answer in responses ----------
sys='{"role":"system","content":"SSN 123-45-6789"}'
usr='{"role":"user","content":"mine is 234-56-7890"}'
want='{"role":"user","content":"mine is [SSN]"}'
gs_in "{\"messages\":[$sys,$usr]}" \
	filter --json -s "$B"
is "$(out)" "{\"messages\":[$sys,$want]}" \
	"json request: user text redacted, system prompt not"
ans='{"role":"assistant","content":"It is 123-45-6789."}'
gs_in "{\"choices\":[{\"index\":0,\"message\":$ans}]}" \
	filter --json -p response -s "$B"
like "$(out)" '"content":"It is [SSN]."' "json response: the answer redacted"

# ---- settings errors ---------------------------------------------------------
for pair in bad-mask:4:"mask = 'first4': expected one of: none, last4, all" \
	bad-key:5:"unknown key 'colour'" \
	bad-window:4:"context_window = 5000: out of range" \
	bad-combo:5:"mask = last4 replaces the digits" \
	bad-validate:4:"validate = 'maybe': expected yes or no"; do
	name=${pair%%:*}
	rest=${pair#*:}
	line=${rest%%:*}
	msg=${rest#*:}
	gs check -s "$STACKS/ssn-$name.ini"
	is "$rc" 2 "$name: check exits 2"
	like "$(err)" "ssn-$name.ini:$line: [ssn-redact]: $msg" \
		"$name: FILE:LINE and the reason"
	gs_in 'SSN 123-45-6789' filter -s "$STACKS/ssn-$name.ini"
	is "$rc" 2 "$name: filter exits 2"
	is "$(out)" '' "$name: filter prints no text"
done

# ---- generated corpus --------------------------------------------------------
# 2000 lines, each a phrase with one item that must or must not be
# redacted; the expected text and count come from the same generator.
# Every line ends in digit-free filler longer than the context window, so
# no line lends its context word to the next.
awk -v expf="$T/expect" -v cntf="$T/count" 'BEGIN {
	srand(20240601)
	ndash = "\342\200\223"
	for (i = 0; i < 2000; i++) {
		k = int(rand() * 14)
		a = 1 + int(rand() * 898)
		if (a == 666) a = 665
		g = 1 + int(rand() * 99)
		s = 1 + int(rand() * 9999)
		pos = 1
		pre = "Employee record "
		if (k == 0) x = sprintf("%03d-%02d-%04d", a, g, s)
		else if (k == 1) x = sprintf("%03d.%02d.%04d", a, g, s)
		else if (k == 2) x = sprintf("%03d %02d %04d", a, g, s)
		else if (k == 3) x = sprintf("%03d%s%02d%s%04d", a, ndash, g,
					     ndash, s)
		else if (k == 4) {
			pre = "Her SSN is "
			x = sprintf("%03d%02d%04d", a, g, s)
		} else if (k == 5) {
			pos = 0
			split("000 666 900 950 999", bad, " ")
			x = sprintf("%s-%02d-%04d", bad[1 + int(rand() * 5)],
				    g, s)
		} else if (k == 6) {
			pos = 0
			x = rand() < 0.5 ? sprintf("%03d-00-%04d", a, s) : \
				sprintf("%03d-%02d-0000", a, g)
		} else if (k == 7) {
			pos = 0
			x = sprintf("%03d-%02d.%04d", a, g, s)
		} else if (k == 8) {
			pos = 0
			pre = "Card "
			x = sprintf("4%03d-%04d-%04d-%04d", a, g * 99, s, s)
		} else if (k == 9) {
			pos = 0
			pre = "Call "
			x = rand() < 0.5 ? \
				sprintf("(%03d) %03d-%04d", a, g, s) : \
				sprintf("+1 %03d-%03d-%04d", a, g, s)
		} else if (k == 10) {
			pos = 0
			pre = "Order number "
			x = sprintf("%03d%02d%04d", a, g, s)
		} else if (k == 11) {
			pos = 0
			x = sprintf("A%03d-%02d-%04d", a, g, s)
		} else if (k == 12) {
			pos = 0
			x = sprintf("%03d-%02d-%04d.5", a, g, s)
		} else {
			pos = 0
			pre = "Version "
			x = sprintf("1.%03d.%02d.%04d", a, g, s)
		}
		post = " was noted during the quarterly payroll review."
		print pre x post
		print pre (pos ? "[SSN]" : x) post >expf
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
like "$(err)" "ssn-redact: modified ($want redactions)" \
	"corpus: $want redactions counted"
cp "$T/out" "$T/once"
gs filter -s "$B" -v <"$T/once"
ok "corpus: a second pass changes nothing" cmp -s "$T/out" "$T/once"
like "$(err)" "ssn-redact: pass" "corpus: a second pass counts 0"

# The same corpus as JSON lines: one count per line, adding up.
sed 's/.*/{"text":"&"}/' "$T/corpus" >"$T/in"
gsf filter --jsonl -s "$B"
is "$rc" 0 "corpus jsonl: exit 0"
is "$(grep -o '"count":[0-9]*' "$T/out" | cut -d: -f2 |
	awk '{ n += $1 } END { print n + 0 }')" "$want" \
	"corpus jsonl: counts add up to $want"
is "$(grep -c '"verdict":"modified"' "$T/out")" "$want" \
	"corpus jsonl: one modified line per positive"

done_testing
