#!/bin/sh
# SPDX-License-Identifier: MIT
# script-strip in a real browser.  Every vector of the shared XSS corpus
# (shared/corpus/xss/payloadbox.jsonl, beside the source tree) goes through
# `guardstack filter --jsonl -p response` with script-strip, and each
# output is rendered as the body of its own page in headless Debian
# Chromium with alert, confirm, prompt and print hooked; every element's
# handlers and a common set of events are fired, links and submit buttons
# clicked.  Nothing may run, and no active element, handler or script URL
# may be left in the DOM.  As a control, raw vectors known to run script
# must be caught by the same harness; the benign HTML and Markdown in
# benign/ must come through byte for byte.
#
# Needs /usr/bin/chromium (Debian package chromium) and node >= 20 with
# npm; as root, missing packages are installed, otherwise the test skips
# and says why.  playwright-core comes from npm (package-lock.json) into
# the build tree.  Under the sanitizer and valgrind passes (GS_PASS set)
# the whole corpus is still filtered, through the instrumented binary,
# but only every 8th output is rendered.
. "$top_srcdir/tests/lib.sh"
HERE="$top_srcdir/tests/browser"
CORPUS="$top_srcdir/../shared/corpus/xss/payloadbox.jsonl"
# GS_BROWSER_STACK: another stack, e.g. one without script-strip, to see
# the test fail and name its culprits.
B=${GS_BROWSER_STACK:-$STACKS/script-strip-basic.ini}
CHROMIUM=${GS_CHROMIUM:-/usr/bin/chromium}
NM="$top_builddir/tests/browser"
start=$(date +%s)

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}
as_root_install() { # PACKAGE...: apt-get install when we are root
	[ "$(id -u)" -eq 0 ] || return 1
	command -v apt-get >/dev/null 2>&1 || return 1
	# Wait for dpkg's lock rather than fail if another install runs.
	apt="apt-get -qq -o DPkg::Lock::Timeout=300"
	DEBIAN_FRONTEND=noninteractive $apt install -y "$@" \
		>"$T/apt.log" 2>&1 ||
	{ DEBIAN_FRONTEND=noninteractive $apt update >>"$T/apt.log" 2>&1 &&
	  DEBIAN_FRONTEND=noninteractive $apt install -y "$@" \
		>>"$T/apt.log" 2>&1; }
}

# ---- what the test needs -----------------------------------------------------
[ -f "$CORPUS" ] ||
	skip_all "no XSS corpus at $CORPUS (shared/ beside the source tree)"
if [ ! -x "$CHROMIUM" ]; then
	as_root_install chromium ||
		skip_all "no $CHROMIUM: install the Debian package chromium"
	[ -x "$CHROMIUM" ] ||
		skip_all "apt-get install chromium left no $CHROMIUM"
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1
then
	as_root_install nodejs npm ||
		skip_all "no node or npm: install Debian's nodejs and npm"
fi
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
[ "${major:-0}" -ge 20 ] ||
	skip_all "node ${major:-?} is too old for playwright-core: need 20"
mkdir -p "$NM"
want=$(node -p "require('$HERE/package-lock.json')
	.packages['node_modules/playwright-core'].version")
have=$(node -p "try { require('$NM/node_modules/playwright-core/package.json')
	.version } catch (e) { '' }")
if [ "$want" != "$have" ]; then
	cp "$HERE/package.json" "$HERE/package-lock.json" "$NM/"
	if ! (cd "$NM" && npm ci --no-audit --no-fund --loglevel=error) \
		>"$T/npm.log" 2>&1; then
		cat "$T/npm.log" >&2
		# A developer offline may skip; CI must not pass by skipping.
		[ -n "${CI:-}" ] && { echo "not ok 1 - npm ci"; echo "1..1";
			exit 1; }
		skip_all "npm ci failed (playwright-core $want)"
	fi
fi
harness() { NODE_PATH="$NM/node_modules" node "$HERE/harness.cjs" "$@"; }

# ---- filter the corpus -------------------------------------------------------
harness prep "$CORPUS" "$T/in"
n=$(wc -l <"$T/in")
gsf filter --jsonl -p response -s "$B"
is "$rc" 0 "filter --jsonl over $n corpus vectors: exit 0"
is "$(wc -l <"$T/out")" "$n" "one result line per vector"
mv "$T/out" "$T/filtered"
echo "# $(grep -c '"verdict":"modified"' "$T/filtered") of $n vectors" \
	"modified by script-strip"
every=1
[ -n "${GS_PASS:-}" ] && every=8
harness pair "$CORPUS" "$T/filtered" "$T/render" "$every"

# ---- controls: raw vectors that do run, one per way of running ---------------
# <script>; an error event on its own (img); a handler that needs an event
# (mouseover); a javascript: link clicked; toggle; svg load; body load; a
# form button clicked (formaction); an animation event; srcdoc with
# entity-encoded markup; a data: iframe; a refresh <meta> to data:.
ctl=payloadbox-0075,payloadbox-0010,payloadbox-0039,payloadbox-0079
ctl=$ctl,payloadbox-1290,payloadbox-0016,payloadbox-0109,payloadbox-0083
ctl=$ctl,payloadbox-4717,payloadbox-0089,payloadbox-6300,payloadbox-6342
harness pick "$CORPUS" "$ctl" "$T/raw"
harness files "$T/benign" "$HERE"/benign/*

# ---- render ------------------------------------------------------------------
harness run --chromium "$CHROMIUM" --report "$T/report.json" raw="$T/raw" \
	filtered="$T/render" benign="$T/benign" 2>"$T/harness.err"
hrc=$?
is "$hrc" 0 "the harness ran"
[ "$hrc" -eq 0 ] || sed 's/^/# /' "$T/harness.err"
eval "$(harness summary "$T/report.json" raw)"
eval "$(harness summary "$T/report.json" filtered)"
eval "$(harness summary "$T/report.json" benign)"

is "${raw_total:-0}" 12 "control: 12 raw vectors rendered"
is "${raw_fired:-0}" "${raw_total:-x}" \
	"control: every raw vector ran script in the harness"
is "${filtered_fired:-x}" 0 \
	"none of ${filtered_total:-?} filtered vectors ran script"
is "${filtered_residue:-x}" 0 \
	"no active element, handler or script URL left in any DOM"
[ -n "${filtered_ids:-}" ] && {
	# The first 20 culprits: the filtered text, what ran, what was left.
	echo "# culprits: $(echo $filtered_ids | wc -w)"
	for id in $(echo $filtered_ids | tr ' ' '\n' | head -n 20); do
		grep "\"id\": *\"$id\"" "$T/render" | head -n 1 |
			sed 's/^/#   /'
	done
	node -e "const r = require('$T/report.json').filtered;
		for (const k of Object.keys(r.ids).slice(0, 20))
			console.log('#   ran:', k, r.ids[k].join(' '));
		for (const k of Object.keys(r.residue_ids).slice(0, 20))
			console.log('#   left:', k,
				r.residue_ids[k].join(', '));"
}
is "${benign_fired:-x}:${benign_residue:-x}" 0:0 \
	"benign files: nothing runs, nothing active"

# ---- benign: byte for byte ---------------------------------------------------
for f in "$HERE"/benign/*; do
	gs filter -p response -s "$B" <"$f"
	ok "benign ${f##*/}: comes through byte-identical" \
		cmp -s "$T/out" "$f"
done

echo "# rendered ${filtered_total:-?} filtered vectors in" \
	"${filtered_seconds:-?} s; whole test $(($(date +%s) - start)) s"
done_testing
