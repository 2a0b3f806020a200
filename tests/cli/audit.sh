# SPDX-License-Identifier: MIT
# guardstack audit: the shipped default stack passes; every check can fail
# (one stack per check, each in $T so its modes are ours to set) and says
# why; a stack that cannot load is still audited; a literal key is never
# printed; --all and the exit codes.
. "$top_srcdir/tests/lib.sh"
JQ="$top_builddir/tests/tools/gs-jsonq"
RULES="$top_srcdir/etc/guardstack/injection.rules"
q() { "$JQ" get "$1" <"$T/out"; }
st() { q "checks.$1.status"; }
det() { q "checks.$1.detail"; }
unset GS_AUDIT_UNSET_KEY
export GS_AUDIT_KEY=not-a-real-key

# Sound fragments; each stack below leaves one out or weakens one.
REQ="[length-limit]
max = 4000
[input-patterns]
rules = $RULES"
RESP="[script-strip]
phase = response
[ssn-redact]
phase = both
[email-redact]
phase = both"
LOG="[logger]
stderr = yes"
OFF="[upstream]
url = offline"
mk() { # mk NAME TEXT: writes $T/NAME.ini
	printf '%s\n' "$2" >"$T/$1.ini"
}

# ---- the shipped default stack passes ------------------------------------
gs audit -s default --json
is "$rc" 0 "default: exit 0"
is "$(q passed)" true "default: passed"
is "$(st file-perms)" pass "default: file-perms pass"
is "$(det key-source)" "offline backend: no key" "default: offline, no key"
is "$(q stack)" "$top_srcdir/etc/guardstack/default.ini" "default: stack path"
gs audit -s default
is "$rc" 0 "default, table: exit 0"
like "$(out)" "passed: 15 checks" "default, table: summary line"
like "$(out)" "input-validation     pass" "default, table: a row"

# ---- a literal key: failing checks, never printed --------------------------
CANARY="sk-CANARY$$-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
mk inc "# old key: $CANARY"
mk literal "[stack]
include = inc.ini
$REQ
$RESP
$LOG
control = $CANARY
[upstream]
url = https://api.mistral.ai/v1/chat/completions
keys = $CANARY"
gs audit -s "$T/literal.ini" --json
is "$rc" 1 "literal: exit 1"
is "$(q passed)" false "literal: not passed"
is "$(st key-literal)" fail "literal: key-literal fails"
like "$(det key-literal)" "$T/literal.ini:15: control holds what looks like" \
	"literal: FILE:LINE and key name"
like "$(det key-literal)" "(and 2 more)" \
	"literal: the keys line and the included comment too"
is "$(st key-source)" fail "literal: key-source fails"
like "$(det key-source)" "entry 1 is not a key source" "literal: says why"
is "$(st stack-loads)" fail "literal: the stack does not load"
like "$(det stack-loads)" "control = '[redacted]'" \
	"literal: a loader message echoing the value is redacted"
is "$(st input-validation)" pass "literal: other checks still run"
unlike "$(out)$(err)" "CANARY" "literal: the key is not in --json output"
gs audit -s "$T/literal.ini"
is "$rc" 1 "literal, table: exit 1"
like "$(out)" "FAILED: 3 of 15 checks failed" "literal, table: summary"
unlike "$(out)$(err)" "CANARY" "literal: the key is not in the table"

# ---- a missing plugin: audited anyway -------------------------------------
mk noplugin "$REQ
$RESP
$LOG
[no-such-filter]
$OFF"
gs audit -s "$T/noplugin.ini" --json
is "$rc" 1 "missing plugin: exit 1"
is "$(st plugins-load)" fail "missing plugin: plugins-load fails"
like "$(det plugins-load)" "plugin 'no-such-filter' not found" \
	"missing plugin: says which"
like "$(det stack-loads)" "no-such-filter" "missing plugin: stack-loads too"
is "$(st output-sanitisation)" pass "missing plugin: other checks reported"

# ---- key sources: unset variable, loose key file ---------------------------
printf 'sk-abc\n' >"$T/key.txt"
chmod 644 "$T/key.txt"
mk keys "$REQ
$RESP
$LOG
[upstream]
keys = env:GS_AUDIT_UNSET_KEY, file:key.txt, env:GS_AUDIT_KEY
timeout = 900"
gs audit -s "$T/keys.ini" --json
is "$rc" 1 "keys: exit 1"
is "$(st key-source)" fail "keys: key-source fails"
like "$(det key-source)" "GS_AUDIT_UNSET_KEY is not set" \
	"keys: names the variable"
is "$(st key-file-perms)" fail "keys: key-file-perms fails"
like "$(det key-file-perms)" "key.txt has mode 0644; run chmod 600" \
	"keys: says the mode and the fix"
