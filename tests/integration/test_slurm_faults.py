#!/usr/bin/env python3
"""aelabd's Slurm executor under faults, on a real two-node Slurm cluster of
this host (tests/support/slurm_cluster.py):

- `scontrol requeue` of a running job: it resumes from its checkpoint and
  ends with exactly the losses of the same spec on the local executor;
- kill -9 of aelabd while Slurm jobs are pending and running and two jobs
  wait in aelabd's own queue (the controller is down then, so they cannot
  have been handed over); restart on the same db and log dir: re-attached
  by Slurm job id (the id unchanged, one sbatch per job, squeue shows one
  aelab-<id> per job), the job that finished while aelabd was down is
  recorded with every epoch, no epoch lost, the queued jobs submitted in
  their order, every loss right;
- a node failure (fail_node: slurmd, slurmstepd and the job's processes
  SIGKILLed, a machine that died): the job is requeued on the other node
  and ends with the right losses;
- the controller stopped: a job submitted meanwhile waits queued in aelabd,
  /api/health says the controller is unreachable, the API answers fast;
  once the controller is back the job is handed over and succeeds;
- an unknown --slurm-partition at start-up: aelabd refuses to start and
  names it.

Skips (77) when not root or Slurm is not installed."""
import os
import re
import sqlite3
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from aelabd_harness import (AELAB_CLI, Daemon, check, check_eq, cleanup,  # noqa: E402
                            read_events, summary, tmpdir)
from slurm_cluster import (NODES, ClusterError, SlurmCluster, slurm_missing,  # noqa: E402
                           wait_for)

