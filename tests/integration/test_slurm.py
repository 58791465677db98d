#!/usr/bin/env python3
"""aelabd --executor slurm against a real private two-node Slurm cluster
(tests/support/slurm_cluster.py): jobs of every model run as Slurm batch
jobs spread over node1 and node2 and end with exactly the losses of the
same specs on the local executor, with the same TensorBoard records; epochs
reach the SSE stream live while the Slurm job runs; cancel of a pending and
of a running Slurm job; a sweep's stopped trial is scancelled and ends
"stopped"; kill -9 of aelabd (re-attach, nothing resubmitted or lost); an
sbatch whose answer comes past aelabd's deadline (the Slurm job it made is
followed, none is submitted twice); the
controller stopped (jobs wait, health says so); an unknown partition and a
missing sbatch are clear errors, never a hang.  Skips (77) when not root or Slurm is not installed.

Helpers for more Slurm tests (requeue, node failure, kill -9 of aelabd,
controller down) are at the top: slurm_daemon(), local_daemon(),
job_losses(), run_records(), slurm_node_of(), wait_slurm_state(); wait_for()
is tests/support/slurm_cluster.py's.
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from aelabd_harness import (AELAB_CLI, SSE, Daemon, check, check_eq, cleanup,  # noqa: E402
                            summary, tmpdir)
from slurm_cluster import NODES, SlurmCluster, slurm_missing, wait_for  # noqa: E402

MODELS = ("simple", "sparse", "deep", "conv", "denoise", "vae")
FINAL = ("succeeded", "failed", "cancelled", "stopped")
# threads=2 makes every job ask Slurm for a whole node (CPUs=2 each), so two
# jobs at once land on different nodes.
SPEC = {"epochs": 2, "train_size": 600, "test_size": 200, "threads": 2, "seed": 11}
# Long enough to be caught running, cancelled or requeued.
LONG = {"model": "simple", "epochs": 400, "train_size": 3000, "test_size": 200, "threads": 2,
        "batch_size": 50}


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def slurm_daemon(c, root, *extra):
    """aelabd --executor slurm on cluster c (its SLURM_CONF in the env)."""
    return Daemon(root, "--executor", "slurm", *extra, env=c.env).start()


def local_daemon(root, *extra):
    return Daemon(root, "--workers", "1", *extra).start()


def job(d, jid):
    return d.get("/api/jobs/%d" % jid).json()


def job_losses(j):
    """[(epoch, loss, val_loss)] of a job's JSON (exact floats)."""
    return [(m["epoch"], m["loss"], m["val_loss"]) for m in j.get("metrics") or []]


def slurm_node_of(c, slurm_id):
    """NodeList of a Slurm job per `scontrol show job`, "" if unknown."""
    try:
        return c.scontrol_show_job(slurm_id).get("NodeList", "")
    except Exception:  # noqa: BLE001 - controller down: unknown
        return ""


def wait_slurm_state(c, slurm_id, states, timeout=30):
    """Wait until squeue says one of states (None = forgotten)."""
    return wait_for(lambda: c.squeue_state(slurm_id) in states, timeout, 0.2)


def run_records(run_dir):
    """Every record of the run's event files read back by `aelab events
    --json`, without what differs between two runs of one spec: wall
    times, offsets/lengths and the epoch_seconds values."""
    out = []
    for name in sorted(os.listdir(run_dir)):
        if not name.startswith("events.out.tfevents."):
            continue
        r = subprocess.run([AELAB_CLI, "events", os.path.join(run_dir, name), "--json"],
                           capture_output=True, text=True, timeout=60)
        check_eq(r.returncode, 0, "aelab events %s: %s" % (name, r.stderr[-300:]))
        for line in r.stdout.splitlines():
            rec = json.loads(line)
            for k in ("wall_time", "offset", "length"):
                rec.pop(k, None)
            if "seconds" in str(rec.get("tag", "")):
                rec.pop("value", None)
                rec.pop("values", None)
            out.append(rec)
    return out


def run_specs(d, specs):
    return [d.submit(s)["id"] for s in specs]


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------

