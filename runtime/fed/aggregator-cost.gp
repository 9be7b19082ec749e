# SPDX-License-Identifier: GPL-2.0
# runtime/fed/aggregator-cost.txt (make plot-data-fed): what one mcaid
# aggregator costs as the fleet grows: CPU per update and updates per
# second (left), the round's wall time and peak memory (right), against
# the number of nodes.  Rendered by `make plots`:
# gnuplot -e "in='aggregator-cost.txt'; out='aggregator-cost.png'" aggregator-cost.gp
set terminal pngcairo size 1200,500 font ",10"
set output out
set multiplot layout 1,2 title "One aggregator, FedAvg on the Fashion-MNIST MLP over TLS on loopback"
set xlabel "nodes (log scale)"
set logscale x
set xrange [7:1400]
set xtics (10, 30, 100, 300, 1000, 3000)
set grid
set key bottom right opaque box
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]

set title "CPU per update and throughput"
set ylabel "aggregator CPU per update (ms)"
set y2label "updates aggregated per second"
plot in using 1:5 with linespoints lw 2 pt 7 title "CPU ms / update", \
     '' using 1:4 axes x1y2 with linespoints lw 2 pt 5 title "updates / s"

set title "Round time and memory"
set ylabel "wall time of a round (s)"
set y2label "aggregator peak memory, VmHWM (MiB)"
plot in using 1:3 with linespoints lw 2 pt 7 title "s / round", \
     '' using 1:6 axes x1y2 with linespoints lw 2 pt 5 title "VmHWM MiB"
unset multiplot
