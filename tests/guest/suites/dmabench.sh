#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "dmabench" (the main job): bandwidth of the in-kernel DMA manager against the engine's own
# time for the same descriptors, NEC's sizes from 32 KiB up.
# harness-role: job (run by scripts/run.sh, not by the test command)
# harness-emulator-args:
# harness-timeout: 900
insmod /lib/modules/ve_drv.ko emulator=1 || exit 1
ve_dma_bench --max-mib "${VE_BENCH_MAX_MIB:-256}"
rc=$?
rmmod ve_drv || rc=1
exit $rc
