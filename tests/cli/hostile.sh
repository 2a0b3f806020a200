#!/bin/sh
# SPDX-License-Identifier: MIT
# Hostile input, each case bounded in time and memory and answered with a
# clear error: huge bodies, deep nesting, NUL bytes, invalid UTF-8, stack
# files with thousands of sections or a runaway include fan-out, plugins
# that crash or are built wrong, files others can write, and allocation
# failure at every point of a CLI run.  (errors.sh, perms.sh, filter.sh and
# jsonl.sh cover the plain cases; this file the hostile ones.)
#
# The size, time and crash cases run the binary directly, not under
# GS_WRAP: they measure time and memory, which valgrind would distort
# (the ASan pass still builds the binary itself with sanitizers).
. "$top_srcdir/tests/lib.sh"

LL="$STACKS/length-limit-default.ini"
AP="$STACKS/append.ini"
pass=${GS_PASS:-plain}

# run ARGS...: the CLI without GS_WRAP, stdin as the caller redirects it;
# sets rc, secs (wall clock) and kb (peak RSS, or empty).  At the end of a
# pipeline it runs in a subshell: `fetch` then reads what it found.
run() {
	_t0=$(date +%s)
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f %M -o "$T/rss" "$GS_BIN" "$@" >"$T/out" 2>"$T/err"
		rc=$?
		kb=$(tail -n 1 "$T/rss")
	else
		"$GS_BIN" "$@" >"$T/out" 2>"$T/err"
		rc=$?
		kb=
	fi
	secs=$(( $(date +%s) - _t0 ))
	echo "$rc $secs $kb" >"$T/stat"
}
fetch() { read -r rc secs kb <"$T/stat"; }
zeros() { head -c "$1" /dev/zero | tr '\0' "${2:-a}"; }
within() { # within SECONDS NAME
	ok "$2: done in ${secs} s (bound $1 s)" test "$secs" -le "$1"
}

# ---- huge bodies -------------------------------------------------------
zeros 100000000 | run filter -s "$LL"; fetch
is "$rc" 4 "100 MB body over the default --max-bytes: exit 4"
like "$(err)" "input is larger than 67108864 bytes" "100 MB body: says the limit"
is "$(wc -c <"$T/out" | tr -d ' ')" 0 "100 MB body: nothing on stdout"
within 30 "100 MB body"

zeros 60000000 | run filter -s "$LL"; fetch
is "$rc" 0 "60 MB text through length-limit: exit 0"
is "$(wc -c <"$T/out" | tr -d ' ')" 4000 "60 MB text: cut to the default 4000"
within 30 "60 MB text"
# Input buffer plus the call's copy of the text, and little else.  ASan's
# shadow memory and quarantine double that, so its pass gets more room.
if [ -n "$kb" ]; then
	bound=250000
	[ "$pass" = asan ] && bound=600000
	echo "# 60 MB text: peak RSS $kb kB ($pass build)"
	ok "60 MB text: peak RSS $kb kB <= $bound kB" test "$kb" -le "$bound"
else
	echo "ok $((_n + 1)) # SKIP no /usr/bin/time"; _n=$((_n + 1))
fi

# One 70 MB --jsonl line: refused, in constant memory, and the batch goes on.
{ printf '{"text":"'; zeros 70000000; printf '"}\n{"text":"next"}\n'; } |
	run filter --jsonl -s "$AP"; fetch
is "$rc" 0 "70 MB jsonl line: exit 0"
like "$(sed -n 1p "$T/out")" "line 1 is longer than 67108864 bytes" \
	"70 MB jsonl line: refused with the limit"
like "$(sed -n 2p "$T/out")" '"text":"next+req"' "70 MB jsonl line: next line answered"
within 30 "70 MB jsonl line"

