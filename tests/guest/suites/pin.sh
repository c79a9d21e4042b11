#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "pin": NEC's translation and pinning ioctls over 4 KiB, THP, hugetlb 2 MiB and 1 GiB and
# shmem memory, checked against pagemap and the kernel's pin counters; every documented errno.
# harness-emulator-args:
# harness-timeout: 300
exec /bin/ve_pin_test
