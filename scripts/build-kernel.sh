#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build a test kernel: tinyconfig + scripts/kconfig/test.config (+ <config>.config), into one O=
# directory per (kernel version, fragments, toolchain) key under $VE_CACHE/build/, all from the
# one source tree. A finished build is reused.
# Usage: scripts/build-kernel.sh [test|debug]   (prints the build directory on stdout)
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

config=${1:-test}
mapfile -t fragments < <(kernel_fragments "$config")
for fragment in "${fragments[@]}"; do
	[ -f "$fragment" ] || die "no config fragment $fragment"
done
src=$(kernel_src_dir)
out=$(kernel_build_dir "$config")

if [ -f "$out/.ve-build-done" ]; then
	log "kernel ($config): cached at $out"
	echo "$out"
	exit 0
fi

# Drop stale builds of the same config (other keys): each is about 0.4 GB.
for old in "$VE_CACHE/build/$config"-*; do
	[ -d "$old" ] && [ "$old" != "$out" ] && rm -rf "$old"
done
mkdir -p "$out"
log "kernel ($config): configuring in $out"
make -s -C "$src" O="$out" "${KMAKE_ARGS[@]}" tinyconfig >/dev/null
cat "${fragments[@]}" >>"$out/.config"
make -s -C "$src" O="$out" "${KMAKE_ARGS[@]}" olddefconfig >"$out/config.log" 2>&1 || { cat "$out/config.log" >&2; die "olddefconfig failed"; }

# Every fragment line must have survived: dependencies drop options silently.
missing=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) opt=${line%%=*} ;;
	"# CONFIG_"*" is not set") opt=${line#\# }; opt=${opt%% *} ;;
	*) continue ;;
	esac
	if [[ $line == CONFIG_* ]]; then
		grep -qxF "$line" "$out/.config" || { echo "config: $line did not survive" >&2; missing=1; }
	else
		! grep -q "^$opt=" "$out/.config" || { echo "config: $opt should be off" >&2; missing=1; }
	fi
done < <(cat "${fragments[@]}")
[ "$missing" = 0 ] || die "kernel config fragments ${fragments[*]} not fully applied"

log "kernel ($config): building with -j$(nproc) (about 7 min from scratch)"
if ! make -s -C "$src" O="$out" "${KMAKE_ARGS[@]}" -j"$(nproc)" bzImage modules >"$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	die "kernel build failed (log: $out/build.log)"
fi
touch "$out/.ve-build-done"
log "kernel ($config): built $(cat "$out/include/config/kernel.release")"
echo "$out"
