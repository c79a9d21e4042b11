# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Shared settings for the project's scripts: sourced, never run.
#
# Everything built outside the repository lives under $VE_CACHE, keyed so that a second run reuses it:
#   $VE_CACHE/apt/                  private apt state for fetching linux-source-7.3 (nothing installed)
#   $VE_CACHE/src/linux-<ver>/      the unpacked kernel tree (one per Debian package version)
#   $VE_CACHE/bindgen-<ver>/bin/    bindgen-cli
#   $VE_CACHE/build/<key>/          one O= build directory per (kernel version, config, toolchain) key

set -euo pipefail

VE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VE_CACHE=${VE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ve_drv}
VE_OUT=${VE_OUT:-$VE_ROOT/out}

# Pinned toolchain (docs/toolchain.md).
# shellcheck disable=SC2034 # setup.sh's
LINUX_SRC_PKG=linux-source-7.3
# shellcheck disable=SC2034 # setup.sh's
LINUX_SRC_VERSION_PREFERRED=7.3.4-1~bpo13+1
BINDGEN_VERSION=0.72.1
LLVM_MAJOR=22
LIBCLANG_PATH=/usr/lib/llvm-$LLVM_MAJOR/lib
export LIBCLANG_PATH
BINDGEN=$VE_CACHE/bindgen-$BINDGEN_VERSION/bin/bindgen

# Identical make arguments for the kernel and the module (docs/toolchain.md, "One set of make
# arguments for the kernel and the module").
# shellcheck disable=SC2034 # build-kernel.sh's and build-module.sh's
KMAKE_ARGS=("LLVM=-$LLVM_MAJOR" RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc BINDGEN="$BINDGEN")

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# Debian versions hold '~' and '+': keep them out of paths that make and Kbuild see.
path_safe() { echo "${1//[~+:]/_}"; }

# The kernel source tree selected by setup.sh (its version is recorded there).
kernel_src_dir() {
	local v
	v=$(cat "$VE_CACHE/src/CURRENT" 2>/dev/null) || die "no kernel source: run scripts/setup.sh first"
	echo "$VE_CACHE/src/linux-$(path_safe "$v")"
}

# The config fragments of a kernel build, in merge order: test.config, then <config>.config for
# any other config (the debug kernel is the test kernel plus debugging).
kernel_fragments() {
	local config=$1
	echo "$VE_ROOT/scripts/kconfig/test.config"
	[ "$config" = test ] || echo "$VE_ROOT/scripts/kconfig/$config.config"
}

# Cache key of a kernel build: kernel package version, the merged config fragments, toolchain versions.
kernel_build_key() {
	local config=$1 v
	kernel_src_dir >/dev/null # dies with a remedy when setup.sh has not run
	v=$(cat "$VE_CACHE/src/CURRENT")
	{
		echo "$v"
		kernel_fragments "$config" | xargs cat
		/usr/bin/rustc --version
		"$BINDGEN" --version
		clang-$LLVM_MAJOR --version | head -n 1
	} | sha256sum | cut -c1-16
}

kernel_build_dir() {
	local config=$1
	echo "$VE_CACHE/build/$config-$(kernel_build_key "$config")"
}

# Phase accounting: `phase NAME COMMAND...` runs COMMAND and records how long it took;
# `phase_report` prints the table against CI's 90-minute budget.
PHASE_NAMES=()
PHASE_SECS=()
phase() {
	local name=$1 start rc=0
	shift
	start=$(date +%s)
	log "== phase: $name"
	"$@" || rc=$?
	PHASE_NAMES+=("$name")
	PHASE_SECS+=($(($(date +%s) - start)))
	return $rc
}
phase_report() {
	local i total=0
	echo "Phase budget (CI allows 5400 s):"
	for i in "${!PHASE_NAMES[@]}"; do
		printf '  %-40s %6d s\n' "${PHASE_NAMES[$i]}" "${PHASE_SECS[$i]}"
		total=$((total + PHASE_SECS[i]))
	done
	printf '  %-40s %6d s (%d s of the CI budget left)\n' "total" "$total" $((5400 - total))
}

