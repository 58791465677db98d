#!/usr/bin/env python3
"""Disk full under the event files, weights, checkpoints and the database.

Preferred: a private mount namespace (`unshare -m`, root) with two small
tmpfs: one for --logdir, one for --db.  The log dir's free space is swept
from nothing to enough for a job, so jobs fail while writing the event
file, the weights, the checkpoint; the database's file system is filled
while a job is running and while submitting.  Every failure names the path
and says "No space left on device" (or SQLite's "database or disk is
full" with the database path), the daemon answers health throughout, a job
that finished before is untouched (its event file reads back whole, its
PNG and record are intact), the database passes PRAGMA integrity_check,
and once space is freed new jobs succeed.

Fallback when mounts are not possible: RLIMIT_FSIZE (with SIGXFSZ
ignored) makes every write past the limit fail with EFBIG; the same
checks, without the "space freed" step (the daemon is restarted without
the limit instead).  The test prints which of the two ran.
"""
import errno
import os
import resource
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from aelabd_harness import check, check_eq, cleanup, read_events, summary, tmpdir  # noqa: E402
from faults_harness import (TINY_JOB, EnvDaemon, db_jobs, events_readable,  # noqa: E402
                            health_ok, in_private_mounts, integrity, mount, tiny_data_dir,
                            umount, wait_final)

JOB1 = dict(TINY_JOB, epochs=1)


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(dir_path, leave):
    """Make dir_path's file system have about `leave` bytes free (0: write
    until ENOSPC).  Returns the filler's path.

    Unbuffered, so a write that meets ENOSPC leaves nothing behind in a
    buffer for close() to fail on: the daemon writes to the same file
    system meanwhile, so the last write may land only in part."""
    filler = os.path.join(dir_path, "filler")
    if os.path.exists(filler):
        os.unlink(filler)
    want = max(0, free_bytes(dir_path) - leave)
    chunk = b"\0" * 65536
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        written = 0
        while leave == 0 or written < want:
            n = len(chunk) if leave == 0 else min(len(chunk), want - written)
            written += os.write(fd, chunk[:n])
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    return filler


def unfill(dir_path):
    filler = os.path.join(dir_path, "filler")
    if os.path.exists(filler):
        os.unlink(filler)


def run_files(run_dir):
    return sorted(os.path.join(dp, f) for dp, _, fs in os.walk(run_dir) for f in fs)


def snapshot_done(d, jid):
    """What must stay as it is: the job's record, metrics, event records
    and PNG."""
    j = d.get("/api/jobs/%d" % jid).json()
    evs = [f for f in run_files(j["run_dir"]) if "tfevents" in f]
    png = d.get("/api/jobs/%d/reconstructions.png" % jid)
    return {"state": j["state"], "metrics": j["metrics"],
            "events": [len(read_events(f)) for f in evs], "png": png.status == 200 and png.body}


def check_untouched(d, jid, before, what):
    now = snapshot_done(d, jid)
    check_eq(now, before, "the finished job %d is untouched after %s" % (jid, what))
    for f in run_files(d.get("/api/jobs/%d" % jid).json()["run_dir"]):
        if "tfevents" in f:
            events_readable(f)


def stage_of(err):
    for key, name in (("tfevents", "event file"), (".aew", "weights"), (".aeck", "checkpoint"),
                      ("weights", "weights dir"), ("database", "database")):
        if key in err:
            return name
    return "other"


# ---------------------------------------------------------------------------
# tmpfs (private mount namespace)
# ---------------------------------------------------------------------------