# ---- deep nesting --------------------------------------------------------
deep() { # deep PREFIX N SUFFIX: PREFIX, N '[', N ']', SUFFIX
	printf '%s' "$1"; zeros "$2" '['; zeros "$2" ']'; printf '%s' "$3"
}
deep '{"messages":[{"role":"user","content":"x"}],"x":' 100000 '}' |
	run filter --json -s "$AP"; fetch
is "$rc" 4 "request nested 100000 deep: exit 4"
like "$(err)" "request: JSON nested deeper than 1000 levels at byte" \
	"request nested 100000 deep: says so"
within 10 "request nested 100000 deep"

deep '{"choices":[{"message":{"role":"assistant","content":"x"}}],"x":' \
	100000 '}' | run filter --json -p response -s "$AP"; fetch
is "$rc" 4 "response nested 100000 deep: exit 4"
like "$(err)" "response: JSON nested deeper than 1000 levels" \
	"response nested 100000 deep: says so"

{ deep '{"text":"x","y":' 100000 '}'; printf '\n{"text":"z"}\n'; } |
	run filter --jsonl -s "$AP"; fetch
is "$rc" 0 "jsonl line nested 100000 deep: exit 0"
like "$(sed -n 1p "$T/out")" '"verdict":"error","reason":"line 1: invalid JSON' \
	"jsonl line nested 100000 deep: an error line"
like "$(sed -n 2p "$T/out")" '"text":"z+req"' "jsonl nested: next line answered"

# Under the limit, nesting is fine and kept.
deep '{"messages":[{"role":"user","content":"x"}],"x":' 900 '}' >"$T/in"
gsf filter --json -s "$AP"
is "$rc" 0 "request nested 900 deep: accepted"
like "$(out)" '[[[[[[[[]]]]]]]]' "request nested 900 deep: kept"

# ---- NUL bytes and invalid UTF-8 ------------------------------------------
printf '{"messages":[{"role":"user","content":"x"}]\0}' >"$T/in"
gsf filter --json -s "$AP"
is "$rc" 4 "raw NUL byte in a JSON body: exit 4"
like "$(err)" "NUL byte at offset 43" "raw NUL byte in JSON: offset"

printf '{"text":"a"}\0\n{"text":"b"}\n' >"$T/in"
gsf filter --jsonl -s "$AP"
like "$(out | sed -n 1p)" 'NUL byte at offset 12' "raw NUL in a jsonl line: error line"
like "$(out | sed -n 2p)" '"text":"b+req"' "raw NUL in a jsonl line: next line answered"

# Each case: bytes (printf), expected offset.
utf8() { # NAME BYTES OFFSET
	printf "ab$2cd" >"$T/in"
	gsf filter -s "$AP"
	is "$rc" 4 "$1: exit 4"
	like "$(err)" "invalid UTF-8 at byte $3" "$1: offset"
}
utf8 "overlong '/' (C0 AF)" '\300\257' 2
utf8 "overlong 3-byte (E0 80 AF)" '\340\200\257' 2
utf8 "UTF-16 surrogate (ED A0 80)" '\355\240\200' 2
utf8 "past U+10FFFF (F4 90 80 80)" '\364\220\200\200' 2
utf8 "5-byte form (F8 88 80 80 80)" '\370\210\200\200\200' 2
utf8 "lone continuation byte" '\200' 2
utf8 "sequence cut short" '\342\202' 2
printf 'abc\342\202' >"$T/in"
gsf filter -s "$AP"
like "$(err)" "invalid UTF-8 at byte 3" "sequence cut by the end of input: offset"

printf '{"messages":[{"role":"user","content":"a\\ud800b"}]}' >"$T/in"
gsf filter --json -s "$AP"
is "$rc" 4 "lone surrogate escape \\ud800: exit 4"
printf '{"messages":[{"role":"user","content":"\\udc00"}]}' >"$T/in"
gsf filter --json -s "$AP"
is "$rc" 4 "lone low surrogate escape \\udc00: exit 4"
printf '{"messages":[{"role":"user","content":"\\ud83d\\ude00"}]}' >"$T/in"
gsf filter --json -s "$AP"
is "$rc" 0 "a surrogate pair escape is fine"

