#!/usr/bin/env python3
"""PyTorch eager baseline for `make bench-compare`: the same architectures, batch size,
optimizer and data layout as rethink's benches/throughput.rs, measured the same way.

Run with torch 2.11 from .libtorch:  PYTHONPATH=.libtorch python3 benches/pytorch_baseline.py --model mlp1x512
Prints one JSON object.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    def __init__(self, d_in, depth, classes=10):
        super().__init__()
        dims = [d_in] + [512] * depth
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, dims[1:]))
        self.out = nn.Linear(512, classes)

    def forward(self, x):
        x = x.flatten(1)
        for layer in self.hidden:
            x = F.relu(layer(x))
        return self.out(x)


class AlexNet(nn.Module):
    """Zhang et al. 2017's small AlexNet: 1,387,786 parameters on 3x28x28."""

    def __init__(self, c=3, s=28, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(c, 64, 5, padding=2)
        self.conv2 = nn.Conv2d(64, 64, 5, padding=2)
        self.pool = nn.MaxPool2d(3, 2, padding=1)
        self.lrn = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)
        p = lambda n: (n + 2 - 3) // 2 + 1
        self.fc1 = nn.Linear(64 * p(p(s)) ** 2, 384)
        self.fc2 = nn.Linear(384, 192)
        self.fc3 = nn.Linear(192, classes)

    def forward(self, x):
        x = self.lrn(self.pool(F.relu(self.conv1(x))))
        x = self.lrn(self.pool(F.relu(self.conv2(x))))
        x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class ConvModule(nn.Module):
    def __init__(self, c_in, c_out, k, stride, padding, bn=True):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, stride, padding)
        self.bn = nn.BatchNorm2d(c_out, affine=False) if bn else None

    def forward(self, x):
        x = self.conv(x)
        return F.relu(self.bn(x) if self.bn is not None else x)


class Inception(nn.Module):
    """Zhang et al. 2017's small Inception: 1,649,402 parameters on 3x28x28."""

    SPECS = [("inc", 32, 32), ("inc", 32, 48), ("down", 80), ("inc", 112, 48), ("inc", 96, 64),
             ("inc", 80, 80), ("inc", 48, 96), ("down", 96), ("inc", 176, 160), ("inc", 176, 160)]

    def __init__(self, c=3, classes=10, bn=True):
        super().__init__()
        self.stem = ConvModule(c, 96, 3, 1, 1, bn)
        self.blocks = nn.ModuleList()
        self.kinds = []
        ch = 96
        for spec in self.SPECS:
            if spec[0] == "inc":
                a, b = spec[1], spec[2]
                self.blocks.append(nn.ModuleList([ConvModule(ch, a, 1, 1, 0, bn), ConvModule(ch, b, 3, 1, 1, bn)]))
                ch = a + b
            else:
                self.blocks.append(nn.ModuleList([ConvModule(ch, spec[1], 3, 2, 0, bn)]))
                ch += spec[1]
            self.kinds.append(spec[0])
        self.fc = nn.Linear(ch, classes)

    def forward(self, x):
        x = self.stem(x)
        for kind, block in zip(self.kinds, self.blocks):
            if kind == "inc":
                x = torch.cat([block[0](x), block[1](x)], 1)
            else:
                x = torch.cat([block[0](x), F.max_pool2d(x, 3, 2)], 1)
        return self.fc(x.mean((2, 3)))


class BasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.shortcut(x) if self.shortcut is not None else x))


