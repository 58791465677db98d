#!/usr/bin/env python3
"""aelabd trains real jobs: a small job followed to `succeeded` by polling
and by Server-Sent Events (per job and for all jobs), its metrics (JSON and
CSV), summary, weights, reconstructions.png (IHDR sizes), its TensorBoard
event files (decoded independently here, and with `aelab events` when it
is built), the vae's extra columns, and delete with purge."""
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from aelabd_harness import (AELAB_CLI, MNIST, SSE, Daemon, check, check_eq, cleanup,  # noqa: E402
                            png_size, read_events, summary, tmpdir)

SPEC = {"model": "simple", "epochs": 3, "train_size": 2000, "test_size": 300,
        "batch_size": 100, "threads": 1, "name": "small simple"}
# The per-epoch metrics of a non-vae model, one name each in the API's JSON,
# CSV, SSE and the TensorBoard tags (issue 13: train_seconds, not seconds).
EPOCH_METRICS = {"loss", "val_loss", "train_seconds", "val_seconds"}


def collect(sse, out, until=("end", "deleted")):
    for ev, data, eid in sse.events():
        out.append((ev, json.loads(data) if data.startswith("{") else data, eid))
        if ev in until:
            return


def test_train_and_follow(d):
    # The all-jobs stream is opened first, so it sees the job being created.
    all_sse = SSE(d.port, "/api/events")
    check_eq(all_sse.status, 200, "/api/events")
    check_eq(all_sse.content_type, "text/event-stream", "SSE content type")
    all_events = []

    def read_all():
        for ev, data, eid in all_sse.events():
            all_events.append((ev, json.loads(data), eid))
            if ev == "job" and json.loads(data).get("state") == "succeeded":
                return

    t_all = threading.Thread(target=read_all, daemon=True)
    t_all.start()

    job = d.submit(SPEC)
    jid = job["id"]
    check_eq(job["name"], "small simple", "name kept")
    check_eq(job["settings"]["epochs"], 3, "settings echoed")
    check_eq(job["settings"]["encoding_dim"], 32, "defaults filled in")
    check(job["run_dir"].endswith("/runs/%04d-simple" % jid), "run dir %r" % job["run_dir"])

    sse = SSE(d.port, "/api/jobs/%d/events" % jid)
    events = []
    collect(sse, events)
    sse.close()
    kinds = [e[0] for e in events]
    check_eq(kinds[0], "snapshot", "stream starts with a snapshot")
    check_eq(kinds[-1], "end", "stream ends with end")
    epochs = [e[1]["epoch"] for e in events if e[0] == "epoch"]
    snap_epochs = [m["epoch"] for m in events[0][1]["metrics"]]
    check_eq(sorted(set(epochs + snap_epochs)), [1, 2, 3], "every epoch seen once via SSE")
    check(all(set(e[1]) == {"id", "epoch"} | EPOCH_METRICS for e in events if e[0] == "epoch"),
          "SSE epoch events carry the table's names: %r" % [e for e in events if e[0] == "epoch"][:1])
    states = [e[1]["state"] for e in events if e[0] == "state"]
    if not states:  # it ended before the stream opened: the snapshot says so
        states = [events[0][1].get("state")]
    check(states and states[-1] == "succeeded", "final state event %r" % states)
    check_eq(events[-1][1], {"state": "succeeded"}, "end payload")
    prog = [e[1] for e in events if e[0] == "progress"]
    check(all(0 <= p["progress"] <= 1 and p["batches"] == 20 for p in prog),
          "progress payloads %r" % prog[:2])
    ids = [int(e[2]) for e in events if e[2]]
    check_eq(ids, sorted(ids), "event ids increase")

    # Polling agrees.
    j = d.wait_state(jid, ("succeeded",))
    check_eq(j["epoch"], 3, "3 epochs")
    check_eq(j["progress"], 1.0, "progress 1")
    check_eq([m["epoch"] for m in j["metrics"]], [1, 2, 3], "per-epoch rows")
    losses = [m["loss"] for m in j["metrics"]]
    check(losses[2] < losses[0], "loss falls %r" % losses)
    check(all(m["val_loss"] > 0 and m["train_seconds"] > 0 and m["val_seconds"] > 0
              for m in j["metrics"]), "val_loss, train_seconds, val_seconds")
    check(all(set(m) == {"epoch"} | EPOCH_METRICS for m in j["metrics"]),
          "rows carry exactly epoch + the table's names: %r" % j["metrics"][0])
    check(j["loss"] == losses[-1] and j["val_loss"] == j["metrics"][-1]["val_loss"], "latest")
    check(j["finished_at"] and j["started_at"] and j["duration_seconds"] > 0, "times")
    check(j["eta_seconds"] is None and j["error"] is None, "no eta/error when done")

    t_all.join(timeout=30)
    all_sse.close()
    mine = [e for e in all_events if e[0] == "job" and e[1]["id"] == jid]
    check(mine and mine[0][1]["state"] in ("queued", "running"), "all-jobs stream saw the job")
    check(any(e[1]["state"] == "running" for e in mine), "... and running")
    check(mine and mine[-1][1]["state"] == "succeeded", "... and succeeded")
    check(all_events and all_events[0][0] == "hello", "all-jobs stream starts with hello")
    return jid, j


