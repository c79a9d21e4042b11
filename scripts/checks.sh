#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The kernel's own checks (TAP), run by the test command: formatting, clippy with the kernel's
# lint set, shellcheck, and the module's layering (scripts/check-layers.py). Any drift is a failed
# check. Every tool is Debian's, pinned by setup.sh (rustfmt-web, rust-web-clippy: the same Rust
# 1.96 as the rustc-web that builds the module).
# Usage: scripts/checks.sh [test|debug]   (the kernel build to run the module's clippy against)
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
set +e
cd "$VE_ROOT" || exit
config=${1:-test}
kdir=$(kernel_build_dir "$config")
n=0
fails=0
# check NAME COMMAND...: one TAP line; the command's output, as diagnostics, when it fails.
check() {
	local name=$1 out
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n $name"
	else
		echo "not ok $n $name"
		fails=$((fails + 1))
		head -n 60 <<<"$out" | sed 's/^/# /'
	fi
}
echo "TAP version 13"
echo "1..6"
check "rustfmt: the module (kernel .rustfmt.toml)" make -s rustfmtcheck
check "rustfmt: the user-space crates" env RUSTFMT=/usr/bin/rustfmt /usr/bin/cargo-fmt --all --check
# Its own output directory, so that the regular module build is not rebuilt after it.
check "clippy: the module, the kernel's lint set, warnings as errors ($config kernel)" \
	make -s KDIR="$kdir" MO="$VE_OUT/module/clippy-$config" "${KMAKE_ARGS[@]}" clippy
# Debian's clippy needs its own rustc (the same release) for the dependencies too.
check "clippy: the user-space crates, workspace lints, warnings as errors" \
	env RUSTC=/usr/bin/rustc /usr/bin/cargo-clippy clippy -q --workspace --all-targets \
	--target-dir "$VE_ROOT/target/clippy" -- -D warnings
check "shellcheck: scripts/, tests/guest/, .ci/run" make -s shellcheck
check "layers: sys uses no driver module, no cycle between the modules of src/" \
	python3 scripts/check-layers.py
exit $((fails > 0))
