#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "dmaapi": VEOS's DMA manager API (libvedma, include/veos/dma.h) over the in-kernel DMA
# manager, from C: every function, every address-type pair VEOS uses (VHVA, VEMVA through a
# test double of VEOS's translation, VEMAA, VERAA, VHSAA), options, many threads past the
# kernel's 64 requests per file, timedwait expiry, terminate_all, a pseudo process killed
# mid-transfer, close while busy, ipc_sync swap exclusion, every errno; data compared, nothing
# left pinned or referenced.
# harness-emulator-args:
# harness-timeout: 300
insmod /lib/modules/ve_drv.ko emulator=1 || exit 1
/bin/ve_dma_api_test
rc=$?
rmmod ve_drv || rc=1
exit $rc
