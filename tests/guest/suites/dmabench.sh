#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Suite "dmabench" (the main job): NEC's legacy and bulk user-space managers, the in-kernel
# manager and the engine's own time, side by side in one boot on the same buffers, NEC's sizes.
# harness-role: job (run by scripts/run.sh, not by the test command)
# harness-emulator-args:
# harness-allowed-taint: U
# harness-timeout: 1800
# The host passes its options on the kernel command line (scripts/run.sh: VE_BENCH_*).
opt() { sed -n "s/.*ve_bench\.$1=\([a-z0-9_,]*\).*/\1/p" /proc/cmdline; }
max=$(opt max_mib) reps=$(opt reps) dir=$(opt dir) memory=$(opt memory)
# Enough 2 MiB hugetlb pages for the largest buffer (the boot reserves 160).
want=$(( ${max:-256} / 2 + 16 ))
have=$(cat /proc/sys/vm/nr_hugepages)
[ "$want" -le "$have" ] || echo "$want" >/proc/sys/vm/nr_hugepages
exec /bin/ve_dma_bench --max-mib "${max:-256}" --reps "${reps:-3}" --dir "${dir:-both}" \
	--memory "${memory:-anon_4k,anon_4k_fragmented,thp_2m,hugetlb_2m}"
