#!/usr/bin/env python3
"""Allocation failure, injected at every allocation in turn (aelabd's test
hook, AELABD_TEST_FAULTS=1, see server/srv_testhook.h).

- Jobs, core allocations (data set loader, trainer, checkpoints, inference
  for the reconstructions image): a short job on the tiny fixture is run
  with its N-th core allocation failing, for N = 1, 2, ... until N is past
  the last one.  Each fails with a message saying memory ran out, core's
  live-block count is back where it was, the daemon answers health, and
  the job past the last allocation succeeds.
- Jobs, the daemon's own allocations in the worker (SQLite, jansson): the
  job ends failed with a clear message or, when only the final commit
  failed, finished in memory; the next job succeeds; after a restart every
  job is in a final state or resumes and finishes.
- Requests, jansson + SQLite allocations of the request's thread, for a
  set of routes (submit, list, get, cancel, delete, metrics, models,
  health, openapi, Prometheus, a bad submission): each N gives the
  route's normal answer or a 5xx problem, never a dropped connection;
  a failed submission creates no job.  The reconstructions PNG likewise
  with core allocations.
- A clean SIGTERM at the end exits 0 with no core block live (and, in the
  ASan build, LeakSanitizer finds nothing, or the exit status says so).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from aelabd_harness import check, check_eq, cleanup, summary, tmpdir  # noqa: E402
from faults_harness import (TINY_JOB, EnvDaemon, db_jobs, health_ok, integrity,  # noqa: E402
                            log_fields, log_lines, tiny_data_dir, wait_final,
                            wait_until)

FAULT = "X-Aelab-Test-Fault"


def hook_line(d, jid):
    """The test hook's log line for job jid, as a dict."""
    for ln in log_lines(d, 'msg="test fault hook"'):
        f = log_fields(ln)
        if f.get("job") == str(jid):
            return f
    check(False, "no test-hook log line for job %d" % jid)
    return {}


def run_armed(d, directive, spec=None):
    r = d.post("/api/jobs", spec or TINY_JOB, headers={FAULT: directive})
    if not check_eq(r.status, 201, "submit with %s: %r" % (directive, r)):
        return None, {}
    jid = r.json()["id"]
    j = wait_final(d, jid)
    # The hook logs after the worker has let go of the job.
    wait_until(lambda: any(log_fields(ln).get("job") == str(jid)
                           for ln in log_lines(d, 'msg="test fault hook"')), timeout=30)
    return j, hook_line(d, jid)


def sweep_job(d, kind):
    """Run a short job with its N-th `kind` allocation (core or daemon)
    failing, N = 1, 2, ... until a job makes fewer than N (it then ran
    untouched and must succeed).  Returns (allocations of the untouched
    run, {outcome: count})."""
    outcomes = {}
    n = 1
    while n < 10000:
        j, h = run_armed(d, "job-%s=%d" % (kind, n))
        if not j:
            break
        made = int(h.get("%s_allocations" % kind, -1))
        check_eq(h.get("core_live_after"), h.get("core_live_before"),
                 "%s allocation %d: core blocks live before and after the job" % (kind, n))
        if made < n:
            check_eq(j["state"], "succeeded", "past the last %s allocation (%d) the job succeeds"
                     % (kind, made))
            return made, outcomes
        st = j["state"]
        outcomes[st] = outcomes.get(st, 0) + 1
        err = j.get("error") or ""
        if kind == "core":
            check_eq(st, "failed", "core allocation %d failing fails the job" % n)
            check("out of memory" in err, "core allocation %d: a clear message: %r" % (n, err))
        else:
            # Every later allocation fails too, so the final commit fails
            # as well: the job ends in memory (failed, or succeeded when only
            # that commit was hit) and the database keeps it unfinished, to
            # be run again after a restart (checked at the end).
            check(st in ("failed", "succeeded"), "daemon allocation %d: job %s" % (n, st))
            if st == "failed":
                check("out of memory" in err and "database" in err,
                      "daemon allocation %d: a clear message: %r" % (n, err))
            nxt = d.submit(TINY_JOB)
            check_eq(wait_final(d, nxt["id"])["state"], "succeeded",
                     "the job after daemon allocation %d failed succeeds" % n)
        health_ok(d)
        n += 1
    check(False, "the %s sweep did not end" % kind)
    return n, outcomes


