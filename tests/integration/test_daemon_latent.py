#!/usr/bin/python3
"""test_daemon_latent.py - the latent-space pictures over real HTTP (issue 6).

A real aelabd on 127.0.0.1 (port 0, fresh temp dir, one worker) trains a vae,
a vae with latent_dim 3 and a simple model on MNIST subsets; then:

  * latent.png: 640x480 RGB for every model, per epoch, 400 for bad epochs;
  * manifold.png: 420x420 grayscale for the 2-D vae, 409 (naming the model
    or the latent_dim) for the others;
  * samples.png: sizes for several n, 400 for bad n and seed, the same
    bytes for the same seed, X-Seed, 409 for a non-vae;
  * 404 for an unknown job and for a job with no finished epoch (queued
    behind a long one, so no timing is guessed);
  * the event files: latent_scatter every epoch for every model and
    latent_manifold for the 2-D vae, and the latest epoch's pictures are
    byte for byte the API's;
  * `aelab train --model vae --logdir` writes the same tags, checked the way
    TensorBoard reads them (tests/golden/decode_run.py).
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import aelabd_harness as H  # noqa: E402
from aelabd_harness import Daemon, check, check_eq, cleanup, summary, tmpdir  # noqa: E402


def ihdr(data):
    """(width, height, colour type) of a PNG, or None."""
    if len(data) < 33 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    w, h = struct.unpack(">II", data[16:24])
    return w, h, data[25]


def png_pixels_rgb(data):
    """Decode an 8-bit RGB, non-interlaced PNG (what aelab writes) into rows
    of bytes, with the standard library only."""
    w, h, ct = ihdr(data)
    assert ct == 2
    i, idat = 8, b""
    while i < len(data):
        n, kind = struct.unpack(">I4s", data[i:i + 8])
        if kind == b"IDAT":
            idat += data[i + 8:i + 8 + n]
        i += 12 + n
    raw = zlib.decompress(idat)
    rows, prev, stride = [], bytearray(w * 3), w * 3
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - 3] if x >= 3 else 0
            b = prev[x]
            c = prev[x - 3] if x >= 3 else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return rows


def event_images(run_dir):
    """{(tag, step): png bytes} of every image summary in a run's event files."""
    out = {}
    for name in sorted(f for f in os.listdir(run_dir) if "tfevents" in f):
        with open(os.path.join(run_dir, name), "rb") as f:
            data = f.read()
        i = 0
        while i + 12 <= len(data):
            (n,) = struct.unpack("<Q", data[i:i + 8])
            rec = data[i + 12:i + 12 + n]
            i += 16 + n
            step = 0
            for fnum, _, v in H._fields(rec):
                if fnum == 2:
                    step = v
                elif fnum == 5:
                    for vf, _, val in H._fields(v):
                        if vf != 1:
                            continue
                        tag, png = None, None
                        for a, _, c in H._fields(val):
                            if a == 1:
                                tag = c.decode()
                            elif a == 4:
                                png = dict((x, y) for x, _, y in H._fields(c)).get(4)
                        if tag and png:
                            out[(tag, step)] = png
    return out


def problem(r, status, *needles):
    j = r.json() or {}
    ok = check_eq(r.status, status, "status of %r" % r)
    ok &= check(r.header("content-type") == "application/problem+json", "problem+json")
    for n in needles:
        ok &= check(n in j.get("detail", ""), "detail %r contains %r" % (j.get("detail"), n))
    return j


SMALL = {"train_size": 1000, "test_size": 400, "threads": 1}


def test_latent(d, vae, vae3, simple):
    for jid, what in ((vae, "vae"), (vae3, "vae latent_dim 3"), (simple, "simple")):
        r = d.get("/api/jobs/%d/latent.png" % jid)
        check_eq(r.status, 200, "latent.png of %s" % what)
        check_eq(r.header("content-type"), "image/png", "type")
        check_eq(ihdr(r.body), (640, 480, 2), "latent.png of %s: 640x480 RGB" % what)
    r2 = d.get("/api/jobs/%d/latent.png?epoch=2" % vae)
    r1 = d.get("/api/jobs/%d/latent.png?epoch=1" % vae)
    check(r1.status == 200 and r1.header("x-epoch") == "1", "latent.png of epoch 1")
    check_eq(r2.header("x-epoch"), "2", "X-Epoch")
    check(r1.body != r2.body, "epoch 1 and 2 scatters differ")
    check("max-age" in (r1.header("cache-control") or ""), "an epoch's picture is cacheable")
    for q in ("epoch=0", "epoch=3", "epoch=x", "epoch=1.5"):
        problem(d.get("/api/jobs/%d/latent.png?%s" % (vae, q)), 400, "epoch")
    # The legend is in the picture: its 10 palette colours right of the plot.
    rows = png_pixels_rgb(r2.body)
    palette = [bytes.fromhex(c) for c in ("1f77b4", "ff7f0e", "2ca02c", "d62728", "9467bd",
                                          "8c564b", "e377c2", "7f7f7f", "bcbd22", "17becf")]
    legend = set()
    for row in rows:
        for x in range(500, 640):
            px = row[3 * x:3 * x + 3]
            if px in palette:
                legend.add(px)
    check_eq(len(legend), 10, "every label colour in the legend")


