#!/usr/bin/python3
"""Write PyTorch reference values for the core engine's tests.

Run by hand with Debian's python3 (which has torch and numpy):

    /usr/bin/python3 tests/gen/torch_fixtures.py tests/fixtures/torch

Each output file is a list of named float32 tensors (format below), in
Keras' layouts: images and feature maps NHWC, dense kernels (in, out),
conv kernels (3, 3, in, out).  PyTorch computes in its own layouts (NCHW,
OIHW); the conversion is done here, so the C tests compare like with like.

File format (little-endian):
    b"AETF", u32 count, then per tensor:
    u32 name_len, name bytes, u32 ndim, u32 dims[ndim], f32 data[prod(dims)]

Files:
    layers.aetf   forward and backward of dense, conv (same, valid), relu +
                  max pool 2x2 same (7x7 -> 4x4), upsample 2x, sigmoid +
                  Keras BCE (with clipped elements), L1 activity
    adam.aetf     three Keras-form Adam steps on given w, g
    train_dense.aetf  a tiny `simple` autoencoder (encoding_dim 4) trained
                  5 full-batch steps from given weights: loss per step,
                  final weights
    train_conv.aetf   the seed's conv autoencoder, 3 full-batch steps
"""
import struct
import sys

import numpy as np
import torch

torch.set_num_threads(1)
torch.manual_seed(0)
RNG = np.random.default_rng(20240601)
EPS = np.float32(1e-7)


def write(path, tensors):
    with open(path, "wb") as f:
        f.write(b"AETF")
        f.write(struct.pack("<I", len(tensors)))
        for name, arr in tensors:
            a = np.ascontiguousarray(np.asarray(arr, dtype=np.float32))
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)))
            f.write(nb)
            f.write(struct.pack("<I", a.ndim))
            for d in a.shape:
                f.write(struct.pack("<I", d))
            f.write(a.astype("<f4").tobytes())


def t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float32), requires_grad=grad)


def uniform(shape, scale=1.0):
    return (RNG.uniform(-1, 1, size=shape) * scale).astype(np.float32)


def keras_bce(p, y):
    pc = torch.clamp(p, EPS.item(), 1 - EPS.item())
    return -(y * torch.log(pc) + (1 - y) * torch.log(1 - pc))


def conv_nhwc(x, w, b, pad):
    """x NHWC, w (3,3,in,out) -> NHWC."""
    y = torch.nn.functional.conv2d(x.permute(0, 3, 1, 2), w.permute(3, 2, 0, 1), b, padding=pad)
    return y.permute(0, 2, 3, 1)


def pool_nhwc(x):
    y = torch.nn.functional.max_pool2d(x.permute(0, 3, 1, 2), 2, 2, ceil_mode=True)
    return y.permute(0, 2, 3, 1)


def up_nhwc(x):
    y = torch.nn.functional.interpolate(x.permute(0, 3, 1, 2), scale_factor=2, mode="nearest")
    return y.permute(0, 2, 3, 1)


def layers(out):
    ts = []
    # dense
    x, w, b, r = uniform((6, 10)), uniform((10, 5), 0.5), uniform((5,), 0.5), uniform((6, 5))
    X, W, B = t(x, True), t(w, True), t(b, True)
    y = X @ W + B
    (y * t(r)).sum().backward()
    ts += [("dense.x", x), ("dense.w", w), ("dense.b", b), ("dense.r", r), ("dense.y", y.detach()),
           ("dense.dx", X.grad), ("dense.dw", W.grad), ("dense.db", B.grad)]
    # conv, same and valid, at the model's channel counts
    for name, (n, h, ci, co, pad) in {"conv_same": (3, 7, 8, 16, 1), "conv_valid": (3, 8, 8, 16, 0),
                                      "conv_in1": (2, 6, 1, 16, 1), "conv_out1": (2, 6, 16, 1, 1)}.items():
        x, w, b = uniform((n, h, h, ci)), uniform((3, 3, ci, co), 0.5), uniform((co,), 0.5)
        X, W, B = t(x, True), t(w, True), t(b, True)
        y = conv_nhwc(X, W, B, pad)
        r = uniform(tuple(y.shape))
        (y * t(r)).sum().backward()
        ts += [(name + ".x", x), (name + ".w", w), (name + ".b", b), (name + ".r", r),
               (name + ".y", y.detach()), (name + ".dx", X.grad), (name + ".dw", W.grad),
               (name + ".db", B.grad)]
    # relu + max pool 7x7 -> 4x4 (the relu precedes every pool in the models)
    x = uniform((3, 7, 7, 4))
    X = t(x, True)
    y = pool_nhwc(torch.relu(X))
    r = uniform(tuple(y.shape))
    (y * t(r)).sum().backward()
    ts += [("pool.x", x), ("pool.r", r), ("pool.y", y.detach()), ("pool.dx", X.grad)]
    # upsample
    x = uniform((2, 4, 4, 8))
    X = t(x, True)
    y = up_nhwc(X)
    r = uniform(tuple(y.shape))
    (y * t(r)).sum().backward()
    ts += [("up.x", x), ("up.r", r), ("up.y", y.detach()), ("up.dx", X.grad)]
    # sigmoid + BCE, mean over everything, with clipped logits
    z = uniform((4, 784), 8.0)
    z[0, :5] = [20, -20, 16.5, -16.5, 30]
    ybytes = RNG.integers(0, 256, size=(4, 784)).astype(np.float32)
    yv = ybytes / np.float32(255.0)
    Z = t(z, True)
    loss = keras_bce(torch.sigmoid(Z), t(yv)).mean()
    loss.backward()
    ts += [("bce.z", z), ("bce.y", yv), ("bce.loss", [loss.item()]), ("bce.dz", Z.grad)]
    # L1 activity on a relu code: l1 * sum|code|
    c = np.maximum(uniform((5, 8)), 0)
    C = t(c, True)
    l1 = 0.01
    reg = l1 * C.abs().sum()
    reg.backward()
    ts += [("l1.code", c), ("l1.loss", [reg.item()]), ("l1.dcode", C.grad)]
    write(out + "/layers.aetf", ts)