def unix_time(iso):
    """The API's "2026-12-03T15:10:52.123Z" as Unix seconds."""
    return datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def node_times(run_dir):
    """(first start line's time, last end line's time) of progress.jsonl:
    when the node says the job started and ended, by its own clock."""
    start = end = None
    with open(os.path.join(run_dir, "progress.jsonl")) as f:
        for line in f:
            o = json.loads(line)
            if o["event"] == "start" and start is None:
                start = o["time"]
            elif o["event"] == "end":
                end = o["time"]
    return start, end


def test_models(c):
    """Every model through Slurm: spread over node1 and node2, the same
    losses and event records as the local executor."""
    specs = [dict(SPEC, model=m) for m in MODELS]
    lroot, sroot = tmpdir("slurm-local"), tmpdir("slurm-models")
    try:
        ld = local_daemon(lroot)
        lids = run_specs(ld, specs)
        local = {i: ld.wait_state(i, FINAL, timeout=300) for i in lids}
        ld.stop()

        d = slurm_daemon(c, sroot)
        ids = run_specs(d, specs)
        seen = {}  # job id -> (job JSON node, scontrol NodeList) while it ran
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            js = {i: job(d, i) for i in ids}
            for i, j in js.items():
                if i not in seen and j["state"] == "running" and j["node"]:
                    seen[i] = (j["node"], slurm_node_of(c, j["slurm_job_id"]))
            if all(j["state"] in FINAL for j in js.values()):
                break
            time.sleep(0.05)
        for lid, i in zip(lids, ids):
            j, lj = js[i], local[lid]
            check_eq(j["state"], "succeeded", "slurm job %d (%s): %r" % (i, j["model"],
                                                                       j.get("error")))
            check_eq(lj["state"], "succeeded", "local job %d" % lid)
            check_eq(j["executor"], "slurm", "job %d executor" % i)
            check_eq(lj["executor"], "local", "local job executor")
            check(lj["slurm_job_id"] is None and lj["node"] is None, "local job: no Slurm fields")
            check(j["slurm_job_id"] and j["slurm_job_id"].isdigit(),
                  "job %d slurm_job_id %r" % (i, j["slurm_job_id"]))
            check(j["node"] in NODES, "job %d node %r" % (i, j["node"]))
            if i in seen:
                check_eq(seen[i][1], seen[i][0], "job %d: scontrol's NodeList = the job's node" % i)
            check_eq(len(job_losses(j)), SPEC["epochs"], "job %d every epoch" % i)
            check_eq(job_losses(j), job_losses(lj),
                     "%s: Slurm losses = local losses" % j["model"])
            check_eq(run_records(j["run_dir"]), run_records(lj["run_dir"]),
                     "%s: the run directory's event records = the local job's" % j["model"])
            check(os.path.exists(os.path.join(j["run_dir"], "slurm-%s.out" % j["slurm_job_id"])),
                  "job %d: Slurm's output is in the run directory" % i)
            # Dated by the node's clock, not by when aelabd read the lines
            # (the API gives milliseconds, truncated).
            start, end = node_times(j["run_dir"])
            check(start is not None and 0 <= start - unix_time(j["started_at"]) < 0.0015,
                  "job %d: started_at %s is the node's start line (%r)" % (i, j["started_at"],
                                                                           start))
            check(end is not None and 0 <= end - unix_time(j["finished_at"]) < 0.0015,
                  "job %d: finished_at %s is the node's end line (%r)" % (i, j["finished_at"],
                                                                          end))
        check(len(seen) >= 2, "caught jobs running: %r" % seen)
        check_eq(sorted(set(n for n, _ in seen.values())), list(NODES),
                 "jobs spread over both nodes: %r" % seen)
        m = d.get("/metrics").body.decode()
        check("aelab_slurm_controller_up 1" in m, "metrics: controller up")
        check('aelab_slurm_submitted_total %d' % len(MODELS) in m, "metrics: submissions")
        h = d.get("/api/health").json()
        check_eq((h["executor"], h["slurm"]), ("slurm", "up"), "health names the executor")
        d.stop()
    finally:
        cleanup(lroot)
        cleanup(sroot)


