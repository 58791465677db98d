#!/usr/bin/python3
"""test_cli_progress.py - `aelab train --run-dir/--job-id/--progress`, the
CLI side of running aelabd's jobs elsewhere (issue 11, Slurm).

  * a --run-dir run writes a progress file whose lines all parse: start,
    batch lines, one epoch line per epoch with the --json output's values,
    end "succeeded"; its run directory has the same entries as a real
    aelabd job's with the same spec (and the same losses);
  * SIGTERM after the first batch line: exit 0, end "suspended", checkpoint
    kept, nothing on stdout about resuming; the same command again resumes
    (start_epoch = epochs done) and ends with exactly the losses of an
    uninterrupted run in another directory;
  * usage errors (exit 2, naming both flags) and a data error (exit 1, end
    "failed" with the error).
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import aelabd_harness as H  # noqa: E402
from aelabd_harness import Daemon, check, check_eq, cleanup, summary, tmpdir  # noqa: E402

SPEC = ["--model", "simple", "--epochs", "2", "--train-size", "600", "--test-size", "200",
        "--batch-size", "100", "--threads", "1"]


def aelab(*args, cwd=None, timeout=300):
    p = subprocess.run([H.AELAB_CLI, "train", *args], capture_output=True, text=True,
                       timeout=timeout, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def lines_of(path):
    """Every whole line of a progress file, parsed (a line that does not
    parse fails the test and is skipped)."""
    out = []
    with open(path, encoding="utf-8") as f:
        text = f.read()
    check(text.endswith("\n"), "progress file ends with a whole line")
    for line in text.split("\n")[:-1]:
        try:
            out.append(json.loads(line))
        except ValueError:
            check(False, "progress line does not parse: %r" % line)
    return out


def entries(run_dir):
    """A run directory's entries, event files as one pattern."""
    names = set()
    for root, _, files in os.walk(run_dir):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), run_dir)
            names.add("events.out.tfevents.*" if "tfevents" in f else rel)
    return names


def check_lines(lines, epochs, json_epochs):
    check(all(isinstance(x.get("time"), float) for x in lines), "every line has a time")
    check_eq(lines[0]["event"], "start", "first line")
    st = lines[0]
    check_eq((st["start_epoch"], st["epochs"], st["pid"] > 0, st["restart"]),
             (0, epochs, True, 0), "start line")
    check("slurm_job_id" in st and isinstance(st.get("node"), str) and st["node"],
          "start line: node and slurm_job_id")
    batches = [x for x in lines if x["event"] == "batch"]
    check(len(batches) >= epochs, "batch lines (%d)" % len(batches))
    for e in range(1, epochs + 1):
        last = [b for b in batches if b["epoch"] == e]
        check(last and last[-1]["batch"] == last[-1]["batches"] == 6 and
              last[-1]["samples"] == 600, "epoch %d's last batch line %r" % (e, last[-1:]))
    ep = [x for x in lines if x["event"] == "epoch"]
    check_eq([x["epoch"] for x in ep], list(range(1, epochs + 1)), "one epoch line per epoch")
    for x, j in zip(ep, json_epochs):
        for k in ("loss", "val_loss", "train_seconds", "val_seconds"):
            check_eq(x.get(k), j.get(k), "epoch %d %s: progress vs --json" % (x["epoch"], k))
    check_eq(lines[-1]["event"], "end", "last line")
    check_eq(lines[-1].get("status"), "succeeded", "end status")


