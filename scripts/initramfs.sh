#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the test initramfs: busybox-static, ve_drv.ko, the static guest test binaries, the suite
# scripts and /init. Usage: scripts/initramfs.sh OUT.cpio.gz GUEST_BIN_DIR VE_DRV_KO
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

out=${1:?output file}
bindir=${2:?directory with the static guest binaries}
ko=${3:?ve_drv.ko built for the kernel the initramfs boots}
[ -f "$ko" ] || die "$ko not built: run scripts/build-module.sh"
stage=$(mktemp -d)
chmod 755 "$stage" # the initramfs root: mktemp makes it 0700, which locks out non-root tests
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,tmp,lib/modules,suites}
cp /bin/busybox "$stage/bin/busybox"
file "$stage/bin/busybox" | grep -q 'statically linked' || die "/bin/busybox is not static (install busybox-static)"
cp "$ko" "$stage/lib/modules/ve_drv.ko"
for b in "$bindir"/ve_*; do
	case "$b" in *.d) continue ;; esac
	if [ ! -f "$b" ] || [ ! -x "$b" ]; then continue; fi
	cp "$b" "$stage/bin/"
done
cp "$VE_ROOT"/tests/guest/suites/*.sh "$stage/suites/"
cp "$VE_ROOT/tests/guest/init.sh" "$stage/init"
chmod +x "$stage/init" "$stage"/suites/*.sh
(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
log "initramfs: $out ($(stat -c %s "$out") bytes)"
