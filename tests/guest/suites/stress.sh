#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "stress": an interrupt storm during transfers, transfers under memory compaction, and a
# long random run with exceptions injected at random descriptors.
# harness-emulator-args:
# harness-timeout: 900
insmod /lib/modules/ve_drv.ko emulator=1 || exit 1
/bin/ve_stress_test --seed 7 --requests 400
rc=$?
rmmod ve_drv || rc=1
exit $rc
