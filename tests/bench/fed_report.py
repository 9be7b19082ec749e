# SPDX-License-Identifier: GPL-2.0
"""Figures of tests/bench/fed_bench.sh from what its phases left behind.

  fed_report.py DIR MAX_NODES NODES...

DIR holds, per fleet size N: phase-N.log (the aggregator's log),
phase-N.json (tests/bench/fed_load.py's result), phase-N.mem (VmHWM/VmRSS
as the federation finished); and memsum.txt (tests/bench/memsum.c on the
bytes of one round of MAX_NODES updates).  Prints the report on stdout;
with MCAI_BENCH_DATA=FILE also writes the per-fleet-size summary to FILE
as a table for gnuplot.
"""
import json
import os
import re
import sys
from datetime import datetime

TS = re.compile(r"^(\S+Z) mcaid\[\d+\] \w+: (.*)$")
START = re.compile(r"^round (\d+): (\d+) of (\d+) connected nodes sampled")
DONE = re.compile(r"^round (\d+) done \([^)]*\): (\d+) of (\d+) answered")


def ts(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def parse_log(path):
    rounds, stats = {}, {}
    with open(path, errors="replace") as f:
        for line in f:
            m = TS.match(line)
            if not m:
                continue
            t, msg = ts(m.group(1)), m.group(2)
            s = START.match(msg)
            if s:
                rounds.setdefault(int(s.group(1)), {})["start"] = t
                rounds[int(s.group(1))]["sampled"] = int(s.group(2))
                continue
            d = DONE.match(msg)
            if d:
                r = rounds.setdefault(int(d.group(1)), {})
                r["done"] = t
                r["answered"] = int(d.group(2))
                continue
            if msg.startswith("stats: "):
                for kv in msg[7:].split():
                    k, _, v = kv.partition("=")
                    stats[k] = int(v)
    return rounds, stats


def val_at(smp, t, k):
    """Field @k of the samples (1: CPU seconds, 4: of those in the
    kernel) at wall time @t, interpolated."""
    if not smp or len(smp[0]) <= k:
        return 0.0
    if t <= smp[0][0]:
        return smp[0][k]
    for s0, s1 in zip(smp, smp[1:]):
        t0, t1 = s0[0], s1[0]
        if t0 <= t <= t1:
            return s0[k] + (s1[k] - s0[k]) * ((t - t0) / (t1 - t0)
                                              if t1 > t0 else 0)
    return smp[-1][k]


def cpu_at(smp, t):
    """The aggregator's CPU seconds at wall time @t, interpolated."""
    return val_at(smp, t, 1)


def sys_at(smp, t):
    """Of those, the seconds spent in the kernel."""
    return val_at(smp, t, 4)


def max_rss(smp, a, b):
    v = [s[3] for s in smp if a <= s[0] <= b and s[3]]
    return max(v) if v else 0


def parse_kv(path, sep):
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(sep)
            if v.strip():
                out[k.strip()] = v.split()[0]
    return out


def write_data(path, sizes, summary, n_params):
    """The summary per fleet size as a table for gnuplot
    (runtime/fed/aggregator-cost.gp): one row per node count."""
    with open(path + ".tmp", "w") as f:
        f.write("# tests/bench/fed_bench.sh (make plot-data-fed): one mcaid aggregator,\n"
                "# FedAvg on the MLP 784-%d-10 (%.1f KiB of delta per update), fraction 1.0,\n"
                "# N simulated nodes on loopback TLS 1.3 (one Python asyncio process),\n"
                "# figures over the rounds of each fleet size; %d cores, shared: the\n"
                "# load average as the run ended was %s (the wall-clock figures\n"
                "# suffer from it; CPU per update much less)\n"
                % ((n_params - 10) // 795, n_params * 4 / 1024,
                   os.cpu_count(), " ".join(open("/proc/loadavg").read().split()[:3])))
        f.write("# nodes rounds wall_s/round updates/s cpu_ms/update VmHWM_MiB "
                "wire_in_KiB/node/round\n")
        for n in sizes:
            s = summary[n]
            r = max(s["rounds"], 1)
            f.write("%d %d %.3f %.1f %.3f %.1f %.0f\n" % (
                n, s["rounds"], s["wall"] / r,
                s["upd"] / s["wall"] if s["wall"] else 0.0,
                s["cpu"] / s["upd"] * 1e3 if s["upd"] else 0.0,
                s["hwm"] / 1024, s["in"] / n / r / 1024))
    os.replace(path + ".tmp", path)


def main():
    d, max_n = sys.argv[1], int(sys.argv[2])
    sizes = [int(x) for x in sys.argv[3:]]
    ms = {k: float(v) for k, v in parse_kv(f"{d}/memsum.txt", "=").items()}
    fl = parse_kv(f"{d}/tlsfloor.txt", "=")
    floor_ms = float(fl["floor_us"]) / 1e3
    out = print
    phases = {}
    for n in sizes:
        rounds, stats = parse_log(f"{d}/phase-{n}.log")
        with open(f"{d}/phase-{n}.json") as f:
            js = json.load(f)
        mem = parse_kv(f"{d}/phase-{n}.mem", ":")
        phases[n] = (rounds, stats, js, mem)

    n_params = phases[max_n][2]["n_params"]
    upd_bytes = n_params * 4
    out("== mcaid federation benchmark: FedAvg, fraction 1.0, MLP 784-%d-10 "
        "(%d parameters, %.1f KiB of delta per update), TLS 1.3 on loopback"
        % ((n_params - 10) // 795, n_params, upd_bytes / 1024))
    out("   aggregator: build/mcaid, one io_uring thread; nodes: one Python "
        "asyncio process on the same 2 cores")
    out()
    hdr = ("%6s %5s %8s %9s %8s %10s %6s %7s %9s %9s %8s %8s"
           % ("nodes", "round", "wall_s", "upd/s", "cpu_s", "cpu/upd_ms",
              "sys_%", "x_floor", "agg_GB/s", "rss_MiB", "bcast_s",
              "bcast_cpu"))
    out(hdr)
    summary = {}
    for n in sizes:
        rounds, stats, js, mem = phases[n]
        smp = js["samples"]
        walls, upds, cpus, syss = [], [], [], []
        rss_round, rss_bcast = [], []
        keys = [k for k in sorted(rounds)
                if "done" in rounds[k] and "start" in rounds[k]]
        for i, rid in enumerate(keys):
            r = rounds[rid]
            wall = r["done"] - r["start"]
            a = r["answered"]
            cpu = cpu_at(smp, r["done"]) - cpu_at(smp, r["start"])
            kern = sys_at(smp, r["done"]) - sys_at(smp, r["start"])
            # The new version goes out after "done": until the next round
            # starts, or for the last one until every node has it.
            if i + 1 < len(keys):
                b_end = rounds[keys[i + 1]]["start"]
            else:
                m = js["models"].get(str(rid + 1))
                b_end = m["t_last"] if m else r["done"]
            bcast = b_end - r["done"]
            bcpu = cpu_at(smp, b_end) - cpu_at(smp, r["done"])
            rr = max_rss(smp, r["start"], r["done"])
            rb = max_rss(smp, r["done"], b_end)
            if i == 0:
                first = (cpu, kern, a)
            walls.append(wall)
            upds.append(a)
            cpus.append(cpu)
            syss.append(kern)
            rss_round.append(rr)
            rss_bcast.append(rb)
            out("%6d %5d %8.3f %9.1f %8.2f %10.3f %6.1f %7.2f %9.3f %9.1f "
                "%8.3f %8.2f" % (
                n, rid, wall, a / wall if wall > 0 else 0.0, cpu,
                cpu / a * 1e3 if a else 0.0,
                kern / cpu * 100 if cpu > 0 else 0.0,
                cpu / a * 1e3 / floor_ms if a else 0.0,
                a * upd_bytes / wall / 1e9 if wall > 0 else 0.0,
                rr / 1024, bcast, bcpu))
        summary[n] = {
            "first": first if keys else (0.0, 0.0, 0),
            "rounds": len(walls), "wall": sum(walls), "upd": sum(upds),
            "cpu": sum(cpus), "sys": sum(syss), "hwm": int(mem.get("VmHWM", "0")),
            "rss_round": max(rss_round or [0]),
            "rss_bcast": max(rss_bcast or [0]),
            "in": stats.get("bytes_in", 0), "out": stats.get("bytes_out", 0),
            "peak": stats.get("peak_peers", 0),
        }
    out()
    out("   wall_s: the aggregator's round, from sampling to the version "
        "published (its log); upd/s = updates / wall_s;")
    out("   cpu_s: aggregator utime+stime over that round (receiving, TLS, "
        "checking and folding every update, quantising, publishing),")
    out("   from /proc/PID/stat sampled every 10 ms; sys_%: of that CPU, the "
        "kernel's (sockets, io_uring); x_floor: cpu/upd_ms over the floor")
    out("   (below); rss_MiB: its peak VmRSS during the round; agg_GB/s: "
        "delta bytes folded per second;")
    out("   bcast_s / bcast_cpu: sending the new MODEL to every node, until "
        "the next round starts.")
    out()
    out("%6s %7s %9s %10s %10s %10s %10s %13s %13s %12s" % (
        "nodes", "rounds", "upd/s", "cpu/upd_ms", "VmHWM_MiB",
        "rss_rounds", "rss_bcast", "wire_in/node", "wire_out/node",
        "in/node/rnd"))
    for n in sizes:
        s = summary[n]
        out("%6d %7d %9.1f %10.3f %10.1f %10.1f %10.1f %12.0fK %12.0fK "
            "%11.0fK" % (
                n, s["rounds"], s["upd"] / s["wall"] if s["wall"] else 0.0,
                s["cpu"] / s["upd"] * 1e3 if s["upd"] else 0.0,
                s["hwm"] / 1024, s["rss_round"] / 1024, s["rss_bcast"] / 1024,
                s["in"] / n / 1024, s["out"] / n / 1024,
                s["in"] / n / max(s["rounds"], 1) / 1024))
    out()
    out("   wire_in/out per node: the aggregator's socket byte counters "
        "(TLS records, handshake and the initial MODEL included) / nodes;")
    out("   in/node/rnd: bytes received per node per round (one UPDATE frame "
        "is %d bytes of plaintext)." % (16 + 24 + 4 + upd_bytes))
    out("   VmHWM: the aggregator's peak over its whole run; rss_rounds / "
        "rss_bcast: peak VmRSS while collecting and folding updates /")
    out("   while sending the new MODEL to every node.")
    if len(sizes) > 1:
        for k, what in (("hwm", "VmHWM"), ("rss_round", "rounds"),
                        ("rss_bcast", "broadcast")):
            a, b = summary[sizes[0]][k], summary[sizes[-1]][k]
            out("   %-9s %5d -> %5d nodes: %7.1f -> %7.1f MiB (x%.2f for "
                "x%.0f the nodes)" % (what, sizes[0], sizes[-1], a / 1024,
                                       b / 1024, b / a if a else 0.0,
                                       sizes[-1] / sizes[0]))
    data = os.environ.get("MCAI_BENCH_DATA")
    if data:
        write_data(data, sizes, summary, n_params)
    out()
    s = summary[max_n]
    per_round_bytes = max_n * upd_bytes
    wall_r = s["wall"] / max(s["rounds"], 1)
    cpu_r = s["cpu"] / max(s["rounds"], 1)
    out("== aggregation against the memory-bandwidth limit (%d nodes, "
        "%.1f MB of deltas per round)" % (max_n, per_round_bytes / 1e6))
    out("   plain float memory-sum of %d bytes: %.4f s (%.2f GB/s); FedAvg "
        "shape acc += w*u: %.4f s (%.2f GB/s)" % (
            ms["bytes"], ms["sum_s"], ms["sum_gbs"],
            ms.get("axpy_s", 0.0), ms.get("axpy_gbs", 0.0)))
    out("   aggregator per round: %.3f s wall, %.3f s CPU -> %.2f GB/s "
        "of deltas folded" % (wall_r, cpu_r, per_round_bytes / wall_r / 1e9))
    out("   ratio wall / memory-sum: %.1f x;  CPU / memory-sum: %.1f x" % (
        wall_r / ms["sum_s"], cpu_r / ms["sum_s"]))
    out("   CPU per update: %.3f ms (memory-sum of one update: %.4f ms)" % (
        cpu_r / max_n * 1e3, ms["sum_s"] / max_n * 1e3))
    out()
    out("== per update against the floor: TLS decryption + fold "
        "(tests/bench/tlsfloor.c, same run)")
    out("   %s, %s bytes of UPDATE frame in %s bytes of TLS records: "
        "decrypting %.1f us (the AEAD alone %.1f us),"
        % (fl["cipher"], fl["update_bytes"], fl["wire_bytes"],
           float(fl["tls_us"]), float(fl["aead_us"])))
    out("   folding acc += w*u %.1f us: floor %.1f us of CPU per update"
        % (float(fl["fold_us"]), float(fl["floor_us"])))
    recv_ms = float(fl.get("recv_us", 0)) / 1e3
    if recv_ms:
        out("   (left out of the floor: recv() of the same ciphertext from a "
            "loopback socket, %.1f us; floor + recv = %.1f us)"
            % (recv_ms * 1e3, (floor_ms + recv_ms) * 1e3))
    for n in sizes:
        s = summary[n]
        if not s["upd"]:
            continue
        c = s["cpu"] / s["upd"] * 1e3
        out("   %5d nodes: aggregator %.3f ms per update (%.0f %% kernel) "
            "= %.2f x the floor (%.2f x floor + recv)" % (
                n, c, s["sys"] / s["cpu"] * 100 if s["cpu"] else 0.0,
                c / floor_ms, c / (floor_ms + recv_ms)))
        fc, fk, fa = s["first"]
        if fa:
            out("          round 1 alone (no new model going out beside the "
                "updates): %.3f ms (%.0f %% kernel) = %.2f x (%.2f x)" % (
                    fc / fa * 1e3, fk / fc * 100 if fc else 0.0,
                    fc / fa * 1e3 / floor_ms,
                    fc / fa * 1e3 / (floor_ms + recv_ms)))
    out("   From round 2 on, the version just published is sealed and sent "
        "to every node while its next")
    out("   updates come in: that CPU is in the round's too.")


if __name__ == "__main__":
    main()
