#!/usr/bin/python3
"""decode_run.py - check a run directory the way TensorBoard will read it.

usage: decode_run.py RUN_DIR [options]

Compiles the project's own .proto files (proto/*.proto) with `protoc
--python_out` into a temporary directory, decodes every record of every event
file in RUN_DIR with Python's protobuf, and checks what TensorBoard would
show.  Always checked:

  * Only event files have "tfevents" in their name; each is read in name
    order, every record's framing and both masked CRC32Cs are valid, and the
    first record is file_version "brain.Event:2".
  * Record 1 of the first file is SessionLog START at step 0; record 1 of each
    later file (a resumed job) is START at the first step that file writes.
  * TensorBoard's two loaders agree and show each tag's steps once, in order:
    the Python loader (ignores the first START, every later START at S drops
    all points with step >= S) and the Rust data server (a point at step s
    drops that tag's earlier points with step >= s).
  * Images are PNGs whose IHDR size and colour type match Summary.Image.
  * Texts are UTF-8; hparams contents parse; the session's group_name is 64
    hex digits; session values lie in the experiment's domains; each metric of
    the experiment is a scalar tag of the run (else the HPARAMS tab shows no
    value for it); a layout's regexes compile.

Expectations (all optional):
  --epochs N              every --scalars / --images tag has exactly steps 1..N
  --scalars a,b           scalar tags that must exist (default: loss,val_loss)
  --images TAG=WxH,...    image tags and their size in pixels
  --text NAME             a text summary NAME/text_summary must exist (repeatable)
  --hparam NAME=VALUE     the session's value (50 -> int, 0.5 -> float, else
                          string; repeatable); with every hparam given, the
                          group_name must be the SHA-256 of their Python JSON
  --experiment a,b        hparam names the experiment must define
  --metrics a,b           metric tags the experiment must define
  --status S              success | failure | running | unknown (first
                          session_end_info), or none (no end record)
  --layout-regex RE       a custom-scalars chart with this tag regex
  --layout-matches a,b    ... which must match exactly these scalar tags
  --files N               number of event files (1 + the number of resumes)
  --proto-dir DIR         default: proto/ of this source tree
  --protoc PATH           default: protoc
  --summary-json PATH     write what TensorBoard would show, as JSON

Exit status 0 when everything holds, 1 otherwise (each failure is printed).
"""
import argparse
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL: " + msg)


# --------------------------------------------------------------------------
# Protos and framing
# --------------------------------------------------------------------------

def compile_protos(proto_dir, protoc, tmp):
    protos = sorted(f for f in os.listdir(proto_dir) if f.endswith(".proto"))
    subprocess.run([protoc, "--python_out=" + tmp, "-I", proto_dir] +
                   [os.path.join(proto_dir, f) for f in protos], check=True)
    sys.path.insert(0, tmp)
    import tb_event_pb2
    import tb_hparams_pb2
    import tb_layout_pb2
    return tb_event_pb2, tb_hparams_pb2, tb_layout_pb2


def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
        table.append(c)
    return table


CRC_TABLE = _crc_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = (c >> 8) ^ CRC_TABLE[(c ^ b) & 0xFF]
    return c ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def read_records(path, event_pb2, last_file=True):
    """[(index, offset, Event)] of a file; damage is reported with fail().
    A torn last record in a file that is not the run's last is only a note:
    a job that crashed while writing it has resumed in a newer file, and
    TensorBoard's loaders move on to that file."""
    data = open(path, "rb").read()
    out, off, idx = [], 0, 0
    name = os.path.basename(path)
    while off < len(data):
        if len(data) - off < 12:
            msg = "%s: truncated header at offset %d" % (name, off)
            if last_file:
                fail(msg)
            else:
                print("note: " + msg + "; a later file follows, so TensorBoard moves on")
            break
        (length,) = struct.unpack_from("<Q", data, off)
        (lcrc,) = struct.unpack_from("<I", data, off + 8)
        if lcrc != masked(data[off:off + 8]):
            fail("%s: record %d at offset %d: length CRC mismatch" % (name, idx, off))
            break
        end = off + 12 + length + 4
        if end > len(data):
            msg = "%s: truncated trailing record at offset %d (%d of %d bytes)" % (
                name, off, len(data) - off, end - off)
            if last_file:
                fail(msg)
            else:
                print("note: " + msg + "; a later file follows, so TensorBoard moves on")
            break
        payload = data[off + 12:off + 12 + length]
        (dcrc,) = struct.unpack_from("<I", data, off + 12 + length)
        if dcrc != masked(payload):
            fail("%s: record %d at offset %d: data CRC mismatch" % (name, idx, off))
        else:
            ev = event_pb2.Event()
            try:
                ev.ParseFromString(payload)
                out.append((idx, off, ev))
            except Exception as e:  # the parser's error text is the message
                fail("%s: record %d: not an Event: %s" % (name, idx, e))
        off, idx = end, idx + 1
    return out