def test_live_sse(c, d):
    """Epochs reach a job's SSE stream within 2 s of the node writing them,
    while the Slurm job still runs."""
    jid = d.submit(dict(SPEC, model="simple", epochs=6, train_size=4000, batch_size=50))["id"]
    events = []

    def collect():
        s = SSE(d.port, "/api/jobs/%d/events" % jid, timeout=120)
        for ev, data, _ in s.events():
            events.append((time.time(), ev, json.loads(data)))
            if ev == "end":
                break
        s.close()

    t = threading.Thread(target=collect)
    t.start()
    j = d.wait_state(jid, FINAL, timeout=180)
    t.join(timeout=60)
    check_eq(j["state"], "succeeded", "live job: %r" % j.get("error"))
    epochs = [(at, e["epoch"]) for at, ev, e in events if ev == "epoch"]
    states = [(at, e["state"]) for at, ev, e in events if ev == "state"]
    done_at = next((at for at, s in states if s == "succeeded"), None)
    check(done_at is not None, "the stream saw succeeded")
    before = [ep for at, ep in epochs if done_at and at < done_at]
    check(len(before) >= 3, "epochs arrived while the job ran: %r" % before)
    check(any(ev == "progress" for _, ev, _ in events), "batch progress arrived")
    written = {}
    with open(os.path.join(j["run_dir"], "progress.jsonl")) as f:
        for line in f:
            o = json.loads(line)
            if o["event"] == "epoch":
                written[o["epoch"]] = o["time"]
    lags = [at - written[ep] for at, ep in epochs if ep in written]
    check(lags and max(lags) < 2.0, "epoch lag node -> SSE under 2 s: %r" % lags)


def test_cancel(c, d):
    """Cancel a pending and a running Slurm job."""
    a = d.submit(LONG)["id"]
    b = d.submit(LONG)["id"]
    check(wait_for(lambda: all(job(d, x)["state"] == "running" for x in (a, b)), 60),
          "two long jobs running (one per node)")
    p = d.submit(dict(LONG, epochs=3))["id"]
    pj = wait_for(lambda: job(d, p)["slurm_job_id"] and job(d, p), 30)
    check(pj and pj["state"] == "queued", "third job submitted, waiting: %r" % pj)
    sid = pj["slurm_job_id"] if pj else "0"
    check(wait_slurm_state(c, sid, ("PENDING",), 10), "Slurm has it PENDING")
    r = d.post("/api/jobs/%d/cancel" % p)
    check_eq(r.status, 200, "cancel of a pending Slurm job answers 200")
    check_eq(job(d, p)["state"], "cancelled", "pending job cancelled")
    check(wait_slurm_state(c, sid, ("CANCELLED", None), 15),
          "the pending Slurm job is scancelled: %r" % c.squeue_state(sid))

    ja = job(d, a)
    r = d.post("/api/jobs/%d/cancel" % a)
    check_eq(r.status, 202, "cancel of a running Slurm job answers 202")
    t0 = time.monotonic()
    ja2 = d.wait_state(a, FINAL, timeout=30)
    check_eq(ja2["state"], "cancelled", "running job cancelled: %r" % ja2.get("error"))
    check(time.monotonic() - t0 < 15, "cancelled within seconds")
    check(os.path.exists(os.path.join(ja["run_dir"], "checkpoint.aeck")), "checkpoint kept")
    check(wait_slurm_state(c, ja["slurm_job_id"], ("CANCELLED", "COMPLETED", None), 15),
          "the Slurm job is gone")
    with open(os.path.join(ja["run_dir"], "progress.jsonl")) as f:
        ends = [json.loads(x) for x in f if '"end"' in x]
    check(ends and ends[-1]["status"] == "suspended", "aelab checkpointed on SIGTERM: %r" % ends)
    d.post("/api/jobs/%d/cancel" % b)
    check_eq(d.wait_state(b, FINAL, timeout=30)["state"], "cancelled", "second cancelled")