class ResNet18(nn.Module):
    """ResNet18 for CIFAR: 11,173,962 parameters on 3x32x32."""

    def __init__(self, c=3, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(c, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        layers, ch = [], 64
        for stage, width in enumerate([64, 128, 256, 512]):
            for i in range(2):
                layers.append(BasicBlock(ch, width, 2 if stage > 0 and i == 0 else 1))
                ch = width
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def build(name, shape=None):
    """The model `name` for inputs of `shape` (channels, side): by default 3x32 for ResNet18
    and 3x28 for the others, the paper's shapes."""
    c, s = shape or ((3, 32) if name == "resnet18" else (3, 28))
    if name == "mlp1x512":
        return MLP(c * s * s, 1), (c, s)
    if name == "mlp3x512":
        return MLP(c * s * s, 3), (c, s)
    if name == "alexnet":
        return AlexNet(c, s), (c, s)
    if name == "inception":
        return Inception(c), (c, s)
    if name == "inception-nobn":
        return Inception(c, bn=False), (c, s)
    if name == "resnet18":
        return ResNet18(c), (c, s)
    raise SystemExit(f"unknown model {name}")


SGD_IMPLS = ("default", "for-loop", "foreach", "fused")


def make_sgd(params, impl, lr=0.01, momentum=0.9):
    """torch.optim.SGD in one of its implementations: PyTorch's own choice (`default`,
    foreach on CUDA, for-loop on CPU), one update per tensor (`for-loop`), multi-tensor
    kernels (`foreach`), or one fused kernel (`fused`). Same arithmetic, other kernels."""
    flags = {"default": {}, "for-loop": {"foreach": False}, "foreach": {"foreach": True},
             "fused": {"fused": True}}[impl]
    return torch.optim.SGD(params, lr=lr, momentum=momentum, **flags)


def sgd_name(opt, impl):
    """`impl`, with what PyTorch resolved `default` to."""
    if impl != "default":
        return impl
    from torch.optim.optimizer import _default_to_fused_or_foreach
    params = [p for g in opt.param_groups for p in g["params"]]
    fused, foreach = _default_to_fused_or_foreach(params, differentiable=False, use_fused=False)
    return "default (" + ("fused" if fused else "foreach" if foreach else "for-loop") + ")"


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int)
    ap.add_argument("--amp", action="store_true",
                    help="CUDA: fp16 autocast with GradScaler, as rethink's --amp")
    ap.add_argument("--channels-last", action="store_true",
                    help="conv weights and inputs in NHWC layout, as rethink's --channels-last")
    ap.add_argument("--sgd", choices=SGD_IMPLS, default="default",
                    help="which torch.optim.SGD implementation (default: PyTorch's own choice)")
    ap.add_argument("--shape", help="input channels and side, CxS (default 3x32 for resnet18, else 3x28)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--warmup-s", type=float, default=0.0,
                    help="untimed steps for at least this long before the first window (a GPU's clock ramps up)")
    ap.add_argument("--windows", type=int, help="timed windows (default 7)")
    a = ap.parse_args()
    device = torch.device("cuda" if a.device == "cuda" else "cpu")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    model, (c, s) = build(a.model, tuple(int(v) for v in a.shape.split("x")) if a.shape else None)
    model = model.to(device).train()
    opt = make_sgd(model.parameters(), a.sgd)
    batch = a.batch
    # Median over timed windows of `per` steps, as benches/throughput.rs.
    windows, per = {"mlp1x512": (7, 50), "mlp3x512": (7, 50), "alexnet": (7, 2)}.get(a.model, (7, 1))
    per = a.steps or per
    windows = a.windows or windows
    x = torch.randn(batch, c, s, s, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)

    scaler = torch.amp.GradScaler("cuda") if a.amp else None

    def step(x, y):
        opt.zero_grad()
        if scaler is None:
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return
        with torch.autocast("cuda", dtype=torch.float16):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    for _ in range(3):
        step(x, y)
    warm = time.perf_counter()
    while time.perf_counter() - warm < a.warmup_s:
        step(x, y)
        sync(device)
    rates = []
    for _ in range(windows):
        sync(device)
        t = time.perf_counter()
        for _ in range(per):
            step(x, y)
        sync(device)
        rates.append(per * batch / (time.perf_counter() - t))
    step_ips, step_ips_best = statistics.median(rates), max(rates)

    epoch_ms = gemm = None
    if a.model.startswith("mlp"):
        n = 1000
        xs = torch.randn(n, c, s, s, device=device)
        ys = torch.randint(0, 10, (n,), device=device)
        times = []
        for e in range(12):
            t = time.perf_counter()
            perm = torch.randperm(n, device=device)
            for at in range(0, n, batch):
                idx = perm[at:at + batch]
                step(xs[idx], ys[idx])
            model.eval()
            with torch.no_grad():
                F.cross_entropy(model(xs), ys, reduction="sum")
            model.train()
            sync(device)
            if e >= 2:
                times.append((time.perf_counter() - t) * 1e3)
        epoch_ms = statistics.median(times)
        m = torch.randn(2048, 2048, device=device)
        m @ m
        rates = []
        for _ in range(7):
            sync(device)
            t = time.perf_counter()
            m @ m
            sync(device)
            rates.append(2 * 2048 ** 3 / (time.perf_counter() - t) / 1e9)
        gemm = statistics.median(rates)
    # The FLOPs of one training step (matmuls and convolutions, forward and backward), counted
    # by PyTorch's own FlopCounterMode after the clock has stopped: the numerator of the model
    # FLOP utilization that bench_compare.py reports for both sides.
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter:
        step(x, y)
    step_flop = counter.get_total_flops()
    print(json.dumps({
        "impl": "pytorch",
        "model": a.model,
        "engine": "amp" if a.amp else "autograd",
        "sgd": sgd_name(opt, a.sgd),
        "channels_last": a.channels_last,
        "shape": f"{c}x{s}",
        "batch": batch,
        "window_steps": per,
        "windows": windows,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "params": sum(p.numel() for p in model.parameters()),
        "train_images_per_s": step_ips,
        "train_images_per_s_best": step_ips_best,
        "train_flop_per_image": step_flop / batch,
        "epoch_ms": epoch_ms,
        "gemm_gflops": gemm,
    }))


if __name__ == "__main__":
    main()
