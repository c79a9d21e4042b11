#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "mmap": NEC's mmap windows without user_pdma: the CR, register and VE memory windows at
# NEC's file offsets, VEOS's mappings at libved's offsets reaching the emulator's BAR2, the
# privileged DMA pages withheld (SIGBUS) while the kernel manager runs DMA, data moved by the
# kernel manager while the mappings exist, NEC's errnos for bad input and unprivileged callers,
# NEC's per-uid owners of CR pages and PCIATB entries and UNMAP, unbind zapping live mappings. Nothing taints the kernel.
# harness-emulator-args:
# harness-timeout: 300
exec /bin/ve_mmap_test