def test_restart(c, d):
    """kill -9 of aelabd while Slurm jobs run and one is pending, right after
    a cancel of a running one (202) and of the pending one (200): the jobs
    go on in Slurm; after the restart aelabd re-attaches by their Slurm ids
    (nothing is resubmitted), records every epoch, also those that finished
    while it was down, and the cancels stand: the running one ends
    cancelled, the pending one is scancelled."""
    spec = dict(LONG, epochs=6, train_size=2000)
    a = d.submit(dict(LONG, epochs=400))["id"]  # to cancel while running
    b = d.submit(spec)["id"]                      # runs through the restart
    p = d.submit(dict(LONG, epochs=400))["id"]  # pending behind them
    # Held in Slurm as soon as it is there, so it is still pending at its
    # cancel however soon b ends and frees a node.
    sid_p = wait_for(lambda: job(d, p)["slurm_job_id"], 60)
    check(sid_p, "p handed to Slurm")
    r = c.run(["scontrol", "hold", sid_p or "0"])
    check_eq(r.returncode, 0, "scontrol hold p: %s" % (r.stderr or r.stdout).strip())
    check(wait_for(lambda: job(d, b)["epoch"] >= 1 and job(d, a)["state"] == "running", 60),
          "a and b running")
    before = {x: job(d, x) for x in (a, b, p)}
    check_eq(d.post("/api/jobs/%d/cancel" % a).status, 202, "cancel running a")
    check_eq(d.post("/api/jobs/%d/cancel" % p).status, 200, "cancel pending p")
    d.kill9()
    time.sleep(3)  # epochs go on without aelabd
    d.start()
    for x in (a, b, p):
        check_eq(job(d, x)["slurm_job_id"], before[x]["slurm_job_id"],
                 "job %d keeps its Slurm id" % x)
    check("re-attached to its Slurm job" in d.log_text(), "the restart logs the re-attach")
    ja = d.wait_state(a, FINAL, timeout=60)
    check_eq(ja["state"], "cancelled", "a's cancel survived the kill: %r" % ja.get("error"))
    check(os.path.exists(os.path.join(ja["run_dir"], "checkpoint.aeck")), "a's checkpoint kept")
    check_eq(job(d, p)["state"], "cancelled", "p stays cancelled")
    check(wait_slurm_state(c, before[p]["slurm_job_id"], ("CANCELLED", None), 20),
          "p's Slurm job is scancelled: %r" % c.squeue_state(before[p]["slurm_job_id"]))
    jb = d.wait_state(b, FINAL, timeout=120)
    check_eq(jb["state"], "succeeded", "b after the restart: %r" % jb["error"])
    check_eq([m["epoch"] for m in jb["metrics"]], list(range(1, 7)), "b: every epoch recorded")
    m = d.get("/metrics").body.decode()
    check("aelab_slurm_submitted_total 0" in m, "nothing was submitted again after the restart")
    ref = d.wait_state(d.submit(spec)["id"], FINAL, timeout=120)
    check_eq(job_losses(jb), job_losses(ref),
             "b's losses = an uninterrupted run's, epoch by epoch")


def test_controller_down(c, d):
    """With slurmctld stopped a new job waits in aelabd's queue and
    /api/health says the controller is unreachable; once it is back the job
    is handed over and finishes."""
    c.stop_controller()
    try:
        jid = d.submit(dict(SPEC, model="simple"))["id"]
        h = wait_for(lambda: d.get("/api/health").json()["slurm"] == "unreachable" and
                     d.get("/api/health").json(), 40, 0.5)
        check(h and h["slurm"] == "unreachable", "health says unreachable: %r" % h)
        j = job(d, jid)
        check_eq((j["state"], j["slurm_job_id"]), ("queued", None), "the job waits, not lost")
        check(h and h["slurm_last_error"], "health gives Slurm's message")
    finally:
        c.start_controller()
    j = d.wait_state(jid, FINAL, timeout=120)
    check_eq(j["state"], "succeeded", "handed over once the controller is back: %r" % j["error"])
    check_eq(d.get("/api/health").json()["slurm"], "up", "health says up again")


