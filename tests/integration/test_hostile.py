#!/usr/bin/env python3
"""Hostile clients against aelabd, while a well-behaved client probes
GET /api/health every 50 ms from another address and a job trains.

Attacks (each a phase; the probe's latency is reported per phase):
- slow-loris: 120 sockets from 127.0.0.2 send a request head a byte at a
  time, each byte well within the idle timeout.  At most
  --max-connections-per-ip are held; every one is closed within about
  --connection-timeout of its start (a request must arrive whole within
  that time, not merely keep trickling); none gets an answer.
- oversized: request heads of 100 KB (one header, or a thousand small
  ones) -> 431; a 20 KB target -> 414; a Content-Length of 10^12 -> 413
  before any body is read; a 200 KB body, and a 20 MB chunked body, ->
  413 without the daemon's memory growing by the body's size.
- 10,000 requests with invalid ids over keep-alive connections in four
  threads: each answered 400 (not an id) or 404 (an id with no job), the
  problem JSON naming the id.
- paths with `..` and their encodings (%2e, %2f, %5c, double-encoded,
  overlong UTF-8, NUL) on the API and on static files: 400 or 404, never
  a file from outside the web root, never a 5xx.
- wrong tokens (about 1,500 variants: near misses, case changes, prefixes
  and suffixes, other schemes, huge ones): 401 (or 431 for the huge ones),
  and the right one still works.

Every answer is checked; every probe must succeed, and its 95th percentile
latency during an attack stays under max(10 x the quiet one, 250 ms).
"""
import http.client
import json
import os
import select
import socket
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from aelabd_harness import (KeepAlive, check, check_eq, cleanup, raw_request,  # noqa: E402
                             summary, tmpdir)
from faults_harness import TINY_JOB, EnvDaemon, tiny_data_dir  # noqa: E402

TIMEOUT = 4         # --connection-timeout
# The attacks come from their own addresses (the whole of 127/8 is loopback),
# as they would from the network, so the per-address limit applies to them and
# not to the probe, which stands for everyone else.
LORIS, OVERSIZE, BAD_IDS, PATHS, TOKENS = ("127.0.0.%d" % i for i in range(2, 7))
PER_IP = 32         # --max-connections-per-ip
TOKEN = "hostile-test-token-0123456789"


# ---------------------------------------------------------------------------
# The probe
# ---------------------------------------------------------------------------

class Probe:
    """GET /api/health every 50 ms on a fresh connection from 127.0.0.1."""

    def __init__(self, port):
        self.port = port
        self.phase = "quiet"
        self.lat = {}
        self.failures = []
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop.is_set():
            t0 = time.perf_counter()
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                c.request("GET", "/api/health")
                r = c.getresponse()
                r.read()
                c.close()
                ok = r.status == 200
            except OSError as e:
                ok = False
                self.failures.append("%s: %s" % (self.phase, e))
            dt = time.perf_counter() - t0
            if ok:
                self.lat.setdefault(self.phase, []).append(dt)
            else:
                self.failures.append("%s: status" % self.phase)
            time.sleep(0.05)

    def set(self, phase):
        self.phase = phase

    def report(self):
        quiet = self.lat.get("quiet", [0.001])
        q95 = sorted(quiet)[int(0.95 * (len(quiet) - 1))]
        rows = []
        for ph, xs in self.lat.items():
            xs = sorted(xs)
            p95 = xs[int(0.95 * (len(xs) - 1))]
            rows.append((ph, len(xs), statistics.median(xs) * 1e3, p95 * 1e3, xs[-1] * 1e3))
            if ph != "quiet":
                check(p95 <= max(10 * q95, 0.25), "probe p95 during %s: %.1f ms (quiet %.1f ms)"
                      % (ph, p95 * 1e3, q95 * 1e3))
        check(not self.failures, "every probe answered: %r" % self.failures[:5])
        print("health probe latency (ms): phase, probes, median, p95, max")
        for r in rows:
            print("  %-12s %5d %8.2f %8.2f %8.2f" % r)


