#!/usr/bin/python3
"""Soak test of aelabd (issue 7): mixed traffic for a long time with small
jobs training throughout; does anything grow or fail?

Starts its own aelabd (port 0, a temp dir, MNIST from data/mnist
relative to the source root) and runs these clients at once:

  submitter  a small job of a random model every ~1.5 s (while fewer than 8
             wait), half of them with an Idempotency-Key sent twice
  pollers    (2) GET /api/jobs, /api/jobs/{id}, /api/health, /api/models,
             /metrics, /api/jobs?state=..., every ~50 ms each
  streamer   follows a job's event stream (SSE) to its end, or the all-jobs
             stream for 5-20 s and hangs up mid-stream
  canceller  cancels a random queued or running job every ~8 s
  deleter    deletes a random older finished job about every second while
             more than 20 are kept (purging its files every other time)
  fetcher    a finished job's reconstructions.png (random n and epoch),
             metrics (JSON and CSV), summary and weights, every ~0.3 s

Every answer is counted by status; a 5xx, a connection error, or a status
the request cannot legitimately get is an error (and printed).  Every 30 s
(--sample) it prints the daemon's RSS, open file descriptors and threads,
and the requests so far.  At the end the daemon must exit 0 on SIGTERM.
Prints a Markdown table for bench/RESULTS.md.

  /usr/bin/python3 bench/soak.py [--minutes 20] [--aelabd build/server/aelabd]
"""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
import aelabd_harness as H  # noqa: E402

H.MNIST = os.path.normpath(os.path.join(HERE, "..", "data", "mnist"))

MODELS = {
    "simple": {"epochs": 3, "train_size": 6000, "test_size": 1000, "batch_size": 128},
    "sparse": {"epochs": 3, "train_size": 6000, "test_size": 1000, "batch_size": 128},
    "deep": {"epochs": 3, "train_size": 6000, "test_size": 1000, "batch_size": 128},
    "conv": {"epochs": 2, "train_size": 2000, "test_size": 500, "batch_size": 64},
    "denoise": {"epochs": 2, "train_size": 2000, "test_size": 500, "batch_size": 64},
    "vae": {"epochs": 3, "train_size": 6000, "test_size": 1000, "batch_size": 128},
}


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_status = {}
        self.by_kind = {}
        self.errors = []

    def add(self, kind, status, ok=True, what=""):
        with self.lock:
            self.by_status[status] = self.by_status.get(status, 0) + 1
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
            if not ok or status >= 500 or status == 0:
                self.errors.append((time.strftime("%H:%M:%S"), kind, status, what[:200]))

    def total(self):
        with self.lock:
            return sum(self.by_status.values())