# --------------------------------------------------------------------------
# What the loaders show
# --------------------------------------------------------------------------

def png_info(blob):
    """(width, height, color_type) from a PNG's IHDR, or None."""
    if len(blob) < 33 or blob[:8] != b"\x89PNG\r\n\x1a\n" or blob[12:16] != b"IHDR":
        return None
    w, h = struct.unpack(">II", blob[16:24])
    return w, h, blob[25]


def tensor_scalar(t):
    if len(t.float_val):
        return t.float_val[0]
    if len(t.double_val):
        return t.double_val[0]
    if len(t.tensor_content) == 4:
        return struct.unpack("<f", t.tensor_content)[0]
    return None


def collect(files, mods):
    """Walk every record; returns the points per tag and the first metadata."""
    event_pb2, hparams_pb2, layout_pb2 = mods
    points = []          # (file_no, step, tag, payload) in read order
    starts = []          # (file_no, record index, step)
    first_meta = {}      # tag -> (plugin, content, value)
    texts, layouts, hp = {}, [], {}
    for fno, path in enumerate(files):
        recs = read_records(path, event_pb2, last_file=fno == len(files) - 1)
        name = os.path.basename(path)
        if not recs or recs[0][2].WhichOneof("what") != "file_version" or \
                recs[0][2].file_version != "brain.Event:2":
            fail("%s: record 0 is not file_version brain.Event:2" % name)
        for idx, off, ev in recs:
            what = ev.WhichOneof("what")
            if what == "session_log" and ev.session_log.status == event_pb2.SessionLog.START:
                starts.append((fno, idx, ev.step))
                points.append((fno, ev.step, None, "START"))
            if what != "summary":
                continue
            for v in ev.summary.value:
                plugin = v.metadata.plugin_data.plugin_name if v.HasField("metadata") else ""
                if v.tag not in first_meta and v.HasField("metadata"):
                    first_meta[v.tag] = (plugin, v.metadata.plugin_data.content, v)
                kind = v.WhichOneof("value")
                if kind == "simple_value":
                    points.append((fno, ev.step, v.tag, ("scalar", v.simple_value)))
                elif kind == "image":
                    info = png_info(v.image.encoded_image_string)
                    want_ct = {1: 0, 2: 4, 3: 2, 4: 6}.get(v.image.colorspace)
                    if info is None:
                        fail("%s #%d: image %s is not a PNG" % (name, idx, v.tag))
                    elif info[:2] != (v.image.width, v.image.height) or info[2] != want_ct:
                        fail("%s #%d: image %s: IHDR %dx%d type %d, record says %dx%d "
                             "colorspace %d" % (name, idx, v.tag, info[0], info[1], info[2],
                                                v.image.width, v.image.height,
                                                v.image.colorspace))
                    points.append((fno, ev.step, v.tag,
                                   ("image", v.image.width, v.image.height)))
                elif kind == "tensor":
                    p = first_meta.get(v.tag, ("",))[0]
                    if p == "scalars":
                        points.append((fno, ev.step, v.tag, ("scalar", tensor_scalar(v.tensor))))
                    elif p == "text":
                        try:
                            texts[v.tag] = v.tensor.string_val[0].decode("utf-8")
                        except (IndexError, UnicodeDecodeError):
                            fail("%s #%d: text %s is not UTF-8" % (name, idx, v.tag))
                        points.append((fno, ev.step, v.tag, ("text",)))
                    elif p == "custom_scalars":
                        lay = layout_pb2.Layout()
                        lay.ParseFromString(v.tensor.string_val[0])
                        layouts.append(lay)
                    elif p == "hparams":
                        d = hparams_pb2.HParamsPluginData()
                        d.ParseFromString(v.metadata.plugin_data.content)
                        hp.setdefault(d.WhichOneof("data"), d)
    return points, starts, first_meta, texts, layouts, hp


def python_loader(points):
    """EventAccumulator: the first START is ignored, a later START at S drops
    every point read so far with step >= S."""
    seen_start, shown = False, []
    for fno, step, tag, payload in points:
        if payload == "START":
            if seen_start:
                shown = [p for p in shown if p[0] < step]
            seen_start = True
            continue
        shown.append((step, tag, payload))
    series = {}
    for step, tag, payload in shown:
        series.setdefault(tag, []).append((step, payload))
    return series


