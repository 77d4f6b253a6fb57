#!/usr/bin/env python3
"""Turns //bench:compare's JSON into the Markdown tables of the README (section "Performance").

    python3 bench/table.py bench.json

One row per case and parameters, one column per implementation: the median, and its ratio to raw
measured in the same run. First the wall clock, then the measuring thread's CPU time (single-
threaded cases only). The memory case gets its own table.
"""

import json
import sys

UNITS = {
    "pingpong": ("ns per round trip", 1),
    "pingpong_deferred": ("ns per round trip", 1),
    "libev": ("µs per round", 1e3),
    "wake_round_trip": ("ns per wake, waiter asleep", 1),
    "wake_burst": ("ns per Wake() call in a burst", 1),
    "churn": ("ns per handle (Add+Modify+Delete)", 1),
    "idle": ("ns per Wait(0)", 1),
}


def fmt(value, scale=1):
    value /= scale
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    with open(argv[1]) as f:
        data = json.load(f)
    rows = data["results"]
    impls = []
    for r in rows:
        if r["impl"] not in impls:
            impls.append(r["impl"])
    groups = {}
    for r in rows:
        if r["case"] == "memory":
            continue
        key = (r["case"], json.dumps(r["params"]))
        groups.setdefault(key, {})[r["impl"]] = r
    table(groups, impls, "ns_per_op", "ratio_to_raw", "wall clock")
    print()
    table({k: v for k, v in groups.items() if any("cpu_ns_per_op" in r for r in v.values())},
          impls, "cpu_ns_per_op", "cpu_ratio_to_raw", "CPU time of the measuring thread")
    memory_table(rows)


def table(groups, impls, value_key, ratio_key, title):
    print(f"**{title}**: median, (ratio to raw)")
    print()
    print("| case | parameters | unit | " + " | ".join(impls) + " |")
    print("|---" * (3 + len(impls)) + "|")
    for (case, params), by_impl in groups.items():
        unit, scale = UNITS.get(case, ("ns", 1))
        params = json.loads(params)
        text = ", ".join(f"{k}={v}" for k, v in params.items()
                         if k not in ("round_trips", "writes"))
        if case == "libev":
            text = f"P={params['pipes']}, A={params['active']}, W={params['writes']}"
        cells = []
        for impl in impls:
            r = by_impl.get(impl)
            if r is None or r.get(value_key) is None:
                cells.append("–")
                continue
            cell = fmt(r[value_key], scale)
            if impl != "raw":
                cell += f" ({r[ratio_key]:.2f}×)"
            if case == "wake_burst" and "write_syscalls_per_burst" in r:
                cell += f", {r['write_syscalls_per_burst']:.0f} write(2)"
            cells.append(cell)
        print(f"| {case} | {text} | {unit} | " + " | ".join(cells) + " |")


def memory_table(rows):
    memory = [r for r in rows if r["case"] == "memory"]
    if memory:
        print()
        print("| memory (" + ", ".join(f"{k}={v}" for k, v in memory[0]["params"].items()) +
              ") | " + " | ".join(r["impl"] for r in memory) + " |")
        print("|---" * (1 + len(memory)) + "|")
        for key, label in [("heap_bytes_per_registration", "heap bytes per registration"),
                           ("heap_allocations_per_registration", "heap allocations per registration"),
                           ("heap_allocations_per_wait", "heap allocations per Wait")]:
            print(f"| {label} | " + " | ".join(
                f"{r[key]:.2f}".rstrip("0").rstrip(".") if key in r else "n/a" for r in memory) + " |")


if __name__ == "__main__":
    main(sys.argv)
