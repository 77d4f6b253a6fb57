#!/usr/bin/env python3
"""Prints the performance goal table from one or more //bench:compare JSON runs.

    python3 bench/goals.py [--before=before.json] run1.json [run2.json ...]

Each cell is the median with its min-max over the repetitions. Ratios of two
implementations are paired: within a repetition every implementation runs once,
in turn, so each repetition gives one ratio. CPU time of the measuring thread
where the case has it, else the wall clock. "met" needs the median to meet the
goal in every run given.
"""

import json
import sys


def load(path):
    with open(path) as f:
        return json.load(f)["results"]


def find(rows, case, impl, **params):
    for r in rows:
        if r["case"] == case and r["impl"] == impl and all(
                r["params"].get(k) == v for k, v in params.items()):
            return r
    return None


def median(values):
    values = sorted(values)
    n = len(values)
    if n == 0:
        return None
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def spread(values):
    return median(values), min(values), max(values)


def samples(r, wall=False):
    return r["samples"] if wall else (r.get("cpu_samples") or r["samples"])


def ratio_to_raw(rows, case, impl, **params):
    r = find(rows, case, impl, **params)
    if r is None:
        return None
    if "cpu_ratio" in r:
        return r["cpu_ratio"], r["cpu_ratio_min"], r["cpu_ratio_max"]
    return r["ratio"], r["ratio_min"], r["ratio_max"]


def paired(rows, case, a, b, wall=False, **params):
    """a ÷ b, one ratio per repetition."""
    ra, rb = find(rows, case, a, **params), find(rows, case, b, **params)
    if ra is None or rb is None:
        return None
    return spread([x / y for x, y in zip(samples(ra, wall), samples(rb, wall))])


def extra(rows, case, impl, key, **params):
    r = find(rows, case, impl, **params)
    if r is None or key not in r:
        return None
    return r[key], r[key + "_min"], r[key + "_max"]


def fmt(triple, digits=2):
    if triple is None:
        return "–"
    m, lo, hi = triple
    if digits == 0:
        return f"{m:.0f} ({lo:.0f}–{hi:.0f})"
    return f"{m:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"


def libev_points(rows):
    return sorted({(r["params"]["pipes"], r["params"]["active"])
                   for r in rows if r["case"] == "libev"})


def worst(triples, pick=max):
    """The point whose median is worst, as a triple."""
    triples = [t for t in triples if t is not None]
    return pick(triples, key=lambda t: t[0]) if triples else None


def epoll_vs_fastest_peer(rows):
    """Per libev point: poller/epoll ÷ the fastest peer there (paired)."""
    peers = ["libevent", "libev", "libuv", "asio"]
    out = []
    for pipes, active in libev_points(rows):
        best = None
        for peer in peers:
            r = find(rows, "libev", peer, pipes=pipes, active=active)
            if r is not None and (best is None or median(samples(r)) < best[0]):
                best = (median(samples(r)), peer)
        if best is not None:
            out.append(paired(rows, "libev", "poller/epoll", best[1],
                              pipes=pipes, active=active))
    return out


GOALS = [
    ("level ping-pong, poller/epoll ÷ raw", "1.04", "≤ 1.02",
     lambda rows: ratio_to_raw(rows, "pingpong", "poller/epoll", mode="level"),
     lambda m: m <= 1.02),
    ("`Wait(0)`, 10 idle registrations, poller/epoll ÷ raw", "1.13", "≤ 1.05",
     lambda rows: ratio_to_raw(rows, "idle", "poller/epoll", registrations=10),
     lambda m: m <= 1.05),
    ("`Wait(0)`, 8,000 idle registrations, poller/epoll ÷ raw", "1.17", "≤ 1.05",
     lambda rows: ratio_to_raw(rows, "idle", "poller/epoll", registrations=8000),
     lambda m: m <= 1.05),
    ("write(2) calls for 1,000 `Wake()` while the waiter is busy", "1", "0",
     lambda rows: extra(rows, "wake_burst", "poller/epoll",
                        "write_syscalls_per_burst"),
     lambda m: m == 0),
    ("ns per `Wake()` in that burst, poller/epoll ÷ raw", "1.70", "≤ 1.2",
     lambda rows: ratio_to_raw(rows, "wake_burst", "poller/epoll"),
     lambda m: m <= 1.2),
    ("wake round trip, poller/epoll ÷ raw (wall)", "1.15", "≤ 1.05 or noise",
     lambda rows: ratio_to_raw(rows, "wake_round_trip", "poller/epoll"),
     lambda m: m <= 1.05),
    ("oneshot ping-pong, poller/io_uring ÷ poller/epoll", "1.49", "≤ 1.0",
     lambda rows: paired(rows, "pingpong", "poller/io_uring", "poller/epoll",
                         mode="oneshot"),
     lambda m: m <= 1.0),
    ("libev benchmark, poller/io_uring ÷ raw, worst point", "1.11–1.38",
     "≤ 1.05",
     lambda rows: worst([ratio_to_raw(rows, "libev", "poller/io_uring",
                                      pipes=p, active=a)
                         for p, a in libev_points(rows)]),
     lambda m: m <= 1.05),
    ("churn, poller/io_uring ÷ raw", "3.0", "≤ 1.5",
     lambda rows: ratio_to_raw(rows, "churn", "poller/io_uring"),
     lambda m: m <= 1.5),
    ("libev benchmark, poller/epoll ÷ fastest peer, worst point",
     "≈ 1.0 at P=100, A=1", "< 1 everywhere",
     lambda rows: worst(epoll_vs_fastest_peer(rows)),
     lambda m: m < 1.0),
    ("echo 2,000 × 200, messages/s, poller/io_uring ÷ poller/epoll", "0.38",
     "≥ 1.0",
     lambda rows: paired(rows, "echo", "poller/epoll", "poller/io_uring",
                         wall=True, clients=2000),
     lambda m: m >= 1.0),
]


def main(argv):
    paths = [a for a in argv[1:] if not a.startswith("--before=")]
    before = [a.split("=", 1)[1] for a in argv[1:] if a.startswith("--before=")]
    if not paths:
        sys.exit(__doc__)
    runs = [load(path) for path in paths]
    base = [load(path) for path in before]
    head = " | ".join(["before, this machine"] * len(base) +
                      [f"after, run {i + 1}" for i in range(len(runs))])
    print(f"| figure | before | goal | {head} | met |")
    print("|---" * (4 + len(base) + len(runs)) + "|")
    for name, before_text, goal, measure, meets in GOALS:
        cells, met = [], True
        digits = 0 if "write(2)" in name else 2
        for rows in base:
            cells.append(fmt(measure(rows), digits))
        for rows in runs:
            triple = measure(rows)
            cells.append(fmt(triple, digits))
            met = met and triple is not None and meets(triple[0])
        print(f"| {name} | {before_text} | {goal} | " + " | ".join(cells) +
              f" | {'yes' if met else '**no**'} |")


if __name__ == "__main__":
    main(sys.argv)