def test_artifacts(d, jid, j):
    r = d.get("/api/jobs/%d/metrics" % jid)
    check_eq(r.status, 200, "metrics json")
    check_eq(r.json()["metrics"], j["metrics"], "metrics equal the job's rows")
    r = d.get("/api/jobs/%d/metrics" % jid, headers={"Accept": "text/csv"})
    check(r.header("content-type").startswith("text/csv"), "csv type")
    lines = r.body.decode().strip().split("\n")
    check_eq(lines[0], "epoch,loss,val_loss,train_seconds,val_seconds", "csv header")
    check_eq(len(lines), 4, "csv rows")
    check(abs(float(lines[3].split(",")[1]) - j["metrics"][2]["loss"]) < 1e-8, "csv loss")
    check_eq(d.get("/api/jobs/%d/metrics?format=csv" % jid).body, r.body, "?format=csv")
    check_eq(d.get("/api/jobs/%d/metrics" % jid, headers={"Accept": "image/png"}).status, 406,
             "406 for an unknown Accept")

    r = d.get("/api/jobs/%d/summary" % jid)
    text = r.body.decode()
    check(r.status == 200 and "dense_1 (Dense)" in text and "Total params: 50,992" in text,
          "summary table:\n%s" % text)
    check_eq(r.header("x-params"), "50992", "X-Params")

    for n, want in ((10, (280, 56)), (1, (28, 56)), (100, (2800, 56))):
        r = d.get("/api/jobs/%d/reconstructions.png?n=%d" % (jid, n))
        check_eq(r.status, 200, "png n=%d" % n)
        check_eq(r.header("content-type"), "image/png", "png type")
        check_eq(png_size(r.body), want, "png size for n=%d" % n)
        check_eq(r.header("x-epoch"), "3", "latest epoch")
    r = d.get("/api/jobs/%d/reconstructions.png?epoch=1" % jid)
    check(r.status == 200 and r.header("x-epoch") == "1" and png_size(r.body) == (280, 56),
          "png of epoch 1")
    check(r.body != d.get("/api/jobs/%d/reconstructions.png" % jid).body,
          "epoch 1 and epoch 3 reconstructions differ")
    for q in ("n=0", "n=101", "n=x", "epoch=0", "epoch=4"):
        check_eq(d.get("/api/jobs/%d/reconstructions.png?%s" % (jid, q)).status, 400,
                 "bad ?%s" % q)

    r = d.get("/api/jobs/%d/weights" % jid)
    check(r.status == 200 and len(r.body) > 200000, "checkpoint download (%d bytes)" % len(r.body))
    check("checkpoint.aeck" in r.header("content-disposition"), "attachment name")
    with open(os.path.join(j["run_dir"], "checkpoint.aeck"), "rb") as f:
        check(f.read() == r.body, "the checkpoint file itself")
    r = d.get("/api/jobs/%d/weights?epoch=2" % jid)
    with open(os.path.join(j["run_dir"], "weights", "epoch-0002.aew"), "rb") as f:
        check(r.status == 200 and f.read() == r.body, "epoch 2 weights")


