#!/usr/bin/python3
"""vae_quality.py - does aelab's variational autoencoder reach PyTorch's loss?

What it owns: issue 6's quality benchmark.  In one run it trains the `vae`
model (latent_dim 2 unless told otherwise) for 50 epochs on MNIST digits
with `aelab train --json` and with bench/torch_ref.py (the same model, init,
Keras-form Adam, batch size 100, thread count and epochs), for one or more
seeds, and prints the final loss, val_loss and its two parts side by side,
with pass/fail against the target: aelab's val_loss equal to or lower than
PyTorch's (per seed, and for the mean over seeds).

What it does not do: judge speed (bench/train_speed.py does) or keep a
reference figure in code: both sides are trained here, in the same run.

Key decision: the vae's val_loss is itself a random variable (z is sampled
in validation, as in the Keras example), and two correct implementations
with different random streams land a little apart.  So the script can run
several seeds (--seeds 1,2,3) and reports the mean and spread of each side
next to the per-seed rows; "equal" means the difference of the means is
within the spread of the seeds.
"""

import argparse
import json
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import torch_ref  # noqa: E402
import train_quality  # noqa: E402
import train_speed  # noqa: E402


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="Train the vae with aelab and with PyTorch on MNIST and compare val_loss "
                    "(issue 6, 'Quality benchmark').")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--aelab", help="the aelab binary (default: BUILD/cli/aelab)")
    ap.add_argument("--data-dir", default=torch_ref.default_mnist_dir(),
                    help="MNIST digits (default: data/mnist in the source root)")
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--latent-dim", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seeds", default="1", help="comma-separated seeds (default 1)")
    ap.add_argument("--json-out", help="also write every epoch of every run to this JSON file")
    a = ap.parse_args(argv)
    try:
        a.seeds = [int(s) for s in a.seeds.split(",") if s]
    except ValueError:
        ap.error("--seeds must be whole numbers separated by commas")
    if not a.seeds or a.epochs < 1 or a.threads < 1 or a.latent_dim < 1:
        ap.error("--seeds, --epochs, --threads and --latent-dim must be given and positive")
    a.aelab = a.aelab or os.path.join(a.build_dir, "cli", "aelab")
    if not os.access(a.aelab, os.X_OK):
        ap.error("aelab not found at %s (build first: meson setup build && ninja -C build)" % a.aelab)
    return a


def command(a, side, seed):
    common = ["--model", "vae", "--dataset", "mnist", "--data-dir", a.data_dir,
              "--epochs", str(a.epochs), "--batch-size", str(torch_ref.SEED_BATCH["vae"]),
              "--threads", str(a.threads), "--seed", str(seed), "--latent-dim", str(a.latent_dim),
              "--json"]
    if side == "aelab":
        return [a.aelab, "train"] + common
    return [train_speed.TORCH_PYTHON, os.path.join(HERE, "torch_ref.py")] + common + \
        ["--adam", "keras"]


def mean_sd(xs):
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return m, sd


def load_average():
    try:
        return "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        return "unknown"


def main(argv):
    a = parse_args(argv)
    binfo = train_speed.build_info(a.build_dir)
    started = time.time()
    print("## Quality: the vae, aelab vs PyTorch on MNIST digits")
    print()
    print("- aelab commit %s; %s; core/ flags: %s" % (train_speed.git_commit(), binfo["compiler"],
                                                      binfo["flags"]))
    print("- vae latent_dim %d, batch 100, Adam (Keras form, lr 0.001), %d epochs, %d threads, "
          "seeds %s; load average at start %s" % (a.latent_dim, a.epochs, a.threads,
                                                  ",".join(map(str, a.seeds)), load_average()))
    sys.stdout.flush()

    runs = {}
    for seed in a.seeds:
        for side in ("aelab", "torch"):
            label = "%s seed %d" % (side, seed)
            try:
                recs, done, wall, _ = train_quality.stream_run(command(a, side, seed), a.epochs,
                                                               None, label)
                runs[(side, seed)] = {"epochs": recs, "done": done, "wall_seconds": wall}
            except train_quality.RunError as e:
                runs[(side, seed)] = {"error": str(e)}
                print("  %s: %s" % (label, e), file=sys.stderr, flush=True)

    print()
    print("| seed | side | epochs | loss | val_loss | val reconstruction | val KL | s/epoch (train) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    finals = {"aelab": [], "torch": []}
    per_seed_pass = True
    for seed in a.seeds:
        vals = {}
        for side in ("aelab", "torch"):
            r = runs[(side, seed)]
            if "error" in r:
                print("| %d | %s | error: %s | | | | | |" % (seed, side, r["error"][:80]))
                per_seed_pass = False
                continue
            last = r["epochs"][-1]
            secs = [e["train_seconds"] for e in r["epochs"]]
            secs.sort()
            vals[side] = last["val_loss"]
            if last["epoch"] == a.epochs:
                finals[side].append(last["val_loss"])
            print("| %d | %s | %d | %.3f | %.3f | %.3f | %.3f | %.2f |" % (
                seed, side, last["epoch"], last["loss"], last["val_loss"],
                last.get("val_reconstruction_loss", float("nan")),
                last.get("val_kl_loss", float("nan")), secs[len(secs) // 2]))
        if len(vals) == 2 and vals["aelab"] > vals["torch"]:
            per_seed_pass = False
    print()
    verdict = "no result"
    if len(finals["aelab"]) == len(a.seeds) and len(finals["torch"]) == len(a.seeds):
        ma, sa = mean_sd(finals["aelab"])
        mt, st = mean_sd(finals["torch"])
        spread = max(sa, st)
        print("val_loss after %d epochs, mean over %d seed(s): aelab %.3f (sd %.3f), "
              "torch %.3f (sd %.3f), difference %+.3f (%+.2f%%)" % (
                  a.epochs, len(a.seeds), ma, sa, mt, st, ma - mt, 100.0 * (ma - mt) / mt))
        if ma <= mt:
            verdict = "met: aelab's mean val_loss is equal or lower"
        elif len(a.seeds) > 1 and ma - mt <= spread:
            verdict = "met within noise: aelab is higher by less than one seed-to-seed sd"
        else:
            verdict = "NOT met: aelab's val_loss is higher"
        print()
        print("Target (aelab val_loss <= torch val_loss): %s; every seed lower or equal: %s" % (
            verdict, "yes" if per_seed_pass else "no"))
    print("- total wall time %.0f s; load average at the end %s" % (time.time() - started,
                                                                    load_average()))
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump({"%s/%d" % k: v for k, v in runs.items()}, f, indent=1)
    return 0 if verdict.startswith("met") else 3


if __name__ == "__main__":
    torch_ref.run_comparison(main)
