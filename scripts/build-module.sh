#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build ve_drv.ko against a kernel build directory (default: the cached test kernel), with the
# same make arguments as the kernel. Usage: scripts/build-module.sh [KDIR]
source "$(dirname "$0")/lib.sh"

kdir=${1:-$(kernel_build_dir test)}
[ -f "$kdir/.ve-build-done" ] || die "kernel not built in $kdir: run scripts/build-kernel.sh"
# VE_WERROR=1 (the test command sets it): any Rust warning in the module fails the build.
werror=()
[ "${VE_WERROR:-0}" = 1 ] && werror=(KRUSTFLAGS=-Dwarnings)
make -s -C "$VE_ROOT" KDIR="$kdir" "${KMAKE_ARGS[@]}" "${werror[@]}" modules
log "module: $VE_ROOT/ve_drv.ko ($(stat -c %s "$VE_ROOT/ve_drv.ko") bytes)"
