#!/bin/sh
# SPDX-License-Identifier: MIT
# Stack files, plugins and their directories that others could write are
# refused unless the stack says strict = no.
. "$top_srcdir/tests/lib.sh"

mkdir "$T/loose"
printf '[length-limit]\n' >"$T/loose/s.ini"
chmod 664 "$T/loose/s.ini"
gs check -s "$T/loose/s.ini"
is "$rc" 2 "group-writable stack file: exit 2"
like "$(err)" "$T/loose/s.ini: writable by group" "group-writable stack file: message"
like "$(err)" "chmod go-w" "group-writable stack file: says what to do"

chmod 644 "$T/loose/s.ini"
chmod 777 "$T/loose"
gs check -s "$T/loose/s.ini"
is "$rc" 2 "stack in a world-writable directory: exit 2"
like "$(err)" "$T/loose: writable by others (refused: directory of" \
	"world-writable directory: message"

printf '[stack]\nstrict = no\n[length-limit]\n' >"$T/loose/lax.ini"
chmod 666 "$T/loose/lax.ini"
gs check -s "$T/loose/lax.ini"
is "$rc" 0 "strict = no accepts loose permissions"
like "$(out)" "strict: no" "check shows strict = no"

# A plugin in a writable directory, named by path.
mkdir "$T/plug"
cp "$top_builddir/plugins/.libs/length-limit.so" "$T/plug/length-limit.so"
chmod 777 "$T/plug"
printf '[ll]\nmodule = %s/plug/length-limit.so\n' "$T" >"$T/byplug.ini"
gs check -s "$T/byplug.ini"
is "$rc" 2 "plugin in a world-writable directory: exit 2"
like "$(err)" "$T/byplug.ini:1: [ll]: $T/plug: writable by others" \
	"plugin in a writable directory: message"
chmod 755 "$T/plug"
chmod 666 "$T/plug/length-limit.so"
gs check -s "$T/byplug.ini"
is "$rc" 2 "world-writable plugin: exit 2"
chmod 644 "$T/plug/length-limit.so"
gs check -s "$T/byplug.ini"
is "$rc" 0 "plugin by path, safe permissions: loads"

# Owned by another user (only root can make such a file).
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	printf '[length-limit]\n' >"$T/theirs.ini"
	chown nobody "$T/theirs.ini"
	gs check -s "$T/theirs.ini"
	is "$rc" 2 "stack owned by another user: exit 2"
	like "$(err)" "not by root or you" "other owner: message"
else
	echo "ok $((_n + 1)) # SKIP needs root to chown"; _n=$((_n + 1))
	echo "ok $((_n + 1)) # SKIP needs root to chown"; _n=$((_n + 1))
fi

done_testing