def test_sweep(c, d):
    """A sweep's trials run through the Slurm executor like any job; a trial
    its rule stops is scancelled and ends "stopped" (not cancelled) with
    fewer epochs than asked.  The stop reaches a remote job a moment after
    the decision, so it may train a few epochs past its rung."""
    body = {"name": "on-slurm",
            "job": {"model": "simple", "epochs": 80, "train_size": 2000, "test_size": 100,
                    "threads": 2, "batch_size": 32},
            "parameters": {"learning_rate": {"values": [0.01, 0.00001, 0.000003, 0.000001]}},
            "method": "grid", "max_concurrent": 2,
            "early_stopping": {"type": "asha", "min_epochs": 1, "max_epochs": 80,
                               "reduction_factor": 3}}
    r = d.post("/api/sweeps", body)
    check_eq(r.status, 201, "sweep created: %r" % r)
    sid = r.json()["id"]
    sw = wait_for(lambda: d.get("/api/sweeps/%d" % sid).json()["state"] != "running" and
                  d.get("/api/sweeps/%d" % sid).json(), 300, 0.5)
    check(sw and sw["state"] == "succeeded", "sweep finished: %r" % (sw and sw["state"]))
    trials = sw["trials"] if sw else []
    stopped = [t for t in trials if t["state"] == "stopped"]
    check(stopped, "a trial was stopped: %r" % [(t["state"], t["epochs"]) for t in trials])
    for t in trials:
        j = job(d, t["job"])
        check_eq(j["executor"], "slurm", "trial %d ran through Slurm" % t["trial"])
        check(j["slurm_job_id"] and j["node"] in NODES, "trial %d placed: %r" % (t["trial"], j))
        if t["state"] == "stopped":
            check_eq(j["state"], "stopped", "the stopped trial's job is stopped")
            check(j["stop_requested"] and not j["cancel_requested"], "stop, not cancel")
            check(j["epoch"] < 80, "stopped early: %d epochs" % j["epoch"])
            check(wait_slurm_state(c, j["slurm_job_id"], ("CANCELLED", "COMPLETED", None), 15),
                  "its Slurm job is gone")
        else:
            check_eq((j["state"], j["epoch"]), ("succeeded", 80), "a promoted trial finishes")


# aelabd's deadline for sbatch (SBATCH_TIMEOUT in server/srv_slurm_submit.c).
SBATCH_DEADLINE = 15
# The first sbatch through the shim: the real sbatch with a begin time (the
# cluster forgets a finished job MinJobAge=5 s after its end, so a tiny job
# must still be pending when aelabd asks), then silence past the deadline.
LOST_SBATCH_SHIM = """#!/bin/sh
dir='%(dir)s'
n=$(cat "$dir/calls" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$dir/calls"
if [ "$n" != 1 ]; then exec '%(real)s' "$@"; fi
out=$('%(real)s' --begin=now+%(begin)d "$@") || exit $?
printf '%%s\\n' "$out" > "$dir/first"
sleep %(sleep)d
printf '%%s\\n' "$out"
"""


def lost_sbatch_env(c, shim_dir):
    """c.env with PATH starting at a dir whose sbatch accepts the first job
    but answers only after aelabd's deadline."""
    real = shutil.which("sbatch", path=c.env.get("PATH"))
    check(real, "the real sbatch is on the PATH")
    path = os.path.join(shim_dir, "sbatch")
    with open(path, "w") as f:
        f.write(LOST_SBATCH_SHIM % {"dir": shim_dir, "real": real, "begin": SBATCH_DEADLINE + 10,
                                    "sleep": SBATCH_DEADLINE + 3})
    os.chmod(path, 0o755)
    return dict(c.env, PATH=shim_dir + os.pathsep + c.env.get("PATH", ""))


def slurm_jobs_named(c, name, run_dir):
    """Ids of the Slurm jobs (any state) of this name working in run_dir."""
    r = c.run(["squeue", "-h", "-t", "all", "-n", name, "-o", "%i|%Z"])
    check_eq(r.returncode, 0, "squeue: %s" % r.stderr[-300:])
    return [line.split("|", 1)[0] for line in r.stdout.splitlines()
            if line.split("|", 1)[-1] == run_dir]


