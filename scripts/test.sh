#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The project's test command (README, .ci/run). On a fresh Debian 12 machine: installs what is
# needed, builds the test kernel (cached), the module, the emulator and the guest programs, then
# runs every test:
#   - host: `cargo test` over the workspace (core-only module files, ABI against the C header,
#     emulator, harness) and the module's modinfo metadata;
#   - guest: every suite in tests/guest/suites, one VM boot each, KUnit included.
# Ends with the phase budget and a line `N passed, N failed` over all of them.
source "$(dirname "$0")/lib.sh"
export VE_WERROR=1
cd "$VE_ROOT"

build_all

host_tests() {
	set -o pipefail
	cargo test --workspace 2>&1 | tee "$VE_OUT/host-tests.log"
}
host_rc=0
phase "host tests (cargo test)" host_tests || host_rc=$?
host_passed=$(awk '/^test result:/ {s += $4} END {print s + 0}' "$VE_OUT/host-tests.log")
host_failed=$(awk '/^test result:/ {s += $6} END {print s + 0}' "$VE_OUT/host-tests.log")
if [ "$host_rc" != 0 ] && [ "$host_failed" = 0 ]; then
	host_failed=1 # cargo failed without a test failing: a build error counts
fi

module_checks() {
	set -o pipefail
	"$VE_ROOT/scripts/check-module.sh" "$VE_ROOT/ve_drv.ko" | tee "$VE_OUT/module-checks.log"
}
mod_rc=0
phase "module metadata (modinfo)" module_checks || mod_rc=$?
mod_passed=$(grep -c '^ok ' "$VE_OUT/module-checks.log" || true)
mod_failed=$(grep -c '^not ok ' "$VE_OUT/module-checks.log" || true)
host_passed=$((host_passed + mod_passed))
host_failed=$((host_failed + mod_failed))
[ "$mod_rc" = 0 ] || host_rc=$mod_rc

# Every suite but the main job's (marked "harness-role: job").
suites=$(cd tests/guest/suites && grep -L '^# harness-role: job' -- *.sh | sed 's/\.sh$//' | sort)
guest_run() {
	set -o pipefail
	# shellcheck disable=SC2086
	run_guest_suites --console none $suites | tee "$VE_OUT/guest-tests.log"
}
guest_rc=0
phase "guest suites ($(echo $suites | tr ' ' ','))" guest_run || guest_rc=$?
read -r guest_passed guest_failed < <(sed -n 's/^guest suites: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$VE_OUT/guest-tests.log")
guest_passed=${guest_passed:-0}
guest_failed=${guest_failed:-1}
if [ "$guest_rc" != 0 ] && [ "$guest_failed" = 0 ]; then
	guest_failed=1
fi

echo
phase_report
echo "host: $host_passed passed, $host_failed failed; guest (TAP + KUnit): $guest_passed passed, $guest_failed failed"
echo "$((host_passed + guest_passed)) passed, $((host_failed + guest_failed)) failed"
[ "$host_rc" = 0 ] && [ "$guest_rc" = 0 ]
