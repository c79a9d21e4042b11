#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "dma": transfers through the in-kernel DMA manager against the engine emulator, every byte
# compared, over 4 KiB, THP, hugetlb 2 MiB and 1 GiB buffers; errors; injected exception, hung
# engine and dropped interrupts.
# harness-emulator-args:
# harness-timeout: 600
# harness-hugepages-1g: 1
insmod /lib/modules/ve_drv.ko emulator=1 || exit 1
/bin/ve_dma_test
rc=$?
rmmod ve_drv || rc=1
exit $rc
