#!/usr/bin/env python3
"""The import graph of src/'s top-level modules, and its check.

Prints one line per module: the modules its non-test code imports (`crate::NAME` paths;
`crate::named!` is the `names` module's macro). Exits 1, naming them, when a module imports
one that the layering (LAYERS, bottom first) puts above it, so there is no cycle. Test code
(`#[cfg(test)]` items) is held to the same layering: a test that needs a module above its
own belongs in that module's tests, and helpers that build synthetic runs live low enough
for every test that reads runs (experiment::testutil).
Usage: scripts/import_graph.py [SRC_DIR]
"""
import re
import sys
from pathlib import Path

# Bottom first; a module may import only the modules before it. `theory` stands beside the
# training stack: it reads data and randomize only.
LAYERS = ["error", "names", "fsio", "data", "models", "randomize", "record", "train", "theory", "experiment",
          "paper", "claims", "suite", "report"]


def strip_tests(text: str) -> str:
    """The text without `#[cfg(test)]` items (a module or a function, up to its brace)."""
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        j = text.find("{", m.end())
        depth, k = 0, j
        while k < len(text):
            depth += {"{": 1, "}": -1}.get(text[k], 0)
            k += 1
            if depth == 0:
                break
        i = k
    out.append(text[i:])
    return "".join(out)


def imports(text: str) -> set:
    """The top-level modules `text` names as `crate::NAME`."""
    used = set(re.findall(r"crate::([a-z_]+)", text))
    if "named" in used:
        used.add("names")
    return used & set(LAYERS)


def main() -> int:
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "src")
    graph, tests = {}, {}
    for name in LAYERS:
        files = [src / f"{name}.rs"] + sorted((src / name).rglob("*.rs"))
        whole = "".join(f.read_text() for f in files if f.is_file())
        if not whole:
            print(f"import_graph: no module {name} under {src}", file=sys.stderr)
            return 1
        text = "".join(strip_tests(f.read_text()) for f in files if f.is_file())
        graph[name] = sorted(imports(text) - {name})
        tests[name] = sorted(imports(whole) - imports(text) - {name})
    bad = []
    for name, deps in graph.items():
        print(f"{name:>10} -> {' '.join(deps) if deps else '-'}")
        for d in deps:
            if LAYERS.index(d) > LAYERS.index(name):
                bad.append(f"{name} imports {d}, which is above it")
        for d in tests[name]:
            if LAYERS.index(d) > LAYERS.index(name):
                bad.append(f"{name}'s tests import {d}, which is above it")
    if bad:
        print("import_graph: " + "; ".join(bad), file=sys.stderr)
        return 1
    print("import_graph: no cycle; every module, its tests included, imports only modules below it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
