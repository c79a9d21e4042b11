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
echo "ve_test: hugepages 2M=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages 2>/dev/null) 1G=$(cat /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages 2>/dev/null)"
# kmemleak (debug kernel): forget what boot left behind, so the scan at the end reports only what
# the suite leaked.
kmemleak=/sys/kernel/debug/kmemleak
[ -w "$kmemleak" ] && echo clear >"$kmemleak"
if [ -x "/suites/$suite.sh" ]; then
	"/suites/$suite.sh"
	echo "ve_test: exit=$?"
else
	echo "ve_test: no such suite '$suite'"
	echo "ve_test: exit=2"
fi
if [ -w "$kmemleak" ]; then
	# Objects must be a few seconds old before kmemleak reports them: scan, wait, scan.
	echo scan >"$kmemleak"
	sleep 6
	echo scan >"$kmemleak"
	echo "ve_test: kmemleak scanned"
fi
echo "ve_test: taint=$(cat /proc/sys/kernel/tainted)"
echo "ve_test: end"
poweroff -f
