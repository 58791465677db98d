#!/usr/bin/env python3
"""aelabd's queue over real HTTP: queue positions, 429 with Retry-After,
Idempotency-Key, pagination and filters, cancelling queued and running
jobs, delete rules, and 100 concurrent submissions that all persist (with
unique ids) and come back in order after a restart."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from aelabd_harness import (Daemon, check, check_eq, cleanup, summary, tmpdir)  # noqa: E402

# Occupies the single worker for minutes unless cancelled.
BLOCKER = {"model": "simple", "epochs": 100000, "train_size": 1000, "test_size": 100,
           "batch_size": 100, "threads": 1, "name": "blocker"}


def tiny(i):
    return {"model": "simple", "epochs": 1, "train_size": 100, "test_size": 100,
            "batch_size": 50, "threads": 1, "name": "tiny-%d" % i}


def test_queue(root):
    d = Daemon(root, "--workers", "1", "--max-queued", "3").start()
    try:
        blocker = d.submit(BLOCKER)
        check(blocker["state"] in ("queued", "running"), "a new job: %s" % blocker["state"])
        check(blocker["queue_position"] in (1, None), "position of the first job")
        d.wait_state(blocker["id"], ("running",))

        # Idempotency-Key: a retry with the same key and body (spelled
        # differently) returns the same job; another body is 422.
        key = {"Idempotency-Key": "retry-me-1"}
        r1 = d.post("/api/jobs", tiny(1), headers=key)
        check_eq(r1.status, 201, "first submission")
        a = r1.json()
        check_eq(r1.header("location"), "/api/jobs/%d" % a["id"], "Location header")
        r2 = d.post("/api/jobs", '{ "name":"tiny-1", "model":"simple","epochs":1,"train_size":100,'
                    '"test_size":100,"batch_size":50,"threads":1}',
                    headers=dict(key, **{"Content-Type": "application/json"}))
        check_eq(r2.status, 201, "replayed submission")
        check_eq(r2.json()["id"], a["id"], "same job for the same key")
        check_eq(r2.header("idempotent-replayed"), "true", "replay header")
        r3 = d.post("/api/jobs", tiny(2), headers=key)
        check_eq(r3.status, 422, "same key, other body")
        check("different request body" in (r3.json() or {}).get("detail", ""), "422 detail")

        b = d.submit(tiny(3))
        c = d.submit(tiny(4))
        check_eq([d.get("/api/jobs/%d" % x["id"]).json()["queue_position"] for x in (a, b, c)],
                 [1, 2, 3], "queue positions")
        r = d.post("/api/jobs", tiny(5))
        check_eq(r.status, 429, "queue full")
        ra = r.header("retry-after")
        check(ra is not None and ra.isdigit() and 1 <= int(ra) <= 600, "Retry-After %r" % ra)
        check(r.header("content-type") == "application/problem+json" and
              "queue is full" in r.json()["detail"], "429 problem")
        # A replay is still answered while the queue is full.
        r = d.post("/api/jobs", tiny(1), headers=key)
        check(r.status == 201 and r.json()["id"] == a["id"], "replay while full: %r" % r)

        # Pagination (newest first) and filters.
        p1 = d.get("/api/jobs?limit=2").json()
        check_eq([j["id"] for j in p1["jobs"]], [c["id"], b["id"]], "first page")
        check_eq(p1["total"], 4, "total")
        check(p1["next"] and "before=%d" % b["id"] in p1["next"], "next link %r" % p1["next"])
        p2 = d.get(p1["next"]).json()
        check_eq([j["id"] for j in p2["jobs"]], [a["id"], blocker["id"]], "second page")
        check(p2["next"] is None, "last page")
        check("metrics" not in p1["jobs"][0], "list rows have no per-epoch rows")
        q = d.get("/api/jobs?state=queued").json()
        check_eq(sorted(j["id"] for j in q["jobs"]), sorted([a["id"], b["id"], c["id"]]),
                 "state filter")
        q = d.get("/api/jobs?state=running,succeeded&model=simple").json()
        check_eq([j["id"] for j in q["jobs"]], [blocker["id"]], "two states + model filter")
        check_eq(d.get("/api/jobs?model=conv").json()["total"], 0, "model filter")

        # Cancel a queued job: at once; the others move up.
        r = d.post("/api/jobs/%d/cancel" % a["id"])
        check_eq(r.status, 200, "cancel queued")
        check_eq(r.json()["state"], "cancelled", "cancelled at once")
        check_eq(d.get("/api/jobs/%d" % b["id"]).json()["queue_position"], 1, "b moved up")
        check_eq(d.post("/api/jobs/%d/cancel" % a["id"]).status, 409, "cancel twice -> 409")
        r = d.req("DELETE", "/api/jobs/%d" % b["id"])
        check_eq(r.status, 409, "delete a queued job")
        check("cancel it first" in r.json()["detail"], "409 says what to do")
        check_eq(d.req("DELETE", "/api/jobs/%d?purge=maybe" % a["id"]).status, 400, "purge value")
        check_eq(d.req("DELETE", "/api/jobs/%d" % a["id"]).status, 204, "delete a cancelled job")
        check_eq(d.get("/api/jobs/%d" % a["id"]).status, 404, "deleted job is gone")

        # Cancel the running blocker: it stops within a batch or so.
        t0 = time.time()
        r = d.post("/api/jobs/%d/cancel" % blocker["id"])
        check_eq(r.status, 202, "cancel running -> 202")
        check(r.json()["cancel_requested"] is True, "cancel_requested")
        j = d.wait_state(blocker["id"], ("cancelled",), timeout=10)
        check(time.time() - t0 < 5, "running job stopped in %.2fs" % (time.time() - t0))
        check(j and j["epoch"] >= 0 and j["finished_at"], "cancelled job record %r" % j)
        # Then b and c run and finish.
        for x in (b, c):
            d.wait_state(x["id"], ("succeeded",))
        m = d.get("/metrics").body.decode()
        check('aelab_jobs{state="succeeded"} 2' in m and 'aelab_jobs{state="cancelled"} 1' in m,
              "prometheus job counts")
        check('aelab_http_requests_total{code="429"} 1' in m, "429 counted")
    finally:
        rc, _ = d.stop()
        check_eq(rc, 0, "clean exit")


def test_concurrent(root):
    d = Daemon(root, "--workers", "1").start()
    ids, errors = [], []
    lock = threading.Lock()
    try:
        blocker = d.submit(BLOCKER)
        d.wait_state(blocker["id"], ("running",))

        def one(i):
            r = d.post("/api/jobs", tiny(i))
            with lock:
                if r.status == 201:
                    ids.append(r.json()["id"])
                else:
                    errors.append(r)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check_eq(errors, [], "every concurrent submission got 201")
        check_eq(len(ids), 100, "100 jobs")
        check_eq(len(set(ids)), 100, "unique ids")
        lst = d.get("/api/jobs?state=queued&limit=500").json()
        check_eq(lst["total"], 100, "100 queued")
        order = sorted(lst["jobs"], key=lambda j: j["queue_position"])
        check_eq([j["id"] for j in order], sorted(ids), "queue order is submission order")
        rc, secs = d.stop()
        check_eq(rc, 0, "SIGTERM with a running job and 100 queued")
        check(secs < 10, "stopped in %.1fs" % secs)

        # Everything is still there after a restart, in the same order, and
        # the interrupted job is first in line again.
        d.start()
        lst = d.get("/api/jobs?limit=500").json()
        check_eq(lst["total"], 101, "101 jobs after restart")
        got = {j["id"]: j for j in lst["jobs"]}
        check(set(ids) <= set(got), "every submitted job persisted")
        check(got[blocker["id"]]["state"] in ("queued", "running"), "blocker back in line")
        queued = sorted((j for j in lst["jobs"] if j["state"] == "queued"),
                        key=lambda j: j["queue_position"])
        check_eq([j["id"] for j in queued], sorted(j["id"] for j in queued),
                 "order kept across the restart")
        d.wait_state(blocker["id"], ("running",))
        check_eq(d.post("/api/jobs/%d/cancel" % blocker["id"]).status, 202, "cancel blocker")
        d.wait_state(blocker["id"], ("cancelled",), timeout=10)
        d.wait_state(max(ids), ("succeeded",), timeout=300)
        fin = d.get("/api/jobs?state=succeeded&limit=500").json()
        check_eq(fin["total"], 100, "all 100 ran to success")
    finally:
        if d.alive():
            rc, _ = d.stop()
            check_eq(rc, 0, "clean exit")


def main():
    root = tmpdir("queue")
    try:
        os.makedirs(os.path.join(root, "a"))
        os.makedirs(os.path.join(root, "b"))
        test_queue(os.path.join(root, "a"))
        test_concurrent(os.path.join(root, "b"))
    finally:
        cleanup(root)
    return summary("test_daemon_queue")


if __name__ == "__main__":
    sys.exit(main())
