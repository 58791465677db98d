#!/usr/bin/env python3
"""Sweeps (issue 12) on the real daemon over real HTTP: a grid sweep end to
end (API shape, ?sweep=, metrics JSON/CSV, SSE, disk with keep=final, the
TensorBoard experiment at the sweep's root and the trials' hparams), a
random ASHA sweep with stopped trials (decisions replayed here against the
rule), keep=all, kill -9 mid-sweep and a restart, cancel, delete (+purge),
bad sweeps, the upgrade of a database from the schema before sweeps,
Idempotency-Key on POST /api/sweeps (across a restart), and a trial that
fails."""
import glob
import json
import math
import os
import sqlite3
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from aelabd_harness import (SSE, Daemon, _fields, check, check_eq, cleanup,  # noqa: E402
                            read_events, summary, tmpdir)

# Tiny trials: simple model, 600 images, one thread each.
JOB = {"model": "simple", "train_size": 600, "test_size": 100, "threads": 1}


def post_sweep(d, body, **kw):
    return d.post("/api/sweeps", body, **kw)


def wait_sweep(d, sid, states=("succeeded", "cancelled"), timeout=300):
    t0 = time.time()
    s = None
    while time.time() - t0 < timeout:
        s = d.get("/api/sweeps/%d" % sid).json()
        if s and s.get("state") in states:
            return s
        time.sleep(0.1)
    check(False, "sweep %d did not reach %s; last: %r" % (sid, states, s))
    return s


def trial_dirs(d, s):
    return sorted(glob.glob(os.path.join(d.logdir, s["run_dir"], "[0-9]*-*")))


# ---------------------------------------------------------------------------
# The hparams plugin's records, decoded here (not by proto/).
# ---------------------------------------------------------------------------

def hparams_records(path):
    """{kind: decoded} for the _hparams_ records of one event file."""
    out = {}
    with open(path, "rb") as f:
        data = f.read()
    i = 0
    while i + 12 <= len(data):
        (n,) = struct.unpack("<Q", data[i:i + 8])
        rec = data[i + 12:i + 12 + n]
        i += 12 + n + 4
        for fnum, _, summ in _fields(rec):
            if fnum != 5:
                continue
            for vf, _, val in _fields(summ):
                if vf != 1:
                    continue
                tag, content = None, None
                for a, _, c in _fields(val):
                    if a == 1:
                        tag = c.decode()
                    elif a == 9:
                        for pf, _, pd in _fields(c):
                            if pf == 1:
                                content = dict((x, y) for x, _, y in _fields(pd)).get(2)
                if tag and tag.startswith("_hparams_/") and content is not None:
                    out[tag.split("/", 1)[1]] = content
    return out


def pb_value(b):
    for f, _, v in _fields(b):
        if f == 2:
            return struct.unpack("<d", v)[0]
        if f == 3:
            return v.decode()
        if f == 4:
            return bool(v)
    return None


def experiment_domains(content):
    """{name: ("set", [values]) | ("interval", lo, hi) | None}."""
    doms = {}
    for f, _, exp in _fields(content):
        if f != 2:
            continue
        for ef, _, hp in _fields(exp):
            if ef != 4:
                continue
            name, dom = None, None
            for hf, _, hv in _fields(hp):
                if hf == 1:
                    name = hv.decode()
                elif hf == 5:
                    dom = ("set", [pb_value(x) for lf, _, x in _fields(hv) if lf == 1])
                elif hf == 6:
                    iv = dict((x, struct.unpack("<d", y)[0]) for x, _, y in _fields(hv))
                    dom = ("interval", iv.get(1, 0.0), iv.get(2, 0.0))
            doms[name] = dom
    return doms


def session_hparams(content):
    vals = {}
    for f, _, ssi in _fields(content):
        if f != 3:
            continue
        for sf, _, entry in _fields(ssi):
            if sf != 1:
                continue
            k, v = None, None
            for ef, _, ev in _fields(entry):
                if ef == 1:
                    k = ev.decode()
                elif ef == 2:
                    v = pb_value(ev)
            vals[k] = v
    return vals


# ---------------------------------------------------------------------------
# ASHA, written again here from the rule, to replay the table.
# ---------------------------------------------------------------------------

def asha_replay(decisions, min_epochs, max_epochs, rf):
    rungs = []
    e = min_epochs
    while e < max_epochs:
        rungs.append(e)
        e *= rf
    seen = []
    bad = []
    for row in decisions:
        t, ep, v = row["trial"], row["epoch"], row["val_loss"]
        if ep not in rungs:
            want = "none"
        elif v is None or not math.isfinite(v):
            want = "stop"
        else:
            others = {}
            for r in seen:
                if r["epoch"] == ep and r["trial"] != t and r["val_loss"] is not None:
                    others[r["trial"]] = min(others.get(r["trial"], r["val_loss"]), r["val_loss"])
            n = len(others) + 1
            better = sum(1 for x in others.values() if x < v)
            want = "continue" if better * rf < n else "stop"
        if want != row["decision"]:
            bad.append((row, want))
        seen.append(row)
    return rungs, bad


