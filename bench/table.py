#!/usr/bin/env python3
"""Turns //bench:compare's JSON into the Markdown tables of the README (section "Performance").

    python3 bench/table.py bench.json

One row per case and parameters, one column per implementation: the median, then its ratio to the
case's baseline (raw, or poller/epoll for the echo cases) measured in the same run, with the ratio's
min-max over the repetitions (paired: each repetition ran every implementation once, in turn).
First the measuring thread's CPU time (single-threaded cases), then the wall clock (every case),
then the memory case. Reads older JSON (ratio_to_raw, no spread) too.
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
    "echo": ("ns per message", 1),
    # The servers (libevent, libuv, poller/epoll) under the same clients.
    "echo_server": ("ns per message", 1),
}


def fmt(value, scale=1):
    value /= scale
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def ratio_cell(r, key):
    ratio = r.get(key, r.get(key + "_to_raw"))
    if ratio is None:
        return ""
    low, high = r.get(key + "_min"), r.get(key + "_max")
    if low is None or high is None:
        return f" ({ratio:.2f}×)"
    return f" ({ratio:.2f}×, {low:.2f}–{high:.2f})"


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
    table({k: v for k, v in groups.items()
           if not k[0].startswith("echo") and any("cpu_ns_per_op" in r for r in v.values())},
          impls, "cpu_ns_per_op", "cpu_ratio", "CPU time of the measuring thread")
    print()
    table(groups, impls, "ns_per_op", "ratio", "wall clock")
    memory_table(rows)


def table(groups, impls, value_key, ratio_key, title):
    print(f"**{title}**: median (ratio to the baseline, min–max of the ratio)")
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
            if impl != r.get("baseline", "raw"):
                cell += ratio_cell(r, ratio_key)
            if case == "wake_burst" and "write_syscalls_per_burst" in r:
                cell += f", {r['write_syscalls_per_burst']:.0f} write(2)"
            if case.startswith("echo") and "messages_per_second" in r:
                cell += f", {r['messages_per_second']:,.0f} msg/s"
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
