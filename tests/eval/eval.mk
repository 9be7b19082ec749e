# SPDX-License-Identifier: GPL-2.0
#
# Federation evaluations in one process (included by the top-level
# Makefile): build/mcai-fedsim simulates the clients and the aggregator
# with the fleet's own trainer, strategies, anomaly scoring and int8
# quantiser, on Fashion-MNIST from Debian's dataset-fashion-mnist.
#
#   make eval-sim      IID and non-IID (Dirichlet 0.5) against the
#                      centralised baseline, 20 clients, fraction 0.5,
#                      30 rounds, and a round in which 30 % of the
#                      clients die
#   make eval-attacks  4 attacks x 10/20/30 % attackers x 6 strategies,
#                      20 clients, final int8 accuracy in one table
#
# Both use two threads (EVAL_JOBS) and print their figures on stdout,
# progress on stderr; tests/eval/results.txt records a run of each.

FEDSIM_SRCS := tests/eval/fedsim_main.c runtime/fed/fedsim.c runtime/fed/anomaly.c runtime/fed/dp.c \
	       runtime/fed/compress.c runtime/fed/personal.c runtime/fed/fedhead.c \
	       tests/eval/fedsim_head.c runtime/fed/strategy.c models/train/mlp.c models/train/mlpquant.c models/train/cli.c \
	       $(MODELS_USER)
EVAL_JOBS ?= 2

tools: $(B)/mcai-fedsim
$(B)/mcai-fedsim: $(call obj,$(FEDSIM_SRCS))
	$(CC) $(CFLAGS) -pthread -o $@ $^ -lz -lm

# The budget of the attack grid (78 runs, ~6 CPU-s each): 8000 training
# images (400 per client), 15 rounds of all 20 clients, one local epoch.
EVAL_ATTACKS_ARGS ?= --clients 20 --fraction 1 --rounds 15 --epochs 1 \
		     --train-limit 8000 --eval-every 0

# Two local epochs per round: with one, IID FedAvg ended 2.1 points under
# the centralised baseline (tests/eval/results.txt), one round of 94
# local steps being too few to use the 30000 samples it costs.
EVAL_SIM_ARGS ?= --epochs 2

.PHONY: eval-sim eval-attacks
eval-sim: $(B)/mcai-fedsim
	$(B)/mcai-fedsim --suite sim --jobs $(EVAL_JOBS) --clients 20 \
		--fraction 0.5 --rounds 30 $(EVAL_SIM_ARGS)

eval-attacks: $(B)/mcai-fedsim
	$(B)/mcai-fedsim --suite attacks --jobs $(EVAL_JOBS) \
		$(EVAL_ATTACKS_ARGS)

# Compressed updates (runtime/fed/compress.h): float32, int8, top-k 0.25
# and 0.1 (with error feedback), IID and Dirichlet 0.5, 30 rounds of 10 of
# 20 clients.  The budget (1000 images a client, one local epoch) keeps the
# 8 runs near ten minutes on 2 shared cores; the accuracy cost of a
# compression is measured against float32 under the same budget.
EVAL_COMPRESS_ARGS ?= --train-limit 20000 --epochs 1 --eval-every 0

# Every strategy on IID, alpha 0.5 and alpha 0.1 (36 runs): 100 images a
# client, 30 rounds of 10 of 20 clients, 1000 test images, so that the
# grid stays within half an hour on 2 shared cores; the table goes to
# tests/eval/strategies.txt and its plot to tests/eval/strategies.png,
# the accuracy after every round (evaluating does not change training)
# to tests/eval/strategies-rounds.txt, plotted by `make plots`.
EVAL_STRATEGIES_ARGS ?= --train-limit 2000 --test-limit 1000 --calib 500 \
			--epochs 1 --eval-every 1

.PHONY: eval-compress eval-strategies
eval-compress: $(B)/mcai-fedsim
	$(B)/mcai-fedsim --suite compress --jobs $(EVAL_JOBS) --clients 20 \
		--fraction 0.5 --rounds 30 $(EVAL_COMPRESS_ARGS) \
		> $(B)/compress.txt
	cat $(B)/compress.txt
	cp $(B)/compress.txt tests/eval/compress.txt

eval-strategies: $(B)/mcai-fedsim
	$(B)/mcai-fedsim --suite strategies --jobs $(EVAL_JOBS) --clients 20 \
		--fraction 0.5 --rounds 30 $(EVAL_STRATEGIES_ARGS) \
		--curves $(B)/strategies-rounds.txt > $(B)/strategies.txt
	gnuplot -e "in='$(B)/strategies.txt'; out='$(B)/strategies.png'" \
		tests/eval/strategies.gp
	cp $(B)/strategies.txt tests/eval/strategies.txt
	cp $(B)/strategies.png tests/eval/strategies.png
	cp $(B)/strategies-rounds.txt tests/eval/strategies-rounds.txt

# Personalisation (runtime/fed/personal.h): plain FedAvg, FedPer (the head
# stays on each client) and Ditto (lambda 0.1) on Dirichlet 0.1 and 0.5,
# 30 rounds of 10 of 20 clients, 1000 training images a client, all
# 10,000 test images; each client's model measured on its own label
# distribution.  Table: tests/eval/personal.txt, plot: personal.png.
EVAL_PERSONAL_ARGS ?= --train-limit 20000 --calib 500 --epochs 1 \
		      --eval-every 0

.PHONY: eval-personal
eval-personal: $(B)/mcai-fedsim
	$(B)/mcai-fedsim --suite personal --jobs $(EVAL_JOBS) --clients 20 \
		--fraction 0.5 --rounds 30 $(EVAL_PERSONAL_ARGS) \
		> $(B)/personal.txt
	gnuplot -e "in='$(B)/personal.txt'; out='$(B)/personal.png'" \
		tests/eval/personal.gp
	cp $(B)/personal.txt tests/eval/personal.txt
	cp $(B)/personal.png tests/eval/personal.png

# Federating an imported model (runtime/fed/fedhead.h): the Fashion-MNIST
# CNN's two fc layers re-initialised at random and federated over the
# frozen int8 body, IID, Dirichlet 0.5 and 0.1, 30 rounds of 10 of 20
# clients, one local epoch; every 5th round's requantised blob is run whole
# by the engine on the 10,000 test images.  12,000 training images (600
# a client): the three runs take 46 CPU-seconds (19 minutes of wall time
# on 2 cores shared with guest tests and a soak).
# Table: tests/eval/cnn-head.txt, plot: cnn-head.png.
EVAL_CNN_HEAD_ARGS ?= --train-limit 12000 --calib 1000 --epochs 1 \
		      --eval-every 5 --lr 0.02

.PHONY: eval-cnn-head
eval-cnn-head: $(B)/mcai-fedsim
	$(B)/mcai-fedsim --suite cnn-head --clients 20 --fraction 0.5 \
		--rounds 30 $(EVAL_CNN_HEAD_ARGS) > $(B)/cnn-head.txt
	gnuplot -e "in='$(B)/cnn-head.txt'; out='$(B)/cnn-head.png'" \
		tests/eval/cnn-head.gp
	cp $(B)/cnn-head.txt tests/eval/cnn-head.txt
	cp $(B)/cnn-head.png tests/eval/cnn-head.png
