#!/usr/bin/env python3
"""Crash safety of aelabd: kill -9 in the middle of an epoch, restart on
the same --db and --logdir, and the job resumes from its checkpoint and
finishes with the same losses as an uninterrupted run (a new event file
starting with SessionLog START, no step written twice); SIGTERM exits 0
within seconds, the job resumes on the next start; a cancel answered 202
survives a crash (the job ends cancelled, not resumed); a database of
schema version 1 is upgraded in place and a newer one refused; the
database passes PRAGMA integrity_check throughout."""
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from aelabd_harness import (Daemon, check, check_eq, cleanup, read_events,  # noqa: E402
                            summary, tmpdir)

SPEC = {"model": "simple", "epochs": 5, "train_size": 12000, "test_size": 500,
        "batch_size": 100, "threads": 1, "seed": 3}


def losses(j):
    return [(m["epoch"], m["loss"], m["val_loss"]) for m in j["metrics"]]


def integrity(db):
    c = sqlite3.connect(db)
    try:
        return c.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        c.close()


def db_exec(db, sql, args=()):
    c = sqlite3.connect(db)
    try:
        c.execute(sql, args)
        c.commit()
    finally:
        c.close()


def db_scalar(db, sql, args=()):
    c = sqlite3.connect(db)
    try:
        return c.execute(sql, args).fetchone()[0]
    finally:
        c.close()


def db_row(db, job_id, column):
    return db_scalar(db, "SELECT %s FROM jobs WHERE id = ?" % column, (job_id,))


