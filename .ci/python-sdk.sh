#!/usr/bin/env bash
# Dfns' official Python SDK against the sandbox: for each credential kind Dfns' SDK
# signs with (Ed25519, P-256, RSA), start `dfns-sandbox serve` on a free loopback port,
# and let scripts/python-sdk-check.py export every key with the SDK (one per scheme Dfns
# issues) and rebuild each raw SDK response with `keyexport-offline reconstruct`.
#
# The SDK (dfns-sdk, pinned) is installed from PyPI into a venv under target/; that is
# the only traffic off the machine. The binaries are the debug ones the test step builds
# (`cargo test --no-run` is then a no-op). Every sandbox started is stopped on exit,
# whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

sdk_version=1.0.4
venv=target/python-sdk/venv

cargo test --workspace --locked --no-run --quiet
bin=target/debug

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "dfns-sdk==$sdk_version"

work="$(mktemp -d)"
sandbox_pid=
cleanup() {
  if [ -n "$sandbox_pid" ]; then
    kill "$sandbox_pid" 2>/dev/null || true
    wait "$sandbox_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

for kind in ed25519 p256 rsa; do
  mkdir "$work/$kind"
  "$bin/dfns-sandbox" serve --port 0 --credential "$kind" >"$work/$kind/serve.txt" 2>&1 &
  sandbox_pid=$!
  printf '%-8s ' "$kind"
  if ! "$venv/bin/python" scripts/python-sdk-check.py --serve-output "$work/$kind/serve.txt" \
    --offline "$bin/keyexport-offline" --work "$work/$kind"; then
    echo "the Dfns Python SDK failed against the sandbox with a $kind credential" >&2
    echo "--- what dfns-sandbox serve printed (throwaway test credentials):" >&2
    cat "$work/$kind/serve.txt" >&2
    exit 1
  fi
  kill "$sandbox_pid"
  wait "$sandbox_pid" 2>/dev/null || true
  sandbox_pid=
done
