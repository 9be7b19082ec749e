#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The host side of `make soak`: the guest's CSV into a plot and a verdict.

usage: report.py CSV PNG SUMMARY [GUEST_LINES]

A leak is a failure.  For each judged memory series a line is fitted (least
squares) to the second half of the run, after the warm-up (caches filling,
the federation's first rounds, the heap reaching its working size), and
its slope is extrapolated to an hour.  A series fails when that growth is
past its limit AND the rise the line describes over the fitted half is
larger than three times the scatter of the samples around it: a slope
the noise could have drawn (short runs: slab caches move by tens of KiB
from sample to sample) is reported, not failed.  Limits (LIMITS below):

* SUnreclaim less the per-inode caches (tmpfs inodes, LSM inode blobs:
  the federation's registry adds three files a round in the guest's tmpfs,
  ~4 KiB of SUnreclaim a round, thousands of rounds an hour under TCG),
  kmalloc (/proc/slabinfo), VmallocUsed: 1 MiB/hour.  On the debug
  kernel (a kmemleak_kb column) kmemleak_object is taken off as well:
  kmemleak keeps a record of every tracked object of every cache, so it
  grows with the registry's files (inode, dentry, xattr, page-cache
  nodes: ~2.6 MiB/hour in the first hour-long run on the debug kernel,
  as much as SUnreclaim less the inode caches grew); a leaked object of
  the module still counts in its own cache, and kmemleak reports it.  Where
  the soak's traffic allocates: a model version per swap (every 5 s, 720 an
  hour, blob ~2.4 KiB + slot bookkeeping), a session per loop (thousands
  an hour, rings of tens of KiB from vmalloc), a result per window (tens
  of thousands an hour).  A leak of one swap's blob, or of any object of
  a few hundred bytes per session, passes 1 MiB in an hour; the exact
  per-object leaks below that are kmemleak's (SOAK_KERNEL=debug) and the
  module's live counters'.  Slab as a whole is shown, not judged: its
  reclaimable part (dentries and inodes of the files the federation keeps
  writing in tmpfs, 9p's caches) grows with those files and is given back
  under memory pressure.
* each mcaid's RSS: 2 MiB/hour.  A node that kept one model's float copy
  (~100 KiB for the 32-unit MLP) per round, or an aggregator keeping one
  update per node and round, passes that in well under an hour of rounds;
  glibc's heap settling after the warm-up stays below it.
* each mcaid's open fds: any growth.  Fds come and go (a round's TLS
  connections, registry files being replaced), so the verdict compares
  floors: the fewest fds over the last third of the fitted half against
  the fewest over its first third.  A leaked fd raises the floor for
  good; a transient one does not.