def wait_mid_epoch(d, jid, epoch, timeout=120):
    """Wait until epoch `epoch`, or a later one, is partly trained (at least
    10 batches in, the epoch before it committed), short of the last epoch,
    so a whole epoch is still to come.  An epoch here lasts
    about 80 ms in a release build: a poll that stalls past one still finds
    the job in the middle of the next."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        j = d.get("/api/jobs/%d" % jid).json()
        if j["state"] == "running" and j["epoch"] >= epoch - 1 and \
                j["current_epoch"] == j["epoch"] + 1 < j["epochs"] and (j["batch"] or 0) >= 10:
            return j
        if j["state"] not in ("queued", "running"):
            return None
        time.sleep(0.005)
    return None


def event_check(run_dir, n_files, epochs):
    """The run as TensorBoard shows it: files in order, and a SessionLog
    START at step s in a later file drops what earlier files had from step
    s on (TensorBoard's purge of orphaned data).  Every epoch's loss must
    then appear exactly once."""
    files = sorted((f for f in os.listdir(run_dir) if "tfevents" in f),
                   key=lambda f: os.path.getmtime(os.path.join(run_dir, f)))
    check_eq(len(files), n_files, "event files in %s: %r" % (run_dir, files))
    shown = []
    for f in files:
        recs = read_events(os.path.join(run_dir, f))
        starts = [r["step"] for r in recs if r.get("session_log") == 1]
        check_eq(len(starts), 1, "one SessionLog START in %s" % f)
        for r in recs:
            if r.get("session_log") == 1:
                shown = [s for s in shown if s < r["step"]]
            elif "loss" in r["values"]:
                shown.append(r["step"])
    check_eq(len(shown), epochs, "each epoch's loss once in TensorBoard's view: %r" % shown)
    check_eq(shown, sorted(set(shown)), "no step twice, in order")


# The schema version this aelabd writes (5: the sweeps' Idempotency-Key),
# and the columns the executors' step (3 -> 4) added.
SCHEMA_VERSION = 5
EXECUTOR_COLUMNS = ("executor", "slurm_job_id", "node")


def main():
    root = tmpdir("crash")
    try:
        d = Daemon(root, "--workers", "1").start()
        # --- kill -9 in the middle of epoch 3 -------------------------------
        job = d.submit(SPEC)
        jid = job["id"]
        queued = d.submit(dict(SPEC, epochs=1, name="waiting"))
        mid = wait_mid_epoch(d, jid, 3)
        check(mid is not None, "caught the job in the middle of epoch 3 or later")
        d.kill9()
        check_eq(integrity(d.db), "ok", "database intact after kill -9")

        d.start()
        j = d.get("/api/jobs/%d" % jid).json()
        check(j["state"] in ("queued", "running"), "interrupted job back in line: %s" % j["state"])
        check(j["epoch"] >= 2, "committed epochs survived: %d" % j["epoch"])
        q = d.get("/api/jobs/%d" % queued["id"]).json()
        check_eq(q["state"], "queued", "the queued job is still queued")
        j = d.wait_state(jid, ("succeeded", "failed"))
        check_eq(j["state"], "succeeded", "resumed job finished: %r" % j.get("error"))
        resumed = losses(j)
        check_eq([e for e, _, _ in resumed], [1, 2, 3, 4, 5], "all epochs recorded once")
        event_check(j["run_dir"], 2, 5)
        d.wait_state(queued["id"], ("succeeded",))

        # The same job uninterrupted, in the same daemon: the same curve.
        ref = d.submit(SPEC)
        r = d.wait_state(ref["id"], ("succeeded", "failed"))
        check_eq(losses(r), resumed, "resumed run has the uninterrupted run's losses")
        event_check(r["run_dir"], 1, 5)

        # --- SIGTERM in the middle of epoch 2 -------------------------------
        job2 = d.submit(SPEC)
        mid = wait_mid_epoch(d, job2["id"], 2)
        check(mid is not None, "caught job 2 in the middle of epoch 2 or later")
        rc, secs = d.stop()
        check_eq(rc, 0, "SIGTERM exit status")
        check(secs < 5, "SIGTERM exit took %.2fs" % secs)
        log = d.log_text()
        check("suspended for shutdown" in log and 'msg="stopped"' in log, "shutdown log lines")
        check_eq(integrity(d.db), "ok", "database intact after SIGTERM")
        d.start()
        j2 = d.wait_state(job2["id"], ("succeeded", "failed"))
        check_eq(losses(j2), resumed, "suspended and resumed: same losses")
        event_check(j2["run_dir"], 2, 5)
        check_eq(integrity(d.db), "ok", "database intact at the end")

        # --- a cancel answered 202, then a crash before the job stopped -----
        # The 202 is on disk before it is sent...
        job3 = d.submit(SPEC)
        check(wait_mid_epoch(d, job3["id"], 2) is not None, "caught job 3 in epoch 2 or later")
        r = d.post("/api/jobs/%d/cancel" % job3["id"])
        check_eq(r.status, 202, "cancel of a running job: %r" % r)
        check_eq(db_row(d.db, job3["id"], "cancel_requested"), 1, "the cancel is in the database")
        d.wait_state(job3["id"], ("cancelled",))
        d.kill9()
        # ...so a database as a crash between the 202 and the job's stop
        # leaves it (state still running) must give a cancelled job, not a
        # resumed one.
        db_exec(d.db, "UPDATE jobs SET state = 'running', finished_at = NULL WHERE id = ?",
                (job3["id"],))
        d.start()
        j3 = d.get("/api/jobs/%d" % job3["id"]).json()
        check_eq(j3["state"], "cancelled", "a cancelled job is not resumed after a crash")
        check(j3["finished_at"] is not None, "and has a finish time")
        check_eq(db_row(d.db, job3["id"], "state"), "cancelled", "and is cancelled on disk")
        check("job was cancelled before the restart" in d.log_text(), "the restart logs why")
        # The same with a real kill right after the 202 (whichever side of
        # the job's own stop it lands on, the job ends cancelled).
        job4 = d.submit(SPEC)
        check(wait_mid_epoch(d, job4["id"], 2) is not None, "caught job 4 in epoch 2 or later")
        check_eq(d.post("/api/jobs/%d/cancel" % job4["id"]).status, 202, "cancel job 4")
        d.kill9()
        d.start()
        j4 = d.get("/api/jobs/%d" % job4["id"]).json()
        check_eq(j4["state"], "cancelled", "killed right after its cancel: cancelled")

        # --- a database of schema version 1 is upgraded in place -----------
        d.stop()
        for col in EXECUTOR_COLUMNS + ("cancel_requested",):
            db_exec(d.db, "ALTER TABLE jobs DROP COLUMN %s" % col)
        db_exec(d.db, "PRAGMA user_version = 1")
        d.start()
        check_eq(db_scalar(d.db, "PRAGMA user_version"), SCHEMA_VERSION,
                 "schema upgraded to the current version")
        check_eq(d.get("/api/jobs/%d" % jid).json()["state"], "succeeded",
                 "jobs of the old database are all there")
        job5 = d.submit(dict(SPEC, epochs=1, train_size=200))
        check_eq(d.wait_state(job5["id"], ("succeeded", "failed"))["state"], "succeeded",
                 "the upgraded database takes new jobs")
        d.stop()
        # A database from a newer aelabd is refused, not misread.
        db_exec(d.db, "PRAGMA user_version = 7")
        try:
            d.start()
            refused = ""
        except RuntimeError as e:
            refused = str(e)
            d.log.close()
            d.proc = None
        check("schema version 7" in refused, "a newer schema is refused with a message: %r"
              % refused[-300:])
        if not refused:
            d.stop()
        db_exec(d.db, "PRAGMA user_version = %d" % SCHEMA_VERSION)
        d.start()

        # --- version 3 (before executors) is upgraded in place ----------------
        d.stop()
        for col in EXECUTOR_COLUMNS:
            db_exec(d.db, "ALTER TABLE jobs DROP COLUMN %s" % col)
        db_exec(d.db, "PRAGMA user_version = 3")
        d.start()
        check_eq(db_scalar(d.db, "PRAGMA user_version"), SCHEMA_VERSION,
                 "version 3 upgraded to the current version")
        old = d.get("/api/jobs/%d" % jid).json()
        check_eq((old["executor"], old["slurm_job_id"], old["node"]), ("local", None, None),
                 "an old job reads as a local one")
        check_eq(db_row(d.db, jid, "executor"), "local", "and says so on disk")
        job6 = d.submit(dict(SPEC, epochs=1, train_size=200))
        check_eq(d.wait_state(job6["id"], ("succeeded", "failed"))["state"], "succeeded",
                 "the upgraded database takes new jobs")
        check_eq(db_row(d.db, job6["id"], "executor"), "local", "a new job records its executor")

        # --- kill -9 right after submissions ---------------------------------
        ids = [d.submit(dict(SPEC, epochs=1, train_size=200))["id"] for _ in range(5)]
        d.kill9()
        d.start()
        lst = d.get("/api/jobs?limit=500").json()
        check(set(ids) <= {x["id"] for x in lst["jobs"]}, "submitted jobs survive kill -9")
        for i in ids:
            d.wait_state(i, ("succeeded",))
        rc, _ = d.stop()
        check_eq(rc, 0, "clean exit")
    finally:
        cleanup(root)
    return summary("test_daemon_crash")


if __name__ == "__main__":
    sys.exit(main())