def rust_loader(points):
    """The Rust data server: ignores SessionLog; a point at step s drops that
    tag's earlier points with step >= s."""
    series = {}
    for fno, step, tag, payload in points:
        if payload == "START":
            continue
        s = [p for p in series.get(tag, []) if p[0] < step]
        s.append((step, payload))
        series[tag] = s
    return series


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def parse_value(text):
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--scalars", default="loss,val_loss")
    ap.add_argument("--images", default="")
    ap.add_argument("--text", action="append", default=[])
    ap.add_argument("--hparam", action="append", default=[])
    ap.add_argument("--experiment", default="")
    ap.add_argument("--metrics", default="")
    ap.add_argument("--status")
    ap.add_argument("--layout-regex")
    ap.add_argument("--layout-matches")
    ap.add_argument("--files", type=int)
    ap.add_argument("--proto-dir", default=os.path.join(here, "..", "..", "proto"))
    ap.add_argument("--protoc", default="protoc")
    ap.add_argument("--summary-json")
    a = ap.parse_args()

    # Names: only event files may contain "tfevents".
    files = []
    for entry in sorted(os.listdir(a.run_dir)):
        p = os.path.join(a.run_dir, entry)
        if "tfevents" not in entry:
            continue
        if entry.endswith(".profile-empty"):
            continue
        if not os.path.isfile(p):
            fail("%s contains 'tfevents' but is not a file (TensorBoard would fail on it)" % entry)
            continue
        if not entry.startswith("events.out.tfevents."):
            fail("%s: 'tfevents' in a name that is not an event file" % entry)
        files.append(p)
    if not files:
        fail("no event files in %s" % a.run_dir)
        return finish(a, {})
    if a.files is not None and len(files) != a.files:
        fail("%d event files, expected %d" % (len(files), a.files))

    with tempfile.TemporaryDirectory(prefix="decode_run-") as tmp:
        mods = compile_protos(a.proto_dir, a.protoc, tmp)
        points, starts, first_meta, texts, layouts, hp = collect(files, mods)
        hparams_pb2 = mods[1]

    # START records: file 0 at step 0, later files at their first data step.
    for fno, path in enumerate(files):
        name = os.path.basename(path)
        mine = [s for s in starts if s[0] == fno]
        data_steps = [p[1] for p in points if p[0] == fno and p[3] != "START" and p[2]
                      and p[3][0] in ("scalar", "image")]
        if not mine or mine[0][1] != 1:
            fail("%s: record 1 is not a SessionLog START" % name)
            continue
        want = 0 if fno == 0 else (min(data_steps) if data_steps else None)
        if want is not None and mine[0][2] != want:
            fail("%s: START at step %d, expected %d (%s)" % (
                name, mine[0][2], want,
                "a fresh job starts at 0" if fno == 0 else "the first step this file writes"))

    py, rs = python_loader(points), rust_loader(points)
    for tag in sorted(set(py) | set(rs)):
        if tag is None:
            continue
        ps = [s for s, _ in py.get(tag, [])]
        if ps != sorted(set(ps)):
            fail("%s: the Python loader shows steps %s (repeated or out of order)" % (tag, ps))
        if py.get(tag) != rs.get(tag):
            fail("%s: TensorBoard's loaders disagree: Python %s, Rust %s" % (
                tag, ps, [s for s, _ in rs.get(tag, [])]))

    scalars = {t: v for t, v in py.items() if t and v and v[0][1][0] == "scalar"}
    images = {t: v for t, v in py.items() if t and v and v[0][1][0] == "image"}
    want_steps = list(range(1, a.epochs + 1)) if a.epochs else None
    for tag in filter(None, a.scalars.split(",")):
        if tag not in scalars:
            fail("scalar %s missing" % tag)
        elif want_steps and [s for s, _ in scalars[tag]] != want_steps:
            fail("scalar %s: steps %s, expected 1..%d" % (
                tag, [s for s, _ in scalars[tag]], a.epochs))
    for spec in filter(None, a.images.split(",")):
        tag, _, size = spec.partition("=")
        if tag not in images:
            fail("image %s missing" % tag)
            continue
        if want_steps and [s for s, _ in images[tag]] != want_steps:
            fail("image %s: steps %s, expected 1..%d" % (tag, [s for s, _ in images[tag]], a.epochs))
        if size:
            w, h = (int(x) for x in size.split("x"))
            bad = [s for s, p in images[tag] if (p[1], p[2]) != (w, h)]
            if bad:
                fail("image %s: not %dx%d at steps %s" % (tag, w, h, bad))
    for name in a.text:
        if name + "/text_summary" not in texts:
            fail("text %s/text_summary missing" % name)

    summary = {
        "files": [os.path.basename(f) for f in files],
        "scalars": {t: [[s, p[1]] for s, p in v] for t, v in scalars.items()},
        "images": {t: [[s, p[1], p[2]] for s, p in v] for t, v in images.items()},
        "texts": sorted(texts),
        "starts": [[os.path.basename(files[f]), i, s] for f, i, s in starts],
    }
    check_hparams(a, hp, scalars, hparams_pb2, summary)
    check_layout(a, layouts, scalars, summary)
    return finish(a, summary)


