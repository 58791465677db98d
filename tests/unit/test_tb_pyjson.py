#!/usr/bin/python3
"""test_tb_pyjson.py - our float repr and hparams JSON/group name against Python's.

usage: test_tb_pyjson.py PATH/TO/test_tb_json

Feeds the C tool random doubles (every exponent range, integers, powers of
two and their neighbours, where shortest round-trip printing is hardest) and
random hparams dicts (unicode keys and strings, control characters, ints,
floats, bools), and compares each answer with repr(), json.dumps(sort_keys,
compact) and hashlib.sha256 computed here by Python itself.
"""
import hashlib
import json
import random
import struct
import subprocess
import sys


def bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def doubles(rng, n):
    out = [0.0, -0.0, 1.0, 0.1, 1e16, 1e-5, 1e-4, 9.999999999999999e15, 1e15,
           123456789012345680.0, 2.0 ** -1074, 2.0 ** 1023, 1e300, float("inf"),
           float("-inf"), float("nan")]
    for e in range(-1074, 1024, 7):
        p = 2.0 ** e
        out += [p, struct.unpack("<d", struct.pack("<Q", bits(p) - 1))[0] if p > 0 else p,
                struct.unpack("<d", struct.pack("<Q", bits(p) + 1))[0]]
    for _ in range(n):
        kind = rng.random()
        if kind < 0.4:
            out.append(struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0])
        elif kind < 0.7:
            out.append(rng.uniform(-1, 1) * 10.0 ** rng.randint(-30, 30))
        elif kind < 0.85:
            out.append(float(rng.randint(-10 ** 17, 10 ** 17)))
        else:
            out.append(round(rng.uniform(0, 1000), rng.randint(0, 8)))
    return out


def rand_str(rng):
    pool = ["a", "Z", "_", "-", " ", "\"", "\\", "/", "\n", "\t", "\x01", "\x7f", "é", "€",
            "中", "😀", "\u2028", "0"]
    return "".join(rng.choice(pool) for _ in range(rng.randint(0, 12)))


def main():
    tool = sys.argv[1]
    rng = random.Random(20240601)
    failures = 0

    vals = doubles(rng, 20000)
    inp = "".join("%016x\n" % bits(v) for v in vals)
    got = subprocess.run([tool, "--repr"], input=inp.encode(), capture_output=True,
                         check=True).stdout.decode().splitlines()
    assert len(got) == len(vals), (len(got), len(vals))
    for v, g in zip(vals, got):
        want = json.dumps(v)
        if g != want:
            failures += 1
            if failures < 10:
                print("repr mismatch for %r: C %s, Python %s" % (v, g, want))
    print("float repr: %d values compared" % len(vals))

    dicts, lines = [], []
    for _ in range(2000):
        d = {}
        for _ in range(rng.randint(0, 9)):
            key = rand_str(rng) or "k"
            kind = rng.choice("sifb")
            if kind == "s":
                d[key] = rand_str(rng)
            elif kind == "i":
                d[key] = rng.randint(-2 ** 62, 2 ** 62)
            elif kind == "f":
                d[key] = rng.choice(vals[:5000])
            else:
                d[key] = rng.random() < 0.5
        toks = []
        for k, v in d.items():
            kh = k.encode().hex()
            if isinstance(v, bool):
                toks.append("%s:b:%d" % (kh, v))
            elif isinstance(v, int):
                toks.append("%s:i:%d" % (kh, v))
            elif isinstance(v, float):
                toks.append("%s:f:%016x" % (kh, bits(v)))
            else:
                toks.append("%s:s:%s" % (kh, v.encode().hex()))
        dicts.append(d)
        lines.append(" ".join(toks) + "\n")
    got = subprocess.run([tool, "--json"], input="".join(lines).encode(), capture_output=True,
                         check=True).stdout.decode().split("\n")[:-1]
    assert len(got) == len(dicts), (len(got), len(dicts))
    for d, g in zip(dicts, got):
        text = json.dumps(d, sort_keys=True, separators=(",", ":"))
        want = text + "\t" + hashlib.sha256(text.encode("utf-8")).hexdigest()
        if g != want:
            failures += 1
            if failures < 10:
                print("json mismatch:\n  C      %s\n  Python %s" % (g, want))
    print("hparams json + group name: %d dicts compared" % len(dicts))
    print("test_tb_pyjson: %d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
