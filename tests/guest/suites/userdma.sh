#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "userdma": NEC's user-space path (user_pdma=1): the register mapping, descriptors written
# from user space, WAIT_INTR in both forms, data compared; the kernel manager's EBUSY; the
# mapping's gates (MAP_PRIVATE, PROT_EXEC, CAP_SYS_RAWIO), RECLAIM racing mmap, unbind with a live
# mapping. The first mapping taints the kernel (U) by design.
# harness-emulator-args:
# harness-allowed-taint: U
# harness-timeout: 300
exec /bin/ve_userdma_test
