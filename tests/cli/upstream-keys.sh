#!/bin/sh
# SPDX-License-Identifier: MIT
# Key sources (env:, file:, cmd:, gcp:), what each refuses, and the canary
# sweep: a key is in no output, no file guardstack writes (the logger's),
# and no program's argv.  Core dumps are off while a key is in memory.
. "$top_srcdir/tests/lib.sh"
KEY=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
KEY="sk-CANARY-$KEY"
FAKE_GCP_SECRET=$KEY
export FAKE_GCP_SECRET
. "$top_srcdir/tests/fake-mistral/fake.sh"
fake_start
auth() { fake_new auth; }
# use NAME KEYS [LINES...]: a stack with these key sources, which also
# logs every call to calls.log beside it.
use() {
	_un=$1 _uk=$2
	shift 2
	up_stack "$_un" ok "keys = $_uk" 'retries = 0' "$@" \
		'[logger]' 'file = calls.log'
}

# env:
MY_KEY=$KEY
export MY_KEY
use env 'env:MY_KEY'
fake_mark
gs run -s "$T/env.ini" "hi"
is "$rc/$(auth)" "0/Bearer $KEY" "env:NAME"
use unset 'env:NOT_SET_ANYWHERE'
gs run -s "$T/unset.ini" "hi"
is "$rc" 2 "env: unset: exit 2"
like "$(err)" "NOT_SET_ANYWHERE not set" "env: unset: message"

# file: mode 0600 or 0400, owned by the user, trailing newline trimmed,
# relative to the stack's directory.
printf '%s\n' "$KEY" >"$T/key.txt"
chmod 600 "$T/key.txt"
use file 'file:key.txt'
fake_mark
gs run -s "$T/file.ini" "hi"
is "$rc/$(auth)" "0/Bearer $KEY" "file: 0600, newline trimmed, relative path"
chmod 400 "$T/key.txt"
fake_mark
gs run -s "$T/file.ini" "hi"
is "$rc/$(auth)" "0/Bearer $KEY" "file: 0400"
chmod 644 "$T/key.txt"
gs run -s "$T/file.ini" "hi"
is "$rc" 2 "file: 0644 refused: exit 2"
like "$(err)" "key.txt: mode 0644; a key file must be 0600 or 0400" \
	"file: the mode is named"
chmod 600 "$T/key.txt"
ln -s key.txt "$T/link.txt"
use link 'file:link.txt'
gs run -s "$T/link.ini" "hi"
like "$(err)" "link.txt: a symbolic link" "file: a symlink is refused"
if [ "$(id -u)" -eq 0 ]; then
	cp "$T/key.txt" "$T/other.txt"
	chown 65534 "$T/other.txt"
	use other 'file:other.txt'
	gs run -s "$T/other.ini" "hi"
	like "$(err)" "other.txt: owned by uid 65534, not by you" \
		"file: someone else's file is refused"
fi
printf 'sk-one\nsk-two\n' >"$T/two.txt"
chmod 600 "$T/two.txt"
use two 'file:two.txt'
gs run -s "$T/two.ini" "hi"
like "$(err)" "two.txt: the key has a space, control or non-ASCII character at byte 6" \
	"file: two lines are refused (no header injection)"

# cmd: no shell, arguments as written, first line, a timeout, and the
# process it runs from has core dumps off.
cat >"$T/getkey" <<EOF
#!/bin/sh
for a in "\$@"; do printf '[%s]' "\$a"; done >"$T/args"
grep 'Max core file size' /proc/\$PPID/limits >"$T/limits"
printf '%s\nsecond line\n' "$KEY"
EOF
cat >"$T/sleepy" <<'EOF'
#!/bin/sh
exec sleep 20
EOF
printf '#!/bin/sh\necho partial\nexit 3\n' >"$T/fails"
chmod 700 "$T/getkey" "$T/sleepy" "$T/fails"
use cmd "cmd:$T/getkey one 'two words' a;touch $T/pwned \$HOME"
fake_mark
gs run -s "$T/cmd.ini" "hi"
is "$rc/$(auth)" "0/Bearer $KEY" "cmd: the first line of its output"
is "$(cat "$T/args")" "[one][two words][a;touch][$T/pwned][\$HOME]" \
	"cmd: arguments as written, without a shell"
