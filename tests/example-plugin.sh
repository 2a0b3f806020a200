#!/bin/sh
# SPDX-License-Identifier: MIT
# The plugin author's path: stage `make install`, build doc/examples/plugin
# out of tree with `pkg-config --cflags --libs guardstack`, load it in a
# stack and check what it does.
set -eu
build=$1
src=$(cd "$(dirname "$0")/.." && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
make -C "$build" --no-print-directory install DESTDIR="$stage/root" >/dev/null
prefix=$(sed -n 's/^prefix=//p' "$build/guardstack.pc")
export PKG_CONFIG_SYSROOT_DIR="$stage/root"
export PKG_CONFIG_PATH="$stage/root$prefix/lib/pkgconfig"
cp -r "$src/doc/examples/plugin" "$stage/plugin"
make -C "$stage/plugin" --no-print-directory
test -f "$stage/plugin/shout.so"
# Loaded by the staged CLI, from a stack that names it by path.
lib="$stage/root$prefix/lib"
printf '[shout]\nmodule = ./shout.so\n' >"$stage/plugin/t.ini"
out=$(printf 'quiet please' | LD_LIBRARY_PATH="$lib" \
	"$stage/root$prefix/bin/guardstack" filter -s "$stage/plugin/t.ini")
echo "output: $out"
[ "$out" = "QUIET PLEASE" ]
out=$(LD_LIBRARY_PATH="$lib" "$stage/root$prefix/bin/guardstack" \
	check -s "$stage/plugin/t.ini")
echo "$out" | grep -q "module shout"
echo "example plugin: ok"
