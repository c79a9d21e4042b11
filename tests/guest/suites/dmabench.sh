#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "dmabench" (the main job): NEC's legacy and bulk user-space managers, the in-kernel
# manager and the engine's own time, side by side in one boot on the same buffers, NEC's sizes.
# harness-role: job (run by scripts/run.sh, not by the test command)
# harness-emulator-args:
# harness-timeout: 1800
# The host passes the size cap on the kernel command line (scripts/run.sh: VE_BENCH_MAX_MIB).
max=$(sed -n 's/.*ve_bench\.max_mib=\([0-9]*\).*/\1/p' /proc/cmdline)
exec /bin/ve_dma_bench --max-mib "${max:-256}"
