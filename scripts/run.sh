#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The project's main job (README): on a fresh Debian 12 machine, set up and build everything,
# boot the test VM with the VE engine emulator, load ve_drv and print the card's info and the
# transport round trip; run the DMA benchmark (NEC's legacy and bulk user-space managers, the
# in-kernel manager and the engine's own time, side by side in one boot), the same behind an
# IOMMU (QEMU's intel-iommu) and the pinning micro-benchmark; leave the tables, CSV and JSON of
# the DMA rows, the direct and IOMMU runs side by side (dma-modes.md) and SVG plots under
# out/results.
# Options (environment): VE_BENCH_MAX_MIB caps the sizes (64 = the quick variant), VE_BENCH_REPS
# repetitions per point, VE_BENCH_DIR ve2vh|vh2ve|both, VE_BENCH_MEMORY a comma-separated subset
# of anon_4k,anon_4k_fragmented,thp_2m,hugetlb_2m; VE_BENCH_IOMMU_MEMORY the same for the IOMMU
# run; VE_BENCH_VARIANT ve1 (default, as NEC's published table) or ve3: the card the emulator
# presents.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cd "$VE_ROOT" || exit
build_all
variant=${VE_BENCH_VARIANT:-ve1}
case $variant in
ve1 | ve3) ;;
*)
	echo "VE_BENCH_VARIANT=$variant: want ve1 or ve3" >&2
	exit 2
	;;
esac
phase "VM: ve_drv on the emulator ($variant)" run_guest_suites --console tests --variant "$variant" info
max_mib=${VE_BENCH_MAX_MIB:-1024}
# Four buffers of the largest size (one per memory type) and as much hugetlb memory: guest RAM
# grows past the usual 4 GiB for scans beyond 256 MiB.
mem_mib=$((4096 + (max_mib > 256 ? 4 * max_mib : 0)))
phase "VM: DMA bandwidth (legacy, bulk, kernel, raw)" run_guest_suites --console tests \
	--variant "$variant" --mem-mib "$mem_mib" --append "ve_bench.max_mib=$max_mib ve_bench.reps=${VE_BENCH_REPS:-3} \
ve_bench.dir=${VE_BENCH_DIR:-both} ve_bench.memory=${VE_BENCH_MEMORY:-anon_4k,anon_4k_fragmented,thp_2m,hugetlb_2m}" \
	dmabench
# The same benchmark with the card behind an IOMMU (QEMU's intel-iommu, the emulator translating
# through the guest's VT-d tables): the kernel manager links 4 KiB pages into one IOVA range per
# 64 MiB block. Side by side with the direct-mapping run above in the comparison below.
iommu_memory=${VE_BENCH_IOMMU_MEMORY:-anon_4k,anon_4k_fragmented,hugetlb_2m}
GUEST_OUT=$VE_OUT/guest-iommu phase "VM: DMA bandwidth behind an IOMMU" run_guest_suites \
	--console tests --variant "$variant" --iommu --mem-mib "$mem_mib" --append "ve_bench.max_mib=$max_mib \
ve_bench.reps=${VE_BENCH_REPS:-3} ve_bench.dir=${VE_BENCH_DIR:-both} ve_bench.memory=$iommu_memory" \
	dmabench
phase "VM: pinning micro-benchmark" run_guest_suites --console tests --variant "$variant" pinbench
# The tables, as Markdown, next to the logs: what the guest printed behind "# " in each suite.
results=$VE_OUT/results
mkdir -p "$results"
rm -f "$results"/*.svg
for suite in info dmabench pinbench iommu/dmabench; do
	case $suite in
	iommu/*) log=$VE_OUT/guest-iommu/${suite#iommu/}/console.log out=$results/${suite#iommu/}-iommu.md ;;
	*) log=$VE_OUT/guest/$suite/console.log out=$results/$suite.md ;;
	esac
	[ -f "$log" ] || continue
	grep -E '^# ' "$log" | grep -v '^# ve_test:' | sed 's/^# //' >"$out"
done
# kernel/raw by DMA mode, memory and size, from both runs: what the IOMMU path gains on
# fragmented 4 KiB memory and costs elsewhere.
awk -f scripts/dma-modes.awk "$VE_OUT/guest/dmabench/console.log" \
	"$VE_OUT/guest-iommu/dmabench/console.log" >"$results/dma-modes.md" 2>/dev/null || true
cat "$results/dma-modes.md"
# CSV of the DMA bandwidth rows: backing/direction, then the table's columns.
awk -F'|' 'BEGIN {print "memory_direction,buff_kb,legacy_mibs,bulk_mibs,kernel_mibs,raw_mibs,kernel_raw,kernel_bulk,kernel_legacy,descriptors_legacy_bulk_kernel,cpu_ms_per_gib_legacy_bulk_kernel,legacy_model_measured,kernel_floor,library_mibs,library_kernel"}
	/^# [a-z_0-9]+ (ve2vh|vh2ve):$/ {sub(/^# /, ""); sub(/:$/, ""); what = $0; next}
	/^# \| [0-9]/ && what != "" {line = what; for (i = 2; i < NF; i++) {gsub(/ /, "", $i); line = line "," $i}; print line}' \
	"$VE_OUT/guest/dmabench/console.log" >"$results/dmabench.csv" 2>/dev/null || true
awk -F, -f scripts/csv-to-json.awk "$results/dmabench.csv" >"$results/dmabench.json"
awk -F, -v outdir="$results" -f scripts/plot-bandwidth.awk "$results/dmabench.csv"
log "results: $results/{info,dmabench,dmabench-iommu,dma-modes,pinbench}.md, dmabench.{csv,json}, *.svg (bandwidth plots)"
phase_report