def conn_from(src, port, timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


class Attacker:
    """Requests from one address on a keep-alive connection.  aelabd closes
    the connection after a request it refuses before reading it (bad id,
    token, size: "Connection: close"), so a flood of those is a flood of new
    connections, and its per-address limit refuses some of them while the
    closed ones' threads finish: that is retried after a pause, as a client
    would, and counted."""

    def __init__(self, src, port):
        self.conn = KeepAlive(port, src=src)
        self.refused = 0

    @property
    def new_connections(self):
        return self.conn.opened

    def send(self, method, path, body=None, headers=None):
        for attempt in range(200):
            try:
                return self.conn.send(method, path, body=body, headers=headers)
            except (OSError, http.client.HTTPException):
                self.refused += 1
                time.sleep(0.005 * min(attempt + 1, 20))
        return 0, b""

    def close(self):
        self.conn.close()


def sanitized(pid):
    """Is the process built with ASan or TSan (its RSS then says little)?"""
    with open("/proc/%d/maps" % pid) as f:
        maps = f.read()
    return "libasan" in maps or "libtsan" in maps


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ---------------------------------------------------------------------------
# Attacks
# ---------------------------------------------------------------------------

def slow_loris(d, n=120):
    """n sockets trickle a request head; returns figures."""
    head = (b"GET /api/health HTTP/1.1\r\nHost: x\r\n" +
            b"".join(b"X-Slow-%d: %s\r\n" % (k, b"y" * 20) for k in range(40)))
    socks, refused = [], 0
    for _ in range(n):
        try:
            socks.append([conn_from(LORIS, d.port), time.time(), 0, None])
        except OSError:
            refused += 1
    # Over the per-address limit: closed as soon as accepted.
    time.sleep(0.3)
    closed_at_once = 0
    for s in socks:
        s[0].setblocking(False)
        try:
            if s[0].recv(1) == b"":
                s[3] = 0.0
                closed_at_once += 1
        except BlockingIOError:
            pass
        except OSError:
            s[3] = 0.0
            closed_at_once += 1
    answered = 0
    t0 = time.time()
    next_byte = t0
    # Watch every socket in 0.1 s steps, so a close is timed to about 0.1 s
    # however late in a step it comes; trickle a byte a second (never idle
    # for the timeout).
    while time.time() - t0 < TIMEOUT + 6:
        live = [s for s in socks if s[3] is None]
        if not live:
            break
        try:
            readable, _, _ = select.select([s[0] for s in live], [], [], 0.1)
        except (OSError, ValueError):
            readable = []
        for s in live:
            sock, started = s[0], s[1]
            if sock not in readable:
                continue
            try:
                data = sock.recv(4096)
                if data:
                    answered += 1
            except BlockingIOError:
                continue
            except OSError:
                pass
            s[3] = time.time() - started
        if time.time() >= next_byte:
            next_byte += TIMEOUT / 4.0
            for s in socks:
                if s[3] is not None or s[2] >= len(head):
                    continue
                try:
                    s[0].send(head[s[2]:s[2] + 1])
                    s[2] += 1
                except BlockingIOError:
                    pass
                except OSError:
                    s[3] = time.time() - s[1]
    # A socket over the per-address limit is closed when the daemon accepts
    # it, which under ThreadSanitizer (a thread per connection, each slow to
    # start) can be a second or two after the connect; a held one lives for
    # the whole timeout after its accept.  So "held" is: closed no sooner
    # than 3/4 of the timeout after the connect.
    late = [s for s in socks if s[3] is not None and 0 < s[3] < 0.75 * TIMEOUT]
    closed_at_once += len(late)
    held = [s[3] for s in socks if s[3] is not None and s[3] >= 0.75 * TIMEOUT]
    still_open = sum(1 for s in socks if s[3] is None)
    for s in socks:
        s[0].close()
    check_eq(still_open, 0, "every slow-loris socket is closed by the daemon")
    check_eq(answered, 0, "no slow-loris socket got an answer")
    check(len(held) <= PER_IP, "at most %d held at once from one address: %d" % (PER_IP, len(held)))
    check(held and max(held) <= TIMEOUT + 2.5,
          "held ones closed within about the timeout (%ds): longest %.1f s"
          % (TIMEOUT, max(held) if held else -1))
    print("slow-loris: %d sockets, %d refused at connect, %d closed at once (per-address "
          "limit), %d held and closed after %.1f-%.1f s, %d still open"
          % (n, refused, closed_at_once, len(held), min(held) if held else 0,
             max(held) if held else 0, still_open))


def oversized(d):
    big = b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n"
    many = (b"GET /api/health HTTP/1.1\r\nHost: x\r\n" +
            b"".join(b"X-H%d: %s\r\n" % (k, b"v" * 90) for k in range(1000)) + b"\r\n")
    for what, req, want in (("one 100 KB header", big, 431), ("1000 headers", many, 431)):
        for _ in range(20):
            status, _ = raw_request(d.port, req, OVERSIZE)
            check_eq(status, want, what)
    status, _ = raw_request(d.port, b"GET /api/jobs?x=" + b"a" * 20000 +
                            b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", OVERSIZE)
    check(status in (414, 431), "a 20 KB target -> %d" % status)

    rss0 = rss_kib(d.proc.pid)
    auth = b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
    # A huge Content-Length is refused before any body arrives.
    s = conn_from(OVERSIZE, d.port)
    s.sendall(b"POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + auth +
              b"Content-Length: 1000000000000\r\n\r\n")
    data = s.recv(4096)
    s.close()
    check(data.startswith(b"HTTP/1.1 413"), "Content-Length 10^12 -> %r" % data[:40])
    # A 200 KB body with its length.
    body = b"{" + b" " * 200000 + b"}"
    status, data = raw_request(d.port, b"POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: "
                               b"application/json\r\n" + auth + b"Content-Length: %d\r\n"
                               b"Connection: close\r\n\r\n" % len(body) + body, OVERSIZE)
    check_eq(status, 413, "a 200 KB body")
    # 20 MB chunked: answered 413, memory not grown by the body.
    s = conn_from(OVERSIZE, d.port)
    s.sendall(b"POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + auth +
              b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
    sent = 0
    try:
        for _ in range(320):
            s.sendall(chunk)
            sent += 65536
        s.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the daemon may answer and close before the end
    s.settimeout(10)
    try:
        data = s.recv(4096)
    except OSError:
        data = b""
    s.close()
    check(data.startswith(b"HTTP/1.1 413"), "20 MB chunked body -> %r" % data[:40])
    grown = rss_kib(d.proc.pid) - rss0
    if sanitized(d.proc.pid):
        print("  (RSS bound not checked: a sanitizer's allocator keeps freed memory)")
    else:
        check(grown < 8 * 1024, "RSS grew by %d KiB after the oversized bodies" % grown)
    print("oversized: 431 for 100 KB heads, 413 for a 10^12 Content-Length, a 200 KB body and "
          "%d MB chunked (sent before the answer); RSS %+d KiB" % (sent >> 20, grown))


def bad_id_paths():
    ids = ["abc", "-1", "0", "-0", "+1", "1.5", "1e3", "0x10", "99999999999999999999",
           "18446744073709551616", "9223372036854775808", "%31%32", "1%20", "%201", "%EF%BC%91%EF%BC%92",
           "1;2", "1,2", "null", "undefined", "%00", "1%00", "NaN", "Infinity", "--1",
           "1abc", "%27%20OR%201%3D1%20--", "%27%20OR%201%3D1", "a" * 200, "9" * 400]
    unknown = ["999999", "123456789", "4503599627370495", "9007199254740991"]
    suffixes = ["", "/cancel", "/metrics", "/summary", "/weights", "/reconstructions.png",
                "/events"]
    out = []
    for i in ids:
        for sfx in suffixes:
            meth = "POST" if sfx == "/cancel" else "GET"
            out.append((meth, "/api/jobs/%s%s" % (i, sfx), (400, 404)))
    for i in unknown:
        for sfx in suffixes:
            meth = "POST" if sfx == "/cancel" else "GET"
            out.append((meth, "/api/jobs/%s%s" % (i, sfx), (404,)))
    return out


def invalid_ids(d, total=10000, threads=4):
    paths = bad_id_paths()
    counts = {}
    bad = []
    lock = threading.Lock()
    attackers = [Attacker(BAD_IDS, d.port) for _ in range(threads)]

    def worker(k):
        a = attackers[k]
        hdr = {"Authorization": "Bearer " + TOKEN}
        for n in range(k, total, threads):
            meth, path, want = paths[n % len(paths)]
            status, body = a.send(meth, path, headers=hdr)
            ok = status in want
            try:
                ok = ok and json.loads(body.decode()).get("status") == status
            except ValueError:
                ok = False
            with lock:
                counts[status] = counts.get(status, 0) + 1
                if not ok:
                    bad.append((path, status, body[:120]))
        a.close()

    t0 = time.time()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.time() - t0
    check_eq(sum(counts.values()), total, "every invalid-id request answered")
    check(not bad, "invalid ids answered 400/404 with a problem: %r" % bad[:5])
    print("invalid ids: %d requests in %.1f s (%.0f/s), answers %r; %d connections, %d refused "
          "by the per-address limit and retried"
          % (total, dt, total / dt, dict(sorted(counts.items())),
             sum(a.new_connections for a in attackers), sum(a.refused for a in attackers)))


def traversal(d, root):
    dots = ["..", "%2e%2e", "%2E%2E", ".%2e", "%2e.", "%252e%252e", "%c0%ae%c0%ae",
            "..%00", "..%2f..", "..%5c..", "..\\..", "....", ".%00."]
    paths = []
    for dd in dots:
        for tmpl in ("/%s/secret.txt", "/%s/%s/etc/passwd", "/sub/%s/%s/secret.txt",
                     "/%s%%2fsecret.txt", "/api/%s/health", "/api/jobs/%s", "/api/jobs/1/%s",
                     "/api/jobs/1/%s/%s/secret.txt", "/api%%2f%s%%2fsecret.txt"):
            n = tmpl.count("%s")
            paths.append(tmpl % ((dd,) * n))
    paths += ["/api/jobs/1%2fcancel", "/api/%2e%2e%2fapi/health", "/%2f%2fetc/passwd",
              "//etc/passwd", "/./././secret.txt", "/%00", "/index.html%00.png",
              "/api/jobs%00", "/api/health%00", "/api/jobs/1%00/cancel"]
    statuses = {}
    for p in paths:
        for meth in ("GET", "POST"):
            status, body = raw_request(d.port, b"%s %s HTTP/1.1\r\nHost: x\r\nConnection: close"
                                       b"\r\nContent-Length: 0\r\n\r\n" % (meth.encode(),
                                                                          p.encode()),
                                       PATHS)
            statuses[status] = statuses.get(status, 0) + 1
            check(status in (400, 401, 404, 405), "%s %s -> %d" % (meth, p, status))
            check(b"TOP SECRET" not in body and b"root:" not in body, "%s leaked a file" % p)
    check(os.path.exists(os.path.join(root, "secret.txt")), "the secret is still there")
    print("traversal: %d requests, answers %r" % (2 * len(paths), dict(sorted(statuses.items()))))


def wrong_tokens(d):
    t = TOKEN
    variants = ["", "Bearer", "Bearer ", "Bearer  ", "Basic " + t, "Token " + t, t,
                "Bearer " + t.upper(), "Bearer " + t[:-1], "Bearer " + t + "x",
                "Bearer x" + t, "Bearer " + t[1:], "Bearer " + t[::-1], "Bearer " + t * 2,
                "Bearer " + t + " extra", "Bearer\t" + t + "\t", "Bearer=" + t,
                "Bearer " + "a" * 20000]
    for k in range(len(t)):
        for c in "aZ0-":
            if t[k] != c:
                variants.append("Bearer " + t[:k] + c + t[k + 1:])
    for n in range(1, len(t)):
        variants.append("Bearer " + t[:n])
    for n in range(1, 200):
        variants.append("Bearer " + "x" * n)
    while len(variants) < 1500:
        variants.append("Bearer %s-%d" % (t, len(variants)))
    counts = {}
    a = Attacker(TOKENS, d.port)
    for v in variants:
        status, _ = a.send("POST", "/api/jobs", body=json.dumps(TINY_JOB),
                           headers={"Authorization": v, "Content-Type": "application/json"})
        counts[status] = counts.get(status, 0) + 1
        want = (401, 431) if len(v) > 8000 else (401,)
        check(status in want, "token %r... -> %d" % (v[:40], status))
    a.close()
    r = d.post("/api/jobs", TINY_JOB, headers={"Authorization": "Bearer " + t})
    check_eq(r.status, 201, "the right token still works")
    check_eq(d.get("/api/jobs").json()["total"], 1 + 1, "no job made by a wrong token")
    print("wrong tokens: %d variants, answers %r; %d connections, %d refused by the "
          "per-address limit and retried" % (len(variants), dict(sorted(counts.items())),
                                             a.new_connections, a.refused))
    return r.json()["id"]


def main():
    root = tmpdir("hostile")
    try:
        web = os.path.join(root, "web")
        os.makedirs(os.path.join(web, "sub"))
        with open(os.path.join(web, "index.html"), "w") as f:
            f.write("<!doctype html><title>hostile</title>\n")
        with open(os.path.join(root, "secret.txt"), "w") as f:
            f.write("TOP SECRET\n")
        tok = os.path.join(root, "token")
        with open(tok, "w") as f:
            f.write(TOKEN + "\n")
        d = EnvDaemon(root, "--workers", "1", "--data-dir", tiny_data_dir(root),
                      "--web-root", web, "--token-file", tok,
                      "--connection-timeout", str(TIMEOUT),
                      "--max-connections-per-ip", str(PER_IP),
                      "--max-connections", "256").start()
        try:
            # Something trains throughout.
            r = d.post("/api/jobs", dict(TINY_JOB, epochs=100000),
                       headers={"Authorization": "Bearer " + TOKEN})
            check_eq(r.status, 201, "a long job")
            busy = r.json()["id"]
            probe = Probe(d.port)
            time.sleep(2)
            for name, fn in (("slow-loris", lambda: slow_loris(d)),
                             ("oversized", lambda: oversized(d)),
                             ("invalid-ids", lambda: invalid_ids(d)),
                             ("traversal", lambda: traversal(d, root)),
                             ("tokens", lambda: wrong_tokens(d))):
                probe.set(name)
                fn()
                check(d.alive(), "the daemon survived %s" % name)
            probe.set("after")
            time.sleep(1)
            probe.stop.set()
            probe.t.join()
            probe.report()
            check_eq(d.get("/api/jobs/%d" % busy).json()["state"], "running",
                     "the job trained through it all")
            check_eq(d.post("/api/jobs/%d/cancel" % busy,
                            headers={"Authorization": "Bearer " + TOKEN}).status, 202, "cancel")
        finally:
            rc, _ = d.stop()
            check_eq(rc, 0, "clean exit")
    finally:
        cleanup(root)
    return summary("test_hostile")


if __name__ == "__main__":
    sys.exit(main())