def case_run_dir(root):
    # A daemon job with the same spec, for its run directory and losses.
    d = Daemon(root).start()
    try:
        spec = {"model": "simple", "epochs": 2, "train_size": 600, "test_size": 200,
                "batch_size": 100, "threads": 1}
        jid = d.submit(spec)["id"]
        job = d.wait_state(jid, ("succeeded", "failed"))
    finally:
        d.stop()
    check_eq(job.get("state"), "succeeded", "daemon job")

    run = os.path.join(root, "cli", "0007-simple")
    prog = os.path.join(root, "cli", "progress.jsonl")
    rc, out, err = aelab(*SPEC, "--data-dir", H.MNIST, "--run-dir", run, "--job-id", "7",
                         "--run-name", "0007-simple", "--progress", prog, "--json")
    check_eq(rc, 0, "--run-dir run exit status (stderr %r)" % err)
    js = [json.loads(x) for x in out.splitlines() if x.strip()]
    json_epochs = [x for x in js if "epoch" in x]
    check(js and js[-1].get("done") is True, "--json summary line")
    check_lines(lines_of(prog), 2, json_epochs)

    want = {"checkpoint.aeck", "weights/epoch-0001.aew", "weights/epoch-0002.aew",
            "events.out.tfevents.*"}
    check_eq(entries(run), want, "CLI run directory")
    if job.get("run_dir"):
        check_eq(entries(run), entries(job["run_dir"]), "CLI run dir vs daemon run dir")
    check_eq([m["loss"] for m in job.get("metrics", [])], [x["loss"] for x in json_epochs],
             "losses: CLI --run-dir vs the daemon")
    ev = [f for f in os.listdir(run) if "tfevents" in f]
    recs = H.read_events(os.path.join(run, ev[0])) if ev else []
    steps = sorted({r["step"] for r in recs if "loss" in r["values"]})
    check_eq(steps, [1, 2], "loss scalars in the event file")