def check_hparams(a, hp, scalars, hparams_pb2, summary):
    exp = hp.get("experiment")
    start = hp.get("session_start_info")
    end = hp.get("session_end_info")
    if (a.experiment or a.metrics) and not exp:
        fail("no _hparams_/experiment record")
    if a.hparam and not start:
        fail("no _hparams_/session_start_info record")
    domains = {}
    if exp:
        e = exp.experiment
        names = [h.name for h in e.hparam_infos]
        for want in filter(None, a.experiment.split(",")):
            if want not in names:
                fail("experiment lacks hparam %s (has %s)" % (want, names))
        for h in e.hparam_infos:
            dom = h.WhichOneof("domain")
            if h.type == hparams_pb2.DATA_TYPE_UNSET:
                fail("hparam %s has no type" % h.name)
            if dom == "domain_discrete":
                domains[h.name] = ("set", [v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind"))
                                           for v in h.domain_discrete.values])
            elif dom == "domain_interval":
                domains[h.name] = ("interval", h.domain_interval.min_value,
                                   h.domain_interval.max_value)
        mtags = [m.name.tag for m in e.metric_infos]
        for want in filter(None, a.metrics.split(",")):
            if want not in mtags:
                fail("experiment lacks metric %s (has %s)" % (want, mtags))
        for m in e.metric_infos:
            if not m.name.group and m.name.tag not in scalars:
                fail("metric %s is not a scalar tag of this run: the HPARAMS tab shows no "
                     "value for it" % m.name.tag)
    session = {}
    if start:
        s = start.session_start_info
        for k, v in s.hparams.items():
            session[k] = getattr(v, v.WhichOneof("kind"))
        if not re.fullmatch(r"[0-9a-f]{64}", s.group_name):
            fail("group_name %r is not a SHA-256 in hex" % s.group_name)
        for k, v in session.items():
            d = domains.get(k)
            if d and d[0] == "set" and v not in d[1]:
                fail("hparam %s = %r is outside the experiment's domain %s" % (k, v, d[1]))
            if d and d[0] == "interval" and not d[1] <= v <= d[2]:
                fail("hparam %s = %r is outside [%g, %g]" % (k, v, d[1], d[2]))
        want = {}
        for spec in a.hparam:
            k, _, v = spec.partition("=")
            want[k] = parse_value(v)
        for k, v in want.items():
            if k not in session:
                fail("session lacks hparam %s" % k)
            elif session[k] != v:
                fail("hparam %s = %r, expected %r" % (k, session[k], v))
        if want and set(want) == set(session):
            text = json.dumps(want, sort_keys=True, separators=(",", ":"))
            if hashlib.sha256(text.encode("utf-8")).hexdigest() != s.group_name:
                fail("group_name %s is not sha256(%s)" % (s.group_name, text))
    status = None
    if end:
        status = hparams_pb2.Status.Name(end.session_end_info.status)
    if a.status:
        want = None if a.status == "none" else "STATUS_" + a.status.upper()
        if status != want:
            fail("session end status %s, expected %s" % (status, want))
    summary["hparams"] = {
        "experiment": [h.name for h in exp.experiment.hparam_infos] if exp else None,
        "session": session or None,
        "group_name": start.session_start_info.group_name if start else None,
        "status": status,
        "metrics": {m.name.tag: (scalars[m.name.tag][-1][1][1] if m.name.tag in scalars else None)
                    for m in exp.experiment.metric_infos} if exp else {},
    }


def check_layout(a, layouts, scalars, summary):
    regexes = []
    for lay in layouts:
        for cat in lay.category:
            for chart in cat.chart:
                for rx in chart.multiline.tag:
                    try:
                        re.compile(rx)
                    except re.error as e:
                        fail("layout regex %r does not compile: %s" % (rx, e))
                        continue
                    regexes.append(rx)
    summary["layout"] = regexes
    if a.layout_regex:
        if a.layout_regex not in regexes:
            fail("no layout chart with regex %r (have %s)" % (a.layout_regex, regexes))
        elif a.layout_matches is not None:
            got = sorted(t for t in scalars if re.match(a.layout_regex, t))
            want = sorted(filter(None, a.layout_matches.split(",")))
            if got != want:
                fail("layout regex %r matches %s, expected %s" % (a.layout_regex, got, want))


def finish(a, summary):
    if a.summary_json:
        with open(a.summary_json, "w") as f:
            json.dump(summary, f, indent=1, sort_keys=True)
    if FAILURES:
        print("decode_run: %s: %d problem(s)" % (a.run_dir, len(FAILURES)))
        return 1
    print("decode_run: %s: OK (%d files)" % (a.run_dir, len(summary.get("files", []))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
