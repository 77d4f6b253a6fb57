#!/usr/bin/env bash
# Runs //bench:compare with tiny counts and checks the JSON has every case for raw, each poller
# backend and each peer. Speed is never asserted.
set -euo pipefail
compare="${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-poller}/bench/compare"
[[ -x "$compare" ]] || compare="$(dirname "$0")/compare"
json="${TEST_TMPDIR:-/tmp}/bench.json"
"$compare" --repetitions=1 --pingpong_round_trips=200 --libev_pipes=100,1000 \
  --libev_active=1,10 --libev_writes=50 --libev_rounds=2 --wake_round_trips=100 \
  --wake_burst=100 --churn_handles=200 --idle_registrations=10,200 --idle_waits=100 \
  --memory_registrations=200 --memory_waits=200 --json="$json"
python3 - "$json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
rows = data["results"]
impls = sorted({r["impl"] for r in rows})
cases = sorted({r["case"] for r in rows})
expected_cases = ["churn", "idle", "libev", "memory", "pingpong", "pingpong_deferred", "wake_burst",
                  "wake_round_trip"]
assert cases == expected_cases, cases
for needed in ["raw", "libevent", "libev", "libuv", "asio"]:
    assert needed in impls, (needed, impls)
assert any(i.startswith("poller/") for i in impls), impls
for case in expected_cases:
    have = {r["impl"] for r in rows if r["case"] == case}
    assert have == set(impls), (case, have, impls)
for r in rows:
    if r["case"] != "memory":
        assert r["ns_per_op"] is not None and r["ns_per_op"] > 0, r
        assert r["ratio_to_raw"] is not None, r
print("implementations:", ", ".join(impls))
print("1 passed, 0 failed")
PY
