# SPDX-License-Identifier: GPL-2.0
# The table of `make eval-cnn-head`: int8 test accuracy of the imported
# Fashion-MNIST CNN, whole blob run by the engine, after each evaluated
# round of federating its fc head from a random start (frozen int8 body),
# IID and Dirichlet 0.5 / 0.1, against the imported model as shipped.
# gnuplot -e "in='cnn-head.txt'; out='cnn-head.png'" cnn-head.gp
set terminal png size 900,480
set output out
set title "fmnist-cnn: fc head federated over a frozen int8 body (20 clients, 10 a round)"
set xlabel "round"
set ylabel "int8 test accuracy (%)"
set yrange [0:100]
set grid
set key bottom right
plot in using 1:($2*100) with linespoints title "IID", \
     '' using 1:($3*100) with linespoints title "Dirichlet 0.5", \
     '' using 1:($4*100) with linespoints title "Dirichlet 0.1", \
     '' using 1:($5*100) with lines dashtype 2 title "imported model as shipped"
