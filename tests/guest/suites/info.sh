#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "info" (the README's main job for now): load ve_drv on the emulator, print the card info
# and the transport's round-trip time, unload.
# harness-role: job (run by scripts/run.sh, not by the test command)
# harness-emulator-args:
# harness-timeout: 300
insmod /lib/modules/ve_drv.ko emulator=1 || exit 1
ve_info /dev/ve0 --ping 2000
rc=$?
rmmod ve_drv || rc=1
exit $rc
