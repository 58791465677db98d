"""Test harness for aelabd: start the real daemon on 127.0.0.1 with port 0
in a fresh temp directory, talk real HTTP to it, read its event files.

Used by tests/integration/test_daemon_*.py (Python standard library only).
Checks follow tests/support/check.h: each failed check prints file:line and
the run goes on; `summary()` returns the exit status and fails a test that
checked nothing.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------

_runs = 0
_failed = 0


def _where():
    for fr in reversed(traceback.extract_stack()[:-2]):
        if not fr.filename.endswith("aelabd_harness.py"):
            return "%s:%d" % (os.path.basename(fr.filename), fr.lineno)
    return "?"


def check(cond, what=""):
    global _runs, _failed
    _runs += 1
    if not cond:
        _failed += 1
        print("%s: FAIL: %s" % (_where(), what), file=sys.stderr, flush=True)
    return bool(cond)


def check_eq(a, b, what=""):
    return check(a == b, "%s (%r != %r)" % (what, a, b))


def summary(name):
    if _runs == 0:
        print("%s: FAIL: no checks ran" % name, file=sys.stderr)
        return 1
    print("%s: %d checks, %d failed" % (name, _runs, _failed))
    return 1 if _failed else 0


# ---------------------------------------------------------------------------
# Paths given by meson
# ---------------------------------------------------------------------------

AELABD = os.path.abspath(os.environ.get("AELABD", "aelabd"))
AELAB_CLI = os.environ.get("AELAB_CLI", "")
SOURCE_ROOT = os.environ.get("AELAB_SOURCE_ROOT", os.getcwd())
MNIST = os.path.join(SOURCE_ROOT, "data", "mnist")  # the repository's own copy

# A small, fast job on real MNIST.
SMALL = {"model": "simple", "epochs": 3, "train_size": 1000, "test_size": 200,
         "batch_size": 100, "threads": 1}


def tmpdir(tag):
    return tempfile.mkdtemp(prefix="aelabd-%s-" % tag)


def data_dir(root):
    """A data dir holding only mnist (as root/data/mnist -> the real files),
    so fashion-mnist is 'not installed' for this daemon."""
    d = os.path.join(root, "data")
    os.makedirs(d, exist_ok=True)
    link = os.path.join(d, "mnist")
    if not os.path.exists(link):
        os.symlink(MNIST, link)
    return d


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # dict, lower-case names
        self.body = body

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except Exception:  # noqa: BLE001 - a test wants None, not a crash
            return None

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


def request(port, method, path, body=None, headers=None, timeout=30, tls=None):
    """One request on a new connection. body: bytes, str or a JSON-able
    object (sent with Content-Type: application/json).  tls: an
    ssl.SSLContext for HTTPS, None for plain HTTP."""
    h = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode("utf-8")
    if tls is not None:
        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=tls)
    else:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        c.close()


def raw_request(port, data, src=None, timeout=10):
    """Send raw bytes (from loopback address src, when given); return
    (status, body bytes) of the reply, status 0 if the connection closed
    without one."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(src, 0) if src else None)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:  # a timeout, or the server reset the connection
                break
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out:
                head, _, rest = out.partition(b"\r\n\r\n")
                length = None
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v.strip())
                if length is not None and len(rest) >= length:
                    break
        status = int(out.split(b" ", 2)[1]) if out.startswith(b"HTTP/") else 0
        return status, out.partition(b"\r\n\r\n")[2]
    finally:
        s.close()


class KeepAlive:
    """One keep-alive HTTP connection to aelabd (from source address src when
    given), opened on first use and again after the server answered
    "Connection: close".  A request that fails closes the connection and
    raises; the caller decides whether to retry.  `opened` counts the
    connections made."""

    def __init__(self, port, src=None, timeout=30):
        self.port, self.src, self.timeout = port, src, timeout
        self.c = None
        self.opened = 0

    def send(self, method, path, body=None, headers=None):
        if self.c is None:
            self.c = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=self.timeout,
                source_address=(self.src, 0) if self.src else None)
            self.opened += 1
        try:
            self.c.request(method, path, body=body, headers=headers or {})
            r = self.c.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if (r.getheader("Connection") or "").lower() == "close":
            self.close()
        return r.status, data

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None


