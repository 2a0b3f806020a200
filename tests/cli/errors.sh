#!/bin/sh
# SPDX-License-Identifier: MIT
# Every configuration error stops the load with FILE:LINE: message and
# exit status 2; nothing is silently skipped.
. "$top_srcdir/tests/lib.sh"

# expect_err NAME STACKFILE-CONTENT WANT-SUBSTRING
expect_err() {
	_f="$T/$1.ini"
	printf '%s\n' "$2" >"$_f"
	gs check -s "$_f"
	is "$rc" 2 "$1: exit 2"
	like "$(err)" "$3" "$1: message"
}

expect_err syntax '[length-limit]
max 40' "$T/syntax.ini:2: syntax error"

long=$(printf '%0250d' 0)
expect_err long-line "[length-limit]
max = $long" "$T/long-line.ini:2: line longer than 198 bytes"

expect_err dup-section '[length-limit]
max = 5
[length-limit]
max = 6' "$T/dup-section.ini:3: duplicate section [length-limit] (first at line 1)"

expect_err dup-key '[length-limit]
max = 5
max = 6' "$T/dup-key.ini:3: key 'max' set twice"

expect_err indented '[length-limit]
max = 5
  unit = bytes' "$T/indented.ini:3: indented line would continue"

expect_err outside 'max = 5
[length-limit]' "$T/outside.ini:1: key 'max' outside of any section"

expect_err unknown-plugin-key '[length-limit]
maximum = 5' "$T/unknown-plugin-key.ini:2: [length-limit]: unknown key 'maximum' for plugin length-limit"

expect_err unknown-stack-key '[stack]
strickt = no' "$T/unknown-stack-key.ini:2: [stack]: unknown key 'strickt'"

expect_err bad-number '[length-limit]
max = lots' "$T/bad-number.ini:2: [length-limit]: max = 'lots': not a whole number"

expect_err out-of-range '[length-limit]
max = -1' "$T/out-of-range.ini:2: [length-limit]: max = -1: out of range"

expect_err bad-enum '[length-limit]
unit = words' "unit = 'words': expected one of: chars, bytes"

expect_err bad-control '[length-limit]
control = mandatory' "$T/bad-control.ini:2: [length-limit]: control = 'mandatory': expected required, requisite, sufficient or optional"

expect_err bad-phase '[length-limit]
phase = later' "$T/bad-phase.ini:2: [length-limit]: phase = 'later': expected request, response or both"

expect_err unsupported-phase '[length-limit]
phase = response' "phase = response: plugin length-limit does not run in the response phase"

expect_err bad-on-error '[length-limit]
on_error = shrug' "on_error = 'shrug': expected reject or ignore"

expect_err bad-role '[length-limit]
roles = user, robot' "roles: 'robot' is not a role"

expect_err bad-strict '[stack]
strict = maybe' "strict = 'maybe': expected yes or no"

expect_err missing-plugin '[no-such-filter]' \
	"$T/missing-plugin.ini:1: [no-such-filter]: plugin 'no-such-filter' not found"

expect_err so-suffix '[log]
module = logger.so' \
	"plugin 'logger.so' not found: a module name goes without .so (module = logger)"

expect_err bad-module-name '[x]
module = ../evil' "plugin $T/../evil:"

expect_err foreign-plugin '[no-entry]' \
	"is not a guardstack plugin (it exports no gs_plugin_entry)"

expect_err wrong-abi '[bad-abi]' \
	"is not binary compatible: built for plugin ABI 2.0"

expect_err wrong-name '[bad-name]' \
	"refused: descriptor's name differs from its file name ('something-else')"

expect_err bad-instance-name '[length limit]' \
	"section names are letters, digits"

printf '[length-limit]\nmax = 5\0\n' >"$T/nul.ini"
gs check -s "$T/nul.ini"
is "$rc" 2 "NUL byte: exit 2"
like "$(err)" "$T/nul.ini:2: NUL byte in stack file" "NUL byte: message"

