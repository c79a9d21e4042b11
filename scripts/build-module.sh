#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build ve_drv.ko for one cached kernel configuration (default: test), with the same make
# arguments as that kernel, into $VE_OUT/module/<config>/ve_drv.ko (prints the path).
# Usage: scripts/build-module.sh [test|debug]
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

config=${1:-test}
kdir=$(kernel_build_dir "$config")
[ -f "$kdir/.ve-build-done" ] || die "kernel ($config) not built in $kdir: run scripts/build-kernel.sh $config"
mo=$VE_OUT/module/$config
mkdir -p "$mo"
# VE_WERROR=1 (the test command sets it): any Rust warning in the module fails the build.
werror=()
[ "${VE_WERROR:-0}" = 1 ] && werror=(KRUSTFLAGS=-Dwarnings)
make -s -C "$VE_ROOT" KDIR="$kdir" MO="$mo" "${KMAKE_ARGS[@]}" "${werror[@]}" modules
log "module ($config): $mo/ve_drv.ko ($(stat -c %s "$mo/ve_drv.ko") bytes)"
echo "$mo/ve_drv.ko"
