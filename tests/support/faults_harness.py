"""Helpers shared by the fault, kill and hostile-client tests
(tests/integration/test_faults_*.py, test_hostile*.py): a daemon started
with extra environment, the tiny data set as "mnist", the database's own
integrity check, event files read back through `aelab events --json`, and
a private mount namespace for tmpfs and read-only bind mounts.

Standard library only; builds on aelabd_harness.
"""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time

from aelabd_harness import AELAB_CLI, SOURCE_ROOT, Daemon, check

TINY = os.path.join(SOURCE_ROOT, "tests", "fixtures", "idx", "tiny")

# A job that trains in a blink on the tiny fixture (64 train, 32 test images).
TINY_JOB = {"model": "simple", "epochs": 2, "train_size": 64, "test_size": 32,
            "batch_size": 16, "threads": 1, "seed": 5}


def tiny_data_dir(root, copy=False):
    """root/data/mnist holding the tiny fixture (copied when the test will
    damage it, else a symlink).  Returns the --data-dir value."""
    d = os.path.join(root, "data")
    m = os.path.join(d, "mnist")
    os.makedirs(d, exist_ok=True)
    if copy:
        shutil.copytree(TINY, m)
    else:
        os.symlink(TINY, m)
    return d


class EnvDaemon(Daemon):
    """A Daemon whose process gets extra environment variables, with its
    data dir given by the caller (--data-dir in extra) and optional paths
    for --logdir and --db."""

    def __init__(self, root, *extra, env=None, logdir=None, db=None):
        Daemon.__init__(self, root, *extra, data=False)
        self.env = dict(env or {})
        if logdir:
            self.logdir = logdir
        if db:
            self.db = db

    def start(self, timeout=30):
        saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            return Daemon.start(self, timeout)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def integrity(db):
    c = sqlite3.connect(db, timeout=10)
    try:
        return c.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        c.close()


def db_jobs(db):
    """{id: (state, error)} as stored."""
    c = sqlite3.connect(db, timeout=10)
    try:
        return {r[0]: (r[1], r[2]) for r in c.execute("SELECT id, state, error FROM jobs")}
    finally:
        c.close()


def log_lines(d, needle):
    return [ln for ln in d.log_text().splitlines() if needle in ln]


def log_fields(line):
    """key=value pairs of one log line (values unquoted)."""
    out = {}
    for k, v in re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', line):
        out[k] = v[1:-1] if v.startswith('"') else v
    return out


def wait_final(d, jid, timeout=120):
    return d.wait_state(jid, ("succeeded", "failed", "cancelled"), timeout=timeout)


def health_ok(d):
    try:
        r = d.get("/api/health", timeout=10)
    except OSError as e:
        return check(False, "health probe: %s" % e)
    return check(r.status == 200, "health -> %r" % r)


def cli_events(path):
    """`aelab events --json FILE` (one JSON object per line, the last one
    the summary): returns (exit status, records, damage entries, summary),
    or None when the CLI is not built.  A line that is not JSON is reported
    as damage."""
    if not AELAB_CLI or not os.path.exists(AELAB_CLI):
        return None
    p = subprocess.run([AELAB_CLI, "events", "--json", path], capture_output=True, timeout=60)
    recs, damage, summ = [], [], None
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        try:
            o = json.loads(line)
        except ValueError:
            damage.append({"error": "not JSON", "line": line[:200]})
            continue
        if o.get("end"):
            summ = o
        elif "error" in o:
            damage.append(o)
        else:
            recs.append(o)
    return p.returncode, recs, damage, summ


# Files events_readable found whole, empty, and with a torn trailing record.
EVENT_FILES = {"whole": 0, "empty": 0, "torn": 0}


def events_readable(path):
    """True when `aelab events --json` reads path with at most one torn
    trailing record and no other damage (checked, with the reason)."""
    r = cli_events(path)
    if r is None:
        return True
    rc, recs, damage, summ = r
    ok = summ is not None and len(damage) <= 1 and summ.get("damaged", 0) == len(damage)
    if damage:
        ok = ok and damage[0].get("error") == "truncated" and bool(summ.get("truncated"))
    # An empty file is whole: a kill can land between its creation and its
    # first record (TensorBoard skips it).
    EVENT_FILES["torn" if damage else "empty" if not recs else "whole"] += 1
    return check(ok,
                 "%s: rc=%d records=%d damage=%r summary=%r" % (path, rc, len(recs), damage[:2],
                                                                summ))


def in_private_mounts():
    """Re-run this script inside `unshare -m` (a private mount namespace) so
    it may mount tmpfs and bind mounts that vanish with it.  Returns True
    when running inside one; False when unshare is not possible (not root,
    no user namespaces): the caller then falls back."""
    if os.environ.get("AELAB_FAULTS_NS") == "1":
        return True
    if os.environ.get("AELAB_FAULTS_NO_NS") == "1":  # to try the fallbacks
        return False
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                           capture_output=True)
    if probe.returncode != 0:
        return False
    env = dict(os.environ, AELAB_FAULTS_NS="1")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe("unshare", ["unshare", "-m", "--propagation", "private",
                           sys.executable] + sys.argv, env)
    return False  # not reached


def mount(*args):
    p = subprocess.run(["mount"] + list(args), capture_output=True, text=True)
    if p.returncode != 0:
        raise OSError("mount %s: %s" % (" ".join(args), p.stderr.strip()))


def umount(path):
    subprocess.run(["umount", "-l", path], capture_output=True)


def wait_until(pred, timeout=60, step=0.02):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None