"""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

MIB_H = 1024.0  # kB per hour in one MiB per hour
LIMITS = {  # column: (kB per hour, label)
    "sunreclaim_less_inodes_kb": (1 * MIB_H, "SUnreclaim - inodes"),
    "kmalloc_kb": (1 * MIB_H, "kmalloc (slabinfo)"),
    "vmalloc_kb": (1 * MIB_H, "VmallocUsed"),
}
RSS_LIMIT = 2 * MIB_H
# Below this many minutes the slopes are reported, not judged: the
# second half of a short run is still warm-up (the heaps and slab caches
# settle over the first minutes), and a 1 MiB/h leak would rise too little
# in it to stand out from the scatter.
SHORT_MIN = float(os.environ.get("SOAK_JUDGE_MIN", "20"))


def load(path):
    rows = []
    with open(path, newline="") as f:
        r = csv.reader(f)
        head = next(r, None)
        if head is None:
            return [], {}
        for row in r:
            # a kernel message can cut a console line: keep whole rows
            if len(row) != len(head) or not row[0].isdigit():
                continue
            rows.append(row)
    cols = {}
    for i, h in enumerate(head):
        vals = [row[i] for row in rows]
        if all(v.lstrip("-").isdigit() for v in vals) and vals:
            cols[h] = np.array([float(v) for v in vals])
    return head, cols


def fit(t, y):
    """Slope per hour, intercept, rise over the window, residual std."""
    if len(t) < 3 or t[-1] == t[0]:
        return 0.0, y[-1] if len(y) else 0.0, 0.0, 0.0
    a, b = np.polyfit(t, y, 1)
    resid = y - (a * t + b)
    return a * 3600.0, b, a * (t[-1] - t[0]), float(np.std(resid))


def main():
    if len(sys.argv) < 4:
        print(__doc__.split("\n")[2], file=sys.stderr)
        return 2
    csv_path, png, summary = sys.argv[1:4]
    guest = open(sys.argv[4]).read().splitlines() if len(sys.argv) > 4 else []
    head, c = load(csv_path)
    if "t_s" not in c or len(c["t_s"]) < 4:
        print("soak: too few samples in %s" % csv_path)
        open(summary, "w").write("too few samples: no verdict\n")
        return 1
    t = c["t_s"]
    if "sunreclaim_kb" in c and "inode_kb" in c:
        c["sunreclaim_less_inodes_kb"] = c["sunreclaim_kb"] - c["inode_kb"]
        if "kmemleak_kb" in c:
            # debug kernel: kmemleak's one record per live object grows
            # with the registry's files too (see the docstring)
            c["sunreclaim_less_inodes_kb"] -= c["kmemleak_kb"]
            LIMITS["sunreclaim_less_inodes_kb"] = (
                LIMITS["sunreclaim_less_inodes_kb"][0],
                "SUnreclaim - inodes - kmemleak")
    minutes = (t[-1] - t[0]) / 60.0
    half = t >= t[0] + (t[-1] - t[0]) / 2.0
    th = t[half]
    out = []
    fails = []
    fits = {}

    def judge(col, limit, label):
        y = c[col][half]
        slope, icpt, rise, sd = fit(th, y)
        fits[col] = (slope, icpt)
        over = slope > limit
        real = rise > 3 * sd
        verdict = "FAIL" if over and real else "ok"
        if over and not real:
            verdict = "ok (slope within the noise)"
        if verdict == "FAIL":
            fails.append(label)
        out.append("  %-26s %+10.0f kB/h (limit %.0f), rise %+.0f kB over the fit, scatter %.0f kB: %s"
                   % (label, slope, limit, rise, sd, verdict))

    out.append("memory growth, line fitted to the second half (%.1f to %.1f min):"
               % (th[0] / 60.0, th[-1] / 60.0))
    for col, (limit, label) in LIMITS.items():
        if col in c:
            judge(col, limit, label)
        else:
            out.append("  %-26s not sampled" % label)
    if "slab_kb" in c:
        slope, icpt, rise, sd = fit(th, c["slab_kb"][half])
        fits["slab_kb"] = (slope, icpt)
        out.append("  %-26s %+10.0f kB/h (not judged: includes reclaimable caches)"
                   % ("Slab", slope))
    rss = [h for h in head if h.endswith("_rss_kb") and h in c]
    fds = [h for h in head if h.endswith("_fds") and h in c]
    for col in rss:
        judge(col, RSS_LIMIT, "%s RSS" % col[:-7])
    for col in fds:
        y = c[col][half]
        k = max(1, len(y) // 3)
        lo0, lo1 = y[:k].min(), y[-k:].min()
        slope, icpt, _, _ = fit(th, y)
        fits[col] = (slope, icpt)
        verdict = "FAIL" if lo1 > lo0 else "ok"
        if verdict == "FAIL":
            fails.append("%s fds" % col[:-4])
        out.append("  %-26s floor %d -> %d (slope %+.1f/h): %s"
                   % ("%s fds" % col[:-4], lo0, lo1, slope, verdict))

    first_last = ["first and last samples (t = %d s and %d s):" % (t[0], t[-1])]
    for h in head:
        if h in c and h != "t_s":
            first_last.append("  %-22s %14d %14d  (%+d)"
                              % (h, c[h][0], c[h][-1], c[h][-1] - c[h][0]))
    if "mcai_inferences" in c and t[-1] > t[0]:
        first_last.append("  inferences/s (mean)    %14.1f"
                          % ((c["mcai_inferences"][-1] - c["mcai_inferences"][0])
                             / (t[-1] - t[0])))

    verdict = "FAIL: growth in " + ", ".join(fails) if fails else "PASS"
    note = []
    judged = minutes >= SHORT_MIN
    if not judged and fails:
        verdict = "not judged, would be " + verdict
    if not judged:
        note.append("note: a %.1f-minute run; below %d minutes (SOAK_JUDGE_MIN) the "
                    "slopes are warm-up and noise (a leak of 1 MiB/h rises "
                    "%.0f kB in the fitted half), so they do not fail the run"
                    % (minutes, SHORT_MIN, MIB_H * minutes / 120.0))
    text = ["soak: %s, %.1f min, %d samples" % (csv_path, minutes, len(t)),
            "memory verdict: %s" % verdict] + note + [""] + out + [""] + first_last
    if guest:
        text += ["", "guest:"] + ["  " + g for g in guest]
    open(summary, "w").write("\n".join(text) + "\n")
    print("\n".join(text[:2 + len(note)] + [""] + out))

    plot(head, c, t, th, fits, png, "%s — %.0f min — %s" % (
        csv_path.rsplit("/", 1)[-1][:-4], minutes, verdict))
    return 1 if fails and judged else 0


def plot(head, c, t, th, fits, png, title):
    tm = t / 60.0
    fig, ax = plt.subplots(3, 2, figsize=(12, 10), dpi=80)
    fig.suptitle(title)

    def series(a, col, label, scale=1.0):
        if col not in c:
            return
        line, = a.plot(tm, c[col] / scale, label=label)
        if col in fits:
            s, b = fits[col]
            a.plot(th / 60.0, (s / 3600.0 * th + b) / scale, "--",
                   color=line.get_color(), linewidth=1)

    a = ax[0][0]
    for col, label in (("slab_kb", "Slab"), ("sunreclaim_kb", "SUnreclaim"),
                       ("sunreclaim_less_inodes_kb", "SUnreclaim - inodes"),
                       ("kmalloc_kb", "kmalloc"), ("vmalloc_kb", "VmallocUsed")):
        series(a, col, label, 1024.0)
    a.set_title("kernel memory (MiB; dashed: fit)")

    a = ax[0][1]
    series(a, "mcai_live_bytes", "live_bytes (KiB)", 1024.0)
    series(a, "shmem_kb", "Shmem (MiB)", 1024.0)
    for col in ("mcai_nr_models", "mcai_live_versions", "mcai_live_slots"):
        series(a, col, col[5:])
    a.set_title("module's live objects; tmpfs (Shmem)")

    a = ax[1][0]
    for col in [h for h in head if h.endswith("_rss_kb")]:
        series(a, col, col[:-7], 1024.0)
    a.set_title("mcaid RSS (MiB)")

    a = ax[1][1]
    for col in [h for h in head if h.endswith("_fds")]:
        if col in c:
            a.step(tm, c[col], where="post", label=col[:-4])
    a.set_title("mcaid open fds")

    a = ax[2][0]
    if "mcai_inferences" in c and len(t) > 1:
        dt = np.diff(t)
        dt[dt == 0] = 1
        a.plot(tm[1:], np.diff(c["mcai_inferences"]) / dt, label="inferences/s")
        for col, label in (("sim_dropped", "sensor drops/s"),
                           ("sim_shed", "sensor shed/s")):
            if col in c:
                a.plot(tm[1:], np.diff(c[col]) / dt, label=label)
    a.set_title("throughput")

    a = ax[2][1]
    for col in ("swaps", "sessions", "rounds", "swap_errors", "session_errors"):
        series(a, col, col)
    a.set_title("events (cumulative)")

    for row in ax:
        for a in row:
            a.set_xlabel("minutes")
            a.grid(True, alpha=0.3)
            if a.get_legend_handles_labels()[0]:
                a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png)


if __name__ == "__main__":
    sys.exit(main())
