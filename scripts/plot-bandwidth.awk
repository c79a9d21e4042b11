#!/usr/bin/awk -f
# SPDX-License-Identifier: GPL-2.0
# Bandwidth against buffer size (log scale), one SVG per memory type and direction, from the
# DMA benchmark's CSV (scripts/run.sh writes it): lines for legacy, bulk, kernel, raw and library
# (libvedma's ve_dma_xfer_p_va, column 14).
# Usage: awk -F, -v outdir=DIR -f plot-bandwidth.awk dmabench.csv
NR == 1 { next }
{
	g = $1; n[g]++; kb[g, n[g]] = $2
	for (m = 0; m < 5; m++) { c = m < 4 ? 3 + m : 14; v[g, n[g], m] = $c + 0; if ($c + 0 > ymax[g]) ymax[g] = $c + 0 }
	if (!(g in seen)) { seen[g] = 1; order[++groups] = g }
}
function x(k, g) { return 70 + 620 * (log(k) - log(kb[g, 1])) / (log(kb[g, n[g]]) - log(kb[g, 1]) + 1e-9) }
function y(val, g) { return 330 - 290 * val / ymax[g] }
END {
	split("legacy bulk kernel raw library", name, " ")
	split("#d62728 #ff7f0e #1f77b4 #7f7f7f #2ca02c", color, " ")
	for (i = 1; i <= groups; i++) {
		g = order[i]; f = g; gsub(/ /, "_", f); f = outdir "/" f ".svg"
		print "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"380\" font-family=\"sans-serif\" font-size=\"11\">" > f
		print "<rect width=\"720\" height=\"380\" fill=\"white\"/>" > f
		printf "<text x=\"360\" y=\"18\" text-anchor=\"middle\" font-size=\"13\">%s: MiB/s against buffer KiB (log scale); TCG guest, emulated engine</text>\n", g > f
		print "<line x1=\"70\" y1=\"330\" x2=\"690\" y2=\"330\" stroke=\"black\"/><line x1=\"70\" y1=\"40\" x2=\"70\" y2=\"330\" stroke=\"black\"/>" > f
		for (t = 0; t <= 4; t++) {
			val = ymax[g] * t / 4
			printf "<text x=\"64\" y=\"%.0f\" text-anchor=\"end\">%.0f</text>\n", y(val, g) + 4, val > f
		}
		for (j = 1; j <= n[g]; j++)
			printf "<text x=\"%.0f\" y=\"346\" text-anchor=\"middle\" font-size=\"9\">%s</text>\n", x(kb[g, j], g), kb[g, j] > f
		for (m = 0; m < 5; m++) {
			pts = ""
			for (j = 1; j <= n[g]; j++) pts = pts sprintf("%.1f,%.1f ", x(kb[g, j], g), y(v[g, j, m], g))
			printf "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>\n", color[m + 1], pts > f
			printf "<text x=\"%d\" y=\"368\" fill=\"%s\">%s</text>\n", 100 + 120 * m, color[m + 1], name[m + 1] > f
		}
		print "</svg>" > f
		close(f)
	}
}
