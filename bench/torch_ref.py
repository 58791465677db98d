#!/usr/bin/python3
"""torch_ref.py - the PyTorch reference for aelab's six autoencoders.

What it owns: the seed tutorial's models (simple, sparse, deep, conv,
denoise) and the variational autoencoder it announces (vae) written in PyTorch with the maths aelab implements (Keras'
Glorot-uniform init and zero biases, Keras-form Adam, BCE on probabilities
clipped to [1e-7, 1-1e-7], the sparse model's L1 activity penalty summed over
the batch, 'same' max pooling 7x7 -> 4x4), a training loop that prints the
same JSON lines as `aelab train --json`, and a self-test (--self-test).

What it does not do: compare anything.  bench/train_speed.py and
bench/train_quality.py run it next to aelab and do the comparing.

Key decision: PyTorch is run at its best on this machine, not with Debian's
default set-up.  Before torch is imported the script re-executes itself with
LD_LIBRARY_PATH pointing at OpenBLAS's OpenMP build (so that is the
libblas.so.3 torch loads), ATEN_CPU_CAPABILITY=avx512 and OMP_NUM_THREADS=T
(--stock skips the first two).  The first JSON line says what was loaded.

Run with Debian's python (/usr/bin/python3), which has python3-torch 1.13.
"""

import argparse
import copy
import gzip
import json
import math
import os
import resource
import signal
import struct
import sys
import time

import numpy as np

OPENBLAS_OPENMP_DIR = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
FASHION_DIR = "/usr/share/datasets/fashion-mnist"
REEXEC_MARK = "AE_TORCH_REF_REEXEC"

MODELS = ("simple", "sparse", "deep", "conv", "denoise", "vae")
SEED_BATCH = {"simple": 256, "sparse": 256, "deep": 256, "conv": 128, "denoise": 128, "vae": 100}
PARAMS = {"simple": 50992, "sparse": 50992, "deep": 222384, "conv": 4385, "denoise": 4385,
          "vae": 404244}
CONV_IMPLS = ("mkldnn", "channels_last", "thnn")

BCE_EPS = 1e-7


def source_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_mnist_dir():
    return os.path.normpath(os.path.join(source_root(), "data", "mnist"))


# --------------------------------------------------------------------------
# Environment: must be settled before `import torch`
# --------------------------------------------------------------------------

def ensure_env(threads, stock, omp_wait="default"):
    """Re-execute this script once with the environment PyTorch needs to be
    at its best.  The dynamic loader and libgomp read these variables at
    start-up, so setting them after import would be too late."""
    want = {}
    if omp_wait != "default" and os.environ.get("OMP_WAIT_POLICY", "").lower() != omp_wait:
        want["OMP_WAIT_POLICY"] = omp_wait.upper()
    if not stock:
        lib_path = os.environ.get("LD_LIBRARY_PATH", "")
        if os.path.isdir(OPENBLAS_OPENMP_DIR) and OPENBLAS_OPENMP_DIR not in lib_path.split(":"):
            want["LD_LIBRARY_PATH"] = OPENBLAS_OPENMP_DIR + (":" + lib_path if lib_path else "")
        if os.environ.get("ATEN_CPU_CAPABILITY") != "avx512":
            want["ATEN_CPU_CAPABILITY"] = "avx512"
    if os.environ.get("OMP_NUM_THREADS") != str(threads):
        want["OMP_NUM_THREADS"] = str(threads)
    if not want or os.environ.get(REEXEC_MARK):
        return
    env = dict(os.environ)
    env.update(want)
    env[REEXEC_MARK] = "1"
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def import_torch():
    try:
        import torch  # noqa: F401
    except ImportError as e:
        sys.exit("torch_ref.py: cannot import torch (%s); run it with /usr/bin/python3 "
                 "(Debian's python3-torch)" % e)
    return torch


