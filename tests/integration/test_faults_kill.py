#!/usr/bin/env python3
"""SIGKILL of aelabd at many moments, each followed by a restart on the same
--db and --logdir.

Jobs of four kinds (simple, conv, denoise, vae) on a 2000-image slice of
MNIST are submitted by a client thread at random intervals while two
workers train.  Each cycle starts the daemon, waits for one kind of
moment, and kills it with SIGKILL:

  random      a uniformly random moment in the first 1.5 s
  submission  while a POST /api/jobs is in flight (0-3 ms after it left),
              0.1-0.8 s after the start
  checkpoint  while a weights or checkpoint file is being written (a
              *.tmp file seen in a run directory), i.e. in the per-epoch
              writes that the database commit follows, 0.1-0.8 s after
              the start

After every kill, with the daemon down: the database passes PRAGMA
integrity_check, every job the client got a 201 for is in it, and every
event file written during the cycle reads back with `aelab events --json`
with at most one torn trailing record.  At the end the daemon runs until
every job is final: each acknowledged job succeeded, its per-epoch losses
equal an uninterrupted run of the same spec (run first, before any kill),
and TensorBoard's view of its event files (a SessionLog START at step s
drops earlier records from step s on) shows each epoch's loss once, equal
to the reference.

Cycles: $AELAB_KILL_CYCLES (meson sets 12, 6 under a sanitizer; README's
figures come from 50), or the first argument.  Seed: $AELAB_KILL_SEED
(printed; default random).  Job size: $AELAB_KILL_SCALE (see below).
"""
import gzip
import os
import random
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from aelabd_harness import MNIST, check, check_eq, cleanup, read_events, summary, tmpdir  # noqa
from faults_harness import (EVENT_FILES, EnvDaemon, db_jobs, events_readable,  # noqa: E402
                            integrity)

SPECS = {
    "simple": {"model": "simple", "epochs": 8, "train_size": 2000, "test_size": 200,
               "batch_size": 32, "threads": 1, "seed": 11},
    "conv": {"model": "conv", "epochs": 3, "train_size": 1000, "test_size": 200,
             "batch_size": 50, "threads": 1, "seed": 12},
    "denoise": {"model": "denoise", "epochs": 3, "train_size": 1000, "test_size": 200,
                "batch_size": 50, "threads": 1, "seed": 13},
    "vae": {"model": "vae", "epochs": 3, "train_size": 1000, "test_size": 200,
            "batch_size": 50, "threads": 1, "seed": 14},
}
KINDS = ("random", "submission", "checkpoint")

# $AELAB_KILL_SCALE shrinks the training sets (meson sets 0.2 in sanitizer
# builds, where training is 10-50x slower).
_scale = float(os.environ.get("AELAB_KILL_SCALE", "1"))
for _spec in SPECS.values():
    _spec["train_size"] = max(200, int(_spec["train_size"] * _scale))


def mnist_slice(root, n_train=2000, n_test=200):
    """root/data/mnist: the first images of the real MNIST files, plain IDX."""
    out = os.path.join(root, "data", "mnist")
    os.makedirs(out)
    for name, n in (("train-images-idx3-ubyte", n_train), ("train-labels-idx1-ubyte", n_train),
                    ("t10k-images-idx3-ubyte", n_test), ("t10k-labels-idx1-ubyte", n_test)):
        with gzip.open(os.path.join(MNIST, name + ".gz"), "rb") as f:
            raw = f.read()
        if struct.unpack(">I", raw[:4])[0] == 0x803:
            data = struct.pack(">IIII", 0x803, n, 28, 28) + raw[16:16 + n * 784]
        else:
            data = struct.pack(">II", 0x801, n) + raw[8:8 + n]
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    return os.path.dirname(out)


def losses(j):
    return [(m["epoch"], m["loss"], m["val_loss"]) for m in j["metrics"]]


class Client:
    """Submits jobs at random intervals; remembers which got a 201."""

    def __init__(self, d, rng, acked, lock):
        self.d, self.rng, self.acked, self.lock = d, rng, acked, lock
        self.in_flight = threading.Event()
        self.stop = threading.Event()
        self.sent = self.unanswered = 0
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            time.sleep(self.rng.uniform(0.02, 0.3))
            if self.stop.is_set():
                return
            kind = self.rng.choice(sorted(SPECS))
            self.in_flight.set()
            try:
                r = self.d.post("/api/jobs", SPECS[kind], timeout=10)
                if r.status == 201:
                    with self.lock:
                        self.acked[r.json()["id"]] = kind
                self.sent += 1
            except OSError:
                self.unanswered += 1
            finally:
                self.in_flight.clear()


def tmp_writing(logdir):
    """Is a weights or checkpoint file being written (a *.tmp present)?"""
    try:
        for run in os.scandir(logdir):
            if not run.is_dir():
                continue
            if os.path.exists(os.path.join(run.path, "checkpoint.aeck.tmp")):
                return True
            w = os.path.join(run.path, "weights")
            try:
                if any(e.name.endswith(".tmp") for e in os.scandir(w)):
                    return True
            except OSError:
                pass
    except OSError:
        pass
    return False


def wait_moment(d, kind, client, rng):
    """Wait for the kind of moment; returns whether it was seen."""
    if kind == "random":
        time.sleep(rng.uniform(0.05, 1.5))
        return True
    time.sleep(rng.uniform(0.1, 0.8))  # let some jobs be submitted and start
    t0 = time.time()
    while time.time() - t0 < 5:
        if kind == "submission" and client.in_flight.is_set():
            time.sleep(rng.uniform(0, 0.003))
            return True
        if kind == "checkpoint" and tmp_writing(d.logdir):
            return True
        time.sleep(0.0005 if kind == "submission" else 0)
    return False


