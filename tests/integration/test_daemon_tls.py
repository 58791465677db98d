#!/usr/bin/env python3
"""aelabd over HTTPS (issue 11): --tls-cert/--tls-key with a self-signed
certificate made at run time, checked with `curl --cacert` and Python's
ssl; a job submitted and finished over HTTPS; an event stream over HTTPS;
clients that fail the handshake (no trust, plain HTTP, a silent socket)
neither crash the daemon nor hold up others; the refusals of a
non-loopback --listen without TLS or --token-file, and --insecure.

A daemon listening on 0.0.0.0 is only ever reached through 127.0.0.1."""
import http.client
import os
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from aelabd_harness import (AELABD, SMALL, Daemon, check, check_eq, cleanup,  # noqa: E402
                            raw_request, summary, tmpdir)

TOKEN = "tls-test-token-0123"


def warnings(d):
    """The daemon's warning lines, less the start-up note that no
    tensorboard is on the PATH (it depends on the machine, not on TLS)."""
    return [ln for ln in d.log_text().splitlines()
            if "level=warn" in ln and "tensorboard" not in ln]


def make_cert(d, name="cert", cn="localhost"):
    cert, key = os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-days", "1",
                    "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def curl(port, path, *args):
    """(exit status, body) of curl on https://127.0.0.1:port/path."""
    p = subprocess.run(["curl", "-sS", "--max-time", "20", *args,
                        "https://127.0.0.1:%d%s" % (port, path)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")


def run_refused(root, *args):
    """Run aelabd with args that it must refuse; (exit status, stderr)."""
    cmd = [AELABD, "--listen", "127.0.0.1:0", "--logdir", os.path.join(root, "runs"),
           "--db", os.path.join(root, "refused.db"), *args]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10,
                           cwd=root)
    except subprocess.TimeoutExpired:
        check(False, "aelabd %r did not exit" % (args,))
        return None, ""
    return p.returncode, p.stderr.decode("utf-8", "replace")


def test_https(root, cert, key, ctx):
    d = Daemon(root, "--tls-cert", cert, "--tls-key", key, tls=ctx).start()
    try:
        check("url=https://127.0.0.1:%d/" % d.port in d.log_text(), "the log gives the https URL")
        rc, out = curl(d.port, "/api/health", "--cacert", cert)
        check_eq(rc, 0, "curl --cacert health: " + out)
        check('"status":"ok"' in out, "health body over HTTPS: " + out)
        rc, out = curl(d.port, "/api/health")
        check(rc != 0 and "ok" not in out.split("\n")[0][:20],
              "curl without --cacert must fail verification (rc %d): %s" % (rc, out))
        rc, out = curl(d.port, "/", "--cacert", cert)
        check(rc == 0 and "<html" in out.lower(), "the dashboard over HTTPS: %s" % out[:200])

        # A client that opens a TCP connection and never says hello must not
        # hold up others (each connection has its own thread).
        idle = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        half = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        half.sendall(b"\x16\x03\x01\x02\x00\x01")  # the start of a TLS record, then silence
        try:
            t0 = time.time()
            rc, out = curl(d.port, "/api/health", "--cacert", cert)
            check(rc == 0 and time.time() - t0 < 5,
                  "health while two clients stall the handshake: rc %d in %.1fs"
                  % (rc, time.time() - t0))
        finally:
            idle.close()
            half.close()

        # Plain HTTP to the HTTPS port: no HTTP answer, no crash.
        for _ in range(3):
            status, _body = raw_request(d.port, b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            check_eq(status, 0, "plain HTTP to the HTTPS port gets no HTTP answer")
        check(d.alive(), "alive after plain HTTP")
        check_eq(d.get("/api/health").status, 200, "health over HTTPS after plain HTTP")
        check(not warnings(d),
              "failed handshakes are not warnings:\n" + d.log_text()[-2000:])

        # An event stream over HTTPS, then a job submitted and finished.
        conn = http.client.HTTPSConnection(
            "127.0.0.1", d.port, timeout=60, context=ctx)
        try:
            conn.request("GET", "/api/events")
            r = conn.getresponse()
            check_eq(r.status, 200, "SSE over HTTPS")
            check((r.getheader("Content-Type") or "").startswith("text/event-stream"),
                  "SSE content type %r" % r.getheader("Content-Type"))
            job = d.submit(dict(SMALL, epochs=1))
            seen = b""
            t0 = time.time()
            while b"job" not in seen and time.time() - t0 < 30:
                line = r.fp.readline()
                if not line:
                    break
                seen += line
            check(("%d" % job["id"]).encode() in seen, "the stream told of job %d: %r"
                  % (job["id"], seen[:300]))
        finally:
            conn.close()
        done = d.wait_state(job["id"], ("succeeded", "failed"))
        check_eq(done.get("state"), "succeeded", "job over HTTPS: %r" % done)
        rc, out = curl(d.port, "/api/jobs/%d" % job["id"], "--cacert", cert)
        check(rc == 0 and '"succeeded"' in out, "curl reads the finished job: " + out[:300])
    finally:
        rc, _ = d.stop()
        check_eq(rc, 0, "HTTPS daemon SIGTERM exit status")


def test_refusals(root, cert, key, other_key):
    tok = os.path.join(root, "token")
    with open(tok, "w") as f:
        f.write(TOKEN + "\n")

    rc, err = run_refused(root, "--tls-cert", cert)
    check_eq(rc, 2, "--tls-cert alone")
    check("--tls-key" in err and err.count("\n") == 1, "one line naming --tls-key: %r" % err)
    rc, err = run_refused(root, "--tls-key", key)
    check_eq(rc, 2, "--tls-key alone")
    check("--tls-cert" in err, "names --tls-cert: %r" % err)

    rc, err = run_refused(root, "--tls-cert", os.path.join(root, "nope.pem"), "--tls-key", key)
    check_eq(rc, 2, "missing certificate file")
    check("nope.pem" in err and "No such file" in err, "names the missing file: %r" % err)
    rc, err = run_refused(root, "--tls-cert", key, "--tls-key", cert)
    check_eq(rc, 2, "swapped certificate and key")
    check("swapped" in err, "suggests they are swapped: %r" % err)
    notpem = os.path.join(root, "notpem.txt")
    with open(notpem, "w") as f:
        f.write("hello\n")
    rc, err = run_refused(root, "--tls-cert", cert, "--tls-key", notpem)
    check_eq(rc, 2, "key file that is not PEM")
    check("not PEM" in err and "notpem.txt" in err, "says not PEM: %r" % err)
    rc, err = run_refused(root, "--tls-cert", cert, "--tls-key", other_key)
    check(rc not in (0, None), "a key of another certificate is refused (rc %r)" % rc)
    check("do not match" in err and "--tls-key" in err, "names the mismatch: %r" % err)

    rc, err = run_refused(root, "--listen", "0.0.0.0:0")
    check_eq(rc, 2, "0.0.0.0 without TLS or token")
    for needle in ("0.0.0.0", "--tls-cert", "--token-file", "--insecure"):
        check(needle in err, "refusal names %s: %r" % (needle, err))
    rc, err = run_refused(root, "--listen", "0.0.0.0:0", "--tls-cert", cert, "--tls-key", key)
    check_eq(rc, 2, "0.0.0.0 with TLS but no token")
    check("--token-file" in err and "--tls-cert" not in err, "names only the token: %r" % err)
    rc, err = run_refused(root, "--listen", "0.0.0.0:0", "--token-file", tok)
    check_eq(rc, 2, "0.0.0.0 with a token but no TLS")
    check("--tls-cert" in err and "--token-file" not in err, "names only TLS: %r" % err)


def test_non_loopback(root, cert, key, ctx):
    tok = os.path.join(root, "token")
    auth = {"Authorization": "Bearer " + TOKEN}

    # Both TLS and a token: starts on 0.0.0.0 (reached here via 127.0.0.1).
    sub = os.path.join(root, "both")
    os.makedirs(sub)
    d = Daemon(sub, "--listen", "0.0.0.0:0", "--tls-cert", cert, "--tls-key", key,
               "--token-file", tok, tls=ctx).start()
    try:
        rc, out = curl(d.port, "/api/health", "--cacert", cert)
        check(rc == 0 and '"auth_required":true' in out, "0.0.0.0 with TLS and token: " + out)
        check_eq(d.post("/api/jobs", dict(SMALL, epochs=1)).status, 401, "no token -> 401")
        r = d.post("/api/jobs", dict(SMALL, epochs=1), headers=auth)
        check_eq(r.status, 201, "submit with the token over HTTPS")
        check("insecure" not in d.log_text(), "no --insecure warning when secured")
    finally:
        check_eq(d.stop()[0], 0, "0.0.0.0 daemon exit status")

    # --insecure without TLS: starts, with a warning line in the log.
    sub = os.path.join(root, "insecure")
    os.makedirs(sub)
    d = Daemon(sub, "--listen", "0.0.0.0:0", "--insecure").start()
    try:
        check_eq(d.get("/api/health").status, 200, "plain HTTP on 0.0.0.0 with --insecure")
        warn = [ln for ln in d.log_text().splitlines() if "--insecure" in ln]
        check(len(warn) == 1 and "level=warn" in warn[0] and "listen=0.0.0.0" in warn[0]
              and "TLS" in warn[0] and "token" in warn[0],
              "one structured warning naming what is missing: %r" % warn)
    finally:
        check_eq(d.stop()[0], 0, "--insecure daemon exit status")

    # A loopback address needs neither, and logs no warning.
    for host in ("127.0.0.2", "localhost"):
        sub = os.path.join(root, "lo-" + host)
        os.makedirs(sub)
        d = Daemon(sub, "--listen", host + ":0").start()
        try:
            check(not warnings(d), "%s: no warning: %r" % (host, warnings(d)))
        finally:
            check_eq(d.stop()[0], 0, "%s daemon exit status" % host)


def main():
    root = tmpdir("tls")
    try:
        certs = os.path.join(root, "certs")
        os.makedirs(certs)
        cert, key = make_cert(certs)
        _other_cert, other_key = make_cert(certs, "other", "other")
        ctx = ssl.create_default_context(cafile=cert)
        https_root = os.path.join(root, "https")
        os.makedirs(https_root)
        test_https(https_root, cert, key, ctx)
        test_refusals(root, cert, key, other_key)
        test_non_loopback(root, cert, key, ctx)
    finally:
        cleanup(root)
    return summary("test_daemon_tls")


if __name__ == "__main__":
    sys.exit(main())
