#!/usr/bin/env python3
"""aelabd under valgrind (memcheck): a scripted session, then a clean
shutdown, must leave no leak and no memory error.

The session: one job trained to the end (and its artifacts fetched:
reconstructions and latent PNGs, summary, CSV metrics, the checkpoint, an
event stream, /metrics, the OpenAPI document, a static file), one running job cancelled, one queued job cancelled, a
running job and a queued one left for the SIGTERM (the running one is
suspended, as a shutdown does).  The daemon runs with
--leak-check=full --errors-for-leak-kinds=definite,indirect and
--error-exitcode, so a definite or indirect leak, or any memcheck error,
changes its exit status; the log's summary lines are checked too.

The tiny fixture data set (tests/fixtures/idx/tiny) keeps it short under
valgrind.  Before the daemon, tests/valgrind/simd_probe.c shows that the
engine's dispatch picks the portable kernels under valgrind (valgrind 3.19
cannot run AVX-512)."""
import os
import re
import stat
import subprocess
import sys
import tempfile
import time

VALGRIND = os.environ.get("VALGRIND", "valgrind")
REAL_AELABD = os.path.abspath(os.environ["AELABD"])
SRC = os.environ.get("AELAB_SOURCE_ROOT", os.getcwd())
FIXTURE = os.path.join(SRC, "tests", "fixtures", "idx", "tiny")
ERROR_EXIT = 99

ROOT = tempfile.mkdtemp(prefix="aelabd-valgrind-")
VG_LOG = os.path.join(ROOT, "valgrind.log")
VG_ARGS = [VALGRIND, "--tool=memcheck", "--leak-check=full",
           "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect",
           "--error-exitcode=%d" % ERROR_EXIT, "--num-callers=40", "--fair-sched=yes",
           "--log-file=" + VG_LOG]

# The harness starts $AELABD: make that valgrind running the real binary.
wrapper = os.path.join(ROOT, "aelabd-under-valgrind")
with open(wrapper, "w") as f:
    f.write("#!/bin/sh\nexec %s %s \"$@\"\n" % (" ".join("'%s'" % a for a in VG_ARGS), REAL_AELABD))
os.chmod(wrapper, os.stat(wrapper).st_mode | stat.S_IXUSR)
os.environ["AELABD"] = wrapper

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from aelabd_harness import Daemon, SSE, check, check_eq, cleanup, summary  # noqa: E402

LONG = 600  # seconds any one wait may take under valgrind


def tiny(model, epochs, **kw):
    spec = {"model": model, "epochs": epochs, "batch_size": 16, "threads": 1}
    spec.update(kw)
    return spec


def probe_dispatch():
    probe = os.environ["SIMD_PROBE"]
    native = subprocess.run([probe], capture_output=True, text=True)
    under = subprocess.run([VALGRIND, "-q", probe], capture_output=True, text=True)
    check_eq(under.returncode, 0, "simd_probe under valgrind: %s" % under.stderr)
    check_eq(under.stdout.strip(), "portable", "kernels chosen under valgrind")
    print("dispatch: natively %s, under valgrind %s" % (native.stdout.strip(),
                                                         under.stdout.strip()))


