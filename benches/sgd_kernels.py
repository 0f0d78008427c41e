#!/usr/bin/env python3
"""Kernels per optimizer step, counted by PyTorch's profiler, for each model of the benches.

For every model it profiles one steady-state SGD step (lr 0.01, momentum 0.9, gradients
already computed) in each of torch.optim.SGD's implementations (`for-loop`, `foreach`,
`fused`), and rethink's two layouts replayed with the same ATen calls that
src/train/sgd.rs makes (`rethink-per-tensor`: zero_, mul_, add_, addcmul_ per tensor;
`rethink-flat`: the same four calls once over flat buffers). The replay counts what those
calls launch; it does not run rethink itself (tch has no profiler).

On CUDA a count is the GPU kernels (and memsets/memcpys) the profiler saw; on CPU, where
there are no launches, it is the ATen operators called (outermost ones: an operator that
calls others counts once).

  PYTHONPATH=.libtorch python3 benches/sgd_kernels.py [--device cpu|cuda] [--models ...]

Prints a table, then one JSON line.
"""
import argparse
import json
import os
import sys
import warnings

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_baseline import build, make_sgd  # noqa: E402

TORCH_IMPLS = ("for-loop", "foreach", "fused")


class Replay:
    """rethink's SGD step (src/train/sgd.rs) as ATen calls: zero the gradients, then
    v.mul_(momentum), v.add_(g), p.addcmul_(v, -lr as a 0-dim tensor), per tensor or once
    over flat buffers."""

    def __init__(self, params, flat, lr=0.01, momentum=0.9):
        self.momentum = momentum
        dev, kind = params[0].device, params[0].dtype
        self.neg_lr = torch.full((), -lr, device=dev, dtype=kind)
        if flat:
            with torch.no_grad():
                self.p = torch.cat([p.detach().reshape(-1) for p in params])
            self.g = torch.cat([p.grad.reshape(-1) for p in params])
            self.triples = [(self.p, self.g, torch.zeros_like(self.p))]
        else:
            self.triples = [(p.detach(), p.grad, torch.zeros_like(p)) for p in params]

    def step(self):
        for p, g, v in self.triples:
            g.zero_()
        for p, g, v in self.triples:
            v.mul_(self.momentum)
            v.add_(g)
            p.addcmul_(v, self.neg_lr)


def count(fn, device):
    """What `fn` launches: GPU kernel events on CUDA, top-level ATen operators on CPU."""
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=acts) as prof:
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
    events = prof.events()
    if device.type == "cuda":
        return sum(1 for e in events if e.device_type == torch.autograd.DeviceType.CUDA)
    def outermost_aten(e):
        parent = e.cpu_parent
        while parent is not None:
            if parent.name.startswith("aten::"):
                return False
            parent = parent.cpu_parent
        return e.name.startswith("aten::")
    return sum(1 for e in events if outermost_aten(e))


def model_row(name, device):
    torch.manual_seed(0)
    model, (c, s) = build(name)
    model = model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    x = torch.randn(8, c, s, s, device=device)
    y = torch.randint(0, 10, (8,), device=device)
    F.cross_entropy(model(x), y).backward()
    row = {"model": name, "param_tensors": len(params)}
    for impl in TORCH_IMPLS:
        opt = make_sgd(params, impl)
        opt.step()  # the first step makes the momentum buffers
        row[impl] = count(opt.step, device)
    for key, flat in (("rethink-per-tensor", False), ("rethink-flat", True)):
        replay = Replay(params, flat)
        replay.step()
        row[key] = count(replay.step, device)
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--models", default="mlp1x512,mlp3x512,alexnet,inception,resnet18")
    a = ap.parse_args()
    warnings.filterwarnings("ignore", message=".*Profiler clears events.*")
    device = torch.device(a.device)
    rows = [model_row(m, device) for m in a.models.split(",")]
    unit = "GPU kernels" if device.type == "cuda" else "ATen operators (outermost)"
    cols = ["param_tensors", *TORCH_IMPLS, "rethink-per-tensor", "rethink-flat"]
    print(f"{unit} per SGD step ({device}, torch {torch.__version__}); rethink's steps include zeroing the gradients")
    print("model      " + " ".join(f"{c:>18}" for c in cols))
    for r in rows:
        print(f"{r['model']:<10} " + " ".join(f"{r[c]:>18}" for c in cols))
    print(json.dumps({"device": str(device), "torch": torch.__version__, "unit": unit, "rows": rows}))


if __name__ == "__main__":
    main()
