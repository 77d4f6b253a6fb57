#!/usr/bin/env bash
# windows_test.sh: builds poller, the conformance suite on IOCP, the IOCP backend's own tests,
# the fault, pitfall, hygiene and stress suites, the unit tests and the echo demo for Windows
# (x86_64) with MinGW-w64, runs them under Wine, and prints the totals:
#
#   tools/windows_test.sh            # everything (about 3 minutes on a fresh machine, 1 after)
#   tools/windows_test.sh --build    # build only
#   tools/windows_test.sh --gtest_filter='*Wake*'   # other arguments go to every test program
#
# Installs what it needs when missing, saying what and why (as ./bazelw does):
#   - Debian's wine64 (Wine 8), g++-mingw-w64-x86-64-posix (GCC 12 with the posix thread model,
#     the one with std::thread and std::mutex), cmake, make, dpkg-dev (for apt-get source);
#   - Abseil 20220623 for MinGW, built from Debian's own source package (`apt-get source abseil`,
#     the version libabsl-dev has, with the same options, less absl/random), after adding
#     deb-src entries that mirror the machine's Debian apt sources
#     (/etc/apt/sources.list.d/poller-deb-src.*);
#   - GoogleTest 1.12 for MinGW, built from the sources Debian's googletest package installs.
# Both are built once into $POLLER_WINDOWS_CACHE (default ~/.cache/poller-windows), outside the
# repository, together with the Wine prefix and poller's own build tree, so reruns only rebuild
# what changed.
#
# Why not Bazel: the WORKSPACE's Abseil and GoogleTest are the machine's Linux libraries, and a
# Windows build would need a second, MinGW-built copy of each as Bazel repositories plus a linking
# toolchain. tools/windows/CMakeLists.txt builds the same source files (it names them) with the
# same warnings (-Wall -Wextra -Werror), statically linked (-static: under WINEDEBUG=-all a missing
# DLL would fail silently).
#
# Programs run under one persistent wineserver (started here, stopped on exit), each with a time
# limit; a program that fails prints its output. Exit status 0 only if every program passed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${POLLER_WINDOWS_CACHE:-${HOME:-/tmp}/.cache/poller-windows}"
jobs="${POLLER_WINDOWS_JOBS:-2}"
build_only=0
test_args=()
for argument in "$@"; do
  case "$argument" in
    --build) build_only=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *) test_args+=("$argument") ;;
  esac
done

say() { echo "windows_test: $*" >&2; }
mkdir -p "$cache"
setup_start=$SECONDS

# --- Packages --------------------------------------------------------------------------------
apt_updated=0
apt_install() {  # package...
  say "installing $* (apt-get, log: $cache/apt.log)"
  export DEBIAN_FRONTEND=noninteractive
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then sudo=(sudo); fi
  local install=("${sudo[@]}" apt-get install -y -q --no-install-recommends "$@")
  if ! "${install[@]}" >>"$cache/apt.log" 2>&1; then
    if ((!apt_updated)); then
      "${sudo[@]}" apt-get update -q >>"$cache/apt.log" 2>&1 || true
      apt_updated=1
    fi
    if ! "${install[@]}" >>"$cache/apt.log" 2>&1; then
      tail -n 20 "$cache/apt.log" >&2
      say "apt-get install $* failed"
      exit 1
    fi
  fi
}

