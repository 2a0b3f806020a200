#!/bin/sh
# SPDX-License-Identifier: MIT
# `guardstack filter --jsonl`: one answer line per input line, in order;
# malformed lines get an error line and the batch goes on.
. "$top_srcdir/tests/lib.sh"

printf '%s\n' '{"text":"one"}' 'not json' '{"text":"three"}' '{"txt":"x"}' \
	'{"text":"bad\u0000"}' '' '{"text":"six"}' >"$T/in"
	gsf filter --jsonl -s "$STACKS/append.ini"
is "$rc" 0 "jsonl: exit 0 once every line is answered"
is "$(out | wc -l | tr -d ' ')" 7 "jsonl: one output line per input line"
is "$(out | sed -n 1p)" '{"text":"one+req","verdict":"modified","reason":null,"filters":[{"name":"req","verdict":"modified","count":1}]}' \
	"jsonl: a filtered line"
like "$(out | sed -n 2p)" '{"text":null,"verdict":"error","reason":"line 2: invalid JSON at byte 0"' \
	"jsonl: a malformed line gets an error line"
like "$(out | sed -n 3p)" '{"text":"three+req","' "jsonl: the batch goes on, in order"
like "$(out | sed -n 4p)" 'line 4: expected an object with a string \"text\"' \
	"jsonl: missing text field"
like "$(out | sed -n 5p)" 'NUL character' "jsonl: NUL escape refused"
like "$(out | sed -n 6p)" '"verdict":"error"' "jsonl: empty line is an error line"
like "$(out | sed -n 7p)" '"text":"six+req"' "jsonl: last line"

# "text" twice: which one a parser takes differs, so neither is (as --json).
printf '%s\n' '{"text":"a","text":"b"}' '{"text":"a","other":1}' >"$T/in"
	gsf filter --jsonl -s "$STACKS/append.ini"
like "$(out | sed -n 1p)" 'line 1: key \"text\" appears twice' \
	"jsonl: a repeated text key refused"
like "$(out | sed -n 1p)" '{"text":null,"verdict":"error"' \
	"jsonl: a repeated text key: no text"
like "$(out | sed -n 2p)" '"text":"a+req"' "jsonl: other keys are let be"

printf '%s\n' '{"text":"x"}' >"$T/in"
	gsf filter --jsonl -s "$STACKS/control-required-continues.ini"
is "$(out)" '{"text":null,"verdict":"rejected","reason":"reason-a","filters":[{"name":"a","verdict":"rejected","count":0},{"name":"b","verdict":"modified","count":1}]}' \
	"jsonl: a rejected line has null text and the reason"

printf '%s\n' '{"text":"x"}' >"$T/in"
	gsf filter --jsonl -s "$STACKS/control-error-closed.ini"
like "$(out)" '"verdict":"error","reason":"a failed: boom"' \
	"jsonl: a failing filter gives an error verdict"

# Long lines are refused one by one; the rest goes on.
{ printf '{"text":"'; head -c 3000 /dev/zero | tr '\0' a; printf '"}\n{"text":"ok"}\n'; } >"$T/in"
	gsf filter --jsonl --max-bytes 1000 -s "$STACKS/append.ini"
like "$(out | sed -n 1p)" 'line 1 is longer than 1000 bytes' "jsonl: long line refused"
like "$(out | sed -n 2p)" '"text":"ok+req"' "jsonl: next line still answered"

# A last line without newline is answered too.
printf '{"text":"tail"}' >"$T/in"
	gsf filter --jsonl -s "$STACKS/append.ini"
like "$(out)" '"text":"tail+req"' "jsonl: final line without newline"

# A stack that fails to load is exit 2, not a line per input.
printf '{"text":"x"}\n' >"$T/in"
	gsf filter --jsonl -s "$T/nope.ini"
is "$rc" 2 "jsonl: broken stack is exit 2"

# Lines are read 64 KiB at a time: a line across that step, a long one
# spanning two steps (refused, then skipped to its end), the next intact.
a65=$(head -c 65000 /dev/zero | tr '\0' a)
printf '{"text":"%s"}\n{"text":"b"}\n{"text":"%s%s"}\n{"text":"c"}' \
	"$a65" "$a65" "$a65" >"$T/in"
	gsf filter --jsonl --max-bytes 100000 -s "$STACKS/append.ini"
is "$(out | wc -l | tr -d ' ')" 4 "jsonl: one answer per line across the 64 KiB steps"
like "$(out | sed -n 1p)" 'aaa+req"' "jsonl: a line across the step is whole"
like "$(out | sed -n 2p)" '"text":"b+req"' "jsonl: the line after it too"
like "$(out | sed -n 3p)" 'line 3 is longer than 100000 bytes' "jsonl: a line over two steps refused"
like "$(out | sed -n 4p)" '"text":"c+req"' "jsonl: and skipped to its end"

# A line is filtered as soon as it has come, not once a block of input is
# full: the logger's line for it (written at once, on stderr) is there
# while the writer still holds the pipe open.
mkfifo "$T/fifo"
{ printf '{"text":"first"}\n'; i=0
  while [ $i -lt 100 ] && ! grep -q '"outcome"' "$T/ferr" 2>/dev/null; do
	sleep 0.1; i=$((i + 1)); done
  if grep -q '"outcome"' "$T/ferr"; then echo seen >"$T/fseen"; fi
} >"$T/fifo" &
writer=$!
# shellcheck disable=SC2086
$GS_WRAP "$GS_BIN" filter --jsonl -s "$STACKS/logger-stderr.ini" \
	<"$T/fifo" >"$T/fout" 2>"$T/ferr"
wait "$writer"
is "$(cat "$T/fseen" 2>/dev/null)" seen \
	"jsonl: a line is filtered before more input comes"
like "$(cat "$T/fout")" '"text":"first"' "jsonl: and answered"

# Many lines through one process, every one answered.
awk 'BEGIN { for (i = 0; i < 5000; i++) printf "{\"text\":\"line %d\"}\n", i }' >"$T/in"
	gsf filter --jsonl -s "$STACKS/append.ini"
is "$(out | grep -c '"verdict":"modified"')" 5000 "jsonl: 5000 lines answered"
like "$(out | tail -n 1)" '{"text":"line 4999+req",' "jsonl: order kept"

done_testing
