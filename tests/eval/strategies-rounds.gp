# SPDX-License-Identifier: GPL-2.0
# tests/eval/strategies-rounds.txt (make eval-strategies --curves) as one
# panel per data split: int8 test accuracy after each round, a line per
# strategy.  Rendered by `make plots`:
# gnuplot -e "in='strategies-rounds.txt'; out='strategies-rounds.png'" strategies-rounds.gp
set terminal pngcairo size 1500,560 font ",10"
set output out
set datafile missing "-"
set multiplot layout 1,3 title "Fashion-MNIST, 20 clients (10 a round): int8 test accuracy after each round, by strategy"
set xlabel "round"
set ylabel "test accuracy (%)"
set yrange [0:90]
set xrange [1:30]
set grid
set key bottom right font ",8" spacing 0.9
# colours repeat after 8: the last strategies dashed
dash(c) = c > 9 ? 2 : 1
titles = "IID 'Dirichlet alpha 0.5' 'Dirichlet alpha 0.1'"
do for [b=0:2] {
	set title word(titles, b + 1)
	if (b > 0) { unset key }
	plot for [c=2:13] in index b using 1:c with linespoints lc (c - 1) dt dash(c) lw 1.5 pt 7 ps 0.3 title columnhead
}
unset multiplot
