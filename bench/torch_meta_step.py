#!/usr/bin/env python3
"""PyTorch twin of gtn's meta-step benchmark.

Times ONE GTN meta-step (MNIST-shaped data, or CIFAR-shaped where a workload
says so; 10 classes, "full" curriculum) in PyTorch, so the TypeScript
implementation can be compared against it on the same machine:

  1. build a fresh, functional learner (Kaiming-normal, weight-normalised);
  2. unroll T inner SGD-with-momentum steps on generator output, keeping the
     graph of every inner gradient (create_graph=True);
  3. after every k-th inner step (k = the workload's intermediate_every, 1
     unless it says otherwise), evaluate the learner on a fresh real batch
     (the "intermediate" real-data losses);
  4. meta-loss = final real-data loss + mean(intermediate losses);
  5. meta_loss.backward() -- exact second order, into the generator's
     weights, the learned noise z[T, B, 128], log_lr[T] and momentum[T];
  6. one Adam step (lr 0.02) on all meta-parameters.

Usage (use Debian's python, which is where `apt-get install python3-torch` puts torch):
  /usr/bin/python3 bench/torch_meta_step.py --workload all --threads 1
  /usr/bin/python3 bench/torch_meta_step.py --workload conv-t8-b64 --threads 2 --checkpoint
  /usr/bin/python3 bench/torch_meta_step.py --check
  /usr/bin/python3 bench/torch_meta_step.py --describe [--workload NAME]

Output: one JSON object per workload per line on stdout, nothing else there:
  {"workload", "seconds" (median), "all" (every timed repeat), "threads",
   "torch" (version), "peak_rss_mb", plus "cpu_seconds" (median process CPU time),
   "blas" (the BLAS library torch loaded), "checkpoint" and "meta_loss" (final repeat)}
--describe instead prints, per workload, its shapes and how many scalars it has,
without running it: {"workload", "image_shape", "intermediate_every",
"intermediate_losses", "meta_params" (generator + z + log_lr + momentum),
"generator_params", "learner_params"}.

BLAS matters: Debian's python3-torch links the generic libblas.so.3. With only
libblas3 installed (the default) that is the netlib reference BLAS, and every
matmul runs ~18x slower than with OpenBLAS (libopenblas0-pthread); the
meta-step is 2-3x slower overall. The "blas" field says which one ran.
Logs go to stderr.

Definition details decided here (keep in sync with the TypeScript benchmark,
bench/metaStep.ts, and with src/gtn/generator.ts, src/models/classic.ts and
src/gtn/unroll.ts):
  * Workload fields: generator hidden H / channels C, learner, T, B, and
    optionally the image shape [c, h, w] (default MNIST's [1, 28, 28]) and
    intermediate_every k (default 1).
  * Momentum is stored as a plain tensor m[T] (init 0.5) and clamped to [0, 0.99]
    when used (so it can never exceed 1, see GTN.md "Known pitfalls"); the
    learning rate is stored as log_lr[T] (init log 0.02) and used as exp(log_lr).
  * Weight norm (everywhere): w = g * v / ||v||, norm over all dims except the
    output dim, v ~ Kaiming normal (fan_in, gain sqrt(2)), g initialised to ||v||,
    so the effective weight at initialisation equals v.
  * Generator (image [c, h, w], h and w divisible by 4):
      [z ++ onehot(y)] (128 + 10) -> WN-Linear H -> BN -> LReLU
      -> WN-Linear C*(h/4)*(w/4) -> BN -> LReLU -> view [C, h/4, w/4]
      -> upsample x2 -> reflect pad 1 -> WN-Conv3x3 C -> max(1, C // 2) -> BN -> LReLU
      -> upsample x2 -> reflect pad 1 -> WN-Conv3x3 -> c channels -> tanh * 2.
    The two WN-Linear layers have a (zero-initialised) bias, the first WN-Conv
    has none, the last WN-Conv has one. BatchNorm uses training-mode batch
    statistics (no running statistics) with affine gamma=1, beta=0 at init.
  * Learners: hidden WN layers have no bias (the mean-only batch norm's beta
    that follows makes it redundant); the output layer has a zero-initialised bias.
    Mean-only BN = x - mean over the batch (and spatial dims for conv) + beta.
      mlp  [h1, h2]: flatten -> WN-Linear h1 -> mBN -> LReLU -> WN-Linear h2 -> mBN
           -> LReLU -> WN-Linear 10.
      conv [c1, c2, f]: WN-Conv3x3 c1 (pad 1) -> maxpool(3, 2, 1) -> mBN -> LReLU
           -> WN-Conv3x3 c2 -> maxpool -> mBN -> LReLU -> flatten -> WN-Linear f
           -> mBN -> LReLU -> WN-Linear 10.
      cifar [w0, w1, ...]: WN-Conv3x3 w_i (pad 1, stride 2 for i = 1 and 3,
           else 1) -> mBN -> LReLU for each width, then global average pool
           -> WN-Linear 10.
  * Intermediate losses: one after inner step t (1-based) whenever t % k == 0,
    so n = T // k of them (k = 1: after every step; the CIFAR cpu workload,
    T = 32, k = 16: after steps 16 and 32). Meta-loss = final loss + the MEAN
    of the n intermediate losses (unroll.ts's default weighting; the bench does
    not use the presets' 'sum').
  * Real data: one pool of n+1 distinct batches of 128 N(0,1) images of the
    workload's image shape, with uniform random labels, generated once from
    the seed. Batch j is used for the j-th intermediate loss, batch n for the
    final loss; the pool is reused by every timed meta-step.
  * Learner parameters are re-initialised at the start of each meta-step (this
    is included in the timing; it is negligible).
  * --checkpoint wraps each inner step (generator forward, inner gradient,
    update, intermediate loss) in torch.utils.checkpoint and recomputes it in the
    backward pass. It uses the REENTRANT variant: in torch 1.13 the non-reentrant
    one cannot contain a torch.autograd.grad call (see Bench.__init__).
  * peak_rss_mb is getrusage(RUSAGE_SELF).ru_maxrss: process-wide and monotone,
    so with --workload all it is the peak over that workload AND all before it.
    Run one workload per process for a clean memory figure.
"""

