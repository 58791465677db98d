#!/usr/bin/python3
"""train_speed.py - aelab against PyTorch: seconds per epoch, GFLOP/s, peak RSS.

What it owns: one command that, in one session on one data set, measures
the sgemm ceiling (bench/sgemm_ceiling), then trains every model with
`aelab train --json` and with bench/torch_ref.py (same architecture, init,
optimiser, batch size, thread count and data), interleaved, several times,
and prints a markdown table per thread count with medians, the
aelab/PyTorch ratios, aelab's GFLOP/s beside the ceiling, aelab's peak RSS,
and whether issue 2's targets are met (training ratio <= 0.5, peak RSS at
most 64 MiB above the uint8 data set).

What it does not do: build anything (build first: meson setup build &&
ninja -C build) or start anything but its own child processes, one at a
time.

Key decision: the machine has 2 shared cores, so every timing is noisy.
The two sides are interleaved pair by pair (which side goes first
alternates), repetitions are the outer loop so each model's samples are
spread over the whole run, epoch 1 of every run is dropped as warm-up, and
only medians are compared, always between numbers taken in this same run.

FLOPs per training epoch are counted analytically (see flops_per_sample):
with M the multiply-accumulates of all Dense/Conv layers for one image and
M1 those of the first layer,
    forward 2*M + weight gradients 2*M + input gradients 2*(M - M1)
(the first layer needs no input gradient), times the training images.
Elementwise work (biases, activations, pooling, upsampling, loss, Adam) is
not counted.  So this is "backward ~2x forward", counted exactly.
"""

import argparse
import datetime
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import torch_ref  # noqa: E402  (numpy only; torch is imported by the child)

MODELS = torch_ref.MODELS
MIB = 1024 * 1024
RSS_BUDGET_BYTES = 64 * MIB
RATIO_TARGET = 0.5
TORCH_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

DENSE_LAYERS = {
    "simple": [(784, 32), (32, 784)],
    "sparse": [(784, 32), (32, 784)],
    "deep": [(784, 128), (128, 64), (64, 32), (32, 64), (64, 128), (128, 784)],
    # latent_dim 2: the mean and log-variance heads count as one 256 -> 4 layer
    "vae": [(784, 256), (256, 4), (2, 256), (256, 784)],
}
# (c_in, c_out, h_out, w_out) of each 3x3 convolution of the seed's 2.4 model.
CONV_LAYERS = [(1, 16, 28, 28), (16, 8, 14, 14), (8, 8, 7, 7), (8, 8, 4, 4),
               (8, 8, 8, 8), (8, 16, 14, 14), (16, 1, 28, 28)]


def layer_macs(model):
    if model in DENSE_LAYERS:
        return [a * b for a, b in DENSE_LAYERS[model]]
    return [cin * cout * h * w * 9 for cin, cout, h, w in CONV_LAYERS]


def flops_per_sample(model):
    """Training FLOPs for one image (see the module comment)."""
    macs = layer_macs(model)
    m, m1 = sum(macs), macs[0]
    return 2 * m + 2 * m + 2 * (m - m1)


def forward_flops_per_sample(model):
    return 2 * sum(layer_macs(model))


# --------------------------------------------------------------------------
# Running the two sides
# --------------------------------------------------------------------------

class RunError(Exception):
    pass


# Linux keeps a process's peak RSS (ru_maxrss) across execve, and Python's
# subprocess starts children with vfork, so a child exec'd straight from this
# script would report this script's own peak as its peak_rss_bytes.  A shell
# that forks the command (the trailing `exit` stops it from exec'ing in place)
# gives the command a fresh, tiny starting point.
FRESH_RSS = ["/bin/sh", "-c", '"$@"; exit $?', "sh"]


