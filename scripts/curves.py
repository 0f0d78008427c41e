#!/usr/bin/env python3
"""The mid scale's curve cells (golden/mid-bands.json, `curves`) from a calibration.

Usage: scripts/curves.py [--from GOLDEN] CAL_DIR [RUN_DIR ...]

CAL_DIR has scripts/calibrate.sh's layout (LEVEL/sSEED/runs/PRESET). For every preset and
curve point (the first epochs at train accuracy 0.5, 0.9 and 1.0; the test accuracy at half
the budget and at its end, as tests/claims/mid.rs reads them) it prints the values over the
seeds and levels, and the cell a curve snapshot quantizes against: the median, and a width
of twice the calibrated spread (max - min; at least 1 epoch, or 0.002 of accuracy), so that
every calibration value lies within half a width of the median (cell 0) and a moved cell
means a curve that left the range the calibration seeds span by about that range again. A
point no calibration run reached (a regularized AlexNet's 100%) is `"never": true`: its
snapshot holds null while the run does not reach it either, and "reached" once it does.
A point some calibration runs reached and others never did (ResNet18's 100% at the end of
its budget) is `"mixed": true` and leaves the snapshot: whether a run reaches it, and when,
moves with last-bit changes of the kernels, so no cell of it is reproducible.
The JSON for golden/mid-bands.json is written to CAL_DIR/curves.json.

With --from GOLDEN, the values already recorded in GOLDEN's `curves` (other seeds, other
levels, measured on other machines) are kept and CAL_DIR's runs are added to them; a run of
a level and seed already recorded replaces it.

Each RUN_DIR given after CAL_DIR is placed against those cells (its preset read from its
config.json's name): what a curve snapshot of that run would hold.
"""
import json
import statistics
import sys
from pathlib import Path

POINTS = ["epochs_to_0.5", "epochs_to_0.9", "epochs_to_1.0", "test_acc_at_half", "test_acc_at_end"]


def points(run):
    cfg = json.loads((run / "config.json").read_text())
    metrics = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l]
    first = lambda t: next((m["epoch"] for m in metrics if m["train_acc"] >= t), None)
    at = lambda e: next((m.get("test_acc") for m in metrics if m["epoch"] == e), None)
    budget = cfg["max_epochs"]
    return cfg["name"], dict(zip(POINTS, [first(0.5), first(0.9), first(1.0), at(budget // 2), at(budget)]))


def cell(v, c):
    if c.get("mixed"):
        return "unpinned"
    if c.get("never"):
        return None if v is None else "reached"
    return None if v is None else round((v - c["median"]) / c["width"])


def main():
    args = sys.argv[1:]
    values = {}
    if args[:1] == ["--from"]:
        golden = json.loads(Path(args[1]).read_text())
        for preset, ps in golden["curves"]["cells"].items():
            for k, c in ps.items():
                rows = values.setdefault(preset, {}).setdefault(k, {})
                for lv, sd, v in c["values"]:
                    rows[(lv, f"s{sd}")] = v
        args = args[2:]
    cal = Path(args[0])
    for run in sorted(cal.glob("*/s*/runs/*")):
        if not (run / "summary.json").exists():
            continue
        level, seed = run.parent.parent.parent.name, run.parent.parent.name
        name, p = points(run)
        for k, v in p.items():
            values.setdefault(run.name, {}).setdefault(k, {})[(level, seed)] = v
    values = {
        preset: {k: [(lv, sd, v) for (lv, sd), v in rows.items()] for k, rows in ps.items()}
        for preset, ps in values.items()
    }
    cells = {}
    for preset, ps in sorted(values.items()):
        cells[preset] = {}
        for k in POINTS:
            rows = ps[k]
            vals = [v for _, _, v in rows if v is not None]
            if not vals:
                print(f"{preset} {k}: never reached in {len(rows)} runs")
                cells[preset][k] = {"never": True, "values": [[lv, int(sd[1:]), None] for lv, sd, _ in rows]}
                continue
            if len(vals) < len(rows):
                print(f"{preset} {k}: reached in {len(vals)} of {len(rows)} runs: mixed, not pinned")
                cells[preset][k] = {"mixed": True, "values": [[lv, int(sd[1:]), v] for lv, sd, v in rows]}
                continue
            floor = 1.0 if k.startswith("epochs") else 0.002
            # Strictly more than twice the spread: every calibration value lies inside cell 0,
            # none on its edge.
            width = 2 * (max(vals) - min(vals)) + floor
            # The mean of the middle two with an even count: rounded like the width, so that
            # golden/ holds 0.8399 rather than 0.8399000000000001. A float whatever the count
            # (an odd count of epochs has an integer median), so that golden/ writes 2.0 either way.
            med = round(float(statistics.median(vals)), 6)
            cells[preset][k] = {
                "median": med,
                "width": round(width, 6),
                "values": [[lv, int(sd[1:]), v] for lv, sd, v in rows],
            }
            print(f"{preset} {k}: n={len(rows)} values {sorted(vals)} median {med:g} width {width:g}")
    (cal / "curves.json").write_text(json.dumps(cells, indent=1))
    for run in map(Path, args[1:]):
        name, p = points(run)
        preset = name
        print(f"\n{run} ({preset}):")
        for k in POINTS:
            c = cells.get(preset, {}).get(k)
            print(f"  {k}: {p[k]} -> cell {cell(p[k], c) if c else 'no calibrated cell'}")


if __name__ == "__main__":
    main()