import argparse
import inspect
import json
import math
import resource
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
    import torch.utils.checkpoint as torch_checkpoint
except ImportError:  # keep the benchmark harness green on machines without torch
    print(json.dumps({"skipped": "python3-torch not installed (apt-get install python3-torch)"}))
    sys.exit(0)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------------------

N_CLASSES = 10
Z_DIM = 128
MNIST_IMG = (1, 28, 28)
REAL_BATCH = 128

WORKLOADS = {
    # name: generator hidden H / channels C, learner, T inner steps, B synthetic batch,
    # optional img (c, h, w) (default MNIST_IMG) and every k (intermediate loss every k steps, default 1)
    "conv-t8-b64": dict(gen=(1024, 128), learner=("conv", (64, 128, 256)), T=8, B=64),
    "mlp-t32-b128": dict(gen=(1024, 128), learner=("mlp", (256, 128)), T=32, B=128),
    "mlp-small-t32-b128": dict(gen=(256, 32), learner=("mlp", (128, 128)), T=32, B=128),
    "conv-small-t16-b64": dict(gen=(256, 32), learner=("conv", (16, 32, 64)), T=16, B=64),
    "conv-t32-b128-cpu": dict(gen=(256, 32), learner=("conv", (32, 64, 128)), T=32, B=128),
    # CIFAR_PRESETS.cpu's shapes (src/gtn/config.ts): real-data losses after steps 16 and 32 plus the final one.
    "cifar-t32-b64-cpu": dict(gen=(256, 32), learner=("cifar", (16, 32, 32, 64, 64)), T=32, B=64,
                              img=(3, 32, 32), every=16),
}

