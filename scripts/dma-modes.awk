# SPDX-License-Identifier: GPL-2.0
# The in-kernel manager by DMA mode: reads the dmabench console log of the direct-mapping run
# (first file) and of the IOMMU run (second file) of one main job, and prints, per memory type,
# direction and size, the kernel manager's rate, its share of the engine's raw rate and its
# descriptor count in both, as a Markdown table; then the IOMMU issue's two ratios for fragmented
# 4 KiB memory.
# Usage: awk -f scripts/dma-modes.awk DIRECT_LOG IOMMU_LOG
FNR == 1 { run = (NR == 1) ? "direct" : "iommu" }
/^# [a-z_0-9]+ (ve2vh|vh2ve):$/ { what = $2 " " $3; sub(/:$/, "", what); next }
FNR == 1 { what = "" }
/^# \| [0-9]/ && what != "" {
	n = split($0, f, "|")
	for (i = 1; i <= n; i++) gsub(/ /, "", f[i])
	key = what SUBSEP f[2]
	if (!(key in seen)) { seen[key] = 1; order[++rows] = key }
	kernel[run, key] = f[5]
	ratio[run, key] = f[7]
	split(f[10], d, "/")
	descs[run, key] = d[3]
}
END {
	print "In-kernel manager by DMA mode (kernel MiB/s, kernel/raw, kernel descriptors), direct and IOMMU runs of one main job:"
	print ""
	print "| memory direction | buff kb | direct MiB/s | direct kernel/raw | direct descs | IOMMU MiB/s | IOMMU kernel/raw | IOMMU descs | IOMMU/direct |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (r = 1; r <= rows; r++) {
		key = order[r]
		split(key, k, SUBSEP)
		dk = kernel["direct", key]; ik = kernel["iommu", key]
		rel = (dk > 0 && ik != "") ? sprintf("%.2f", ik / dk) : "-"
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", k[1], k[2],
			(dk == "" ? "-" : dk), (ratio["direct", key] == "" ? "-" : ratio["direct", key]),
			(descs["direct", key] == "" ? "-" : descs["direct", key]),
			(ik == "" ? "-" : ik), (ratio["iommu", key] == "" ? "-" : ratio["iommu", key]),
			(descs["iommu", key] == "" ? "-" : descs["iommu", key]), rel
	}
	print ""
	print "Fragmented 4 KiB memory behind the IOMMU (sizes >= 1 MiB): kernel/raw against the direct run's fragmented (target >= 3x) and contiguous 4 KiB (target >= 0.8x):"
	print ""
	print "| direction | buff kb | IOMMU fragmented kernel/raw | x direct fragmented | x direct anon_4k |"
	print "|---|---:|---:|---:|---:|"
	for (r = 1; r <= rows; r++) {
		key = order[r]
		split(key, k, SUBSEP)
		split(k[1], m, " ")
		if (m[1] != "anon_4k_fragmented" || k[2] < 1024) continue
		i = ratio["iommu", key]; fr = ratio["direct", key]
		a = ratio["direct", "anon_4k " m[2] SUBSEP k[2]]
		if (i == "") continue
		printf "| %s | %s | %s | %s | %s |\n", m[2], k[2], i,
			(fr > 0 ? sprintf("%.2f", i / fr) : "-"), (a > 0 ? sprintf("%.2f", i / a) : "-")
	}
}
