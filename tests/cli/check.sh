#!/bin/sh
# SPDX-License-Identifier: MIT
# `guardstack check`: the resolved stack, name resolution and fallback.
. "$top_srcdir/tests/lib.sh"

gs check -s "$STACKS/order.ini"
is "$rc" 0 "check of a valid stack exits 0"
like "$(out)" "[base-one] module gs-debug" "included filters are listed"
like "$(out)" "control optional, on_error ignore, phase response, roles default" \
	"core keys are resolved"
like "$(out)" "append = -second" "plugin settings are shown"
# Included filters come first, then the file's own, in file order.
order=$(out | sed -n 's/^ *[0-9]*\. \[\([^]]*\)\].*/\1/p' | tr '\n' ' ')
is "$order" "base-one base-two first second third " "run order"

# Names resolve in GUARDSTACK_CONFDIR; a missing one falls back.
mkdir "$T/conf"
printf '[length-limit]\nmax = 7\n' >"$T/conf/chat.ini"
printf '[length-limit]\nmax = 9\n' >"$T/conf/default.ini"
GUARDSTACK_CONFDIR="$T/conf" gs check -s chat
like "$(out)" "stack chat: $T/conf/chat.ini" "a name reads CONFDIR/NAME.ini"
unlike "$(out)" "fallback" "no fallback note when the stack exists"
GUARDSTACK_CONFDIR="$T/conf" gs check -s billing
is "$rc" 0 "a missing application stack falls back"
like "$(out)" "note: no stack file for 'billing'; using the fallback default.ini" \
	"check says so"
like "$(out)" "max = 9" "the fallback's filters are used"
rm "$T/conf/default.ini"
GUARDSTACK_CONFDIR="$T/conf" gs check -s billing
is "$rc" 2 "no stack and no default.ini: exit 2"
like "$(err)" "no stack 'billing'" "no stack and no default.ini: message"

# The shipped default stack loads.
gs check -s default
is "$rc" 0 "the shipped default stack loads"

gs --version
like "$(out)" "plugin ABI 1.0" "--version names the plugin ABI"
gs --help
is "$rc" 0 "--help exits 0"
like "$(out)" "Exit status: 0 passed" "--help documents exit codes"

done_testing
