#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "pin": NEC's translation and pinning ioctls over 4 KiB, THP, hugetlb 2 MiB and 1 GiB,
# shmem and a shared ext2 file mapping, checked against pagemap and the kernel's pin counters;
# every documented errno.
# harness-emulator-args:
# harness-timeout: 600
# harness-hugepages-1g: 1
mke2fs -q /dev/ram0 || exit 1
mkdir -p /mnt/ext2 && mount -t ext2 /dev/ram0 /mnt/ext2 || exit 1
dd if=/dev/zero of=/mnt/ext2/file bs=4096 count=16 2>/dev/null || exit 1
/bin/ve_pin_test --ext2-file /mnt/ext2/file
rc=$?
umount /mnt/ext2 || rc=1
exit $rc
