#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "deadengine": the engine will not halt. A cancelled request's whole block stays pinned
# (the engine may still write it), the card refuses new requests until it is unbound, a rebind
# with a working engine brings it back, an engine taken back from a register mapping that will
# not halt is dead too; rmmod works. Its own boot: the kept pages stay pinned. The register
# mapping taints the kernel (U) by design.
# harness-emulator-args:
# harness-allowed-taint: U
# harness-timeout: 300
insmod /lib/modules/ve_drv.ko emulator=1 user_pdma=1 || exit 1
/bin/ve_dma_safety_test --dead-engine