# Keys twice: guardstack would filter one copy while the model (or the
# client) may read the other.  dupkey JSON PHASE WHERE LABEL: refused with
# exit 4, the message naming WHERE (when given).
dupkey() {
	printf '%s' "$1" >"$T/in"
	gsf filter --json -p "$2" -s "$AP"
	is "$rc" 4 "$4: exit 4"
	[ -z "$3" ] || like "$(err)" "$3" "$4: names where"
}
dupkey '{"messages":[{"role":"user","content":"a","content":"b"}]}' request \
	'request.messages[0]: key "content" appears twice' "duplicate content key"
dupkey '{"messages":[{"role":"user","content":"a"}],"messages":[]}' request \
	'' "duplicate messages key"
dupkey '{"choices":[{"message":{"role":"assistant","content":"a","role":"user"}}]}' \
	response '' "duplicate role key in an answer"
# Objects of more than 16 keys are checked by sorting them, fewer pairwise.
keys=$(i=0; while [ $i -lt 20 ]; do printf '"k%d":%d,' $i $i; i=$((i + 1)); done)
dupkey "{\"metadata\":{\"a\":{$keys\"k7\":0}},\"messages\":[]}" request \
	'request.metadata.a: key "k7" appears twice' \
	"duplicate key among 21 in a nested object"
dupkey '{"messages":[{"role":"user","content":"a","x":[{"p":1,"q":2,"p":3}]}]}' \
	request 'request.messages[0].x[0]: key "p" appears twice' \
	"duplicate key in an object in an array in a message"
printf '{"metadata":{"a":{%s"k20":0}},"messages":[{"role":"user","content":"a"}]}' "$keys" >"$T/in"
gsf filter --json -s "$AP"
is "$rc" 0 "21 different keys: fine"

# ---- stack files ----------------------------------------------------------
i=0
: >"$T/many.ini"
while [ $i -lt 5000 ]; do
	printf '[f%d]\nmodule = gs-debug\n' $i
	i=$((i + 1))
done >"$T/many.ini"
printf 'x' | run filter -s "$T/many.ini"; fetch
is "$rc" 0 "5000 sections: loads and filters"
is "$(out)" "x" "5000 sections: content passes"
echo "# 5000 sections: ${secs} s, peak RSS ${kb:-?} kB"
within 20 "5000 sections"
run check -s "$T/many.ini"
is "$(grep -c '^ *[0-9]*\. \[f[0-9]*\] module gs-debug' "$T/out")" 5000 \
	"5000 sections: check lists them all"

zeros 10000000 x >"$T/long.ini"
run check -s "$T/long.ini"
is "$rc" 2 "10 MB line in a stack file: exit 2"
like "$(err)" "$T/long.ini:1: line longer than" "10 MB line: FILE:LINE"
within 5 "10 MB line"
rm -f "$T/long.ini"

printf '[stack]\ninclude = self.ini\n' >"$T/self.ini"
gs check -s "$T/self.ini"
is "$rc" 2 "a file including itself: exit 2"
like "$(err)" "include loop" "a file including itself: include loop"

# Each level includes the next 16 times: 16^6 loads without a total bound.
mkdir "$T/fan"
for l in 1 2 3 4 5 6; do
	{ printf '[stack]\ninclude = '
	  k=0; while [ $k -lt 15 ]; do printf 'l%d.ini, ' $((l + 1)); k=$((k + 1)); done
	  printf 'l%d.ini\n' $((l + 1)); } >"$T/fan/l$l.ini"
done
printf '[stack]\n' >"$T/fan/l7.ini"
run check -s "$T/fan/l1.ini"
is "$rc" 2 "include fan-out: exit 2"
like "$(err)" "more than 64 stack files read for one stack" "include fan-out: says so"
within 5 "include fan-out"