def probe_requests(d, jid_done):
    """(method, path, body, headers, normal statuses) for the request sweep."""
    return [
        ("GET", "/api/health", None, {}, (200,)),
        ("GET", "/api/models", None, {}, (200,)),
        ("GET", "/api/openapi.json", None, {}, (200,)),
        ("GET", "/metrics", None, {}, (200,)),
        ("GET", "/api/jobs", None, {}, (200,)),
        ("GET", "/api/jobs?state=succeeded&limit=3", None, {}, (200,)),
        ("GET", "/api/jobs/%d" % jid_done, None, {}, (200,)),
        ("GET", "/api/jobs/%d/metrics" % jid_done, None, {}, (200,)),
        ("GET", "/api/jobs/%d/metrics?format=csv" % jid_done, None, {}, (200,)),
        ("GET", "/api/jobs/%d/summary" % jid_done, None, {}, (200,)),
        ("GET", "/api/jobs/987654", None, {}, (404,)),
        ("POST", "/api/jobs", b'{"model": "simple", "epochs": "two"}',
         {"Content-Type": "application/json"}, (400,)),
        ("POST", "/api/jobs", b'{"model": ', {"Content-Type": "application/json"}, (400,)),
    ]


def allocations(r, kind="daemon"):
    h = r.header("x-aelab-test-allocations") or ""
    return int(dict(x.split("=") for x in h.split()).get(kind, -1))


def sweep_request(d, method, path, body, headers, normal, kind="daemon"):
    """Fail the request's `kind` allocations at N = 1, 2, ... until the
    request makes fewer than N (then it must get its normal answer).
    path may be a function of N (a fresh target each time).  Returns
    (allocations of the untouched request, answers by status)."""
    h = dict(headers)
    seen = {}
    for n in range(1, 100000):
        h[FAULT] = "%s=%d" % (kind, n)
        p = path(n) if callable(path) else path
        try:
            r = d.req(method, p, body, headers=h)
        except OSError as e:
            check(False, "%s %s, %s allocation %d: connection error %s" % (method, p, kind, n, e))
            continue
        made = allocations(r, kind)
        if made < n:
            check(r.status in normal, "%s %s untouched (%d allocations): %r" % (method, p, made, r))
            return made, seen
        seen[r.status] = seen.get(r.status, 0) + 1
        ok = r.status in normal or (r.status in (500, 503) and r.json() is not None
                                    and r.json().get("status") == r.status)
        check(ok, "%s %s, %s allocation %d: %r" % (method, p, kind, n, r))
    check(False, "%s %s: the sweep did not end" % (method, path))
    return 0, seen


def sweep_submit(d):
    """POST /api/jobs with each daemon allocation failing: a 201 means a
    job exists; any other answer created none."""
    before = set(db_jobs(d.db))
    created = set()
    seen = {}
    for n in range(1, 100000):
        r = d.post("/api/jobs", dict(TINY_JOB, epochs=1), headers={FAULT: "daemon=%d" % n})
        if r.status == 201:
            created.add(r.json()["id"])
        else:
            check(r.status in (500, 503) and r.json() is not None,
                  "submission, allocation %d: %r" % (n, r))
        made = allocations(r)
        if made < n:
            check_eq(r.status, 201, "past the last allocation (%d) the submission succeeds" % made)
            break
        seen[r.status] = seen.get(r.status, 0) + 1
    for jid in created:
        wait_final(d, jid)
    after = set(db_jobs(d.db))
    listed = {j["id"] for j in d.get("/api/jobs?limit=500").json()["jobs"]}
    check_eq(after - before, created, "jobs in the database are exactly the 201-acknowledged ones")
    check(created <= listed, "every acknowledged job is listed")
    return made, seen


