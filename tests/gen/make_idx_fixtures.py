#!/usr/bin/python3
"""Write the tiny IDX data set in tests/fixtures/idx/tiny/ (run by hand).

64 training and 32 test images of 28x28, each a filled rectangle whose place
and size follow from the image's index, so a test can recompute every pixel
(tests/unit/test_idx.c has the same formula) and a model has something to
learn.  Two of the four files are gzipped and two are plain, so one load
exercises both readers.  gzip output is made reproducible (mtime 0, no name).

Usage: /usr/bin/python3 tests/gen/make_idx_fixtures.py   (from the source root)
"""
import gzip
import os
import struct

N_TRAIN, N_TEST, SIDE = 64, 32, 28
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "idx", "tiny")


def pixel(i, r, c):
    """Image i (train 0..63, then test 64..95): 255 inside its rectangle."""
    x0, y0 = (i * 7) % 14 + 2, (i * 11) % 14 + 2
    w, h = 6 + (i * 3) % 8, 6 + (i * 5) % 8
    return 255 if (y0 <= r < y0 + h and x0 <= c < x0 + w) else 0


def images(first, n):
    head = struct.pack(">IIII", 0x803, n, SIDE, SIDE)
    body = bytes(pixel(first + k, r, c) for k in range(n) for r in range(SIDE) for c in range(SIDE))
    return head + body


def labels(first, n):
    return struct.pack(">II", 0x801, n) + bytes((first + k) % 10 for k in range(n))


def write(name, data, gz):
    path = os.path.join(OUT, name + (".gz" if gz else ""))
    if gz:
        with open(path, "wb") as f:
            f.write(gzip.compress(data, compresslevel=9, mtime=0))
    else:
        with open(path, "wb") as f:
            f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        os.remove(os.path.join(OUT, name))
    write("train-images-idx3-ubyte", images(0, N_TRAIN), gz=False)
    write("train-labels-idx1-ubyte", labels(0, N_TRAIN), gz=True)
    write("t10k-images-idx3-ubyte", images(N_TRAIN, N_TEST), gz=True)
    write("t10k-labels-idx1-ubyte", labels(N_TRAIN, N_TEST), gz=False)


if __name__ == "__main__":
    main()