def run_json(cmd, timeout):
    """Run cmd (in its own process group, through FRESH_RSS) and return its
    JSON lines (non-JSON lines are ignored).  Raises RunError with the tail
    of stderr when it fails."""
    proc = subprocess.Popen(FRESH_RSS + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)

    def kill_group():
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()

    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group()
        raise RunError("timed out after %d s: %s" % (timeout, " ".join(cmd)))
    except KeyboardInterrupt:
        kill_group()
        raise
    lines = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
    if proc.returncode != 0:
        tail = " | ".join(err.strip().splitlines()[-3:])
        raise RunError("exit %d: %s: %s" % (proc.returncode, " ".join(cmd), tail))
    return lines


def summarise_run(lines, side):
    epochs = [o for o in lines if "epoch" in o and "train_seconds" in o]
    done = [o for o in lines if o.get("done")]
    config = [o["config"] for o in lines if "config" in o]
    if not epochs or not done:
        raise RunError("%s printed no epoch lines or no final line" % side)
    return {
        "epochs": epochs,
        "params": done[-1].get("params"),
        "peak_rss_bytes": done[-1].get("peak_rss_bytes"),
        "config": config[0] if config else None,
    }


class AelabDataDir:
    """A temporary directory DIR with DIR/<dataset> -> the real data
    directory.  aelab looks for a data set in --data-dir/<name>/ first (and,
    for fashion-mnist, falls back to Debian's copy rather than take files
    lying directly in --data-dir), so handing it this DIR makes it read
    exactly the files the PyTorch side reads, whatever --data-dir is."""

    def __init__(self, dataset, real_dir):
        self.tmp = tempfile.TemporaryDirectory(prefix="aelab-bench-data-")
        self.path = self.tmp.name
        os.symlink(os.path.abspath(real_dir), os.path.join(self.path, dataset))

    def cleanup(self):
        self.tmp.cleanup()


def common_args(a, model, threads, epochs, data_dir):
    args = ["--model", model, "--dataset", a.dataset, "--data-dir", data_dir,
            "--epochs", str(epochs), "--batch-size", str(torch_ref.SEED_BATCH[model]),
            "--threads", str(threads), "--seed", str(a.seed), "--json"]
    if model in ("conv", "denoise") and a.conv_train_size:
        args += ["--train-size", str(a.conv_train_size)]
    return args


def run_aelab(a, model, threads, epochs):
    return summarise_run(run_json([a.aelab, "train"] + common_args(a, model, threads, epochs,
                                                                   a.aelab_data.path),
                                  a.timeout), "aelab")


def run_torch(a, model, threads, epochs):
    cmd = [TORCH_PYTHON, os.path.join(HERE, "torch_ref.py")] + \
        common_args(a, model, threads, epochs, a.data_dir) + ["--adam", a.torch_adam, "--omp-wait", a.torch_omp_wait]
    return summarise_run(run_json(cmd, a.timeout), "torch")


# --------------------------------------------------------------------------
# Environment description
# --------------------------------------------------------------------------

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def build_info(build_dir):
    """Compiler, version and optimisation flags aelab's core/ was built with,
    from meson's compile_commands.json and intro files."""
    info = {"compiler": "unknown", "flags": "", "buildtype": "?", "native": "?"}
    try:
        with open(os.path.join(build_dir, "compile_commands.json")) as f:
            cmds = json.load(f)
        entry = next((c for c in cmds if "/core/" in c.get("file", "") or
                      c.get("file", "").startswith("../core/")), cmds[0] if cmds else None)
        if entry:
            words = entry["command"].split()
            ver = subprocess.run([words[0], "--version"], capture_output=True, text=True).stdout
            info["compiler"] = ver.splitlines()[0] if ver else words[0]
            info["flags"] = " ".join(w for w in words[1:] if w.startswith(("-O", "-m", "-std", "-f"))
                                     and not w.startswith("-fdiagnostics"))
        with open(os.path.join(build_dir, "meson-info", "intro-buildoptions.json")) as f:
            for o in json.load(f):
                if o["name"] in ("buildtype", "native"):
                    info[o["name"]] = o["value"]
    except (OSError, ValueError, KeyError, IndexError):
        pass
    return info