def logdir_full(root, data):
    logfs = os.path.join(root, "logfs")
    os.makedirs(logfs)
    mount("-t", "tmpfs", "-o", "size=3m", "tmpfs", logfs)
    try:
        d = EnvDaemon(root, "--workers", "1", "--data-dir", data,
                      logdir=os.path.join(logfs, "runs")).start()
        try:
            done = d.submit(JOB1)
            check_eq(wait_final(d, done["id"])["state"], "succeeded", "a job before the disk fills")
            before = snapshot_done(d, done["id"])

            # Coarse steps from nothing, then page by page around the space
            # epoch 1's weights and checkpoint take, where its event records
            # are the first write that does not fit.
            stages = {}
            mid_event = []
            leaves = list(range(0, 1200 * 1024, 48 * 1024)) + list(range(780 * 1024, 880 * 1024,
                                                                          4096))
            for leave in leaves:
                fill(logfs, leave)
                j = d.submit(dict(TINY_JOB, name="leave %d" % leave))
                f = wait_final(d, j["id"])
                err = f.get("error") or ""
                if f["state"] == "failed":
                    if stage_of(err) == "event file" and "at offset 0)" not in err:
                        mid_event.append(err)
                    if stage_of(err) not in stages:
                        print("  %7d bytes free: %s" % (leave, err))
                    stages[stage_of(err)] = stages.get(stage_of(err), 0) + 1
                    check("No space left on device" in err and logfs in err,
                          "%d bytes free: the error names the path and ENOSPC: %r" % (leave, err))
                else:
                    check_eq(f["state"], "succeeded", "%d bytes free" % leave)
                health_ok(d)
                # The job's partial files go with it (purge), freeing its space.
                check_eq(d.req("DELETE", "/api/jobs/%d?purge=true" % j["id"]).status, 204,
                         "delete the failed job with its files")
            print("log dir full: failures by what was being written: %r" % stages)
            check(stages.get("event file", 0) >= 1, "a job failed writing its event file")
            check(mid_event, "a job failed writing an epoch's event records")
            if mid_event:
                print("  an epoch's event records: %s" % mid_event[0])
            check(stages.get("weights", 0) + stages.get("checkpoint", 0) >= 1,
                  "a job failed writing its weights or checkpoint")
            check_untouched(d, done["id"], before, "the log dir filled up")

            # Full in the middle of a run: a long job, then the disk fills.
            unfill(logfs)
            long = d.submit(dict(TINY_JOB, epochs=100000))
            d.wait_epoch(long["id"], 2)
            fill(logfs, 0)
            f = wait_final(d, long["id"])
            err = f.get("error") or ""
            check_eq(f["state"], "failed", "the running job fails when the disk fills")
            print("  running job on a full log dir: %s" % err)
            check("No space left on device" in err and logfs in err, "message: %r" % err)
            for ev in (x for x in run_files(f["run_dir"]) if "tfevents" in x):
                events_readable(ev)
            health_ok(d)
            d.req("DELETE", "/api/jobs/%d?purge=true" % long["id"])

            unfill(logfs)
            after = d.submit(TINY_JOB)
            check_eq(wait_final(d, after["id"])["state"], "succeeded", "space freed: jobs succeed")
            check_untouched(d, done["id"], before, "the disk was freed")
        finally:
            rc, _ = d.stop()
            check_eq(rc, 0, "clean exit")
        check_eq(integrity(d.db), "ok", "database intact")
    finally:
        umount(logfs)


