#!/usr/bin/env python3
"""Summarizes a calibration (scripts/calibrate.sh) for golden/cpu-bands.json.

Usage: scripts/bands.py CAL_DIR [--rethink BIN] [--scale SCALE]

For every CAL_DIR/LEVEL/sSEED it runs `rethink report` (the claims registry's own checks,
so the numbers are the ones the tests judge), then prints, per band: the seeds and levels
measured, min / median / max (with --scale, only the claims `rethink claims --scale SCALE`
lists, since one scale's runs may also be judged by another's claims: the CPU scale's by
the grid's), whether every verdict held, and a snapshot resolution:
the finest step (1, 2 or 5 times a power of ten) at which each seed's values agree across
the instruction-set levels measured, and at least half the standard deviation over seeds,
so that a seed's cell is not a rounding edge away. It also prints how many distinct cells
the calibration values occupy at that resolution: a snapshot value must be able to move, so
a band whose values all land in one cell while it holds is reported with `snapshot: false`
(in the bands file, its values leave the snapshots; whether it holds stays in). The result is
also written as JSON to CAL_DIR/bands-summary.json, with every value by level, band and seed
under "per_seed" (the shape of a bands file's `per_seed` blocks, which a unit test of
src/claims/bands.rs holds inside their bands).
"""
import argparse
import json
import math
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path


def quantize(v, r):
    return round(round(v / r) * r, 10)


def fits(values, r):
    """Every value rounds to one multiple of r, with half the spread to spare each side."""
    lo, hi = min(values), max(values)
    half = (hi - lo) / 2
    q = quantize(lo, r)
    return quantize(hi, r) == q and lo - half >= q - r / 2 and hi + half <= q + r / 2


def resolution(*value_sets):
    """The finest step (1, 2 or 5 times a power of ten) that fits every set of values."""
    for exp in range(-3, 4):
        for m in (1, 2, 5):
            r = m * 10.0**exp
            if all(fits(v, r) for v in value_sets if v):
                return r
    return None


def per_seed_resolution(rows):
    """The snapshot step for (level, seed, value) rows, and the cells their values occupy."""
    vals = [r[2] for r in rows if r[2] is not None]
    if not vals:
        return None, 0
    sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
    by_seed = defaultdict(list)
    for level, seed, v, _ in rows:
        if v is not None:
            by_seed[seed].append(v)
    for exp in range(-3, 4):
        for m in (1, 2, 5):
            r = m * 10.0**exp
            if r < sd / 2:
                continue
            if all(len({quantize(v, r) for v in vs}) == 1 for vs in by_seed.values()):
                return r, len({quantize(v, r) for v in vals})
    return None, 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cal")
    ap.add_argument("--rethink", default="target/release/rethink")
    ap.add_argument("--scale")
    a = ap.parse_args()
    cal = Path(a.cal)
    only = None
    if a.scale:
        listed = subprocess.run(
            [a.rethink, "claims", "--scale", a.scale], check=True, capture_output=True, text=True
        ).stdout
        only = {line.split()[0] for line in listed.splitlines() if line.strip()}
    by_band = defaultdict(list)
    verdicts = defaultdict(list)
    for level_dir in sorted(p for p in cal.iterdir() if p.is_dir()):
        for seed_dir in sorted(level_dir.glob("s*")):
            subprocess.run(
                [a.rethink, "report", str(seed_dir)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            summary = json.loads((seed_dir / "summary.json").read_text())
            for j in summary["verdicts"]:
                if only is not None and j["claim"] not in only:
                    continue
                v = j["verdict"]
                verdicts[j["claim"]].append((level_dir.name, j["seed"], None if v is None else v["holds"]))
                if v is None:
                    continue
                for m in v["measures"]:
                    key = (j["claim"], m["band"]["name"] if m["band"] else "(reported)", m["what"])
                    by_band[key].append((level_dir.name, j["seed"], m["value"], m["holds"]))
    out = {"verdicts": {}, "measures": []}
    print("claim verdicts (level, seed, holds):")
    for claim, vs in verdicts.items():
        held = sum(1 for v in vs if v[2])
        print(f"  {claim}: held {held} of {len(vs)}" + ("" if held == len(vs) else f"  {vs}"))
        out["verdicts"][claim] = {"held": held, "of": len(vs), "runs": vs}
    print("\nmeasures:")
    for (claim, band, what), rows in sorted(by_band.items()):
        vals = [r[2] for r in rows if r[2] is not None]
        levels = sorted({r[0] for r in rows})
        seeds = sorted({r[1] for r in rows})
        if not vals:
            print(f"  {claim} / {band} / {what}: no values")
            continue
        res = resolution(vals)
        entry = {
            "claim": claim,
            "band": band,
            "what": what,
            "levels": levels,
            "seeds": seeds,
            "n": len(vals),
            "min": min(vals),
            "median": statistics.median(vals),
            "max": max(vals),
            "all_hold": all(r[3] for r in rows),
            "resolution": res,
            "per_level": {
                lv: sorted(r[2] for r in rows if r[0] == lv and r[2] is not None) for lv in levels
            },
        }
        out["measures"].append(entry)
        print(
            f"  {claim} / {band} / {what}: n={len(vals)} levels={levels} seeds={seeds} "
            f"min={min(vals):.4g} median={statistics.median(vals):.4g} max={max(vals):.4g} "
            f"hold={entry['all_hold']} resolution={res}"
        )
    print("\nbands (pooled over the measures that use them):")
    out["bands"] = {}
    names = sorted({m["band"] for m in out["measures"] if m["band"] != "(reported)"})
    for name in names:
        ms = [m for m in out["measures"] if m["band"] == name]
        sets = [[r[2] for r in by_band[(m["claim"], name, m["what"])] if r[2] is not None] for m in ms]
        vals = [v for s in sets for v in s]
        b = {
            "levels": sorted({lv for m in ms for lv in m["levels"]}),
            "seeds": sorted({sd for m in ms for sd in m["seeds"]}),
            "n": len(vals),
            "min": min(vals),
            "median": statistics.median(vals),
            "max": max(vals),
            "all_hold": all(m["all_hold"] for m in ms),
            "resolution": resolution(*sets),
            "measures": len(ms),
        }
        rows = [r for m in ms for r in by_band[(m["claim"], name, m["what"])]]
        step, cells = per_seed_resolution(rows)
        b["per_seed_resolution"] = step
        b["cells"] = cells
        b["snapshot"] = cells > 1
        out["bands"][name] = b
        print(f"  {name}: {b}")
    per_seed = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for (claim, band, what), rows in sorted(by_band.items()):
        if band == "(reported)":
            continue
        for level, seed, v, _ in rows:
            if v is not None:
                per_seed[level][band][str(seed)].append(round(v, 6))
    out["per_seed"] = {
        lv: {b: dict(sorted(s.items(), key=lambda kv: int(kv[0]))) for b, s in sorted(bs.items())}
        for lv, bs in sorted(per_seed.items())
    }
    (cal / "bands-summary.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    sys.exit(main())