def test_manifold(d, vae, vae3, simple):
    r = d.get("/api/jobs/%d/manifold.png" % vae)
    check_eq(r.status, 200, "manifold.png")
    check_eq(ihdr(r.body), (420, 420, 0), "manifold 420x420 grayscale")
    check_eq(r.header("x-epoch"), "2", "latest epoch")
    r1 = d.get("/api/jobs/%d/manifold.png?epoch=1" % vae)
    check(r1.status == 200 and ihdr(r1.body) == (420, 420, 0) and r1.body != r.body,
          "manifold of epoch 1")
    problem(d.get("/api/jobs/%d/manifold.png?epoch=9" % vae), 400, "epoch")
    j = problem(d.get("/api/jobs/%d/manifold.png" % simple), 409, "vae", "simple")
    check_eq(j.get("model"), "simple", "problem names the model")
    problem(d.get("/api/jobs/%d/manifold.png" % vae3), 409, "latent_dim 2", "latent_dim 3")


def test_samples(d, vae, vae3, simple):
    for q, want in (("", (280, 56)), ("?n=1", (28, 28)), ("?n=7", (196, 28)),
                    ("?n=10", (280, 28)), ("?n=23", (280, 84)), ("?n=100", (280, 280))):
        r = d.get("/api/jobs/%d/samples.png%s" % (vae, q))
        check_eq(r.status, 200, "samples%s" % q)
        check_eq(ihdr(r.body), want + (0,), "samples%s size" % q)
        check(r.header("x-seed") is not None, "X-Seed")
    a = d.get("/api/jobs/%d/samples.png?n=12&seed=5" % vae)
    b = d.get("/api/jobs/%d/samples.png?n=12&seed=5" % vae)
    c = d.get("/api/jobs/%d/samples.png?n=12&seed=6" % vae)
    check(a.status == 200 and a.body == b.body, "same seed, same picture")
    check(c.status == 200 and c.body != a.body, "another seed, another picture")
    check_eq(a.header("x-seed"), "5", "X-Seed echoes the seed")
    e1 = d.get("/api/jobs/%d/samples.png?n=12&seed=5&epoch=1" % vae)
    check(e1.status == 200 and e1.body != a.body and e1.header("x-epoch") == "1",
          "epoch 1's decoder")
    u = d.get("/api/jobs/%d/samples.png?n=12" % vae)
    v = d.get("/api/jobs/%d/samples.png?n=12" % vae)
    check(u.header("x-seed") != v.header("x-seed") and u.body != v.body,
          "without a seed, new samples each time")
    again = d.get("/api/jobs/%d/samples.png?n=12&seed=%s" % (vae, u.header("x-seed")))
    check(again.body == u.body, "X-Seed reproduces the picture")
    for q in ("n=0", "n=101", "n=x", "n=-3", "n=2.5", "n="):
        problem(d.get("/api/jobs/%d/samples.png?%s" % (vae, q)), 400, "n")
    for q in ("seed=-1", "seed=9007199254740992", "seed=abc"):
        problem(d.get("/api/jobs/%d/samples.png?%s" % (vae, q)), 400, "seed")
    problem(d.get("/api/jobs/%d/samples.png" % simple), 409, "vae", "simple")
    r = d.get("/api/jobs/%d/samples.png?n=3" % vae3)
    check(r.status == 200 and ihdr(r.body) == (84, 28, 0), "samples of a 3-D vae")


def test_event_files(d, vae, simple):
    for jid, manifold in ((vae, True), (simple, False)):
        j = d.get("/api/jobs/%d" % jid).json()
        imgs = event_images(j["run_dir"])
        epochs = j["epochs"]
        for e in range(1, epochs + 1):
            s = imgs.get(("latent_scatter", e))
            check(s is not None and ihdr(s) == (640, 480, 2), "job %d: latent_scatter at step %d" % (jid, e))
            m = imgs.get(("latent_manifold", e))
            if manifold:
                check(m is not None and ihdr(m) == (420, 420, 0),
                      "job %d: latent_manifold at step %d" % (jid, e))
            else:
                check(m is None, "no manifold for a %s job" % j["model"])
        api = d.get("/api/jobs/%d/latent.png" % jid).body
        check(imgs.get(("latent_scatter", epochs)) == api,
              "job %d: the event file's last scatter is the API's latent.png" % jid)
        if manifold:
            check(imgs.get(("latent_manifold", epochs)) == d.get("/api/jobs/%d/manifold.png" % jid).body,
                  "the event file's last manifold is the API's manifold.png")