def load_avg():
    try:
        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def median(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt(x, spec):
    return "n/a" if x is None or x != x else format(x, spec)


def model_row(a, model, threads, samples, n_train, data_bytes):
    """One table row (and its JSON record) from the collected samples."""
    s = samples.get((model, threads), {"aelab": [], "torch": [], "errors": []})
    ae_tr = [e["train_seconds"] for r in s["aelab"] for e in r["epochs"][a.skip:]]
    ae_va = [e["val_seconds"] for r in s["aelab"] for e in r["epochs"][a.skip:]]
    th_tr = [e["train_seconds"] for r in s["torch"] for e in r["epochs"][a.skip:]]
    th_va = [e["val_seconds"] for r in s["torch"] for e in r["epochs"][a.skip:]]
    rss = max((r["peak_rss_bytes"] or 0 for r in s["aelab"]), default=None)
    rec = {
        "model": model, "threads": threads, "n_train": n_train,
        "aelab_train_s": median(ae_tr), "torch_train_s": median(th_tr),
        "aelab_val_s": median(ae_va), "torch_val_s": median(th_va),
        "aelab_train_samples": ae_tr, "torch_train_samples": th_tr,
        "aelab_val_samples": ae_va, "torch_val_samples": th_va,
        "aelab_peak_rss_bytes": rss, "dataset_bytes": data_bytes,
        "errors": s["errors"],
    }
    rec["ratio"] = rec["aelab_train_s"] / rec["torch_train_s"] if ae_tr and th_tr else float("nan")
    rec["val_ratio"] = rec["aelab_val_s"] / rec["torch_val_s"] if ae_va and th_va else float("nan")
    rec["aelab_gflops"] = flops_per_sample(model) * n_train / rec["aelab_train_s"] * 1e-9 \
        if ae_tr else float("nan")
    rec["torch_gflops"] = flops_per_sample(model) * n_train / rec["torch_train_s"] * 1e-9 \
        if th_tr else float("nan")
    above = (rss - data_bytes) if rss else None
    rec["rss_above_dataset_bytes"] = above
    # Both sides learn the same function from the same data, so after one
    # epoch their val_loss differ by a few percent at most (different random
    # draws); far more means they are not training the same thing.
    v1 = [median([r["epochs"][0]["val_loss"] for r in s[side]]) for side in ("aelab", "torch")]
    rec["epoch1_val_loss"] = v1
    problems = []
    if s["errors"]:
        problems.append("error")
    if all(v == v for v in v1) and abs(v1[0] - v1[1]) > 0.15 * v1[1]:
        problems.append("epoch-1 val_loss %.4f vs torch %.4f: same data and maths?" % tuple(v1))
    if not (rec["ratio"] <= RATIO_TARGET):
        problems.append("ratio %s > %.1f" % (fmt(rec["ratio"], ".2f"), RATIO_TARGET))
    if above is None or above > RSS_BUDGET_BYTES:
        problems.append("RSS")
    rec["target_met"] = not problems
    verdict = "yes" if not problems else "NO (" + ", ".join(problems) + ")"
    if rec["val_ratio"] > RATIO_TARGET:
        verdict += "; val ratio %.2f" % rec["val_ratio"]
    rec["verdict"] = verdict
    return rec


def print_table(threads, rows, ceiling):
    print()
    print("### %d thread%s" % (threads, "" if threads == 1 else "s"))
    print()
    print("| model | aelab s/epoch | torch s/epoch | ratio | aelab val s | torch val s | val ratio "
          "| aelab GFLOP/s (dense count) | sgemm ceiling GFLOP/s | aelab peak RSS MiB | RSS above data set MiB "
          "| target met? |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        rss = r["aelab_peak_rss_bytes"]
        above = r["rss_above_dataset_bytes"]
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["model"], fmt(r["aelab_train_s"], ".3f"), fmt(r["torch_train_s"], ".3f"),
            fmt(r["ratio"], ".2f"), fmt(r["aelab_val_s"], ".3f"), fmt(r["torch_val_s"], ".3f"),
            fmt(r["val_ratio"], ".2f"), fmt(r["aelab_gflops"], ".1f"), fmt(ceiling, ".1f"),
            fmt(rss / MIB if rss else None, ".1f"), fmt(above / MIB if above is not None else None, ".1f"),
            r["verdict"]))
    print()
    print("Timed epochs (s), aelab | torch:")
    for r in rows:
        print("- %s: %s | %s" % (r["model"], " ".join("%.3f" % x for x in r["aelab_train_samples"]),
                                 " ".join("%.3f" % x for x in r["torch_train_samples"])))
        for e in r["errors"]:
            print("- %s ERROR %s" % (r["model"], e))