class Client:
    """One keep-alive connection, reopened when the server closes it."""

    def __init__(self, port):
        self.conn = H.KeepAlive(port, timeout=60)

    def req(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        for attempt in (0, 1):
            try:
                return self.conn.send(method, path, body=body, headers=h)
            except (OSError, http.client.HTTPException) as e:
                # A keep-alive connection the server closed after its idle
                # timeout fails on first use: retry once on a fresh one.
                if attempt == 1 or not isinstance(e, (http.client.RemoteDisconnected,
                                                      BrokenPipeError, ConnectionResetError)):
                    return 0, repr(e).encode()
        return 0, b""


def job_ids(cl, stats, state=None):
    path = "/api/jobs?limit=500" + ("&state=" + state if state else "")
    st, data = cl.req("GET", path)
    stats.add("poll", st, st == 200, "%s %s" % (path, data[:120]))
    if st != 200:
        return []
    return [j["id"] for j in json.loads(data)["jobs"]]


def run_clients(d, stats, stop, rng_seed):
    threads = []

    def loop(kind, period, fn):
        def body():
            rng = random.Random(rng_seed + hash(kind) % 1000)
            cl = Client(d.port)
            while not stop.is_set():
                try:
                    fn(cl, rng)
                except Exception as e:  # noqa: BLE001 - a client bug must not end the soak
                    stats.add(kind, 0, False, "client exception %r" % e)
                stop.wait(period * rng.uniform(0.5, 1.5))
        t = threading.Thread(target=body, name=kind, daemon=True)
        threads.append(t)

    def submit(cl, rng):
        st, data = cl.req("GET", "/api/jobs?state=queued&limit=50")
        stats.add("poll", st, st == 200)
        if st == 200 and len(json.loads(data)["jobs"]) >= 8:
            return
        model = rng.choice(sorted(MODELS))
        spec = dict(MODELS[model], model=model, threads=1, seed=rng.randrange(1000),
                    name="soak %s" % model)
        hdr = {}
        if rng.random() < 0.5:
            hdr["Idempotency-Key"] = "soak-%d-%d" % (os.getpid(), rng.randrange(1 << 40))
        st, data = cl.req("POST", "/api/jobs", spec, hdr)
        stats.add("submit", st, st in (201, 429), data[:200].decode("utf-8", "replace"))
        if hdr and st == 201:
            st2, data2 = cl.req("POST", "/api/jobs", spec, hdr)
            same = st2 == 201 and json.loads(data2)["id"] == json.loads(data)["id"]
            stats.add("submit", st2, same, "idempotent replay: %s" % data2[:120])

    def poll(cl, rng):
        paths = ["/api/health", "/api/jobs", "/api/jobs?limit=5", "/api/models", "/metrics",
                 "/api/jobs?state=running", "/api/jobs?state=succeeded,failed"]
        ids = job_ids(cl, stats)
        if ids:
            paths += ["/api/jobs/%d" % rng.choice(ids)] * 3
        p = rng.choice(paths)
        st, data = cl.req("GET", p)
        stats.add("poll", st, st in (200, 404), "%s %s" % (p, data[:120]))

    def stream(cl, rng):
        ids = job_ids(cl, stats, "running") + job_ids(cl, stats, "queued")
        if ids and rng.random() < 0.6:
            path, limit = "/api/jobs/%d/events" % rng.choice(ids), 300
        else:
            path, limit = "/api/events", rng.uniform(5, 20)
        try:
            s = H.SSE(d.port, path, timeout=60)
        except OSError as e:
            stats.add("stream", 0, False, "%s: %r" % (path, e))
            return
        stats.add("stream", s.status, s.status in (200, 404), path)
        t0 = time.time()
        try:
            if s.status == 200:
                for ev, _, _ in s.events():
                    if ev in ("end", "deleted") or time.time() - t0 > limit or stop.is_set():
                        break
        except OSError as e:
            stats.add("stream", 0, False, "%s mid-stream: %r" % (path, e))
        finally:
            s.close()  # hangs up mid-stream on /api/events

    def cancel(cl, rng):
        ids = job_ids(cl, stats, "queued") + job_ids(cl, stats, "running")
        if not ids:
            return
        i = rng.choice(ids)
        st, data = cl.req("POST", "/api/jobs/%d/cancel" % i)
        stats.add("cancel", st, st in (200, 202, 409), data[:200].decode("utf-8", "replace"))

    def delete(cl, rng):
        # Keep about 20 finished jobs: as many deleted as made, so the job
        # count (and what it legitimately costs in memory) stays level.
        ids = job_ids(cl, stats, "succeeded,failed,cancelled")
        if len(ids) <= 20:
            return
        i = rng.choice(ids[10:])  # keep the newest for the fetcher
        purge = "?purge=true" if rng.random() < 0.5 else ""
        st, data = cl.req("DELETE", "/api/jobs/%d%s" % (i, purge))
        stats.add("delete", st, st in (204, 404), data[:200].decode("utf-8", "replace"))

    def fetch(cl, rng):
        ids = job_ids(cl, stats, "succeeded")
        if not ids:
            return
        i = rng.choice(ids[:10])
        p = rng.choice(["/api/jobs/%d/reconstructions.png?n=%d" % (i, rng.randint(1, 100)),
                        "/api/jobs/%d/reconstructions.png?epoch=1" % i,
                        "/api/jobs/%d/metrics" % i, "/api/jobs/%d/metrics?format=csv" % i,
                        "/api/jobs/%d/summary" % i, "/api/jobs/%d/weights" % i])
        st, data = cl.req("GET", p)
        ok = st in (200, 404)
        if st == 200 and "png" in p:
            ok = H.png_size(data) is not None
        stats.add("fetch", st, ok, "%s %s" % (p, data[:120] if st != 200 else b""))

    loop("submit", 1.5, submit)
    loop("poll-1", 0.05, poll)
    loop("poll-2", 0.05, poll)
    loop("stream", 0.5, stream)
    loop("cancel", 8.0, cancel)
    loop("delete", 1.0, delete)
    loop("fetch", 0.3, fetch)
    for t in threads:
        t.start()
    return threads


def proc_sample(pid):
    rss = threads = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    fds = len(os.listdir("/proc/%d/fd" % pid))
    return rss, fds, threads


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--aelabd", default=os.path.join(HERE, "..", "build", "server", "aelabd"))
    ap.add_argument("--minutes", type=float, default=20)
    ap.add_argument("--sample", type=float, default=30, help="seconds between samples")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    H.AELABD = os.path.abspath(a.aelabd)
    root = H.tmpdir("soak")
    stats = Stats()
    stop = threading.Event()
    samples = []
    d = None

    def on_term(sig, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    try:
        d = H.Daemon(root, "--workers", str(a.workers), "--log-level", "info").start()
        t0 = time.time()
        threads = run_clients(d, stats, stop, a.seed)

        def sample():
            rss, fds, nthreads = proc_sample(d.proc.pid)
            st, data = Client(d.port).req("GET", "/api/jobs?limit=1")
            jobs = json.loads(data)["total"] if st == 200 else -1
            row = (time.time() - t0, stats.total(), rss, fds, nthreads, jobs, len(stats.errors))
            samples.append(row)
            print("%7.0f s  requests %8d  RSS %7.1f MiB  fds %4d  threads %4d  jobs %5d  "
                  "errors %d" % (row[0], row[1], row[2] / 1024, row[3], row[4], row[5], row[6]),
                  flush=True)

        sample()
        end = t0 + a.minutes * 60
        while time.time() < end:
            time.sleep(min(a.sample, max(0, end - time.time())))
            sample()
            if not d.alive():
                stats.add("daemon", 0, False, "aelabd died")
                break
        stop.set()
        for t in threads:
            t.join(timeout=90)
        time.sleep(3)
        sample()  # clients gone: connections closed
        rc, secs = d.stop()
        log_errors = [ln for ln in d.log_text().splitlines()
                      if "level=error" in ln]
    finally:
        stop.set()
        if d is not None and d.alive():
            d.stop()
        shutil.rmtree(root, ignore_errors=True)

    served = stats.total()
    n5xx = sum(n for s, n in stats.by_status.items() if s >= 500)
    conn_err = stats.by_status.get(0, 0)
    warm = [s for s in samples if s[0] >= 120] or samples
    rss_mid = statistics.median(s[2] for s in warm[: max(1, len(warm) // 4)])
    print()
    print("errors (%d):" % len(stats.errors))
    for e in stats.errors[:30]:
        print("  ", e)
    print("daemon log lines at level=error: %d" % len(log_errors))
    for ln in log_errors[:10]:
        print("  ", ln)
    print()
    print("| soak, %.0f min, %d workers | value |" % (a.minutes, a.workers))
    print("|---|---|")
    print("| requests served | %d (%.0f/s) |" % (served, served / (samples[-1][0] or 1)))
    print("| by kind | %s |" % ", ".join("%s %d" % kv for kv in sorted(stats.by_kind.items())))
    print("| by status | %s |" % ", ".join("%s: %d" % kv for kv in sorted(stats.by_status.items())))
    print("| 5xx | %d |" % n5xx)
    print("| connection errors | %d |" % conn_err)
    print("| other wrong answers | %d |" % (len(stats.errors) - n5xx - conn_err))
    print("| jobs at the end (after deletes) | %d |" % samples[-1][5])
    print("| RSS start / after warm-up (2 min) / end, MiB | %.1f / %.1f / %.1f |"
          % (samples[0][2] / 1024, rss_mid / 1024, samples[-2][2] / 1024))
    print("| open fds start / end under load / idle after | %d / %d / %d |"
          % (samples[0][3], samples[-2][3], samples[-1][3]))
    print("| threads start / end under load / idle after | %d / %d / %d |"
          % (samples[0][4], samples[-2][4], samples[-1][4]))
    print("| SIGTERM | exit %s in %.1f s |" % (rc, secs))
    print()
    print("series (s, requests, RSS MiB, fds, threads):")
    print(", ".join("%.0f/%d/%.1f/%d/%d" % (s[0], s[1], s[2] / 1024, s[3], s[4])
                    for s in samples))
    return 0 if (n5xx == 0 and conn_err == 0 and rc == 0) else 1


if __name__ == "__main__":
    sys.exit(main())