is "$(st upstream-tls)" pass "keys: https upstream passes"
is "$(st upstream-timeouts)" warn "keys: timeout 900 warns"
like "$(det upstream-timeouts)" "timeout = 900 s" "keys: says which timeout"
is "$(st stack-loads)" pass "keys: it loads (keys are read later)"

# ---- input validation: absent, then optional ------------------------------
mk noinput "$RESP
$LOG
$OFF"
gs audit -s "$T/noinput.ini" --json
is "$(st input-validation)" fail "no input filter: input-validation fails"
like "$(det input-validation)" "no input-patterns or length-limit" \
	"no input filter: says what to add"
mk optinput "[input-patterns]
rules = $RULES
control = optional
$RESP
$LOG
$OFF"
gs audit -s "$T/optinput.ini" --json
is "$(st input-validation)" fail "optional input filter: fails"
like "$(det input-validation)" "[input-patterns] is optional" \
	"optional input filter: says why"

# ---- output sanitisation ---------------------------------------------------
mk nooutput "$REQ
[email-redact]
phase = both
$LOG
$OFF"
gs audit -s "$T/nooutput.ini" --json
is "$(st output-sanitisation)" fail "no script-strip: fails"
like "$(det output-sanitisation)" "no script-strip" "no script-strip: says so"

# ---- logger: absent; a log file others can read ---------------------------
mk nolog "$REQ
$RESP
$OFF"
gs audit -s "$T/nolog.ini" --json
is "$(st logger)" fail "no logger: fails"
like "$(det logger)" "add a [logger] section" "no logger: says what to add"
: >"$T/calls.log"
chmod 644 "$T/calls.log"
mk openlog "$REQ
$RESP
[logger]
file = calls.log
$OFF"
gs audit -s "$T/openlog.ini" --json
is "$(st logger-content)" fail "readable log: logger-content fails"
like "$(det logger-content)" "calls.log has mode 0644" "readable log: why"

# ---- upstream: plain http to a remote host --------------------------------
mk http "$REQ
$RESP
$LOG
[upstream]
url = http://example.com/v1/chat/completions
allow_http = yes
keys = env:GS_AUDIT_KEY"
gs audit -s "$T/http.ini" --json
is "$(st upstream-tls)" fail "http: upstream-tls fails"
like "$(det upstream-tls)" "plain http to example.com" "http: names the host"
is "$(st key-source)" pass "http: a set variable resolves"

# ---- fail closed and strict ----------------------------------------------
mk ignore "[stack]
strict = no
$REQ
[script-strip]
phase = response
on_error = ignore
[ssn-redact]
$LOG
$OFF"
gs audit -s "$T/ignore.ini" --json
is "$(st fail-closed)" fail "on_error = ignore: fail-closed fails"
like "$(det fail-closed)" "$T/ignore.ini:9: [script-strip] on_error = ignore" \
	"on_error = ignore: FILE:LINE and filter"
is "$(st strict)" warn "strict = no: warns"
like "$(det strict)" "$T/ignore.ini:2: strict = no" "strict = no: where"

# ---- permissions: a group-writable stack and an other-writable rule file ---
cp "$RULES" "$T/open.rules"
chmod 666 "$T/open.rules"
mk perms "[length-limit]
[input-patterns]
rules = open.rules
$RESP
$LOG
$OFF"
chmod 664 "$T/perms.ini"
gs audit -s "$T/perms.ini" --json
is "$(st file-perms)" fail "loose modes: file-perms fails"
like "$(det file-perms)" "$T/perms.ini: writable by group" \
	"loose modes: names the stack file"
like "$(det file-perms)" "(and 1 more)" "loose modes: and the rule file"
is "$(st stack-loads)" fail "loose modes: the loader refuses it too"

# ---- --all, and audits that cannot run -----------------------------------
mkdir "$T/conf"
cp "$T/noinput.ini" "$T/conf/a.ini"
cp "$top_srcdir/etc/guardstack/default.ini" "$RULES" "$T/conf/"
CONFDIR_SAVED=$GUARDSTACK_CONFDIR
export GUARDSTACK_CONFDIR="$T/conf"
gs audit --all --json
is "$rc" 1 "--all: exit 1 when one stack fails"
is "$(q stack | tr '\n' ' ')" "$T/conf/a.ini $T/conf/default.ini " \
	"--all: one line per stack, in name order"
is "$(q passed | tr '\n' ' ')" "false true " "--all: each judged"
GUARDSTACK_CONFDIR="$T/nonexistent"
gs audit --all
is "$rc" 2 "--all: missing directory, exit 2"
GUARDSTACK_CONFDIR=$CONFDIR_SAVED
gs audit -s "$T/none.ini"
is "$rc" 2 "no such stack: exit 2"
like "$(err)" "none.ini" "no such stack: says which"
gs audit --all -s default
is "$rc" 2 "-s with --all: usage error"

done_testing