def median_replay(decisions, grace, min_trials):
    seen, bad = [], []
    for row in decisions:
        t, ep, v = row["trial"], row["epoch"], row["val_loss"]
        others = sorted(r["val_loss"] for r in seen
                        if r["epoch"] == ep and r["trial"] != t and r["val_loss"] is not None)
        want = "continue"
        if ep >= grace and len(others) >= min_trials:
            k = len(others)
            med = others[k // 2] if k % 2 else (others[k // 2 - 1] + others[k // 2]) / 2
            if v is None or not math.isfinite(v) or v > med:
                want = "stop"
        if want != row["decision"]:
            bad.append((row, want))
        seen.append(row)
    return bad


# ---------------------------------------------------------------------------

def test_median(d):
    body = {"name": "median", "job": dict(JOB, epochs=4),
            "parameters": {"learning_rate": {"distribution": "log_uniform", "min": 0.00005,
                                             "max": 0.05}},
            "method": "random", "max_trials": 6, "max_concurrent": 1, "seed": 11,
            "early_stopping": {"type": "median", "grace_epochs": 1, "min_trials": 2}}
    r = post_sweep(d, body)
    check_eq(r.status, 201, "median sweep created")
    s = wait_sweep(d, r.json()["id"])
    check_eq(s["state"], "succeeded", "median sweep succeeded")
    check_eq(median_replay(s["decisions"], 1, 2), [], "every decision follows the median rule")
    for t in s["trials"]:
        check(t["state"] in ("succeeded", "stopped"), "trial final: %r" % t)
        if t["state"] == "stopped":
            check_eq(t["stopped_at"], t["epochs"], "stopped where decided")
    check(any(x["decision"] == "stop" for x in s["decisions"]) ==
          any(t["state"] == "stopped" for t in s["trials"]), "a stop decision stops a trial")


def test_grid(d):
    other = d.submit(dict(JOB, epochs=1))  # not a trial: ?sweep= must leave it out
    body = {"name": "lr-grid", "job": dict(JOB, epochs=2),
            "parameters": {"learning_rate": {"values": [0.001, 0.003]},
                           "batch_size": {"values": [64, 128]}},
            "method": "grid", "max_concurrent": 2}
    r = post_sweep(d, body)
    check_eq(r.status, 201, "grid sweep created")
    s = r.json()
    sid = s["id"]
    check_eq(r.header("location"), "/api/sweeps/%d" % sid, "Location")
    for k in ("id", "name", "state", "created_at", "finished_at", "method", "metric",
              "early_stopping", "parameters", "job", "max_trials", "max_concurrent", "seed",
              "keep", "run_dir", "rungs", "trials", "best", "epochs_trained",
              "epochs_without_early_stopping"):
        check(k in s, "sweep JSON has %s" % k)
    check_eq(s["state"], "running", "running at first")
    check_eq(s["parameters"], body["parameters"], "parameters as given")
    check_eq(s["job"], body["job"], "job as given")
    check_eq(s["run_dir"], "sweep-%04d-lr-grid" % sid, "run_dir")
    check_eq(s["keep"], "final", "trials keep final by default")
    check_eq(s["early_stopping"], {"type": "none"}, "no early stopping")
    check(len(s["trials"]) == 2, "max_concurrent trials submitted at once: %r" % s["trials"])

    s = wait_sweep(d, sid)
    check_eq(s["state"], "succeeded", "grid sweep succeeded")
    check(s["finished_at"] is not None, "finished_at")
    want = [{"learning_rate": 0.001, "batch_size": 64}, {"learning_rate": 0.001, "batch_size": 128},
            {"learning_rate": 0.003, "batch_size": 64}, {"learning_rate": 0.003, "batch_size": 128}]
    check_eq([t["params"] for t in s["trials"]], want, "grid order: the last parameter fastest")
    check_eq([t["trial"] for t in s["trials"]], [0, 1, 2, 3], "trial indices")
    check(all(t["state"] == "succeeded" and t["epochs"] == 2 for t in s["trials"]),
          "every trial trained its 2 epochs")
    check(all(t["stopped_at"] is None and t["rung"] is None for t in s["trials"]), "none stopped")
    check_eq(s["epochs_trained"], 8, "epochs trained")
    check_eq(s["epochs_without_early_stopping"], 8, "epochs without early stopping")
    best = min(s["trials"], key=lambda t: t["best_val_loss"])
    check_eq((s["best"]["trial"], s["best"]["job"]), (best["trial"], best["job"]), "best trial")
    check_eq(s["best"]["params"], best["params"], "best params")

    jobs = d.get("/api/jobs?sweep=%d" % sid).json()
    ids = sorted(j["id"] for j in jobs["jobs"])
    check_eq(ids, sorted(t["job"] for t in s["trials"]), "?sweep= lists exactly the trials")
    check(other["id"] not in ids, "a plain job is not a trial")
    check(all(j["sweep"] == sid and j["keep"] == "final" for j in jobs["jobs"]), "sweep/keep fields")
    check_eq(d.get("/api/jobs/%d" % other["id"]).json()["sweep"], None, "plain job: sweep null")
    check_eq(d.get("/api/jobs?sweep=abc").status, 400, "?sweep=abc is 400")
    j0 = d.get("/api/jobs/%d" % s["trials"][0]["job"]).json()
    check(j0["run_dir"].endswith("/%s/%04d-simple" % (s["run_dir"], j0["id"])), "trial run_dir")
    check_eq(j0["settings"]["learning_rate"], 0.001, "trial settings carry its params")
    check_eq(j0["epochs"], 2, "trial epochs")

    # metrics: one row per trial and epoch, JSON and CSV alike.
    rows = d.get("/api/sweeps/%d/metrics" % sid).json()
    check_eq(len(rows), 8, "8 metric rows")
    check_eq(sorted((x["trial"], x["epoch"]) for x in rows),
             [(t, e) for t in range(4) for e in (1, 2)], "rows are (trial, epoch)")
    check(all("loss" in x and "val_loss" in x and "job" in x for x in rows), "row columns")
    r = d.get("/api/sweeps/%d/metrics?format=csv" % sid)
    lines = r.body.decode().strip().split("\n")
    check(r.header("content-type").startswith("text/csv"), "CSV type")
    check(lines[0].startswith("trial,job,epoch,loss,val_loss"), "CSV header %r" % lines[0])
    check_eq(len(lines), 9, "CSV rows")
    check_eq(d.get("/api/sweeps/%d/metrics?format=xml" % sid).status, 400, "bad format")

    # SSE of a finished sweep: snapshot then end.
    sse = SSE(d.port, "/api/sweeps/%d/events" % sid, timeout=20)
    check_eq(sse.status, 200, "sweep events")
    evs = []
    for ev, data, _ in sse.events():
        evs.append(ev)
        if ev == "end":
            check('"succeeded"' in data, "end says succeeded")
            break
    sse.close()
    check_eq(evs[:2], ["snapshot", "end"], "snapshot then end")

    # Disk: keep=final leaves event files and the last weights only.
    dirs = trial_dirs(d, s)
    check_eq(len(dirs), 4, "4 trial directories")
    for t in dirs:
        check(not os.path.exists(os.path.join(t, "checkpoint.aeck")), "no checkpoint in %s" % t)
        check_eq(sorted(os.listdir(os.path.join(t, "weights"))), ["epoch-0002.aew"],
                 "last weights only")
        evf = glob.glob(os.path.join(t, "events.out.tfevents.*"))
        check_eq(len(evf), 1, "one event file")
        recs = read_events(evf[0])
        steps = [r["step"] for r in recs if "val_loss" in r["values"]]
        check_eq(steps, [1, 2], "val_loss at both epochs")
        hp = hparams_records(evf[0])
        check("experiment" not in hp, "a trial leaves the experiment to the sweep's root")
        vals = session_hparams(hp.get("session_start_info", b""))
        check(vals.get("learning_rate") in (0.001, 0.003), "session has learning_rate %r" % vals)
        check("noise_factor" not in vals, "only the settings the model uses: %r" % sorted(vals))

    # The sweep's root: sweep.json and the experiment with the sweep's domains.
    root = os.path.join(d.logdir, s["run_dir"])
    check(os.path.exists(os.path.join(root, "sweep.json")), "sweep.json")
    evf = glob.glob(os.path.join(root, "events.out.tfevents.*"))
    check_eq(len(evf), 1, "the sweep's own event file")
    doms = experiment_domains(hparams_records(evf[0]).get("experiment", b""))
    check_eq(doms.get("learning_rate"), ("set", [0.001, 0.003]), "listed values: discrete domain")
    check_eq(doms.get("batch_size"), ("set", [64.0, 128.0]), "batch_size domain")
    check_eq(doms.get("model"), ("set", ["simple"]), "model fixed")
    check_eq(doms.get("epochs"), ("set", [2.0]), "epochs fixed")

    # The log dir's root: the experiment of every job (all models, full
    # ranges), which TensorBoard reads first under `--logdir runs`, so the
    # sweep's narrower definition does not hide the other jobs there.
    top = glob.glob(os.path.join(d.logdir, "events.out.tfevents.*"))
    check_eq(len(top), 1, "one event file at the log dir's root")
    tdoms = experiment_domains(hparams_records(top[0]).get("experiment", b""))
    check_eq(sorted((tdoms.get("model") or ("set", []))[1]),
             sorted(["simple", "sparse", "deep", "conv", "denoise", "vae"]),
             "the log dir's experiment names every model")
    check(tdoms.get("learning_rate", (None,))[0] == "interval",
          "the log dir's experiment has learning_rate's full interval: %r"
          % (tdoms.get("learning_rate"),))
    return sid


def test_conv_hparams(d):
    """A conv job's session lists no latent_dim or l1 (settings it does not use)."""
    j = d.submit({"model": "conv", "epochs": 1, "train_size": 200, "test_size": 50, "threads": 1})
    d.wait_state(j["id"], ("succeeded",))
    evf = glob.glob(os.path.join(d.logdir, "%04d-conv" % j["id"], "events.out.tfevents.*"))
    vals = session_hparams(hparams_records(evf[0]).get("session_start_info", b"")) if evf else {}
    check("learning_rate" in vals, "conv session has learning_rate: %r" % sorted(vals))
    check("latent_dim" not in vals and "l1" not in vals, "conv session lacks latent_dim, l1")


def test_asha(d):
    body = {"name": "asha", "job": dict(JOB, epochs=9),
            "parameters": {"learning_rate": {"distribution": "log_uniform", "min": 0.00005,
                                             "max": 0.05},
                           "batch_size": {"values": [32, 256]}},
            "method": "random", "max_trials": 9, "max_concurrent": 2, "seed": 7,
            "early_stopping": {"type": "asha", "min_epochs": 1, "max_epochs": 9,
                               "reduction_factor": 3}}
    r = post_sweep(d, body)
    check_eq(r.status, 201, "asha sweep created")
    sid = r.json()["id"]
    check_eq(r.json()["rungs"], [1, 3], "rungs below max_epochs")
    # Follow it live: snapshot, then trial/epoch/state events, then end.
    sse = SSE(d.port, "/api/sweeps/%d/events" % sid, timeout=120)
    seen, epochs, end = [], set(), None
    for ev, data, _ in sse.events():
        seen.append(ev)
        payload = json.loads(data)
        if ev == "snapshot":  # epochs done before the stream opened
            epochs |= {(x["trial"], x["epoch"]) for x in payload["decisions"]}
        if ev == "epoch":
            epochs.add((payload["trial"], payload["epoch"]))
            check("val_loss" in payload and "job" in payload, "epoch event fields")
        if ev == "end":
            end = payload
            break
    sse.close()
    check_eq(seen[0], "snapshot", "the stream starts with a snapshot")
    check("trial" in seen and "state" in seen, "trial and state events: %r" % sorted(set(seen)))
    check_eq(end, {"state": "succeeded"}, "the stream ends with the sweep")
    s = wait_sweep(d, sid)
    check_eq(epochs, {(x["trial"], x["epoch"]) for x in s["decisions"]},
             "an epoch event for every epoch trained")
    check_eq(s["state"], "succeeded", "asha sweep succeeded")
    check_eq(len(s["trials"]), 9, "9 trials")
    stopped = [t for t in s["trials"] if t["state"] == "stopped"]
    check(len(stopped) >= 1, "some trials stopped: %r" % [(t["state"], t["epochs"]) for t in s["trials"]])
    for t in s["trials"]:
        if t["state"] == "stopped":
            check(t["epochs"] in (1, 3), "a stopped trial stops at a rung (%r)" % t)
            check_eq(t["stopped_at"], t["epochs"], "stopped_at is the rung")
            check_eq(t["rung"], [1, 3].index(t["epochs"]), "rung index")
            j = d.get("/api/jobs/%d" % t["job"]).json()
            check_eq(j["state"], "stopped", "the job is stopped, not cancelled")
            check(j["stop_requested"] and not j["cancel_requested"], "stop, not cancel")
        else:
            check_eq((t["state"], t["epochs"]), ("succeeded", 9), "promoted trials finish")
    check_eq(s["epochs_trained"], sum(t["epochs"] for t in s["trials"]), "epochs_trained")
    check(s["epochs_trained"] < s["epochs_without_early_stopping"] == 81, "ASHA saved epochs")
    rungs, bad = asha_replay(s["decisions"], 1, 9, 3)
    check_eq(bad, [], "every decision follows the ASHA rule on the rows before it")
    check_eq(len(s["decisions"]), s["epochs_trained"], "one decision row per epoch trained")

    # Stopped trials' event files are whole; keep=final prunes them too.
    for t in stopped:
        tdir = os.path.join(d.logdir, s["run_dir"], "%04d-simple" % t["job"])
        evf = glob.glob(os.path.join(tdir, "events.out.tfevents.*"))
        size = os.path.getsize(evf[0])
        recs = read_events(evf[0])
        # read_events stops at a torn record: the parsed records cover the file.
        used = 0
        with open(evf[0], "rb") as f:
            data = f.read()
        while used + 12 <= len(data):
            (n,) = struct.unpack("<Q", data[used:used + 8])
            used += 12 + n + 4
        check_eq(used, size, "event file of trial %d is whole" % t["trial"])
        steps = [r["step"] for r in recs if "val_loss" in r["values"]]
        check_eq(steps[-1], t["epochs"], "its last val_loss is at the rung")
        check_eq(os.listdir(os.path.join(tdir, "weights")), ["epoch-%04d.aew" % t["epochs"]],
                 "its last weights only")
        check(not os.path.exists(os.path.join(tdir, "checkpoint.aeck")), "no checkpoint")
    # Same seed: the same configurations.
    r2 = post_sweep(d, dict(body, name="asha-again", max_concurrent=1,
                            early_stopping={"type": "none"}, job=dict(JOB, epochs=1)))
    s2 = wait_sweep(d, r2.json()["id"])
    check_eq([t["params"] for t in s2["trials"]], [t["params"] for t in s["trials"]],
             "the same seed draws the same trials")
    return sid


def test_keep_all(d):
    body = {"name": "keep-all", "job": dict(JOB, epochs=2), "keep": "all",
            "parameters": {"learning_rate": {"values": [0.001]}}, "method": "grid"}
    s = wait_sweep(d, post_sweep(d, body).json()["id"])
    check_eq(s["keep"], "all", "keep all")
    t = trial_dirs(d, s)[0]
    check(os.path.exists(os.path.join(t, "checkpoint.aeck")), "keep all: checkpoint kept")
    check_eq(sorted(os.listdir(os.path.join(t, "weights"))), ["epoch-0001.aew", "epoch-0002.aew"],
             "keep all: every epoch's weights")
    # A plain job with keep=final is pruned as well.
    j = d.submit(dict(JOB, epochs=2, keep="final"))
    d.wait_state(j["id"], ("succeeded",))
    jdir = os.path.join(d.logdir, "%04d-simple" % j["id"])
    check(not os.path.exists(os.path.join(jdir, "checkpoint.aeck")), "job keep=final: no checkpoint")
    check_eq(os.listdir(os.path.join(jdir, "weights")), ["epoch-0002.aew"], "job keep=final")
    check_eq(d.post("/api/jobs", dict(JOB, keep="some")).status, 400, "keep must be all or final")


def test_cancel_delete(d):
    long_job = dict(JOB, epochs=50, train_size=3000)
    body = {"name": "to-cancel", "job": long_job,
            "parameters": {"learning_rate": {"values": [0.001, 0.002, 0.003]}},
            "method": "grid", "max_concurrent": 1}
    sid = post_sweep(d, body).json()["id"]
    s = d.get("/api/sweeps/%d" % sid).json()
    d.wait_epoch(s["trials"][0]["job"], 1)
    check_eq(d.req("DELETE", "/api/sweeps/%d" % sid).status, 409, "delete a running sweep: 409")
    r = d.post("/api/sweeps/%d/cancel" % sid)
    check(r.status in (200, 202), "cancel -> %r" % r)
    check(r.json()["cancel_requested"], "cancel_requested")
    s = wait_sweep(d, sid, ("cancelled",), timeout=60)
    check_eq(s["state"], "cancelled", "cancelled sweep")
    check_eq(len(s["trials"]), 1, "no trial started after the cancel")
    check_eq(s["trials"][0]["state"], "cancelled", "its running trial was cancelled")
    r = d.post("/api/sweeps/%d/cancel" % sid)
    check_eq(r.status, 409, "cancel a finished sweep: 409")
    check_eq(r.json().get("code"), "wrong-state", "wrong-state")
    check_eq(d.post("/api/sweeps/999/cancel").status, 404, "cancel unknown sweep")

    root = os.path.join(d.logdir, s["run_dir"])
    job = s["trials"][0]["job"]
    check(os.path.isdir(root), "the sweep's directory exists")
    check_eq(d.req("DELETE", "/api/sweeps/%d?purge=maybe" % sid).status, 400, "bad purge")
    check_eq(d.req("DELETE", "/api/sweeps/%d?purge=true" % sid).status, 204, "delete + purge")
    check_eq(d.get("/api/sweeps/%d" % sid).status, 404, "sweep gone")
    check_eq(d.get("/api/jobs/%d" % job).status, 404, "its trial jobs gone")
    check(not os.path.exists(root), "its directory purged")
    check_eq(d.req("DELETE", "/api/sweeps/%d" % sid).status, 404, "delete twice: 404")


def test_delete_keeps_dir(d, sid):
    s = d.get("/api/sweeps/%d" % sid).json()
    root = os.path.join(d.logdir, s["run_dir"])
    check_eq(d.req("DELETE", "/api/sweeps/%d" % sid).status, 204, "delete without purge")
    check(os.path.isdir(root), "without purge the directory stays")
    check_eq(d.get("/api/jobs?sweep=%d" % sid).json()["total"], 0, "no trials left")


def test_bad_sweeps(d):
    ok = {"name": "bad", "job": dict(JOB, epochs=2),
          "parameters": {"learning_rate": {"values": [0.001]}}, "method": "grid"}
    cases = [
        ({"parameters": {"nope": {"values": [1]}}}, "parameters.nope"),
        ({"parameters": {"learning_rate": {"min": 0.001, "max": 1000}}, "method": "random"},
         "parameters.learning_rate"),
        ({"parameters": {"learning_rate": {"min": 0.01, "max": 0.001}}, "method": "random"},
         "parameters.learning_rate"),
        ({"parameters": {"batch_size": {"values": [8, 16, 32, 64]}}, "max_trials": 2}, None),
        ({"job": {"model": "nope"}}, "job.model"),
        ({"name": "../x"}, "name"),
        ({"method": "annealing"}, "method"),
        ({"early_stopping": {"type": "asha", "min_epochs": 5, "max_epochs": 2}}, None),
    ]
    for change, field in cases:
        body = dict(ok, **change)
        r = post_sweep(d, body)
        j = r.json() or {}
        check_eq(r.status, 400, "bad sweep %r" % change)
        check(r.header("content-type") == "application/problem+json", "problem+json")
        check(j.get("errors"), "errors listed for %r: %r" % (change, j))
        if field:
            check(any(e.get("field") == field for e in j.get("errors", [])),
                  "field %s for %r: %r" % (field, change, j.get("errors")))
    r = d.req("POST", "/api/sweeps", b"{not json", headers={"Content-Type": "application/json"})
    check_eq((r.status, (r.json() or {}).get("code")), (400, "malformed-json"), "malformed JSON")
    r = d.req("POST", "/api/sweeps", b"{}", headers={"Content-Type": "text/plain"})
    check_eq(r.status, 415, "wrong media type")
    check_eq(d.get("/api/sweeps/abc").status, 400, "bad sweep id")
    check_eq(d.get("/api/sweeps/12345").status, 404, "unknown sweep")
    check_eq(d.get("/api/sweeps?state=nope").status, 400, "bad state filter")


def test_list_and_prometheus(d):
    all_ = d.get("/api/sweeps").json()
    ids = [s["id"] for s in all_["sweeps"]]
    check_eq(ids, sorted(ids, reverse=True), "newest first")
    check_eq(all_["total"], len(ids), "total")
    done = d.get("/api/sweeps?state=succeeded").json()["sweeps"]
    check(done and all(s["state"] == "succeeded" for s in done), "state filter")
    text = d.get("/metrics").body.decode()
    check('aelab_sweeps{state="succeeded"} %d' % len(done) in text, "Prometheus: sweeps by state")
    check('aelab_jobs{state="stopped"}' in text, "Prometheus: stopped jobs")


def test_kill9(root):
    d = Daemon(root, "--workers", "2").start()
    body = {"name": "crash", "job": dict(JOB, epochs=9, train_size=4000),
            "parameters": {"learning_rate": {"distribution": "log_uniform", "min": 0.00005,
                                             "max": 0.05}},
            "method": "random", "max_trials": 6, "max_concurrent": 2, "seed": 3,
            "early_stopping": {"type": "asha", "min_epochs": 1, "max_epochs": 9,
                               "reduction_factor": 3}}
    sid = post_sweep(d, body).json()["id"]
    before = None
    t0 = time.time()
    while time.time() - t0 < 120:
        s = d.get("/api/sweeps/%d" % sid).json()
        if len(s["decisions"]) >= 3 and s["state"] == "running":
            before = s["decisions"]
            break
        time.sleep(0.05)
    check(before is not None, "decisions recorded before the kill")
    d.kill9()
    d.start()
    s = wait_sweep(d, sid, timeout=300)
    check_eq(s["state"], "succeeded", "the sweep finishes after a restart")
    check_eq(len(s["trials"]), 6, "every trial ran")
    check_eq(s["decisions"][:len(before or [])], before or [], "decisions before the kill unchanged")
    rungs, bad = asha_replay(s["decisions"], 1, 9, 3)
    check_eq(bad, [], "decisions after the restart follow the rule too")
    check(all(t["state"] in ("succeeded", "stopped") for t in s["trials"]), "all trials final")
    for t in s["trials"]:
        j = d.get("/api/jobs/%d" % t["job"]).json()
        check(j["run_dir"].endswith("/%s/%04d-simple" % (s["run_dir"], t["job"])) and
              j["sweep"] == sid and j["keep"] == "final", "trial %d reloaded as a trial" % t["trial"])
        evf = glob.glob(os.path.join(d.logdir, s["run_dir"], "%04d-simple" % t["job"],
                                     "events.out.tfevents.*"))
        steps = sorted({r["step"] for f in evf for r in read_events(f) if "val_loss" in r["values"]})
        check_eq(steps, list(range(1, t["epochs"] + 1)), "trial %d's epochs all in its run" % t["trial"])
    for t in s["trials"]:
        if t["state"] == "stopped":
            check(t["epochs"] in rungs, "stopped at a rung after restart too (%r)" % t)
    d.stop()


def test_upgrade(root):
    """A database of the schema before sweeps (v2) opens, keeps its jobs and
    takes sweeps."""
    db = os.path.join(root, "aelab.db")
    c = sqlite3.connect(db)
    c.executescript(
        "CREATE TABLE jobs(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL DEFAULT '',"
        " model TEXT NOT NULL, dataset TEXT NOT NULL, settings TEXT NOT NULL,"
        " state TEXT NOT NULL CHECK (state IN"
        "  ('queued','running','succeeded','failed','cancelled')),"
        " created_at REAL NOT NULL, started_at REAL, finished_at REAL, error TEXT,"
        " cancel_requested INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE metrics(job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
        " epoch INTEGER NOT NULL, loss REAL, val_loss REAL,"
        " PRIMARY KEY (job_id, epoch)) WITHOUT ROWID;"
        "CREATE TABLE idempotency(key TEXT PRIMARY KEY, request_sha256 TEXT NOT NULL,"
        " job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
        " created_at REAL NOT NULL);"
        "INSERT INTO jobs(name, model, dataset, settings, state, created_at, started_at,"
        " finished_at) VALUES ('old', 'simple', 'mnist', '{\"epochs\": 1}', 'succeeded',"
        " 1000, 1001, 1002);"
        "INSERT INTO metrics VALUES (1, 1, 0.5, 0.4);"
        "PRAGMA user_version = 2;")
    c.commit()
    c.close()
    d = Daemon(root).start()
    j = d.get("/api/jobs/1").json()
    check_eq((j["name"], j["state"], j["sweep"], j["keep"]), ("old", "succeeded", None, "all"),
             "the old job after the upgrade")
    check_eq([m["val_loss"] for m in j["metrics"]], [0.4], "its metrics kept")
    body = {"name": "after-upgrade", "job": dict(JOB, epochs=1),
            "parameters": {"learning_rate": {"values": [0.001]}}, "method": "grid"}
    s = wait_sweep(d, post_sweep(d, body).json()["id"])
    check_eq(s["state"], "succeeded", "a sweep on the upgraded database")
    d.stop()
    c = sqlite3.connect(db)
    sql = c.execute("SELECT sql FROM sqlite_master WHERE name='jobs'").fetchone()[0]
    check("'stopped'" in sql, "jobs accepts the state stopped")
    check(c.execute("PRAGMA user_version").fetchone()[0] > 2, "user_version moved on")
    check_eq(c.execute("PRAGMA foreign_key_check").fetchall(), [], "foreign keys intact")
    check_eq(c.execute("SELECT count(*) FROM sweep_trials").fetchone()[0], 1, "trial row stored")
    c.close()


def test_idempotency(root):
    """POST /api/sweeps with an Idempotency-Key, as POST /api/jobs: a retry
    with the same key and body (spelled differently) is the same sweep,
    trained once; another body is the jobs' 422; a malformed key is 400;
    the key is still honoured after a restart."""
    d = Daemon(root, "--workers", "2").start()
    body = {"name": "retried", "job": dict(JOB, epochs=1),
            "parameters": {"learning_rate": {"values": [0.001, 0.002]}},
            "method": "grid", "max_trials": 2}
    # The same object with other key order and spacing.
    respelled = ('{ "method" : "grid", "max_trials": 2, "parameters": {"learning_rate":'
                 ' {"values": [0.001, 0.002]}}, "job": {"threads": 1, "test_size": 100,'
                 ' "train_size": 600, "epochs": 1, "model": "simple"}, "name": "retried" }')
    other = dict(body, parameters={"learning_rate": {"values": [0.003, 0.004]}})
    key = {"Idempotency-Key": "sweep-retry-1"}
    json_ct = {"Content-Type": "application/json"}
    try:
        r1 = post_sweep(d, body, headers=key)
        check_eq(r1.status, 201, "first sweep with a key")
        sid = (r1.json() or {}).get("id")
        check_eq(r1.header("idempotent-replayed"), None, "a new sweep is no replay")
        r2 = post_sweep(d, respelled, headers=dict(key, **json_ct))
        check_eq(r2.status, 201, "the retry")
        check_eq((r2.json() or {}).get("id"), sid, "same key and body: the same sweep")
        check_eq(r2.header("idempotent-replayed"), "true", "replay header")
        check_eq(r2.header("location"), "/api/sweeps/%d" % sid, "replay's Location")
        lst = d.get("/api/sweeps").json()
        check_eq(([s["id"] for s in lst["sweeps"]], lst["total"]), ([sid], 1),
                 "one sweep after the retry")

        # Another body under the key: the error POST /api/jobs gives.
        r3 = post_sweep(d, other, headers=key)
        p3 = r3.json() or {}
        jkey = {"Idempotency-Key": "job-retry-1"}
        tiny = dict(JOB, epochs=1, train_size=100)
        rj = d.post("/api/jobs", tiny, headers=jkey)
        check_eq(rj.status, 201, "a job with a key")
        jid = (rj.json() or {}).get("id")
        rj = d.post("/api/jobs", dict(tiny, epochs=2), headers=jkey)
        pj = rj.json() or {}
        check_eq((r3.status, r3.header("content-type"), p3.get("code")),
                 (rj.status, rj.header("content-type"), pj.get("code")),
                 "same key, other body: as the jobs")
        check_eq((r3.status, p3.get("code")), (422, "idempotency-conflict"), "the conflict")
        check("sweep-retry-1" in p3.get("detail", "") and
              "different request body" in p3.get("detail", "") and
              "sweep %d" % sid in p3.get("detail", ""), "conflict detail: %r" % p3)
        check_eq(p3.get("detail"), pj.get("detail", "").replace("job-retry-1", "sweep-retry-1")
                 .replace("job %s" % jid, "sweep %d" % sid)
                 .replace("new job", "new sweep"), "the jobs' wording")

        # Malformed keys: 400 as for jobs, and nothing made.
        for bad in ("", "x" * 201, "caf\xe9"):
            r = post_sweep(d, body, headers={"Idempotency-Key": bad})
            rj = d.post("/api/jobs", tiny, headers={"Idempotency-Key": bad})
            pb = r.json() or {}
            check_eq((r.status, pb.get("code")), (400, "invalid-parameter"),
                     "bad key %r" % bad[:20])
            check_eq((r.status, pb.get("code"), pb.get("detail")),
                     (rj.status, (rj.json() or {}).get("code"), (rj.json() or {}).get("detail")),
                     "bad key %r: as the jobs" % bad[:20])
        # A key of 200 characters is fine; a job's key does not touch sweeps.
        r = post_sweep(d, dict(body, name="long-key"), headers={"Idempotency-Key": "k" * 200})
        check_eq(r.status, 201, "a 200-character key")
        long_id = (r.json() or {}).get("id")
        r = post_sweep(d, body, headers=jkey)
        check_eq(r.status, 201, "a job's key used for a sweep")
        check(r.header("idempotent-replayed") is None and (r.json() or {}).get("id") not in
              (sid, long_id), "a new sweep for a job's key")
        third = (r.json() or {}).get("id")
        check_eq(d.get("/api/sweeps").json()["total"], 3, "no sweep from the bad keys")

        s = wait_sweep(d, sid)
        check_eq(s["state"], "succeeded", "the retried sweep ran")
        jobs = d.get("/api/jobs?sweep=%d" % sid).json()
        check_eq(jobs["total"], 2, "its two trials trained once")
        wait_sweep(d, long_id)
        wait_sweep(d, third)
        d.stop()

        # Restart on the same root: the key is stored, not in memory.
        d.start()
        r4 = post_sweep(d, body, headers=key)
        check_eq((r4.status, (r4.json() or {}).get("id"), r4.header("idempotent-replayed")),
                 (201, sid, "true"), "the key after a restart")
        check_eq((r4.json() or {}).get("state"), "succeeded", "the replay shows the sweep")
        r5 = post_sweep(d, other, headers=key)
        check_eq((r5.status, (r5.json() or {}).get("code")), (422, "idempotency-conflict"),
                 "the conflict after a restart")
        check_eq(d.get("/api/sweeps").json()["total"], 3, "no new sweep after the restart")
        check_eq(d.get("/api/jobs?sweep=%d" % sid).json()["total"], 2, "nor new trials")
    finally:
        d.stop()


def test_failed_trial(root):
    """A trial that fails (its first allocation refused, through the test
    hook's X-Aelab-Test-Fault: the next job a worker takes) is final: ASHA
    goes on with the others, the failed one never becomes the best, and the
    sweep ends succeeded."""
    d = Daemon(root, "--workers", "1", env=dict(os.environ, AELABD_TEST_FAULTS="1")).start()
    try:
        body = {"name": "one-fails", "job": dict(JOB),
                "parameters": {"learning_rate": {"values": [0.001, 0.002, 0.004]}},
                "method": "grid", "max_concurrent": 1,
                "early_stopping": {"type": "asha", "min_epochs": 1, "max_epochs": 3,
                                   "reduction_factor": 3}}
        r = post_sweep(d, body, headers={"X-Aelab-Test-Fault": "job-core=1"})
        check_eq(r.status, 201, "sweep created with the next job armed")
        s = wait_sweep(d, r.json()["id"])
        check_eq(s["state"], "succeeded", "a failed trial does not end the sweep")
        states = [t["state"] for t in s["trials"]]
        check_eq(len(states), 3, "every trial was started: %r" % states)
        check_eq(states[0], "failed", "the armed (first) trial failed: %r" % states)
        check(all(x in ("succeeded", "stopped") for x in states[1:]),
              "the other trials went on: %r" % states)
        failed = d.get("/api/jobs/%d" % s["trials"][0]["job"]).json()
        check("memory" in (failed.get("error") or ""), "its error says why: %r" % failed.get("error"))
        check_eq(s["trials"][0]["epochs"], 0, "the failed trial trained no epoch")
        check(s["best"] is not None and s["best"]["trial"] != 0, "best is a trial that trained: %r"
              % s["best"])
        check(all(x["trial"] != 0 for x in s["decisions"]), "no decision for the failed trial")
        check_eq(s["epochs_trained"], sum(t["epochs"] for t in s["trials"]),
                 "epochs trained count the trials that trained")
        check_eq(asha_replay(s["decisions"], 1, 3, 3)[1], [],
                 "ASHA's decisions without it follow the rule")
    finally:
        d.stop()


def main():
    root = tmpdir("sweeps")
    try:
        for sub in ("a", "b", "c", "d", "e"):
            os.makedirs(os.path.join(root, sub))
        d = Daemon(os.path.join(root, "a"), "--workers", "2").start()
        try:
            grid = test_grid(d)
            test_conv_hparams(d)
            test_asha(d)
            test_median(d)
            test_keep_all(d)
            test_cancel_delete(d)
            test_bad_sweeps(d)
            test_list_and_prometheus(d)
            test_delete_keeps_dir(d, grid)
        finally:
            d.stop()
        test_kill9(os.path.join(root, "b"))
        test_upgrade(os.path.join(root, "c"))
        test_idempotency(os.path.join(root, "d"))
        test_failed_trial(os.path.join(root, "e"))
    finally:
        cleanup(root)
    return summary("test_sweeps")


if __name__ == "__main__":
    sys.exit(main())
