#!/usr/bin/python3
"""test_cli_events.py - `aelab events` on TensorBoard's golden files.

usage: test_cli_events.py EVENTS_BINARY GOLDEN_DIR

EVENTS_BINARY is called as `EVENTS_BINARY events FILE [--json]` (the
subcommand name first, as the aelab dispatcher passes it).  For every golden
file the --json output must list the records its sidecar describes (offset,
step, kind, tag, value, image size, hparams kind) and exit 0; the damaged
files must exit 1 with the damage the golden README states; usage errors and
missing files exit 2.
"""
import json
import os
import struct
import subprocess
import sys

FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL: " + msg)


def run(binary, *args):
    p = subprocess.run([binary, "events", *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def f32(hexle):
    return struct.unpack("<f", bytes.fromhex(hexle))[0]


def check_valid(binary, golden, name):
    side = json.load(open(os.path.join(golden, name + ".json")))
    rc, out, err = run(binary, os.path.join(golden, name + ".tfevents"), "--json")
    check(rc == 0, "%s: exit %d (%s)" % (name, rc, err))
    lines = [json.loads(l) for l in out.splitlines()]
    recs, end = lines[:-1], lines[-1]
    check(end == {"end": True, "records": side["num_records"], "damaged": 0,
                  "truncated": False}, "%s: summary %r" % (name, end))
    check(len(recs) == len(side["records"]), "%s: %d records" % (name, len(recs)))
    for got, want in zip(recs, side["records"]):
        ev = want["event"]
        where = "%s #%d" % (name, want["index"])
        check(got["index"] == want["index"] and got["offset"] == want["offset"]
              and got["length"] == want["length"], where + ": position")
        check(got["step"] == ev["step"] and got["wall_time"] == ev["wall_time"], where + ": step/time")
        if ev["what"] == "file_version":
            check(got["kind"] == "file_version" and got["file_version"] == "brain.Event:2", where)
            continue
        if ev["what"] == "session_log":
            check(got["kind"] == "session_log" and got["status"] == "START", where)
            continue
        v = ev["values"][0]
        check(got["tag"] == v["tag"], where + ": tag %r" % got.get("tag"))
        plugin = v.get("metadata", {}).get("plugin_data", {}).get("plugin_name", "")
        if v["kind"] == "simple_value":
            check(got["kind"] == "scalar" and
                  struct.pack("<f", got["value"]) == bytes.fromhex(v["simple_value_f32_le_hex"]),
                  where + ": scalar %r" % got)
        elif v["kind"] == "image":
            img = v["image"]
            check(got["kind"] == "image" and got["width"] == img["width"] and
                  got["height"] == img["height"] and got["bytes"] == img["encoded_image_string_len"],
                  where + ": image %r" % got)
        elif plugin == "scalars":
            check(got["kind"] == "scalar" and
                  struct.pack("<f", got["value"]) == struct.pack("<f", v["tensor_value"]),
                  where + ": tensor scalar %r" % got)
        elif plugin == "text":
            check(got["kind"] == "text" and got["text"] == v["tensor_value"][0], where + ": text")
        elif plugin == "hparams":
            kind = next(iter(v["plugin_content_decoded"]))
            check(got["kind"] == "hparams" and got["hparams"] == kind, where + ": hparams %r" % got)
            if kind == "session_start_info":
                check(got["group_name"] == v["plugin_content_decoded"][kind]["group_name"], where)
            if kind == "session_end_info":
                check(got["status"] == "STATUS_SUCCESS", where)
        elif plugin == "custom_scalars":
            check(got["kind"] == "custom_scalars" and got["categories"] == 1 and
                  got["charts"] == 1, where + ": layout %r" % got)
        else:
            check(False, where + ": unexpected " + v["kind"])


def main():
    binary, golden = sys.argv[1], sys.argv[2]
    for name in ["scalars", "scalars_tensor", "scalars_tensor_content", "image", "text",
                 "hparams", "custom_scalars", "resume"]:
        check_valid(binary, golden, name)

    # truncated.tfevents: 6 records, then the torn one at 258 (39 of 46 bytes).
    rc, out, _ = run(binary, os.path.join(golden, "truncated.tfevents"), "--json")
    lines = [json.loads(l) for l in out.splitlines()]
    check(rc == 1, "truncated: exit %d" % rc)
    check(len(lines) == 8, "truncated: %d lines" % len(lines))
    dmg = lines[6]
    check(dmg.get("error") == "truncated" and dmg.get("index") == 6 and dmg.get("offset") == 258
          and dmg.get("bytes_present") == 39 and dmg.get("bytes_expected") == 46,
          "truncated: damage %r" % dmg)
    check(lines[-1] == {"end": True, "records": 6, "damaged": 1, "truncated": True,
                        "truncated_at": 258}, "truncated: summary %r" % lines[-1])
    rc, out, _ = run(binary, os.path.join(golden, "truncated.tfevents"))
    check(rc == 1 and "truncated trailing record at offset 258 (39 of 46 bytes)" in out,
          "truncated (text): %r" % out[-300:])

    # corrupt.tfevents: data CRC error in record 1, records 2..6 still listed.
    rc, out, _ = run(binary, os.path.join(golden, "corrupt.tfevents"), "--json")
    lines = [json.loads(l) for l in out.splitlines()]
    check(rc == 1, "corrupt: exit %d" % rc)
    dmg = lines[1]
    check(dmg.get("error") == "crc" and dmg.get("crc") == "data" and dmg.get("index") == 1 and
          dmg.get("offset") == 40 and dmg.get("stored") == "0x8c2b9d48" and
          dmg.get("computed") == "0x5f5bf3d3", "corrupt: damage %r" % dmg)
    check([l.get("index") for l in lines[2:-1]] == [2, 3, 4, 5, 6], "corrupt: later records")
    check(lines[-1] == {"end": True, "records": 6, "damaged": 1, "truncated": False},
          "corrupt: summary %r" % lines[-1])
    rc, out, _ = run(binary, os.path.join(golden, "corrupt.tfevents"))
    check("data CRC mismatch: stored 0x8c2b9d48, computed 0x5f5bf3d3" in out, "corrupt (text)")

    # Text mode on a whole file: a header, one line per record, a summary.
    rc, out, _ = run(binary, os.path.join(golden, "image.tfevents"))
    check(rc == 0 and "reconstructions 280x56 colorspace 1, 614 bytes" in out and
          "2 good records, 0 damaged" in out, "image (text): %r" % out)

    # Usage and open errors.
    rc, _, err = run(binary)
    check(rc == 2 and "usage" in err, "no file: exit %d" % rc)
    rc, _, err = run(binary, "--bogus", "x")
    check(rc == 2 and "--bogus" in err, "bad option: exit %d" % rc)
    missing = os.path.join(golden, "no-such.tfevents")
    rc, _, err = run(binary, missing)
    check(rc == 2 and missing in err and "No such file" in err, "missing file: %d %r" % (rc, err))
    rc, out, _ = run(binary, "--help")
    check(rc == 0 and "usage: aelab events" in out, "--help")

    print("test_cli_events: %d failed" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
