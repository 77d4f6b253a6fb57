#!/usr/bin/env bash
# Runs //examples:echo_demo with a small load on each compiled backend and checks its promises:
# exit 0, "errors: 0", every message echoed; --json prints the same as JSON; a backend that is
# not compiled is refused with a non-zero exit; --connect drives a --listen server with the same
# checks.
set -euo pipefail

demo="${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-poller}/examples/echo_demo"
[[ -x "$demo" ]] || demo="$(dirname "$0")/echo_demo"

fail() { echo "FAIL: $*" >&2; exit 1; }

# The compiled backends, from the refusal message of a name that cannot exist.
refusal="$("$demo" --backend=no-such-backend --clients=1 --messages=1 2>&1)" && \
  fail "--backend=no-such-backend exited 0"
backends="$(sed -n 's/.*compiled: \(.*\)$/\1/p' <<<"$refusal" | tr -d ',' | tr -d '"')"
[[ -n "$backends" ]] || fail "no list of compiled backends in: $refusal"
echo "compiled backends: $backends"

# A failing run names its backend and prints the demo's whole report, whose error samples say
# which client or server connection failed and how.
for backend in $backends; do
  status=0
  out="$("$demo" --backend="$backend" --clients=20 --messages=50 --message_size=3000 2>&1)" ||
    status=$?
  ((status == 0)) || fail "$backend backend: the demo exited $status; its report: $out"
  grep -q "^  errors: 0$" <<<"$out" || fail "$backend: no 'errors: 0' in: $out"
  grep -q "messages:    1000 " <<<"$out" || fail "$backend: not 1000 messages in: $out"
  grep -q "$backend backend" <<<"$out" || fail "$backend: backend not named in: $out"
  echo "ok: $backend"
done

json="$("$demo" --clients=5 --messages=10 --json)" || fail "--json exited non-zero: $json"
grep -q '"errors": 0' <<<"$json" || fail "--json has no \"errors\": 0: $json"
grep -q '"messages": 50,' <<<"$json" || fail "--json has no \"messages\": 50: $json"
python3 -c 'import json,sys; json.loads(sys.argv[1])' "$json" 2>/dev/null || \
  ! command -v python3 >/dev/null || fail "--json is not JSON: $json"
# --connect: the clients alone against a server elsewhere, here the demo's own --listen.
server_out="${TEST_TMPDIR:-/tmp}/echo_demo_listen.$$"
# The file exists before the server starts: the background job's redirection
# may come after the first look below (that race once failed this test in
# 1.1 s with "sed: can't read").
: >"$server_out"
"$demo" --listen=127.0.0.1:0 >>"$server_out" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
address=""
for _ in $(seq 100); do
  address="$(sed -n 's/^echo server on \([^ ]*\) .*/\1/p' "$server_out")"
  [[ -n "$address" ]] && break
  sleep 0.1
done
[[ -n "$address" ]] || fail "--listen printed no address: $(cat "$server_out")"
out="$("$demo" --connect="$address" --clients=5 --messages=20)" || \
  fail "--connect=$address: exit $? with output: $out"
grep -q "^  errors: 0$" <<<"$out" || fail "--connect: no 'errors: 0' in: $out"
grep -q "messages:    100 " <<<"$out" || fail "--connect: not 100 messages in: $out"
grep -q "(clients only), server on $address" <<<"$out" || fail "--connect: no server named in: $out"
kill "$server_pid"
wait "$server_pid" || fail "--listen server: exit $? after SIGTERM"
trap - EXIT
"$demo" --connect=nocolon >/dev/null 2>&1 && fail "--connect=nocolon exited 0"
"$demo" --listen=127.0.0.1:0 --connect=127.0.0.1:1 >/dev/null 2>&1 && \
  fail "--listen with --connect exited 0"
echo "ok: --connect"
echo "1 passed, 0 failed"
