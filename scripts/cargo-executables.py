#!/usr/bin/env python3
"""The executables a cargo build made, from its `--message-format=json-render-diagnostics`
messages on stdin: one path per line, optionally only those of the named targets.
Usage: cargo build ... --message-format=json-render-diagnostics | scripts/cargo-executables.py [TARGET...]
"""
import json
import sys

wanted = set(sys.argv[1:])
for line in sys.stdin:
    if not line.startswith("{"):
        continue
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        if not wanted or m["target"]["name"] in wanted:
            print(m["executable"])
