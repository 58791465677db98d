#!/usr/bin/python3
"""aelabd's Slurm executor against its local executor, in one run, on the
private two-node Slurm cluster of tests/support/slurm_cluster.py (root, Slurm
installed; loopback only).  Figures go in bench/RESULTS.md.

1. overhead: 20 tiny jobs one after another per executor; seconds from POST
   to the first batch seen on the SSE stream (/api/events), and from the
   last batch seen to `succeeded`; medians.
2. throughput: 40 short jobs submitted at once, local with 2 workers vs the
   two-node cluster; jobs per minute, first POST to last `succeeded`.
3. scale: aelabd following progress files written by bench/fake_aelab.py at a
   known rate (4 Slurm jobs, the slots of the cluster): aelabd's own CPU
   seconds (/proc/PID/stat utime+stime) per progress line, idle cost per
   followed job, and fsync/write calls per epoch line (strace -c).

Usage: bench/bench_slurm.py [--build build] [--jobs 20] [--throughput 40]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
import aelabd_harness as H  # noqa: E402
from slurm_cluster import SCHED, SlurmCluster  # noqa: E402

TINY = {"model": "simple", "epochs": 1, "train_size": 1000, "test_size": 200,
        "batch_size": 100, "threads": 1, "seed": 1}
SHORT = {"model": "simple", "epochs": 2, "train_size": 3000, "test_size": 300,
         "batch_size": 100, "threads": 1, "seed": 1}


class Watch:
    """Reads /api/events in a thread; records per job the arrival time of
    its first batch, its last batch and its final state."""

    def __init__(self, d):
        self.seen = {}
        self.lock = threading.Lock()
        self.sse = H.SSE(d.port, "/api/events", timeout=600)
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        try:
            for ev, data, _ in self.sse.events():
                if ev != "job":
                    continue
                now, wall = time.monotonic(), time.time()
                j = json.loads(data)
                with self.lock:
                    s = self.seen.setdefault(j["id"], {})
                    batch = (j.get("batch") or 0) >= 1 or (j.get("epoch") or 0) >= 1
                    last = (j.get("epoch") or 0) >= j.get("epochs", 1) or (
                        j.get("current_epoch") == j.get("epochs")
                        and j.get("batch") and j.get("batch") == j.get("batches"))
                    if batch and "first" not in s:
                        s["first"] = now
                    if last and "last" not in s:
                        s["last"] = now
                    if j.get("state") in ("succeeded", "failed", "cancelled") and "end" not in s:
                        s["end"] = now
                        s["end_wall"] = wall
                        s["state"] = j["state"]
        except Exception:  # noqa: BLE001 - the stream closes at stop
            pass

    def get(self, jid):
        with self.lock:
            return dict(self.seen.get(jid, {}))

    def wait_end(self, jid, timeout=300):
        t = time.monotonic() + timeout
        while time.monotonic() < t:
            s = self.get(jid)
            if "end" in s:
                return s
            time.sleep(0.01)
        raise RuntimeError("job %d did not end" % jid)


def start(kind, c, root, extra=(), env=None):
    if kind == "local":
        d = H.Daemon(root, "--workers", "2", *extra, env=env)
    else:
        d = H.Daemon(root, "--executor", "slurm", "--slurm-partition", "debug",
                     "--slurm-aelab", extra[0] if extra else H.AELAB_CLI,
                     env=env or c.env)
    d.start()
    return d


def overhead(kind, c, n):
    root = H.tmpdir("bench-" + kind)
    try:
        d = start(kind, c, root)
        w = Watch(d)
        time.sleep(0.3)
        first, tail, total, node_tail = [], [], [], []
        for _ in range(n):
            t0 = time.monotonic()
            jid = d.submit(TINY)["id"]
            s = w.wait_end(jid)
            if s.get("state") != "succeeded":
                raise RuntimeError("%s job %d: %r" % (kind, jid, d.get("/api/jobs/%d" % jid).json()))
            first.append(s["first"] - t0)
            tail.append(s["end"] - s.get("last", s["end"]))
            total.append(s["end"] - t0)
            if kind == "slurm":  # the node's end line -> succeeded in the API
                j = d.get("/api/jobs/%d" % jid).json()
                with open(os.path.join(j["run_dir"], "progress.jsonl")) as f:
                    ends = [json.loads(x)["time"] for x in f if '"event":"end"' in x]
                node_tail.append(s["end_wall"] - ends[-1])
            time.sleep(0.2)
        d.stop()
        return first, tail, total, node_tail
    finally:
        H.cleanup(root)


def throughput(kind, c, n):
    root = H.tmpdir("bench-tp-" + kind)
    try:
        d = start(kind, c, root)
        w = Watch(d)
        time.sleep(0.3)
        t0 = time.monotonic()
        ids = [d.submit(SHORT)["id"] for _ in range(n)]
        ends = [w.wait_end(j, 900) for j in ids]
        dt = max(s["end"] for s in ends) - t0
        bad = [s for s in ends if s.get("state") != "succeeded"]
        if bad:
            raise RuntimeError("%s: %d jobs did not succeed" % (kind, len(bad)))
        d.stop()
        return dt
    finally:
        H.cleanup(root)


def cpu(pid):
    """(own CPU seconds, children's CPU seconds) of pid."""
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    hz = os.sysconf("SC_CLK_TCK")
    return (int(v[11]) + int(v[12])) / hz, (int(v[13]) + int(v[14])) / hz


def count_lines(root, kind, t1, t2):
    n = 0
    for dirpath, _, files in os.walk(os.path.join(root, "runs")):
        if "progress.jsonl" in files:
            with open(os.path.join(dirpath, "progress.jsonl")) as f:
                for ln in f:
                    o = json.loads(ln)
                    if o["event"] == kind and t1 <= o["time"] < t2:
                        n += 1
    return n


def scale(c, jobs, rate):
    """jobs fake Slurm jobs: idle 0..T1, `rate` epoch+batch line pairs a
    second each in [T1,T2] (CPU measured) and [T3,T4] (strace counts)."""
    root = H.tmpdir("bench-scale")
    fake = os.path.join(HERE, "fake_aelab.py")
    now = time.time()
    t1, t2, t3, t4 = now + 16, now + 36, now + 40, now + 48
    env = dict(c.env, FAKE_RATE=str(rate), FAKE_T1=str(t1), FAKE_T2=str(t2),
               FAKE_T3=str(t3), FAKE_T4=str(t4))
    try:
        d = start("slurm", c, root, (fake,), env)
        pid = d.proc.pid
        time.sleep(3)
        a0 = cpu(pid)
        time.sleep(4)
        a1 = cpu(pid)          # 0 jobs followed
        for _ in range(jobs):
            d.submit(dict(SHORT, epochs=100000))
        while sum(1 for j in d.get("/api/jobs").json()["jobs"] if j["state"] == "running") < jobs:
            if time.time() > t1 - 6:
                raise RuntimeError("fake jobs not all running in time")
            time.sleep(0.2)
        time.sleep(1)
        w = max(t1 - time.time() - 1, 1)
        b0 = cpu(pid)
        time.sleep(w)
        b1 = cpu(pid)          # `jobs` followed, no lines
        while time.time() < t1 + 1:
            time.sleep(0.05)
        c0, m0 = cpu(pid), time.time()
        while time.time() < t2 - 1:
            time.sleep(0.05)
        c1, m1 = cpu(pid), time.time()
        api = {j["id"]: j.get("epoch", 0) for j in d.get("/api/jobs").json()["jobs"]}
        lag = []  # epoch lines on disk not yet in the API, per job, at m1
        for j in api:
            run = d.get("/api/jobs/%d" % j).json()["run_dir"]
            with open(os.path.join(run, "progress.jsonl")) as f:
                ep = [json.loads(x) for x in f if '"event":"epoch"' in x]
            lag.append(len([e for e in ep if e["time"] < m1 - 0.5 and e["epoch"] > api[j]]))
        epochs = count_lines(root, "epoch", m0, m1)
        batches = count_lines(root, "batch", m0, m1)
        while time.time() < t3 + 1:
            time.sleep(0.05)
        st = subprocess.Popen(["strace", "-f", "-c", "-o", os.path.join(root, "strace.txt"),
                               "-e", "trace=fsync,fdatasync,write,pwrite64,read,openat",
                               "-p", str(pid)], stderr=subprocess.DEVNULL)
        s0 = time.time()
        time.sleep(max(t4 - 1 - time.time(), 1))
        st.terminate()
        st.wait(10)
        s1 = time.time()
        time.sleep(0.5)
        traced = count_lines(root, "epoch", s0, s1)
        calls = {}
        with open(os.path.join(root, "strace.txt")) as f:
            for ln in f:
                p = ln.split()
                if len(p) >= 5 and p[-1] in ("fsync", "fdatasync", "write", "pwrite64", "read", "openat"):
                    calls[p[-1]] = int(p[3]) if len(p) == 6 else int(p[3])
        d.stop(timeout=30)
        return {
            "idle0_cpu_per_s": (a1[0] - a0[0]) / 4,
            "idle_jobs_cpu_per_s": (b1[0] - b0[0]) / w,
            "idle_jobs_children_per_s": (b1[1] - b0[1]) / w,
            "busy_cpu_per_s": (c1[0] - c0[0]) / (m1 - m0),
            "busy_seconds": m1 - m0, "busy_cpu": c1[0] - c0[0],
            "epoch_lines": epochs, "batch_lines": batches,
            "traced_epoch_lines": traced, "calls": calls,
            "lines_older_than_0.5s_not_in_api": lag,
        }
    finally:
        H.cleanup(root)


def fsync_latency(directory, n=200):
    """Median seconds of append 200 bytes + fdatasync, in directory (where
    the bench's SQLite database lives): SQLite's WAL commit per epoch line."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    v = []
    try:
        for _ in range(n):
            t = time.perf_counter()
            os.write(fd, b"x" * 200)
            os.fdatasync(fd)
            v.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        os.unlink(path)
    return statistics.median(v)


def med(v):
    return statistics.median(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--throughput", type=int, default=40)
    ap.add_argument("--scale-jobs", type=int, default=4)
    ap.add_argument("--scale-rate", type=float, default=100)
    ap.add_argument("--sched-jobs", type=int, default=5,
                    help="tiny jobs per scheduler setting in the sched phase")
    ap.add_argument("--sched", default=";".join((
        SCHED, "sched_interval=60,bf_interval=30", "sched_interval=60,bf_interval=30,batch_sched_delay=0",
        "defer,sched_interval=60,bf_interval=30", "defer,sched_interval=5,bf_interval=5")),
        help="SchedulerParameters values for the sched phase, ';' between them")
    ap.add_argument("--skip", default="", help="comma list of overhead,throughput,scale,sched")
    a = ap.parse_args()
    H.AELABD = os.path.abspath(os.path.join(a.build, "server", "aelabd"))
    H.AELAB_CLI = os.path.abspath(os.path.join(a.build, "cli", "aelab"))
    skip = a.skip.split(",")
    with SlurmCluster() as c:
        conf = open(c.conf).read()
        sp = [ln for ln in conf.splitlines() if ln.startswith("SchedulerParameters")]
        print("cluster: %s" % sp)
        if "overhead" not in skip:
            res = {k: overhead(k, c, a.jobs) for k in ("local", "slurm")}
            print("\n## overhead (%d tiny jobs each, one at a time; seconds, median [min-max])\n" % a.jobs)
            print("| executor | POST -> first batch | last batch -> succeeded | POST -> succeeded |")
            print("|---|---|---|---|")
            for k, (f, t, tot, _) in res.items():
                print("| %s | %.3f [%.3f-%.3f] | %.3f [%.3f-%.3f] | %.3f |" % (
                    k, med(f), min(f), max(f), med(t), min(t), max(t), med(tot)))
            print("| slurm - local | %+.3f | %+.3f | %+.3f |" % (
                med(res["slurm"][0]) - med(res["local"][0]), med(res["slurm"][1]) - med(res["local"][1]),
                med(res["slurm"][2]) - med(res["local"][2])))
            nt = res["slurm"][3]
            print("\nslurm: the node's end line (its own time stamp) -> succeeded in the API: "
                  "median %.3f s [%.3f-%.3f]" % (med(nt), min(nt), max(nt)))
            sys.stdout.flush()
        if "throughput" not in skip:
            tl = throughput("local", c, a.throughput)
            ts = throughput("slurm", c, a.throughput)
            print("\n## throughput (%d short jobs submitted at once)\n" % a.throughput)
            print("| executor | seconds | jobs/minute |")
            print("|---|---|---|")
            print("| local, 2 workers | %.1f | %.1f |" % (tl, 60 * a.throughput / tl))
            print("| slurm, 2 nodes x 2 CPUs | %.1f | %.1f |" % (ts, 60 * a.throughput / ts))
            print("| slurm / local | | %.2f |" % (tl / ts))
            sys.stdout.flush()
        if "scale" not in skip and shutil.which("strace"):
            r = scale(c, a.scale_jobs, a.scale_rate)
            print("\n## scale (%d fake jobs, %.0f epoch lines/s each)\n" % (a.scale_jobs, a.scale_rate))
            print(json.dumps(r, indent=1))
            lines = r["epoch_lines"] + r["batch_lines"]
            extra = r["busy_cpu"] - r["idle_jobs_cpu_per_s"] * r["busy_seconds"]
            per_pair = extra / max(r["epoch_lines"], 1)
            print("CPU per (batch+epoch) line pair: %.1f us; per line %.1f us" % (
                1e6 * per_pair, 1e6 * extra / max(lines, 1)))
            print("idle cost per followed job: %.1f us/s" % (
                1e6 * (r["idle_jobs_cpu_per_s"] - r["idle0_cpu_per_s"]) / a.scale_jobs))
            tr = max(r["traced_epoch_lines"], 1)
            print("append+fdatasync in the db's directory: median %.1f us" % (
                1e6 * fsync_latency(tempfile.gettempdir())))
            print("per epoch line (strace): " + ", ".join(
                "%s %.2f" % (k, v / tr) for k, v in sorted(r["calls"].items())))
    if "sched" not in skip:
        print("\n## overhead under other SchedulerParameters (%d tiny jobs each; median [min-max])\n"
              % a.sched_jobs)
        print("| SchedulerParameters | POST -> first batch | POST -> succeeded |")
        print("|---|---|---|")
        for sp in a.sched.split(";"):
            with SlurmCluster(scheduler_parameters=sp) as c:
                f, _, tot, _ = overhead("slurm", c, a.sched_jobs)
            print("| `%s` | %.3f [%.3f-%.3f] | %.3f |" % (sp, med(f), min(f), max(f), med(tot)))
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
