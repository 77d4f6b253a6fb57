#!/usr/bin/env bash
# bzlmod_test.sh: poller through MODULE.bazel with Bazel 7.7.1 and Bzlmod only
# (--noenable_workspace), offline. Run as root (it makes a chroot and mounts): tools/bzlmod_test.sh
#
# Debian 12 has Bazel 4.2.3 only; Debian sid's bazel-bootstrap is 7.7.1 and needs sid's libc, so
# Bazel runs in a sid root made with mmdebstrap from the mirror apt on this machine already uses.
# The root is cached in $POLLER_BZLMOD_CACHE (default ~/.cache/poller-bzlmod), outside the
# checkout, keyed on the packages it holds; a later run, or another CI step, reuses it and Bazel's
# caches inside it.
#
# Steps, each must pass:
#   poller        bazel test //... of this checkout as the root module: the library, every Linux
#                 backend, the suites, the examples and the benchmarks (their dev-only peers);
#   bcr_*         every task of .bcr/presubmit.yml, as the Bazel Central Registry's CI would run
#                 it: its build, test and run targets with its flags, in a module that has only
#                 bazel_dep(name = "poller") (the BCR's anonymous module) or in its test module
#                 (examples/consumer: bazel_dep on poller, overridden to this checkout). The
#                 consumer's .bazelrc says --@poller//poller:io_uring=false, and there liburing is
#                 replaced by a module that fails when loaded, so the step fails if anything still
#                 looks for it;
#   consumer_run  bazel run //app:ping_main in the consumer;
#   consumer_broken_backend_fails  the consumer's deliberately broken backend must fail poller's
#                 conformance suite, naming the rule it breaks (the BCR cannot express that).
#
# Nothing is downloaded: MODULE.bazel names the Bazel Central Registry's abseil-cpp, googletest and
# liburing, and every run passes --override_module with local modules wrapping sid's installed
# libraries instead (tools/bzlmod/system_modules.py); Debian's /etc/bazel/bazelrc in the root
# points Bazel's own rule sets at /usr/share/bazel.
#
# Prints "ci-step: ..." per step and, last, one "Executed N out of M tests" line summing the test
# steps, which .ci/run counts; a failed step that has no failed test in it counts as one failure.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${POLLER_BZLMOD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/poller-bzlmod}"

# What the root holds. The key below changes with the list, so a new list makes a new root.
suite=sid
packages=(bazel-bootstrap g++ python3 libabsl-dev libgtest-dev libgmock-dev liburing-dev
  libevent-dev libev-dev libuv1-dev libboost-dev)
root_recipe=1 # Bump when the way the root is made changes.
key=$(printf '%s\n' "$root_recipe" "$suite" "${packages[@]}" | sha256sum | cut -c1-16)
root="$cache/sid-$key"

# Inside the root: where this checkout is mounted and where the generated modules go.
src=/work/poller
modules=/opt/poller-bzlmod/modules

say() { echo "bzlmod_test: $*" >&2; }

if ((EUID != 0)); then
  say "must run as root (mmdebstrap, chroot, mount)"
  exit 1
fi

