#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "userdma": NEC's user-space path (user_pdma=1): the register mapping, descriptors written
# from user space, WAIT_INTR in both forms, data compared; the kernel manager's EBUSY.
# harness-emulator-args:
# harness-timeout: 300
exec /bin/ve_userdma_test
