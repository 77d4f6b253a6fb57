#!/usr/bin/env bash
# Runs //bench:uring_features with tiny counts and checks that it exits 0 and that every variant
# has its line (figures or "unavailable: <errno name>") and its JSON entry. Speed is never asserted.
set -euo pipefail
binary="${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-poller}/bench/uring_features"
[[ -x "$binary" ]] || binary="$(dirname "$0")/uring_features"
json="${TEST_TMPDIR:-/tmp}/uring_features.json"
output="$("$binary" --round_trips=200 --repetitions=1 --json="$json")"
echo "$output"
variants=(epoll uring_single uring_single_fstat uring_single_batched uring_multishot
  uring_coop_taskrun uring_defer_taskrun uring_registered_ring uring_multishot_defer)
missing=0
for variant in "${variants[@]}"; do
  # The name, then either a median with its [min-max] or why the kernel refused the variant.
  if ! grep -qE "^${variant} +([0-9]+ \[[0-9]+-[0-9]+\]|unavailable: [A-Z0-9]+$)" <<<"$output"; then
    echo "FAIL: no line for variant ${variant}" >&2
    missing=1
  fi
done
((missing == 0)) || exit 1
# The baseline must have run: every ratio divides by it.
grep -qE '^epoll +[0-9]+ \[[0-9]+-[0-9]+\] +1\.00 ' <<<"$output" ||
  { echo "FAIL: epoll's line has no figure or its ratio is not 1" >&2; exit 1; }
python3 - "$json" "${variants[@]}" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
rows = {r["impl"]: r for r in data["results"]}
assert sorted(rows) == sorted(sys.argv[2:]), sorted(rows)
for name, r in rows.items():
    if "unavailable" in r:
        continue
    assert r["ns_per_op"] > 0 and r["ns_min"] <= r["ns_per_op"] <= r["ns_max"], r
    assert r["ratio"] > 0 and r["cpu_ns_per_op"] > 0 and r["cpu_ratio"] > 0, r
assert "unavailable" not in rows["epoll"] and rows["epoll"]["ratio"] == 1, rows["epoll"]
print("1 passed, 0 failed")
PY
