#!/usr/bin/env python3
"""A data set that is missing or corrupt when its job starts (damaged after
the daemon started, before the data set was first loaded).

Each case damages one of the four IDX files of a private copy of the tiny
fixture (used as "mnist"), runs a job, and expects it to fail with the
loader's message naming that file; the daemon answers health; the file is
restored, and the next case runs.  Cases: truncated plain file, empty
file, truncated gzip stream, garbage instead of gzip, a header that claims
more items than the file holds, a wrong magic number, label and image
counts that disagree, and a file removed between submission and start
(submissions are refused while a file is missing, so a blocker on the
other data set keeps the job queued while the file goes).  Then a job on
the repaired files succeeds, and, since a loaded data set is shared from
memory, damage after that first load does not affect later jobs.
"""
import gzip
import os
import shutil
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from aelabd_harness import check, check_eq, cleanup, summary, tmpdir  # noqa: E402
from faults_harness import (TINY, TINY_JOB, EnvDaemon, health_ok, integrity,  # noqa: E402
                            wait_final)

TRAIN_IMG = "train-images-idx3-ubyte"          # plain in the fixture
TRAIN_LBL = "train-labels-idx1-ubyte.gz"
TEST_IMG = "t10k-images-idx3-ubyte.gz"
TEST_LBL = "t10k-labels-idx1-ubyte"            # plain


def truncate(path, n):
    with open(path, "r+b") as f:
        f.truncate(n)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def rewrite_gz(path, fn):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    with gzip.open(path, "wb") as f:
        f.write(fn(raw))


CASES = [
    ("truncated plain file", TRAIN_IMG, lambda p: truncate(p, 1000)),
    ("empty file", TRAIN_IMG, lambda p: truncate(p, 0)),
    ("truncated gzip stream", TEST_IMG, lambda p: truncate(p, os.path.getsize(p) // 2)),
    ("garbage instead of gzip", TRAIN_LBL, lambda p: write(p, b"this is not an IDX file\n" * 4)),
    ("header claims more items", TEST_LBL,
     lambda p: write(p, struct.pack(">II", 0x801, 1000) + b"\x01" * 32)),
    ("wrong magic number", TEST_LBL,
     lambda p: write(p, struct.pack(">II", 0x803, 32) + b"\x01" * 32)),
    ("label count differs from image count", TRAIN_LBL,
     lambda p: rewrite_gz(p, lambda raw: struct.pack(">II", 0x801, 60) + raw[8:68])),
]


def main():
    root = tmpdir("faults-data")
    try:
        data = os.path.join(root, "data")
        mnist = os.path.join(data, "mnist")
        shutil.copytree(TINY, mnist)
        shutil.copytree(TINY, os.path.join(data, "fashion-mnist"))
        d = EnvDaemon(root, "--workers", "1", "--data-dir", data).start()
        try:
            for what, name, damage in CASES:
                path = os.path.join(mnist, name)
                damage(path)
                j = d.submit(TINY_JOB)
                f = wait_final(d, j["id"])
                err = f.get("error") or ""
                check_eq(f["state"], "failed", "%s: the job fails" % what)
                check(name.replace(".gz", "") in err, "%s: the error names %s: %r"
                      % (what, name, err))
                print("%-36s %s" % (what + ":", err))
                health_ok(d)
                shutil.copy(os.path.join(TINY, name), path)

            # Removed between submission and start.
            blocker = d.submit(dict(TINY_JOB, dataset="fashion-mnist", epochs=100000))
            d.wait_state(blocker["id"], ("running",))
            victim = d.submit(TINY_JOB)
            gone = os.path.join(mnist, TEST_LBL)
            os.unlink(gone)
            r = d.post("/api/jobs", TINY_JOB)
            check_eq(r.status, 400, "submissions refused while a file is missing")
            check("mnist" in ((r.json() or {}).get("detail") or ""), "message: %r" % r)
            check_eq(d.post("/api/jobs/%d/cancel" % blocker["id"]).status, 202, "cancel blocker")
            f = wait_final(d, victim["id"])
            err = f.get("error") or ""
            check_eq(f["state"], "failed", "file removed before the start: the job fails")
            check("mnist" in err and (mnist + "/ lacks t10k-labels-idx1-ubyte;") in err,
                  "the error names the data set and the missing file: %r" % err)
            print("%-36s %s" % ("removed before the job started:", err))
            health_ok(d)
            shutil.copy(os.path.join(TINY, TEST_LBL), gone)

            ok = d.submit(TINY_JOB)
            check_eq(wait_final(d, ok["id"])["state"], "succeeded", "repaired files: job succeeds")
            # Loaded once, shared from memory: later damage is not read.
            truncate(os.path.join(mnist, TRAIN_IMG), 10)
            again = d.submit(TINY_JOB)
            check_eq(wait_final(d, again["id"])["state"], "succeeded",
                     "a loaded data set is served from memory")
        finally:
            rc, _ = d.stop()
            check_eq(rc, 0, "clean exit")
        check_eq(integrity(d.db), "ok", "database intact")
    finally:
        cleanup(root)
    return summary("test_faults_data")


if __name__ == "__main__":
    sys.exit(main())