def test_not_ready(d):
    """With one worker busy on a long job, a second one stays queued: its
    pictures are 404 until an epoch finishes."""
    long = d.submit({"model": "vae", "epochs": 50, "threads": 1})
    queued = d.submit(dict(SMALL, model="vae", epochs=1))
    st = d.get("/api/jobs/%d" % queued["id"]).json()["state"]
    check_eq(st, "queued", "the second job waits for the worker")
    for path in ("latent.png", "manifold.png", "samples.png"):
        problem(d.get("/api/jobs/%d/%s" % (queued["id"], path)), 404, "no finished epoch")
    for j in (queued, long):
        d.post("/api/jobs/%d/cancel" % j["id"])
    d.wait_state(long["id"], ("cancelled", "succeeded", "failed"))
    problem(d.get("/api/jobs/999999/latent.png"), 404, "999999")
    check_eq(d.get("/api/jobs/x1/manifold.png").status, 400, "malformed id")
    check_eq(d.post("/api/jobs/%d/samples.png" % long["id"]).status, 405, "POST is not allowed")


def test_cli_logdir():
    """`aelab train --model vae --logdir` writes the latent tags; decode_run.py
    checks them the way TensorBoard reads them."""
    cli = H.AELAB_CLI
    if not cli or not os.path.exists(cli):
        check(False, "the aelab CLI is needed (AELAB_CLI)")
        return
    root = tempfile.mkdtemp(prefix="aelab-latent-cli-")
    try:
        logdir = os.path.join(root, "runs")
        p = subprocess.run([cli, "train", "--model", "vae", "--epochs", "2", "--train-size", "600",
                            "--test-size", "300", "--threads", "1", "--data-dir", H.MNIST,
                            "--logdir", logdir], capture_output=True, text=True, timeout=300)
        check_eq(p.returncode, 0, "aelab train vae: %s" % p.stderr[-300:])
        check(all(("- %s: " % k) in p.stdout for k in ("reconstruction_loss", "kl_loss",
                                                        "val_reconstruction_loss", "val_kl_loss")),
              "the epoch lines show the loss parts: %s" % p.stdout[-300:])
        # --json: the parts add up to the losses.
        q = subprocess.run([cli, "train", "--model", "vae", "--epochs", "1", "--train-size", "300",
                            "--test-size", "200", "--threads", "1", "--data-dir", H.MNIST, "--json"],
                           capture_output=True, text=True, timeout=300)
        check_eq(q.returncode, 0, "aelab train --json: %s" % q.stderr[-300:])
        lines = [json.loads(l) for l in q.stdout.splitlines() if l.startswith("{")]
        ep = [l for l in lines if "epoch" in l]
        check_eq(len(ep), 1, "one epoch line")
        for e in ep:
            check(abs(e["reconstruction_loss"] + e["kl_loss"] - e["loss"]) < 1e-6 * e["loss"],
                  "loss = reconstruction + KL: %r" % e)
            check(abs(e["val_reconstruction_loss"] + e["val_kl_loss"] - e["val_loss"]) < 1e-6 * e["val_loss"],
                  "val_loss = its parts: %r" % e)
            check(e["kl_loss"] > 0 and e["val_kl_loss"] > 0, "KL is positive")
        runs = [os.path.join(logdir, r) for r in os.listdir(logdir)] if os.path.isdir(logdir) else []
        check_eq(len(runs), 1, "one run dir")
        if len(runs) != 1:
            return
        decoder = os.path.join(H.SOURCE_ROOT, "tests", "golden", "decode_run.py")
        p = subprocess.run(["/usr/bin/python3", decoder, runs[0], "--epochs", "2",
                            "--scalars", "loss,val_loss,reconstruction_loss,kl_loss,"
                            "val_reconstruction_loss,val_kl_loss",
                            "--images", "reconstructions=280x56,latent_scatter=640x480,"
                            "latent_manifold=420x420",
                            "--files", "1", "--status", "success", "--hparam", "model=vae",
                            "--hparam", "latent_dim=2"],
                           capture_output=True, text=True, timeout=300)
        check_eq(p.returncode, 0, "decode_run.py: %s" % (p.stdout[-800:] + p.stderr[-400:]))
    finally:
        cleanup(root)


def main():
    root = tmpdir("latent")
    d = Daemon(root, "--workers", "1")
    try:
        d.start()
        vae = d.submit(dict(SMALL, model="vae", epochs=2))["id"]
        vae3 = d.submit(dict(SMALL, model="vae", epochs=1, latent_dim=3))["id"]
        simple = d.submit(dict(SMALL, model="simple", epochs=2))["id"]
        for jid in (vae, vae3, simple):
            j = d.wait_state(jid, ("succeeded", "failed", "cancelled"), timeout=300)
            check_eq(j["state"], "succeeded", "job %d: %r" % (jid, j.get("error")))
            links = j.get("links", {})
            check_eq(links.get("latent"), "/api/jobs/%d/latent.png" % jid, "latent link")
            check_eq("samples" in links, jid != simple, "samples link for a vae only")
            check_eq("manifold" in links, jid == vae, "manifold link for the 2-D vae only")
        test_latent(d, vae, vae3, simple)
        test_manifold(d, vae, vae3, simple)
        test_samples(d, vae, vae3, simple)
        test_event_files(d, vae, simple)
        test_not_ready(d)
        d.stop()
    finally:
        if d.alive():
            d.kill9()
        cleanup(root)
    test_cli_logdir()
    return summary("test_daemon_latent")


if __name__ == "__main__":
    sys.exit(main())