# Used only by --check: small enough for float64 finite differences.
TINY = dict(gen=(16, 4), learner=("mlp", (8, 8)), T=3, B=10, real_batch=16)
TINY_CONV = dict(gen=(16, 4), learner=("conv", (4, 4, 8)), T=3, B=10, real_batch=16)
TINY_CIFAR = dict(gen=(16, 4), learner=("cifar", (4, 4, 8)), T=4, B=10, real_batch=16, img=(3, 8, 8), every=2)


# --------------------------------------------------------------------------------------
# Weight norm and initialisation
# --------------------------------------------------------------------------------------

def kaiming_normal(shape, dtype):
    """Kaiming normal, fan_in mode, gain sqrt(2) (same as nn.init.kaiming_normal_ defaults)."""
    fan_in = math.prod(shape[1:])
    return torch.randn(shape, dtype=dtype) * math.sqrt(2.0 / fan_in)


def v_norm(v):
    """||v|| per output unit: norm over every dim except dim 0, kept broadcastable."""
    return v.flatten(1).norm(dim=1).view(-1, *([1] * (v.dim() - 1)))


def wn_init(shape, dtype):
    """A weight-normalised layer's (v, g) with g = ||v|| (effective weight = v at init)."""
    v = kaiming_normal(shape, dtype)
    return v, v_norm(v).clone()


def wn_weight(v, g):
    """w = g * v / ||v||."""
    return g * v / v_norm(v)


def leaky(x):
    return F.leaky_relu(x, 0.1)


# --------------------------------------------------------------------------------------
# Generator (functional; its parameters are meta-parameters)
# --------------------------------------------------------------------------------------

