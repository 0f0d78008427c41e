#!/usr/bin/env python3
"""Lists every snapshot measure's band: its resolution, how many rounding cells its
calibration values span (from the measured min to max, golden/*-bands.json `measured`), and
how many cells lie inside the band (open ends: unbounded).

Usage: scripts/snapshot_cells.py [golden/cpu-bands.json ...]

A snapshot value must be able to move: a band that snapshots pin (`snapshot` not false)
must have two cells or more inside it, or its pinned value could only ever show one while
it holds; and its calibration values must span one cell, or its pinned value would move with
the seed or the CPU (src/claims/bands.rs tests both for every file, the second also for every
recorded per-seed value at every level). Bands with `snapshot: false` are
listed too (their values are not pinned; whether they hold is).
"""
import glob
import json
import sys


def cell(v, r):
    return round(v / r)


def main():
    files = sys.argv[1:] or sorted(glob.glob("golden/*-bands.json"))
    print("| file | band | resolution | snapshot | cells inside the band | calibration min .. max (n) | cells the calibration spans |")
    print("|---|---|---|---|---|---|---|")
    for f in files:
        bands = json.load(open(f))["bands"]
        for name, b in bands.items():
            m = b.get("measured")
            pinned = b.get("snapshot", True)
            if b.get("unread"):
                continue
            r = b["resolution"]
            inside = "unbounded"
            if "min" in b and "max" in b:
                inside = cell(b["max"], r) - cell(b["min"], r) + 1
            if not m:
                print(f"| {f} | {name} | {r} | {pinned} | {inside} | not calibrated | - |")
                continue
            cells = cell(m["max"], r) - cell(m["min"], r) + 1
            print(f"| {f} | {name} | {r} | {pinned} | {inside} | {m['min']:.4g} .. {m['max']:.4g} ({m['n']}) | {cells} |")


if __name__ == "__main__":
    main()
