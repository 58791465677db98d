#!/usr/bin/python3
"""Integration tests of the real `aelab` binary.

Each case is one meson test (``--case NAME``); they run the binary on real
MNIST restricted with --train-size/--test-size, or on the tiny fixture, in a
fresh temp directory, and check what a user or the benchmark scripts would
rely on: the --json keys, falling and reproducible losses, resuming (also
after Ctrl-C in the middle of an epoch) with the same losses as an
uninterrupted run, usage errors with exit status 2, data errors with status
1, the summary tables against the tutorial's printed ones (written out
below as expected values), --logdir run directories (checked with proto's
tests/golden/decode_run.py), and the repository's MNIST: the default data
set, checked against its SHA-256 sums (a damaged copy is refused).
"""
import argparse
import gzip
import json
import os
import pty
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile

FAILED = 0
CHECKS = 0
SKIPPED = []  # parts that could not run; the test reports SKIP (77) if nothing failed


def check(cond, what):
    global FAILED, CHECKS
    CHECKS += 1
    if not cond:
        FAILED += 1
        print("FAIL:", what, file=sys.stderr)
    return cond


class Ctx:
    def __init__(self, a, tmp):
        self.aelab = a.aelab
        self.mnist = a.mnist
        self.fixture = a.fixture
        self.src = a.src
        self.tmp = tmp

    def run(self, *args, timeout=300, cwd=None):
        p = subprocess.run([self.aelab, *args], capture_output=True, text=True, timeout=timeout,
                           cwd=cwd or self.tmp)
        return p.returncode, p.stdout, p.stderr


# Small, fast, real: 2,000 MNIST training images, 500 test images.
SMALL = ["--data-dir", None, "--train-size", "2000", "--test-size", "500", "--threads", "1"]


def small(ctx, *extra):
    args = list(SMALL)
    args[1] = ctx.mnist
    return args + list(extra)


def json_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            out.append(json.loads(line))
    return out


