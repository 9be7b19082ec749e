# SPDX-License-Identifier: GPL-2.0
#
# Pictures of the project's own figures (included by the top-level
# Makefile).  Each plot is a data file, the gnuplot script beside it and
# the PNG it renders, committed together in the folder whose data it shows:
#
#   tests/eval/strategies.{txt,gp,png}         final accuracy by strategy
#   tests/eval/strategies-rounds.{txt,gp,png}  accuracy per round by strategy
#   models/engine/engine-xnnpack.{txt,gp,png}  engine vs XNNPACK per model
#   bpf/latency-hist.{txt,gp,png}              telemetry latency histogram
#   runtime/fed/aggregator-cost.{txt,gp,png}   aggregator cost vs nodes
#   tests/eval/personal.{txt,gp,png}           personalised vs global, per node
#
#   make plots        renders every PNG from the committed data (seconds;
#                     gnuplot only, nothing is measured).  PLOTS_OUT=DIR
#                     renders into DIR instead of beside the data.
#   make check-plots  make plots into $(B)/plots, every PNG checked
#   make plot-data-engine   host: build/engine-bench --json (~1 min)
#   make plot-data-latency  one 6.1 guest boot with -icount (~7 min loaded)
#   make plot-data-fed      tests/bench/fed_bench.sh, 10..1000 nodes (~3 min)
#   make eval-strategies    the strategy grid (tests/eval/eval.mk, ~15 min)
#   make eval-personal      FedPer and Ditto against FedAvg (~17 min)
#
# The plot-data-* targets measure and overwrite the data files; `make
# plots` after them renders the new figures.

PLOTS := tests/eval/strategies tests/eval/strategies-rounds \
	 models/engine/engine-xnnpack bpf/latency-hist runtime/fed/aggregator-cost \
	 tests/eval/personal
PLOTS_OUT ?=

.PHONY: plots check-plots plot-data-engine plot-data-latency plot-data-fed
plots:
	@command -v gnuplot > /dev/null || { echo "plots: gnuplot not found (Debian gnuplot-nox)"; exit 1; }
	@set -e; $(if $(PLOTS_OUT),mkdir -p $(PLOTS_OUT);) \
	for p in $(PLOTS); do \
		o=$(if $(PLOTS_OUT),$(PLOTS_OUT)/$$(basename $$p).png,$$p.png); \
		gnuplot -e "in='$$p.txt'; out='$$o'" $$p.gp 2> $$o.err || \
			{ cat $$o.err; rm -f $$o.err; exit 1; }; \
		if [ -s $$o.err ]; then \
			cat $$o.err; rm -f $$o.err; \
			echo "plots: $$p.gp: gnuplot warned (data and script disagree?)"; \
			exit 1; \
		fi; rm -f $$o.err; \
		echo "plots: $$o"; \
	done

# Fresh PNGs from the committed data: gnuplot exits 0 without a warning
# (a data file without valid points, a missing column, an invalid range
# all warn or fail), and each output is a PNG.
check-plots:
	rm -rf $(B)/plots
	$(MAKE) --no-print-directory plots PLOTS_OUT=$(B)/plots
	@for p in $(PLOTS); do \
		f=$(B)/plots/$$(basename $$p).png; \
		[ "$$(head -c 4 $$f | od -An -tx1 | tr -d ' ')" = 89504e47 ] || \
			{ echo "check-plots: $$f is not a PNG"; exit 1; }; \
	done; echo "check-plots: $(words $(PLOTS)) PNGs rendered"

# Every committed model, scalar (--simd off, what a CPU without the SIMD
# paths runs) and on the SIMD path this host's dispatch picks, against
# XNNPACK, in microseconds per inference (medians, batch 1, one thread),
# on the thread's CPU clock: the machine is shared, and wall-clock medians
# there swing several-fold with the load; CPU time matches them on a quiet
# machine.
ENGINE_PLOT_MODELS := $(wildcard models/*.mcai models/mlperf-tiny/*.mcai)
# a row per model of the SIMD run, with the scalar run's time beside it;
# "-" for XNNPACK where it runs none of the model's ops (the tree ensemble)
ENGINE_PLOT_ROW := def us: . / 10 | round | . / 100; .[0] as $$off | .[1][] | .model as $$m | ($$off[] | select(.model == $$m) | .mcai_ns) as $$s | "\(.model) \(.macs) \($$s | us) \(.mcai_ns | us) \(if .xnnpack_ns and (.mapping // "") != "" then .xnnpack_ns | us else "-" end)"
plot-data-engine: $(B)/engine-bench
	$(B)/engine-bench --json --cpu-time --simd off $(ENGINE_PLOT_MODELS) > $(B)/engine-off.json
	$(B)/engine-bench --json --cpu-time $(ENGINE_PLOT_MODELS) > $(B)/engine-simd.json
	{ echo "# make plot-data-engine: build/engine-bench --json --cpu-time, batch 1, one"; \
	  echo "# thread, medians of alternated runs, the thread's CPU time (the host is shared);"; \
	  echo "# $$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $$(nproc) cores; mcai compiled as the kernel compiles it"; \
	  echo "# model MACs mcai_scalar_us mcai_$$(jq -r '.[0].simd' $(B)/engine-simd.json)_us xnnpack_us"; \
	  jq -r -s '$(ENGINE_PLOT_ROW)' $(B)/engine-off.json $(B)/engine-simd.json; \
	} > $(B)/engine-xnnpack.txt
	cat $(B)/engine-xnnpack.txt
	cp $(B)/engine-xnnpack.txt models/engine/engine-xnnpack.txt

plot-data-latency:
	tests/bench/telemetry_hist.sh bpf/latency-hist.txt

plot-data-fed: $(B)/mcaid
	MCAI_BENCH_NODES="10 30 100 300 1000" \
		MCAI_BENCH_DATA=$(CURDIR)/runtime/fed/aggregator-cost.txt \
		tests/bench/fed_bench.sh