def db_full(root, data):
    dbfs = os.path.join(root, "dbfs")
    os.makedirs(dbfs)
    mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", dbfs)
    try:
        d = EnvDaemon(root, "--workers", "1", "--data-dir", data,
                      db=os.path.join(dbfs, "aelab.db")).start()
        try:
            done = d.submit(JOB1)
            check_eq(wait_final(d, done["id"])["state"], "succeeded", "a job before the disk fills")
            before = snapshot_done(d, done["id"])
            stored_before = db_jobs(d.db)[done["id"]]

            # Submitting with the database's disk full: 5xx naming the
            # database, no job made.
            fill(dbfs, 0)
            total = d.get("/api/jobs").json()["total"]
            r = d.post("/api/jobs", JOB1)
            check(r.status in (500, 503, 507), "submit on a full disk -> %r" % r)
            detail = (r.json() or {}).get("detail", "")
            print("  submit on a full database disk: %d %s" % (r.status, detail))
            check("aelab.db" in detail and "full" in detail,
                  "the problem names the database and says it is full: %r" % detail)
            check_eq(d.get("/api/jobs").json()["total"], total, "no job was made")
            health_ok(d)
            unfill(dbfs)

            # A running job whose epoch commit meets a full disk.
            long = d.submit(dict(TINY_JOB, epochs=100000))
            d.wait_epoch(long["id"], 2)
            fill(dbfs, 0)
            f = wait_final(d, long["id"])
            err = f.get("error") or ""
            check_eq(f["state"], "failed", "the running job fails when its commit cannot land")
            print("  running job on a full database disk: %s" % err)
            check("aelab.db" in err and "full" in err, "message names the database: %r" % err)
            health_ok(d)
            unfill(dbfs)

            r = d.post("/api/jobs", JOB1)
            check_eq(r.status, 201, "space freed: submissions work")
            check_eq(wait_final(d, r.json()["id"])["state"], "succeeded", "and jobs succeed")
            check_eq(integrity(d.db), "ok", "database intact while running")
            check_eq(db_jobs(d.db)[done["id"]], stored_before, "the finished job's record")
            check_untouched(d, done["id"], before, "the database's disk filled up")
        finally:
            rc, _ = d.stop()
            check_eq(rc, 0, "clean exit")
        check_eq(integrity(d.db), "ok", "database intact after exit")
        # The interrupted job's last commits may not have landed: after a
        # restart it is final or resumes and ends.
        d = EnvDaemon(root, "--workers", "1", "--data-dir", data,
                      db=os.path.join(dbfs, "aelab.db")).start()
        try:
            for jid in db_jobs(d.db):
                if jid == long["id"]:
                    d.post("/api/jobs/%d/cancel" % jid)
                st = wait_final(d, jid)["state"]
                check(st in ("succeeded", "failed", "cancelled"), "job %d after restart: %s"
                      % (jid, st))
            check_untouched(d, done["id"], before, "a restart")
        finally:
            rc, _ = d.stop()
            check_eq(rc, 0, "clean exit after restart")
    finally:
        umount(dbfs)


# ---------------------------------------------------------------------------
# RLIMIT_FSIZE fallback
# ---------------------------------------------------------------------------

class LimitedDaemon(EnvDaemon):
    def __init__(self, root, limit, *extra):
        EnvDaemon.__init__(self, root, *extra)
        self.limit = limit

    def start(self, timeout=30):
        lim = self.limit
        real = subprocess.Popen

        def popen(*a, **kw):
            def pre():
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
                resource.setrlimit(resource.RLIMIT_FSIZE, (lim, lim))
            kw["preexec_fn"] = pre
            return real(*a, **kw)
        subprocess.Popen = popen
        try:
            return EnvDaemon.start(self, timeout)
        finally:
            subprocess.Popen = real


def fsize_fallback(root, data):
    d = EnvDaemon(root, "--workers", "1", "--data-dir", data).start()
    done = d.submit(JOB1)
    check_eq(wait_final(d, done["id"])["state"], "succeeded", "a job before the limit")
    before = snapshot_done(d, done["id"])
    d.stop()
    # 300 KB: the weights (200 KB) fit, the checkpoint (600 KB) does not.
    d = LimitedDaemon(root, 300 * 1024, "--workers", "1", "--data-dir", data).start()
    try:
        j = d.submit(JOB1)
        f = wait_final(d, j["id"])
        err = f.get("error") or ""
        check_eq(f["state"], "failed", "a job over the file size limit fails")
        check("File too large" in err and ".aeck" in err, "message: %r" % err)
        health_ok(d)
        check_untouched(d, done["id"], before, "the limit")
    finally:
        rc, _ = d.stop()
        check_eq(rc, 0, "clean exit")
    d = EnvDaemon(root, "--workers", "1", "--data-dir", data).start()
    try:
        j = d.submit(JOB1)
        check_eq(wait_final(d, j["id"])["state"], "succeeded", "without the limit jobs succeed")
    finally:
        d.stop()
    check_eq(integrity(d.db), "ok", "database intact")


def main():
    ns = in_private_mounts()
    root = tmpdir("faults-disk")
    try:
        data = tiny_data_dir(root)
        if ns:
            print("disk full: tmpfs in a private mount namespace")
            os.makedirs(os.path.join(root, "a"))
            os.makedirs(os.path.join(root, "b"))
            logdir_full(os.path.join(root, "a"), data)
            db_full(os.path.join(root, "b"), data)
        else:
            print("disk full: no mount namespace here; RLIMIT_FSIZE fallback")
            fsize_fallback(root, data)
    finally:
        cleanup(root)
    return summary("test_faults_disk")


if __name__ == "__main__":
    sys.exit(main())