def test_lost_sbatch(c):
    """sbatch accepted by the controller but its answer lost (it ran past
    aelabd's deadline): before trying again aelabd finds the Slurm job by
    squeue and follows it; no second Slurm job is made, and the job ends
    with the losses of the same spec on the local executor."""
    spec = dict(SPEC, model="simple", epochs=1, train_size=300, test_size=100)
    lroot, root, shim = tmpdir("slurm-lost-local"), tmpdir("slurm-lost"), tmpdir("slurm-shim")
    try:
        ld = local_daemon(lroot)
        lj = ld.wait_state(ld.submit(spec)["id"], FINAL, timeout=120)
        ld.stop()
        check_eq(lj["state"], "succeeded", "local reference: %r" % lj.get("error"))

        d = Daemon(root, "--executor", "slurm", env=lost_sbatch_env(c, shim)).start()
        jid = d.submit(spec)["id"]
        adopt = 'msg="Slurm had taken the job though sbatch\'s answer was lost; following it"'
        check(wait_for(lambda: adopt in d.log_text(), SBATCH_DEADLINE + 30, 0.2),
              "the log says the lost sbatch's job is followed:\n%s" % d.log_text()[-2000:])
        j = job(d, jid)
        with open(os.path.join(shim, "first")) as f:
            first = f.read().strip().split(";")[0]
        check_eq(j["slurm_job_id"], first, "the job keeps the Slurm id of the lost sbatch")
        check_eq(slurm_jobs_named(c, "aelab-%d" % jid, j["run_dir"]), [first],
                 "one Slurm job of this name in the run directory")
        j = d.wait_state(jid, FINAL, timeout=120)
        check_eq(j["state"], "succeeded", "the adopted job: %r" % j.get("error"))
        check_eq(job_losses(j), job_losses(lj), "adopted job's losses = the local run's")
        check_eq(len(job_losses(j)), spec["epochs"], "every epoch recorded")
        with open(os.path.join(shim, "calls")) as f:
            check_eq(f.read().strip(), "1", "sbatch ran once")
        log = d.log_text()
        check_eq(log.count(adopt), 1, "one adopt line")
        check('msg="sbatch failed; retrying"' in log, "the lost answer was logged as a failure")
        check('msg="submitted to Slurm"' not in log, "nothing submitted a second time")
        m = d.get("/metrics").body.decode()
        check("aelab_slurm_submitted_total 1\n" in m, "metrics: one submission")
        d.stop()
    finally:
        cleanup(lroot)
        cleanup(root)
        cleanup(shim)


def test_refusals(c):
    """Unknown partition: aelabd refuses to start naming it; a job whose
    sbatch options name one fails with Slurm's message; no sbatch on the
    PATH: refuses to start."""
    root = tmpdir("slurm-refuse")
    try:
        d = Daemon(root, "--executor", "slurm", "--slurm-partition", "nosuchpart", env=c.env)
        t0 = time.monotonic()
        try:
            d.start()
            err = ""
            d.stop()
        except RuntimeError as e:
            err = str(e)
        check("--slurm-partition nosuchpart" in err and "debug" in err,
              "unknown partition refused, named, with the real ones: %r" % err[-400:])
        check(time.monotonic() - t0 < 15, "refused at once")

        d = slurm_daemon(c, root, "--slurm-sbatch-args", "--partition=nosuchpart")
        jid = d.submit(dict(SPEC, model="simple"))["id"]
        j = d.wait_state(jid, FINAL, timeout=30)
        check_eq(j["state"], "failed", "job with an unknown partition fails")
        check("invalid partition" in (j["error"] or "").lower(),
              "with Slurm's own message: %r" % j["error"])
        last = d.get("/api/health").json()["slurm_last_error"] or ""
        check("invalid partition" in last.lower(), "health shows the last Slurm error")
        d.stop()

        env = dict(c.env, PATH="/nonexistent")
        d = Daemon(root, "--executor", "slurm", env=env)
        try:
            d.start()
            err = ""
            d.stop()
        except RuntimeError as e:
            err = str(e)
        check("sbatch is not on the PATH" in err, "no sbatch: refused: %r" % err[-300:])
    finally:
        cleanup(root)


def main():
    why = slurm_missing()
    if why:
        print("SKIP: " + why)
        return 77
    only = set(sys.argv[1:])  # test names to run (default: all)

    def want(f):
        return not only or f.__name__ in only

    with SlurmCluster() as c:
        for f in (test_refusals, test_lost_sbatch, test_models):
            if want(f):
                f(c)
        for f in (test_live_sse, test_cancel, test_sweep, test_restart, test_controller_down):
            if not want(f):
                continue
            root = tmpdir("slurm-jobs")
            try:
                d = slurm_daemon(c, root)
                f(c, d)
                d.stop()
            finally:
                cleanup(root)
    return summary("test_slurm")


if __name__ == "__main__":
    sys.exit(main())
