#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "fuzz": every ioctl with random and boundary arguments from a fixed seed, errnos checked
# against the header, concurrent open/close, pins balanced at the end; the last seed with the
# registration cache on.
# harness-emulator-args:
# harness-timeout: 600
insmod /lib/modules/ve_drv.ko emulator=1 || exit 1
rc=0
for seed in 1 2; do
	/bin/ve_fuzz_test --seed $seed --iterations 50000 --seconds 20 || rc=1
done
rmmod ve_drv || rc=1
# The third seed with the registration cache on: the same calls build entries and hit them.
insmod /lib/modules/ve_drv.ko emulator=1 dma_cache_mib=16 || exit 1
/bin/ve_fuzz_test --seed 3 --iterations 50000 --seconds 20 || rc=1
rmmod ve_drv || rc=1
exit $rc
