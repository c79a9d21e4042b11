#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
# /init of the test initramfs: mount the pseudo file systems, run the suite named by
# ve_test.suite= on the kernel command line (/suites/<name>.sh), report, power off.
# Lines starting with "ve_test:" are read by the host harness (tests/harness).
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
suite=$(sed -n 's/.*ve_test\.suite=\([^ ]*\).*/\1/p' /proc/cmdline)
echo "ve_test: begin suite=$suite kernel=$(uname -r)"
echo "ve_test: hugepages 2M=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages 2>/dev/null) 1G=$(cat /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages 2>/dev/null || echo none)"
# kmemleak (debug kernel): forget what boot left behind, so the scan at the end reports only what
# the suite leaked; no automatic scans (one would start a minute after boot and take the CPU
# from the suite for as long as the scan at the end: 10-17 s under TCG, see docs/design.md).
kmemleak=/sys/kernel/debug/kmemleak
if [ -w "$kmemleak" ]; then
	echo scan=off >"$kmemleak"
	echo clear >"$kmemleak"
fi
# The IOMMU variant (intel_iommu=on, QEMU's intel-iommu): the emulator translates through the
# guest's VT-d tables and refuses every host access until it is told where they are.
iommu_ok=1
if grep -qw intel_iommu=on /proc/cmdline; then
	/bin/ve_iommu_attach || iommu_ok=0
fi
if [ "$iommu_ok" = 0 ]; then
	echo "ve_test: exit=1"
elif [ -x "/suites/$suite.sh" ]; then
	"/suites/$suite.sh"
	echo "ve_test: exit=$?"
else
	echo "ve_test: no such suite '$suite'"
	echo "ve_test: exit=2"
fi
if [ -w "$kmemleak" ]; then
	# Objects must be 5 s old before kmemleak reports them: everything the suite left is, after
	# this wait. One scan reports every unreferenced object old enough.
	sleep 6
	t0=$(cut -d' ' -f1 /proc/uptime)
	echo scan >"$kmemleak"
	echo "ve_test: kmemleak scanned ($t0 s to $(cut -d' ' -f1 /proc/uptime) s of uptime)"
fi
echo "ve_test: taint=$(cat /proc/sys/kernel/tainted)"
echo "ve_test: end"
poweroff -f