class SSE:
    """Read a text/event-stream: events() yields (event, data) pairs."""

    def __init__(self, port, path, timeout=60, headers=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.conn.request("GET", path, headers=headers or {})
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.content_type = self.resp.getheader("Content-Type")

    def events(self):
        ev, data, eid = "message", [], None
        while True:
            line = self.resp.fp.readline()
            if not line:
                return
            line = line.decode("utf-8").rstrip("\r\n")
            if line == "":
                if data:
                    yield ev, "\n".join(data), eid
                ev, data = "message", []
                continue
            if line.startswith(":"):
                continue
            k, _, v = line.partition(":")
            v = v[1:] if v.startswith(" ") else v
            if k == "event":
                ev = v
            elif k == "data":
                data.append(v)
            elif k == "id":
                eid = v

    def close(self):
        self.conn.close()


# ---------------------------------------------------------------------------
# The daemon
# ---------------------------------------------------------------------------

class Daemon:
    """tls: an ssl.SSLContext that trusts the daemon's --tls-cert; req()
    and the helpers on it then speak HTTPS."""

    def __init__(self, root, *extra, data=True, env=None, tls=None):
        self.root = root
        self.tls = tls
        self.extra = list(extra)
        self.data = data
        self.env = env  # None: this process's environment
        self.proc = None
        self.port = None
        self.log_path = os.path.join(root, "aelabd.log")
        self.logdir = os.path.join(root, "runs")
        self.db = os.path.join(root, "aelab.db")

    def start(self, timeout=30):
        port_file = os.path.join(self.root, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        cmd = [AELABD, "--listen", "127.0.0.1:0", "--port-file", port_file,
               "--logdir", self.logdir, "--db", self.db, "--log-level", "debug"]
        if self.data:
            cmd += ["--data-dir", data_dir(self.root)]
        cmd += self.extra
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log, cwd=self.root,
                                     env=self.env)
        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError("aelabd exited with %d:\n%s" % (self.proc.returncode, self.log_text()))
            if os.path.exists(port_file):
                with open(port_file) as f:
                    txt = f.read().strip()
                if txt:
                    self.port = int(txt)
                    return self
            time.sleep(0.02)
        raise RuntimeError("aelabd did not write its port file:\n" + self.log_text())

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def req(self, method, path, body=None, headers=None, timeout=30):
        return request(self.port, method, path, body, headers, timeout, self.tls)

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.req("POST", path, body, **kw)

    def submit(self, spec, headers=None):
        r = self.post("/api/jobs", spec, headers=headers)
        check(r.status == 201, "submit %r -> %r" % (spec, r))
        return r.json()

    def wait_state(self, job_id, states, timeout=120):
        t0 = time.time()
        last = None
        while time.time() - t0 < timeout:
            r = self.get("/api/jobs/%d" % job_id)
            last = r.json()
            if last and last.get("state") in states:
                return last
            time.sleep(0.05)
        check(False, "job %d did not reach %s; last: %r" % (job_id, states, last))
        return last

    def wait_epoch(self, job_id, epoch, timeout=120):
        t0 = time.time()
        while time.time() - t0 < timeout:
            j = self.get("/api/jobs/%d" % job_id).json()
            if j and j.get("epoch", 0) >= epoch:
                return j
            time.sleep(0.02)
        check(False, "job %d did not reach epoch %d" % (job_id, epoch))
        return None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Send sig and wait; returns (exit status, seconds it took)."""
        if not self.proc:
            return None, 0
        t0 = time.time()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            check(False, "aelabd did not exit within %ds of signal %d" % (timeout, sig))
        dt = time.time() - t0
        self.proc = None
        self.log.close()
        if rc != 0 and sig != signal.SIGKILL:
            # A sanitizer report or an assertion ends up here: show it, since
            # the run directory is gone by the time anyone reads the CI log.
            lines = self.log_text().splitlines()
            start = next((i for i, x in enumerate(lines)
                          if "Sanitizer" in x or "runtime error" in x), None)
            shown = lines[start:start + 200] if start is not None else lines[-80:]
            print("aelabd exited with %s; from its log:\n%s"
                  % (rc, "\n".join(shown)), file=sys.stderr, flush=True)
        return rc, dt

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


def cleanup(root):
    shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------
# Event files (TFRecord + Event protos), decoded here independently of the
# proto/ library so the test does not trust the code it checks.
# ---------------------------------------------------------------------------

def _varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return v, i


def _fields(b):
    """Yield (field number, wire type, value) of a protobuf message."""
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 1:
            v = b[i:i + 8]
            i += 8
        elif wt == 2:
            n, i = _varint(b, i)
            v = b[i:i + n]
            i += n
        elif wt == 5:
            v = b[i:i + 4]
            i += 4
        else:
            raise ValueError("wire type %d" % wt)
        yield f, wt, v


def _tensor_value(b):
    dtype, vals = 1, []
    for f, wt, v in _fields(b):
        if f == 1 and wt == 0:
            dtype = v
        elif f == 4 and wt == 2:  # tensor_content
            fmt = "<d" if dtype == 2 else "<f"
            size = 8 if dtype == 2 else 4
            vals += [struct.unpack(fmt, v[k:k + size])[0] for k in range(0, len(v) - size + 1, size)]
        elif f == 5:  # float_val (packed or not)
            if wt == 2:
                vals += [struct.unpack("<f", v[k:k + 4])[0] for k in range(0, len(v), 4)]
            else:
                vals.append(struct.unpack("<f", v)[0])
        elif f == 6:  # double_val
            if wt == 2:
                vals += [struct.unpack("<d", v[k:k + 8])[0] for k in range(0, len(v), 8)]
            else:
                vals.append(struct.unpack("<d", v)[0])
    return vals[0] if len(vals) == 1 else None


def read_events(path):
    """Records of one event file: list of dicts with wall_time, step and
    either file_version, session_log (status int) or values {tag: value}
    (float for scalars, ("image", w, h) for images, "other")."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    i = 0
    while i + 12 <= len(data):
        (n,) = struct.unpack("<Q", data[i:i + 8])
        if i + 12 + n + 4 > len(data):
            break  # torn trailing record
        rec = data[i + 12:i + 12 + n]
        i += 12 + n + 4
        ev = {"step": 0, "values": {}}
        for fnum, wt, v in _fields(rec):
            if fnum == 1:
                ev["wall_time"] = struct.unpack("<d", v)[0]
            elif fnum == 2:
                ev["step"] = v
            elif fnum == 3:
                ev["file_version"] = v.decode()
            elif fnum == 7:
                ev["session_log"] = dict((a, c) for a, _, c in _fields(v)).get(1, 0)
            elif fnum == 5:
                for vf, _, val in _fields(v):
                    if vf != 1:
                        continue
                    tag, value = None, "other"
                    for a, wt2, c in _fields(val):
                        if a == 1:
                            tag = c.decode()
                        elif a == 2 and wt2 == 5:
                            value = struct.unpack("<f", c)[0]
                        elif a == 4:
                            im = dict((x, y) for x, _, y in _fields(c))
                            value = ("image", im.get(2, 0), im.get(1, 0))
                        elif a == 8:
                            tv = _tensor_value(c)
                            if tv is not None:
                                value = tv
                    if tag is not None:
                        ev["values"][tag] = value
        out.append(ev)
    return out


def png_size(data):
    """(width, height) from a PNG's IHDR, or None if it is not a PNG."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])
