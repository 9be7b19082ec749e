# SPDX-License-Identifier: GPL-2.0
# The table of `make eval-strategies` as grouped bars: final int8 test
# accuracy of each strategy on IID, Dirichlet 0.5 and 0.1 data.
# gnuplot -e "in='strategies.txt'; out='strategies.png'" strategies.gp
set terminal png size 1100,520
set output out
set title "Fashion-MNIST, 20 clients, 30 rounds: final int8 accuracy by strategy"
set ylabel "test accuracy (%)"
set yrange [0:100]
set grid ytics
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -30
set key top right
plot in using 2:xtic(1) title "IID", \
     '' using 3 title "Dirichlet 0.5", \
     '' using 4 title "Dirichlet 0.1"
