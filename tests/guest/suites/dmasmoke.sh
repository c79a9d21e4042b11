#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "dmasmoke": the main job's benchmark at quick sizes (32 KiB to 1 MiB, one repetition):
# every mode (legacy, bulk, kernel) runs on every memory type in both directions and moves data
# that is compared byte for byte; nothing stays pinned. Correctness only: no timing is judged.
# harness-emulator-args:
# harness-allowed-taint: U
# harness-timeout: 600
exec /bin/ve_dma_bench --max-mib 1 --reps 1