ok "cmd: no shell ran the ';'" test ! -e "$T/pwned"
like "$(cat "$T/limits")" "Max core file size        0" \
	"run turned core dumps off"
use slow "cmd:$T/sleepy" 'key_timeout = 1'
t0=$(date +%s)
gs run -s "$T/slow.ini" "hi"
t1=$(date +%s)
is "$rc" 2 "cmd: timeout: exit 2"
like "$(err)" "cmd:$T/sleepy: no answer within 1 s (key_timeout); killed" \
	"cmd: timeout message"
ok "cmd: gave up long before the program ended" test $((t1 - t0)) -le 12
use fails "cmd:$T/fails"
gs run -s "$T/fails.ini" "hi"
like "$(err)" "cmd:$T/fails: exited with status 3" "cmd: exit status"
use missing "cmd:$T/no-such-program"
gs run -s "$T/missing.ini" "hi"
like "$(err)" "cannot run: No such file or directory" "cmd: missing program"

# gcp: Secret Manager, with a token from the environment or from the
# metadata server; both at the fake server.
GCP="gcp:projects/p1/secrets/mistral/versions/latest"
use gcp "$GCP" "gcp_endpoint = $FAKE" "gcp_metadata = $FAKE"
GOOGLE_OAUTH_ACCESS_TOKEN=ya29.fake-token
export GOOGLE_OAUTH_ACCESS_TOKEN
fake_mark
gs run -s "$T/gcp.ini" "hi"
is "$rc" 0 "gcp: token from GOOGLE_OAUTH_ACCESS_TOKEN"
is "$(fake_new path | sed -n 1p)" \
	"/v1/projects/p1/secrets/mistral/versions/latest:access" \
	"gcp: Secret Manager's access call"
is "$(fake_new auth | tr '\n' ' ')" "Bearer ya29.fake-token Bearer $KEY " \
	"gcp: the payload, base64-decoded and trimmed, is the key"
unset GOOGLE_OAUTH_ACCESS_TOKEN
fake_mark
gs run -s "$T/gcp.ini" "hi"
is "$rc" 0 "gcp: token from the metadata server"
like "$(fake_new path | sed -n 1p)" "/computeMetadata/v1/instance/service-accounts/default/token" \
	"gcp: the metadata server was asked"
GOOGLE_OAUTH_ACCESS_TOKEN=wrong-token gs run -s "$T/gcp.ini" "hi"
like "$(err)" "gcp:projects/p1/secrets/mistral/versions/latest: Secret Manager returned 401: Request had invalid authentication credentials." \
	"gcp: a refused token"
use gcpbad 'gcp:projects/p1/secret/x'
gs check -s "$T/gcpbad.ini"
like "$(err)" "keys: entry 1: gcp: needs projects/P/secrets/S/versions/V" \
	"gcp: the resource is checked at load"

# check never reads a key, and shows only the sources.
use chk "env:MY_KEY, file:key.txt, cmd:$T/getkey"
rm -f "$T/args"
gs check -s "$T/chk.ini"
like "$(out)" "keys env:MY_KEY, file:key.txt, cmd:$T/getkey" "check lists the sources"
ok "check ran no key program" test ! -e "$T/args"

# The sweep: every output above, the logger's file, the arguments the
# key program saw.
ok "the logger wrote its file" test -s "$T/calls.log"
like "$(tail -n 1 "$T/calls.log")" '"upstream_status":' \
	"the logger recorded the upstream status"
no_leak "$KEY" "the key is in no output, log file or argv" \
	"$T/calls.log" "$T/args"
done_testing
