#!/usr/bin/env bash
# Reproducible release build of the keyexport binaries, with SHA256SUMS.
#
# The same commit built with the same Rust toolchain gives byte-identical binaries,
# whatever directory the source is in, wherever CARGO_HOME is, and whether the
# dependencies come from the crates.io cache or from the offline kit's vendor/ folder:
#   - `--locked`: exactly the dependency versions of Cargo.lock;
#   - `--remap-path-prefix`: the source folder becomes /keyexport and every crate source
#     folder (registry cache or vendor/) becomes /crates, so no local path is embedded;
#   - SOURCE_DATE_EPOCH = the commit's time, for any tool that would embed a date;
#   - its own target folder (target/reproducible), so no other RUSTFLAGS leak in, and
#     CARGO_INCREMENTAL=0.
# rustc's codegen is deterministic with the default codegen units; the two-clone check
# in .ci/release-checks.sh shows it for each change.
#
# Usage: scripts/build-release.sh [-p PACKAGE]... [--out DIR] [--allow-dirty]
#   -p PACKAGE     binary package to build (repeatable; default: keyexport-offline and
#                  keyexport-online)
#   --out DIR      where the binaries, SHA256SUMS and BUILD-ENV go (default: target/dist)
#   --allow-dirty  build even if tracked files differ from the commit (the result is then
#                  not the published source; BUILD-ENV and `version --json` say dirty)
# Works in a git checkout and in an unpacked offline kit (scripts/offline-kit.sh), where
# it builds with --offline from vendor/ after checking SOURCE_MANIFEST.
set -euo pipefail

packages=()
out=""
allow_dirty=false
while [ $# -gt 0 ]; do
  case "$1" in
    -p | --package) packages+=("$2"); shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --allow-dirty) allow_dirty=true; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-release: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#packages[@]} -gt 0 ] || packages=(keyexport-offline keyexport-online)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$root"
out="${out:-$root/target/dist}"
cargo_home="${CARGO_HOME:-$HOME/.cargo}"

# --- Which source is this, and is it unmodified? ---
dirty=false
if [ -e .git ]; then
  commit="$(git rev-parse --verify HEAD)"
  epoch="$(git log -1 --format=%ct HEAD)"
  [ -z "$(git status --porcelain --untracked-files=no)" ] || dirty=true
  offline=()
elif [ -f SOURCE_COMMIT ] && [ -f SOURCE_MANIFEST ] && [ -d vendor ]; then
  commit="$(cat SOURCE_COMMIT)"
  epoch="$(cat SOURCE_DATE_EPOCH)"
  sha256sum --quiet --check SOURCE_MANIFEST >&2 || dirty=true
  offline=(--offline)
else
  echo "build-release: $root is neither a git checkout nor an offline kit" >&2
  echo "Build from a clone of the repository or from an unpacked offline kit." >&2
  exit 2
fi
if $dirty && ! $allow_dirty; then
  echo "build-release: tracked files differ from commit $commit" >&2
  echo "A release is built from an unmodified commit: commit or restore the changes, or pass --allow-dirty for a test build." >&2
  exit 1
fi

# --- Flags that remove every local path from the output ---
flags=("--remap-path-prefix=$root=/keyexport")
for dir in "$cargo_home"/registry/src/*/ "$cargo_home"/git/checkouts/*/; do
  if [ -d "$dir" ]; then flags+=("--remap-path-prefix=${dir%/}=/crates"); fi
done
# Later prefixes win in rustc, so vendor/ maps to /crates, not /keyexport/vendor.
if [ -d "$root/vendor" ]; then flags+=("--remap-path-prefix=$root/vendor=/crates"); fi
encoded="$(printf '%s\x1f' "${flags[@]}")"

target_dir="$root/target/reproducible"
echo "build-release: ${packages[*]} at $commit (dirty: $dirty), SOURCE_DATE_EPOCH=$epoch" >&2
# One cargo invocation per package: packages built together share one feature resolution,
# so keyexport-offline built beside keyexport-online would differ from keyexport-offline
# built alone (as on the offline machine).
for package in "${packages[@]}"; do
  env -u RUSTFLAGS -u RUSTC_WRAPPER -u CARGO_BUILD_RUSTFLAGS \
    CARGO_ENCODED_RUSTFLAGS="${encoded%$'\x1f'}" \
    CARGO_INCREMENTAL=0 \
    SOURCE_DATE_EPOCH="$epoch" \
    cargo build --release --locked "${offline[@]}" --target-dir "$target_dir" -p "$package"
done

# --- Output: the binaries, their checksums and how they were made ---
mkdir -p "$out"
out="$(cd "$out" && pwd -P)"
binaries=()
for package in "${packages[@]}"; do
  # Every binary target of the package (`cargo metadata` names them).
  while IFS= read -r name; do binaries+=("$name"); done < <(
    cargo metadata --locked "${offline[@]}" --no-deps --format-version 1 |
      python3 -c '
import json, sys
package = sys.argv[1]
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == package:
        for t in p["targets"]:
            if "bin" in t["kind"]:
                print(t["name"])
' "$package"
  )
done
for name in "${binaries[@]}"; do
  install -m 0755 "$target_dir/release/$name" "$out/$name"
done
(cd "$out" && sha256sum "${binaries[@]}" > SHA256SUMS)
{
  echo "commit: $commit"
  echo "dirty: $dirty"
  echo "SOURCE_DATE_EPOCH: $epoch"
  echo "Cargo.lock sha256: $(sha256sum Cargo.lock | cut -d' ' -f1)"
  echo "packages: ${packages[*]}"
  echo "cargo: $(cargo -V)"
  rustc -vV
} > "$out/BUILD-ENV"
echo "build-release: wrote $out/{$(IFS=,; echo "${binaries[*]}"),SHA256SUMS,BUILD-ENV}" >&2
cat "$out/SHA256SUMS"
