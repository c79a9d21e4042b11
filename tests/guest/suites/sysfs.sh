#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "sysfs": the card as NEC's user space finds it: class ve, /dev/ve0 mode 0666 under its PCI
# device, NEC's attributes, modes and formats, values from the VE Configuration Registers (changed
# through the emulator and read back after a rebind), os_state's transitions and notification,
# VE1's ve_state (NEC's transition table, notification), jiffies since ONLINE, the 38 sensors (EIO
# unless ONLINE, EAGAIN until written, NEC's decoders), bar0_size/bar0_addr/bar3_addr against the
# PCI resource file, NEC's permission rule and EINVAL for unknown commands, NEC's typed WAIT_INTR
# mask.
# harness-emulator-args:
# harness-timeout: 300
insmod /lib/modules/ve_drv.ko emulator=1 || exit 1
/bin/ve_sysfs_test
rc=$?
rmmod ve_drv || rc=1
exit $rc
