#!/usr/bin/python3
"""sweep_bench.py - does early stopping find the same best model for less?

What it owns: issue 12's sweep benchmark.  One random search (model deep on
MNIST from data/mnist, 27 trials over learning_rate log-uniform 1e-4..1e-2
and batch_size 64/128/256, max_epochs 27, sweep seed 1) is run three ways
through the real daemon's POST /api/sweeps: without early stopping, with
ASHA (min_epochs 1, reduction_factor 3) and with median stopping.  The
same sweep seed gives the same configurations each time (checked).  For
each run it reports epochs trained, wall time, the best val_loss found,
bytes per trial on disk and the load average, then the issue's target:
ASHA's best val_loss within 1% of the full search's, in at most a third of
its epochs.

Each run gets its own aelabd (loopback, port 0, a temp dir, --workers 2
--threads-per-job 1; every trial has threads 1 and the sweep max_concurrent
2, so two trials train at once on the two cores).

Cross-checks: the sweep's own epochs_trained, epochs_without_early_stopping,
per-trial epochs and best against a count from every trial job's metrics;
stopped ASHA trials ended on a rung; the configurations are equal across
runs; and a trial's val_loss curve in an early-stopped run equals the full
run's over the epochs both trained (trials are seeded, threads 1), so a
missed target is the rule's doing, not noise between the runs.

Offline replay: the early-stopping rules (srv_sweep_sched.h's, written again
here) replayed on the full run's curves, two trials at a time, each epoch
taking its measured seconds.  It shows what the rule does with the very
same results, and where the full search's winner ranks at each rung.

What it does not do: vary the job seed (--job-seed runs one other seed; to
measure seed-to-seed noise, run it several times) or tune the rules.

  bench/sweep_bench.py                               # the issue's benchmark
  bench/sweep_bench.py --trials 4 --max-epochs 3 --train-size 600 --modes none,asha,median
  bench/sweep_bench.py --train-size 12000 --out /tmp/sweep.json --check

Exit status: 0; 2 when a sweep did not finish or the daemon failed; with
--check, 3 when the target is missed or a cross-check failed.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
import aelabd_harness as H  # noqa: E402

H.MNIST = os.path.join(ROOT, "data", "mnist")

MODES = ("none", "asha", "median")
FINAL = ("succeeded", "cancelled", "failed")
TRIAL_FINAL = ("succeeded", "stopped", "cancelled", "failed")
TARGET_REL = 0.01     # ASHA's best val_loss at most 1% above the full search's
TARGET_EPOCHS = 1 / 3  # in at most a third of its epochs


class BenchError(Exception):
    pass


# ---------------------------------------------------------------------------
# The sweep request
# ---------------------------------------------------------------------------

def sweep_body(a, mode):
    job = {"model": "deep", "dataset": "mnist", "train_size": a.train_size, "threads": 1}
    if a.test_size:
        job["test_size"] = a.test_size
    if a.job_seed is not None:
        job["seed"] = a.job_seed
    body = {"name": "bench-" + mode, "job": job,
            "parameters": {"learning_rate": {"distribution": "log_uniform",
                                             "min": 1e-4, "max": 1e-2},
                           "batch_size": {"values": [64, 128, 256]}},
            "method": "random", "max_trials": a.trials, "max_concurrent": a.max_concurrent,
            "seed": a.seed, "metric": "val_loss"}
    if a.keep == "all":
        body["keep"] = "all"
    if mode == "none":
        job["epochs"] = a.max_epochs
        body["early_stopping"] = {"type": "none"}
    elif mode == "asha":
        body["early_stopping"] = {"type": "asha", "min_epochs": a.min_epochs,
                                  "max_epochs": a.max_epochs,
                                  "reduction_factor": a.reduction_factor}
    else:
        body["early_stopping"] = {"type": "median", "grace_epochs": a.grace_epochs,
                                  "min_trials": a.min_trials, "max_epochs": a.max_epochs}
    return body


# ---------------------------------------------------------------------------
# Disk
# ---------------------------------------------------------------------------

def classify(rel):
    name = os.path.basename(rel)
    if name.startswith("events.out.tfevents"):
        return "events_root" if os.sep not in rel else "events"
    if name.endswith(".aew"):
        return "weights"
    if name.endswith(".aeck"):
        return "checkpoint"
    return "other"


def disk_usage(top):
    """Apparent bytes under top by kind, and per trial directory (the first
    path component): {trial_dir: {kind: bytes, 'weights_files': n,
    'weights_max': bytes}}."""
    kinds, per_dir = {}, {}
    for dirpath, _dirs, files in os.walk(top):
        for fn in files:
            p = os.path.join(dirpath, fn)
            try:
                size = os.lstat(p).st_size
            except OSError:
                continue
            rel = os.path.relpath(p, top)
            k = classify(rel)
            kinds[k] = kinds.get(k, 0) + size
            if os.sep in rel:
                d = per_dir.setdefault(rel.split(os.sep)[0], {})
                d[k] = d.get(k, 0) + size
                if k == "weights":
                    d["weights_files"] = d.get("weights_files", 0) + 1
                    d["weights_max"] = max(d.get("weights_max", 0), size)
    return kinds, per_dir


def sample_checkpoints(top, seen):
    """The largest checkpoint of any trial directory so far (a running
    trial's; ended trials may have theirs deleted)."""
    try:
        for d in os.listdir(top):
            try:
                seen[0] = max(seen[0], os.lstat(os.path.join(top, d, "checkpoint.aeck")).st_size)
            except OSError:
                pass
    except OSError:
        pass


# ---------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------

def get_json(d, path, what):
    r = d.get(path, timeout=60)
    if r.status != 200 or r.json() is None:
        raise BenchError("%s: GET %s -> %r" % (what, path, r))
    return r.json()


def run_mode(a, mode):
    root = H.tmpdir("sweepbench-" + mode)
    d = H.Daemon(root, "--workers", str(a.max_concurrent), "--threads-per-job", "1",
                 "--log-level", "info")
    loads, ckpt_seen = [], [0]
    try:
        d.start()
        body = sweep_body(a, mode)
        t0 = time.monotonic()
        r = d.post("/api/sweeps", body)
        if r.status != 201 or r.json() is None:
            raise BenchError("%s: POST /api/sweeps -> %r" % (mode, r))
        loc = r.header("Location") or ("/api/sweeps/%d" % r.json()["id"])
        sw = r.json()
        sweep_dir = os.path.join(d.logdir, sw.get("run_dir") or "")
        print("[%s] %s: sweep %s started (%s), load %.2f %.2f %.2f"
              % (time.strftime("%H:%M:%S"), mode, sw.get("id"), loc, *os.getloadavg()),
              flush=True)
        last_print = 0
        deadline = t0 + a.timeout * 60
        while True:
            time.sleep(a.poll)
            if not d.alive():
                raise BenchError("%s: aelabd died:\n%s" % (mode, d.log_text()[-3000:]))
            sw = get_json(d, loc, mode)
            loads.append(os.getloadavg()[0])
            sample_checkpoints(sweep_dir, ckpt_seen)
            if sw.get("state") in FINAL:
                break
            now = time.monotonic()
            if now - last_print >= a.progress:
                last_print = now
                states = {}
                for t in sw.get("trials") or []:
                    states[t.get("state")] = states.get(t.get("state"), 0) + 1
                print("[%s] %s: %.0f s, epochs %s, trials %s, load %.2f"
                      % (time.strftime("%H:%M:%S"), mode, now - t0, sw.get("epochs_trained"),
                         states, loads[-1]), flush=True)
            if now > deadline:
                d.post(loc + "/cancel")
                raise BenchError("%s: not finished after %.0f minutes" % (mode, a.timeout))
        wall = time.monotonic() - t0
        trials = []
        for t in sorted(sw.get("trials") or [], key=lambda t: t["trial"]):
            job = get_json(d, "/api/jobs/%d" % t["job"], mode)
            trials.append({"sweep_trial": t, "job_state": job.get("state"),
                           "job_sweep": job.get("sweep"), "run_dir": job.get("run_dir"),
                           "metrics": [{"epoch": m["epoch"], "val_loss": m.get("val_loss"),
                                        "loss": m.get("loss"),
                                        "seconds": m.get("train_seconds", m.get("seconds")),
                                        "val_seconds": m.get("val_seconds")}
                                       for m in job.get("metrics") or []]})
        smetrics = d.get(loc + "/metrics", timeout=60)
        sweep_rows = smetrics.json() if smetrics.status == 200 else None
        lr = d.get("/api/jobs?sweep=%d&limit=500" % sw["id"])
        listed = lr.json() if lr.status == 200 else None
        kinds, per_dir = disk_usage(sweep_dir)
        rc, _secs = d.stop()
        return {"mode": mode, "request": body, "sweep": sw, "trials": trials,
                "sweep_metrics": sweep_rows,
                "listed_jobs": len((listed or {}).get("jobs") or []) if listed else None,
                "wall_seconds": wall, "load_mean": statistics.mean(loads) if loads else None,
                "load_max": max(loads) if loads else None, "disk": kinds,
                "disk_per_dir": per_dir, "checkpoint_bytes_seen": ckpt_seen[0],
                "daemon_exit": rc}
    finally:
        if d.alive():
            d.stop()
        if not a.keep_dirs:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print("kept %s" % root)


# ---------------------------------------------------------------------------
# Figures and cross-checks
# ---------------------------------------------------------------------------

def finite(v):
    return isinstance(v, (int, float)) and v == v and abs(v) != float("inf")


def summarise(a, res, problems):
    mode, sw = res["mode"], res["sweep"]
    n = len(res["trials"])
    epochs = sum(len(t["metrics"]) for t in res["trials"])
    vals = [(m["val_loss"], t["sweep_trial"]["trial"], m["epoch"])
            for t in res["trials"] for m in t["metrics"] if finite(m["val_loss"])]
    best = min(vals) if vals else (None, None, None)
    states = {}
    for t in res["trials"]:
        s = t["sweep_trial"].get("state")
        states[s] = states.get(s, 0) + 1

    def bad(what):
        problems.append("%s: %s" % (mode, what))

    if sw.get("state") != "succeeded":
        bad("sweep ended %s" % sw.get("state"))
    if n != a.trials:
        bad("%d trials listed, %d asked" % (n, a.trials))
    if sw.get("epochs_trained") != epochs:
        bad("sweep epochs_trained %s, the trials' metrics have %d" % (sw.get("epochs_trained"), epochs))
    if sw.get("epochs_without_early_stopping") != a.trials * a.max_epochs:
        bad("epochs_without_early_stopping %s, expected %d"
            % (sw.get("epochs_without_early_stopping"), a.trials * a.max_epochs))
    if res["listed_jobs"] is not None and res["listed_jobs"] != n:
        bad("GET /api/jobs?sweep=N lists %s jobs, the sweep %d trials" % (res["listed_jobs"], n))
    rungs = sw.get("rungs") or []
    for t in res["trials"]:
        st, k = t["sweep_trial"], len(t["metrics"])
        tag = "trial %s (job %s)" % (st.get("trial"), st.get("job"))
        if st.get("epochs") != k:
            bad("%s: sweep says %s epochs, metrics %d" % (tag, st.get("epochs"), k))
        if st.get("state") != t["job_state"]:
            bad("%s: sweep state %s, job state %s" % (tag, st.get("state"), t["job_state"]))
        if t["job_sweep"] != sw.get("id"):
            bad("%s: job's sweep is %r" % (tag, t["job_sweep"]))
        if [m["epoch"] for m in t["metrics"]] != list(range(1, k + 1)):
            bad("%s: metrics epochs not 1..%d" % (tag, k))
        tv = [m["val_loss"] for m in t["metrics"] if finite(m["val_loss"])]
        if tv and not close(st.get("best_val_loss"), min(tv)):
            bad("%s: best_val_loss %s, metrics' min %s" % (tag, st.get("best_val_loss"), min(tv)))
        if st.get("state") == "stopped":
            if mode == "none":
                bad("%s stopped without early stopping" % tag)
            if st.get("stopped_at") != k:
                bad("%s: stopped_at %s after %d epochs" % (tag, st.get("stopped_at"), k))
            if mode == "asha" and k not in rungs:
                bad("%s stopped at epoch %d, not a rung %s" % (tag, k, rungs))
        elif st.get("state") == "succeeded" and k != a.max_epochs:
            bad("%s succeeded after %d epochs" % (tag, k))
    b = sw.get("best") or {}
    if best[0] is not None and not close(b.get("val_loss"), best[0]):
        bad("sweep best val_loss %s (trial %s), metrics' min %s (trial %s)"
            % (b.get("val_loss"), b.get("trial"), best[0], best[1]))
    check_decisions(a, mode, sw.get("decisions"), bad)
    rows = res["sweep_metrics"]
    if isinstance(rows, dict):
        rows = rows.get("rows") or rows.get("metrics")
    if rows is None:
        bad("GET /api/sweeps/{id}/metrics gave no rows")
    elif len(rows) != epochs:
        bad("/api/sweeps/{id}/metrics has %d rows, the trials %d epochs" % (len(rows), epochs))

    # Disk: measured, and the other keep setting estimated from file sizes.
    per_dir = res["disk_per_dir"]
    total = sum(res["disk"].values())
    w_size = max([v.get("weights_max", 0) for v in per_dir.values()] or [0])
    ck = res["checkpoint_bytes_seen"]
    ev = sum(v.get("events", 0) for v in per_dir.values()) + res["disk"].get("events_root", 0)
    oth = res["disk"].get("other", 0)
    est_final = ev + oth + w_size * n
    est_all = ev + oth + w_size * epochs + ck * n
    if a.keep != "all":
        for name, v in per_dir.items():
            if v.get("weights_files", 0) > 1 or v.get("checkpoint", 0):
                bad("%s keeps %d weights files and %d checkpoint bytes (keep=final expected)"
                    % (name, v.get("weights_files", 0), v.get("checkpoint", 0)))
                break
    return {"mode": mode, "trials": n, "states": states, "epochs": epochs,
            "sweep_epochs_trained": sw.get("epochs_trained"),
            "sweep_epochs_without": sw.get("epochs_without_early_stopping"),
            "wall_seconds": res["wall_seconds"], "best_val_loss": best[0],
            "best_trial": best[1], "best_epoch": best[2],
            "sweep_best": b, "bytes_total": total, "bytes_per_trial": total / n if n else None,
            "disk_kinds": res["disk"], "weights_file_bytes": w_size, "checkpoint_bytes": ck,
            "bytes_per_trial_keep_final_est": est_final / n if n else None,
            "bytes_per_trial_keep_all_est": est_all / n if n else None,
            "load_mean": res["load_mean"], "load_max": res["load_max"],
            "params": [t["sweep_trial"].get("params") for t in res["trials"]],
            "curves": {t["sweep_trial"]["trial"]: [m["val_loss"] for m in t["metrics"]]
                       for t in res["trials"]},
            "seconds": {t["sweep_trial"]["trial"]: [(m["seconds"] or 0) + (m["val_seconds"] or 0)
                                                    for m in t["metrics"]]
                        for t in res["trials"]}}


def check_decisions(a, mode, decisions, bad):
    """The sweep lists every result in arrival order with the decision
    taken; take each again with this script's copy of the rule, from the
    results that arrived before it."""
    if mode == "none":
        return
    if not isinstance(decisions, list):
        bad("the sweep JSON has no decisions list")
        return
    table, wrong = {}, 0
    for x in decisions:
        e, t, v = x.get("epoch"), x.get("trial"), x.get("val_loss")
        if x.get("decision") in ("continue", "stop"):
            want = "continue" if decide(mode, a, table, t, e, v) else "stop"
            if want != x["decision"]:
                wrong += 1
                if wrong <= 3:
                    bad("trial %s epoch %s val_loss %s: the daemon decided %s, the rule says %s"
                        % (t, e, v, x["decision"], want))
        if finite(v):
            old = table.setdefault(e, {}).get(t)
            table[e][t] = v if old is None else min(old, v)
    if wrong > 3:
        bad("%d decisions in all differ from the rule" % wrong)


def close(x, y, rel=1e-6):
    return finite(x) and finite(y) and abs(x - y) <= rel * max(abs(x), abs(y), 1e-12)


def same_params(p, q):
    if set(p) != set(q):
        return False
    return all(close(float(p[k]), float(q[k]), 1e-9) for k in p)


def cross_runs(sums, problems):
    """Same configurations in every run; the same curve where both trained."""
    full = sums.get("none")
    ref = full or next(iter(sums.values()))
    for m, s in sums.items():
        if s is ref:
            continue
        for i, (p, q) in enumerate(zip(ref["params"], s["params"])):
            if not same_params(p or {}, q or {}):
                problems.append("%s: trial %d params %r, %s has %r" % (m, i, q, ref["mode"], p))
                break
    if not full:
        return {}
    diffs = {}
    for m, s in sums.items():
        if m == "none":
            continue
        worst = 0.0
        for i, c in s["curves"].items():
            for e, v in enumerate(c):
                fv = full["curves"].get(i, [])
                if e < len(fv) and finite(v) and finite(fv[e]):
                    worst = max(worst, abs(v - fv[e]) / fv[e])
        diffs[m] = worst
    return diffs


# ---------------------------------------------------------------------------
# Offline replay of the rules (srv_sweep_sched.h) on the full run's curves
# ---------------------------------------------------------------------------

def asha_rungs(mn, mx, rf):
    out, e = [], mn
    while e < mx:
        out.append(e)
        e *= rf
    return out


def decide(kind, a, table, trial, epoch, v):
    """True: continue.  table: {epoch: {trial: val_loss}}."""
    others = [x for t, x in table.get(epoch, {}).items() if t != trial and finite(x)]
    if not finite(v):
        return False if kind == "asha" else len(others) < a.min_trials or epoch < a.grace_epochs
    if kind == "asha":
        if epoch not in asha_rungs(a.min_epochs, a.max_epochs, a.reduction_factor):
            return True
        better = sum(1 for x in others if x < v)
        return better * a.reduction_factor < len(others) + 1
    if epoch < a.grace_epochs or len(others) < a.min_trials:
        return True
    return not v > statistics.median(others)


def replay(kind, a, curves, seconds):
    """Two (max_concurrent) workers take trials in index order; each epoch
    ends after its measured seconds; the rule decides at each epoch's end.
    Returns (epochs trained, best val_loss, its trial, stopped {trial: epoch})."""
    order = sorted(curves)
    table, stopped = {}, {}
    clock, nxt, running = 0.0, 0, []  # running: [end time, trial, epoch]

    def start(t, now):
        if curves[t]:
            running.append([now + (seconds[t][0] or 1.0), t, 1])

    while nxt < len(order) and len(running) < a.max_concurrent:
        start(order[nxt], clock)
        nxt += 1
    trained, best = 0, (float("inf"), None)
    while running:
        running.sort()
        end, t, e = running.pop(0)
        clock = end
        v = curves[t][e - 1]
        trained += 1
        if finite(v) and v < best[0]:
            best = (v, t)
        go = decide(kind, a, table, t, e, v)
        table.setdefault(e, {})[t] = v
        if go and e < len(curves[t]) and e < a.max_epochs:
            running.append([clock + (seconds[t][e] or 1.0), t, e + 1])
        else:
            if not go:
                stopped[t] = e
            if nxt < len(order):
                start(order[nxt], clock)
                nxt += 1
    return trained, best[0], best[1], stopped


def winner_ranks(a, full):
    """Where the full search's best trial (by best val_loss) ranks among all
    trials at each ASHA rung (1 = lowest val_loss)."""
    curves = full["curves"]
    bests = {t: min([v for v in c if finite(v)] or [float("inf")]) for t, c in curves.items()}
    w = min(bests, key=bests.get)
    out = []
    for r in asha_rungs(a.min_epochs, a.max_epochs, a.reduction_factor):
        at = {t: c[r - 1] for t, c in curves.items() if len(c) >= r and finite(c[r - 1])}
        if w in at:
            rank = 1 + sum(1 for x in at.values() if x < at[w])
            out.append((r, rank, len(at)))
    return w, out


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------

def mib(b):
    return "%.2f MB" % (b / 1e6) if b is not None else "-"


def table(a, sums):
    full = sums.get("none")
    lines = ["| run | trials: states | epochs trained | vs full | wall time | best val_loss "
             "(trial, epoch) | vs full | bytes/trial (keep=%s) | bytes/trial, est. keep=%s "
             "| load avg (mean/max) |" % ("all" if a.keep == "all" else "final",
                                          "final" if a.keep == "all" else "all"),
             "|---|---|---:|---:|---:|---|---:|---:|---:|---|"]
    for m in MODES:
        s = sums.get(m)
        if not s:
            continue
        st = ", ".join("%s %d" % kv for kv in sorted(s["states"].items()))
        ep_rel = "%.1f%%" % (100.0 * s["epochs"] / full["epochs"]) if full else "-"
        bv_rel = ("%+.2f%%" % (100.0 * (s["best_val_loss"] / full["best_val_loss"] - 1))
                  if full and s["best_val_loss"] and full["best_val_loss"] else "-")
        other = (s["bytes_per_trial_keep_final_est"] if a.keep == "all"
                 else s["bytes_per_trial_keep_all_est"])
        lines.append("| %s | %d: %s | %d | %s | %.0f s (%.1f min) | %s (%s, %s) | %s | %s | %s "
                     "| %.1f / %.1f |"
                     % ({"none": "no early stopping", "asha": "ASHA",
                         "median": "median stopping"}[m], s["trials"], st, s["epochs"], ep_rel,
                        s["wall_seconds"], s["wall_seconds"] / 60,
                        "%.5f" % s["best_val_loss"] if s["best_val_loss"] else "-",
                        s["best_trial"], s["best_epoch"], bv_rel, mib(s["bytes_per_trial"]),
                        mib(other), s["load_mean"] or 0, s["load_max"] or 0))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--aelabd", default=os.path.join(ROOT, "build", "server", "aelabd"))
    ap.add_argument("--train-size", type=int, default=0,
                    help="training images (0 = all 60,000)")
    ap.add_argument("--test-size", type=int, default=0,
                    help="validation images (0 = all 10,000)")
    ap.add_argument("--trials", type=int, default=27)
    ap.add_argument("--max-epochs", type=int, default=27)
    ap.add_argument("--seed", type=int, default=1, help="the sweep's seed (its random draws)")
    ap.add_argument("--job-seed", type=int, default=None,
                    help="every trial's own seed (default: the job default)")
    ap.add_argument("--max-concurrent", type=int, default=2)
    ap.add_argument("--min-epochs", type=int, default=1, help="ASHA")
    ap.add_argument("--reduction-factor", type=int, default=3, help="ASHA")
    ap.add_argument("--grace-epochs", type=int, default=1, help="median")
    ap.add_argument("--min-trials", type=int, default=3, help="median")
    ap.add_argument("--keep", choices=("final", "all"), default="final",
                    help="trials' artifacts: the sweep default (final) or all")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--poll", type=float, default=1.0, help="seconds between GETs of the sweep")
    ap.add_argument("--progress", type=float, default=60.0, help="seconds between progress lines")
    ap.add_argument("--timeout", type=float, default=120.0, help="minutes per sweep")
    ap.add_argument("--out", help="write every figure and curve here (JSON)")
    ap.add_argument("--keep-dirs", action="store_true", help="keep the daemons' temp dirs")
    ap.add_argument("--check", action="store_true",
                    help="exit 3 when the target is missed or a cross-check fails")
    a = ap.parse_args()
    H.AELABD = os.path.abspath(a.aelabd)
    modes = [m for m in a.modes.split(",") if m]
    if not modes or any(m not in MODES for m in modes):
        ap.error("--modes: a comma-separated subset of %s" % ",".join(MODES))
    if not os.access(H.AELABD, os.X_OK):
        ap.error("no aelabd at %s (build first: meson setup build && ninja -C build)" % H.AELABD)

    print("sweep_bench: deep on MNIST, train_size %s, test_size %s, %d trials, max_epochs %d, "
          "sweep seed %d, max_concurrent %d, threads 1 per trial, modes %s; load %.2f %.2f %.2f"
          % (a.train_size or "60000 (all)", a.test_size or "10000 (all)", a.trials,
             a.max_epochs, a.seed, a.max_concurrent, ",".join(modes), *os.getloadavg()),
          flush=True)
    t_start = time.time()
    results, sums, problems = {}, {}, []
    try:
        for m in modes:
            results[m] = run_mode(a, m)
            sums[m] = summarise(a, results[m], problems)
            s = sums[m]
            print("[%s] %s: done in %.0f s, %d epochs, best val_loss %s"
                  % (time.strftime("%H:%M:%S"), m, s["wall_seconds"], s["epochs"],
                     s["best_val_loss"]), flush=True)
    except BenchError as e:
        print("sweep_bench: %s" % e, file=sys.stderr)
        return 2
    curve_diffs = cross_runs(sums, problems)

    print()
    print("deep, MNIST, train_size %s, test_size %s, %d trials (random, sweep seed %d), "
          "max_epochs %d, max_concurrent %d, 1 thread per trial; ASHA min_epochs %d, "
          "reduction_factor %d; median grace_epochs %d, min_trials %d"
          % (a.train_size or 60000, a.test_size or 10000, a.trials, a.seed, a.max_epochs,
             a.max_concurrent, a.min_epochs, a.reduction_factor, a.grace_epochs, a.min_trials))
    print()
    print(table(a, sums))
    print()
    full, asha = sums.get("none"), sums.get("asha")
    verdict = None
    if full and asha:
        rel = asha["best_val_loss"] / full["best_val_loss"] - 1
        share = asha["epochs"] / full["epochs"]
        ok = rel <= TARGET_REL and share <= TARGET_EPOCHS
        verdict = {"best_rel": rel, "epochs_share": share, "met": ok}
        print("target (ASHA's best val_loss within 1%% of the full search's, in at most a third "
              "of its epochs): %s (best %+.2f%%, epochs %.1f%%)"
              % ("MET" if ok else "MISSED", 100 * rel, 100 * share))
    for m, s in sums.items():
        print("%s: sweep reports epochs_trained %s, epochs_without_early_stopping %s; counted "
              "from the trials' metrics: %d (of %d)"
              % (m, s["sweep_epochs_trained"], s["sweep_epochs_without"], s["epochs"],
                 a.trials * a.max_epochs))
    for m, dv in curve_diffs.items():
        print("%s: largest relative difference from the full run's val_loss at the same trial "
              "and epoch: %.2g" % (m, dv))
    replays = {}
    if full:
        w, ranks = winner_ranks(a, full)
        print("full search's winner: trial %d %s; its rank at ASHA's rungs: %s"
              % (w, full["params"][w] if w < len(full["params"]) else "",
                 ", ".join("epoch %d: %d of %d" % r for r in ranks) or "-"))
        for kind in ("asha", "median"):
            tr, bv, bt, stopped = replay(kind, a, full["curves"], full["seconds"])
            replays[kind] = {"epochs": tr, "best_val_loss": bv, "best_trial": bt,
                             "stopped": stopped}
            print("replay of %s on the full run's curves: %d epochs (%.1f%%), best val_loss "
                  "%.5f (trial %s, %+.2f%% vs full), %d trials stopped"
                  % (kind, tr, 100.0 * tr / full["epochs"], bv, bt,
                     100 * (bv / full["best_val_loss"] - 1), len(stopped)))
    for s in sums.values():
        print("%s disk: %s; weights file %d B, checkpoint %d B (largest seen)"
              % (s["mode"], ", ".join("%s %d B" % kv for kv in sorted(s["disk_kinds"].items())),
                 s["weights_file_bytes"], s["checkpoint_bytes"]))
    print("cross-checks: %s" % ("all passed" if not problems else "%d FAILED" % len(problems)))
    for p in problems:
        print("  " + p)
    print("total time %.1f min; load now %.2f %.2f %.2f"
          % ((time.time() - t_start) / 60, *os.getloadavg()))
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"args": vars(a), "summaries": sums, "verdict": verdict,
                       "curve_diffs": curve_diffs, "replays": replays, "problems": problems,
                       "runs": results}, f, indent=1, default=str)
    if a.check and (problems or not verdict or not verdict["met"]):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
