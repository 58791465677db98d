#!/usr/bin/python3
"""make_seeds.py - the starting corpora of the fuzz harnesses, from real inputs.

    /usr/bin/python3 tests/fuzz/make_seeds.py BUILD_DIR OUT_DIR

writes OUT_DIR/<harness>/seed-* for the five harnesses:

  idx       the tiny fixture data set (tests/fixtures/idx/tiny): its label
            files and gzip files as they are, one-image cuts of its image
            files (plain, and gzipped by the harness), and whole four-file
            data sets in the harness's data-set mode
  ckpt      a checkpoint and per-epoch weights files from a real 2-epoch
            run of BUILD_DIR/cli/aelab on that fixture, with the config
            fuzz_ckpt.c's trainer expects
  tbreader  TensorBoard's own event files (tests/golden/tfevents), raw
            and re-framed record by record, and the event file of the run
            above
  jobspec   the job specs of tests/unit/test_srv_jobspec.c, the OpenAPI
            example, and one spec per model
  http      one session per OpenAPI operation (server/openapi.json), with
            its query parameters, the bearer token and bodies

Each file starts with the harness's mode byte where it has one (see the
harness's header comment).  The committed corpora are these seeds after
the campaigns, minimised with -merge=1 (tests/fuzz/README.md).
"""
import gzip
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURE = os.path.join(SRC, "tests", "fixtures", "idx", "tiny")
GOLDEN = os.path.join(SRC, "tests", "golden", "tfevents")
TOKEN = "s3cret"  # fuzz_http.c's daemon token


def put(out, harness, name, data):
    d = os.path.join(out, harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    return gzip.decompress(data) if path.endswith(".gz") else data


def fixture(name):
    for n in (name, name + ".gz"):
        p = os.path.join(FIXTURE, n)
        if os.path.exists(p):
            return p
    raise SystemExit("make_seeds: %s missing in %s" % (name, FIXTURE))


# ---------------------------------------------------------------------------

def idx_seeds(out):
    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    small = []
    for n in names:
        raw = read(fixture(n))
        nd = raw[3]
        if nd == 3:  # keep one image
            raw = raw[:4] + struct.pack(">I", 1) + raw[8:16] + raw[16:16 + 784]
        else:        # keep one label
            raw = raw[:4] + struct.pack(">I", 1) + raw[8:9]
        small.append(raw)
        want = 2 if nd == 1 else 4            # mode: expect IDX1 / IDX3
        put(out, "idx", n + "-plain", bytes([0]) + raw)
        put(out, "idx", n + "-expect", bytes([want]) + raw)
        put(out, "idx", n + "-gz-by-harness", bytes([want | 1]) + raw)
    # The fixture's own gzip files, as they are.
    for n in os.listdir(FIXTURE):
        if n.endswith(".gz"):
            with open(os.path.join(FIXTURE, n), "rb") as f:
                put(out, "idx", n + "-raw", bytes([0]) + f.read())
    # Data-set mode: three u16le-prefixed files, then the fourth.
    body = b"".join(struct.pack("<H", len(s)) + s for s in small[:3]) + small[3]
    put(out, "idx", "dataset-plain", bytes([6]) + body)
    put(out, "idx", "dataset-gz", bytes([7]) + body)


def ckpt_seeds(out, build, tmp):
    aelab = os.path.join(build, "cli", "aelab")
    logdir = os.path.join(tmp, "runs")
    cmd = [aelab, "train", "--model", "simple", "--encoding-dim", "1", "--batch-size", "8",
           "--train-size", "16", "--test-size", "8", "--epochs", "2", "--threads", "1",
           "--data-dir", FIXTURE, "--logdir", logdir, "--json"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=tmp)
    run = os.path.join(logdir, os.listdir(logdir)[0])
    with open(os.path.join(run, "checkpoint.aeck"), "rb") as f:
        ck = f.read()
    for mode, tag in ((0x0c, "all"), (0x0f, "all-fixed"), (0x08, "trainer"), (0x00, "config")):
        put(out, "ckpt", "checkpoint-" + tag, bytes([mode]) + ck)
    wdir = os.path.join(run, "weights")
    for w in sorted(os.listdir(wdir)):
        with open(os.path.join(wdir, w), "rb") as f:
            data = f.read()
        put(out, "ckpt", w + "-model", bytes([0x04]) + data)
        put(out, "ckpt", w + "-all-fixed", bytes([0x0f]) + data)
    return run


def records(data):
    """The data parts of a TFRecord file (stops at the first damage)."""
    out, o = [], 0
    while o + 12 <= len(data):
        n = struct.unpack_from("<Q", data, o)[0]
        if o + 16 + n > len(data):
            break
        out.append(data[o + 12:o + 12 + n])
        o += 16 + n
    return out


def tbreader_seeds(out, run):
    files = [os.path.join(GOLDEN, n) for n in sorted(os.listdir(GOLDEN)) if n.endswith(".tfevents")]
    files += [os.path.join(run, n) for n in sorted(os.listdir(run)) if "tfevents" in n]
    for p in files:
        with open(p, "rb") as f:
            data = f.read()
        name = os.path.basename(p).split(".")[0] if p.startswith(GOLDEN) else "aelab-run"
        put(out, "tbreader", name + "-raw", bytes([0]) + data)
        recs = [r for r in records(data) if len(r) < 65536]
        framed = b"".join(struct.pack("<H", len(r)) + r for r in recs)
        put(out, "tbreader", name + "-framed", bytes([1]) + framed)
        put(out, "tbreader", name + "-framed-cut", bytes([1 | (5 << 1)]) + framed)


def c_strings(text):
    """Arguments of run("...") in a C test, adjacent literals joined."""
    out = []
    for m in re.finditer(r'run\(((?:\s*"(?:[^"\\]|\\.)*")+)', text):
        parts = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))
        s = "".join(parts)
        s = s.replace('\\"', '"').replace("\\\\", "\\").replace("\\n", "\n")
        out.append(s)
    return out