def interrupted_run(ctx, make_argv, attempts=3):
    """Start `aelab train --json ...`, press Ctrl-C (SIGINT) as soon as epoch
    1's line is out, so the signal lands early in epoch 2, and return
    (returncode, stdout, stderr, argv).  If the machine stalled long enough
    for the run to finish first (exit 0), try again with a fresh argv."""
    for k in range(attempts):
        argv = make_argv(k)
        p = subprocess.Popen([ctx.aelab, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=ctx.tmp)
        line1 = p.stdout.readline()
        p.send_signal(signal.SIGINT)
        rest, err = p.communicate(timeout=300)
        if p.returncode != 0:
            return p.returncode, line1 + rest, err, argv
    return 0, line1 + rest, err, argv


EPOCH_KEYS = {"epoch", "epochs", "loss", "val_loss", "train_seconds", "val_seconds"}


# ---------------------------------------------------------------------------
# --json, falling loss, determinism
# ---------------------------------------------------------------------------

def case_json(ctx):
    args = ["train", "--model", "simple", "--epochs", "2", "--seed", "7", "--json"] + small(ctx)
    rc, out, err = ctx.run(*args)
    check(rc == 0, f"train --json exit {rc}: {err}")
    lines = json_lines(out)
    check(len(lines) == 3, f"3 JSON lines expected, got {len(lines)}: {out!r}")
    if len(lines) != 3:
        return
    for k, e in enumerate(lines[:2]):
        check(set(e) == EPOCH_KEYS, f"epoch keys {sorted(e)}")
        check(e["epoch"] == k + 1 and e["epochs"] == 2, f"epoch numbering {e}")
        check(0 < e["loss"] < 1 and 0 < e["val_loss"] < 1, f"loss range {e}")
        check(e["train_seconds"] > 0 and e["val_seconds"] > 0, f"timings {e}")
    check(lines[1]["loss"] < lines[0]["loss"], f"loss falls {lines[0]['loss']} -> {lines[1]['loss']}")
    check(lines[1]["val_loss"] < lines[0]["val_loss"], "val_loss falls")
    done = lines[2]
    check(set(done) == {"done", "params", "peak_rss_bytes"}, f"final keys {sorted(done)}")
    check(done.get("done") is True, "done is true")
    check(done.get("params") == 50992, f"simple has 50,992 params: {done.get('params')}")
    # 2,000 + 500 images are tiny, but the whole MNIST set is loaded (55 MB).
    check(50e6 < done.get("peak_rss_bytes", 0) < 1e9, f"peak RSS {done.get('peak_rss_bytes')}")

    # Same seed and threads: the same numbers, bit for bit.
    rc2, out2, _ = ctx.run(*args)
    lines2 = json_lines(out2)
    check(rc2 == 0 and len(lines2) == 3, "second run")
    if len(lines2) == 3:
        for a, b in zip(lines[:2], lines2[:2]):
            check(a["loss"] == b["loss"] and a["val_loss"] == b["val_loss"],
                  f"deterministic: {a} vs {b}")
    # Another seed: other numbers.
    args3 = list(args)
    args3[args3.index("--seed") + 1] = "8"
    rc3, out3, _ = ctx.run(*args3)
    lines3 = json_lines(out3)
    check(rc3 == 0 and len(lines3) == 3 and lines3[0]["loss"] != lines[0]["loss"],
          "a different seed gives a different curve")

    # Text mode: Keras-like lines, no progress bar when stdout is not a tty.
    rc, out, err = ctx.run("train", "--model", "simple", "--epochs", "2", "--seed", "7", *small(ctx))
    check(rc == 0, f"text mode exit {rc}: {err}")
    pat = re.compile(r"^Epoch (\d+)/2 - \d+\.\d\ds - loss: (\d\.\d{4}) - val_loss: (\d\.\d{4})$")
    ms = [pat.match(l) for l in out.splitlines()]
    check(len(ms) == 2 and all(ms), f"Keras-like lines: {out!r}")
    check("\r" not in out, "no progress bar on a pipe")
    # On a terminal: the live progress bar, then the same epoch lines.
    master, slave = pty.openpty()
    p = subprocess.Popen([ctx.aelab, "train", "--model", "simple", "--epochs", "2", "--seed", "7",
                          *small(ctx)], stdout=slave, stderr=subprocess.PIPE, cwd=ctx.tmp)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    p.wait(timeout=120)
    tty = b"".join(chunks).decode("utf-8", "replace")
    check(p.returncode == 0, f"tty run exit {p.returncode}")
    check("\rEpoch 1/2 2000/2000 [==============================] - loss: " in tty,
          f"progress bar on a terminal: {tty[:300]!r}")
    check(re.search(r"\r\x1b\[KEpoch 2/2 - \d+\.\d\ds - loss: \d\.\d{4} - val_loss: ", tty) is not None,
          "the bar is cleared before the epoch line")
    if len(ms) == 2 and all(ms):
        check(float(ms[0].group(2)) == round(lines[0]["loss"], 4) or
              abs(float(ms[0].group(2)) - lines[0]["loss"]) < 6e-5, "text and JSON agree")


# ---------------------------------------------------------------------------
# --checkpoint / --resume, also after Ctrl-C in the middle of an epoch
# ---------------------------------------------------------------------------

def case_resume(ctx):
    base = ["train", "--model", "deep", "--seed", "3", "--json"] + small(ctx)
    rc, out, err = ctx.run(*base, "--epochs", "3")
    check(rc == 0, f"uninterrupted exit {rc}: {err}")
    full = [e for e in json_lines(out) if "epoch" in e]
    check(len(full) == 3, "3 epochs")

    ck = os.path.join(ctx.tmp, "deep.aeck")
    rc, out, err = ctx.run(*base, "--epochs", "1", "--checkpoint", ck)
    check(rc == 0 and os.path.exists(ck), f"checkpoint written: {err}")
    first = [e for e in json_lines(out) if "epoch" in e]
    # Resuming takes the model and settings from the checkpoint; --epochs raises the total.
    rc, out, err = ctx.run("train", "--resume", ck, "--epochs", "3", "--json", "--data-dir", ctx.mnist)
    check(rc == 0, f"resume exit {rc}: {err}")
    rest = [e for e in json_lines(out) if "epoch" in e]
    got = first + rest
    check([e["epoch"] for e in got] == [1, 2, 3], f"epochs {[e['epoch'] for e in got]}")
    if len(got) == 3 and len(full) == 3:
        for a, b in zip(full, got):
            check(a["loss"] == b["loss"] and a["val_loss"] == b["val_loss"],
                  f"resumed epoch {a['epoch']}: {a['loss']}/{a['val_loss']} vs {b['loss']}/{b['val_loss']}")
    # A model that does not match the checkpoint is a usage error.
    rc, _, err = ctx.run("train", "--resume", ck, "--model", "conv", "--data-dir", ctx.mnist)
    check(rc == 2 and "deep" in err, f"--model conf. with checkpoint: {rc} {err}")
    # A broken checkpoint is a data error.
    bad = os.path.join(ctx.tmp, "bad.aeck")
    with open(bad, "wb") as f:
        f.write(b"not a checkpoint at all")
    rc, _, err = ctx.run("train", "--resume", bad, "--data-dir", ctx.mnist)
    check(rc == 1 and "bad.aeck" in err, f"bad checkpoint: {rc} {err}")

    # Ctrl-C in the middle of epoch 2.
    big = ["train", "--model", "simple", "--seed", "5", "--json", "--data-dir", ctx.mnist,
           "--train-size", "20000", "--test-size", "500", "--threads", "1", "--epochs", "4"]
    rc, out, err = ctx.run(*big)
    ref = [e for e in json_lines(out) if "epoch" in e]
    check(rc == 0 and len(ref) == 4, f"reference run: {err}")
    rc, text, err, argv = interrupted_run(
        ctx, lambda k: big + ["--checkpoint", os.path.join(ctx.tmp, f"int{k}.aeck")])
    ck2 = argv[-1]
    check(rc == 130, f"Ctrl-C exit status {rc}: {err}")
    check("resume with: aelab train --resume " + ck2 in err, f"resume hint: {err!r}")
    before = json_lines(text)
    done_before = [e["epoch"] for e in before if "epoch" in e]
    rc, out, err = ctx.run("train", "--resume", ck2, "--json", "--data-dir", ctx.mnist)
    check(rc == 0, f"resume after Ctrl-C: {rc} {err}")
    after = [e for e in json_lines(out) if "epoch" in e]
    combined = [e for e in before if "epoch" in e] + after
    check([e["epoch"] for e in combined] == [1, 2, 3, 4],
          f"epochs before {done_before}, after {[e['epoch'] for e in after]}")
    for a in combined:
        b = ref[a["epoch"] - 1] if a["epoch"] <= len(ref) else None
        check(b is not None and a["loss"] == b["loss"] and a["val_loss"] == b["val_loss"],
              f"epoch {a['epoch']} after Ctrl-C: {a} vs {b}")


# ---------------------------------------------------------------------------
# Usage and data errors
# ---------------------------------------------------------------------------

def one_line(err):
    return len([l for l in err.splitlines() if l.strip()]) == 1


def case_errors(ctx):
    usage_cases = [
        (["train", "--model", "simple", "--bogus", "1"], ["--bogus"]),
        (["train", "--model", "simple", "--epochs", "0"], ["--epochs", "1"]),
        (["train", "--model", "simple", "--epochs", "abc"], ["--epochs", "abc"]),
        (["train", "--model", "simple", "--batch-size", "2.5"], ["--batch-size"]),
        (["train", "--model", "simple", "--learning-rate", "5"], ["--learning-rate"]),
        (["train", "--model", "nope"], ["nope", "simple", "conv"]),
        (["train"], ["--model"]),
        (["train", "--model", "conv", "--l1", "0.001"], ["--l1", "sparse"]),
        (["train", "--model", "simple", "--dataset", "cifar"], ["cifar", "fashion-mnist"]),
        (["train", "--model", "simple", "--epochs"], ["--epochs"]),
        (["train", "--model", "simple", "--threads", "0"], ["--threads"]),
        (["summary", "--model", "simple", "--encoding-dim", "0"], ["--encoding-dim"]),
        (["summary"], ["--model"]),
        (["bogus"], ["bogus"]),
    ]
    for args, frags in usage_cases:
        rc, out, err = ctx.run(*args)
        check(rc == 2, f"{args}: exit {rc}, expected 2 ({err.strip()})")
        check(one_line(err), f"{args}: one-line message, got {err!r}")
        for frag in frags:
            check(frag in err, f"{args}: message {err.strip()!r} lacks {frag!r}")

    # Range errors name the range, as the engine's table has it.
    rc, _, err = ctx.run("train", "--model", "simple", "--epochs", "0")
    check(re.search(r"\[\s*1", err) is not None, f"range in {err!r}")

    # Data errors: exit 1 with the file and the problem.
    rc, _, err = ctx.run("train", "--model", "simple", "--data-dir", os.path.join(ctx.tmp, "none"))
    check(rc == 1, f"missing data dir: exit {rc}")
    check("not found" in err and "none" in err, f"missing data message {err!r}")
    bad = os.path.join(ctx.tmp, "bad")
    os.makedirs(bad)
    for name in os.listdir(ctx.fixture):
        shutil.copy(os.path.join(ctx.fixture, name), bad)
    with open(os.path.join(bad, "t10k-labels-idx1-ubyte"), "r+b") as f:
        f.write(b"\x00\x00\x08\x03")  # an images magic where labels belong
    rc, _, err = ctx.run("train", "--model", "simple", "--epochs", "1", "--data-dir", bad)
    check(rc == 1, f"bad IDX: exit {rc}")
    check("t10k-labels-idx1-ubyte" in err and "wrong magic" in err, f"bad IDX message {err!r}")

    # --help everywhere, exit 0, settings listed with defaults and ranges.
    for cmd in (["--help"], ["train", "--help"], ["summary", "--help"]):
        rc, out, err = ctx.run(*cmd)
        check(rc == 0 and "usage" in out, f"{cmd}: exit {rc}")
    rc, out, _ = ctx.run("train", "--help")
    for flag in ("--epochs", "--batch-size", "--learning-rate", "--seed", "--logdir", "--json",
                 "--resume", "--checkpoint", "--data-dir", "--threads"):
        check(flag in out, f"train --help lists {flag}")
    check(re.search(r"default 256 \(simple, sparse, deep\)", out) is not None,
          "batch size defaults per model in --help")

    # The tiny fixture trains end to end (every model builds and runs).
    for model in ("simple", "sparse", "deep", "conv", "denoise"):
        rc, out, err = ctx.run("train", "--model", model, "--epochs", "1", "--data-dir", ctx.fixture,
                               "--json", "--threads", "1")
        check(rc == 0 and len(json_lines(out)) == 2, f"{model} on the fixture: {rc} {err}")


# ---------------------------------------------------------------------------
# Summary tables against the seed's printed ones
# ---------------------------------------------------------------------------

def table_rows(lines):
    """(type prefix, output shape, params) per layer, and the three total lines."""
    rows, totals = [], []
    for line in lines:
        if re.match(r"^(Total|Trainable|Non-trainable) params", line):
            totals.append(line.strip())
        elif "(" in line and not line.startswith("Layer (type)"):
            name_col, shape, params = line[:29], line[29:54].strip(), line[54:].strip()
            kind = name_col[name_col.find("(") + 1:].strip().rstrip(")")
            rows.append((kind, shape, params))
    return rows, totals


# The model.summary() tables the tutorial prints, written out here as the
# expected values (layer type, output shape, parameter count; then the
# totals).  2.1 simple and 2.2 sparse print the same table; 2.5 denoise
# trains 2.4's conv model.
SHALLOW = [("InputLayer", "(None, 784)", "0"), ("Dense", "(None, 32)", "25120"),
           ("Dense", "(None, 784)", "25872")]
DEEP = [("InputLayer", "(None, 784)", "0"), ("Dense", "(None, 128)", "100480"),
        ("Dense", "(None, 64)", "8256"), ("Dense", "(None, 32)", "2080"),
        ("Dense", "(None, 64)", "2112"), ("Dense", "(None, 128)", "8320"),
        ("Dense", "(None, 784)", "101136")]
CONV = [("InputLayer", "(None, 28, 28, 1)", "0"), ("Conv2D", "(None, 28, 28, 16)", "160"),
        ("MaxPooling", "(None, 14, 14, 16)", "0"), ("Conv2D", "(None, 14, 14, 8)", "1160"),
        ("MaxPooling", "(None, 7, 7, 8)", "0"), ("Conv2D", "(None, 7, 7, 8)", "584"),
        ("MaxPooling", "(None, 4, 4, 8)", "0"), ("Conv2D", "(None, 4, 4, 8)", "584"),
        ("UpSampling", "(None, 8, 8, 8)", "0"), ("Conv2D", "(None, 8, 8, 8)", "584"),
        ("UpSampling", "(None, 16, 16, 8)", "0"), ("Conv2D", "(None, 14, 14, 16)", "1168"),
        ("UpSampling", "(None, 28, 28, 16)", "0"), ("Conv2D", "(None, 28, 28, 1)", "145")]


def totals(n):
    return ["Total params: %s" % n, "Trainable params: %s" % n, "Non-trainable params: 0"]


SEED_SUMMARIES = {
    "simple": (SHALLOW, totals("50,992")),
    "sparse": (SHALLOW, totals("50,992")),
    "deep": (DEEP, totals("222,384")),
    "conv": (CONV, totals("4,385")),
    "denoise": (CONV, totals("4,385")),
}
SEED_HEADER = "Layer (type)                 Output Shape              Param #"


def case_summary(ctx):
    # The expected layers add up to the printed totals (a typo above fails here).
    for model, (rows, tot) in SEED_SUMMARIES.items():
        got = "Total params: {:,}".format(sum(int(r[2]) for r in rows))
        check(got == tot[0], f"{model}: expected rows add up to {got!r}, not {tot[0]!r}")
    for model, (srows, stotals) in SEED_SUMMARIES.items():
        rc, out, err = ctx.run("summary", "--model", model)
        check(rc == 0, f"summary {model}: {rc} {err}")
        lines = [l.rstrip() for l in out.splitlines()]
        start = next((k for k, l in enumerate(lines) if l.startswith("Layer (type)")), None)
        check(start is not None, f"summary {model} has the header: {out!r}")
        if start is None:
            continue
        ours = lines[start:]
        check(ours[0] == SEED_HEADER, f"{model}: header {ours[0]!r} vs {SEED_HEADER!r}")
        check(len(ours) > 1 and ours[1] == "=" * 65, f"{model}: '=' rule")
        orows, ototals = table_rows(ours)
        check(ototals == stotals, f"{model}: totals {ototals} vs {stotals}")
        check(len(orows) == len(srows), f"{model}: {len(orows)} layers vs {len(srows)}")
        for o, s in zip(orows, srows):
            check(o[1:] == s[1:], f"{model}: row {o} vs seed {s}")
            check(o[0].startswith(s[0]) or s[0].startswith(o[0]), f"{model}: layer type {o[0]} vs {s[0]}")
    # A setting that changes the shape changes the table.
    rc, out, _ = ctx.run("summary", "--model", "simple", "--encoding-dim", "64")
    check(rc == 0 and "(None, 64)" in out and "Total params: 101,200" in out,
          f"encoding_dim 64: {out!r}")


# ---------------------------------------------------------------------------
# --logdir run directories
# ---------------------------------------------------------------------------

HPARAMS = "model,dataset,epochs,batch_size,learning_rate,seed"


def decode_run(ctx, run_dir, *expect):
    """proto's checker: decodes every record with the project's own .proto
    files and checks what TensorBoard would show; returns its summary."""
    script = os.path.join(ctx.src, "tests", "golden", "decode_run.py")
    if not os.path.exists(script):
        # proto's checker has not reached this branch yet: say so, never pass silently.
        SKIPPED.append(f"decode_run.py missing, {run_dir} not decoded")
        return None
    out = os.path.join(ctx.tmp, "decode.json")
    common = ["--scalars", "loss,val_loss,train_seconds,val_seconds", "--text", "summary",
              "--experiment", HPARAMS, "--metrics", "loss,val_loss",
              "--layout-regex", "^(val_)?loss$", "--layout-matches", "loss,val_loss"]
    p = subprocess.run([sys.executable, script, run_dir, *common, *expect, "--summary-json", out],
                       capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, f"decode_run.py {run_dir} {expect}: {p.returncode}\n{p.stdout}\n{p.stderr}")
    try:
        with open(out) as f:
            summary = json.load(f)
    except (OSError, ValueError):
        check(False, f"decode_run.py wrote no summary for {run_dir}")
        return None
    # Again with every hparam of the session given, so that the checker also
    # verifies group_name = sha256 of their JSON, as TensorBoard computes it.
    session = (summary.get("hparams") or {}).get("session") or {}
    given = []
    for k, v in sorted(session.items()):
        if isinstance(v, float) and v.is_integer() and k not in ("l1", "noise_factor", "learning_rate"):
            v = int(v)
        given += ["--hparam", f"{k}={v}"]
    p = subprocess.run([sys.executable, script, run_dir, *given], capture_output=True, text=True,
                       timeout=300)
    check(p.returncode == 0, f"decode_run.py group_name check: {p.stdout}\n{p.stderr}")
    return summary


def struct_f32(x):
    """x as the float32 an event file stores."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def event_files(run_dir):
    return sorted(n for n in os.listdir(run_dir) if "tfevents" in n)


def case_logdir(ctx):
    logdir = os.path.join(ctx.tmp, "runs")
    args = ["train", "--model", "denoise", "--epochs", "2", "--seed", "2", "--logdir", logdir,
            "--data-dir", ctx.mnist, "--train-size", "512", "--test-size", "64", "--threads", "1"]
    rc, out, err = ctx.run(*args)
    check(rc == 0, f"--logdir exit {rc}: {err}")
    run = os.path.join(logdir, "cli-0001-denoise")
    check(os.path.isdir(run), f"{run} exists: {os.listdir(logdir) if os.path.isdir(logdir) else None}")
    check(f"Run directory: {run}" in out, f"run dir printed: {out!r}")
    check(f"tensorboard --logdir {logdir}" in out, "tensorboard line printed")
    check(len(re.findall(r"^Epoch \d/2 - ", out, re.M)) == 2, "epoch lines printed")
    if not os.path.isdir(run):
        return
    files = sorted(os.listdir(run))
    check(len(event_files(run)) == 1, f"one event file: {files}")
    check("checkpoint.aeck" in files, f"checkpoint: {files}")
    check(sorted(os.listdir(os.path.join(run, "weights"))) == ["epoch-0001.aew", "epoch-0002.aew"],
          "weights per epoch")
    # Nothing else in the log dir has "tfevents" in its name.
    for root, dirs, names in os.walk(logdir):
        for n in names + dirs:
            if "tfevents" in n:
                check(root == run and n.startswith("events.out.tfevents."), f"stray {root}/{n}")
    summ = decode_run(ctx, run, "--epochs", "2", "--images", "reconstructions=280x84",
                      "--files", "1", "--status", "success",
                      "--hparam", "model=denoise", "--hparam", "dataset=mnist",
                      "--hparam", "epochs=2", "--hparam", "seed=2", "--hparam", "train_size=512",
                      "--hparam", "batch_size=128", "--hparam", "noise_factor=0.5")
    if summ:
        # The event file's points are the losses the CLI printed (float32).
        printed = [float(x) for x in re.findall(r"- loss: (\d\.\d{4})", out)]
        tb = [v for _, v in summ["scalars"].get("loss", [])]
        check(len(tb) == 2 and all(abs(a - b) < 6e-5 for a, b in zip(tb, printed)),
              f"loss in the event file {tb} vs printed {printed}")

    # The next run gets the next number; --json keeps stdout pure JSON.
    rc, out, err = ctx.run("train", "--model", "simple", "--epochs", "1", "--logdir", logdir,
                           "--data-dir", ctx.mnist, "--train-size", "256", "--test-size", "64", "--json")
    check(rc == 0, f"second run: {err}")
    check(os.path.isdir(os.path.join(logdir, "cli-0002-simple")), f"cli-0002-simple: {os.listdir(logdir)}")
    check(all("epoch" in l or "done" in l for l in json_lines(out)), "stdout is JSON only")
    check("Run directory" in err, "run dir on stderr under --json")
    summ = decode_run(ctx, os.path.join(logdir, "cli-0002-simple"), "--epochs", "1",
                      "--images", "reconstructions=280x56", "--files", "1", "--status", "success",
                      "--hparam", "model=simple", "--hparam", "encoding_dim=32")
    lines = json_lines(out)
    if summ and lines:
        tb = summ["scalars"].get("val_loss", [[0, None]])
        check(tb[-1][1] == struct_f32(lines[0]["val_loss"]), f"val_loss {tb} vs {lines[0]}")

    # Two CLIs at once never share a run directory.
    procs = [subprocess.Popen([ctx.aelab, "train", "--model", "simple", "--epochs", "1", "--logdir",
                               logdir, "--data-dir", ctx.fixture, "--threads", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ctx.tmp)
             for _ in range(3)]
    for p in procs:
        p.communicate(timeout=120)
        check(p.returncode == 0, "parallel CLI run")
    names = sorted(os.listdir(logdir))
    check(names == ["cli-0001-denoise", "cli-0002-simple", "cli-0003-simple", "cli-0004-simple",
                    "cli-0005-simple"], f"run dirs {names}")
    for n in names[2:]:
        check(len(event_files(os.path.join(logdir, n))) == 1, f"{n} has its own event file")

    # An unwritable log dir is an error naming it, not a crash.
    blocker = os.path.join(ctx.tmp, "file")
    open(blocker, "w").close()
    rc, _, err = ctx.run("train", "--model", "simple", "--epochs", "1", "--logdir",
                         os.path.join(blocker, "runs"), "--data-dir", ctx.fixture)
    check(rc == 1 and "file/runs" in err, f"bad logdir: {rc} {err!r}")


def case_logdir_resume(ctx):
    """Ctrl-C in the middle of a --logdir run, then --resume RUN_DIR."""
    logdir = os.path.join(ctx.tmp, "runs")
    common = ["--data-dir", ctx.mnist, "--train-size", "10000", "--test-size", "200", "--threads", "1"]
    # Reference: the same job uninterrupted.
    rc, out, err = ctx.run("train", "--model", "deep", "--epochs", "3", "--seed", "4", "--json",
                           "--logdir", os.path.join(ctx.tmp, "ref"), *common)
    check(rc == 0, f"reference run: {err}")
    ref = [e for e in json_lines(out) if "epoch" in e]

    rc, text, err, argv = interrupted_run(
        ctx, lambda k: ["train", "--model", "deep", "--epochs", "3", "--seed", "4", "--json",
                        "--logdir", f"{logdir}{k}", *common])
    run = os.path.join(argv[argv.index("--logdir") + 1], "cli-0001-deep")
    check(rc == 130, f"Ctrl-C exit {rc}: {err}")
    check(f"resume with: aelab train --resume {run}" in err, f"resume hint {err!r}")
    before = [e for e in json_lines(text) if "epoch" in e]
    rc, out, err = ctx.run("train", "--resume", run, "--json", "--data-dir", ctx.mnist)
    check(rc == 0, f"--resume RUN_DIR: {rc} {err}")
    after = [e for e in json_lines(out) if "epoch" in e]
    got = before + after
    check([e["epoch"] for e in got] == [1, 2, 3], f"epochs {[e['epoch'] for e in got]}")
    for a, b in zip(got, ref):
        check(a["loss"] == b["loss"] and a["val_loss"] == b["val_loss"], f"epoch {a['epoch']}: {a} vs {b}")
    if not os.path.isdir(run):
        return
    files = event_files(run)
    check(len(files) == 2, f"a new event file on resume: {files}")
    check(sorted(os.listdir(os.path.join(run, "weights"))) ==
          ["epoch-0001.aew", "epoch-0002.aew", "epoch-0003.aew"], "weights per epoch")
    # The checker applies TensorBoard's START semantics: no step twice, START
    # at 0 in the first file and at the resume step in the second.
    summ = decode_run(ctx, run, "--epochs", "3", "--images", "reconstructions=280x56",
                      "--files", "2", "--status", "success", "--hparam", "model=deep")
    if summ:
        starts = [s[2] for s in summ["starts"]]
        check(starts == [0, len(before)] or (len(before) == 0 and starts == [0, 1]),
              f"START steps {starts} (epochs done before Ctrl-C: {len(before)})")
        tb = [v for _, v in summ["scalars"].get("loss", [])]
        check(tb == [struct_f32(e["loss"]) for e in ref], f"TensorBoard's loss {tb} vs {ref}")


# ---------------------------------------------------------------------------
# The repository's MNIST: default data set, SHA-256 sums
# ---------------------------------------------------------------------------

def flip_byte(path, at):
    with open(path, "r+b") as f:
        f.seek(at)
        b = f.read(1)
        f.seek(at)
        f.write(bytes([b[0] ^ 0x01]))


def case_data(ctx):
    tiny = ["--model", "simple", "--epochs", "1", "--train-size", "200", "--test-size", "100",
            "--threads", "1", "--json"]
    # From the source root with no --dataset and no --data-dir: ./data/mnist.
    rc, out, err = ctx.run("train", *tiny, cwd=ctx.src)
    check(rc == 0 and len(json_lines(out)) == 2, f"default data set from the source root: {rc} {err}")
    # Elsewhere the default is still mnist, and the error says where it looked.
    rc, _, err = ctx.run("train", *tiny)
    check(rc == 1 and "mnist" in err and "data/mnist" in err, f"no ./data/mnist: {rc} {err!r}")

    # A copy with one byte flipped is refused, naming the file (exit 1).
    copy = os.path.join(ctx.tmp, "copy")
    shutil.copytree(ctx.mnist, copy)
    labels = os.path.join(copy, "t10k-labels-idx1-ubyte.gz")
    flip_byte(labels, 1000)
    rc, out, err = ctx.run("train", *tiny, "--data-dir", copy)
    check(rc == 1 and labels in err and "SHA-256" in err and "data/README.md" in err,
          f"damaged .gz: {rc} {err!r}")
    check(json_lines(out) == [], f"nothing trained on the damaged copy: {out!r}")

    # Uncompressed (gunzip) copies pass by their content's sum; damaged, they are refused.
    os.remove(labels)
    plain = labels[:-3]
    with gzip.open(os.path.join(ctx.mnist, "t10k-labels-idx1-ubyte.gz"), "rb") as src, \
            open(plain, "wb") as dst:
        dst.write(src.read())
    rc, out, err = ctx.run("train", *tiny, "--data-dir", copy)
    check(rc == 0 and len(json_lines(out)) == 2, f"gunzipped labels: {rc} {err}")
    flip_byte(plain, 5000)
    rc, _, err = ctx.run("train", *tiny, "--data-dir", copy)
    check(rc == 1 and plain in err and "SHA-256" in err, f"damaged plain file: {rc} {err!r}")


CASES = {
    "json": case_json,
    "resume": case_resume,
    "errors": case_errors,
    "summary": case_summary,
    "logdir": case_logdir,
    "logdir_resume": case_logdir_resume,
    "data": case_data,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", required=True, choices=sorted(CASES))
    ap.add_argument("--aelab", required=True)
    ap.add_argument("--mnist", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--src", required=True)
    a = ap.parse_args()
    a.aelab = os.path.abspath(a.aelab)
    a.mnist = os.path.abspath(a.mnist)
    a.fixture = os.path.abspath(a.fixture)
    tmp = tempfile.mkdtemp(prefix=f"test_cli_{a.case}.")
    try:
        CASES[a.case](Ctx(a, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"test_cli {a.case}: {CHECKS} checks, {FAILED} failed")
    for why in SKIPPED:
        print("SKIPPED:", why)
    if CHECKS == 0 or FAILED:
        return 1
    return 77 if SKIPPED else 0


if __name__ == "__main__":
    sys.exit(main())
