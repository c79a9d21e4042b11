#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "pinbench" (run by the main job, not by the test command): the pinning micro-benchmark.
# harness-role: job (run by scripts/run.sh, not by the test command)
# harness-emulator-args:
# harness-timeout: 600
insmod /lib/modules/ve_drv.ko emulator=1 test_ioctls=1 || exit 1
ve_pin_bench
rc=$?
rmmod ve_drv || rc=1
exit $rc
