#!/usr/bin/env python3
"""A real two-node Slurm cluster on this host (tests/support/slurm_cluster.py)
behaves as aelabd's Slurm executor will expect: two whole-node jobs land one
on node1 and one on node2; `scontrol requeue` runs a job again; scancel
sends SIGTERM to the batch script, then SIGKILL after KillWait; a SIGKILLed
slurmd gets its node marked down and a --requeue job re-run on the other
node; an unknown partition is refused at once; with the controller stopped
sbatch fails within a bounded time.  Prints the timings measured (the
figures in tests/support/SLURM_NOTES.md).  Skips (77) when not root or Slurm
is not installed."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from aelabd_harness import check, check_eq, summary  # noqa: E402
from slurm_cluster import (NODES, ClusterError, SlurmCluster, marked_pids,  # noqa: E402
                           slurm_missing, wait_for)

T0 = time.monotonic()


def note(what, secs):
    print("timing: %-44s %6.2f s" % (what, secs), flush=True)


def lines(path):
    try:
        with open(path) as f:
            return [ln.strip() for ln in f if ln.strip()]
    except OSError:
        return []


def test_spread(c):
    """Two jobs each asking for a whole node (2 CPUs): one per node."""
    out = os.path.join(c.tmp, "spread")
    os.mkdir(out)
    script = ('#!/bin/sh\necho "$SLURMD_NODENAME $(hostname) $SLURM_JOB_ID" '
              '> %s/$SLURM_JOB_ID\nsleep 2\n' % out)
    ids = []
    for _ in range(2):
        jid, r = c.sbatch(script, "--cpus-per-task=2", "--mem=1000")
        check(jid, "sbatch: %r" % (r,))
        ids.append(jid)
    t = time.monotonic()
    done = wait_for(lambda: all(c.squeue_state(j) in (None, "COMPLETED") for j in ids),
                    30, 0.2)
    note("two 2-s jobs submitted -> both COMPLETED", time.monotonic() - t)
    check(done, "jobs still queued")
    nodes = sorted(lines(os.path.join(out, j))[0].split()[0] for j in ids
                   if lines(os.path.join(out, j)))
    check_eq(nodes, list(NODES), "one job per node")
    for j in ids:
        info = c.scontrol_show_job(j)
        if info:  # still within MinJobAge
            check_eq(info.get("JobState"), "COMPLETED", "job %s state" % j)
            check_eq(info.get("ExitCode"), "0:0", "job %s exit code" % j)


def test_requeue(c):
    """`scontrol requeue` of a running job: it runs again (a file counts the
    runs; SLURM_RESTART_COUNT is recorded)."""
    runs = os.path.join(c.tmp, "requeue.runs")
    jid, r = c.sbatch('#!/bin/sh\necho "${SLURM_RESTART_COUNT:-unset} $SLURMD_NODENAME" >> %s\n'
                      'sleep 60\n' % runs, "--requeue")
    check(jid, "sbatch: %r" % (r,))
    check(wait_for(lambda: len(lines(runs)) == 1, 15), "first run started")
    seen = []
    t = time.monotonic()
    r = c.run(["scontrol", "requeue", jid])
    check_eq(r.returncode, 0, "scontrol requeue: %s" % r.stderr)

    def second_run():
        st = c.squeue_state(jid)
        if st and (not seen or seen[-1] != st):
            seen.append(st)
        return len(lines(runs)) >= 2

    ok = wait_for(second_run, 60, 0.1)
    note("scontrol requeue -> second run started", time.monotonic() - t)
    print("requeue: squeue states seen: %s" % seen)
    check(ok, "requeued job ran again (runs: %r)" % lines(runs))
    got = lines(runs)
    print("requeue: runs file: %r" % got)
    check_eq([ln.split()[0] for ln in got], ["unset", "1"], "SLURM_RESTART_COUNT per run")
    info = c.scontrol_show_job(jid)
    check_eq(info.get("Restarts"), "1", "Restarts after one requeue")
    check_eq(info.get("JobState"), "RUNNING", "state after requeue")
    c.run(["scancel", jid])


def test_scancel(c):
    """scancel sends SIGTERM to the batch script (its trap runs), then
    SIGKILL KillWait seconds later."""
    d = os.path.join(c.tmp, "cancel")
    os.mkdir(d)
    script = ('#!/bin/bash\n'
              'trap \'date +%%s.%%N > %(d)s/term; '
              'while :; do date +%%s.%%N >> %(d)s/alive; sleep 0.1; done\' TERM\n'
              'echo $$ > %(d)s/started\n'
              'sleep 60 & wait\n' % {"d": d})
    jid, r = c.sbatch(script)
    check(jid, "sbatch: %r" % (r,))
    check(wait_for(lambda: os.path.exists(os.path.join(d, "started")), 15), "job started")
    t = time.time()
    r = c.run(["scancel", jid])
    check_eq(r.returncode, 0, "scancel: %s" % r.stderr)
    check(wait_for(lambda: os.path.exists(os.path.join(d, "term")), 10),
          "batch script got SIGTERM (trap ran)")
    seen = []
    alive_f = os.path.join(d, "alive")

    def ended():
        st = c.squeue_state(jid)
        if not seen or seen[-1] != st:
            seen.append(st)
        quiet = (os.path.exists(alive_f)
                 and time.time() - os.stat(alive_f).st_mtime > 1.5)
        return st in (None, "CANCELLED") and quiet

    check(wait_for(ended, 30, 0.1), "cancelled job ended, its script dead")
    print("scancel: squeue states seen: %s" % seen)
    term = float((lines(os.path.join(d, "term")) or ["0"])[0])
    alive = float((lines(alive_f) or ["0"])[-1])
    note("scancel -> SIGTERM in the script", term - t)
    note("SIGTERM -> last sign of life (SIGKILL)", alive - term)
    check(0 <= term - t < 5, "SIGTERM within 5 s of scancel")
    check(1.0 < alive - term < 8, "SIGKILL a few s (KillWait=2) after SIGTERM")
    info = c.scontrol_show_job(jid)
    if info:
        check_eq(info.get("JobState"), "CANCELLED", "state after scancel")
        print("scancel: ExitCode=%s Reason=%s" % (info.get("ExitCode"), info.get("Reason")))


def test_node_failure(c):
    """SIGKILL the slurmd running a --requeue job: the node goes down and
    the job runs again on the other node."""
    runs = os.path.join(c.tmp, "nodefail.runs")
    jid, r = c.sbatch('#!/bin/sh\necho "$SLURMD_NODENAME ${SLURM_RESTART_COUNT:-unset}" >> %s\n'
                      'sleep 60\n' % runs, "--requeue")
    check(jid, "sbatch: %r" % (r,))
    check(wait_for(lambda: len(lines(runs)) == 1, 15), "first run started")
    first = (lines(runs) or ["?"])[0].split()[0]
    check(first in NODES, "first run on a node (%r)" % first)
    if first not in NODES:
        return
    other = NODES[1 - NODES.index(first)]
    t = time.monotonic()
    c.kill_slurmd(first)
    states, seen = [], []

    def track():
        st = c.node_states().get(first, "")
        if not states or states[-1] != st:
            states.append(st)
        js = c.squeue_state(jid)
        if js and (not seen or seen[-1] != js):
            seen.append(js)
        return len(lines(runs)) >= 2

    down = None
    deadline = time.monotonic() + 60
    ok = False
    while time.monotonic() < deadline:
        ok = track()
        if down is None and states[-1].startswith("down"):
            down = time.monotonic() - t
        if ok:
            break
        time.sleep(0.2)
    note("slurmd SIGKILL -> node down", down if down is not None else -1)
    note("slurmd SIGKILL -> job re-run started", time.monotonic() - t)
    print("node failure: %s states seen: %s; job states seen: %s" % (first, states, seen))
    check(down is not None and down < 30, "node marked down within 30 s")
    check(ok, "job ran again (runs: %r)" % lines(runs))
    got = lines(runs)
    if len(got) >= 2:
        check_eq(got[1].split()[0], other, "second run on the other node")
    info = c.scontrol_show_job(jid)
    print("node failure: job after: JobState=%s NodeList=%s Restarts=%s Reason=%s" % (
        info.get("JobState"), info.get("NodeList"), info.get("Restarts"), info.get("Reason")))
    r = c.run(["scontrol", "show", "node", first, "-o"])
    reason = r.stdout.partition(" Reason=")[2].strip()
    print("node failure: node %s Reason=%s" % (first, reason))
    c.run(["scancel", jid])
    t = time.monotonic()
    c.restart_slurmd(first)  # ReturnToService=2: back to idle by itself
    note("slurmd restart -> node idle again", time.monotonic() - t)


def test_fail_node(c):
    """fail_node (a machine that died): slurmd, the job's slurmstepd and the
    job script all gone at once, so the first run stops beating while the
    job is requeued and runs on the other node; the other node's steps are
    untouched."""
    beat = os.path.join(c.tmp, "failnode.beat")
    runs = os.path.join(c.tmp, "failnode.runs")
    script = ('#!/bin/sh\necho "$SLURMD_NODENAME ${SLURM_RESTART_COUNT:-0}" >> %s\n'
              'while true; do echo "$SLURMD_NODENAME ${SLURM_RESTART_COUNT:-0}" >> %s; '
              'sleep 0.2; done\n' % (runs, beat))
    jid, r = c.sbatch(script, "--requeue")
    check(jid, "sbatch: %r" % (r,))
    check(wait_for(lambda: len(lines(runs)) == 1, 15), "first run started")
    first = (lines(runs) or ["?"])[0].split()[0]
    if first not in NODES:
        check(False, "first run on a node (%r)" % first)
        return
    other = NODES[1 - NODES.index(first)]
    # A bystander on the other node must survive the failure.
    side = os.path.join(c.tmp, "failnode.side")
    sid, r = c.sbatch("#!/bin/sh\nwhile true; do date +%%s.%%N >> %s; sleep 0.2; done\n" % side,
                      "--no-requeue", "-w", other, "--mem=100")
    check(sid, "sbatch bystander: %r" % (r,))
    check(wait_for(lambda: lines(side), 15), "bystander runs on %s" % other)
    steps = c.step_pids(first)
    check(len(steps) >= 1, "slurmstepd of %s found (%r)" % (first, steps))
    check(not set(steps) & set(c.step_pids(other)), "no slurmstepd counted on both nodes")
    t = time.monotonic()
    killed = c.fail_node(first)
    note("fail_node -> every process of the node gone", time.monotonic() - t)
    check(len(killed) >= 3, "slurmd, slurmstepd and the script killed (%r)" % killed)
    check_eq(c.step_pids(first), [], "no slurmstepd of %s left" % first)
    n0 = len(lines(beat))
    time.sleep(1.0)
    stale = [ln for ln in lines(beat)[n0:] if ln == "%s 0" % first]
    check_eq(stale, [], "the first run stopped beating when its node died")
    ok = wait_for(lambda: len(lines(runs)) >= 2, 60, 0.2)
    note("fail_node -> job re-run started", time.monotonic() - t)
    check(ok, "job requeued and ran again (runs: %r)" % lines(runs))
    if ok:
        check_eq(lines(runs)[1], "%s 1" % other, "second run on the other node, restart 1")
    check(c.squeue_state(sid) == "RUNNING", "bystander on %s still running" % other)
    for j in (jid, sid):
        c.run(["scancel", j])
    c.restart_slurmd(first)


def test_bad_partition(c):
    t = time.monotonic()
    jid, r = c.sbatch("#!/bin/sh\ntrue\n", "-p", "nosuchpart")
    dt = time.monotonic() - t
    note("sbatch -p nosuchpart fails", dt)
    print("bad partition: rc=%d stderr=%r" % (r.returncode, r.stderr.strip()))
    check(r.returncode != 0 and jid is None, "sbatch -p nosuchpart fails")
    check("invalid partition" in r.stderr.lower(), "Slurm's message: %r" % r.stderr)
    check(dt < 5, "at once (%.2f s)" % dt)


def test_controller_down(c):
    c.stop_controller()
    t = time.monotonic()
    jid, r = c.sbatch("#!/bin/sh\ntrue\n", timeout=120)
    dt = time.monotonic() - t
    note("controller down: sbatch fails", dt)
    print("controller down: rc=%d stderr=%r" % (r.returncode, r.stderr.strip()))
    check(r.returncode != 0 and jid is None, "sbatch fails with the controller down")
    check("unable to contact slurm controller" in r.stderr.lower(), "message: %r" % r.stderr)
    check(dt < 30, "within 30 s (%.2f s)" % dt)
    t = time.monotonic()
    r = c.run(["squeue", "-h"], timeout=120)
    note("controller down: squeue fails", time.monotonic() - t)
    print("controller down: squeue rc=%d stderr=%r" % (r.returncode, r.stderr.strip()))
    check(r.returncode != 0, "squeue fails with the controller down")
    try:
        c.squeue_state(1)
        check(False, "squeue_state raises with the controller down")
    except ClusterError as e:
        check("Unable to contact" in str(e), "squeue_state: %s" % e)
    t = time.monotonic()
    c.start_controller()
    note("slurmctld restart -> answering", time.monotonic() - t)
    jid, r = c.sbatch("#!/bin/sh\ntrue\n")
    check(jid, "sbatch works again after the controller restart: %r" % (r,))


def main():
    why = slurm_missing()
    if why:
        print("SKIP: " + why)
        return 77
    t = time.monotonic()
    with SlurmCluster() as c:
        note("cluster up (munged, slurmctld, 2 slurmd idle)", time.monotonic() - t)
        for f in (test_spread, test_requeue, test_scancel, test_node_failure,
                  test_fail_node,
                  test_bad_partition, test_controller_down):
            t = time.monotonic()
            f(c)
            note("== %s" % f.__name__, time.monotonic() - t)
        tmp, munged = c.tmp, c.procs["munged"]
        check(c.run_pids(), "the cluster's processes are found by their mark")
    check_eq(marked_pids(tmp), [], "close() left no process of the run")
    check(munged.poll() is not None, "close() stopped munged")
    check(not os.path.exists(tmp), "close() removed the temp dir")
    note("whole test", time.monotonic() - T0)
    return summary("test_slurm_cluster")


if __name__ == "__main__":
    sys.exit(main())