def first_batch_then_term(argv, prog, timeout=120):
    """Start the CLI, SIGTERM it once a batch line is in the progress file;
    (returncode, stdout, stderr)."""
    p = subprocess.Popen([H.AELAB_CLI, "train", *argv], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while p.poll() is None and time.time() - t0 < timeout:
        try:
            with open(prog, encoding="utf-8") as f:
                if '"event":"batch"' in f.read():
                    p.send_signal(signal.SIGTERM)
                    break
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, err


def case_sigterm(root):
    # Long enough that SIGTERM lands mid-run: 60,000 images in batches of 50.
    spec = ["--model", "simple", "--epochs", "3", "--batch-size", "50", "--threads", "1",
            "--test-size", "200", "--data-dir", H.MNIST, "--json"]
    ref_dir = os.path.join(root, "ref")
    rc, out, err = aelab(*spec, "--run-dir", ref_dir)
    check_eq(rc, 0, "uninterrupted run (stderr %r)" % err)
    ref = [json.loads(x) for x in out.splitlines() if x.strip()]
    ref_losses = [(x["epoch"], x["loss"], x["val_loss"]) for x in ref if "epoch" in x]

    for attempt in range(3):
        run = os.path.join(root, "run%d" % attempt)
        prog = os.path.join(root, "progress%d.jsonl" % attempt)
        argv = spec + ["--run-dir", run, "--progress", prog]
        rc, out, err = first_batch_then_term(argv, prog)
        lines = lines_of(prog)
        if lines and lines[-1].get("status") == "succeeded":
            continue  # the machine stalled and the run finished first: again
        break
    else:
        check(False, "SIGTERM never landed before the run finished")
        return
    check_eq(rc, 0, "exit status after SIGTERM (stderr %r)" % err)
    check_eq(lines[-1].get("event"), "end", "last line after SIGTERM")
    check_eq(lines[-1].get("status"), "suspended", "end status after SIGTERM")
    check("resume" not in out.lower() and '"done"' not in out, "stdout quiet: %r" % out)
    check(os.path.exists(os.path.join(run, "checkpoint.aeck")), "checkpoint kept")
    done = len([x for x in lines if x["event"] == "epoch"])
    check(done < 3, "suspended before the end (%d epochs done)" % done)

    n_before = len(lines)
    rc, out, err = aelab(*argv)
    check_eq(rc, 0, "resumed run (stderr %r)" % err)
    lines = lines_of(prog)
    again = lines[n_before:]
    check(again and again[0]["event"] == "start", "resumed run starts with a start line")
    if again:
        check_eq(again[0].get("start_epoch"), done, "start_epoch = epochs done")
    check_eq(again[-1].get("status") if again else None, "succeeded", "resumed end status")
    # Every epoch's last line (a resume replays the checkpoint's epochs).
    last = {}
    for x in lines:
        if x["event"] == "epoch":
            last[x["epoch"]] = (x["epoch"], x["loss"], x["val_loss"])
    check_eq([last[k] for k in sorted(last)], ref_losses,
             "interrupted + resumed == uninterrupted (progress file)")
    js = [json.loads(x) for x in out.splitlines() if x.strip()]
    check_eq([(x["epoch"], x["loss"], x["val_loss"]) for x in js if "epoch" in x],
             ref_losses[done:], "resumed --json lines == uninterrupted run's")


def case_errors(root):
    base = SPEC + ["--data-dir", H.MNIST]
    run = os.path.join(root, "rd")
    for extra, flag in ((["--logdir", root], "--logdir"),
                        (["--checkpoint", os.path.join(root, "c.aeck")], "--checkpoint"),
                        (["--resume", os.path.join(root, "c.aeck")], "--resume")):
        rc, _, err = aelab(*base, "--run-dir", run, *extra)
        check_eq(rc, 2, "--run-dir with %s: exit status" % flag)
        check("--run-dir" in err and flag in err, "message names both: %r" % err)
    for extra in (["--progress", os.path.join(root, "p")], ["--job-id", "3"],
                  ["--run-name", "x"]):
        rc, _, err = aelab(*base, *extra)
        check_eq(rc, 2, "%s without --run-dir" % extra[0])
        check(extra[0] in err and "--run-dir" in err, "message: %r" % err)
    for bad in ("0", "-1", "x", "12y"):
        rc, _, err = aelab(*base, "--run-dir", run, "--job-id", bad)
        check_eq(rc, 2, "--job-id %s" % bad)
        check("--job-id" in err, "message: %r" % err)
    check(not os.path.exists(run), "no run directory after usage errors")

    # A data error: exit 1, end line "failed" with the error's text.
    empty = os.path.join(root, "nodata")
    os.makedirs(empty)
    prog = os.path.join(root, "fail.jsonl")
    rc, _, err = aelab(*SPEC, "--data-dir", empty, "--run-dir", run, "--progress", prog)
    check_eq(rc, 1, "missing data: exit status")
    lines = lines_of(prog)
    end = lines[-1] if lines else {}
    check_eq((end.get("event"), end.get("status")), ("end", "failed"), "end line on data error")
    check(end.get("error") and end["error"] in err, "error text %r in stderr %r"
          % (end.get("error"), err))

    # A checkpoint written for other settings: failed, as the daemon's worker.
    rc, _, err = aelab(*SPEC, "--data-dir", H.MNIST, "--run-dir", run)
    check_eq(rc, 0, "plain --run-dir run (stderr %r)" % err)
    prog = os.path.join(root, "mismatch.jsonl")
    rc, _, err = aelab(*[v if v != "100" else "50" for v in SPEC], "--data-dir", H.MNIST,
                       "--run-dir", run, "--progress", prog)
    check_eq(rc, 1, "checkpoint of other settings: exit status")
    end = (lines_of(prog) or [{}])[-1]
    check(end.get("status") == "failed" and "different configuration" in end.get("error", ""),
          "end line names the mismatch: %r" % end)


def main():
    if not H.AELAB_CLI or not os.path.isdir(H.MNIST):
        print("SKIP: needs AELAB_CLI and MNIST")
        return 77
    for case in (case_run_dir, case_sigterm, case_errors):
        root = tmpdir("cliprog")
        try:
            case(root)
        finally:
            cleanup(root)
    return summary("test_cli_progress")


if __name__ == "__main__":
    sys.exit(main())
