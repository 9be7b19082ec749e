# SPDX-License-Identifier: GPL-2.0
# models/engine/engine-xnnpack.txt (make plot-data-engine): microseconds
# per inference of every committed model on the mcai engine, scalar and
# on the host's SIMD path, and on XNNPACK, as grouped bars on a log
# scale (a model XNNPACK cannot run has no third bar).  Rendered by
# `make plots`:
# gnuplot -e "in='engine-xnnpack.txt'; out='engine-xnnpack.png'" engine-xnnpack.gp
set terminal pngcairo size 1100,520 font ",10"
set output out
set datafile missing "-"
set title "Engine vs XNNPACK: time per inference (batch 1, one thread, int8)"
set ylabel "microseconds per inference (log scale)"
set logscale y
set grid ytics
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -30
set key top left
# the SIMD path's name is in the header line's fourth column
simd = system("sed -n 's/^# model MACs mcai_scalar_us mcai_\\(.*\\)_us xnnpack_us$/\\1/p' '" . in . "'")
plot in using 3:xtic(1) title "mcai, scalar", \
     '' using 4 title "mcai, " . simd, \
     '' using 5 title "XNNPACK"
