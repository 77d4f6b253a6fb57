#!/usr/bin/env python3
"""Plots //bench:compare's JSON: ns per round of the libev benchmark against registered handles.

    python3 bench/plot.py bench.json docs/bench.png

One line per implementation (raw, each poller backend, each peer), one panel per number of active
writers; error bars span the min-max over the repetitions. Plots the measuring thread's CPU time per round where the JSON has it (a busy machine
disturbs it far less than the wall clock), else the wall clock. Needs matplotlib (Debian:
apt-get install python3-matplotlib; run it with /usr/bin/python3).
"""

import json
import sys


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    source, target = argv[1], argv[2]
    with open(source) as f:
        data = json.load(f)
    rows = [r for r in data["results"] if r["case"] == "libev"]
    if not rows:
        sys.exit(f"{source}: no 'libev' case in the results")

    try:
        import matplotlib
    except ImportError:
        sys.exit("matplotlib is missing: apt-get install python3-matplotlib, then run this with "
                 "Debian's /usr/bin/python3")

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key = "cpu_ns_per_op" if all(r.get("cpu_ns_per_op") for r in rows) else "ns_per_op"
    measure = "CPU µs per round" if key == "cpu_ns_per_op" else "µs per round"
    actives = sorted({r["params"]["active"] for r in rows})
    impls = []
    for r in rows:
        if r["impl"] not in impls:
            impls.append(r["impl"])
    figure, axes = plt.subplots(1, len(actives), figsize=(6 * len(actives), 4.5), squeeze=False)
    for axis, active in zip(axes[0], actives):
        for impl in impls:
            # The median, and the min-max over the repetitions as error bars.
            low_key, high_key = ("cpu_min", "cpu_max") if key == "cpu_ns_per_op" else (
                "ns_min", "ns_max")
            points = sorted(
                (r["params"]["pipes"], r[key] / 1e3, r.get(low_key, r[key]) / 1e3,
                 r.get(high_key, r[key]) / 1e3)
                for r in rows
                if r["impl"] == impl and r["params"]["active"] == active
            )
            style = {"marker": "."}
            if impl == "raw":
                style = {"linewidth": 2.5, "color": "black", "linestyle": "--", "marker": "."}
            elif impl.startswith("poller/"):
                style = {"linewidth": 2.5, "marker": "o"}
            axis.errorbar([p[0] for p in points], [p[1] for p in points],
                          yerr=[[p[1] - p[2] for p in points], [p[3] - p[1] for p in points]],
                          label=impl, capsize=2, **style)
        writes = rows[0]["params"]["writes"]
        axis.set_title(f"{active} active writer{'s' if active > 1 else ''}, {writes} writes per round")
        axis.set_xscale("log")
        # Log too: poll's O(registered) curve would flatten every other line.
        axis.set_yscale("log")
        axis.set_xlabel("registered pipes")
        axis.set_ylabel(f"{measure} (median, bars: min-max)")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    machine = data.get("machine", "")
    figure.suptitle(f"libev benchmark: {measure} vs registered handles\n{machine}", fontsize=10)
    figure.tight_layout()
    figure.savefig(target, dpi=100)
    print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv)