# A diamond is not a loop: d.ini is read twice and defines nothing.
printf '[stack]\ninclude = b.ini, c.ini\n[length-limit]\n' >"$T/a.ini"
printf '[stack]\ninclude = d.ini\n' >"$T/b.ini"
printf '[stack]\ninclude = d.ini\n' >"$T/c.ini"
printf '[stack]\n' >"$T/d.ini"
gs check -s "$T/a.ini"
is "$rc" 0 "an include diamond loads"

# ---- plugins that crash or are built wrong --------------------------------
# A plugin runs inside the process (as a PAM module does): a crash in it
# cannot be survived.  What guardstack guarantees is that the process dies
# of it, with nothing passed on, after a word on stderr.  (In the ASan
# pass, UBSan catches the NULL store first and reports it instead.)
crash() { # NAME STACK-CONTENT
	printf '%s\n' "$2" >"$T/crash.ini"
	printf 'secret text' | run filter -s "$T/crash.ini"; fetch
	ok "$1: exits with a failure (status $rc)" test "$rc" -ne 0 -a "$rc" -ne 1
	is "$(wc -c <"$T/out" | tr -d ' ')" 0 "$1: nothing on stdout"
	if [ "$pass" = asan ]; then
		ok "$1: a report on stderr" test -s "$T/err"
	else
		ok "$1: killed by the signal (status $rc)" test "$rc" -gt 128
		like "$(err)" "guardstack: SIGSEGV: crashed (a plugin or guardstack itself); nothing was passed on" \
			"$1: says it crashed"
	fi
}
crash "plugin crashing in create()" '[crash-create]'
crash "plugin crashing in the request phase" '[crash-create]
at = request'

wrong() { # NAME MODULE WANT
	printf '[x]\nmodule = %s\n' "$2" >"$T/wrong.ini"
	gs check -s "$T/wrong.ini"
	is "$rc" 2 "$1: exit 2"
	like "$(err)" "$3" "$1: message"
}
wrong "plugin for a newer minor ABI" bad-minor \
	"plugin $top_builddir/tests/plugins/.libs/bad-minor.so needs plugin ABI 1.1, this guardstack has 1.0; upgrade guardstack"
wrong "truncated descriptor" bad-size \
	"refused: descriptor smaller than its ABI version requires (mangled)"
wrong "phase without its callback" no-callback \
	"refused: supports the response phase but has no response callback"
printf 'not an ELF file\n' >"$T/junk.so"
wrong "a text file as plugin" ./junk.so "cannot load plugin: $T/./junk.so:"
: >"$T/empty.so"
wrong "an empty file as plugin" ./empty.so "cannot load plugin: $T/./empty.so:"
mkdir "$T/dir.so"
wrong "a directory as plugin" ./dir.so "cannot load plugin"

# ---- files others can write -------------------------------------------------
mkdir "$T/w"
printf '[stack]\ninclude = inc.ini\n' >"$T/w/top.ini"
printf '[length-limit]\n' >"$T/w/inc.ini"
chmod 666 "$T/w/inc.ini"
gs check -s "$T/w/top.ini"
is "$rc" 2 "included file writable by others: exit 2"
like "$(err)" "$T/w/inc.ini: writable by others" "included file: named"

printf '[length-limit]\n' >"$T/w/target.ini"
chmod 666 "$T/w/target.ini"
ln -s target.ini "$T/w/link.ini"
gs check -s "$T/w/link.ini"
is "$rc" 2 "symlink to a file writable by others: exit 2"
like "$(err)" "writable by others" "symlink: the target is checked"

# Sticky directories are trusted only when root owns them (/tmp).
if [ "$(id -u)" -ne 0 ]; then
	mkdir "$T/sticky"
	chmod 1777 "$T/sticky"
	printf '[length-limit]\n' >"$T/sticky/s.ini"
	gs check -s "$T/sticky/s.ini"
	is "$rc" 2 "sticky world-writable directory not owned by root: exit 2"
	like "$(err)" "$T/sticky: writable by others" "sticky directory: named"
