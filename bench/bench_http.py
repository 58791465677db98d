#!/usr/bin/env python3
"""Load benchmark of aelabd (issue 4): two jobs training with the cores busy
while wrk (50 connections, 30 s per run) hammers GET /api/jobs/{id} and
GET /api/jobs; reports requests/s, p50/p99 latency and errors, and the
training slowdown against the same two jobs trained without load, measured
in the same run (A: no load, B: load, A': no load again, so drift from the
rest of the machine shows).

  /usr/bin/python3 bench/bench_http.py [--aelabd build/server/aelabd]
      [--model conv --train-size 3000 --epochs 8] [--duration 30]

Not a test: it takes a few minutes and its numbers depend on the machine.
Prints a Markdown table (paste into bench/RESULTS.md).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
import aelabd_harness as H  # noqa: E402


def wrk(port, path, duration, connections, threads):
    cmd = ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % duration, "--latency",
           "http://127.0.0.1:%d%s" % (port, path)]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    res = {"path": path, "raw": out}

    def unit(v, u):
        return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1000.0}[u]

    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(m.group(1)) if m else 0.0
    for pct in ("50", "90", "99"):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % pct, out, re.M)
        res["p" + pct] = unit(*m.groups()) if m else None
    m = re.search(r"(\d+) requests in", out)
    res["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    return res


def train_pair(d, spec, load=None):
    """Submit two identical jobs, wait for both; while they run, call
    load() repeatedly (it returns after one wrk run).  Returns the jobs and
    the load results."""
    ids = [d.submit(dict(spec, name="bench-%d" % i))["id"] for i in range(2)]
    for i in ids:
        d.wait_state(i, ("running",), timeout=60)
    runs = []
    while True:
        states = [d.get("/api/jobs/%d" % i).json()["state"] for i in ids]
        if all(s in ("succeeded", "failed", "cancelled") for s in states):
            break
        if load:
            runs.append(load(ids, len(runs)))
        else:
            time.sleep(0.5)
    jobs = [d.get("/api/jobs/%d" % i).json() for i in ids]
    for j in jobs:
        if j["state"] != "succeeded":
            raise RuntimeError("job %d %s: %s" % (j["id"], j["state"], j["error"]))
    return jobs, runs


def epoch_seconds(jobs):
    """Total training + validation seconds over both jobs' epochs."""
    return sum(m["seconds"] + m["val_seconds"] for j in jobs for m in j["metrics"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--aelabd", default=os.path.join(HERE, "..", "build", "server", "aelabd"))
    ap.add_argument("--model", default="conv")
    ap.add_argument("--train-size", type=int, default=3000)
    ap.add_argument("--test-size", type=int, default=500)
    ap.add_argument("--epochs", type=int, default=14)
    ap.add_argument("--duration", type=int, default=30)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--http-nice", type=int, default=None, help="aelabd --http-nice (default: its own)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    a = ap.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed (Debian package wrk)", file=sys.stderr)
        return 2
    H.AELABD = os.path.abspath(a.aelabd)
    H.MNIST = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data", "mnist"))
    spec = {"model": a.model, "epochs": a.epochs, "train_size": a.train_size,
            "test_size": a.test_size, "threads": 1, "seed": 1}
    root = H.tmpdir("bench")
    extra = ["--http-nice", str(a.http_nice)] if a.http_nice is not None else []
    d = H.Daemon(root, "--workers", "2", "--threads-per-job", "1", "--log-level", "info",
                 *extra).start()
    try:
        paths = ["/api/jobs/{id}", "/api/jobs"]

        def load(ids, k):
            p = paths[k % 2].replace("{id}", str(ids[0]))
            r = wrk(d.port, p, a.duration, a.connections, a.wrk_threads)
            r["template"] = paths[k % 2]
            print("  wrk %-16s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d" %
                  (r["template"], r["rps"], r["p50"] or -1, r["p99"] or -1,
                   r["non2xx"] + r["socket_errors"]), flush=True)
            return r

        print("A: two %s jobs, no load" % a.model, flush=True)
        ja, _ = train_pair(d, spec)
        print("B: the same two jobs under wrk", flush=True)
        jb, runs = train_pair(d, spec, load)
        print("A': the same two jobs, no load", flush=True)
        ja2, _ = train_pair(d, spec)
        sa, sb, sa2 = epoch_seconds(ja), epoch_seconds(jb), epoch_seconds(ja2)
        base = (sa + sa2) / 2
        cpu = os.cpu_count()
        print()
        print("| run | endpoint | req/s | p50 ms | p90 ms | p99 ms | requests | errors |")
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        for i, r in enumerate(runs):
            print("| %d | GET %s | %.0f | %.2f | %.2f | %.2f | %d | %d |" %
                  (i + 1, r["template"], r["rps"], r["p50"], r["p90"], r["p99"], r["requests"],
                   r["non2xx"] + r["socket_errors"]))
        print()
        print("| phase | epoch seconds (train+val, both jobs) | vs no-load mean |")
        print("|---|---:|---:|")
        print("| A (no load) | %.2f | %+.1f%% |" % (sa, 100 * (sa / base - 1)))
        print("| B (wrk) | %.2f | %+.1f%% |" % (sb, 100 * (sb / base - 1)))
        print("| A' (no load) | %.2f | %+.1f%% |" % (sa2, 100 * (sa2 / base - 1)))
        print()
        worst = max(r["p99"] for r in runs) if runs else float("nan")
        errors = sum(r["non2xx"] + r["socket_errors"] for r in runs)
        print("cores: %d; load average at the end: %s; jobs: 2 x %s" %
              (cpu, " ".join("%.1f" % x for x in os.getloadavg()), json.dumps(spec)))
        print("slowdown under load: %+.1f%% (target <= 15%%); worst p99 %.2f ms (target <= 50); "
              "errors %d (target 0)" % (100 * (sb / base - 1), worst, errors))
    finally:
        d.stop()
        if not a.keep:
            H.cleanup(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
