#!/usr/bin/env python3
"""Load benchmark of aelabd (issue 4): two jobs training with the cores busy
while wrk (50 connections, 30 s per run) hammers GET /api/jobs/{id} and
GET /api/jobs; reports requests/s, p50/p99 latency and errors, and the
training slowdown against the same jobs without load, measured in the same
run.

The machine is shared, so the load on it drifts by more than the effect
being measured.  Hence the no-load and load conditions are interleaved on
the same two long jobs: quiet 30 s, wrk 30 s, quiet 30 s, wrk 30 s, ...
Every epoch's end is timestamped from the job's event stream; an epoch that
lies wholly inside a wrk window counts as "under load", one wholly inside a
quiet window as "no load" (epochs that straddle are dropped).  The slowdown
is the ratio of the median epoch durations.

  /usr/bin/python3 bench/bench_http.py [--aelabd build/server/aelabd]
      [--cycles 2] [--duration 30] [--model conv --train-size 6000]

Not a test: it takes about (4 * cycles + 1) * duration seconds.  Prints a
Markdown table (for bench/RESULTS.md).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
import aelabd_harness as H  # noqa: E402


def wrk(port, path, duration, connections, threads, nice=0):
    cmd = (["nice", "-n", str(nice)] if nice else []) + ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % duration, "--latency",
           "http://127.0.0.1:%d%s" % (port, path)]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    res = {"path": path, "raw": out}

    def unit(v, u):
        return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1000.0}[u]

    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(m.group(1)) if m else 0.0
    for pct in ("50", "90", "99"):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % pct, out, re.M)
        res["p" + pct] = unit(*m.groups()) if m else float("nan")
    m = re.search(r"(\d+) requests in", out)
    res["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    return res


class EpochClock:
    """Follows a job's event stream and records (end time, seconds) of
    every epoch: the epoch ran from end - seconds to end."""

    def __init__(self, port, job_id):
        self.epochs = []
        self.sse = H.SSE(port, "/api/jobs/%d/events" % job_id, timeout=3600)
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        try:
            for ev, data, _ in self.sse.events():
                if ev == "epoch":
                    d = json.loads(data)
                    self.epochs.append((time.monotonic(), d["train_seconds"] + d["val_seconds"]))
                elif ev == "end":
                    return
        except OSError:
            return


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--aelabd", default=os.path.join(HERE, "..", "build", "server", "aelabd"))
    ap.add_argument("--model", default="conv")
    ap.add_argument("--train-size", type=int, default=6000)
    ap.add_argument("--test-size", type=int, default=500)
    ap.add_argument("--cycles", type=int, default=2, help="wrk windows per endpoint")
    ap.add_argument("--duration", type=int, default=30, help="seconds per window")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--wrk-nice", type=int, default=0,
                    help="run wrk under nice -n N (a stand-in for clients on another machine)")
    ap.add_argument("--http-nice", type=int, default=None, help="aelabd --http-nice (default: its own)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    a = ap.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed (Debian package wrk)", file=sys.stderr)
        return 2
    H.AELABD = os.path.abspath(a.aelabd)
    H.MNIST = os.path.normpath(os.path.join(HERE, "..", "data", "mnist"))
    spec = {"model": a.model, "epochs": 100000, "train_size": a.train_size,
            "test_size": a.test_size, "threads": 1, "seed": 1}
    root = H.tmpdir("bench")
    extra = ["--http-nice", str(a.http_nice)] if a.http_nice is not None else []
    d = H.Daemon(root, "--workers", "2", "--threads-per-job", "1", "--log-level", "info",
                 *extra).start()
    load0 = os.getloadavg()
    try:
        ids = [d.submit(dict(spec, name="bench-%d" % i))["id"] for i in range(2)]
        for i in ids:
            d.wait_state(i, ("running",), timeout=60)
        clocks = [EpochClock(d.port, i) for i in ids]
        d.wait_epoch(ids[0], 1)  # data loaded, warmed up

        windows = []  # (start, end, loaded)
        runs = []
        paths = ["/api/jobs/%d" % ids[0], "/api/jobs"]
        for k in range(2 * a.cycles):
            t0 = time.monotonic()
            time.sleep(a.duration)
            windows.append((t0, time.monotonic(), False))
            t0 = time.monotonic()
            r = wrk(d.port, paths[k % 2], a.duration, a.connections, a.wrk_threads, a.wrk_nice)
            windows.append((t0, time.monotonic(), True))
            r["template"] = ["/api/jobs/{id}", "/api/jobs"][k % 2]
            runs.append(r)
            print("  wrk %-16s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d" %
                  (r["template"], r["rps"], r["p50"], r["p99"], r["non2xx"] + r["socket_errors"]),
                  flush=True)
        t0 = time.monotonic()
        time.sleep(a.duration)
        windows.append((t0, time.monotonic(), False))
        for i in ids:
            d.post("/api/jobs/%d/cancel" % i)

        quiet, loaded = [], []
        per_window = [[] for _ in windows]
        for c in clocks:
            for end, secs in c.epochs:
                start = end - secs
                for wi, (w0, w1, on) in enumerate(windows):
                    if w0 <= start and end <= w1:
                        (loaded if on else quiet).append(secs)
                        per_window[wi].append(secs)
        load1 = os.getloadavg()
        # Each wrk window against the quiet windows on either side of it:
        # drift of the machine's load over minutes cancels out.
        local = []
        for wi, (_, _, on) in enumerate(windows):
            if not on or not per_window[wi] or not per_window[wi - 1] or not per_window[wi + 1]:
                continue
            around = (statistics.median(per_window[wi - 1]) + statistics.median(per_window[wi + 1])) / 2
            local.append(100 * (statistics.median(per_window[wi]) / around - 1))

        print()
        print("| run | endpoint | req/s | p50 ms | p90 ms | p99 ms | requests | errors | "
              "training slowdown vs the quiet windows around it |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for i, r in enumerate(runs):
            sl = local[i] if i < len(local) else float("nan")
            print("| %d | GET %s | %.0f | %.2f | %.2f | %.2f | %d | %d | %+.1f%% |" %
                  (i + 1, r["template"], r["rps"], r["p50"], r["p90"], r["p99"], r["requests"],
                   r["non2xx"] + r["socket_errors"], sl))
        print()
        if quiet and loaded:
            mq, ml = statistics.median(quiet), statistics.median(loaded)
            print("| epochs | count | median seconds | min | max |")
            print("|---|---:|---:|---:|---:|")
            print("| no load | %d | %.3f | %.3f | %.3f |" % (len(quiet), mq, min(quiet), max(quiet)))
            print("| under wrk | %d | %.3f | %.3f | %.3f |" % (len(loaded), ml, min(loaded),
                                                           max(loaded)))
            slow = 100 * (ml / mq - 1)
        else:
            slow = float("nan")
            print("not enough whole epochs inside the windows: make --duration longer or the "
                  "jobs smaller")
        print()
        worst = max(r["p99"] for r in runs)
        errors = sum(r["non2xx"] + r["socket_errors"] for r in runs)
        print("cores: %d; load average before %.1f, after %.1f; wrk nice %d; jobs: 2 x %s" %
              (os.cpu_count(), load0[0], load1[0], a.wrk_nice,
               json.dumps(dict(spec, epochs="until cancelled"))))
        print("slowdown under load: %+.1f%% (all epochs), %+.1f%% (median of the per-window "
              "figures) (target <= 15%%); worst p99 %.2f ms (target <= 50); errors %d (target 0)" %
              (slow, statistics.median(local) if local else float("nan"), worst, errors))
    finally:
        d.stop()
        if not a.keep:
            H.cleanup(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