else
	echo "ok $((_n + 1)) # SKIP root owns every directory it makes"
	echo "ok $((_n + 2)) # SKIP root owns every directory it makes"
	_n=$((_n + 2))
fi

mkdir "$T/wp"
cp "$top_builddir/tests/plugins/.libs/gs-debug.so" "$T/wp/gs-debug.so"
chmod 777 "$T/wp"
printf '[gs-debug]\n' >"$T/wplug.ini"
GUARDSTACK_PLUGIN_PATH="$T/wp" gs check -s "$T/wplug.ini"
is "$rc" 2 "plugin directory on the path writable by others: exit 2"
like "$(err)" "$T/wp: writable by others" "plugin path directory: named"
chmod 755 "$T/wp"

# ---- allocation failure at every point of a CLI run -------------------------
# GUARDSTACK_FAIL_ALLOC=N+ fails the Nth allocation and all after it, as
# running out of memory does.  Each run must end in the right output or
# exit 3 with a message: never a crash, a leak (the ASan pass), another
# exit status, or a different output.  (test-allocfail sweeps the library
# and the --jsonl line code in-process; these are the CLI's own paths.)
# The libtool wrapper script costs more than a run itself: libtool tells
# the real binary and the library path once.
"$top_builddir/libtool" --mode=execute sh -c \
	'printf "%s\n%s\n" "$0" "${LD_LIBRARY_PATH:-}"' "$GS_BIN" >"$T/real"
real_bin=$(sed -n 1p "$T/real")
real_lib=$(sed -n 2p "$T/real")
sweep() { # NAME EXPECTED-OUTPUT ARGS...: stdin from $T/sweep-in
	sw_name=$1 sw_want=$2; shift 2
	sw_bad=0 sw_n=0 sw_clean=0 sw_last=0
	while [ "$sw_clean" -lt 3 ] && [ "$sw_n" -lt 400 ]; do
		sw_n=$((sw_n + 1))
		GUARDSTACK_FAIL_ALLOC="$sw_n+" LD_LIBRARY_PATH="$real_lib" \
			"$real_bin" "$@" <"$T/sweep-in" >"$T/sout" 2>"$T/serr"
		sw_rc=$?
		if [ "$sw_rc" -eq 0 ] && [ "$(cat "$T/sout")" = "$sw_want" ]; then
			sw_clean=$((sw_clean + 1))
			continue
		fi
		sw_clean=0 sw_last=$sw_n
		if [ "$sw_rc" -ne 3 ] || [ ! -s "$T/serr" ]; then
			sw_bad=$((sw_bad + 1))
			[ "$sw_bad" -le 3 ] && printf '# %s: allocation %d+: status %d: %s\n' \
				"$sw_name" "$sw_n" "$sw_rc" "$(head -c 200 "$T/serr")"
		fi
	done
	echo "# $sw_name: $sw_last allocation points"
	ok "$sw_name: failing every allocation from N on, for N = 1..$sw_last: exit 3 with a message, or the right output" \
		test "$sw_bad" -eq 0 -a "$sw_last" -gt 0
}
printf 'hello world, more than twelve' >"$T/sweep-in"
sweep "filter (text)" "hello world, more than twelve+req" filter -s "$AP"
printf '{"model":"m","messages":[{"role":"user","content":"hi"}],"t":1}' >"$T/sweep-in"
sweep "filter --json" '{"model":"m","t":1,"messages":[{"role":"user","content":"hi+req"}]}' \
	filter --json -s "$AP"
printf '{"text":"a"}\nnot json\n' >"$T/sweep-in"
sweep "filter --jsonl" '{"text":"a+req","verdict":"modified","reason":null,"filters":[{"name":"req","verdict":"modified","count":1}]}
{"text":null,"verdict":"error","reason":"line 2: invalid JSON at byte 0","filters":[]}' \
	filter --jsonl -s "$AP"

done_testing
