#!/usr/bin/env python3
"""`make bench-compare`: rethink (tch) against PyTorch eager on the same libtorch, per model.

Both sides run in this one invocation, interleaved (ours, theirs, theirs, ours, ...: the
order alternates), each measurement in a fresh process, and the table reports the median of
the repetitions with their range.
Usage: scripts/bench_compare.py [--reps 5] [--device cpu|cuda] [--models mlp1x512,...]
    [--shapes 3x32,1x28] [--batch 128] [--warmup-s S] [--windows W] [--steps N] [--no-extras]
A measurement whose process fails is reported with the child's own error output, and the
comparison goes on with the next one.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MLP_LAYERS = {
    # (inputs, outputs) of each linear layer on 3x28x28 images.
    "mlp1x512": [(2352, 512), (512, 10)],
    "mlp3x512": [(2352, 512), (512, 512), (512, 512), (512, 10)],
}


def mlp_epoch_gflop(model, images=1000):
    """An epoch of training on `images` images plus one eval pass over them, in GFLOP
    (2 FLOP per multiply-add), counted two ways:
    - "four_pass": 4 passes over every weight (forward, 2x backward, eval);
    - "performed": what the step actually computes: forward, the weight gradients, the input
      gradients of every layer but the first (the images need none), and the eval forward.
    """
    macs = [i * o for i, o in MLP_LAYERS[model]]
    four_pass = 4 * 2 * sum(macs) * images / 1e9
    performed = (3 * 2 * sum(macs) + 2 * sum(macs[1:])) * images / 1e9
    return {"four_pass": four_pass, "performed": performed}


class Failed(Exception):
    pass


def run(cmd, env=None):
    """The last JSON line `cmd` prints; on failure, its exit status and the tail of its
    output are printed (a Rust panic or a Python traceback) and `Failed` is raised."""
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not lines:
        tail = "\n".join((p.stderr + p.stdout).strip().splitlines()[-25:])
        print(f"  FAILED (exit {p.returncode}): {' '.join(cmd)}\n{tail}", flush=True)
        raise Failed(cmd[0])
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--models", default="mlp1x512,mlp3x512,alexnet,inception,resnet18")
    ap.add_argument("--channels-last", action="store_true",
                    help="both sides with conv weights and inputs in NHWC layout")
    ap.add_argument("--amp", action="store_true",
                    help="both sides with fp16 autocast and dynamic loss scaling (CUDA)")
    ap.add_argument("--peak-tflops", type=float, default=None,
                    help="the device's peak for the model FLOP utilization, e.g. 67 (H100 SXM fp32) or 495 (TF32 dense)")
    ap.add_argument("--pytorch-sgd", default="default",
                    help="torch.optim.SGD implementations to time PyTorch eager with, comma-separated "
                         "(default, for-loop, foreach, fused); the first is the one the ratio is against")
    ap.add_argument("--ours", default=os.path.join(ROOT, "target/release/deps/throughput"))
    ap.add_argument("--shapes", default=None,
                    help="input shapes CxS, comma-separated, each model measured at each (default: the model's own)")
    ap.add_argument("--batch", type=int, default=None, help="batch size (default 128)")
    ap.add_argument("--warmup-s", type=float, default=None,
                    help="untimed steps for at least this long before timing (a GPU's clock ramps up)")
    ap.add_argument("--windows", type=int, default=None, help="timed windows per measurement (default 7)")
    ap.add_argument("--steps", type=int, default=None, help="steps per timed window")
    ap.add_argument("--no-extras", action="store_true",
                    help="skip our autograd and per-tensor variants (the side-by-side rows only)")
    a = ap.parse_args()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, ".libtorch") + os.pathsep + env.get("PYTHONPATH", "")
    ours_bin = a.ours
    rows = []
    measured = [(m, sh) for m in a.models.split(",") for sh in (a.shapes.split(",") if a.shapes else [None])]
    for model, shape in measured:
        try:
            rows.append(compare(a, model, shape, ours_bin, env))
        except Failed:
            print(f"\n{model}{' ' + shape if shape else ''}: not compared (a measurement failed, above)", flush=True)
    print("\n" + json.dumps(rows), flush=True)


def compare(a, model, shape, ours_bin, env):
    """One row: `model` at input `shape` (None: its own), ours against PyTorch eager."""
    impls = a.pytorch_sgd.split(",")
    ours, ours_autograd, ours_old = [], [], []
    theirs_by = {impl: [] for impl in impls}
    theirs = theirs_by[impls[0]]
    mode_flags = (["--channels-last"] if a.channels_last else []) + (["--amp"] if a.amp else [])
    for flag, v in (("--shape", shape), ("--batch", a.batch), ("--warmup-s", a.warmup_s),
                    ("--windows", a.windows), ("--steps", a.steps)):
        if v is not None:
            mode_flags += [flag, str(v)]
    eager = lambda impl: theirs_by[impl].append(run(
        [sys.executable, "benches/pytorch_baseline.py", "--model", model, "--device", a.device,
         "--sgd", impl] + mode_flags, env))
    for rep in range(a.reps):
        # Alternate which side goes first, so that neither always follows the other.
        sides = [lambda: ours.append(run([ours_bin, "--model", model, "--device", a.device] + mode_flags)),
                 lambda: [eager(impl) for impl in impls]]
        for side in sides[::1 if rep % 2 == 0 else -1]:
            side()
        if a.no_extras:
            pass
        elif ours[-1]["engine"] not in ("autograd", "amp"):
            # The same model through our autograd path, to show what the fused step buys.
            ours_autograd.append(run([ours_bin, "--model", model, "--device", a.device, "--engine", "autograd"] + mode_flags))
        elif ours[-1].get("sgd") == "flat" and not a.amp:
            # The step before the flat SGD (one update per parameter tensor), in the same
            # run, to show what the flat layout buys.
            ours_old.append(run([ours_bin, "--model", model, "--device", a.device, "--sgd", "per-tensor"] + mode_flags))
    med = lambda xs, k: statistics.median(x[k] for x in xs) if xs[0][k] is not None else None
    o, t = med(ours, "train_images_per_s"), med(theirs, "train_images_per_s")
    row = {"model": model, "shape": ours[0].get("shape"), "batch": ours[0].get("batch"),
           "window_steps": ours[0].get("window_steps"), "engine": ours[0]["engine"], "ours_images_per_s": o,
           "pytorch_images_per_s": t, "ratio": o / t, "pytorch_sgd": theirs[0].get("sgd"),
           "param_tensors": ours[0].get("param_tensors")}
    for impl in impls[1:]:
        ti = med(theirs_by[impl], "train_images_per_s")
        row.update({f"pytorch_{impl}_images_per_s": ti, f"ratio_vs_{impl}": o / ti})
    # Noise on a shared machine only ever slows a step down, so the fastest window of all
    # the processes is the best estimate of what a step costs; the median is what a run sees.
    ob = max(x["train_images_per_s_best"] for x in ours)
    tb = max(x["train_images_per_s_best"] for x in theirs)
    row.update({"ours_best_images_per_s": ob, "pytorch_best_images_per_s": tb, "best_ratio": ob / tb})
    # Model FLOP utilization: the step's FLOPs (PyTorch's FlopCounterMode, the same model on
    # both sides) at each side's median rate, against --peak-tflops when given.
    flop = theirs[0].get("train_flop_per_image")
    if flop:
        row.update({"train_gflop_per_image": flop / 1e9, "ours_tflops": o * flop / 1e12,
                    "pytorch_tflops": t * flop / 1e12})
    if ours_autograd:
        oa = med(ours_autograd, "train_images_per_s")
        row.update({"ours_autograd_images_per_s": oa, "autograd_ratio": oa / t})
    if ours_old:
        oo = med(ours_old, "train_images_per_s")
        row.update({"ours_per_tensor_images_per_s": oo, "per_tensor_ratio": oo / t,
                    "flat_gain": o / oo})
    if model in MLP_LAYERS and shape is None:
        oe, te = med(ours, "epoch_ms"), med(theirs, "epoch_ms")
        gemm = statistics.median([x["gemm_gflops"] for x in ours + theirs])
        epoch_gflop = mlp_epoch_gflop(model)
        row.update({"ours_epoch_ms": oe, "pytorch_epoch_ms": te, "gemm_gflops": gemm})
        for k, g in epoch_gflop.items():
            floor_ms = g / gemm * 1e3
            row.update({f"floor_ms_{k}": floor_ms, f"ours_fraction_of_floor_{k}": floor_ms / oe,
                        f"pytorch_fraction_of_floor_{k}": floor_ms / te})
    layout = (", channels-last" if a.channels_last else "") + (", amp" if a.amp else "")
    print(f"\n{model} {row['shape']} ({a.device}{layout}, batch {row['batch']}, windows of {row['window_steps']} steps, "
          f"threads {ours[0]['threads']}, median of {a.reps}, interleaved)")
    rng = lambda xs: f"[{min(x['train_images_per_s'] for x in xs):.1f}-{max(x['train_images_per_s'] for x in xs):.1f}]"
    row.update({"ours_all": [x["train_images_per_s"] for x in ours],
                "pytorch_all": [x["train_images_per_s"] for x in theirs]})
    print(f"  train step images/s: rethink ({row['engine']}) {o:9.1f} {rng(ours)}   "
          f"pytorch eager, SGD {row['pytorch_sgd']}, {t:9.1f} {rng(theirs)}   ratio {o / t:5.2f}")
    for impl in impls[1:]:
        print(f"    against pytorch eager, SGD {impl}: {row[f'pytorch_{impl}_images_per_s']:9.1f} "
              f"{rng(theirs_by[impl])}   ratio {row[f'ratio_vs_{impl}']:5.2f}")
    print(f"  fastest window images/s: rethink {ob:9.1f}   pytorch eager {tb:9.1f}   ratio {ob / tb:5.2f}")
    if flop:
        mfu = ""
        if a.peak_tflops:
            mfu = (f"; model FLOP utilization rethink {100 * row['ours_tflops'] / a.peak_tflops:.1f}%, "
                   f"pytorch {100 * row['pytorch_tflops'] / a.peak_tflops:.1f}% of {a.peak_tflops:g} TFLOP/s")
        print(f"  {flop / 1e9:.3f} GFLOP per training image: rethink {row['ours_tflops']:.3f} TFLOP/s, "
              f"pytorch {row['pytorch_tflops']:.3f} TFLOP/s{mfu}")
    if ours_autograd:
        print(f"  rethink through autograd: {oa:9.1f} images/s, ratio {oa / t:5.2f}")
    if ours_old:
        print(f"  rethink with the per-tensor SGD step: {oo:9.1f} images/s, ratio {oo / t:5.2f}; "
              f"flat SGD {100 * (o / oo - 1):+.1f}%")
    if "gemm_gflops" in row:
        print(f"  epoch (1,000 train + eval): rethink {oe:.2f} ms, pytorch {te:.2f} ms; GEMM {gemm:.0f} GFLOP/s")
        for k in epoch_gflop:
            print(f"    floor counting {k} FLOPs: {row[f'floor_ms_{k}']:.2f} ms; rethink at "
                  f"{100 * row[f'ours_fraction_of_floor_{k}']:.0f}%, pytorch at {100 * row[f'pytorch_fraction_of_floor_{k}']:.0f}% of it")
    sys.stdout.flush()
    return row


if __name__ == "__main__":
    main()
