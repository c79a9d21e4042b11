#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "badmagic": the emulator publishes a wrong magic; with the opt-in the driver must still
# refuse the device (probe ENODEV).
# harness-emulator-args: --bad-magic
# harness-timeout: 300
exec /bin/ve_transport_test --bad-magic
