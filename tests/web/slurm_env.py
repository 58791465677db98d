#!/usr/bin/env python3
"""A private two-node Slurm cluster and `aelabd --executor slurm` on it, for
a browser test (tests/web/slurm.test.mjs) to drive.

Starts the cluster (tests/support/slurm_cluster.py) and aelabd (through
tests/support/aelabd_harness.py: 127.0.0.1 port 0, a fresh temp --db and
--logdir, the repository's MNIST, the repository's web/ as --web-root),
then prints one JSON line on stdout:

  {"base": "http://127.0.0.1:PORT", "nodes": ["node1", "node2"]}

and then reads commands, one a line, answering each with a JSON line:

  hold      the partition goes DOWN: Slurm takes jobs but starts none
  release   the partition goes UP again
  -> {"ok": "hold"} or {"error": "..."}

so a test can have a job wait in Slurm's queue until it is ready to watch
it start.  When its stdin closes, or on SIGTERM/SIGINT, it stops aelabd,
then every process of the cluster (by pid, as SlurmCluster.close does), and
removes its temp dirs.  On a start failure it prints {"error": "..."} and
exits 1; when not root or Slurm/munge is missing it prints {"skip": "..."}
and exits 77.

Usage: slurm_env.py --aelabd PATH --source-root DIR
"""
import argparse
import json
import os
import shutil
import signal
import sys


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def command(cluster, partition, cmd):
    """One command from the test; the answer to print."""
    states = {"hold": "DOWN", "release": "UP"}
    if cmd not in states:
        return {"error": "unknown command %r (hold, release)" % cmd}
    r = cluster.run(["scontrol", "update", "PartitionName=%s" % partition,
                     "State=%s" % states[cmd]])
    if r.returncode != 0:
        return {"error": "scontrol: %s" % (r.stderr or r.stdout).strip()}
    return {"ok": cmd}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--aelabd", required=True)
    ap.add_argument("--source-root", required=True)
    a = ap.parse_args()
    if os.geteuid() != 0 or not shutil.which("slurmctld") or not shutil.which("munged"):
        say({"skip": "needs root, munge and Slurm (scripts/setup.sh)"})
        return 77
    # The harness reads these when imported.
    os.environ["AELABD"] = os.path.abspath(a.aelabd)
    os.environ["AELAB_SOURCE_ROOT"] = os.path.abspath(a.source_root)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "support"))
    from aelabd_harness import Daemon, cleanup, tmpdir
    from slurm_cluster import NODES, PARTITION, SlurmCluster

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    cluster = daemon = root = None
    try:
        try:
            cluster = SlurmCluster()
            cluster.start()
            root = tmpdir("slurmweb")
            web = os.path.join(os.path.abspath(a.source_root), "web")
            daemon = Daemon(root, "--executor", "slurm", "--web-root", web,
                            env=cluster.env)
            daemon.start()
        except Exception as e:  # noqa: BLE001 - reported to the test, then cleaned up
            say({"error": "%s: %s" % (type(e).__name__, e)})
            return 1
        say({"base": "http://127.0.0.1:%d" % daemon.port, "nodes": list(NODES),
             "log": daemon.log_path})
        # Commands until the test closes our stdin (or dies: the pipe
        # closes too).
        for line in sys.stdin:
            try:
                say(command(cluster, PARTITION, line.strip()))
            except Exception as e:  # noqa: BLE001 - the test reports it
                say({"error": "%s: %s" % (type(e).__name__, e)})
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if daemon is not None and daemon.proc is not None:
            daemon.stop()
        if cluster is not None:
            cluster.close()
        if root is not None:
            cleanup(root)


if __name__ == "__main__":
    sys.exit(main())