def adam_keras(w, g, m, v, step, lr=0.001, b1=0.9, b2=0.999, eps=1e-7):
    """Keras 2's Adam: beta_1, beta_2 are float32 variables, so 1 - beta
    is computed in float32 (1 - 0.999f = 0.00099998713...)."""
    f32 = lambda a: torch.tensor(a, dtype=torch.float32)
    b1, b2, one = f32(b1), f32(b2), f32(1.0)
    lr_t = f32(lr * np.sqrt(1.0 - 0.999 ** step) / (1.0 - 0.9 ** step))
    m = b1 * m + (one - b1) * g
    v = b2 * v + (one - b2) * (g * g)
    w = w - lr_t * m / (torch.sqrt(v) + f32(eps))
    return w, m, v


def adam(out):
    w0, g = uniform((37,)), uniform((3, 37), 0.1)
    w, m, v = t(w0), torch.zeros(37), torch.zeros(37)
    ts = [("adam.w0", w0), ("adam.g", g)]
    with torch.no_grad():
        for s in range(3):
            w, m, v = adam_keras(w, t(g[s]), m, v, s + 1)
            ts += [("adam.w%d" % (s + 1), w), ("adam.m%d" % (s + 1), m), ("adam.v%d" % (s + 1), v)]
    write(out + "/adam.aetf", ts)


def images(n):
    """Blobby synthetic digits as uint8, shaped (n, 784)."""
    yy, xx = np.mgrid[0:28, 0:28]
    imgs = np.zeros((n, 784), dtype=np.uint8)
    for i in range(n):
        cx, cy, rad = RNG.uniform(8, 20), RNG.uniform(8, 20), RNG.uniform(3, 7)
        d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
        img = np.clip(255 * (1.2 - d / rad), 0, 255) + RNG.integers(0, 20, size=(28, 28))
        imgs[i] = np.clip(img, 0, 255).astype(np.uint8).reshape(-1)
    return imgs


def glorot(shape, fan_in, fan_out):
    lim = np.sqrt(6.0 / (fan_in + fan_out))
    return RNG.uniform(-lim, lim, size=shape).astype(np.float32)


def train(out, name, params, forward, n_steps, imgs):
    x = t(imgs.astype(np.float32) / np.float32(255.0))
    ps = [t(p, True) for p in params]
    ms = [torch.zeros_like(p) for p in ps]
    vs = [torch.zeros_like(p) for p in ps]
    ts = [("images", imgs.astype(np.float32))] + [("p%d" % i, p) for i, p in enumerate(params)]
    losses = []
    for s in range(n_steps):
        loss = keras_bce(forward(x, ps), x).mean()
        losses.append(loss.item())
        for p in ps:
            p.grad = None
        loss.backward()
        if s == 0:
            ts += [("grad%d" % i, p.grad) for i, p in enumerate(ps)]
        with torch.no_grad():
            for i, p in enumerate(ps):
                w, ms[i], vs[i] = adam_keras(p.detach(), p.grad, ms[i], vs[i], s + 1)
                p.copy_(w)
    with torch.no_grad():
        final_loss = keras_bce(forward(x, ps), x).mean().item()
    ts += [("losses", losses), ("final_loss", [final_loss])]
    ts += [("final%d" % i, p.detach()) for i, p in enumerate(ps)]
    write(out + "/" + name, ts)


def train_dense(out):
    enc = 4
    params = [glorot((784, enc), 784, enc), np.zeros(enc, np.float32),
              glorot((enc, 784), enc, 784), np.zeros(784, np.float32)]

    def forward(x, p):
        h = torch.relu(x @ p[0] + p[1])
        return torch.sigmoid(h @ p[2] + p[3])

    train(out, "train_dense.aetf", params, forward, 5, images(8))


def train_conv(out):
    shapes = [(1, 16, 1), (16, 8, 1), (8, 8, 1), (8, 8, 1), (8, 8, 1), (8, 16, 0), (16, 1, 1)]
    params = []
    for ci, co, _ in shapes:
        params += [glorot((3, 3, ci, co), 9 * ci, 9 * co), np.zeros(co, np.float32)]

    def forward(x, p):
        h = x.reshape(-1, 28, 28, 1)

        def conv(h, i, act):
            return act(conv_nhwc(h, p[2 * i], p[2 * i + 1], shapes[i][2]))

        h = pool_nhwc(conv(h, 0, torch.relu))
        h = pool_nhwc(conv(h, 1, torch.relu))
        h = pool_nhwc(conv(h, 2, torch.relu))
        h = up_nhwc(conv(h, 3, torch.relu))
        h = up_nhwc(conv(h, 4, torch.relu))
        h = up_nhwc(conv(h, 5, torch.relu))
        return conv(h, 6, torch.sigmoid).reshape(-1, 784)

    train(out, "train_conv.aetf", params, forward, 3, images(16))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/torch"
    layers(out)
    adam(out)
    train_dense(out)
    train_conv(out)
    print("torch", torch.__version__, "wrote fixtures to", out)


if __name__ == "__main__":
    main()