# Bytes that are not UTF-8, here in [upstream]'s model, which would go
# into the request's JSON as it is: refused at load, with file:line.
printf '[upstream]\nurl = offline\n\nmodel = ab\377cd\n' >"$T/latin.ini"
gs check -s "$T/latin.ini"
is "$rc" 2 "invalid UTF-8 in a stack file: exit 2"
like "$(err)" "$T/latin.ini:4: not valid UTF-8 (byte 11 of the line)" \
	"invalid UTF-8 in a stack file: file, line and byte"
gs run -s "$T/latin.ini" hello
is "$rc" 2 "invalid UTF-8 in a stack file: run refuses it too"

# Includes: loops and depth.
printf '[stack]\ninclude = %s/loop-b.ini\n' "$T" >"$T/loop-a.ini"
printf '[stack]\ninclude = %s/loop-a.ini\n' "$T" >"$T/loop-b.ini"
gs check -s "$T/loop-a.ini"
is "$rc" 2 "include loop: exit 2"
like "$(err)" "include loop" "include loop: message"

i=0
while [ $i -lt 10 ]; do
	printf '[stack]\ninclude = deep%d.ini\n' $((i + 1)) >"$T/deep$i.ini"
	i=$((i + 1))
done
printf '[length-limit]\n' >"$T/deep10.ini"
gs check -s "$T/deep0.ini"
is "$rc" 2 "include depth: exit 2"
like "$(err)" "includes nested deeper than 8" "include depth: message"

printf '[stack]\ninclude = strict-child.ini\n' >"$T/strict-parent.ini"
printf '[stack]\nstrict = no\n' >"$T/strict-child.ini"
gs check -s "$T/strict-parent.ini"
like "$(err)" "strict may only be set in the top-level stack file" \
	"strict in an included file is refused"

printf '[stack]\ninclude = same-child.ini\n[length-limit]\n' >"$T/same-parent.ini"
printf '[length-limit]\n' >"$T/same-child.ini"
gs check -s "$T/same-parent.ini"
is "$rc" 2 "instance defined in parent and include: exit 2"
like "$(err)" "$T/same-parent.ini:3: filter [length-limit] already defined at $T/same-child.ini:1" \
	"instance clash names both places"

gs check -s "$T/does-not-exist.ini"
is "$rc" 2 "missing stack path: exit 2"
like "$(err)" "does-not-exist.ini" "missing stack path: names the file"

gs check -s 'bad name!'
is "$rc" 2 "invalid stack name: exit 2"
like "$(err)" "is not a stack name" "invalid stack name: message"

# Usage errors are exit 2 too.
gs filter -p sideways
is "$rc" 2 "bad -p: exit 2"
gs frobnicate
is "$rc" 2 "unknown command: exit 2"
like "$(err)" "unknown command 'frobnicate'" "unknown command: message"

# Output that cannot be written: exit 3 and why, not a silent end.  A
# full device, and a file size limit (which would otherwise end the
# process with SIGXFSZ and no message); stderr to a pipe, which the limit
# spares.
printf 'hello\n' >"$T/in"
out=$($GS_WRAP "$GS_BIN" filter -s "$STACKS/append.ini" <"$T/in" \
	2>&1 >/dev/full; echo "rc=$?")
like "$out" "writing stdout failed: No space left on device" \
	"stdout on a full device: said, with the reason"
like "$out" "rc=3" "stdout on a full device: exit 3"
out=$( (ulimit -f 0
	"$GS_BIN" filter -s "$STACKS/append.ini" <"$T/in" 2>&1 \
		>"$T/limited"; echo "rc=$?") )
like "$out" "writing stdout failed: File too large" \
	"past a file size limit: said, with the reason"
like "$out" "rc=3" "past a file size limit: exit 3 (not SIGXFSZ)"

done_testing
