#!/usr/bin/env python3
"""aelabd over real HTTP: the service endpoints, every bad input of issue 4
(with its status and a detail a person can act on), static files and path
traversal, and token auth.  No job trains here."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from aelabd_harness import (AELABD, Daemon, check, check_eq, cleanup, raw_request,  # noqa: E402
                            summary, tmpdir)

API_ROUTES = {
    ("post", "/api/jobs"), ("get", "/api/jobs"), ("get", "/api/jobs/{id}"),
    ("delete", "/api/jobs/{id}"), ("post", "/api/jobs/{id}/cancel"),
    ("get", "/api/jobs/{id}/reconstructions.png"), ("get", "/api/jobs/{id}/metrics"),
    ("get", "/api/jobs/{id}/latent.png"), ("get", "/api/jobs/{id}/manifold.png"),
    ("get", "/api/jobs/{id}/samples.png"),
    ("get", "/api/jobs/{id}/summary"), ("get", "/api/jobs/{id}/weights"),
    ("get", "/api/jobs/{id}/events"), ("get", "/api/events"), ("get", "/api/models"),
    ("get", "/api/health"), ("get", "/api/openapi.json"), ("get", "/metrics"),
    ("post", "/api/sweeps"), ("get", "/api/sweeps"), ("get", "/api/sweeps/{id}"),
    ("delete", "/api/sweeps/{id}"), ("post", "/api/sweeps/{id}/cancel"),
    ("get", "/api/sweeps/{id}/events"), ("get", "/api/sweeps/{id}/metrics"),
}
# The engine's per-epoch metrics (core/ae_metrics.c): every model's, and the vae's parts.
EPOCH_METRICS = {"loss", "val_loss", "train_seconds", "val_seconds"}
VAE_METRICS = {"reconstruction_loss", "kl_loss", "val_reconstruction_loss", "val_kl_loss"}


def problem(r, status, code=None, *needles):
    """r is an RFC 9457 problem with this status (and code), whose detail
    contains every needle."""
    j = r.json() or {}
    ok = check_eq(r.status, status, "status of %r" % r)
    ok &= check(r.header("content-type") == "application/problem+json",
                "problem content type, got %r" % r.header("content-type"))
    ok &= check(j.get("status") == status and j.get("type") and j.get("title"),
                "problem members in %r" % j)
    if code:
        ok &= check_eq(j.get("code"), code, "problem code")
    for n in needles:
        ok &= check(n in j.get("detail", ""), "detail %r contains %r" % (j.get("detail"), n))
    return j


def test_version(d, version):
    """One version (meson's project() version, passed in by meson) for
    aelab --version, aelabd --version, /api/health and openapi.json."""
    check(bool(version), "AELAB_VERSION is set by meson")
    check_eq(d.get("/api/health").json()["version"], version, "/api/health version")
    check_eq(d.get("/api/openapi.json").json()["info"]["version"], version,
             "openapi.json info.version")
    out = subprocess.run([AELABD, "--version"], capture_output=True, text=True, timeout=30)
    check_eq(out.stdout.strip(), "aelabd " + version, "aelabd --version")
    cli = os.environ.get("AELAB_CLI", "")
    check(os.path.exists(cli), "AELAB_CLI %r is built" % cli)
    if os.path.exists(cli):
        out = subprocess.run([cli, "--version"], capture_output=True, text=True, timeout=30)
        check_eq(out.stdout.strip(), "aelab " + version, "aelab --version")


def test_service(d):
    r = d.get("/api/health")
    check_eq(r.status, 200, "health")
    h = r.json()
    check(h and h["status"] == "ok" and h["queue_capacity"] == 1000, "health body %r" % h)
    check(h["auth_required"] is False, "no auth by default")
    check(h["tensorboard_url"].startswith("http://127.0.0.1:6006"), "tensorboard url")
    check_eq(r.header("cache-control"), "no-store", "API responses are not cached")

    m = d.get("/api/models").json()
    names = [x["name"] for x in m["models"]]
    check_eq(names, ["simple", "sparse", "deep", "conv", "denoise", "vae"], "models")
    by = {x["name"]: x for x in m["models"]}
    # Parameter counts of the seed's printed summaries.
    check_eq(by["simple"]["params"], 50992, "simple params")
    check_eq(by["deep"]["params"], 222384, "deep params")
    conv_bs = [s for s in by["conv"]["settings"] if s["name"] == "batch_size"][0]
    check_eq(conv_bs["default"], 128, "conv batch_size default")
    check(conv_bs["minimum"] == 1 and conv_bs["maximum"] >= 256, "batch_size range %r" % conv_bs)
    check(not any(s["name"] == "noise_factor" for s in by["conv"]["settings"]),
          "noise_factor is denoise-only")
    check(any(s["name"] == "noise_factor" for s in by["denoise"]["settings"]), "denoise setting")
    check_eq(m["datasets"], [{"name": "mnist", "installed": True},
                             {"name": "fashion-mnist", "installed": False}], "datasets")
    check_eq(m["default_dataset"], "mnist", "default data set")

    r = d.get("/api/openapi.json")
    doc = r.json()
    check(doc and doc["openapi"].startswith("3.0"), "OpenAPI 3.0")
    routes = {(meth, p) for p, item in doc["paths"].items() for meth in item
              if meth in ("get", "post", "delete", "put", "patch")}
    check_eq(routes, API_ROUTES, "the document lists exactly the API's routes")
    props = doc["components"]["schemas"]["JobSpec"]["properties"]
    settings = {s["name"] for x in m["models"] for s in x["settings"]}
    check_eq(set(props) - {"model", "dataset", "name", "keep"}, settings,
             "JobSpec has exactly the engine's settings")
    check_eq(props["epochs"]["minimum"], 1, "JobSpec ranges come from the engine")
    em = doc["components"]["schemas"]["EpochMetrics"]
    check_eq(set(em["properties"]), {"epoch"} | EPOCH_METRICS | VAE_METRICS,
             "EpochMetrics has exactly the engine's per-epoch metrics")
    check_eq(set(em["required"]), {"epoch"} | EPOCH_METRICS, "every model reports these")
    check(all(em["properties"][k]["type"] == "number" for k in EPOCH_METRICS | VAE_METRICS),
          "metrics are numbers")

    r = d.get("/metrics")
    check_eq(r.status, 200, "/metrics")
    text = r.body.decode()
    check(r.header("content-type").startswith("text/plain"), "prometheus content type")
    for needle in ('aelab_jobs{state="queued"} 0', "aelab_queue_depth 0",
                   'aelab_http_requests_total{code="200"}', "# TYPE aelab_train_samples_total counter"):
        check(needle in text, "/metrics has %r" % needle)


def test_bad_submissions(d):
    r = d.post("/api/jobs", '{"model": "conv",\n  "epochs": 5,,\n}',
               headers={"Content-Type": "application/json"})
    j = problem(r, 400, "malformed-json", "line 2, column")
    check_eq((j.get("line"), j.get("column")), (2, 15), "line and column members")

    problem(d.post("/api/jobs", [1, 2]), 400, "not-an-object", "JSON object")
    j = problem(d.post("/api/jobs", {"epochs": 3}), 400, "missing-model", "\"model\" is required")
    check("conv" in j.get("valid", []), "valid models listed")
    j = problem(d.post("/api/jobs", {"model": "cnn"}), 400, "unknown-model", "unknown model 'cnn'",
                "simple, sparse, deep, conv, denoise, vae")
    check_eq(j.get("field"), "model", "field")
    j = problem(d.post("/api/jobs", {"model": "conv", "dataset": "cifar10"}), 400,
                "unknown-dataset", "cifar10", "mnist, fashion-mnist")
    check_eq(j.get("valid"), ["mnist", "fashion-mnist"], "valid data sets")
    j = problem(d.post("/api/jobs", {"model": "conv", "dataset": "fashion-mnist"}), 400,
                "dataset-not-installed", "not installed", "installed: mnist")
    check_eq(j.get("valid"), ["mnist"], "installed data sets")
    j = problem(d.post("/api/jobs", {"model": "conv", "epoch": 5}), 400, "unknown-field",
                "unknown field 'epoch'", "epochs", "batch_size")
    check("epochs" in j.get("valid", []) and "noise_factor" not in j.get("valid", []),
          "valid fields for conv: %r" % j.get("valid"))
    problem(d.post("/api/jobs", {"model": "conv", "noise_factor": 0.3}), 400, "unknown-field",
            "'noise_factor' does not apply to model conv", "denoise")
    j = problem(d.post("/api/jobs", {"model": "conv", "epochs": 0}), 400, "invalid-setting",
                "epochs", "1", "100000")
    check_eq(j.get("field"), "epochs", "out-of-range field")
    problem(d.post("/api/jobs", {"model": "simple", "learning_rate": 5}), 400, "invalid-setting",
            "learning_rate")
    problem(d.post("/api/jobs", {"model": "conv", "epochs": 2.5}), 400, "invalid-setting", "epochs")
    problem(d.post("/api/jobs", {"model": "conv", "epochs": "5"}), 400, "wrong-type",
            "'epochs' must be a number")
    problem(d.post("/api/jobs", {"model": "conv", "epochs": True}), 400, "wrong-type")
    problem(d.post("/api/jobs", {"model": "conv", "name": "x" * 101}), 400, "invalid-name", "100")
    problem(d.post("/api/jobs", {"model": "conv", "name": "a\nb"}), 400, "invalid-name")
    problem(d.post("/api/jobs", '{"model":"conv","model":"deep"}',
                   headers={"Content-Type": "application/json"}), 400, "malformed-json",
            "duplicate")
    # Several problems at once: every one is listed, each with its field.
    j = problem(d.post("/api/jobs", {"model": "deep", "epochs": -1, "colour": "red"}), 400)
    check_eq(sorted(e["field"] for e in j.get("errors", [])), ["colour", "epochs"], "errors list")

    # Media type and size.
    problem(d.post("/api/jobs", '{"model":"conv"}', headers={"Content-Type": "text/plain"}),
            415, "unsupported-media-type", "application/json")
    problem(d.post("/api/jobs", b'{"model":"conv"}'), 415, "unsupported-media-type")
    big = b'{"model":"conv","name":"' + b"x" * 70000 + b'"}'
    problem(d.post("/api/jobs", big, headers={"Content-Type": "application/json"}), 413,
            "too-large", "65536")
    # Chunked (no Content-Length): the limit holds while reading.
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(big), big)
    status, data = raw_request(d.port, b"POST /api/jobs HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Type: application/json\r\n"
                               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body)
    check_eq(status, 413, "chunked body over the limit")
    check(b"too-large" in data, "chunked 413 is a problem")
    problem(d.post("/api/jobs", {"model": "conv"}, headers={"Idempotency-Key": ""}), 400,
            "invalid-parameter", "Idempotency-Key")

    # Nothing was created by any of that.
    check_eq(d.get("/api/jobs").json()["total"], 0, "no job was created by bad submissions")


def test_bad_paths(d):
    problem(d.get("/api/jobs/12345"), 404, "not-found", "no job 12345")
    problem(d.get("/api/jobs/abc"), 400, "invalid-id", "'abc' is not a job id")
    problem(d.get("/api/jobs/0"), 400, "invalid-id")
    problem(d.get("/api/jobs/99999999999999999999999"), 400, "invalid-id")
    problem(d.post("/api/jobs/abc/cancel"), 400, "invalid-id")
    problem(d.req("DELETE", "/api/jobs/777"), 404, "not-found")
    problem(d.get("/api/jobs/777/reconstructions.png?n=5"), 404, "not-found")
    problem(d.get("/api/nope"), 404, "not-found", "openapi.json")
    problem(d.get("/api/jobs/"), 404, "not-found")
    for meth, path, allow in [("PUT", "/api/jobs", "GET, HEAD, POST"),
                              ("PATCH", "/api/jobs/3", "GET, HEAD, DELETE"),
                              ("GET", "/api/jobs/3/cancel", "POST"),
                              ("DELETE", "/api/models", "GET, HEAD"),
                              ("POST", "/metrics", "GET, HEAD"),
                              ("POST", "/index.html", "GET, HEAD")]:
        r = d.req(meth, path)
        problem(r, 405, "method-not-allowed", meth)
        check_eq(r.header("allow"), allow, "Allow of %s %s" % (meth, path))
    # Query values are validated before use.
    problem(d.get("/api/jobs?limit=0"), 400, "invalid-parameter", "limit", "1", "500")
    problem(d.get("/api/jobs?limit=ten"), 400, "invalid-parameter", "limit")
    problem(d.get("/api/jobs?before=-4"), 400, "invalid-parameter", "before")
    problem(d.get("/api/jobs?state=done"), 400, "invalid-parameter", "'done'", "succeeded")
    problem(d.get("/api/jobs?model=cnn"), 400, "invalid-parameter", "'cnn'")
    status, data = raw_request(d.port, b"GET /api/jobs?x=%zz HTTP/1.1\r\nHost: x\r\n"
                               b"Connection: close\r\n\r\n")
    check_eq(status, 400, "malformed percent-escape in the query")
    status, data = raw_request(d.port, b"GET /api/%00 HTTP/1.1\r\nHost: x\r\n"
                               b"Connection: close\r\n\r\n")
    check_eq(status, 400, "encoded NUL byte")
    check_eq(d.get("/api/health").status, 200, "still serving after bad requests")


def test_static(d, root):
    secret = os.path.join(root, "secret.txt")
    # Traversal in every spelling: plain, encoded, double-encoded, encoded
    # slashes, backslashes; and a symlink that leads out of the web root.
    for path in [b"/../secret.txt", b"/../../etc/passwd", b"/%2e%2e/secret.txt",
                 b"/%2E%2E/%2e%2e/etc/passwd", b"/..%2fsecret.txt", b"/%2e%2e%2fsecret.txt",
                 b"/%252e%252e/secret.txt", b"/sub/../../secret.txt", b"/..\\secret.txt",
                 b"/%5c..%5csecret.txt", b"/./index.html", b"/.hidden", b"/escape",
                 b"/escape/secret.txt", b"//etc/passwd"]:
        status, body = raw_request(d.port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n"
                                   b"Connection: close\r\n\r\n")
        check(status in (400, 404), "%r -> %d" % (path, status))
        check(b"TOP SECRET" not in body and b"root:" not in body, "%r leaked a file" % path)
    r = d.get("/")
    check_eq(r.status, 200, "index at /")
    check_eq(r.header("content-type"), "text/html; charset=utf-8", "html type")
    check(b"<title>aelab test</title>" in r.body, "index.html content")
    r = d.get("/app.js")
    check_eq(r.header("content-type"), "text/javascript; charset=utf-8", "js type")
    check_eq(r.body, b"console.log(1);\n", "app.js content")
    check_eq(d.get("/style.css").header("content-type"), "text/css; charset=utf-8", "css type")
    check_eq(d.get("/sub/").status, 200, "directory index")
    r = d.req("HEAD", "/app.js")
    check(r.status == 200 and r.body == b"" and r.header("content-length") == "16", "HEAD")
    check_eq(d.get("/missing.js").status, 404, "missing file")
    check(os.path.exists(secret), "the secret is still there (nothing was written)")


def test_auth(root):
    tok = os.path.join(root, "token")
    with open(tok, "w") as f:
        f.write("s3cret-token-value\n")
    d = Daemon(root, "--token-file", tok).start()
    try:
        check_eq(d.get("/api/health").json()["auth_required"], True, "auth_required")
        r = d.post("/api/jobs", {"model": "simple"})
        problem(r, 401, "unauthorized", "Authorization: Bearer")
        check(r.header("www-authenticate", ) and "Bearer" in r.header("www-authenticate"),
              "WWW-Authenticate")
        problem(d.post("/api/jobs", {"model": "simple"},
                       headers={"Authorization": "Bearer wrong"}), 401, "unauthorized", "wrong")
        problem(d.post("/api/jobs", {"model": "simple"},
                       headers={"Authorization": "Basic czNjcmV0"}), 401)
        problem(d.post("/api/jobs", {"model": "simple"},
                       headers={"Authorization": "Bearer s3cret-token-valuE"}), 401)
        # 401 comes before the body is looked at.
        problem(d.post("/api/jobs", b"x" * 70000, headers={"Content-Type": "application/json"}),
                401)
        problem(d.req("DELETE", "/api/jobs/1"), 401)
        problem(d.post("/api/jobs/1/cancel"), 401)
        # Reads stay open.
        check_eq(d.get("/api/jobs").status, 200, "GET needs no token")
        ok = {"Authorization": "Bearer s3cret-token-value"}
        r = d.post("/api/jobs", dict(model="simple", epochs=1, train_size=100, test_size=100),
                   headers=ok)
        check_eq(r.status, 201, "right token -> 201")
        jid = r.json()["id"]
        d.wait_state(jid, ("succeeded",))
        check_eq(d.req("DELETE", "/api/jobs/%d" % jid, headers=ok).status, 204, "delete with token")
    finally:
        rc, _ = d.stop()
        check_eq(rc, 0, "clean exit")
    # A token file that does not exist stops the start with a clear message.
    bad = Daemon(root, "--token-file", os.path.join(root, "nope"))
    try:
        bad.start()
        check(False, "aelabd started with a missing token file")
        bad.stop()
    except RuntimeError as e:
        check("--token-file" in str(e) and "No such file" in str(e), "message: %s" % e)


def test_cli_flags():
    p = subprocess.run([AELABD, "--help"], capture_output=True, text=True, timeout=30)
    check_eq(p.returncode, 0, "--help exit status")
    for flag in ("--listen", "--logdir", "--db", "--data-dir", "--workers", "--threads-per-job",
                 "--max-queued", "--token-file", "--web-root", "--tensorboard-url", "--port-file"):
        check(flag in p.stdout, "--help lists %s" % flag)
    p = subprocess.run([AELABD, "--workers", "0"], capture_output=True, text=True, timeout=30)
    check_eq(p.returncode, 2, "bad flag exit status")
    check("--workers must be a whole number from 1 to 256" in p.stderr, "message: %r" % p.stderr)
    p = subprocess.run([AELABD, "--listen", "nonsense"], capture_output=True, text=True, timeout=30)
    check(p.returncode == 2 and "--listen" in p.stderr, "bad --listen: %r" % p.stderr)


def main():
    test_cli_flags()
    root = tmpdir("api")
    try:
        web = os.path.join(root, "web")
        os.makedirs(os.path.join(web, "sub"))
        with open(os.path.join(web, "index.html"), "w") as f:
            f.write("<!doctype html><title>aelab test</title>\n")
        with open(os.path.join(web, "app.js"), "w") as f:
            f.write("console.log(1);\n")
        with open(os.path.join(web, "style.css"), "w") as f:
            f.write("body{}\n")
        with open(os.path.join(web, "sub", "index.html"), "w") as f:
            f.write("sub\n")
        with open(os.path.join(web, ".hidden"), "w") as f:
            f.write("TOP SECRET\n")
        with open(os.path.join(root, "secret.txt"), "w") as f:
            f.write("TOP SECRET\n")
        os.symlink(root, os.path.join(web, "escape"))

        d = Daemon(root, "--web-root", web).start()
        try:
            test_service(d)
            test_version(d, os.environ.get("AELAB_VERSION", ""))
            test_bad_submissions(d)
            test_bad_paths(d)
            test_static(d, root)
            check(d.alive(), "the daemon survived every bad request")
        finally:
            rc, secs = d.stop()
            check_eq(rc, 0, "SIGTERM exit status")
            check(secs < 10, "SIGTERM exit took %.1fs" % secs)
        test_auth(os.path.join(root, "auth") if os.makedirs(os.path.join(root, "auth")) is None
                  else root)
    finally:
        cleanup(root)
    return summary("test_daemon_api")


if __name__ == "__main__":
    sys.exit(main())