wine_dir=/usr/lib/wine
mingw_cxx=x86_64-w64-mingw32-g++-posix
mingw_cc=x86_64-w64-mingw32-gcc-posix
missing=()
[[ -x "$wine_dir/wine64" ]] || missing+=(wine64)
command -v "$mingw_cxx" >/dev/null 2>&1 || missing+=(g++-mingw-w64-x86-64-posix)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v dpkg-source >/dev/null 2>&1 || missing+=(dpkg-dev)
[[ -f /usr/src/googletest/CMakeLists.txt ]] || missing+=(googletest)
if ((${#missing[@]})); then apt_install "${missing[@]}"; fi

# --- Abseil, from Debian's source package ----------------------------------------------------
# The deb-src entries mirror every enabled Debian entry of the machine's apt sources (deb822
# stanzas and one-line entries alike), so the source is the same release as libabsl-dev.
ensure_deb_src() {
  if apt-cache showsrc abseil 2>/dev/null | grep -q '^Package: abseil'; then return; fi
  local stanzas=/etc/apt/sources.list.d/poller-deb-src.sources
  local lines=/etc/apt/sources.list.d/poller-deb-src.list
  say "adding deb-src entries mirroring the Debian apt sources ($stanzas, $lines)"
  local file
  for file in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$file" && "$file" != "$stanzas" ]] || continue
    # Paragraphs whose Types include deb and whose URIs name a Debian archive.
    awk 'BEGIN { RS = ""; ORS = "\n\n" }
         /(^|\n)Types:[^\n]*deb( |\n|$)/ && /(^|\n)URIs:[^\n]*debian/ {
           sub(/(^|\n)Types:[^\n]*/, "\nTypes: deb-src"); sub(/^\n/, ""); print
         }' "$file"
  done >"$stanzas"
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$file" && "$file" != "$lines" ]] || continue
    sed -n -E 's/^[[:space:]]*deb([[:space:]].*debian.*)$/deb-src\1/p' "$file"
  done >"$lines"
  apt-get update -q >>"$cache/apt.log" 2>&1 || true
  apt_updated=1
  if ! apt-cache showsrc abseil 2>/dev/null | grep -q '^Package: abseil'; then
    say "apt-get cannot find Abseil's source package after adding deb-src entries (log: $cache/apt.log)"
    exit 1
  fi
}

# Abseil and GoogleTest are built at the same time, and the Wine prefix is created meanwhile
# (below): on 2 cores this hides their serial parts (configuring, fetching, installing, Wine's
# start-up). Both are compiled at -O1 rather than Release's -O3, as poller is: they build about
# a third faster, and the tests spend their time in system calls, not in Abseil.
dependency_flags=(-DCMAKE_SYSTEM_NAME=Windows -DCMAKE_C_COMPILER="$mingw_cc"
  -DCMAKE_CXX_COMPILER="$mingw_cxx" -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_C_FLAGS_RELEASE="-O1 -DNDEBUG" -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG"
  -DCMAKE_CXX_STANDARD=17)

abseil_version="$(dpkg-query -W -f='${Version}' libabsl-dev 2>/dev/null || true)"
abseil_prefix="$cache/abseil"
build_abseil() {
  ensure_deb_src
  local source_dir="$cache/src" want=abseil
  rm -rf "$source_dir"
  mkdir -p "$source_dir"
  if [[ -n "$abseil_version" ]]; then want="abseil=${abseil_version}"; fi
  say "fetching Abseil's Debian source ($want) into $source_dir"
  if ! (cd "$source_dir" && apt-get source -q "$want" >"$cache/abseil-source.log" 2>&1) &&
    ! (cd "$source_dir" && apt-get source -q abseil >>"$cache/abseil-source.log" 2>&1); then
    tail -n 20 "$cache/abseil-source.log" >&2
    say "apt-get source abseil failed"
    return 1
  fi
  local abseil_source
  abseil_source="$(find "$source_dir" -maxdepth 1 -mindepth 1 -type d -name 'abseil-*' | head -n 1)"
  # Nothing here uses absl/random (13 of Abseil's 119 files, among its slowest to compile), and
  # nothing else in Abseil depends on it.
  sed -i '/^add_subdirectory(random)$/d' "$abseil_source/absl/CMakeLists.txt"
  say "building Abseil for MinGW-w64 ($(basename "$abseil_source"), log: $cache/abseil-build.log)"
  rm -rf "$cache/abseil-build" "$abseil_prefix"
  if ! (cmake -S "$abseil_source" -B "$cache/abseil-build" "${dependency_flags[@]}" \
    -DABSL_PROPAGATE_CXX_STD=ON -DBUILD_TESTING=OFF -DCMAKE_INSTALL_PREFIX="$abseil_prefix" &&
    cmake --build "$cache/abseil-build" -j "$jobs" &&
    cmake --install "$cache/abseil-build") >"$cache/abseil-build.log" 2>&1; then
    tail -n 30 "$cache/abseil-build.log" >&2
    say "building Abseil failed"
    return 1
  fi
  rm -rf "$cache/abseil-build" "$source_dir"
  touch "$abseil_prefix/.built"
}

# --- GoogleTest, from Debian's googletest sources --------------------------------------------
googletest_prefix="$cache/googletest"
build_googletest() {
  say "building GoogleTest for MinGW-w64 from /usr/src/googletest (log: $cache/googletest-build.log)"
  rm -rf "$cache/googletest-build" "$googletest_prefix"
  if ! (cmake -S /usr/src/googletest -B "$cache/googletest-build" "${dependency_flags[@]}" \
    -DCMAKE_INSTALL_PREFIX="$googletest_prefix" &&
    cmake --build "$cache/googletest-build" -j "$jobs" &&
    cmake --install "$cache/googletest-build") >"$cache/googletest-build.log" 2>&1; then
    tail -n 30 "$cache/googletest-build.log" >&2
    say "building GoogleTest failed"
    return 1
  fi
  rm -rf "$cache/googletest-build"
  touch "$googletest_prefix/.built"
}

# --- Wine prefix (created in the background while the rest builds) -------------------------
export WINEPREFIX="$cache/wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEARCH=win64
wine="$wine_dir/wine64"
wineserver="$wine_dir/wineserver"
wine_ready=""
if ((!build_only)); then
  # One persistent server for every program (else each start costs seconds), its output sent
  # nowhere: Wine's helpers keep inherited pipes open, which would hang a caller reading them.
  "$wineserver" -p </dev/null >/dev/null 2>&1 || true  # (already running: fine)
  trap '"$wineserver" -k </dev/null >/dev/null 2>&1 || true' EXIT
  if [[ ! -f "$WINEPREFIX/system.reg" ]]; then say "creating the Wine prefix $WINEPREFIX"; fi
  "$wine" wineboot --init </dev/null >/dev/null 2>&1 &
  wine_ready=$!
fi

building=()
if [[ ! -f "$googletest_prefix/.built" ]]; then
  build_googletest &
  building+=($!)
fi
if [[ ! -f "$abseil_prefix/.built" ]]; then
  build_abseil &
  building+=($!)
fi
set_up=1
for job in "${building[@]}"; do
  wait "$job" || set_up=0
done
if ((!set_up)); then exit 1; fi
say "set up in $((SECONDS - setup_start)) s"

# --- poller, its suites and the echo demo ----------------------------------------------------
build="$cache/build"
build_start=$SECONDS
# A build tree configured from another checkout (CI clones anew) would build that one's sources.
if [[ -f "$build/CMakeCache.txt" ]] &&
  ! grep -qxF "CMAKE_HOME_DIRECTORY:INTERNAL=$root/tools/windows" "$build/CMakeCache.txt"; then
  rm -rf "$build"
fi
# The registry's table of backends is generated by Bazel from backends/backends.bzl (the file is the
# same for every platform: each entry is guarded by its backend's define).
generated="$cache/generated"
if ! (cd "$root" && ./bazelw build //poller:compiled_backends_inc) >"$cache/generate.log" 2>&1; then
  tail -n 30 "$cache/generate.log" >&2
  say "generating poller/compiled_backends.inc with Bazel failed"
  exit 1
fi
mkdir -p "$generated/poller"
cp -f "$(cd "$root" && ./bazelw info bazel-bin 2>/dev/null)/poller/compiled_backends.inc" \
  "$generated/poller/compiled_backends.inc"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  if ! cmake -S "$root/tools/windows" -B "$build" -DCMAKE_SYSTEM_NAME=Windows \
    -DCMAKE_CXX_COMPILER="$mingw_cxx" -DPOLLER_GENERATED_DIR="$generated" \
    -DCMAKE_PREFIX_PATH="$abseil_prefix;$googletest_prefix" >"$cache/build.log" 2>&1; then
    tail -n 30 "$cache/build.log" >&2
    say "configuring the Windows build failed"
    exit 1
  fi
fi
if ! cmake --build "$build" -j "$jobs" >"$cache/build.log" 2>&1; then
  grep -E -A 8 'error|Error' "$cache/build.log" | head -n 60 >&2
  say "the Windows build failed (log: $cache/build.log)"
  exit 1
fi
say "built in $((SECONDS - build_start)) s ($build)"
if ((build_only)); then exit 0; fi

# --- Wine --------------------------------------------------------------------------------------
wait "$wine_ready" || true  # A prefix that failed to start shows in the first program's log.

# --- Run ---------------------------------------------------------------------------------------
# name, time limit (s), arguments
programs=(
  "iocp_test 600"
  "iocp_backend_test 300"
  "fault_injection_test 600"
  "pitfalls_test 300"
  "hygiene_test 600"
  "stress_test 600"
  "poller_test 300"
  "errno_status_test 300"
  "timeout_test 300"
)
total_run=0
total_passed=0
total_skipped=0
total_failed=0
failed_programs=()
logs="$cache/logs"
mkdir -p "$logs"
rm -f "$logs"/*.status

# count PATTERN FILE: the number in gtest's summary line, 0 if absent.
count() {
  sed -n -E "s/$1/\1/p" "$2" | tail -n 1 | grep -E '^[0-9]+$' || echo 0
}

# execute NAME LIMIT ARGUMENT...: runs one program with a time limit, its output in
# $logs/NAME.log, its exit status and seconds in $logs/NAME.status.
execute() {
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS status=0
  timeout -k 10 "$limit" "$wine" "$build/$name.exe" "$@" </dev/null >"$logs/$name.log" 2>&1 ||
    status=$?
  echo "$status $((SECONDS - start))" >"$logs/$name.status"
}

# The conformance suite, the longest, runs beside the others, one after another: most of each
# program's time is timeouts and round trips to Wine's server, not CPU, so two at a time take
# little more than the longer of them.
read -r first_name first_limit <<<"${programs[0]}"
execute "$first_name" "$first_limit" "${test_args[@]}" &
first_program=$!
for entry in "${programs[@]:1}"; do
  read -r name limit <<<"$entry"
  execute "$name" "$limit" "${test_args[@]}"
done
# The echo demo on the IOCP backend, with a lighter load than its default (Wine's server makes
# every socket call slower: 10,000 messages take about 10 s).
execute echo_demo 300 --backend=iocp --clients=50 --messages=200
wait "$first_program" || true

for entry in "${programs[@]}"; do
  read -r name limit <<<"$entry"
  log="$logs/$name.log"
  if ! read -r status seconds <"$logs/$name.status"; then status=1 seconds=0; fi
  run=$(count '^\[==========\] ([0-9]+) tests? from .* ran\..*' "$log")
  passed=$(count '^\[  PASSED  \] ([0-9]+) tests?\..*' "$log")
  skipped=$(count '^\[  SKIPPED \] ([0-9]+) tests?, listed below:.*' "$log")
  failed=$(count '^\[  FAILED  \] ([0-9]+) tests?, listed below:.*' "$log")
  # A program that ends without gtest's summary line crashed, whatever its exit status (Wine
  # can report 0 after an unhandled exception): a failure, never "0 run".
  if ! grep -q -E '^\[==========\] [0-9]+ tests? from .* ran\.' "$log"; then
    ((status != 0)) || status=1
    echo "windows_test: $name ended without gtest's summary (crashed?)" >>"$log"
  fi
  if ((status != 0 && failed == 0)); then failed=$((run - passed - skipped)); fi
  if ((status != 0 && failed <= 0)); then failed=1; fi
  total_run=$((total_run + run))
  total_passed=$((total_passed + passed))
  total_skipped=$((total_skipped + skipped))
  total_failed=$((total_failed + failed))
  line="$name: $run run, $passed passed, $skipped skipped, $failed failed ($seconds s)"
  if ((status != 0)); then
    failed_programs+=("$name")
    ((status == 124 || status == 137)) && line+=" TIMED OUT after $limit s"
    echo "ci-step: FAIL $line (exit $status; log: $log)"
    grep -E -B 2 -A 12 '^\[ RUN|Failure|FAILED' "$log" | grep -v '^\[       OK' | tail -n 60
  else
    echo "ci-step: $line"
  fi
done

log="$logs/echo_demo.log"
if ! read -r status seconds <"$logs/echo_demo.status"; then status=1 seconds=0; fi
if ((status == 0)) && grep -q '^  errors: 0' "$log"; then
  total_passed=$((total_passed + 1))
  echo "ci-step: echo_demo: exit 0, errors: 0 ($(sed -n 's/^  messages: *//p' "$log"); $seconds s)"
else
  total_failed=$((total_failed + 1))
  failed_programs+=(echo_demo)
  echo "ci-step: FAIL echo_demo: exit $status (log: $log)"
  tail -n 20 "$log"
fi
total_run=$((total_run + 1))

echo "ci-step: windows: $total_passed passed, $total_failed failed, $total_skipped skipped"
if ((${#failed_programs[@]})); then
  say "failed: ${failed_programs[*]} (logs in $logs)"
  exit 1
fi
