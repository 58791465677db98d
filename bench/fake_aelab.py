#!/usr/bin/python3
"""A stand-in for `aelab train` on a compute node, for bench/bench_slurm.py's
scale phase: it takes the same command line (only --progress matters) and
writes progress lines (CONTRACTS.md A) at a known rate, so aelabd's cost per
line can be measured without training.  Timing comes from the environment
(sbatch exports aelabd's): until FAKE_T1 (Unix time) only the start line;
from FAKE_T1 to FAKE_T2 FAKE_RATE epoch lines a second, each after one batch
line; likewise from FAKE_T3 to FAKE_T4; then end "succeeded"."""
import json
import os
import sys
import time


def main():
    args = sys.argv[1:]
    path = args[args.index("--progress") + 1]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    epoch = 0

    def put(o):
        os.write(fd, (json.dumps(o) + "\n").encode())

    put({"event": "start", "time": time.time(), "node": os.environ.get("SLURMD_NODENAME", "?"),
         "pid": os.getpid(), "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
         "restart": 0, "start_epoch": 0, "epochs": 100000})
    rate = float(os.environ["FAKE_RATE"])
    for a, b in ((os.environ["FAKE_T1"], os.environ["FAKE_T2"]),
                 (os.environ["FAKE_T3"], os.environ["FAKE_T4"])):
        a, b = float(a), float(b)
        while time.time() < a:
            time.sleep(min(0.2, a - time.time()) if a > time.time() else 0)
        n = 0
        while time.time() < b:
            epoch += 1
            n += 1
            t = time.time()
            put({"event": "batch", "time": t, "epoch": epoch, "epochs": 100000, "batch": 10,
                 "batches": 10, "samples": 1000, "loss": 0.25})
            put({"event": "epoch", "time": t, "epoch": epoch, "loss": 0.25, "val_loss": 0.26,
                 "train_seconds": 0.01, "val_seconds": 0.001})
            delay = a + n / rate - time.time()
            if delay > 0:
                time.sleep(delay)
    put({"event": "end", "time": time.time(), "status": "succeeded"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
