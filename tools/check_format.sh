#!/usr/bin/env bash
# tools/check_format.sh: fails, listing the files, if any C++ file in the repository differs from
# what clang-format-14 (Google base, .clang-format) makes of it, or any Bazel file (BUILD, .bzl,
# WORKSPACE, MODULE.bazel) from what buildifier makes of it (formatting, sorted lists). Fix with:
#   git ls-files '*.cc' '*.h' | xargs clang-format-14 -i
#   tools/check_format.sh --fix-bazel
# Installs clang-format-14 from Debian's packages and buildifier from the npm registry
# (@bazel/buildifier, into ~/.cache/poller-buildifier) when they are missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v clang-format-14 >/dev/null; then
  echo "check_format: installing clang-format-14 (Debian package clang-format-14)" >&2
  sudo_if_needed() { if ((EUID == 0)); then "$@"; else sudo "$@"; fi; }
  sudo_if_needed apt-get install -y --no-install-recommends clang-format-14 >/dev/null ||
    { sudo_if_needed apt-get update >/dev/null && sudo_if_needed apt-get install -y \
      --no-install-recommends clang-format-14 >/dev/null; }
fi
buildifier_dir="${HOME:-/tmp}/.cache/poller-buildifier"
buildifier="$buildifier_dir/node_modules/.bin/buildifier"
if [[ ! -x "$buildifier" ]]; then
  echo "check_format: installing buildifier (npm package @bazel/buildifier)" >&2
  if ! command -v npm >/dev/null; then
    sudo_if_needed() { if ((EUID == 0)); then "$@"; else sudo "$@"; fi; }
    sudo_if_needed apt-get install -y --no-install-recommends npm >/dev/null ||
      { sudo_if_needed apt-get update >/dev/null && sudo_if_needed apt-get install -y \
        --no-install-recommends npm >/dev/null; }
  fi
  mkdir -p "$buildifier_dir"
  (cd "$buildifier_dir" && npm install --no-audit --no-fund @bazel/buildifier@8.2.1 >/dev/null)
fi
bazel_files() {
  git ls-files 'BUILD' '*/BUILD' 'BUILD.bazel' '*/BUILD.bazel' '*.bzl' 'WORKSPACE' '*/WORKSPACE' \
    'MODULE.bazel' '*/MODULE.bazel'
}
if [[ "${1:-}" == --fix-bazel ]]; then
  bazel_files | xargs "$buildifier" -lint=off
  exit 0
fi
unformatted_bazel=$(bazel_files | xargs "$buildifier" -mode=check -lint=off 2>&1 || true)
if [[ -n "$unformatted_bazel" ]]; then
  printf 'check_format: not formatted (buildifier): %s\n' "$unformatted_bazel" >&2
  exit 1
fi
unformatted=()
while IFS= read -r file; do
  if ! clang-format-14 --dry-run -Werror "$file" >/dev/null 2>&1; then unformatted+=("$file"); fi
done < <(git ls-files '*.cc' '*.h')
if ((${#unformatted[@]} > 0)); then
  printf 'check_format: not formatted: %s\n' "${unformatted[@]}" >&2
  exit 1
fi
echo "ci-step: every C++ file and Bazel file is formatted ($(git ls-files '*.cc' '*.h' | wc -l) C++, $(bazel_files | wc -l) Bazel files)"
