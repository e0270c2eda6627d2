#!/usr/bin/env bash
# Release checks: the licences of every crate in the binaries are allowed,
# the release build of keyexport-offline is byte-for-byte reproducible, and the offline
# kit builds it with no network.
#
# 1. scripts/dependency-report.py (its SPDX evaluator's doctests first) checks every
#    licence against deny.toml.
# 2. The committed HEAD is cloned into one temporary folder and keyexport-offline is built
#    there with scripts/build-release.sh (`cargo build --release --locked` plus the
#    reproducibility settings), using the usual CARGO_HOME. This is also CI's release build.
#    keyexport-online is not release-built here: the test step builds it, its release
#    build is not what has to be reproducible, and each release build of a binary costs
#    about 5 minutes of the CI run on two cores.
# 3. scripts/offline-kit.sh packs the same commit; the kit is unpacked into another folder (another
#    path, another depth) and built there by its own build-release.sh with an empty
#    CARGO_HOME, CARGO_NET_OFFLINE=true and, where `unshare -n` works (root), in a network
#    namespace with no interface up: it can only succeed from the vendored sources.
# 4. Neither binary contains a local path, and both have the same SHA-256: the build
#    depends neither on the source folder nor on where the dependency sources come from.
# 5. The kit-built binary's `version --json` must name HEAD, a clean tree and the
#    SHA-256 of Cargo.lock (the kit has no .git: this exercises SOURCE_COMMIT).
# 6. The release binary carries no test switch: `strings` finds no KEYEXPORT_TEST_ in it
#    (the test hooks are compiled into debug builds only).
# Each build has its own target folder; nothing is written to the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd -P)"
package=keyexport-offline

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
seconds() { date +%s; }

echo "-- licences of every crate in the binaries (allow-list: deny.toml)"
python3 -m doctest scripts/dependency-report.py
python3 scripts/dependency-report.py --output "$work/DEPENDENCIES.txt"
grep '^# ' "$work/DEPENDENCIES.txt"

head="$(git rev-parse --verify HEAD)"
echo "-- reproducible build of $package at $head"
start=$(seconds)
git clone --quiet --no-local --no-checkout "$root" "$work/clone/keyexport"
git -C "$work/clone/keyexport" fetch --quiet "$root" HEAD
git -C "$work/clone/keyexport" checkout --quiet --detach FETCH_HEAD
"$work/clone/keyexport/scripts/build-release.sh" -p "$package" --out "$work/clone-dist" > /dev/null
echo "clone build: $(($(seconds) - start)) s"
cat "$work/clone-dist/SHA256SUMS"

start=$(seconds)
scripts/offline-kit.sh --commit "$head" --out "$work/kit" > /dev/null
kit_dir="$work/elsewhere/deeper"
mkdir -p "$kit_dir" "$work/empty-cargo-home"
tar -xzf "$work/kit/"*.tar.gz -C "$kit_dir"
kit_root="$(echo "$kit_dir"/keyexport-*-offline-kit)"
echo "kit made and unpacked: $(($(seconds) - start)) s"

start=$(seconds)
isolate=()
if unshare -n true 2> /dev/null; then
  isolate=(unshare -n)
else
  echo "note: cannot create a network namespace here; relying on CARGO_NET_OFFLINE and an empty CARGO_HOME"
fi
"${isolate[@]}" env CARGO_HOME="$work/empty-cargo-home" CARGO_NET_OFFLINE=true \
  "$kit_root/scripts/build-release.sh" -p "$package" --out "$work/kit-dist" > /dev/null
echo "offline kit build (no network, empty CARGO_HOME): $(($(seconds) - start)) s: $(grep " $package\$" "$work/kit-dist/SHA256SUMS")"

# No local path may be left in a binary (the remapping covers every source folder).
for binary in "$work/clone-dist/$package" "$work/kit-dist/$package"; do
  for path in "$work" "${CARGO_HOME:-$HOME/.cargo}" "$root"; do
    if grep -qaF "$path" "$binary"; then
      echo "$binary contains the local path $path; examples:" >&2
      grep -aoE "$path[^[:space:][:cntrl:]]{0,60}" "$binary" | sort -u | head -5 >&2
      exit 1
    fi
  done
done

# No test switch may be in a release binary: KEYEXPORT_TEST_* exist in debug builds only.
echo "-- no test switch (KEYEXPORT_TEST_*) in the release binary"
for binary in "$work/clone-dist/$package" "$work/kit-dist/$package"; do
  switches="$(strings -a "$binary" | grep -o 'KEYEXPORT_TEST_[A-Z0-9_]*' | sort -u | tr '\n' ' ' || true)"
  if [ -n "$switches" ]; then
    echo "$binary contains test switches: $switches" >&2
    echo "Gate them with #[cfg(debug_assertions)] (see offline/src/airgap.rs and seal.rs)." >&2
    exit 1
  fi
done
echo "none in $package (clone and kit builds)"

clone_sum="$(grep " $package\$" "$work/clone-dist/SHA256SUMS")"
kit_sum="$(grep " $package\$" "$work/kit-dist/SHA256SUMS")"
echo "clone: $clone_sum"
echo "kit:   $kit_sum"
if [ "$clone_sum" != "$kit_sum" ]; then
  echo "$package is not reproducible: the clone and the offline kit built different binaries" >&2
  echo "Compare them with diffoscope, or look for a path or date in: strings <binary> | grep -e /tmp -e keyexport" >&2
  exit 1
fi

echo "-- build information of the kit-built $package"
lock_sha256="$(sha256sum Cargo.lock | cut -d' ' -f1)"
if ! "$work/kit-dist/$package" version --json > "$work/version.json" 2> "$work/version.err"; then
  cat "$work/version.err" >&2
  echo "$package version --json failed" >&2
  exit 1
fi
python3 - "$work/version.json" "$head" "$lock_sha256" <<'EOF'
import json, sys
info = json.load(open(sys.argv[1]))
expected = {"commit": sys.argv[2], "dirty": False, "cargo_lock_sha256": sys.argv[3],
            "profile": "release", "name": "keyexport-offline"}
wrong = {k: (info.get(k), v) for k, v in expected.items() if info.get(k) != v}
if wrong:
    sys.exit(f"version --json of the kit build: {wrong} (got, expected)")
print(json.dumps(info))
EOF
echo "release checks passed"
