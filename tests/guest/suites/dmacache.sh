#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "dmacache": the DMA manager's registration cache (dma_cache_mib) against the engine
# emulator: hits pin nothing and move the buffer's bytes; munmap, mremap, MADV_DONTNEED, fork,
# compaction, MADV_COLLAPSE and exit are followed (also while a request uses the entry); the cap,
# RLIMIT_MEMLOCK and close bound what stays pinned.
# harness-emulator-args:
# harness-timeout: 600
insmod /lib/modules/ve_drv.ko emulator=1 dma_cache_mib=16 || exit 1
/bin/ve_dma_cache_test
rc=$?
rmmod ve_drv || rc=1
exit $rc