# The first http(s) Debian mirror in apt's sources (one-line or deb822), not the security archive.
mirror() {
  local uri
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -v '^[[:space:]]*#' | grep -oE 'https?://[^ ]+/debian/?([[:space:]]|$)' |
    grep -v security | head -n 1 | tr -d '[:space:]' || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

make_root() {
  if [[ -e "$root/.poller-root-complete" ]]; then
    say "reusing $root"
    return 0
  fi
  if ! command -v mmdebstrap >/dev/null; then
    say "installing mmdebstrap"
    apt-get update -qq && apt-get install -y -qq mmdebstrap >/dev/null
  fi
  local list from
  list=$(IFS=,; echo "${packages[*]}")
  from=$(mirror)
  say "making $root from $from (a few minutes, about 1.4 GB)"
  rm -rf "$root.partial"
  # sid's Release file can read as expired by this machine's clock.
  mmdebstrap --variant=apt --aptopt='Acquire::Check-Valid-Until "false"' --include="$list" \
    "$suite" "$root.partial" "$from"
  touch "$root.partial/.poller-root-complete"
  mv "$root.partial" "$root"
}

mkdir -p "$cache"
# One lane at a time per cache: they share the root's mounts and Bazel's output bases. Descriptor 9
# is closed for everything run inside the root, so a Bazel server left running cannot hold it.
exec 9>"$cache/lock"
flock 9
make_root

# Mounts, undone on every exit path. Bazel needs /proc and /dev; the checkout is bound at $src.
mounted=()
servers=()
log=$(mktemp)
in_root() { chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  LANG=C.UTF-8 TERM=dumb "$@" 9>&-; }
cleanup() {
  local status=$?
  rm -f "$log"
  local ws
  for ws in "${servers[@]}"; do
    in_root bash -c "cd '$ws' && timeout 120 bazel shutdown" >/dev/null 2>&1 || true
  done
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" ||
      say "could not unmount ${mounted[i]}"
  done
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

mount_in_root() { # mount_in_root TARGET MOUNT-ARGS...
  local target="$root$1"
  shift
  mkdir -p "$target"
  mount "$@" "$target"
  mounted+=("$target")
  # Private: nothing done under the root propagates back to the host's mounts.
  mount --make-private "$target"
}
mount_in_root /proc -t proc proc
mount_in_root /dev --bind /dev
# The bind above is not recursive: /dev/pts (pseudo-terminals, which the suites poll) and /dev/shm
# are mounts of their own.
mount_in_root /dev/pts --bind /dev/pts
mount_in_root /dev/shm --bind /dev/shm
mount_in_root "$src" --bind "$repo"

# Local modules standing in for the BCR's, from sid's installed libraries.
in_root python3 "$src/tools/bzlmod/system_modules.py" "$src/third_party/deps.bzl" "$modules"

# Every Bazel command of the lane. --lockfile_mode=off: no MODULE.bazel.lock is written into the
# checkout. --symlink_prefix=/: no bazel-* links either (they would point inside the root, and
# ./bazelw's Bazel 4 owns those names). --nosandbox_debug: the root's /etc/bazel/bazelrc turns it
# on, which keeps every sandbox.
common=(
  --noenable_workspace
  --lockfile_mode=off
  --nosandbox_debug
  --symlink_prefix=/
  --override_module=abseil-cpp="$modules/abseil-cpp"
  --override_module=googletest="$modules/googletest"
  --override_module=apple_support="$modules/apple_support"
  --override_module=buildozer="$modules/buildozer"
  --override_module=protobuf="$modules/protobuf"
  --override_module=zlib="$modules/zlib"
)
# io_uring rings count against RLIMIT_MEMLOCK (see .ci/run).
ulimit -l unlimited 2>/dev/null || ulimit -l "$(ulimit -H -l)" 2>/dev/null || true

bazel_in() { # bazel_in WORKSPACE COMMAND ARGS...
  local ws=$1 command=$2
  shift 2
  [[ " ${servers[*]} " == *" $ws "* ]] || servers+=("$ws")
  in_root bash -c 'cd "$1" && shift && exec bazel "$@"' _ "$ws" "$command" "${common[@]}" "$@"
}

say "$(in_root bazel --version)"

# run_step NAME WORKSPACE COMMAND ARGS...: one Bazel command; counts its tests.
run_step() {
  local name=$1 command=$3
  shift
  local start=$SECONDS status=0
  bazel_in "$@" >"$log" 2>&1 || status=$?
  grep -E '^(Executed|//.*(FAILED|TIMEOUT|NO STATUS|FLAKY)|ERROR:)' "$log" | tail -n 40 || true
  local executed total=0 pass=0 skip=0
  executed=$(grep -E '^Executed [0-9]+ out of [0-9]+ tests?:' "$log" | tail -n 1 || true)
  if [[ -n "$executed" ]]; then
    total=$(sed -E 's/^Executed [0-9]+ out of ([0-9]+) .*/\1/' <<<"$executed")
    [[ "$executed" =~ ([0-9]+)\ tests?\ pass ]] && pass=${BASH_REMATCH[1]}
    [[ "$executed" =~ ([0-9]+)\ (was|were)\ skipped ]] && skip=${BASH_REMATCH[1]}
  fi
  # A failed step whose tests did not fail (it failed to build, or it was no test) counts as one.
  ((status != 0 && total == pass + skip)) && total=$((total + 1))
  tests_total=$((tests_total + total))
  tests_passed=$((tests_passed + pass))
  tests_skipped=$((tests_skipped + skip))
  if ((status != 0)); then
    tail -n 60 "$log"
    failed_steps+=("$name")
    echo "ci-step: FAIL $name (exit $status, $((SECONDS - start)) s)"
  else
    if [[ "$command" == run ]]; then # The program's own output, after Bazel's.
      grep -v -E '^(INFO|Loading|Analyzing|Target|  bazel|\[)' "$log" | tail -n 5 | sed 's/^/  /' || true
    fi
    echo "ci-step: $name ok ($((SECONDS - start)) s)"
  fi
}

tests_total=0
tests_passed=0
tests_skipped=0
failed_steps=()
with_liburing=--override_module=liburing="$modules/liburing"
no_liburing=--override_module=liburing="$modules/liburing-absent"

run_step poller "$src" test "$with_liburing" //...

# The BCR presubmit's tasks. Its anonymous module gets sid's liburing (the BCR builds liburing's
# source); the test module declares io_uring=false, so it gets the failing stand-in.
anonymous=/opt/poller-bzlmod/anonymous
mkdir -p "$root$anonymous"
cat >"$root$anonymous/MODULE.bazel" <<MODULE
# The BCR presubmit's anonymous module (tools/bzlmod_test.sh); the override stands for the registry.
bazel_dep(name = "poller", version = "0.1.0")
local_path_override(module_name = "poller", path = "$src")
MODULE
: >"$root$anonymous/BUILD.bazel"
declare -A task_values=()
tasks=()
test_module=""
while IFS=$'\t' read -r section task key value; do
  if [[ "$key" == module_path ]]; then
    test_module=$value
    continue
  fi
  [[ " ${tasks[*]} " == *" $section/$task "* ]] || tasks+=("$section/$task")
  task_values[$section/$task/$key]+="$value"$'\n'
done < <(in_root python3 "$src/tools/bzlmod/presubmit.py" "$src/.bcr/presubmit.yml")
if ((${#tasks[@]} == 0)) || [[ -z "$test_module" ]]; then
  say ".bcr/presubmit.yml: no tasks or no bcr_test_module.module_path read"
  exit 1
fi
for entry in "${tasks[@]}"; do
  section=${entry%%/*}
  task=${entry#*/}
  if [[ "$section" == tasks ]]; then
    ws=$anonymous extra=$with_liburing
  else
    ws=$src/$test_module extra=$no_liburing
  fi
  for kind in build test; do
    mapfile -t targets < <(printf '%s' "${task_values[$entry/${kind}_targets]:-}")
    mapfile -t flags < <(printf '%s' "${task_values[$entry/${kind}_flags]:-}")
    if ((${#targets[@]})); then
      run_step "bcr_${task}_$kind" "$ws" "$kind" "$extra" "${flags[@]}" "${targets[@]}"
    fi
  done
  mapfile -t targets < <(printf '%s' "${task_values[$entry/run_targets]:-}")
  for target in "${targets[@]}"; do
    run_step "bcr_${task}_run" "$ws" run "$extra" "$target"
  done
done

# The consumer's program, run (the BCR's test module task builds it with //...).
run_step consumer_run "$src/$test_module" run "$no_liburing" //app:ping_main

# The broken backend must fail the suite, naming the rule it breaks.
start=$SECONDS
status=0
bazel_in "$src/$test_module" test "$no_liburing" //ppoll_backend:broken_backend_test >"$log" 2>&1 ||
  status=$?
if ((status != 0)) && grep -q "rule: after Delete returns, no Wait reports" "$log"; then
  echo "ci-step: consumer_broken_backend_fails ok: failed the suite, naming the rule ($((SECONDS - start)) s)"
else
  tail -n 40 "$log"
  tests_total=$((tests_total + 1))
  failed_steps+=(consumer_broken_backend_fails)
  echo "ci-step: FAIL consumer_broken_backend_fails (exit $status; it must fail naming the rule)"
fi

# The sum of the test steps, in Bazel's words, for .ci/run's count.
echo "Executed $tests_total out of $tests_total tests: $tests_passed tests pass and $tests_skipped were skipped."
if ((${#failed_steps[@]})); then
  say "failed: ${failed_steps[*]}"
  exit 1
fi
