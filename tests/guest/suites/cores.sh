#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "cores": the VE cores' exception path and every VE1 MSI-X entry against the emulator:
# an exception on each enabled core (counted, INTVEC cleared, EXS halted, reported to the core's
# EXSRAR slot), RST_EXSRAR_MEM, storms on a core and an error entry, the fault/error/user DMA
# entries through WAIT_INTR, ve_state ONLINE resetting the cores, and unbind disabling every
# EXSRAR before its slot is freed.
# harness-emulator-args:
# harness-timeout: 300
insmod /lib/modules/ve_drv.ko emulator=1 test_ioctls=1 || exit 1
/bin/ve_cores_test
rc=$?
rmmod ve_drv || rc=1
exit $rc
