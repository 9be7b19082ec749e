# SPDX-License-Identifier: GPL-2.0
# The table of `make eval-personal` as grouped bars: mean per-client int8
# accuracy on each client's own label distribution, of the global FedAvg
# model and of the personalised models (FedPer, Ditto), per Dirichlet alpha.
# gnuplot -e "in='personal.txt'; out='personal.png'" personal.gp
set terminal png size 900,480
set output out
set title "Fashion-MNIST, 20 clients, 30 rounds: mean per-client accuracy on its own labels"
set ylabel "test accuracy (%)"
set yrange [0:100]
set grid ytics
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key outside bottom center horizontal
# rows: alpha, method, global, personal, ...; comments (#) skipped
plot in using 4:xtic(sprintf("%s a=%s", strcol(2), strcol(1))) title "personal (method's own model)", \
     '' using 3 title "global FedAvg model"