def sweep_cancel_delete(d):
    """Cancel a queued job, and delete a cancelled one, with each daemon
    allocation failing in turn (a fresh job for each N, a blocker keeping
    the worker busy).  The answer and the job must agree: 200 (cancel) or
    204 (delete) and the change happened; a 5xx and nothing changed."""
    blocker = d.submit(dict(TINY_JOB, model="conv", batch_size=1, epochs=100000))
    d.wait_state(blocker["id"], ("running",))
    totals = {}
    for what in ("cancel", "delete"):
        n, total = 1, None
        while total is None:
            victim = d.submit(dict(TINY_JOB, name="victim"))["id"]
            if what == "delete":
                check_eq(d.post("/api/jobs/%d/cancel" % victim).status, 200, "cancel the victim")
                method, path, ok_status = "DELETE", "/api/jobs/%d" % victim, 204
            else:
                method, path, ok_status = "POST", "/api/jobs/%d/cancel" % victim, 200
            r = d.req(method, path, headers={FAULT: "daemon=%d" % n})
            if allocations(r) < n:
                total = allocations(r)
                check_eq(r.status, ok_status, "%s past the last allocation" % what)
            after = d.get("/api/jobs/%d" % victim)
            stored = db_jobs(d.db).get(victim)
            if r.status == ok_status:
                if what == "cancel":
                    check(after.json()["state"] == "cancelled" and stored[0] == "cancelled",
                          "cancel answered %d, job cancelled (allocation %d)" % (r.status, n))
                else:
                    check(after.status == 404 and stored is None,
                          "delete answered 204, job gone (allocation %d)" % n)
            else:
                check(r.status in (500, 503) and r.json() is not None,
                      "%s, allocation %d: %r" % (what, n, r))
                want = "queued" if what == "cancel" else "cancelled"
                check(after.status == 200 and after.json()["state"] == want and stored
                      and stored[0] == want,
                      "%s answered %d: nothing changed (allocation %d): %r %r"
                      % (what, r.status, n, after, stored))
                if what == "cancel":
                    d.post("/api/jobs/%d/cancel" % victim)
            n += 1
        totals[what] = total
        print("%s: %d daemon allocations, each failed once" % (what, total))
    d.post("/api/jobs/%d/cancel" % blocker["id"])
    wait_final(d, blocker["id"])
    return totals["cancel"], totals["delete"]


def main():
    root = tmpdir("faults-alloc")
    try:
        data = tiny_data_dir(root)
        d = EnvDaemon(root, "--workers", "1", "--data-dir", data,
                      env={"AELABD_TEST_FAULTS": "1"}).start()
        try:
            check("allocation fault injection is on" in d.log_text(), "test mode announced")
            n_core, out = sweep_job(d, "core")
            print("job core allocations: %d, each failed in turn: %r" % (n_core, out))
            n_dmn, out = sweep_job(d, "daemon")
            print("job daemon allocations (SQLite, jansson): %d, each failed in turn: %r"
                  % (n_dmn, out))

            done = d.submit(TINY_JOB)
            check_eq(wait_final(d, done["id"])["state"], "succeeded", "reference job")
            n_req = 0
            for method, path, body, headers, normal in probe_requests(d, done["id"]):
                total, seen = sweep_request(d, method, path, body, headers, normal)
                n_req += total
                print("%s %s: %d daemon allocations, answers %r" % (method, path, total, seen))
            # A different n each time: the PNG of the last (epoch, n) is cached.
            total, seen = sweep_request(d, "GET", lambda n: "/api/jobs/%d/reconstructions.png?n=%d"
                                        % (done["id"], 1 + n % 99), None, {}, (200,), kind="core")
            check(total >= 1, "the PNG makes core allocations: %d" % total)
            print("GET reconstructions.png: %d core allocations, answers %r" % (total, seen))
            total_s, seen = sweep_submit(d)
            print("POST /api/jobs: %d daemon allocations, answers %r" % (total_s, seen))

            n_cancel, n_delete = sweep_cancel_delete(d)
            health_ok(d)
            last = d.submit(TINY_JOB)
            check_eq(wait_final(d, last["id"])["state"], "succeeded", "a job after all that")
            print("figures: job core allocations %d, job daemon allocations %d, request "
                  "allocations %d (+ submit %d, cancel %d, delete %d), every one failed once"
                  % (n_core, n_dmn, n_req, total_s, n_cancel, n_delete))
        finally:
            rc, _ = d.stop()
            check_eq(rc, 0, "clean exit (under ASan: LeakSanitizer found nothing)")
        exit_line = log_lines(d, "test fault hook: at exit")
        check(exit_line and log_fields(exit_line[-1]).get("core_live") == "0",
              "no core block live at exit: %r" % exit_line)
        check_eq(integrity(d.db), "ok", "database intact")

        # After a restart, every job is final or resumes and finishes.
        d = EnvDaemon(root, "--workers", "1", "--data-dir", data).start()
        try:
            for jid in db_jobs(d.db):
                j = wait_final(d, jid)
                check(j and j["state"] in ("succeeded", "failed", "cancelled"),
                      "job %d after restart: %r" % (jid, j and j["state"]))
        finally:
            rc, _ = d.stop()
            check_eq(rc, 0, "clean exit after restart")
        check_eq(integrity(d.db), "ok", "database intact after the restart")
    finally:
        cleanup(root)
    return summary("test_faults_alloc")


if __name__ == "__main__":
    sys.exit(main())