def jobspec_seeds(out):
    with open(os.path.join(SRC, "tests", "unit", "test_srv_jobspec.c")) as f:
        specs = c_strings(f.read())
    with open(os.path.join(SRC, "server", "openapi.json")) as f:
        doc = json.load(f)
    ex = doc["components"]["schemas"]["JobSpec"].get("example") if "components" in doc else None
    if ex:
        specs.append(json.dumps(ex))
    for m in ("simple", "sparse", "deep", "conv", "denoise", "vae"):
        specs.append(json.dumps({"model": m, "epochs": 1, "train_size": 100, "name": m + " run"}))
    specs += ['{"model":"vae","latent_dim":2,"dataset":"fashion_mnist","seed":7,"threads":1}',
              '{"model":"sparse","l1":1e-9,"learning_rate":0.001,"batch_size":256}',
              '{"model":"denoise","noise_factor":0.5,"test_size":10,"dataset":null}',
              '[1, 2, 3]', '{"model": 7}', '{"model":"conv","model":"simple"}']
    for i, s in enumerate(specs):
        put(out, "jobspec", "%02d" % i, s)


def http_seeds(out):
    with open(os.path.join(SRC, "server", "openapi.json")) as f:
        doc = json.load(f)
    auth = "Authorization: Bearer %s\n" % TOKEN
    examples = {"state": "queued,running", "model": "conv", "limit": "2", "before": "4",
                "purge": "true", "n": "3", "epoch": "1", "format": "csv", "seed": "7"}
    i = 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method not in ("get", "post", "delete", "put", "patch"):
                continue
            params = [p["name"] for p in op.get("parameters", [])
                      if isinstance(p, dict) and p.get("in") == "query"]
            for jid in ("1", "2", "3"):
                target = path.replace("{id}", jid)
                if params:
                    target += "?" + "&".join("%s=%s" % (p, examples.get(p, "1")) for p in params)
                head = "%s %s\n" % (method.upper(), target)
                if method in ("post", "delete"):
                    head += auth
                body = ""
                if path == "/api/jobs" and method == "post":
                    head += "Content-Type: application/json\nIdempotency-Key: seed-%d\n" % i
                    body = '{"model":"simple","epochs":1,"train_size":100}'
                put(out, "http", "%02d" % i, head + "\n" + body)
                i += 1
                if "{id}" not in path:
                    break
    sessions = [
        # submit, read it back, cancel it, delete it with its run directory
        "POST /api/jobs\nContent-Type: application/json\n" + auth + "Idempotency-Key: a\n\n"
        '{"model":"deep","epochs":2}\n@@\nGET /api/jobs/6\n@@\nPOST /api/jobs/6/cancel\n' + auth +
        "\n@@\nDELETE /api/jobs/6?purge=true\n" + auth + "\n@@\nGET /api/jobs?state=cancelled\n",
        # fill the queue (429), replay a key, conflict on a key
        "".join("POST /api/jobs\nContent-Type: application/json\n" + auth + "\n{\"model\":\"simple\"}\n@@\n"
                for _ in range(4)) + "GET /metrics\n",
        "POST /api/jobs\nContent-Type: application/json\n" + auth + "Idempotency-Key: k\n\n"
        '{"model":"conv"}\n@@\nPOST /api/jobs\nContent-Type: application/json\n' + auth +
        'Idempotency-Key: k\n\n{ "model" : "conv" }\n@@\nPOST /api/jobs\nContent-Type: '
        'application/json\n' + auth + 'Idempotency-Key: k\n\n{"model":"vae"}\n',
        # streams
        "GET /api/jobs/3/events\n@@\nGET /api/events\nLast-Event-ID: 2\n@@\nGET /api/jobs/1/events\n",
        # static files and escapes
        "GET /\n@@\nGET /app.js\n@@\nGET /css/site.css\n@@\nGET /link.txt\n@@\nGET /%2e%2e/secret.txt\n"
        "@@\nGET /css/..%2fapp.js\n@@\nGET /.hidden\n@@\nGET /css/\n",
        # errors: wrong token, wrong type, bad ids, bad query, 405
        "POST /api/jobs\nContent-Type: text/plain\n" + auth + "\n{}\n@@\nPOST /api/jobs\n"
        "Authorization: Bearer nope\n\n{}\n@@\nGET /api/jobs/abc\n@@\nGET /api/jobs/99999999999999999999\n"
        "@@\nGET /api/jobs?limit=0&state=bogus\n@@\nPUT /api/jobs/1\n@@\nPOST /api/jobs\n"
        "Content-Length: 999999999\n" + auth + "\n",
        "GET /api/jobs/1/metrics\nAccept: text/csv\n@@\nGET /api/jobs/2/metrics\nAccept: image/png\n"
        "@@\nGET /api/jobs/1/reconstructions.png?n=4&epoch=2\n@@\nGET /api/jobs/1/weights?epoch=2\n",
    ]
    for k, s in enumerate(sessions):
        put(out, "http", "session-%02d" % k, s)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    build, out = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    tmp = tempfile.mkdtemp(prefix="aelab-seeds-")
    try:
        idx_seeds(out)
        run = ckpt_seeds(out, build, tmp)
        tbreader_seeds(out, run)
        jobspec_seeds(out)
        http_seeds(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for h in sorted(os.listdir(out)):
        print("%-10s %4d seeds" % (h, len(os.listdir(os.path.join(out, h)))))


if __name__ == "__main__":
    main()
