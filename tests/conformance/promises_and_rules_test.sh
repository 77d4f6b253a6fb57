#!/usr/bin/env bash
# The public headers and the suite point at each other: every declaration's
# "Rules:" paragraph names rule files that exist, every rule file is named by
# some "Rules:" paragraph, and every rule file's "Promises:" paragraph names
# title comments ("// Add") that exist in the headers it cites. Fails naming
# the first broken link, so a renamed section or file cannot leave a dangling
# reference behind.
set -euo pipefail
headers=(poller/poller.h poller/core/types.h)
failures=0
fail() {
  echo "FAILED: $*" >&2
  failures=$((failures + 1))
}

# A comment paragraph starting with "// <label>:", joined onto one line, one
# paragraph per output line.
paragraphs() {  # label file
  awk -v label="$1" '
    { line = $0; sub(/^ *\/\/ ?/, "", line) }
    index(line, label ":") == 1 { open = 1; text = ""; }
    open && ($0 !~ /^ *\/\// || line == "") { print text; open = 0; next }
    open { text = text " " line }
    END { if (open) print text }
  ' "$2"
}

cited=$(for header in "${headers[@]}"; do paragraphs Rules "$header"; done |
  grep -o 'suite_[a-z_]*\.cc' | sort -u)
for file in $cited; do
  [[ -f "tests/conformance/$file" ]] || fail "a Rules: paragraph names tests/conformance/$file, which does not exist"
done

for file in tests/conformance/suite_*.cc; do
  name=$(basename "$file")
  grep -qx "$name" <<<"$cited" || fail "$file is named by no Rules: paragraph in ${headers[*]}"
  promises=$(paragraphs Promises "$file")
  if [[ -z "$promises" ]]; then
    fail "$file has no Promises: paragraph naming the declarations it tests"
    continue
  fi
  promises=${promises#*Promises: }
  promises=${promises%.}
  IFS=';' read -ra parts <<<"$promises"
  for part in "${parts[@]}"; do
    header=$(sed 's/^ *//; s/:.*//' <<<"$part")
    [[ -f "$header" ]] || { fail "$file cites $header, which does not exist"; continue; }
    IFS=',' read -ra titles <<<"${part#*:}"
    for title in "${titles[@]}"; do
      title=$(sed 's/^ *//; s/ *$//' <<<"$title")
      grep -Eq "^ *// ${title}\$" "$header" ||
        fail "$file cites \"$title\" in $header, which has no title comment \"// $title\""
    done
  done
done

if ((failures)); then
  echo "$failures broken link(s) between the headers and the suite" >&2
  exit 1
fi
echo "every Rules: and Promises: reference resolves ($(wc -w <<<"$cited") rule files)"
