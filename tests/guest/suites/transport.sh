#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "transport": module load/unload, PCI binding, /dev/ve0, info and ping ioctls, MSI-X
# counting, error paths. Run by /init in the guest; the host harness reads the header below.
# harness-emulator-args:
# harness-timeout: 300
exec /bin/ve_transport_test
