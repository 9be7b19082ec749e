# SPDX-License-Identifier: GPL-2.0
"""Many simulated federation nodes in one process, for tests/bench/fed_bench.sh.

Each node is one TLS connection (a node certificate of the test PKI,
its own --node-id style id) speaking the wire format of runtime/fed/proto.h:
HELLO, then it answers every ROUND with an UPDATE carrying a random delta
of the model's size (learnt from the first MODEL) and its sample count,
and reads every MODEL the aggregator publishes.  All nodes share one
asyncio loop.

While it runs it samples the aggregator's /proc/PID/stat (utime + stime,
and stime alone) and /proc/PID/status (VmHWM, VmRSS) at the edges of
every round, and at the end prints one JSON object on stdout with what it
saw.
"""
import argparse
import array
import asyncio
import json
import os
import random
import ssl
import struct
import sys
import threading
import time

MAGIC, VERSION = 0x4641434d, 1
HELLO, WELCOME, ROUND, MODEL, UPDATE, TELEMETRY, ERROR, BYE = range(1, 9)
ROLE_NODE = 1
CLK_TCK = os.sysconf("SC_CLK_TCK")


def hdr(typ, length):
    return struct.pack("<IHHII", MAGIC, VERSION, typ, length, 0)


def put_str(s):
    b = s.encode()
    return struct.pack("<H", len(b)) + b


def get_str(p, off):
    (n,) = struct.unpack_from("<H", p, off)
    return p[off + 2:off + 2 + n].decode(), off + 2 + n


def proc_sample(pid, sys_too=False):
    """(cpu seconds, VmHWM kB, VmRSS kB) of the aggregator, or Nones; with
    @sys_too a fourth: the part of those cpu seconds spent in the kernel."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
        fields = st[st.rindex(")") + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
        stime = int(fields[12]) / CLK_TCK
        hwm = rss = None
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        return (cpu, hwm, rss, stime) if sys_too else (cpu, hwm, rss)
    except (OSError, ValueError, IndexError):
        return (None,) * (4 if sys_too else 3)


class Sampler(threading.Thread):
    """(wall time, cpu s, VmHWM kB, VmRSS kB, of the cpu s those in the
    kernel) of the aggregator every @interval seconds, on a thread of its
    own so a busy event loop does not hold it back; the report lines them
    up with the log's times."""

    def __init__(self, pid, interval):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            t = time.time()
            cpu, hwm, rss, stime = proc_sample(self.pid, True)
            if cpu is not None:
                self.samples.append((round(t, 4), cpu, hwm, rss, stime))
            self.stop.wait(self.interval)


def log(*a):
    print("fed_load:", *a, file=sys.stderr, flush=True)


