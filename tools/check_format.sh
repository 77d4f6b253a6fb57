#!/usr/bin/env bash
# tools/check_format.sh: fails, listing the files, if any C++ file in the repository differs from
# what clang-format-14 (Google base, .clang-format) makes of it. Fix with:
#   git ls-files '*.cc' '*.h' | xargs clang-format-14 -i
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v clang-format-14 >/dev/null; then
  echo "check_format: installing clang-format-14 (Debian package clang-format-14)" >&2
  sudo_if_needed() { if ((EUID == 0)); then "$@"; else sudo "$@"; fi; }
  sudo_if_needed apt-get install -y --no-install-recommends clang-format-14 >/dev/null ||
    { sudo_if_needed apt-get update >/dev/null && sudo_if_needed apt-get install -y \
      --no-install-recommends clang-format-14 >/dev/null; }
fi
unformatted=()
while IFS= read -r file; do
  if ! clang-format-14 --dry-run -Werror "$file" >/dev/null 2>&1; then unformatted+=("$file"); fi
done < <(git ls-files '*.cc' '*.h')
if ((${#unformatted[@]} > 0)); then
  printf 'check_format: not formatted: %s\n' "${unformatted[@]}" >&2
  exit 1
fi
echo "ci-step: every C++ file is formatted ($(git ls-files '*.cc' '*.h' | wc -l) files)"
