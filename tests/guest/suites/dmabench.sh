#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "dmabench" (the main job): NEC's legacy and bulk user-space managers, the in-kernel
# manager and the engine's own time, side by side in one boot on the same buffers, NEC's sizes.
# harness-role: job (run by scripts/run.sh, not by the test command)
# harness-emulator-args:
# harness-timeout: 1800
exec /bin/ve_dma_bench --max-mib "${VE_BENCH_MAX_MIB:-256}"
