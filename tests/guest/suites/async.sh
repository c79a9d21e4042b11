#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "async": the DMA manager's SUBMIT/WAIT/CANCEL interface against the engine emulator:
# several requests in flight, VE extent lists, errnos, exception in one request among several,
# hung engine and cancel, close and death with requests in flight, munmap during a transfer.
# harness-emulator-args:
# harness-timeout: 600
insmod /lib/modules/ve_drv.ko emulator=1 || exit 1
/bin/ve_async_test
rc=$?
rmmod ve_drv || rc=1
exit $rc