def loaded_blas():
    """Shared libraries with 'blas' in their name mapped into this process."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and "blas" in os.path.basename(parts[5]).lower():
                    libs.add(os.path.realpath(parts[5]))
    except OSError:
        pass
    return sorted(libs)


def torch_config(torch, threads, conv_impl, adam):
    cap = "unknown"
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage" in line:
            cap = line.split(":", 1)[1].strip()
    return {
        "torch": torch.__version__,
        "blas_loaded": loaded_blas(),
        "cpu_capability": cap,
        "ATEN_CPU_CAPABILITY": os.environ.get("ATEN_CPU_CAPABILITY", ""),
        "LD_LIBRARY_PATH": os.environ.get("LD_LIBRARY_PATH", ""),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", ""),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", ""),
        "torch_threads": torch.get_num_threads(),
        "mkldnn_enabled": bool(torch.backends.mkldnn.enabled),
        "conv_impl": conv_impl,
        "adam": adam,
    }


# --------------------------------------------------------------------------
# Data: the four IDX files, read with gzip + numpy
# --------------------------------------------------------------------------

def read_idx(path):
    """Return a uint8 numpy array with the IDX file's shape.  Accepts the
    plain file or path + '.gz'."""
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path = path + ".gz"
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4:
        raise ValueError("%s: too short for an IDX header" % path)
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08 or ndim not in (1, 3):
        raise ValueError("%s: not a ubyte IDX file with 1 or 3 dimensions" % path)
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    off = 4 + 4 * ndim
    n = int(np.prod(dims))
    if len(raw) - off != n:
        raise ValueError("%s: payload is %d bytes, header says %d" % (path, len(raw) - off, n))
    return np.frombuffer(raw, dtype=np.uint8, offset=off).reshape(dims)


def load_dataset(data_dir):
    """(train_images, train_labels, test_images, test_labels) as uint8 arrays."""
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    arrs = [read_idx(os.path.join(data_dir, n)) for n in names]
    for imgs, labels in ((arrs[0], arrs[1]), (arrs[2], arrs[3])):
        if imgs.shape[1:] != (28, 28) or imgs.shape[0] != labels.shape[0]:
            raise ValueError("%s: images %s and labels %s do not match" %
                             (data_dir, imgs.shape, labels.shape))
    return arrs


def dataset_bytes(arrs):
    return int(sum(a.nbytes for a in arrs))


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------

def build_model(torch, name, encoding_dim=32, latent_dim=2):
    nn = torch.nn
    F = torch.nn.functional

    class Dense(nn.Module):
        """784 -> hidden... -> 784: relu inside, sigmoid at the end.  forward
        returns (logits, code): the sigmoid is applied by the loss (see
        bce_logits) or by probs(); code is the narrowest layer."""

        def __init__(self, widths, code_index):
            super().__init__()
            self.layers = nn.ModuleList(
                nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
            self.code_index = code_index

        def forward(self, x):
            code = None
            for i, layer in enumerate(self.layers):
                x = layer(x)
                if i + 1 < len(self.layers):
                    x = torch.relu(x)
                if i == self.code_index:
                    code = x
            return x, code

    class Conv(nn.Module):
        """The seed's section 2.4 stack, NCHW.  MaxPooling2D(padding='same')
        on 7x7 gives 4x4 with the padding at the bottom/right; ceil_mode=True
        gives exactly that (the last window hangs off the edge and only
        covers real pixels, as -inf padding would)."""

        def __init__(self):
            super().__init__()
            self.e1 = nn.Conv2d(1, 16, 3, padding=1)
            self.e2 = nn.Conv2d(16, 8, 3, padding=1)
            self.e3 = nn.Conv2d(8, 8, 3, padding=1)
            self.d1 = nn.Conv2d(8, 8, 3, padding=1)
            self.d2 = nn.Conv2d(8, 8, 3, padding=1)
            self.d3 = nn.Conv2d(8, 16, 3, padding=0)   # Keras padding='valid'
            self.d4 = nn.Conv2d(16, 1, 3, padding=1)
            self.trace = None
            self.channels_last = False

        def _t(self, x):
            if self.trace is not None:
                self.trace.append(tuple(x.shape[1:]))
            return x

        def forward(self, x):
            x = x.view(-1, 1, 28, 28)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            pool = lambda t: F.max_pool2d(t, 2, 2, ceil_mode=True)  # noqa: E731
            up = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")  # noqa: E731
            x = self._t(torch.relu(self.e1(x)))
            x = self._t(pool(x))
            x = self._t(torch.relu(self.e2(x)))
            x = self._t(pool(x))
            x = self._t(torch.relu(self.e3(x)))
            code = self._t(pool(x))
            x = self._t(torch.relu(self.d1(code)))
            x = self._t(up(x))
            x = self._t(torch.relu(self.d2(x)))
            x = self._t(up(x))
            x = self._t(torch.relu(self.d3(x)))
            x = self._t(up(x))
            x = self._t(self.d4(x))
            return x.reshape(-1, 784), code

    class Vae(nn.Module):
        """The variational autoencoder of aelab's issue 6: Dense 784->256
        relu, two Dense heads (mean, log-variance) of latent_dim, then
        Dense latent->256 relu -> 784 (logits; the sigmoid is in the loss).
        Sampling z = mean + exp(logvar/2)*eps happens in Job.batch_loss,
        which owns the eps generator."""

        def __init__(self, latent_dim):
            super().__init__()
            self.enc = nn.Linear(784, 256)
            self.mean = nn.Linear(256, latent_dim)
            self.logvar = nn.Linear(256, latent_dim)
            self.dec = nn.Linear(latent_dim, 256)
            self.out = nn.Linear(256, 784)

        def encode(self, x):
            h = torch.relu(self.enc(x))
            return self.mean(h), self.logvar(h)

        def decode(self, z):
            return self.out(torch.relu(self.dec(z)))

        def forward(self, x):
            """Logits from the means (no sampling) and the code (the means)."""
            mean, _ = self.encode(x)
            return self.decode(mean), mean

    if name in ("simple", "sparse"):
        m = Dense([784, encoding_dim, 784], 0)
    elif name == "vae":
        m = Vae(latent_dim)
    elif name == "deep":
        m = Dense([784, 128, 64, 32, 64, 128, 784], 2)
    elif name in ("conv", "denoise"):
        m = Conv()
    else:
        raise ValueError("unknown model %r" % name)
    # Keras' defaults: Glorot-uniform kernels, zero biases.  torch computes
    # the fans of a conv weight (out, in, kh, kw) as in*kh*kw and out*kh*kw,
    # the same as Keras does for (kh, kw, in, out).
    for mod in m.modules():
        if isinstance(mod, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(mod.weight)
            nn.init.zeros_(mod.bias)
    return m


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# --------------------------------------------------------------------------
# Loss and optimiser
# --------------------------------------------------------------------------

# sigmoid is monotonic, so clipping p = sigmoid(z) to [lo, hi] is clipping z
# to [logit(lo), logit(hi)], with the same zero gradient outside.  The bounds
# are the float32 values Keras clips to (1 - 1e-7 rounds to 1 - 2^-23 + ...).
_P_LO = float(np.float32(BCE_EPS))
_P_HI = float(np.float32(1.0) - np.float32(BCE_EPS))
LOGIT_LO = math.log(_P_LO / (1.0 - _P_LO))
LOGIT_HI = math.log(_P_HI / (1.0 - _P_HI))


def bce_probs(torch, p, target):
    """Keras' binary_crossentropy on probabilities, written out: clip p to
    [1e-7, 1-1e-7] (float32), then the mean over pixels and batch of
    -(y log p + (1-y) log(1-p)).  The clip's gradient is zero outside the
    range.  Used as the definition the fast form is checked against."""
    p = torch.clamp(p, _P_LO, _P_HI)
    return -(target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean()


def bce_logits(torch, z, target):
    """The same loss from the logits z: clamp z, then torch's fused
    binary_cross_entropy_with_logits.  In torch 1.13 this is about 4x faster
    than sigmoid + clamp + binary_cross_entropy (whose CPU kernels are not
    vectorised), so it is what the speed comparison uses: PyTorch at its
    best, computing the same function."""
    z = torch.clamp(z, LOGIT_LO, LOGIT_HI)
    return torch.nn.functional.binary_cross_entropy_with_logits(z, target)


def make_keras_adam(torch):
    class KerasAdam(torch.optim.Optimizer):
        """Adam as Keras writes it: lr_t = lr*sqrt(1-b2^t)/(1-b1^t),
        w -= lr_t * m / (sqrt(v) + eps).  torch.optim.Adam puts eps inside
        the bias correction instead, w -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t)
        + eps), i.e. it uses eps*sqrt(1-b2^t) where Keras uses eps: the same
        update once sqrt(v) >> eps, different in the first steps and for
        parameters with tiny gradients."""

        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-7):
            super().__init__(params, dict(lr=lr, betas=betas, eps=eps))
            self.t = 0

        @torch.no_grad()
        def step(self):
            self.t += 1
            for g in self.param_groups:
                b1, b2 = g["betas"]
                ps = [p for p in g["params"] if p.grad is not None]
                if not ps:
                    continue
                grads = [p.grad for p in ps]
                for p in ps:
                    if not self.state[p]:
                        self.state[p]["m"] = torch.zeros_like(p)
                        self.state[p]["v"] = torch.zeros_like(p)
                ms = [self.state[p]["m"] for p in ps]
                vs = [self.state[p]["v"] for p in ps]
                lr_t = g["lr"] * math.sqrt(1.0 - b2 ** self.t) / (1.0 - b1 ** self.t)
                torch._foreach_mul_(ms, b1)
                torch._foreach_add_(ms, grads, alpha=1.0 - b1)
                torch._foreach_mul_(vs, b2)
                torch._foreach_addcmul_(vs, grads, grads, value=1.0 - b2)
                denom = torch._foreach_sqrt(vs)
                torch._foreach_add_(denom, g["eps"])
                torch._foreach_addcdiv_(ps, ms, denom, value=-lr_t)

    return KerasAdam


def make_optimizer(torch, params, adam, lr=1e-3):
    if adam == "keras":
        return make_keras_adam(torch)(params, lr=lr, betas=(0.9, 0.999), eps=1e-7)
    return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-7, foreach=True)


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------

class Job:
    """One training run: model, optimiser, tensors and RNG."""

    def __init__(self, torch, args, arrs):
        self.torch = torch
        self.name = args.model
        self.bs = args.batch_size or SEED_BATCH[args.model]
        self.l1 = args.l1 if args.model == "sparse" else 0.0
        torch.manual_seed(args.seed)
        self.model = build_model(torch, args.model, args.encoding_dim, args.latent_dim)
        if args.model in ("conv", "denoise") and args.conv_impl == "channels_last":
            self.model = self.model.to(memory_format=torch.channels_last)
            self.model.channels_last = True
        self.adam, self.lr = args.adam, args.learning_rate
        self.opt = make_optimizer(torch, self.model.parameters(), self.adam, self.lr)
        self.gen = torch.Generator().manual_seed(args.seed)
        self.eps_gen = torch.Generator().manual_seed(args.seed + 2)
        self.parts = None

        tr, te = arrs[0], arrs[2]
        if args.train_size:
            tr = tr[:args.train_size]
        if args.test_size:
            te = te[:args.test_size]
        # Scaled once, as the seed does (x.astype('float32') / 255): the
        # per-batch work is then only a gather, which is PyTorch's best case.
        self.x_train = torch.from_numpy(tr.reshape(len(tr), 784).astype(np.float32) / 255.0)
        self.x_test = torch.from_numpy(te.reshape(len(te), 784).astype(np.float32) / 255.0)
        self.in_train, self.in_test = self.x_train, self.x_test
        if args.model == "denoise":
            # Noise drawn once per image (the seed's x_train_noise), so every
            # epoch sees the same noisy inputs.
            ng = torch.Generator().manual_seed(args.seed + 1)
            self.in_train = torch.clamp(self.x_train + args.noise_factor * torch.randn(
                self.x_train.shape, generator=ng), 0.0, 1.0)
            self.in_test = torch.clamp(self.x_test + args.noise_factor * torch.randn(
                self.x_test.shape, generator=ng), 0.0, 1.0)

    def batch_loss(self, xb, yb):
        if self.name == "vae":
            return self.vae_loss(xb, yb)
        logits, code = self.model(xb)
        loss = bce_logits(self.torch, logits, yb)
        if self.l1:
            loss = loss + self.l1 * code.abs().sum()
        return loss

    def vae_loss(self, xb, yb):
        """Per image 784*BCE(x, x_hat) + KL(N(mean, exp(logvar)) || N(0, I)),
        averaged over the batch, with z = mean + exp(logvar/2)*eps and a
        fresh eps for every image of every pass (training and validation),
        as the Keras VAE example's sampling layer does.  The two parts of the
        last call are kept in self.parts (per-image means, as floats)."""
        torch = self.torch
        mean, logvar = self.model.encode(xb)
        eps = torch.randn(mean.shape, generator=self.eps_gen)
        z = mean + torch.exp(0.5 * logvar) * eps
        rec = 784.0 * bce_logits(torch, self.model.decode(z), yb)
        kl = (-0.5 * (1.0 + logvar - mean * mean - torch.exp(logvar)).sum(dim=1)).mean()
        self.parts = (rec.detach(), kl.detach())
        return rec + kl

    def warm_up(self, n_batches):
        """A few steps on throw-away copies, so that lazy initialisation,
        oneDNN primitive creation and thread start-up are not timed.  The
        real model, optimiser and RNG are untouched."""
        if n_batches <= 0:
            return
        torch = self.torch
        saved = (self.model, self.opt)
        self.model = copy.deepcopy(saved[0])
        self.opt = make_optimizer(torch, self.model.parameters(), self.adam, self.lr)
        for i in range(n_batches):
            s = (i * self.bs) % max(1, len(self.in_train) - self.bs)
            self.train_step(self.in_train[s:s + self.bs], self.x_train[s:s + self.bs])
        with torch.no_grad():
            self.batch_loss(self.in_test[:self.bs], self.x_test[:self.bs])
        self.model, self.opt = saved

    def train_step(self, xb, yb):
        loss = self.batch_loss(xb, yb)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return loss.detach()

    def train_epoch(self):
        torch = self.torch
        n = len(self.in_train)
        perm = torch.randperm(n, generator=self.gen)
        total = torch.zeros((), dtype=torch.float64)
        same = self.in_train is self.x_train
        for s in range(0, n, self.bs):
            idx = perm[s:s + self.bs]
            xb = self.in_train.index_select(0, idx)
            yb = xb if same else self.x_train.index_select(0, idx)
            total += self.train_step(xb, yb).double() * len(idx)
        return float(total) / n

    def validate(self):
        """Keras' validation_data: batches of batch_size, the mean weighted
        by batch size."""
        torch = self.torch
        n = len(self.in_test)
        total = torch.zeros((), dtype=torch.float64)
        rec = torch.zeros((), dtype=torch.float64)
        kl = torch.zeros((), dtype=torch.float64)
        with torch.no_grad():
            for s in range(0, n, self.bs):
                xb = self.in_test[s:s + self.bs]
                total += self.batch_loss(xb, self.x_test[s:s + self.bs]).double() * len(xb)
                if self.parts is not None:
                    rec += self.parts[0].double() * len(xb)
                    kl += self.parts[1].double() * len(xb)
        self.val_parts = (float(rec) / n, float(kl) / n)
        return float(total) / n


def emit(obj, as_json):
    if as_json:
        print(json.dumps(obj), flush=True)
    elif "epoch" in obj:
        print("Epoch %d/%d - %.2fs - loss: %.4f - val_loss: %.4f (val %.2fs)" % (
            obj["epoch"], obj["epochs"], obj["train_seconds"], obj["loss"],
            obj["val_loss"], obj["val_seconds"]), flush=True)
    else:
        print(json.dumps(obj, indent=1), flush=True)


def train(args):
    torch = import_torch()
    torch.set_num_threads(args.threads)
    if args.conv_impl == "thnn":
        torch.backends.mkldnn.enabled = False
    emit({"config": torch_config(torch, args.threads, args.conv_impl, args.adam)}, args.json)
    arrs = load_dataset(args.data_dir)
    job = Job(torch, args, arrs)
    job.warm_up(args.warmup_batches)
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        loss = job.train_epoch()
        t1 = time.perf_counter()
        val_loss = job.validate()
        t2 = time.perf_counter()
        if not (math.isfinite(loss) and math.isfinite(val_loss)):
            print("torch_ref.py: loss is not finite at epoch %d" % epoch, file=sys.stderr)
            return 1
        rec = {"epoch": epoch, "epochs": args.epochs, "loss": loss, "val_loss": val_loss,
               "train_seconds": t1 - t0, "val_seconds": t2 - t1}
        if args.model == "vae":
            rec["val_reconstruction_loss"], rec["val_kl_loss"] = job.val_parts
        emit(rec, args.json)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    emit({"done": True, "params": n_params(job.model), "peak_rss_bytes": rss,
          "dataset_bytes": dataset_bytes(arrs)}, args.json)
    return 0


# --------------------------------------------------------------------------
# Self-test
# --------------------------------------------------------------------------

def self_test(args):
    torch = import_torch()
    torch.set_num_threads(args.threads)
    F = torch.nn.functional
    failures = []
    n_checks = [0]

    def check(ok, what):
        n_checks[0] += 1
        print("%s  %s" % ("ok  " if ok else "FAIL", what), flush=True)
        if not ok:
            failures.append(what)

    print("config: %s" % json.dumps(torch_config(torch, args.threads, args.conv_impl, args.adam)))

    # Parameter counts (the seed's summaries).
    for name in MODELS:
        torch.manual_seed(0)
        m = build_model(torch, name)
        check(n_params(m) == PARAMS[name], "%s has %d params (seed: %d)" % (
            name, n_params(m), PARAMS[name]))

    # Conv shapes: 28->14->7->4 and 4->8->16->14(valid)->28.
    torch.manual_seed(0)
    conv = build_model(torch, "conv")
    conv.trace = []
    out, code = conv(torch.rand(3, 784))
    want = [(16, 28, 28), (16, 14, 14), (8, 14, 14), (8, 7, 7), (8, 7, 7), (8, 4, 4),
            (8, 4, 4), (8, 8, 8), (8, 8, 8), (8, 16, 16), (16, 14, 14), (16, 28, 28),
            (1, 28, 28)]
    check(conv.trace == want, "conv layer output shapes %s" % conv.trace)
    check(tuple(out.shape) == (3, 784) and tuple(code.shape) == (3, 8, 4, 4),
          "conv output (3, 784) and code (3, 8, 4, 4)")
    for name in ("simple", "deep"):
        m = build_model(torch, name)
        o, c = m(torch.rand(5, 784))
        check(tuple(o.shape) == (5, 784) and tuple(c.shape) == (5, 32),
              "%s output (5, 784) and code (5, 32)" % name)

    # 'same' pooling: ceil_mode equals padding the bottom/right with -inf.
    t = torch.randn(2, 3, 7, 7)
    a = F.max_pool2d(t, 2, 2, ceil_mode=True)
    b = F.max_pool2d(F.pad(t, (0, 1, 0, 1), value=float("-inf")), 2, 2)
    check(a.shape == (2, 3, 4, 4) and torch.equal(a, b),
          "max_pool2d ceil_mode == -inf padding at bottom/right (7x7 -> 4x4)")

    # Glorot-uniform bounds and zero biases.
    lim = math.sqrt(6.0 / (9 * 16 + 9 * 8))
    w = conv.e2.weight
    check(float(w.abs().max()) <= lim and float(w.abs().max()) > 0.8 * lim,
          "conv2 kernel within Glorot limit %.4f (max |w| %.4f)" % (lim, float(w.abs().max())))
    check(all(float(mod.bias.abs().max()) == 0.0 for mod in conv.modules()
              if isinstance(mod, torch.nn.Conv2d)), "conv biases start at zero")

    # BCE clipping: p = 0 with target 1 costs -log(1e-7), not infinity.
    l0 = bce_probs(torch, torch.zeros(1, 784), torch.ones(1, 784))
    check(abs(float(l0) - (-math.log(1e-7))) < 1e-3,
          "BCE clips p to 1e-7: %.4f vs %.4f" % (float(l0), -math.log(1e-7)))
    # The fast logit form equals the probability form, value and gradient,
    # including logits far beyond the clip bounds.
    # (float64: in float32 log(1-p) loses digits as p nears 1, and the logit
    # form is the more accurate of the two.)
    z = torch.cat([torch.randn(4, 784) * 3, torch.linspace(-40, 40, 784).view(1, 784)]).double()
    y = torch.rand(5, 784).double()
    y[4, :392] = 1.0
    y[4, 392:] = 0.0
    za = z.clone().requires_grad_(True)
    zb = z.clone().requires_grad_(True)
    la = bce_probs(torch, torch.sigmoid(za), y)
    lb = bce_logits(torch, zb, y)
    la.backward()
    lb.backward()
    gerr = float((za.grad - zb.grad).abs().max())
    check(abs(float(la) - float(lb)) < 1e-12 and gerr < 1e-12,
          "clamped-logit BCE == clipped-probability BCE (loss %.6f vs %.6f, grad err %.1e)"
          % (float(la), float(lb), gerr))
    check(float(zb.grad[4, 0]) == 0.0 and float(zb.grad[4, -1]) == 0.0 and float(zb.grad[4, 400]) != 0,
          "BCE gradient is zero where p was clipped")

    # Keras-form Adam against the formula, float64, four steps.
    p0 = np.array([0.5, -1.0, 2.0, 0.0])
    grads = [np.array([0.1, -0.2, 1e-6, 3.0]), np.array([0.05, 0.3, -1e-6, 2.0]),
             np.array([-0.4, 0.1, 0.0, 1.0]), np.array([0.2, 0.0, 2e-7, -1.0])]
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-7
    ref = p0.copy()
    ref_t = p0.copy()
    m = np.zeros(4)
    v = np.zeros(4)
    for t, g in enumerate(grads, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        ref = ref - lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
        ref_t = ref_t - lr / (1 - b1 ** t) * m / (np.sqrt(v) / math.sqrt(1 - b2 ** t) + eps)
    for kind, expect in (("keras", ref), ("torch", ref_t)):
        prm = torch.nn.Parameter(torch.tensor(p0, dtype=torch.float64))
        opt = make_optimizer(torch, [prm], kind)
        for g in grads:
            prm.grad = torch.tensor(g, dtype=torch.float64)
            opt.step()
        err = float(np.max(np.abs(prm.detach().numpy() - expect)))
        check(err < 1e-15, "%s-form Adam matches its formula after 4 steps (max err %.2e)"
              % (kind, err))
    check(float(np.max(np.abs(ref - ref_t))) > 1e-6,
          "the two Adam forms differ where |g| ~ eps (max diff %.2e)"
          % float(np.max(np.abs(ref - ref_t))))

    # Sparse penalty: l1 * sum|code| over the batch.
    ns = argparse.Namespace(**vars(args))
    ns.model, ns.l1 = "sparse", 1e-3
    ns.train_size, ns.test_size = 64, 64
    arrs = None
    if os.path.isdir(args.data_dir):
        try:
            arrs = load_dataset(args.data_dir)
        except (OSError, ValueError) as e:
            print("note: %s; using synthetic images" % e)
    if arrs is None:
        rng = np.random.default_rng(0)
        imgs = (rng.random((2048, 28, 28)) ** 3 * 255).astype(np.uint8)
        labels = np.zeros(2048, dtype=np.uint8)
        arrs = [imgs, labels, imgs[:512].copy(), labels[:512].copy()]
    job = Job(torch, ns, arrs)
    xb = job.x_train[:16]
    z, code = job.model(xb)
    expect = float(bce_probs(torch, torch.sigmoid(z), xb)) + 1e-3 * float(code.abs().sum())
    check(abs(float(job.batch_loss(xb, xb)) - expect) < 1e-6,
          "sparse loss = BCE + l1*sum|code| over the batch")

    # Denoise: noise fixed per image, inputs clipped to [0, 1].
    ns.model = "denoise"
    job = Job(torch, ns, arrs)
    job2 = Job(torch, ns, arrs)
    check(torch.equal(job.in_train, job2.in_train) and float(job.in_train.min()) >= 0
          and float(job.in_train.max()) <= 1 and not torch.equal(job.in_train, job.x_train),
          "denoise inputs: fixed noise, clipped to [0, 1], differ from the clean targets")

    # vae: the KL part against its closed form for given heads (weights 0,
    # biases = the chosen mean and log-variance), and the parameter count
    # for another latent_dim.
    ns.model = "vae"
    job = Job(torch, ns, arrs)
    mu, lv = [0.5, -1.25], [-0.5, 0.75]
    with torch.no_grad():
        for head, vals in ((job.model.mean, mu), (job.model.logvar, lv)):
            head.weight.zero_()
            head.bias.copy_(torch.tensor(vals))
        job.batch_loss(job.x_train[:8], job.x_train[:8])
    kl_ref = sum(0.5 * (m * m + math.exp(v) - 1.0 - v) for m, v in zip(mu, lv))
    check(abs(float(job.parts[1]) - kl_ref) < 1e-5,
          "vae KL %.6f == closed form %.6f" % (float(job.parts[1]), kl_ref))
    L = 5
    want = 784 * 256 + 256 + 2 * (256 * L + L) + L * 256 + 256 + 256 * 784 + 784
    check(n_params(build_model(torch, "vae", latent_dim=L)) == want,
          "vae with latent_dim %d has %d params" % (L, want))

    # Every model learns: loss after two short epochs below the first.
    for name in MODELS:
        ns = argparse.Namespace(**vars(args))
        ns.model = name
        ns.train_size, ns.test_size = 2048, 512
        job = Job(torch, ns, arrs)
        v0 = job.validate()
        losses = [job.train_epoch() for _ in range(3)]
        v1 = job.validate()
        check(losses[2] < losses[0] and v1 < v0,
              "%s learns: loss %.4f -> %.4f, val_loss %.4f -> %.4f" % (
                  name, losses[0], losses[2], v0, v1))

    # Same seed, same curve.
    ns = argparse.Namespace(**vars(args))
    ns.model, ns.train_size, ns.test_size = "simple", 1024, 256
    a = Job(torch, ns, arrs)
    b = Job(torch, ns, arrs)
    la, lb = a.train_epoch(), b.train_epoch()
    check(la == lb, "same seed gives the same loss (%.6f, %.6f)" % (la, lb))

    print("torch_ref self-test: %d passed, %d failed" % (n_checks[0] - len(failures), len(failures)))
    return 1 if failures else 0


# --------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="PyTorch reference for aelab's autoencoders (prints aelab's --json lines).")
    ap.add_argument("--model", choices=MODELS, default="simple")
    ap.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default="mnist")
    ap.add_argument("--data-dir", help="directory with the four IDX files (default: "
                    "data/mnist in the source root for mnist, %s for fashion-mnist)"
                    % FASHION_DIR)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--batch-size", type=int, default=0,
                    help="0 = the default (the seed's 256 dense, 128 conv; 100 vae)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--encoding-dim", type=int, default=32)
    ap.add_argument("--latent-dim", type=int, default=2, help="vae: dimensions of the latent space")
    ap.add_argument("--l1", type=float, default=1e-9)
    ap.add_argument("--noise-factor", type=float, default=0.5)
    ap.add_argument("--learning-rate", type=float, default=1e-3)
    ap.add_argument("--train-size", type=int, default=0, help="0 = all, else the first N")
    ap.add_argument("--test-size", type=int, default=0, help="0 = all, else the first N")
    ap.add_argument("--adam", choices=("keras", "torch"), default="keras",
                    help="keras: eps outside the bias correction (as Keras and aelab); "
                         "torch: torch.optim.Adam(eps=1e-7, foreach=True)")
    ap.add_argument("--conv-impl", choices=CONV_IMPLS, default="channels_last",
                    help="conv models: mkldnn (NCHW through oneDNN, torch's default), "
                         "channels_last (NHWC through oneDNN), thnn (oneDNN off: im2col + BLAS)")
    ap.add_argument("--warmup-batches", type=int, default=5,
                    help="untimed training steps on a throw-away copy before epoch 1")
    ap.add_argument("--omp-wait", choices=("default", "active", "passive"), default="default",
                    help="OMP_WAIT_POLICY for torch's OpenMP threads (default: libgomp's own, a short "
                         "spin then sleep).  passive: sleep at once, far better on a busy machine")
    ap.add_argument("--json", action="store_true", help="one JSON object per line, like aelab --json")
    ap.add_argument("--stock", action="store_true",
                    help="do not switch to OpenBLAS-OpenMP and AVX-512 (Debian's default set-up)")
    ap.add_argument("--self-test", action="store_true", help="check the models, loss and Adam")
    args = ap.parse_args(argv)
    if args.data_dir is None:
        args.data_dir = FASHION_DIR if args.dataset == "fashion-mnist" else default_mnist_dir()
    for name in ("epochs", "threads"):
        if getattr(args, name) < 1:
            ap.error("--%s must be >= 1" % name)
    if args.batch_size < 0 or args.train_size < 0 or args.test_size < 0:
        ap.error("sizes must be >= 0")
    return args


def run_comparison(main):
    """Run a comparing script's main(argv) and exit with its status.  SIGTERM
    ends it like Ctrl-C (KeyboardInterrupt, so the runs it started are
    stopped on the way out), with status 130."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)


def main(argv):
    args = parse_args(argv)
    ensure_env(args.threads, args.stock, args.omp_wait)
    if args.self_test:
        return self_test(args)
    try:
        return train(args)
    except (OSError, ValueError) as e:
        print("torch_ref.py: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # train_quality.py stops a run at its time budget with SIGINT
        sys.exit(130)
