#!/usr/bin/env bash
# Runs //bench:compare with tiny counts and checks the JSON has every case for raw, each poller
# backend and each peer (the echo case: each poller backend; its echo_server rows: the servers on
# poller/epoll, libevent and libuv), every figure with its spread, and no heap allocation per Wait
# on any poller backend. Speed is never asserted.
set -euo pipefail
compare="${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-poller}/bench/compare"
[[ -x "$compare" ]] || compare="$(dirname "$0")/compare"
json="${TEST_TMPDIR:-/tmp}/bench.json"
"$compare" --repetitions=1 --pingpong_round_trips=200 --libev_pipes=100,1000 \
  --libev_active=1,10 --libev_writes=50 --libev_rounds=2 --wake_round_trips=100 \
  --wake_burst=100 --churn_handles=200 --idle_registrations=10,200 --idle_waits=100 \
  --memory_registrations=200 --memory_waits=200 --echo_loads=4x20 --echo_repetitions=1 \
  --json="$json"
python3 - "$json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
rows = data["results"]
impls = sorted({r["impl"] for r in rows})
cases = sorted({r["case"] for r in rows})
expected_cases = ["churn", "echo", "echo_server", "idle", "libev", "memory", "pingpong",
                  "pingpong_deferred", "wake_burst", "wake_round_trip"]
assert cases == expected_cases, cases
for needed in ["raw", "libevent", "libev", "libuv", "asio"]:
    assert needed in impls, (needed, impls)
assert any(i.startswith("poller/") for i in impls), impls
for case in expected_cases:
    have = {r["impl"] for r in rows if r["case"] == case}
    if case == "echo":  # poller's backends only: the demo's own server
        assert have and all(i.startswith("poller/") for i in have), have
        continue
    if case == "echo_server":  # the same clients against each library's server
        assert have == {"poller/epoll", "libevent", "libuv"}, have
        for r in rows:
            if r["case"] == case:
                assert r["params"]["clients_on"] == "poller/epoll", r
                assert r["baseline"] == "poller/epoll", r
                assert r["cpu_ns_per_op"] > 0 and r["load_cpu_ns_per_message"] > 0, r
        continue
    assert have == set(impls), (case, have, impls)
for r in rows:
    if r["case"] != "memory":
        assert r["ns_per_op"] is not None and r["ns_per_op"] > 0, r
        assert r["ns_min"] <= r["ns_per_op"] <= r["ns_max"], r
        assert r.get("ratio") is not None, r
    if r["case"] == "memory" and r["impl"].startswith("poller/"):
        assert r.get("heap_allocations_per_wait", 0) == 0, r
print("implementations:", ", ".join(impls))
print("1 passed, 0 failed")
PY
