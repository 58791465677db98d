"""aelabd and the repository's own data (issue 13): the main job of a fresh
clone trains the MNIST digits in data/mnist/ (mnist is the default data
set); a damaged copy of MNIST is refused with a message naming the file,
and the daemon goes on; and the start-up lines say how to get TensorBoard
when no `tensorboard` is on the PATH (and say nothing when one is)."""
import os
import shutil
import stat
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from aelabd_harness import (MNIST, SOURCE_ROOT, Daemon, check, check_eq, cleanup,  # noqa: E402
                            summary, tmpdir)

JOB = {"model": "simple", "epochs": 1, "train_size": 200, "test_size": 100,
       "batch_size": 100, "threads": 1}
INSTALL = "pip install tensorboard (or pipx install tensorboard), any 2.x"


def test_default_is_repo_mnist(root):
    """--data-dir at the repository's data/ (what ./data is from its root):
    a job naming no data set trains mnist."""
    d = Daemon(root, "--workers", "1", "--data-dir", os.path.join(SOURCE_ROOT, "data"),
               data=False).start()
    try:
        m = d.get("/api/models").json()
        check_eq(m["default_dataset"], "mnist", "default data set")
        check_eq(m["datasets"][0], {"name": "mnist", "installed": True}, "mnist installed")
        j = d.submit(dict(JOB))
        check_eq(j["dataset"], "mnist", "job without a data set gets mnist")
        j = d.wait_state(j["id"], ("succeeded", "failed"))
        check_eq(j["state"], "succeeded", "trained on data/mnist: %r" % j.get("error"))
    finally:
        rc, _ = d.stop()
        check_eq(rc, 0, "clean exit")


def test_damaged_copy(root):
    data = os.path.join(root, "data")
    copy = os.path.join(data, "mnist")
    shutil.copytree(MNIST, copy)
    bad = os.path.join(copy, "train-labels-idx1-ubyte.gz")
    os.chmod(bad, stat.S_IRUSR | stat.S_IWUSR)
    with open(bad, "r+b") as f:
        f.seek(4000)
        b = f.read(1)
        f.seek(4000)
        f.write(bytes([b[0] ^ 0x80]))
    d = Daemon(root, "--workers", "1", "--data-dir", data, data=False).start()
    try:
        r = d.post("/api/jobs", dict(JOB))
        if r.status == 201:
            j = d.wait_state(r.json()["id"], ("succeeded", "failed"))
            check_eq(j["state"], "failed", "job on a damaged copy")
            msg = j.get("error") or ""
        else:
            check_eq(r.status, 400, "refused at submit: %r" % r)
            msg = r.body.decode("utf-8", "replace")
        check(bad in msg and "SHA-256" in msg and "data/README.md" in msg,
              "the error names the file and the sums: %r" % msg)
        check_eq(d.get("/api/health").status, 200, "still serving")
    finally:
        rc, _ = d.stop()
        check_eq(rc, 0, "clean exit")


def start_with_path(root, path_dirs):
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(path_dirs)
    d = Daemon(root, "--workers", "1", env=env).start()
    rc, _ = d.stop()
    check_eq(rc, 0, "clean exit")
    return d.log_text()


def test_tensorboard_hint(root):
    empty = os.path.join(root, "bin-empty")
    with_tb = os.path.join(root, "bin-tb")
    os.makedirs(empty)
    os.makedirs(with_tb)
    tb = os.path.join(with_tb, "tensorboard")
    with open(tb, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(tb, 0o755)

    log = start_with_path(os.path.join(root, "a"), [empty])
    check("tensorboard not found on the PATH" in log, "log line without tensorboard:\n" + log)
    check(log.count(INSTALL) >= 2, "install line in the log and the start-up lines:\n" + log)

    log = start_with_path(os.path.join(root, "b"), [empty, with_tb])
    check("tensorboard not found" not in log and INSTALL not in log,
          "nothing said when tensorboard is on the PATH:\n" + log)


def main():
    root = tmpdir("data")
    try:
        for sub in ("default", "damaged", "a", "b"):
            os.makedirs(os.path.join(root, sub))
        test_default_is_repo_mnist(os.path.join(root, "default"))
        test_damaged_copy(os.path.join(root, "damaged"))
        test_tensorboard_hint(root)
    finally:
        cleanup(root)
    return summary("test_daemon_data")


if __name__ == "__main__":
    sys.exit(main())
