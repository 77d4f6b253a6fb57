#!/usr/bin/env bash
# check_wake_model.sh: model-checks the wake protocol (tools/model/wake_protocol.pml) with spin,
# exhaustively: the protocol as poller.cc implements it must pass, and each of the two earlier
# versions it guards against must fail (so the model can fail): the fast path without its fence
# (a lost wake under store-load reordering), and a refused wake that erased another thread's.
# Installs Debian's spin if it is missing. Exit status 0 only if all three come out as expected.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v spin >/dev/null; then
  echo "check_wake_model: installing Debian's spin (the model checker)" >&2
  sudo=()
  [[ "$(id -u)" != 0 ]] && sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q spin >/dev/null ||
    { "${sudo[@]}" apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
      "${sudo[@]}" apt-get install -y -q spin >/dev/null; }
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/wake_protocol.pml" "$work/"
cd "$work"
status=0
# check VARIANT EXPECTED: EXPECTED is "pass" or "fail".
check() {
  local variant=$1 expected=$2
  spin -a ${variant:+"-D$variant"} wake_protocol.pml >/dev/null
  gcc -O2 -DSAFETY -o pan pan.c
  local report errors
  report=$(./pan -m100000 2>&1)
  errors=$(sed -nE 's/.*errors: ([0-9]+).*/\1/p' <<<"$report")
  local got=pass
  ((errors > 0)) && got=fail
  local states
  states=$(sed -nE 's/^ *([0-9]+) states, stored.*/\1/p' <<<"$report")
  if [[ "$got" == "$expected" ]]; then
    echo "ci-step: wake model ${variant:-as implemented}: ${got}, as expected (${states} states)"
  else
    echo "ci-step: wake model ${variant:-as implemented}: ${got}, expected ${expected}" >&2
    echo "$report" >&2
    [[ "$got" == fail ]] && spin -t -p -g wake_protocol.pml >&2 || true
    status=1
  fi
}
check "" pass
check OLD_FAST_PATH fail
check OLD_WITHDRAW fail
exit "$status"