def init_generator(H, C, img, dtype):
    """Parameters of G for images img = (c, h, w), as a flat list of leaf tensors (order matters: see generator())."""
    c, h, w = img
    assert h % 4 == 0 and w % 4 == 0, f"generator: image size {h}x{w} must be divisible by 4"
    F0 = C * (h // 4) * (w // 4)                          # first feature map C x h/4 x w/4, flattened
    half = max(1, C // 2)
    p = []
    v, g = wn_init((H, Z_DIM + N_CLASSES), dtype)        # WN-Linear(138, H)
    p += [v, g, torch.zeros(H, dtype=dtype)]
    p += [torch.ones(H, dtype=dtype), torch.zeros(H, dtype=dtype)]   # BatchNorm1d(H)
    v, g = wn_init((F0, H), dtype)                        # WN-Linear(H, C*h/4*w/4)
    p += [v, g, torch.zeros(F0, dtype=dtype)]
    p += [torch.ones(F0, dtype=dtype), torch.zeros(F0, dtype=dtype)]  # BatchNorm1d
    v, g = wn_init((half, C, 3, 3), dtype)                # WN-Conv3x3(C -> C/2), no bias
    p += [v, g]
    p += [torch.ones(half, dtype=dtype), torch.zeros(half, dtype=dtype)]  # BatchNorm2d
    v, g = wn_init((c, half, 3, 3), dtype)                # WN-Conv3x3(C/2 -> c), with bias
    p += [v, g, torch.zeros(c, dtype=dtype)]
    return [t.requires_grad_() for t in p]


def batch_norm(x, gamma, beta):
    """Training-mode batch norm: batch statistics, no running statistics."""
    return F.batch_norm(x, None, None, gamma, beta, training=True, eps=1e-5)


def generator(G, z, y_onehot, C, img):
    """x = G(z, y): [B, 128] noise + [B, 10] one-hot -> [B, *img] images in (-2, 2)."""
    (v1, g1, b1, bn1w, bn1b, v2, g2, b2, bn2w, bn2b,
     v3, g3, bn3w, bn3b, v4, g4, b4) = G
    h = torch.cat([z, y_onehot], dim=1)
    h = leaky(batch_norm(F.linear(h, wn_weight(v1, g1), b1), bn1w, bn1b))
    h = leaky(batch_norm(F.linear(h, wn_weight(v2, g2), b2), bn2w, bn2b))
    h = h.view(-1, C, img[1] // 4, img[2] // 4)                       # MNIST 7x7, CIFAR 8x8
    h = F.interpolate(h, scale_factor=2, mode="nearest")             # 14x14 / 16x16
    h = F.pad(h, (1, 1, 1, 1), mode="reflect")
    h = leaky(batch_norm(F.conv2d(h, wn_weight(v3, g3)), bn3w, bn3b))
    h = F.interpolate(h, scale_factor=2, mode="nearest")             # 28x28 / 32x32
    h = F.pad(h, (1, 1, 1, 1), mode="reflect")
    h = F.conv2d(h, wn_weight(v4, g4), b4)
    return torch.tanh(h) * 2.0


# --------------------------------------------------------------------------------------
# Learners (functional: params is a list of tensors, f(params, x) -> logits)
# --------------------------------------------------------------------------------------

def mean_only_bn(x, beta):
    """x - mean over batch (and spatial dims for conv) + beta; no variance, no gamma."""
    dims = [0] if x.dim() == 2 else [0, 2, 3]
    shape = (1, -1) if x.dim() == 2 else (1, -1, 1, 1)
    return x - x.mean(dim=dims, keepdim=True) + beta.view(shape)


def init_mlp(widths, img, dtype):
    h1, h2 = widths
    p = []
    for fan_in, fan_out in [(math.prod(img), h1), (h1, h2)]:
        v, g = wn_init((fan_out, fan_in), dtype)
        p += [v, g, torch.zeros(fan_out, dtype=dtype)]               # v, g, mBN beta
    v, g = wn_init((N_CLASSES, h2), dtype)
    p += [v, g, torch.zeros(N_CLASSES, dtype=dtype)]                 # v, g, bias
    return p


def mlp(p, x):
    va, ga, ba, vb, gb, bb, vc, gc, bc = p
    h = x.flatten(1)
    h = leaky(mean_only_bn(F.linear(h, wn_weight(va, ga)), ba))
    h = leaky(mean_only_bn(F.linear(h, wn_weight(vb, gb)), bb))
    return F.linear(h, wn_weight(vc, gc), bc)


def pooled(n):
    """Spatial size after max_pool2d(3, stride 2, padding 1)."""
    return (n + 2 - 3) // 2 + 1


def init_conv(widths, img, dtype):
    c1, c2, f = widths
    p = []
    v, g = wn_init((c1, img[0], 3, 3), dtype)
    p += [v, g, torch.zeros(c1, dtype=dtype)]
    v, g = wn_init((c2, c1, 3, 3), dtype)
    p += [v, g, torch.zeros(c2, dtype=dtype)]
    v, g = wn_init((f, c2 * pooled(pooled(img[1])) * pooled(pooled(img[2]))), dtype)
    p += [v, g, torch.zeros(f, dtype=dtype)]
    v, g = wn_init((N_CLASSES, f), dtype)
    p += [v, g, torch.zeros(N_CLASSES, dtype=dtype)]
    return p


def conv(p, x):
    va, ga, ba, vb, gb, bb, vc, gc, bc, vd, gd, bd = p
    h = F.conv2d(x, wn_weight(va, ga), padding=1)
    h = leaky(mean_only_bn(F.max_pool2d(h, 3, stride=2, padding=1), ba))   # 14x14
    h = F.conv2d(h, wn_weight(vb, gb), padding=1)
    h = leaky(mean_only_bn(F.max_pool2d(h, 3, stride=2, padding=1), bb))   # 7x7
    h = leaky(mean_only_bn(F.linear(h.flatten(1), wn_weight(vc, gc)), bc))
    return F.linear(h, wn_weight(vd, gd), bd)


def cifar_stride(i):
    """The CIFAR learner's convs have stride 2 at the 2nd and 4th layer."""
    return 2 if i in (1, 3) else 1


def init_cifar(widths, img, dtype):
    p = []
    in_c = img[0]
    for n in widths:
        v, g = wn_init((n, in_c, 3, 3), dtype)
        p += [v, g, torch.zeros(n, dtype=dtype)]                     # v, g, mBN beta
        in_c = n
    v, g = wn_init((N_CLASSES, in_c), dtype)
    p += [v, g, torch.zeros(N_CLASSES, dtype=dtype)]                 # v, g, bias
    return p


def cifar(p, x):
    n_conv = len(p) // 3 - 1
    h = x
    for i in range(n_conv):
        v, g, beta = p[3 * i:3 * i + 3]
        h = F.conv2d(h, wn_weight(v, g), stride=cifar_stride(i), padding=1)
        h = leaky(mean_only_bn(h, beta))
    h = h.mean(dim=(2, 3))                                           # global average pool
    v, g, b = p[3 * n_conv:]
    return F.linear(h, wn_weight(v, g), b)


LEARNERS = {"mlp": (init_mlp, mlp), "conv": (init_conv, conv), "cifar": (init_cifar, cifar)}


# --------------------------------------------------------------------------------------
# The meta-step
# --------------------------------------------------------------------------------------

MOMENTUM_MAX = 0.99


class Bench:
    """All state of one workload: meta-parameters, Adam, fixed labels, real-data pool."""

    def __init__(self, spec, seed, dtype=torch.float32, use_checkpoint=False):
        torch.manual_seed(seed)
        self.dtype = dtype
        self.T, self.B = spec["T"], spec["B"]
        self.H, self.C = spec["gen"]
        self.learner_kind, self.learner_widths = spec["learner"]
        self.init_learner, self.learner = LEARNERS[self.learner_kind]
        self.img = tuple(spec.get("img", MNIST_IMG))
        self.every = spec.get("every", 1)
        assert self.every >= 1, "intermediate_every must be >= 1"
        self.n_intermediate = self.T // self.every
        self.use_checkpoint = use_checkpoint
        real_batch = spec.get("real_batch", REAL_BATCH)

        # Meta-parameters: generator weights, curriculum z[T, B, 128], per-step lr and momentum.
        self.G = init_generator(self.H, self.C, self.img, dtype)
        self.z = torch.randn(self.T, self.B, Z_DIM, dtype=dtype).requires_grad_()
        self.log_lr = torch.full((self.T,), math.log(0.02), dtype=dtype).requires_grad_()
        self.momentum = torch.full((self.T,), 0.5, dtype=dtype).requires_grad_()
        self.meta_params = self.G + [self.z, self.log_lr, self.momentum]
        self.opt = torch.optim.Adam(self.meta_params, lr=0.02)

        # Fixed, class-balanced labels: slot i has label i mod 10.
        self.y = torch.arange(self.B) % N_CLASSES
        self.y_onehot = F.one_hot(self.y, N_CLASSES).to(dtype)

        # Real data stand-in: one batch per intermediate loss plus the final one (T+1 when k = 1), generated once.
        self.real_x = torch.randn(self.n_intermediate + 1, real_batch, *self.img, dtype=dtype)
        self.real_y = torch.randint(0, N_CLASSES, (self.n_intermediate + 1, real_batch))

        # Reentrant checkpoint on purpose: torch 1.13's non-reentrant one (saved-tensor hooks)
        # intercepts the inner torch.autograd.grad call too and fails with "You are calling
        # backwards on a tensor that is never exposed". The reentrant one runs the step under
        # no_grad (inner_step re-enables grad) and supports meta_loss.backward(), which is all we need.
        self.checkpoint_kwargs = {"preserve_rng_state": False}
        if "use_reentrant" in inspect.signature(torch_checkpoint.checkpoint).parameters:
            self.checkpoint_kwargs["use_reentrant"] = True

    def inner_step(self, t, n_params, real_j, z, log_lr, momentum, *tensors):
        """Inner step t. tensors = (*params, *velocity, *G); every tensor it reads is an argument,
        as the reentrant checkpoint returns gradients only for its arguments.
        Returns (*new_params, *new_velocity), plus the real-data loss on pool batch real_j
        when real_j is not None (an intermediate loss follows this step)."""
        # Under the reentrant checkpoint the forward runs in no_grad: re-enable it for the inner gradient.
        with torch.enable_grad():
            params = list(tensors[:n_params])
            vel = list(tensors[n_params:2 * n_params])
            G = list(tensors[2 * n_params:])
            x = generator(G, z[t], self.y_onehot, self.C, self.img)
            inner_loss = F.cross_entropy(self.learner(params, x), self.y)
            grads = torch.autograd.grad(inner_loss, params, create_graph=True)
            lr = log_lr[t].exp()
            m = momentum[t].clamp(0.0, MOMENTUM_MAX)
            vel = [m * v + g for v, g in zip(vel, grads)]
            params = [p - lr * v for p, v in zip(params, vel)]
            if real_j is None:
                return (*params, *vel)
            real_loss = F.cross_entropy(self.learner(params, self.real_x[real_j]), self.real_y[real_j])
        return (*params, *vel, real_loss)

    def meta_loss(self):
        """Unroll the inner loop from a fresh learner; returns the (differentiable) meta-loss."""
        params = [p.requires_grad_() for p in self.init_learner(self.learner_widths, self.img, self.dtype)]
        n = len(params)
        vel = [torch.zeros_like(p) for p in params]
        intermediate = []
        for t in range(self.T):
            # An intermediate loss after inner step t+1 (1-based) when (t+1) % k == 0, as unroll.ts.
            real_j = len(intermediate) if (t + 1) % self.every == 0 else None
            args = (t, n, real_j, self.z, self.log_lr, self.momentum, *params, *vel, *self.G)
            if self.use_checkpoint:
                out = torch_checkpoint.checkpoint(self.inner_step, *args, **self.checkpoint_kwargs)
            else:
                out = self.inner_step(*args)
            params, vel = list(out[:n]), list(out[n:2 * n])
            if real_j is not None:
                intermediate.append(out[2 * n])
        last = self.n_intermediate
        final = F.cross_entropy(self.learner(params, self.real_x[last]), self.real_y[last])
        return final + torch.stack(intermediate).mean() if intermediate else final

    def meta_step(self):
        """One full meta-step: unroll, exact second-order backward, Adam. Returns the meta-loss."""
        self.opt.zero_grad(set_to_none=True)
        loss = self.meta_loss()
        loss.backward()
        self.opt.step()
        return loss.item()


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------

def blas_library():
    """Which BLAS this torch actually loaded. Debian's python3-torch calls the generic BLAS
    interface (libblas.so.3), so the answer depends on the system: the default libblas3 is the
    slow netlib reference BLAS; libopenblas0-pthread (or LD_LIBRARY_PATH) gives OpenBLAS.
    Matmul speed differs ~18x between them, so record it with every timing."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
    except OSError:
        return "unknown"
    for path in sorted(paths):
        if "openblas" in path.lower() or "mkl" in path.lower() or "blis" in path.lower():
            return path
    return sorted(paths)[0] if paths else "unknown"


def peak_rss_mb():
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def run_workload(name, args):
    bench = Bench(WORKLOADS[name], args.seed, use_checkpoint=args.checkpoint)
    t0 = time.perf_counter()
    loss = bench.meta_step()   # warm-up, not timed
    log(f"{name}: warm-up {time.perf_counter() - t0:.2f}s meta-loss {loss:.4f}")
    times, cpu_times = [], []
    for r in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        loss = bench.meta_step()
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
        log(f"{name}: repeat {r + 1}/{args.repeats} {times[-1]:.2f}s (cpu {cpu_times[-1]:.2f}s) meta-loss {loss:.4f}")
    return {
        "workload": name,
        "seconds": round(statistics.median(times), 4),
        "all": [round(s, 4) for s in times],
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "peak_rss_mb": peak_rss_mb(),
        "blas": blas_library(),
        # CPU time of the whole process (all threads), median over repeats. With --threads 1 on a
        # busy machine it is a better estimate of the uncontended wall time than "seconds".
        "cpu_seconds": round(statistics.median(cpu_times), 4),
        "checkpoint": args.checkpoint,
        "meta_loss": round(loss, 6),
    }


def describe(name):
    """Shapes and scalar counts of a workload, without running it (to check against the TypeScript side)."""
    spec = WORKLOADS[name]
    bench = Bench(spec, 0)
    kind, widths = spec["learner"]
    init_learner, _ = LEARNERS[kind]
    count = lambda ts: sum(t.numel() for t in ts)
    return {
        "workload": name,
        "image_shape": list(bench.img),
        "intermediate_every": bench.every,
        "intermediate_losses": bench.n_intermediate,
        "meta_params": count(bench.meta_params),
        "generator_params": count(bench.G),
        "learner_params": count(init_learner(widths, bench.img, torch.float32)),
    }


def check(args):
    """Sanity checks; raises AssertionError on failure, logs to stderr."""
    # 1. Determinism: same seed -> identical meta-loss (float32, fresh state each time).
    losses = [Bench(TINY, args.seed).meta_step() for _ in range(2)]
    assert losses[0] == losses[1], f"meta-loss not reproducible: {losses}"
    log(f"check: determinism ok (meta-loss {losses[0]!r} twice)")

    # 2. Meta-gradient w.r.t. log_lr[0] vs central finite difference, in float64, both learners.
    #    meta_loss() re-initialises the learner from the global RNG, so reseed before each call.
    for spec in (TINY, TINY_CONV, TINY_CIFAR):
        kind = spec["learner"][0]

        def loss_at(delta, use_checkpoint=False, want_grad=False):
            b = Bench(spec, args.seed, dtype=torch.float64, use_checkpoint=use_checkpoint)
            with torch.no_grad():
                b.log_lr[0] += delta
            torch.manual_seed(args.seed + 1)
            loss = b.meta_loss()
            if want_grad:
                loss.backward()
            return loss.item(), b

        _, b = loss_at(0.0, want_grad=True)
        analytic = b.log_lr.grad[0].item()
        eps = 1e-5
        fd = (loss_at(eps)[0] - loss_at(-eps)[0]) / (2 * eps)
        rel = abs(analytic - fd) / max(abs(fd), 1e-12)
        log(f"check [{kind}]: d meta-loss / d log_lr[0]: autograd {analytic:.10e}, "
            f"finite diff {fd:.10e}, rel err {rel:.2e}")
        assert rel < 1e-6, "meta-gradient does not match finite difference"

        # 3. The checkpointed unroll gives the same meta-gradients as the plain one.
        _, bc = loss_at(0.0, use_checkpoint=True, want_grad=True)
        for p, q in zip(b.meta_params, bc.meta_params):
            assert p.grad is not None and q.grad is not None, "missing meta-gradient"
            assert torch.allclose(p.grad, q.grad, rtol=1e-9, atol=1e-12), "checkpointed gradients differ"
        log(f"check [{kind}]: checkpointed meta-gradients match ({bc.checkpoint_kwargs})")
    log("check: all ok")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", default="all", help="|".join(WORKLOADS) + "|all")
    ap.add_argument("--threads", type=int, default=1, help="intra- and inter-op threads (default 1)")
    ap.add_argument("--repeats", type=int, default=3, help="timed meta-steps after 1 warm-up (default 3)")
    ap.add_argument("--checkpoint", action="store_true", help="checkpoint and recompute each inner step")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", action="store_true", help="run sanity checks instead of the benchmark")
    ap.add_argument("--describe", action="store_true", help="print each workload's shapes and parameter counts, run nothing")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(args.threads)

    if args.check:
        check(args)
        return
    names = list(WORKLOADS) if args.workload == "all" else [args.workload]
    for name in names:
        if name not in WORKLOADS:
            ap.error(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)} or all")
    for name in names:
        print(json.dumps(describe(name) if args.describe else run_workload(name, args)), flush=True)


if __name__ == "__main__":
    main()