# Builds everything a VM run needs for the kernel configuration $1 (default test): the kernel,
# the module for it, the emulator, the harness, the static guest binaries and the initramfs.
# Sets KERNEL_IMAGE, INITRAMFS, MODULE_KO, EMULATOR_BIN, HARNESS_BIN.
GUEST_TARGET=x86_64-unknown-linux-gnu
build_userspace_phase() {
	# ve-dma: libvedma.a and libvedma.so (VEOS's ve_dma_* API) in target/release.
	(cd "$VE_ROOT" && cargo build -q --release -p ve-emu -p ve-harness -p ve-dma)
	# The guest programs are static (the initramfs has no libc).
	(cd "$VE_ROOT" && RUSTFLAGS="-C target-feature=+crt-static" cargo build -q --release \
		-p ve-guest --target "$GUEST_TARGET" --target-dir "$VE_ROOT/target/guest")
	build_guest_c
}
# The C guest programs (tests/guest/c), linked statically against libvedma.a, next to the Rust
# ones so that scripts/initramfs.sh packs them.
build_guest_c() {
	local dir=$VE_ROOT/target/guest/$GUEST_TARGET/release
	(cd "$VE_ROOT" && RUSTFLAGS="-C target-feature=+crt-static" cargo rustc -q --release \
		-p ve-dma --lib --crate-type staticlib --target "$GUEST_TARGET" \
		--target-dir "$VE_ROOT/target/guest")
	# glibc's static-link notes about getaddrinfo/getpwuid_r (Rust's std, unused here) are noise.
	gcc -static -O2 -Wall -Wextra -Werror -I "$VE_ROOT/include" -I "$VE_ROOT/include/uapi" \
		"$VE_ROOT/tests/guest/c/ve_dma_api_test.c" "$dir/libvedma.a" -Wl,--gc-sections \
		-lpthread -ldl -lm -lrt -lutil -o "$dir/ve_dma_api_test" 2>&1 |
		{ grep -v -e 'in statically linked applications requires' -e 'in function .std::' || true; } >&2
	[ -x "$dir/ve_dma_api_test" ] || die "ve_dma_api_test not built"
}
build_for_kernel() {
	local config=${1:-test}
	phase "kernel build ($config)" "$VE_ROOT/scripts/build-kernel.sh" "$config" >/dev/null
	phase "module build ($config)" "$VE_ROOT/scripts/build-module.sh" "$config" >/dev/null
	KERNEL_IMAGE=$(kernel_build_dir "$config")/arch/x86/boot/bzImage
	MODULE_KO=$VE_OUT/module/$config/ve_drv.ko
	INITRAMFS=$VE_OUT/initramfs-$config.cpio.gz
	phase "initramfs ($config)" "$VE_ROOT/scripts/initramfs.sh" "$INITRAMFS" \
		"$VE_ROOT/target/guest/$GUEST_TARGET/release" "$MODULE_KO"
}
build_all() {
	phase "setup (apt, bindgen, source)" "$VE_ROOT/scripts/setup.sh"
	mkdir -p "$VE_OUT"
	phase "user-space build" build_userspace_phase
	build_for_kernel test
	EMULATOR_BIN=$VE_ROOT/target/release/ve-emu
	HARNESS_BIN=$VE_ROOT/target/release/ve-harness
}

# Runs guest suites through the harness on the kernel of the last build_for_kernel; extra
# harness options may come first. Results go to $VE_OUT/guest-<config>/<suite>/.
run_guest_suites() {
	"$HARNESS_BIN" --kernel "$KERNEL_IMAGE" --initrd "$INITRAMFS" --emulator "$EMULATOR_BIN" \
		--suites "$VE_ROOT/tests/guest/suites" --out "${GUEST_OUT:-$VE_OUT/guest}" "$@"
}