# --------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="Train every model with aelab and with PyTorch in the same run and compare "
                    "seconds per epoch, GFLOP/s and peak RSS (issue 2, 'Speed and memory').")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"),
                    help="meson build directory (default: build/ in the source root)")
    ap.add_argument("--aelab", help="the aelab binary (default: BUILD/cli/aelab)")
    ap.add_argument("--sgemm", help="the sgemm_ceiling binary (default: BUILD/bench/sgemm_ceiling)")
    ap.add_argument("--dataset", choices=("fashion-mnist", "mnist"), default="fashion-mnist")
    ap.add_argument("--data-dir", help="the four IDX files (default: %s for fashion-mnist, "
                    "data/mnist in the source root for mnist)" % torch_ref.FASHION_DIR)
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated (default: all five)")
    ap.add_argument("--threads", help="comma-separated thread counts (default: 2,1)")
    ap.add_argument("--epochs", type=int,
                    help="epochs per run, the first one dropped as warm-up (default: 3)")
    ap.add_argument("--conv-epochs", type=int,
                    help="epochs per conv/denoise run, the first dropped (default: 2)")
    ap.add_argument("--reps", type=int, help="runs per model, side and thread count (default: 3)")
    ap.add_argument("--conv-train-size", type=int,
                    help="train conv/denoise on only the first N images, on both sides "
                         "(default 0: full epochs; the output says so when used)")
    ap.add_argument("--torch-adam", choices=("torch", "keras"), default="keras",
                    help="optimiser of the PyTorch side (default: keras, the same update as aelab; "
                         "the two are equally fast)")
    ap.add_argument("--torch-omp-wait", choices=("passive", "default", "active"), default="passive",
                    help="OMP_WAIT_POLICY of the PyTorch side (default: passive; see bench/README.md)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=1800, help="seconds allowed for one run")
    ap.add_argument("--quick", action="store_true",
                    help="a few minutes: defaults become --threads 2 --reps 1 --epochs 2 "
                         "--conv-train-size 12000 (options given explicitly still win)")
    ap.add_argument("--json-out", help="also write every sample and result to this JSON file")
    a = ap.parse_args(argv)
    defaults = dict(threads="2", reps=1, epochs=2, conv_epochs=2, conv_train_size=12000) if a.quick \
        else dict(threads="2,1", reps=3, epochs=3, conv_epochs=2, conv_train_size=0)
    for k, v in defaults.items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    a.models = [m for m in a.models.split(",") if m]
    for m in a.models:
        if m not in MODELS:
            ap.error("unknown model %r (models: %s)" % (m, ", ".join(MODELS)))
    try:
        a.threads = [int(t) for t in a.threads.split(",") if t]
    except ValueError:
        ap.error("--threads wants comma-separated integers")
    if not a.threads or min(a.threads) < 1:
        ap.error("--threads wants integers >= 1")
    if a.epochs < 2 or a.conv_epochs < 2:
        ap.error("--epochs and --conv-epochs must be >= 2 (epoch 1 is warm-up)")
    if a.reps < 1:
        ap.error("--reps must be >= 1")
    a.skip = 1
    a.aelab = a.aelab or os.path.join(a.build_dir, "cli", "aelab")
    a.sgemm = a.sgemm or os.path.join(a.build_dir, "bench", "sgemm_ceiling")
    if a.data_dir is None:
        a.data_dir = torch_ref.FASHION_DIR if a.dataset == "fashion-mnist" else torch_ref.default_mnist_dir()
    for path, what in ((a.aelab, "aelab"), (a.sgemm, "sgemm_ceiling")):
        if not os.access(path, os.X_OK):
            ap.error("%s not found at %s (build first: meson setup build && ninja -C build, "
                     "or pass --build-dir)" % (what, path))
    return a


def main(argv):
    a = parse_args(argv)
    a.aelab_data = AelabDataDir(a.dataset, a.data_dir)
    try:
        return run(a)
    finally:
        a.aelab_data.cleanup()


def run(a):
    started = time.time()
    try:
        arrs = torch_ref.load_dataset(a.data_dir)
    except (OSError, ValueError) as e:
        print("train_speed.py: %s" % e, file=sys.stderr)
        return 1
    data_bytes = torch_ref.dataset_bytes(arrs)
    n_train_full = arrs[0].shape[0]
    del arrs
    load0 = load_avg()
    binfo = build_info(a.build_dir)

    print("## Speed and memory: aelab vs PyTorch")
    print()
    print("- date: %s; host CPU: %s, %d logical CPUs; load average at start %.2f %.2f %.2f" % (
        datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), cpu_model(), os.cpu_count() or 0,
        *load0))
    print("- aelab: commit %s; %s; core/ flags: %s (buildtype %s, native %s)" % (
        git_commit(), binfo["compiler"], binfo["flags"], binfo["buildtype"], binfo["native"]))
    print("- data: %s (%s), %d training images, uint8 data set %d bytes (%.1f MiB)" % (
        a.dataset, a.data_dir, n_train_full, data_bytes, data_bytes / MIB))
    print("- runs: %d per model/side/thread count of %d epochs (conv, denoise: %d), epoch 1 dropped; "
          "medians of the remaining %d (conv, denoise: %d) epochs; the sides interleaved, "
          "alternating which goes first" % (
              a.reps, a.epochs, a.conv_epochs, a.reps * (a.epochs - a.skip),
              a.reps * (a.conv_epochs - a.skip)))
    if a.conv_train_size:
        print("- NOTE: conv and denoise trained on the first %d images only, on both sides "
              "(s/epoch is for that subset; validation on all test images)" % a.conv_train_size)
    if load0[0] > 0.5:
        print("- warning: the machine was busy when the run started (load %.2f): "
              "expect noisy timings" % load0[0])
    sys.stdout.flush()

    # The ceiling is measured before and after the trainings and the better
    # of the two is kept: load from other work only ever lowers it.
    sg_cmd = [a.sgemm, "--threads", ",".join(str(t) for t in sorted(set(a.threads)))]
    try:
        sgs = [run_json(sg_cmd, 600)[0]]
    except (RunError, IndexError) as e:
        print("train_speed.py: sgemm_ceiling failed: %s" % e, file=sys.stderr)
        return 1
    print("- sgemm (%s, %s) before the trainings: %s GFLOP/s" % (
        sgs[0].get("openblas_config", "?"), sgs[0].get("library", "?"),
        ", ".join("%.1f at %s thread(s)" % (v, k) for k, v in sorted(sgs[0]["ceiling_gflops"].items()))))
    sys.stdout.flush()

    samples = {}
    torch_cfg = None
    n_pairs = a.reps * len(a.threads) * len(a.models)
    done_pairs = 0
    interrupted = False
    try:
        for rep in range(a.reps):
            for threads in a.threads:
                for model in a.models:
                    s = samples.setdefault((model, threads), {"aelab": [], "torch": [], "errors": []})
                    order = ("aelab", "torch") if rep % 2 == 0 else ("torch", "aelab")
                    epochs = a.conv_epochs if model in ("conv", "denoise") else a.epochs
                    for side in order:
                        try:
                            if side == "aelab":
                                r = run_aelab(a, model, threads, epochs)
                            else:
                                r = run_torch(a, model, threads, epochs)
                                torch_cfg = torch_cfg or r["config"]
                            if r["params"] != torch_ref.PARAMS[model]:
                                raise RunError("%s reports %s params, the seed's %s has %d" % (
                                    side, r["params"], model, torch_ref.PARAMS[model]))
                            s[side].append(r)
                        except RunError as e:
                            s["errors"].append("%s: %s" % (side, e))
                    done_pairs += 1
                    print("  [%d/%d] rep %d, %s, %d thread%s done (%.0f s elapsed)" % (
                        done_pairs, n_pairs, rep + 1, model, threads, "" if threads == 1 else "s",
                        time.time() - started), file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        # Ctrl-C or SIGTERM: the child is gone (run_json killed its group);
        # report what was measured so far.
        interrupted = True
        print("- INTERRUPTED after %d of %d pairs: the tables below are partial" % (done_pairs, n_pairs))

    if torch_cfg:
        print("- PyTorch: %s, BLAS loaded %s, CPU capability %s, conv %s, Adam %s form, "
              "OMP_WAIT_POLICY %s, loss: clamped-logit BCE (== Keras' clipped BCE)" % (
                  torch_cfg.get("torch"), ", ".join(torch_cfg.get("blas_loaded") or ["none"]),
                  torch_cfg.get("cpu_capability"), torch_cfg.get("conv_impl"), torch_cfg.get("adam"),
                  torch_cfg.get("OMP_WAIT_POLICY") or "unset"))
    try:
        if interrupted:
            raise RunError("skipped (interrupted)")
        sgs.append(run_json(sg_cmd, 600)[0])
        print("- sgemm after the trainings: %s GFLOP/s" % ", ".join(
            "%.1f at %s thread(s)" % (v, k) for k, v in sorted(sgs[1]["ceiling_gflops"].items())))
    except (RunError, IndexError) as e:
        print("- sgemm after the trainings failed: %s" % e)
    ceilings = {int(k): max(sg["ceiling_gflops"][k] for sg in sgs) for k in sgs[0]["ceiling_gflops"]}
    print("- sgemm ceiling (the better of the two): %s" % ", ".join(
        "%.1f GFLOP/s at %d thread%s" % (ceilings[t], t, "" if t == 1 else "s") for t in sorted(ceilings)))
    load1 = load_avg()
    print("- load average at end %.2f %.2f %.2f; wall time %.0f s" % (*load1, time.time() - started))

    results = []
    for threads in a.threads:
        rows = []
        for model in a.models:
            n_train = a.conv_train_size if (model in ("conv", "denoise") and a.conv_train_size) \
                else n_train_full
            rows.append(model_row(a, model, threads, samples, n_train, data_bytes))
        print_table(threads, rows, ceilings.get(threads))
        results += rows

    print()
    print("Training FLOPs per image (forward 2M + weight gradients 2M + input gradients 2(M - M1), "
          "M = multiply-adds of all layers, M1 = of the first): " + ", ".join(
              "%s %.3g" % (m, flops_per_sample(m)) for m in a.models) + ". "
          "aelab's GFLOP/s divides this dense count by its time; the dense layers skip "
          "multiplications by zero inputs (core/ae_dense_nz.c), so for them the figure is "
          "the dense-equivalent rate, above what the CPU executes, and can pass the sgemm ceiling.")
    print("Target met = training ratio aelab/PyTorch <= %.1f and aelab's peak RSS <= data set + 64 MiB "
          "(MiB = 2^20 bytes); a validation ratio above %.1f is noted beside it." % (RATIO_TARGET, RATIO_TARGET))
    all_met = bool(results) and all(r["target_met"] for r in results)
    print("All targets met: %s" % ("yes" if all_met else "no"))

    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump({"sgemm": sgs, "ceilings": ceilings, "torch_config": torch_cfg, "dataset": a.dataset,
                       "data_dir": a.data_dir, "dataset_bytes": data_bytes, "commit": git_commit(),
                       "build": binfo, "cpu": cpu_model(), "epochs": a.epochs, "conv_epochs": a.conv_epochs, "reps": a.reps,
                       "conv_train_size": a.conv_train_size, "results": results}, f, indent=1)
    if interrupted:
        return 130
    return 0 if all_met else 3


if __name__ == "__main__":
    torch_ref.run_comparison(main)