class Bench:
    def __init__(self, o):
        self.o = o
        self.deltas = None          # pool of random deltas (bytes)
        self.n_params = None
        self.rounds = {}            # round id -> per-round record
        self.models = {}            # version -> [first t, last t, count]
        self.bytes_out = 0          # plaintext frame bytes, all nodes
        self.bytes_in = 0
        self.updates = 0
        self.errors = []
        self.connected = 0
        self.final_version = o.first_version + o.rounds
        self.done = asyncio.Event()
        self.conn_sem = asyncio.Semaphore(o.connect_parallel)
        self.ctx = {}
        for cert in o.certs:
            c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            c.minimum_version = ssl.TLSVersion.TLSv1_3
            c.load_cert_chain(f"{o.pki}/{cert}.crt", f"{o.pki}/{cert}.key")
            c.load_verify_locations(f"{o.pki}/ca.crt")
            self.ctx[cert] = c

    def make_deltas(self, n):
        rnd = random.Random(self.o.seed)
        self.n_params = n
        self.deltas = []
        for _ in range(self.o.pool):
            a = array.array("f", (rnd.uniform(-1e-3, 1e-3) for _ in range(n)))
            if sys.byteorder != "little":
                a.byteswap()
            self.deltas.append(struct.pack("<I", n) + a.tobytes())
        log(f"model has {n} parameters; {self.o.pool} random deltas ready")

    def proc(self):
        return proc_sample(self.o.agg_pid)

    def on_round(self, rid, now):
        r = self.rounds.get(rid)
        if r is None:
            cpu, hwm, rss = self.proc()
            r = self.rounds[rid] = {
                "round": rid, "t_first_round": now, "cpu_start": cpu,
                "hwm_start": hwm, "rss_start": rss, "sampled": 0,
                "t_last_update_sent": now, "updates": 0,
            }
        r["sampled"] += 1
        return r

    def on_model(self, version, now):
        m = self.models.get(version)
        if m is None:
            cpu, hwm, rss = self.proc()
            m = self.models[version] = {
                "t_first": now, "t_last": now, "count": 0,
                "cpu_first": cpu, "hwm_first": hwm, "rss_first": rss,
            }
        m["t_last"] = now
        m["count"] += 1
        if m["count"] == self.connected_target and \
                version == self.final_version:
            self.done.set()
        if m["count"] == self.connected_target:
            cpu, hwm, rss = self.proc()
            m["cpu_all"], m["hwm_all"], m["rss_all"] = cpu, hwm, rss
            log(f"version {version} delivered to all {m['count']} nodes "
                f"({m['t_last'] - m['t_first']:.2f} s broadcast)")

    async def node(self, i):
        o = self.o
        cert = o.certs[i % len(o.certs)]
        nid = f"{o.id_prefix}{i:05d}"
        n_samples = 100 + (i * 7919) % 900
        async with self.conn_sem:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", o.port, ssl=self.ctx[cert],
                server_hostname="localhost", limit=1 << 20)
            hello = (put_str(nid) + struct.pack("<I", ROLE_NODE) +
                     put_str(o.model) + struct.pack("<IQQ", 0, n_samples, 0))
            writer.write(hdr(HELLO, len(hello)) + hello)
            await writer.drain()
            self.bytes_out += 16 + len(hello)
            h = await reader.readexactly(16)
            m, v, t, n, f = struct.unpack("<IHHII", h)
            p = await reader.readexactly(n)
            self.bytes_in += 16 + n
            if t != WELCOME:
                raise RuntimeError(f"{nid}: expected WELCOME, got type {t}")
        self.connected += 1
        if self.connected % 100 == 0 or self.connected == o.nodes:
            log(f"{self.connected} of {o.nodes} nodes joined")
        rng = random.Random(i)
        try:
            while True:
                h = await reader.readexactly(16)
                m, v, t, n, f = struct.unpack("<IHHII", h)
                if m != MAGIC:
                    raise RuntimeError(f"{nid}: bad magic {m:#x}")
                p = await reader.readexactly(n)
                self.bytes_in += 16 + n
                now = time.time()
                if t == MODEL:
                    _, off = get_str(p, 0)
                    version, parent, rid, count = struct.unpack_from(
                        "<IIQI", p, off)
                    if self.deltas is None:
                        self.make_deltas(count)
                    self.on_model(version, now)
                elif t == ROUND:
                    (rid,) = struct.unpack_from("<Q", p, 0)
                    _, off = get_str(p, 8)
                    (base,) = struct.unpack_from("<I", p, off)
                    r = self.on_round(rid, now)
                    if self.deltas is None:
                        raise RuntimeError(f"{nid}: ROUND before any MODEL")
                    d = self.deltas[rng.randrange(len(self.deltas))]
                    loss = 0.5 + rng.random()
                    head = struct.pack("<QIQf", rid, base, n_samples, loss)
                    writer.write(hdr(UPDATE, len(head) + len(d)) + head)
                    writer.write(d)
                    await writer.drain()
                    self.bytes_out += 16 + len(head) + len(d)
                    r["updates"] += 1
                    r["t_last_update_sent"] = time.time()
                    self.updates += 1
                elif t == ERROR:
                    (code,) = struct.unpack_from("<I", p, 0)
                    msg, _ = get_str(p, 4)
                    self.errors.append(f"{nid}: ERROR {code}: {msg}")
                    log(self.errors[-1])
                elif t == BYE:
                    self.errors.append(f"{nid}: BYE")
                    return
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            if not self.done.is_set():
                self.errors.append(f"{nid}: connection lost")
        finally:
            writer.close()

    async def run(self):
        o = self.o
        self.connected_target = o.nodes
        sampler = Sampler(o.agg_pid, o.sample_ms / 1000.0)
        sampler.start()
        t0 = time.time()
        tasks = [asyncio.ensure_future(self.node(i)) for i in range(o.nodes)]
        done_wait = asyncio.ensure_future(self.done.wait())
        pending = set(tasks) | {done_wait}
        deadline = t0 + o.timeout
        while not self.done.is_set():
            left = deadline - time.time()
            if left <= 0:
                self.errors.append("timeout")
                break
            fin, pending = await asyncio.wait(
                pending, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            for t in fin:
                if t is not done_wait and t.exception():
                    self.errors.append(repr(t.exception()))
                    log("node failed:", repr(t.exception()))
            if all(t.done() for t in tasks):
                break
        t_end = time.time()
        cpu, hwm, rss = self.proc()
        sampler.stop.set()
        sampler.join()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        done_wait.cancel()
        return {
            "nodes": o.nodes, "connected": self.connected,
            "n_params": self.n_params, "updates": self.updates,
            "client_bytes_out": self.bytes_out,
            "client_bytes_in": self.bytes_in,
            "rounds": [self.rounds[k] for k in sorted(self.rounds)],
            "models": {str(k): v for k, v in sorted(self.models.items())},
            "seconds": t_end - t0, "cpu_end": cpu, "hwm_end": hwm,
            "rss_end": rss, "complete": self.done.is_set(),
            "errors": self.errors[:20], "n_errors": len(self.errors),
            "samples": sampler.samples,
        }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pki", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--agg-pid", type=int, required=True)
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--first-version", type=int, default=1,
                    help="the aggregator's version when the nodes join")
    ap.add_argument("--model", default="fmnist")
    ap.add_argument("--certs", default="node1,node2")
    ap.add_argument("--id-prefix", default="sim")
    ap.add_argument("--pool", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--connect-parallel", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=240)
    ap.add_argument("--sample-ms", type=float, default=10)
    o = ap.parse_args()
    o.certs = o.certs.split(",")
    res = asyncio.run(Bench(o).run())
    json.dump(res, sys.stdout)
    print()
    return 0 if res["complete"] and not res["n_errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