def session(d):
    # 1. A job that finishes, and what it produced.
    j1 = d.submit(tiny("simple", 2, encoding_dim=8))["id"]
    check_eq(d.wait_state(j1, ("succeeded", "failed"), timeout=LONG)["state"], "succeeded",
             "job 1 finished")
    r = d.get("/api/jobs/%d/reconstructions.png?n=4" % j1, timeout=LONG)
    check(r.status == 200 and r.body[:8] == b"\x89PNG\r\n\x1a\n", "reconstructions.png")
    r = d.get("/api/jobs/%d/latent.png" % j1, timeout=LONG)
    check(r.status == 200 and r.body[:4] == b"\x89PNG", "latent.png (drawn with cairo)")
    check_eq(d.get("/api/jobs/%d/summary" % j1).status, 200, "summary")
    check_eq(d.get("/api/jobs/%d/metrics?format=csv" % j1).status, 200, "metrics csv")
    check_eq(d.get("/api/jobs/%d/weights" % j1).status, 200, "checkpoint download")
    s = SSE(d.port, "/api/jobs/%d/events" % j1, timeout=LONG)
    names = [e[0] for e in s.events()]  # a finished job: snapshot, end
    s.close()
    check("end" in names, "event stream of a finished job ends: %r" % names)
    for path in ("/metrics", "/api/models", "/api/openapi.json", "/api/health", "/api/jobs"):
        check_eq(d.get(path, timeout=LONG).status, 200, path)
    d.get("/")  # the dashboard, when the checkout has one
    check_eq(d.post("/api/jobs", "{nope", headers={"Content-Type": "application/json"}).status,
             400, "malformed JSON")

    # 2. Cancel a running job and a queued one (one worker: j3 waits).
    j2 = d.submit(tiny("conv", 1000, threads=2))["id"]
    d.wait_state(j2, ("running",), timeout=LONG)
    j3 = d.submit(tiny("deep", 1))["id"]
    check_eq(d.get("/api/jobs/%d" % j3).json()["state"], "queued", "job 3 waits")
    check_eq(d.post("/api/jobs/%d/cancel" % j3).status, 200, "cancel queued job 3")
    check_eq(d.post("/api/jobs/%d/cancel" % j2).status, 202, "cancel running job 2")
    check_eq(d.wait_state(j2, ("cancelled", "failed", "succeeded"), timeout=LONG)["state"],
             "cancelled", "job 2 cancelled")
    check_eq(d.get("/api/jobs/%d" % j3).json()["state"], "cancelled", "job 3 cancelled")
    check_eq(d.req("DELETE", "/api/jobs/%d?purge=true" % j3).status, 204, "delete job 3")

    # 3. Leave one running and one queued for the shutdown.
    j4 = d.submit(tiny("vae", 1000))["id"]
    d.wait_state(j4, ("running",), timeout=LONG)
    j5 = d.submit(tiny("sparse", 1))["id"]
    check_eq(d.get("/api/jobs/%d" % j5).json()["state"], "queued", "job 5 waits")
    time.sleep(1)


def main():
    try:
        probe_dispatch()
        d = Daemon(ROOT, "--data-dir", FIXTURE, "--workers", "1", "--threads-per-job", "1",
                   data=False)
        t0 = time.time()
        d.start(timeout=LONG)
        print("aelabd started under valgrind in %.1f s" % (time.time() - t0))
        try:
            session(d)
        finally:
            rc, secs = d.stop(timeout=LONG)
        print("session + shutdown: %.1f s (shutdown %.1f s)" % (time.time() - t0, secs))
        with open(VG_LOG) as f:
            log = f.read()
        check_eq(rc, 0, "exit status under valgrind (%d = memcheck found errors or leaks)"
                 % ERROR_EXIT)
        m = re.search(r"ERROR SUMMARY: (\d+) errors", log)
        check(m is not None and m.group(1) == "0", "memcheck errors: %s" % (m and m.group(0)))
        for kind in ("definitely lost", "indirectly lost"):
            m = re.search(kind + r": ([\d,]+) bytes", log)
            check(m is None or m.group(1) == "0", "%s: %s" % (kind, m and m.group(0)))
        m = re.search(r"total heap usage: ([\d,]+ allocs, [\d,]+ frees, [\d,]+ bytes allocated)", log)
        if m:
            print("total heap usage: %s" % m.group(1))
        if "All heap blocks were freed" not in log:
            for kind in ("in use at exit", "possibly lost", "still reachable"):
                m = re.search(kind + r": ([\d,]+ bytes in [\d,]+ blocks)", log)
                if m:
                    print("%s: %s" % (kind, m.group(1)))
        else:
            print("all heap blocks were freed")
        if summary_failed():
            print(log[-6000:], file=sys.stderr)
    finally:
        cleanup(ROOT)
    return summary("test_daemon_valgrind")


def summary_failed():
    import aelabd_harness
    return aelabd_harness._failed > 0


if __name__ == "__main__":
    sys.exit(main())
