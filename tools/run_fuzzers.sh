#!/usr/bin/env bash
# tools/run_fuzzers.sh [SECONDS]: fuzz every built-in backend instance against the model
# (tests/fuzz/).
#
# Builds //tests/fuzz:fuzz_target with clang 14 (--config=fuzz: libFuzzer, ASan, UBSan) in a
# separate Bazel output base, so the main build's toolchain and cache are untouched, then runs it
# on each instance of tests/builtin_backends.h (each compiled backend, and epoll with kernel
# oneshot, epoll_kernel_oneshot) for SECONDS (default 60) over a fresh copy of the committed seed
# corpus (tests/fuzz/corpus/ itself is never modified). Prints one summary line per
# backend and exits non-zero if any backend crashed, leaked or differed from the model; the
# reproducer is kept and its path printed (rerun it with the command shown).
#
# Environment: POLLER_FUZZ_BACKENDS (the instances to fuzz, separated by spaces or commas; default
# every one), POLLER_FUZZ_OUTPUT_BASE (Bazel output base for the clang build),
# POLLER_FUZZ_WORKDIR (where corpora, logs and reproducers go; default a new temporary directory),
# POLLER_FUZZ_SEED (libFuzzer's -seed: a fixed one repeats a run's sequence of inputs, as CI's
# smoke run does; default a new random seed each run, as deeper runs should),
# POLLER_FUZZ_ARGS (extra libFuzzer flags).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${1:-60}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "usage: $0 [SECONDS per backend, default 60]" >&2
  exit 2
fi
output_base=${POLLER_FUZZ_OUTPUT_BASE:-${XDG_CACHE_HOME:-$HOME/.cache}/poller-fuzz-bazel/$(pwd | cksum | cut -d' ' -f1)}
workdir=${POLLER_FUZZ_WORKDIR:-$(mktemp -d -t poller-fuzz.XXXXXX)}
mkdir -p "$workdir"

# Same output base for build and info; no bazel-* symlinks, which would point the main build's
# bazel-bin at this one.
bazel_fuzz() {
  local command=$1
  shift
  ./bazelw --output_base="$output_base" --max_idle_secs=60 "$command" --config=fuzz \
    --symlink_prefix=/ "$@"
}
echo "fuzz: building //tests/fuzz:fuzz_target with clang (--config=fuzz)" >&2
if ! bazel_fuzz build --jobs=2 //tests/fuzz:fuzz_target >"$workdir/build.log" 2>&1; then
  tail -n 40 "$workdir/build.log" >&2
  echo "fuzz: build failed (log: $workdir/build.log)" >&2
  exit 1
fi
binary="$(bazel_fuzz info bazel-bin 2>/dev/null)/tests/fuzz/fuzz_target"
[[ -x "$binary" ]] || { echo "fuzz: $binary not found" >&2; exit 1; }

mapfile -t backends < <(POLLER_FUZZ_LIST_BACKENDS=1 "$binary")
if ((${#backends[@]} == 0)); then
  echo "fuzz: no backends compiled in" >&2
  exit 1
fi
if [[ -n "${POLLER_FUZZ_BACKENDS:-}" ]]; then
  read -r -a wanted <<<"${POLLER_FUZZ_BACKENDS//,/ }"
  for name in "${wanted[@]}"; do
    if ! printf '%s\n' "${backends[@]}" | grep -qxF "$name"; then
      echo "fuzz: no backend instance $name here (instances: ${backends[*]})" >&2
      exit 2
    fi
  done
  backends=("${wanted[@]}")
fi

failures=0
for backend in "${backends[@]}"; do
  corpus="$workdir/corpus-$backend"
  rm -rf "$corpus"
  cp -r tests/fuzz/corpus "$corpus"
  log="$workdir/$backend.log"
  status=0
  # -max_len: 128 operations are plenty to reach every state; -timeout: a Wait the model calls
  # prompt may block 5 s before it is reported as a difference, so only a real hang reaches 60 s.
  # shellcheck disable=SC2086
  POLLER_FUZZ_BACKEND="$backend" "$binary" "$corpus" \
    -max_total_time="$seconds" -max_len=512 -timeout=60 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$workdir/$backend-" \
    ${POLLER_FUZZ_SEED:+-seed="$POLLER_FUZZ_SEED"} ${POLLER_FUZZ_ARGS:-} \
    >"$log" 2>&1 || status=$?
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
  coverage=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
  corpus_size=$(find "$corpus" -type f | wc -l)
  if ((status == 0)); then
    echo "fuzz $backend: ok, ${seconds} s, ${runs:-?} runs, coverage ${coverage:-?} edges, corpus $corpus_size inputs"
  else
    failures=$((failures + 1))
    artifact=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -n 1 | cut -d' ' -f5-)
    grep -E '^poller fuzz:|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$log" \
      | head -n 5 >&2 || true
    echo "fuzz $backend: FAILED (exit $status) after ${runs:-?} runs; log $log; reproducer ${artifact:-none}"
    if [[ -n "$artifact" ]]; then
      echo "fuzz $backend: rerun: POLLER_FUZZ_BACKEND=$backend $binary $artifact"
    fi
  fi
done
if ((failures == 0)); then rm -rf "$workdir"; fi
exit $((failures > 0))