# Long enough (~10 s in a release build) to be caught between epochs; conv is
# the slow model.  $AELAB_SLURM_SCALE shrinks its training set: meson sets 0.1
# under ThreadSanitizer, where a conv epoch of 24,000 images takes ~65 s
# instead of ~1.5 s, so the epochs stay a few seconds long there too.
_scale = float(os.environ.get("AELAB_SLURM_SCALE", "1"))
LONG = {"model": "conv", "epochs": 6, "train_size": max(1000, int(24000 * _scale) // 100 * 100),
        "test_size": 300, "batch_size": 100, "threads": 1, "seed": 11}
SHORT = {"model": "simple", "epochs": 2, "train_size": 3000, "test_size": 300,
         "batch_size": 100, "threads": 1, "seed": 5}
FINAL = ("succeeded", "failed", "cancelled")
# test_restart's jobs: j1 and j2 take a whole node each (2 CPUs), j3 waits
# for one in Slurm, j4 and j5 wait in aelabd; j1 ends while aelabd is down.
RESTART = [("j1", dict(LONG, threads=2, epochs=5)), ("j2", dict(LONG, threads=2, epochs=9)),
           ("j3", dict(SHORT, threads=2)), ("j4", SHORT), ("j5", SHORT)]
T0 = time.monotonic()


def note(what, secs):
    print("timing: %-48s %6.2f s" % (what, secs), flush=True)


def losses(j):
    return [(m["epoch"], m["loss"], m["val_loss"]) for m in (j or {}).get("metrics", [])]


def slurm_daemon(c, root, *extra):
    return Daemon(root, "--executor", "slurm", "--slurm-partition", "debug",
                  "--slurm-aelab", AELAB_CLI, *extra, env=c.env)


def job(d, jid):
    return d.get("/api/jobs/%d" % jid).json() or {}


def progress_lines(j):
    """The events of the job's progress file, as aelab wrote them."""
    import json
    out = []
    try:
        with open(os.path.join(j["run_dir"], "progress.jsonl")) as f:
            for ln in f:
                if ln.endswith("\n"):
                    out.append(json.loads(ln))
    except (OSError, KeyError, ValueError):
        pass
    return out


def event_files(run_dir):
    return sorted(f for f in os.listdir(run_dir) if "tfevents" in f)


def tb_losses_once(run_dir, epochs):
    """TensorBoard's view of the run (a SessionLog START at step s drops the
    earlier files' steps >= s): every epoch's loss exactly once, in order."""
    files = sorted(event_files(run_dir), key=lambda f: os.path.getmtime(os.path.join(run_dir, f)))
    shown = []
    for f in files:
        for r in read_events(os.path.join(run_dir, f)):
            if r.get("session_log") == 1:
                shown = [s for s in shown if s < r["step"]]
            elif "loss" in r["values"]:
                shown.append(r["step"])
    check_eq(shown, list(range(1, epochs + 1)), "TensorBoard sees each epoch once in %s" % run_dir)


def wait_running_after(d, jid, epoch, timeout=120):
    """Wait until the job runs with at least `epoch` epochs done and more to go."""
    def ok():
        j = job(d, jid)
        if j.get("state") in FINAL:
            return "final"
        return j if j.get("state") == "running" and j.get("epoch", 0) >= epoch else None
    j = wait_for(ok, timeout, 0.05)
    if j == "final" or not j:
        check(False, "job %d running past epoch %d (it is %r)" % (jid, epoch, job(d, jid).get("state")))
        return None
    check(j["epoch"] < j["epochs"], "job %d caught before its last epoch" % jid)
    return j


def references(specs):
    """Final losses of each spec on the local executor (2 workers)."""
    root = tmpdir("slurmref")
    out = {}
    try:
        d = Daemon(root, "--workers", "2").start()
        ids = {name: d.submit(spec)["id"] for name, spec in specs.items()}
        for name, jid in ids.items():
            j = d.wait_state(jid, FINAL, timeout=300)
            check_eq(j.get("state"), "succeeded", "local reference %s" % name)
            out[name] = losses(j)
        d.stop()
    finally:
        cleanup(root)
    return out


def submitted_lines(d, jid):
    return len(re.findall(r'job=%d msg="submitted to Slurm"' % jid, d.log_text()))


def squeue_ids_named(c, name):
    r = c.run(["squeue", "-h", "-t", "all", "-n", name, "-o", "%i"])
    return sorted(r.stdout.split()) if r.returncode == 0 else None


# ---------------------------------------------------------------------------

def test_requeue(c, ref):
    root = tmpdir("slurmrq")
    try:
        d = slurm_daemon(c, root).start()
        jid = d.submit(LONG)["id"]
        j = wait_running_after(d, jid, 2)
        if not j:
            return
        sid = j["slurm_job_id"]
        check(sid, "slurm_job_id set while running")
        t = time.monotonic()
        r = c.run(["scontrol", "requeue", sid])
        check_eq(r.returncode, 0, "scontrol requeue %s: %s" % (sid, r.stderr))
        states, epochs = [], []

        def watch():
            x = job(d, jid)
            if not states or states[-1] != x.get("state"):
                states.append(x.get("state"))
            epochs.append(x.get("epoch", 0))
            return x.get("state") in FINAL
        wait_for(watch, 180, 0.1)
        note("requeue -> succeeded", time.monotonic() - t)
        print("requeue: states seen %s" % states)
        j = job(d, jid)
        check_eq(j.get("state"), "succeeded", "requeued job finished: %r" % j.get("error"))
        check_eq(losses(j), ref["long"], "requeued run has the local executor's losses")
        check_eq(j.get("slurm_job_id"), sid, "same Slurm job after the requeue")
        check(all(a <= b for a, b in zip(epochs, epochs[1:])), "epoch count never went back")
        check(not set(states) - {"running", "queued", "succeeded"},
              "no other state on the way: %r" % states)
        ev = event_files(j["run_dir"])
        check_eq(len(ev), 2, "a new event file for the resumed run: %r" % ev)
        tb_losses_once(j["run_dir"], LONG["epochs"])
        starts = [p for p in progress_lines(j) if p["event"] == "start"]
        check_eq([p.get("restart") for p in starts], [0, 1], "the progress file's two runs")
        check(len(starts) == 2 and starts[1]["start_epoch"] >= 2, "second run resumed from a checkpoint")
        d.stop()
    finally:
        cleanup(root)


def test_node_failure(c, ref):
    root = tmpdir("slurmnf")
    first = None
    try:
        d = slurm_daemon(c, root).start()
        jid = d.submit(LONG)["id"]
        j = wait_running_after(d, jid, 2)
        if not j:
            return
        first = j.get("node")
        check(first in NODES, "running on a node: %r" % first)
        if first not in NODES:
            return
        t = time.monotonic()
        killed = c.fail_node(first)
        print("node failure: %s died, pids %s" % (first, killed))
        j = d.wait_state(jid, FINAL, timeout=240)
        note("node death -> succeeded elsewhere", time.monotonic() - t)
        check_eq(j.get("state"), "succeeded", "job after the node failure: %r" % j.get("error"))
        check_eq(losses(j), ref["long"], "losses after the node failure")
        check_eq(j.get("node"), NODES[1 - NODES.index(first)], "finished on the other node")
        check_eq(len(event_files(j["run_dir"])), 2, "a new event file after the failure")
        tb_losses_once(j["run_dir"], LONG["epochs"])
        starts = [p for p in progress_lines(j) if p["event"] == "start"]
        check_eq([p.get("node") for p in starts], [first, j.get("node")], "runs by node")
        d.stop()
    finally:
        if first in NODES:
            c.restart_slurmd(first)
        cleanup(root)


def test_restart(c, ref):
    """kill -9 aelabd with J1, J2 running (a whole node each; J1 suspended
    in Slurm), J3 pending in Slurm and J4, J5 queued in aelabd (the
    controller down); J1 is resumed and finishes while aelabd is down."""
    root = tmpdir("slurmre")
    specs = RESTART
    try:
        d = slurm_daemon(c, root).start()
        ids = {}
        for name, spec in specs[:3]:
            ids[name] = d.submit(dict(spec, name=name))["id"]
        ok = wait_for(lambda: all(job(d, ids[n]).get("state") == "running" for n in ("j1", "j2"))
                      and job(d, ids["j3"]).get("slurm_job_id"), 60, 0.1)
        check(ok, "j1, j2 running and j3 handed to Slurm")
        j1 = wait_running_after(d, ids["j1"], 1)
        check(j1 and job(d, ids["j3"]).get("state") == "queued", "j3 pending in Slurm")
        check_eq(c.squeue_state(job(d, ids["j3"]).get("slurm_job_id")), "PENDING", "j3 in squeue")
        # j1 is suspended (SIGSTOP on the node) until aelabd is dead, so it
        # is still running at the kill however fast the machine trains, and
        # it ends while aelabd is down.
        j1_sid = job(d, ids["j1"]).get("slurm_job_id")
        r = c.run(["scontrol", "suspend", j1_sid])
        check_eq(r.returncode, 0, "scontrol suspend j1: %s" % (r.stderr or r.stdout).strip())
        c.stop_controller()
        for name, spec in specs[3:]:
            ids[name] = d.submit(dict(spec, name=name))["id"]
        time.sleep(1.5)
        before = {n: job(d, ids[n]) for n in ids}
        for n in ("j4", "j5"):
            check_eq((before[n].get("state"), before[n].get("slurm_job_id")), ("queued", None),
                     "%s waits in aelabd's queue" % n)
        sids = {n: before[n].get("slurm_job_id") for n in ("j1", "j2", "j3")}
        check_eq(before["j1"].get("state"), "running", "j1 still running at the kill")
        d.kill9()
        t = time.monotonic()
        c.start_controller()
        r = c.run(["scontrol", "resume", j1_sid])
        check_eq(r.returncode, 0, "scontrol resume j1: %s" % (r.stderr or r.stdout).strip())
        # J1 ends while aelabd is down: its progress file says so.
        done = wait_for(lambda: any(p["event"] == "end" for p in progress_lines(before["j1"])), 120, 0.2)
        check(done, "j1 finished while aelabd was down")
        in_file = max([p["epoch"] for p in progress_lines(before["j2"]) if p["event"] == "epoch"] or [0])
        note("aelabd down", time.monotonic() - t)
        print("restart: j2 had %d epochs in the API at the kill, %d in its file at the restart"
              % (before["j2"].get("epoch", 0), in_file))

        d.start()
        j = d.wait_state(ids["j1"], FINAL, timeout=30)
        check_eq(j.get("state"), "succeeded", "j1, finished while aelabd was down: %r" % j.get("error"))
        check_eq(losses(j), ref["j1"], "j1: every epoch recorded, right losses")
        got = wait_for(lambda: job(d, ids["j2"]).get("epoch", 0) >= in_file, 10, 0.1)
        check(got, "j2's epochs done while aelabd was down are in the API within 10 s")
        for n in ("j1", "j2", "j3"):
            check_eq(job(d, ids[n]).get("slurm_job_id"), sids[n], "%s keeps its Slurm job id" % n)
        for n in ("j2", "j3"):
            q = squeue_ids_named(c, "aelab-%d" % ids[n])
            check(q is None or q == [sids[n]], "squeue: one Slurm job for %s: %r" % (n, q))
        jobs = {n: d.wait_state(ids[n], FINAL, timeout=300) for n in ids}
        note("restart -> every job final", time.monotonic() - t)
        for n, spec in specs:
            check_eq(jobs[n].get("state"), "succeeded", "%s: %r" % (n, jobs[n].get("error")))
            check_eq(losses(jobs[n]), ref[n], "%s: every epoch, right losses" % n)
            check_eq(submitted_lines(d, ids[n]), 1, "%s handed to sbatch once" % n)
        s4, s5 = (int(jobs[n].get("slurm_job_id") or 0) for n in ("j4", "j5"))
        check(max(int(x or 0) for x in sids.values()) < s4 < s5,
              "queued jobs submitted after the others, in their order (%r, %d, %d)" % (sids, s4, s5))
        d.stop()
    finally:
        cleanup(root)


def test_controller_down(c, ref):
    root = tmpdir("slurmcd")
    try:
        d = slurm_daemon(c, root).start()
        h = d.get("/api/health").json() or {}
        check_eq(h.get("slurm"), "up", "health with the controller up: %r" % h)
        c.stop_controller()
        t = time.monotonic()
        jid = d.submit(SHORT)["id"]
        check(time.monotonic() - t < 2, "POST answered at once with the controller down")
        slow, seen = [], set()
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            for path in ("/api/health", "/api/jobs/%d" % jid, "/api/jobs"):
                t1 = time.monotonic()
                r = d.get(path, timeout=10)
                dt = time.monotonic() - t1
                if dt > 1.0 or r.status != 200:
                    slow.append((path, r.status, round(dt, 2)))
                if path == "/api/health":
                    seen.add((r.json() or {}).get("slurm"))
                elif path != "/api/jobs":
                    x = r.json() or {}
                    seen.add((x.get("state"), x.get("slurm_job_id")))
            time.sleep(0.2)
        check_eq(slow, [], "every request answered within 1 s")
        check("unreachable" in seen, "health said the controller is unreachable: %r" % seen)
        check(("queued", None) in seen and not [s for s in seen if isinstance(s, tuple)
                                                 and s != ("queued", None)],
              "the job stayed queued in aelabd: %r" % seen)
        check("Slurm controller unreachable" in d.log_text(), "the log says so")
        t = time.monotonic()
        c.start_controller()
        j = d.wait_state(jid, FINAL, timeout=120)
        note("controller back -> queued job succeeded", time.monotonic() - t)
        check_eq(j.get("state"), "succeeded", "job after the controller came back: %r" % j.get("error"))
        check(j.get("slurm_job_id"), "handed to Slurm")
        check_eq(losses(j), ref["short"], "its losses")
        check_eq((d.get("/api/health").json() or {}).get("slurm"), "up", "health: up again")
        d.stop()
    finally:
        cleanup(root)


def test_unknown_partition(c):
    root = tmpdir("slurmup")
    try:
        d = Daemon(root, "--executor", "slurm", "--slurm-partition", "nosuchpart",
                   "--slurm-aelab", AELAB_CLI, env=c.env)
        t = time.monotonic()
        try:
            d.start()
            check(False, "aelabd started with an unknown partition")
            d.stop()
        except RuntimeError:
            pass
        check(time.monotonic() - t < 15, "refused within 15 s")
        check(d.proc is not None and d.proc.returncode not in (None, 0),
              "non-zero exit: %r" % (d.proc and d.proc.returncode))
        log = d.log_text()
        check("nosuchpart" in log and "partition" in log, "the log names it: %s" % log[-400:])
        check("debug" in log, "and the partitions there are")
    finally:
        cleanup(root)


def main():
    why = slurm_missing()
    if why:
        print("SKIP: " + why)
        return 77
    t = time.monotonic()
    ref = references(dict([("long", LONG), ("short", SHORT)] + RESTART))
    note("local references", time.monotonic() - t)
    only = sys.argv[1:]
    with SlurmCluster() as c:
        for f in (test_unknown_partition, test_controller_down, test_requeue,
                  test_node_failure, test_restart):
            if only and f.__name__ not in only:
                continue
            t = time.monotonic()
            if f is test_unknown_partition:
                f(c)
            else:
                f(c, ref)
            note("== %s" % f.__name__, time.monotonic() - t)
            try:
                c.wait_nodes({n: "idle" for n in NODES}, 60)
            except ClusterError as e:
                check(False, "nodes idle again after %s: %s" % (f.__name__, e))
    note("whole test", time.monotonic() - T0)
    return summary("test_slurm_faults")


if __name__ == "__main__":
    sys.exit(main())
