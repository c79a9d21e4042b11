#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The project's test command (README, .ci/run). On a fresh Debian 12 machine: installs what is
# needed, builds the test kernel (cached), the module, the emulator and the guest programs, then
# runs every test:
#   - host: `cargo test` over the workspace (core-only module files, ABI against the C header,
#     emulator, harness) and the module's modinfo metadata;
#   - checks (scripts/checks.sh): rustfmt, clippy with the kernel's lint set (module) and the
#     workspace lints (user-space crates), shellcheck; any drift fails the run;
#   - guest: every suite in tests/guest/suites, one VM boot each, KUnit included, on the test
#     kernel and again on the debug kernel (lockdep, KASAN, kmemleak, DEBUG_VM).
# Ends with the phase budget and a line `N passed, N failed` over all of them.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
export VE_WERROR=1
cd "$VE_ROOT" || exit

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
	"$VE_ROOT/scripts/check-module.sh" "$MODULE_KO" | tee "$VE_OUT/module-checks.log"
}
mod_rc=0
phase "module metadata (modinfo)" module_checks || mod_rc=$?
mod_passed=$(grep -c '^ok ' "$VE_OUT/module-checks.log" || true)
mod_failed=$(grep -c '^not ok ' "$VE_OUT/module-checks.log" || true)
host_passed=$((host_passed + mod_passed))
host_failed=$((host_failed + mod_failed))
[ "$mod_rc" = 0 ] || host_rc=$mod_rc

# The kernel's own checks: formatting, clippy, shellcheck, the module's layering (one TAP line each).
style_checks() {
	set -o pipefail
	"$VE_ROOT/scripts/checks.sh" test | tee "$VE_OUT/checks.log"
}
chk_rc=0
phase "checks (rustfmt, clippy, shellcheck, layering)" style_checks || chk_rc=$?
chk_passed=$(grep -c '^ok ' "$VE_OUT/checks.log" || true)
chk_failed=$(grep -c '^not ok ' "$VE_OUT/checks.log" || true)
if [ "$chk_rc" != 0 ] && [ "$chk_failed" = 0 ]; then
	chk_failed=1 # the script failed without a check failing
fi
host_passed=$((host_passed + chk_passed))
host_failed=$((host_failed + chk_failed))
[ "$chk_rc" = 0 ] || host_rc=$chk_rc

# Every suite but the main job's (marked "harness-role: job").
suites=$(cd tests/guest/suites && grep -L '^# harness-role: job' -- *.sh | sed 's/\.sh$//' | sort)
# Guest suites on the kernel of the last build_for_kernel; adds to guest_passed/guest_failed.
# guest_suites NAME "HARNESS-OPTIONS" SUITES: results in $VE_OUT/guest-NAME/.
guest_passed=0
guest_failed=0
guest_rc=0
guest_suites() {
	# Names of their own: `phase` has locals `name`, `start` and `rc`, which the commands it runs
	# would see instead (bash scopes dynamically).
	local g_name=$1 g_opts=$2 g_list=$3 g_log=$VE_OUT/guest-tests-$1.log g_rc=0 p f
	guest_run() {
		set -o pipefail
		# shellcheck disable=SC2086
		GUEST_OUT=$VE_OUT/guest-$g_name run_guest_suites --console none $g_opts $g_list |
			tee "$g_log"
	}
	phase "guest suites: $g_name ($(tr ' ' '\n' <<<"$g_list" | paste -sd,))" guest_run || g_rc=$?
	read -r p f < <(sed -n 's/^guest suites: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$g_log")
	p=${p:-0}
	f=${f:-1}
	if [ "$g_rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
	fi
	guest_passed=$((guest_passed + p))
	guest_failed=$((guest_failed + f))
	[ "$g_rc" = 0 ] || guest_rc=$g_rc
}

guest_suites test "" "$suites"
# The DMA suites again with the card behind an IOMMU: QEMU's intel-iommu (VT-d), strict
# invalidation; the emulator translates every host address through the guest's tables, so a
# descriptor that outlives its mapping or writes a read-only mapping fails its test.
guest_suites test-iommu "--iommu" "dma async stress userdma dmacache"
# And with every mapping bounced through swiotlb: the unmap/sync order decides the data.
guest_suites test-swiotlb "--append swiotlb=force" "dma async userdma"
# The emulator presenting a VE3 (its register layout, its privileged DMA engine on MSI-X 32 and
# INTVEC1): the kernel DMA manager's suites, the transport, and the user-space managers on VE3's
# mapped registers, NEC's VE3 mmap windows, the cores and tasks, NEC's VE3 sysfs and commands,
# the card reset, VEOS's VE3 start-up: every suite but the benchmarks (docs/hardware.md, "PCI
# layout").
guest_suites test-ve3 "--variant ve3" "$suites"
# The same suites on the debug kernel: lockdep, atomic-sleep checks, KASAN, kmemleak, DEBUG_VM,
# DMA-API debugging, compaction and migration. Any splat fails the suite (the harness reads the
# kernel log).
build_for_kernel debug
guest_suites debug "" "$suites"
# And the code only a VE3 runs, on it: the cores' and node interrupts, the tasks and VE3's card
# reset, VE3's windows, sysfs and commands (ownership, NOTIFY_FAULT, clock gating, memory clear),
# VEOS's VE3 start-up. (The other suites drive the same manager code as on VE1 through the same
# register accessors and the same handlers, with the chip table's offsets and bits, and run on
# VE3 on the test kernel above; all of them here would add about 20 minutes to CI.)
guest_suites debug-ve3 "--variant ve3" "cores program mmap sysfs veos"

# The figures the tests measured on their way (lines '# figure: ...' of the guest programs).
figures() {
	local config
	for config in test test-iommu test-swiotlb test-ve3 debug debug-ve3; do
		echo "Figures ($config):"
		for log in "$VE_OUT/guest-$config"/*/console.log; do
			sed -n "s|^# figure: |  $(basename "$(dirname "$log")"): |p" "$log"
		done
		# Each suite ends by checking the kernel's pin counters; the harness fails a suite on any
		# kernel splat, and these are the lines it would have failed on.
		local pinned splats
		pinned=$(cat "$VE_OUT/guest-$config"/*/console.log | grep -c '^ok [0-9]* nothing left pinned' || true)
		splats=$(cat "$VE_OUT/guest-$config"/*/console.log |
			grep -cE 'WARNING:|BUG:|Oops|KASAN|possible circular|unreferenced object|hung_task' || true)
		echo "  all: $pinned end-of-suite pin checks passed (nothing left pinned); $splats kernel splat lines"
	done
}

echo
figures
echo
phase_report
echo "host: $host_passed passed, $host_failed failed; guest (TAP + KUnit): $guest_passed passed, $guest_failed failed"
echo "$((host_passed + guest_passed)) passed, $((host_failed + guest_failed)) failed"
[ "$host_rc" = 0 ] && [ "$guest_rc" = 0 ]
