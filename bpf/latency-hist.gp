# SPDX-License-Identifier: GPL-2.0
# bpf/latency-hist.txt (make plot-data-latency): the eBPF telemetry's
# latency histogram (log2 buckets of ns, start to end of an inference),
# each model's buckets as a share of its inferences, bars side by side,
# over the buckets from the first to the last any model used.  Rendered
# by `make plots`:
# gnuplot -e "in='latency-hist.txt'; out='latency-hist.png'" latency-hist.gp
# the header row names the models from column 3 on; each model's total
# first: stats honours the ranges set below
ncol = int(system("awk '!/^#/ { print NF; exit }' '" . in . "'"))
array total[ncol]
do for [c=3:ncol] {
	stats in using c nooutput
	total[c] = STATS_sum
}
set terminal pngcairo size 1100,520 font ",10"
set output out
set title "Inference latency from the eBPF telemetry (guest under QEMU -icount: 1 ns = 1 guest instruction)"
set xlabel "latency bucket [2^b, 2^{b+1}) ns, by its lower bound (guest time)"
set ylabel "share of the model's inferences (%, log scale)"
set logscale y
set yrange [0.1:150]
set grid ytics
set key outside right top
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -30
# the data rows (0-based) of the first and last bucket any model used
first = int(system("awk '$1 ~ /^[0-9]/ { r++; for (c = 3; c <= NF; c++) if ($c > 0) { print r - 1; exit } }' '" . in . "'"))
last = int(system("awk '$1 ~ /^[0-9]/ { r++; for (c = 3; c <= NF; c++) if ($c > 0) l = r - 1 } END { print l }' '" . in . "'"))
lbl(x) = x < 1000 ? sprintf("%.3g ns", x) : x < 1e6 ? sprintf("%.3g µs", x / 1e3) : sprintf("%.3g ms", x / 1e6)
# a zero share is left out (log scale)
plot for [c=3:ncol] in every ::first::last \
	using (column(c) > 0 ? 100 * column(c) / total[c] : 1/0):xtic(lbl($1)) \
	title columnhead(c)