def test_event_files(j):
    run = j["run_dir"]
    files = sorted(f for f in os.listdir(run) if "tfevents" in f)
    check_eq(len(files), 1, "one event file for an uninterrupted job")
    recs = read_events(os.path.join(run, files[0]))
    check(recs and recs[0].get("file_version", "").startswith("brain.Event:"), "file_version first")
    check(any(r.get("session_log") == 1 and r["step"] == 0 for r in recs), "SessionLog START at 0")
    loss = {r["step"]: r["values"]["loss"] for r in recs if "loss" in r["values"]}
    val = {r["step"]: r["values"]["val_loss"] for r in recs if "val_loss" in r["values"]}
    check_eq(sorted(loss), sorted(val), "loss and val_loss at the same steps")
    check_eq(len(loss), 3, "one loss per epoch")
    scalar_tags = {k for r in recs for k, v in r["values"].items() if isinstance(v, float)}
    check(EPOCH_METRICS <= scalar_tags and "epoch_seconds" not in scalar_tags,
          "TensorBoard scalar tags are the table's names: %r" % sorted(scalar_tags))
    api = [m["loss"] for m in j["metrics"]]
    check(all(abs(a - b) < 1e-5 for a, b in zip([loss[k] for k in sorted(loss)], api)),
          "event file losses equal the API's: %r vs %r" % (loss, api))
    imgs = [r["values"]["reconstructions"] for r in recs if "reconstructions" in r["values"]]
    check(imgs and imgs[0][0] == "image" and imgs[0][1:] == (280, 56), "reconstruction images %r" % imgs[:1])
    helps = ""
    if AELAB_CLI and os.path.exists(AELAB_CLI):
        helps = subprocess.run([AELAB_CLI, "--help"], capture_output=True, text=True).stdout
    if " events" not in helps:
        print("note: `aelab events` is not built yet; event files checked by the local decoder only")
    else:
        p = subprocess.run([AELAB_CLI, "events", "--json", os.path.join(run, files[0])],
                           capture_output=True, text=True, timeout=60)
        check_eq(p.returncode, 0, "aelab events: %s" % p.stderr[:300])
        recs = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
        by = {}
        for r in recs:
            if r.get("tag"):
                by.setdefault(r["tag"], []).append(r)
        check_eq([r["step"] for r in by.get("loss", [])], [1, 2, 3], "aelab events: loss steps")
        check(all(abs(r["value"] - m["loss"]) < 1e-6
                  for r, m in zip(by.get("loss", []), j["metrics"])), "aelab events: loss values")
        check_eq(len(by.get("val_loss", [])), 3, "aelab events: val_loss")
        check(all(r["width"] == 280 and r["height"] == 56 for r in by.get("reconstructions", []))
              and len(by.get("reconstructions", [])) == 3, "aelab events: images")
        ends = by.get("_hparams_/session_end_info", [])
        check(ends and ends[-1]["status"] == "STATUS_SUCCESS", "aelab events: session end")
        check(recs and recs[-1].get("end") and recs[-1]["damaged"] == 0, "aelab events: intact file")


def test_vae_and_delete(d, jid, j):
    v = d.submit({"model": "vae", "epochs": 1, "train_size": 500, "test_size": 100,
                  "threads": 1, "latent_dim": 2})
    vj = d.wait_state(v["id"], ("succeeded", "failed"))
    check_eq(vj["state"], "succeeded", "vae job: %r" % vj.get("error"))
    row = vj["metrics"][0]
    check(all(k in row for k in ("reconstruction_loss", "kl_loss", "val_reconstruction_loss",
                                 "val_kl_loss")), "vae columns %r" % row)
    csv = d.get("/api/jobs/%d/metrics?format=csv" % v["id"]).body.decode().split("\n")[0]
    check(csv.endswith(",reconstruction_loss,kl_loss,val_reconstruction_loss,val_kl_loss"),
          "vae csv header")

    # Delete without and with purge.
    check_eq(d.req("DELETE", "/api/jobs/%d" % v["id"]).status, 204, "delete")
    check(os.path.isdir(vj["run_dir"]), "run dir kept without purge")
    check_eq(d.req("DELETE", "/api/jobs/%d?purge=true" % jid).status, 204, "delete with purge")
    check(not os.path.exists(j["run_dir"]), "run dir purged")
    check_eq(d.get("/api/jobs/%d" % jid).status, 404, "gone")
    check_eq(d.get("/api/jobs/%d/reconstructions.png" % jid).status, 404, "png gone")
    check_eq(d.get("/api/jobs").json()["total"], 0, "no jobs left")


