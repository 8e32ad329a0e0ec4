#!/usr/bin/env python3
"""Prints criterion results of `ours` against `peer` side by side, with ratios.

    criterion-ratios.py TARGET_DIR GROUP[:OURS:PEER] ...

For every benchmark group, reads <TARGET_DIR>/criterion/<group>/<id>/new/estimates.json
for our id (default "rust") and the peer's id (default "c") and prints the mean times and
ours / peer: below 1.0 means ours is faster.
"""
import json
import os
import sys


def mean_ns(target, group, bench):
    path = os.path.join(target, "criterion", group, bench, "new", "estimates.json")
    with open(path) as f:
        return json.load(f)["mean"]["point_estimate"]


def human(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    target = sys.argv[1]
    print(f"{'benchmark':<28} {'ours':>12} {'peer':>12} {'ours/peer':>10}")
    for spec in sys.argv[2:]:
        parts = spec.split(":")
        group = parts[0]
        ours = parts[1] if len(parts) > 1 else "rust"
        peer = parts[2] if len(parts) > 2 else "c"
        a, b = mean_ns(target, group, ours), mean_ns(target, group, peer)
        print(f"{group:<28} {human(a):>12} {human(b):>12} {a / b:>10.2f}")


if __name__ == "__main__":
    main()
