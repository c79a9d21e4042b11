#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "dmasafety": the DMA manager's safety rules against the engine emulator: no page of a
# block whose pieces span the ring boundary is unpinned before the engine reports HALT (cancel,
# close, kill), the VE side bounded by the engine's 48 bits, DMA pins charged to VmPin and
# RLIMIT_MEMLOCK.
# harness-emulator-args:
# harness-timeout: 600
insmod /lib/modules/ve_drv.ko emulator=1 || exit 1
/bin/ve_dma_safety_test
rc=$?
rmmod ve_drv || rc=1
exit $rc