def event_files(logdir):
    out = []
    for run in sorted(os.listdir(logdir)):
        p = os.path.join(logdir, run)
        if os.path.isdir(p):
            out += [os.path.join(p, f) for f in os.listdir(p) if "tfevents" in f]
    return out


def tensorboard_view(run_dir):
    """{step: loss} as TensorBoard shows the run: files in name order, a
    SessionLog START at step s drops what came before from step s on."""
    shown = {}
    for f in sorted(x for x in os.listdir(run_dir) if "tfevents" in x):
        for r in read_events(os.path.join(run_dir, f)):
            if r.get("session_log") == 1:
                shown = {s: v for s, v in shown.items() if s < r["step"]}
            elif "loss" in r["values"]:
                check(r["step"] not in shown, "%s: step %d twice" % (run_dir, r["step"]))
                shown[r["step"]] = r["values"]["loss"]
    return shown


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def main():
    cycles = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("AELAB_KILL_CYCLES", "12"))
    seed = int(os.environ.get("AELAB_KILL_SEED", str(random.randrange(1 << 30))))
    rng = random.Random(seed)
    print("kill cycles: %d, seed %d" % (cycles, seed))
    root = tmpdir("faults-kill")
    acked, lock = {}, threading.Lock()
    try:
        data = mnist_slice(root)
        args = ("--workers", "2", "--data-dir", data)

        # References: each spec uninterrupted.
        d = EnvDaemon(root, *args).start()
        refs, ref_ids = {}, set()
        for kind, spec in sorted(SPECS.items()):
            jid = d.submit(spec)["id"]
            j = d.wait_state(jid, ("succeeded", "failed"), timeout=300)
            check_eq(j["state"], "succeeded", "reference %s" % kind)
            refs[kind] = losses(j)
            print("reference %s: %.2f s" % (kind, j["duration_seconds"]))
            ref_ids.add(jid)
        d.stop()

        seen = {k: 0 for k in KINDS}
        tried = {k: 0 for k in KINDS}
        running_at_kill = 0
        t_start = time.time()
        for i in range(cycles):
            kind = KINDS[i % len(KINDS)]
            d = EnvDaemon(root, *args).start()
            c_t0 = time.time()
            client = Client(d, rng, acked, lock)
            client.t.start()
            tried[kind] += 1
            seen[kind] += wait_moment(d, kind, client, rng)
            d.kill9()
            client.stop.set()
            client.t.join()

            check_eq(integrity(d.db), "ok", "cycle %d (%s): database intact after kill -9"
                     % (i, kind))
            stored = db_jobs(d.db)
            with lock:
                lost = sorted(set(acked) - set(stored))
            check(not lost, "cycle %d: acknowledged jobs missing after kill -9: %r" % (i, lost))
            running_at_kill += any(st == "running" for st, _ in stored.values())
            for f in event_files(d.logdir):
                if os.path.getmtime(f) >= c_t0 - 1:
                    events_readable(f)

        # Let everything finish.
        kill_secs = time.time() - t_start
        d = EnvDaemon(root, *args).start()
        try:
            stored = db_jobs(d.db)
            with lock:
                mine = dict(acked)
            extra = sorted(set(stored) - set(mine) - ref_ids)
            for jid in sorted(mine):
                j = d.wait_state(jid, ("succeeded", "failed", "cancelled"), timeout=600)
                if not check_eq(j and j["state"], "succeeded", "job %d (%s)" % (jid, mine[jid])):
                    print("job %d error: %r" % (jid, j and j.get("error")))
                    continue
                check_eq(losses(j), refs[mine[jid]],
                         "job %d (%s): losses equal the uninterrupted run's" % (jid, mine[jid]))
                view = tensorboard_view(j["run_dir"])
                want = {e: f32(l) for e, l, _ in refs[mine[jid]]}
                check_eq(view, want, "job %d: TensorBoard's view of the event files" % jid)
            for jid in extra:
                d.wait_state(jid, ("succeeded", "failed", "cancelled"), timeout=600)
            EVENT_FILES.update(whole=0, empty=0, torn=0)
            for f in event_files(d.logdir):
                events_readable(f)
            # A job's event files: one per (re)start.
            n_files = [sum("tfevents" in x for x in
                           os.listdir(d.get("/api/jobs/%d" % jid).json()["run_dir"]))
                       for jid in mine]
            resumed = sum(1 for n in n_files if n > 1)
            interrupted = sum(n - 1 for n in n_files if n > 1)
        finally:
            rc, _ = d.stop()
            check_eq(rc, 0, "clean exit at the end")
        check_eq(integrity(d.db), "ok", "database intact at the end")
        print("figures: %d SIGKILLs in %.0f s (moment seen/tried: %s), %d with a job "
              "training; %d jobs acknowledged, %d lost; %d runs interrupted in %d jobs, "
              "each restarted from its checkpoint (or from scratch) and finished with the "
              "reference losses; %d more jobs committed without an answer (killed "
              "mid-request), all finished; event files at the end: %d whole, %d empty (killed "
              "right after creating them), %d with a torn trailing record (and nothing else "
              "wrong)"
              % (cycles, kill_secs,
                 ", ".join("%s %d/%d" % (k, seen[k], tried[k]) for k in KINDS),
                 running_at_kill, len(mine), len(set(mine) - set(db_jobs(d.db))), interrupted,
                 resumed, len(extra), EVENT_FILES["whole"], EVENT_FILES["empty"],
                 EVENT_FILES["torn"]))
    finally:
        cleanup(root)
    return summary("test_faults_kill")


if __name__ == "__main__":
    sys.exit(main())
