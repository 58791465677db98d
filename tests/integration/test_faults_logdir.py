#!/usr/bin/env python3
"""The log dir goes away or turns read-only under a running daemon.

- A running job's run directory is removed (rm -rf) between epochs: the
  job fails with the path and "No such file or directory"; the daemon
  answers health; the next job succeeds.
- The whole --logdir is removed mid-job: the same, and the next job
  creates it again.
- --logdir replaced by a regular file: the next job fails with "Not a
  directory"; once it is a directory again, jobs succeed.
- Artifacts of a finished job whose run dir was removed: the API answers
  404 with a message (never 500, never a crash).
- A read-only bind mount over --logdir (private mount namespace, root):
  a job fails with "Read-only file system" and the path; after a
  read-write remount, jobs succeed.  Without a mount namespace this case
  is skipped and the test says so.
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from aelabd_harness import check, check_eq, cleanup, summary, tmpdir  # noqa: E402
from faults_harness import (TINY_JOB, EnvDaemon, health_ok, in_private_mounts,  # noqa: E402
                            integrity, mount, tiny_data_dir, umount, wait_final)

LONG = dict(TINY_JOB, epochs=100000, name="long")


def next_job_ok(d, what):
    j = d.submit(TINY_JOB)
    f = wait_final(d, j["id"])
    check_eq(f["state"], "succeeded", "the next job succeeds after %s: %r" % (what, f.get("error")))
    return f


def rm_rf(path):
    """rm -rf while the daemon may still be writing into it."""
    for _ in range(100):
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.exists(path):
            return
    check(False, "could not remove %s" % path)


def vanish(d, target_of, what, needle):
    """Start a long job, wait for two epochs, remove target_of(job), and
    check the failure."""
    j = d.submit(LONG)
    d.wait_epoch(j["id"], 2)
    rm_rf(target_of(j))
    f = wait_final(d, j["id"])
    err = f.get("error") or ""
    check_eq(f["state"], "failed", "job fails when %s vanishes" % what)
    check(needle in err and d.logdir in err, "%s: error names the path and errno: %r" % (what, err))
    print("%s removed mid-job: %s" % (what, err))
    health_ok(d)
    return f


def test_vanish(d):
    vanish(d, lambda j: j["run_dir"], "the run dir", "No such file or directory")
    next_job_ok(d, "its run dir vanished")
    vanish(d, lambda j: d.logdir, "the log dir", "No such file or directory")
    f = next_job_ok(d, "the log dir vanished")
    check(os.path.isdir(f["run_dir"]), "the log dir was made again")

    # Artifacts of a finished job whose files are gone.
    shutil.rmtree(f["run_dir"])
    for path in ("reconstructions.png", "weights", "summary", "metrics"):
        r = d.get("/api/jobs/%d/%s" % (f["id"], path))
        check(r.status in (200, 404), "%s of a job without its run dir -> %r" % (path, r))
        if r.status == 404:
            check(r.json() and r.json().get("detail"), "a 404 with a message: %r" % r)
    health_ok(d)

    # The log dir is now a file.
    shutil.rmtree(d.logdir, ignore_errors=True)
    with open(d.logdir, "w") as fh:
        fh.write("not a directory\n")
    j = d.submit(TINY_JOB)
    f = wait_final(d, j["id"])
    err = f.get("error") or ""
    check_eq(f["state"], "failed", "a job fails when --logdir is a file")
    check("Not a directory" in err or "File exists" in err, "message: %r" % err)
    print("--logdir is a file: %s" % err)
    health_ok(d)
    os.unlink(d.logdir)
    next_job_ok(d, "the log dir came back")


def test_readonly(d):
    mount("--bind", d.logdir, d.logdir)
    try:
        mount("-o", "remount,bind,ro", d.logdir)
        j = d.submit(TINY_JOB)
        f = wait_final(d, j["id"])
        err = f.get("error") or ""
        check_eq(f["state"], "failed", "a job fails on a read-only log dir")
        check("Read-only file system" in err and d.logdir in err, "message: %r" % err)
        print("read-only log dir: %s" % err)
        health_ok(d)
        mount("-o", "remount,bind,rw", d.logdir)
        next_job_ok(d, "a read-write remount")
    finally:
        umount(d.logdir)


def main():
    ns = in_private_mounts()
    root = tmpdir("faults-logdir")
    try:
        d = EnvDaemon(root, "--workers", "1", "--data-dir", tiny_data_dir(root)).start()
        try:
            test_vanish(d)
            if ns:
                test_readonly(d)
            else:
                print("read-only log dir: SKIPPED (no private mount namespace here)")
            next_job_ok(d, "everything")
        finally:
            rc, _ = d.stop()
            check_eq(rc, 0, "clean exit")
        check_eq(integrity(d.db), "ok", "database intact")
    finally:
        cleanup(root)
    return summary("test_faults_logdir")


if __name__ == "__main__":
    sys.exit(main())
