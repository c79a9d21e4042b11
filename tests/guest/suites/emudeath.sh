#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "emudeath": the engine emulator exits in the middle of a transfer; pending requests fail
# with ETIMEDOUT or EIO, their pages stay pinned (the device might still write them), rmmod works.
# harness-emulator-args:
# harness-timeout: 300
insmod /lib/modules/ve_drv.ko emulator=1 || exit 1
/bin/ve_emudeath_test