def test_resume_stream(d):
    """/api/events continues after Last-Event-ID; an id from before a
    restart (or too old) gets `resync`."""
    s = SSE(d.port, "/api/events")
    first = next(s.events())
    s.close()
    check_eq(first[0], "hello", "hello first")
    last = int(first[2])
    j = d.submit({"model": "simple", "epochs": 1, "train_size": 100, "test_size": 100,
                  "threads": 1})
    d.wait_state(j["id"], ("succeeded",))
    s = SSE(d.port, "/api/events", headers={"Last-Event-ID": str(last)})
    got = []
    for ev, data, eid in s.events():
        got.append((ev, json.loads(data)))
        if ev == "job" and json.loads(data)["state"] == "succeeded":
            break
    s.close()
    check(got and got[0][0] == "job" and got[0][1]["id"] == j["id"],
          "resumed stream replays what happened since id %d: %r" % (last, got[:2]))
    s = SSE(d.port, "/api/events", headers={"Last-Event-ID": "999999999"})
    ev = next(s.events())
    s.close()
    check_eq(ev[0], "resync", "an unknown future id -> resync")
    check_eq(d.req("DELETE", "/api/jobs/%d" % j["id"]).status, 204, "clean up")


def test_failure(d):
    """A job whose data set vanished between submit and start fails with a
    message, and the daemon goes on."""
    link = os.path.join(d.root, "data", "mnist")
    target = os.readlink(link)
    os.unlink(link)
    try:
        # Submission is refused while the data set is missing ...
        r = d.post("/api/jobs", {"model": "simple", "epochs": 1})
        check_eq(r.status, 400, "data set gone -> 400 at submit")
    finally:
        os.symlink(target, link)
    check_eq(d.get("/api/health").status, 200, "still serving")


def test_dataset_vanishes(root):
    """A data set that was installed at submit time but is gone when the job
    starts: the job fails with a message naming it; the daemon goes on."""
    os.makedirs(os.path.join(root, "data"))
    fm = os.path.join(root, "data", "fashion-mnist")
    os.symlink(MNIST, fm)  # any four IDX files will do
    d = Daemon(root, "--workers", "1").start()
    try:
        check(d.get("/api/models").json()["datasets"][1]["installed"], "fashion-mnist installed")
        blocker = d.submit({"model": "simple", "epochs": 100000, "train_size": 500,
                            "test_size": 100, "threads": 1})
        d.wait_state(blocker["id"], ("running",))
        victim = d.submit({"model": "simple", "epochs": 1, "dataset": "fashion_mnist",
                           "train_size": 100, "test_size": 100, "threads": 1})
        check_eq(victim["dataset"], "fashion-mnist", "alias stored as the canonical name")
        os.unlink(fm)
        check_eq(d.post("/api/jobs/%d/cancel" % blocker["id"]).status, 202, "cancel blocker")
        v = d.wait_state(victim["id"], ("failed", "succeeded"))
        check_eq(v["state"], "failed", "job without its data fails")
        check("fashion-mnist" in (v["error"] or ""), "error names the data set: %r" % v["error"])
        check_eq(d.get("/api/health").status, 200, "still serving")
        r = d.post("/api/jobs", {"model": "simple", "dataset": "fashion-mnist"})
        check_eq(r.status, 400, "now refused at submit")
    finally:
        rc, _ = d.stop()
        check_eq(rc, 0, "clean exit")


def main():
    root = tmpdir("jobs")
    try:
        d = Daemon(root, "--workers", "1").start()
        try:
            jid, j = test_train_and_follow(d)
            test_artifacts(d, jid, j)
            test_event_files(j)
            test_vae_and_delete(d, jid, j)
            test_resume_stream(d)
            test_failure(d)
        finally:
            rc, secs = d.stop()
            check_eq(rc, 0, "clean exit")
        os.makedirs(os.path.join(root, "vanish"))
        test_dataset_vanishes(os.path.join(root, "vanish"))
    finally:
        cleanup(root)
    return summary("test_daemon_jobs")


if __name__ == "__main__":
    sys.exit(main())
