#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Checks ve_drv.ko's metadata with modinfo (TAP): what an operator and modprobe see.
# Usage: scripts/check-module.sh [ve_drv.ko]
# Each check is a command line in single quotes that check() evaluates, so that it prints as written.
# shellcheck disable=SC2016
set -uo pipefail
ko=${1:-$(dirname "$0")/../out/module/test/ve_drv.ko}
n=0
fails=0
check() {
	n=$((n + 1))
	if eval "$2"; then echo "ok $n $1"; else echo "not ok $n $1"; fails=$((fails + 1)); fi
}
# shellcheck disable=SC2317 # called from the checks, through eval
field() { modinfo -F "$1" "$ko"; }
echo "TAP version 13"
echo "1..6"
check "license is GPL v2" '[ "$(field license)" = "GPL v2" ]'
check "description and author set" '[ -n "$(field description)" ] && [ -n "$(field author)" ]'
check "name is ve_drv (loads in place of NEC's)" '[ "$(field name)" = ve_drv ]'
check "aliases: exactly VE1 (1bcf:001c) and VE3 (1bcf:0039)" \
	'[ "$(field alias | LC_ALL=C sort | tr "\n" " ")" = "pci:v00001BCFd0000001Csv*sd*bc*sc*i* pci:v00001BCFd00000039sv*sd*bc*sc*i* " ]'
check "no alias for ivshmem (1af4): the emulator never autoloads the module" '! field alias | grep -qi 1af4'
check "every parameter has a description" \
	'[ -n "$(field parm)" ] && ! field parm | grep -qE "^[a-z_]+:\((bool|int|uint|long|ulong|charp)\)$"'
exit $((fails > 0))
