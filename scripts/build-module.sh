#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build ve_drv.ko against a kernel build directory (default: the cached test kernel), with the
# same make arguments as the kernel. Usage: scripts/build-module.sh [KDIR]
source "$(dirname "$0")/lib.sh"

kdir=${1:-$(kernel_build_dir test)}
[ -f "$kdir/.ve-build-done" ] || die "kernel not built in $kdir: run scripts/build-kernel.sh"
make -s -C "$VE_ROOT" KDIR="$kdir" "${KMAKE_ARGS[@]}" modules
log "module: $VE_ROOT/ve_drv.ko ($(stat -c %s "$VE_ROOT/ve_drv.ko") bytes)"
