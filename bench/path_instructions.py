#!/usr/bin/env python3
"""Instructions per call on poller's hot paths, counted by valgrind's callgrind.

    python3 bench/path_instructions.py bazel-bin/bench/compare [poller/epoll ...]

Counts are of user-space instructions only (the kernel's work in a system call is not counted),
and repeatable whatever the machine's load: they show the work poller adds around each system
call, which the timed cases measure only through a noisy clock. For each implementation, beside
raw: one loop iteration of Wait(0) with 10 idle registrations, one of a level-triggered and one of
a oneshot ping-pong (the handler's read and write included, the same for every implementation).
(The wake case is not run: its threads spin, which valgrind's one-thread-at-a-time scheduling
does not survive.)
"""

import re
import subprocess
import sys
import tempfile

RUNS = {
    "Wait(0), 10 idle registrations": (
        ["--cases=idle", "--idle_registrations=10", "--idle_waits=20000"], "RunOnce(bool)"),
    "level ping-pong, one Wait and its handler": (
        ["--cases=pingpong", "--pingpong_modes=level", "--pingpong_round_trips=5000"],
        "RunOnce(bool)"),
    "oneshot ping-pong, one Wait and its handler (with the re-arm)": (
        ["--cases=pingpong", "--pingpong_modes=oneshot", "--pingpong_round_trips=5000"],
        "RunOnce(bool)"),
}

LOOP_CLASS = {"raw": "RawLoop", "poller": "PollerLoop"}


def per_call(out_file, loop_class, function):
    """Inclusive instructions per call of loop_class::function."""
    text = subprocess.run(
        ["callgrind_annotate", "--tree=caller", "--inclusive=yes", out_file],
        capture_output=True, text=True, check=True).stdout
    lines = text.splitlines()
    total_calls = 0
    inclusive = None
    for i, line in enumerate(lines):
        if f"{loop_class}::{function}" in line and " *  " in line:
            inclusive = int(line.split()[0].replace(",", ""))
            j = i - 1
            while j >= 0 and " < " in lines[j]:
                match = re.search(r"\(([\d,]+)x\)", lines[j])
                if match:
                    total_calls += int(match.group(1).replace(",", ""))
                j -= 1
            break
    if inclusive is None or total_calls == 0:
        return None
    return inclusive / total_calls


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    binary = argv[1]
    backends = argv[2:] or ["poller/epoll", "poller/io_uring"]
    print("| path | raw | " + " | ".join(backends) + " |")
    print("|---" * (2 + len(backends)) + "|")
    for name, (flags, function) in RUNS.items():
        cells = []
        raw = None
        for backend in backends:
            with tempfile.NamedTemporaryFile(suffix=".callgrind") as out:
                subprocess.run(
                    ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out.name}", binary,
                     "--repetitions=1", f"--impls=raw,{backend}"] + flags,
                    capture_output=True, check=True)
                if raw is None:
                    raw = per_call(out.name, LOOP_CLASS["raw"], function)
                cells.append(per_call(out.name, LOOP_CLASS["poller"], function))
        row = [f"{raw:,.0f}" if raw else "–"]
        row += [f"{c:,.0f} (+{c - raw:,.0f})" if c and raw else "–" for c in cells]
        print(f"| {name} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main(sys.argv)
