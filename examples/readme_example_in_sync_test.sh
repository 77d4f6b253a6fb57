#!/usr/bin/env bash
# README.md quotes EchoUntilClosed() from examples/echo_until_closed.cc: fails if
# the two have drifted apart, so the README's example is always the compiled one.
set -euo pipefail
source_file=examples/echo_until_closed.cc
example=$(sed -n '/\[README example begins\]/,/\[README example ends\]/p' "$source_file" | sed '1d;$d')
if [[ -z "$example" ]]; then
  echo "no [README example begins]/[README example ends] region in $source_file" >&2
  exit 1
fi
if ! grep -qF -- "$(head -n 1 <<<"$example")" README.md ||
  ! python3 - "$source_file" <<'PY'; then
import sys
readme = open("README.md").read()
text = open(sys.argv[1]).read()
begin = text.index("[README example begins]\n") + len("[README example begins]\n")
end = text.rindex("\n", 0, text.index("[README example ends]")) + 1
sys.exit(0 if text[begin:end] in readme else 1)
PY
  echo "README.md's example differs from $source_file; copy the region between the markers" >&2
  exit 1
fi
echo "README example matches $source_file"
