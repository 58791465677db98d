#!/usr/bin/python3
"""test_decode_run.py - decode_run.py on run directories, good and broken.

usage: test_decode_run.py WRITE_RUN DECODE_RUN GOLDEN_DIR PROTO_DIR

1. Run directories written through proto/tb.h by write_run (a fresh job; a
   job that crashed in epoch 3 and resumed in a new file) must pass every
   expectation, and the summary must show the resumed values.
2. The same with one thing wrong (resume START at the wrong step, no START,
   a wrong expectation, a stray 'tfevents' name) must fail.
3. The golden README's table of what TensorBoard really showed for a
   crashed-and-resumed run is replayed with the golden files themselves: the
   correct combinations pass and show the points TensorBoard showed, the
   broken ones fail.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL: " + msg)


def main():
    write_run, decode_run, golden, proto_dir = sys.argv[1:5]
    sys.path.insert(0, os.path.dirname(os.path.abspath(decode_run)))
    import decode_run as dr  # for its CRC, to build records by hand

    tmp = tempfile.mkdtemp(prefix="test_decode_run-")
    try:
        def new_dir(name):
            d = os.path.join(tmp, name)
            os.mkdir(d)
            return d

        def write(d, *args):
            r = subprocess.run([write_run, d, *args], capture_output=True, text=True)
            check(r.returncode == 0, "write_run %s: %s" % (" ".join(args), r.stderr))

        def decode(d, *args, expect_ok=True, what=""):
            summary = os.path.join(tmp, "summary.json")
            r = subprocess.run(["/usr/bin/python3", decode_run, d, "--proto-dir", proto_dir,
                                "--summary-json", summary, *args],
                               capture_output=True, text=True)
            ok = r.returncode == 0
            check(ok == expect_ok, "%s: decode_run exit %d, expected %s\n%s%s" % (
                what, r.returncode, "success" if expect_ok else "failure", r.stdout, r.stderr))
            return json.load(open(summary)) if os.path.exists(summary) else {}

        full = ["--scalars", "loss,val_loss,train_seconds,val_seconds", "--images", "reconstructions=280x56",
                "--text", "summary", "--hparam", "model=conv", "--hparam", "dataset=mnist",
                "--hparam", "batch_size=128", "--hparam", "learning_rate=0.001",
                "--experiment", "model,dataset,epochs,batch_size,learning_rate",
                "--metrics", "loss,val_loss", "--layout-regex", "^(val_)?loss$",
                "--layout-matches", "loss,val_loss"]

        # 1. A fresh job.
        d = new_dir("fresh")
        write(d, "--epochs", "3")
        s = decode(d, "--epochs", "3", "--files", "1", "--status", "success",
                   "--hparam", "epochs=3", *full, what="fresh job")
        check(s.get("hparams", {}).get("status") == "STATUS_SUCCESS", "fresh: status")
        check([p[0] for p in s.get("scalars", {}).get("loss", [])] == [1, 2, 3], "fresh: steps")

        # A crash in epoch 3, then a resume from epoch 3 in a new file.
        d = new_dir("resumed")
        write(d, "--epochs", "5", "--crash-in", "3")
        s = decode(d, "--epochs", "2", "--scalars", "val_loss", "--status", "none",
                   what="crashed job before resuming")
        write(d, "--epochs", "5", "--resume-from", "3")
        s = decode(d, "--epochs", "5", "--files", "2", "--status", "success",
                   "--hparam", "epochs=5", *full, what="resumed job")
        loss = dict((p[0], p[1]) for p in s.get("scalars", {}).get("loss", []))
        check(abs(loss.get(3, 0) - (0.3 / 3 + 0.001)) < 1e-6 and abs(loss.get(2, 0) - 0.15) < 1e-6,
              "resumed: loss %r (step 3 must be the resumed value, step 2 the old one)" % loss)

        # 2. Broken runs and wrong expectations.
        d = new_dir("start_too_early")
        write(d, "--epochs", "5", "--crash-in", "3")
        write(d, "--epochs", "5", "--resume-from", "3", "--start-step", "2")
        decode(d, "--epochs", "5", expect_ok=False, what="resume START at 2 instead of 3")
        d = new_dir("no_start")
        write(d, "--epochs", "5", "--crash-in", "3")
        write(d, "--epochs", "5", "--resume-from", "3", "--no-start")
        decode(d, "--epochs", "5", expect_ok=False, what="resume without START")
        d = os.path.join(tmp, "fresh")
        decode(d, "--epochs", "4", expect_ok=False, what="wrong epoch count")
        decode(d, "--status", "failure", expect_ok=False, what="wrong status")
        decode(d, "--hparam", "epochs=4", expect_ok=False, what="wrong hparam")
        decode(d, "--images", "reconstructions=28x28", expect_ok=False, what="wrong image size")
        decode(d, "--text", "nothing", expect_ok=False, what="missing text")
        decode(d, "--layout-regex", "^loss", "--layout-matches", "loss", expect_ok=False,
               what="missing layout")
        open(os.path.join(d, "notes.tfevents.json"), "w").write("{}")
        decode(d, expect_ok=False, what="stray tfevents name")
        os.remove(os.path.join(d, "notes.tfevents.json"))
        decode(d, what="fresh job again")

        # 3. The golden README's resume table, with TensorBoard's own bytes.
        gold = lambda n: open(os.path.join(golden, n), "rb").read()
        scalars, truncated, resume = gold("scalars.tfevents"), gold("truncated.tfevents"), \
            gold("resume.tfevents")
        fresh_start = bytes.fromhex(json.load(open(os.path.join(golden, "resume.json")))
                                    ["fresh_job_start_record"]["record_hex"])

        def record(payload):
            return (struct.pack("<Q", len(payload)) +
                    struct.pack("<I", dr.masked(struct.pack("<Q", len(payload)))) + payload +
                    struct.pack("<I", dr.masked(payload)))

        def start_at(step):  # Event{wall_time: 1700000000 + step, step, START}
            return record(b"\x09" + struct.pack("<d", 1700000000.0 + step) + b"\x10" +
                          bytes([step]) + b"\x3a\x02\x08\x01")

        # Byte offsets of the golden files' records (all 7 records of scalars).
        r0 = 40                       # after file_version
        res_start, res_rest = resume[40:71], resume[71:]

        def run_dir(name, old, new):
            d = new_dir(name)
            open(os.path.join(d, "events.out.tfevents.1700000000.host.1.0"), "wb").write(old)
            open(os.path.join(d, "events.out.tfevents.1700000100.host.1.0"), "wb").write(new)
            return d

        def loss_points(s):
            return [(p[0], round(p[1], 4)) for p in s.get("scalars", {}).get("loss", [])]

        rows = [
            ("row1_no_start_in_old", scalars, resume, False, None),
            ("row2_correct", scalars[:r0] + fresh_start + scalars[r0:], resume, True,
             [(1, 0.279), (2, 0.174), (3, 0.1462)]),
            ("row3_truncated_old", truncated[:r0] + fresh_start + truncated[r0:], resume, True,
             [(1, 0.279), (2, 0.174), (3, 0.1462)]),
            ("row4_start_at_2", scalars[:r0] + fresh_start + scalars[r0:],
             resume[:40] + start_at(2) + res_rest, False, None),
            ("row5_no_resume_start", scalars[:r0] + fresh_start + scalars[r0:],
             resume[:40] + res_rest, False, None),
        ]
        check(res_start == start_at(3), "hand-built START record differs from the golden one")
        for name, old, new, ok, want in rows:
            s = decode(run_dir(name, old, new), "--epochs", "3", expect_ok=ok, what=name)
            if want:
                check(loss_points(s) == want, "%s: loss %r, TensorBoard showed %r" % (
                    name, loss_points(s), want))
    finally:
        shutil.rmtree(tmp)
    print("test_decode_run: %d failed" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
