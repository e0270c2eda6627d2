#!/usr/bin/env bash
# Offline build kit: one archive holding a commit's source, the source of every
# dependency (`cargo vendor`) and the cargo configuration that uses it, so that
# `cargo build --offline --locked` (or scripts/build-release.sh) works on a machine that
# has only the Rust toolchain and no network, such as the air-gapped machine.
#
# The kit also carries:
#   SOURCE_COMMIT      the commit it was made from (read by shared/build.rs, since the
#                      kit has no .git, so `version --json` still names the commit);
#   SOURCE_MANIFEST    sha256sum of every file of that commit: build.rs and
#                      build-release.sh use it to tell whether the tree was modified;
#   SOURCE_DATE_EPOCH  the commit's time, for reproducible builds;
#   DEPENDENCIES.txt   every crate in each binary with its version and licence;
#   OFFLINE-KIT.md     how to check and build it.
# The archive is deterministic (sorted, fixed owner, mode and mtime, gzip -n).
#
# Usage: scripts/offline-kit.sh [--out DIR] [--commit REV]
#   --out DIR     where the archive goes (default: target/offline-kit; never commit it)
#   --commit REV  commit to package (default: HEAD); uncommitted changes are not included
# Needs the crates of Cargo.lock in the cargo cache or the network (cargo vendor
# fetches the crates of every platform, not only those of this machine).
set -euo pipefail

out=""
rev=HEAD
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --commit) rev="$2"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "offline-kit: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
out="${out:-$root/target/offline-kit}"
commit="$(git -C "$root" rev-parse --verify "$rev^{commit}")"
epoch="$(git -C "$root" log -1 --format=%ct "$commit")"
if [ "$rev" = HEAD ] && [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then
  echo "offline-kit: note: uncommitted changes in $root are not in the kit (it holds $commit)" >&2
fi
name="keyexport-${commit:0:12}-offline-kit"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
kit="$work/$name"
mkdir "$kit"

# The commit's files exactly, and their checksums.
git -C "$root" archive --format=tar "$commit" | tar -x -C "$kit"
(
  cd "$kit"
  git -C "$root" ls-tree -r -z --name-only "$commit" | LC_ALL=C sort -z |
    xargs -0 sha256sum -- > "$work/SOURCE_MANIFEST"
)
mv "$work/SOURCE_MANIFEST" "$kit/SOURCE_MANIFEST"
echo "$commit" > "$kit/SOURCE_COMMIT"
echo "$epoch" > "$kit/SOURCE_DATE_EPOCH"

# Every dependency's source, and the configuration that builds from it, offline.
mkdir -p "$kit/.cargo"
echo "offline-kit: vendoring the dependencies of $commit" >&2
(cd "$kit" && cargo vendor --locked --versioned-dirs --quiet vendor) >> "$kit/.cargo/config.toml"
cat >> "$kit/.cargo/config.toml" <<'EOF'

# Offline kit: never reach for the network.
[net]
offline = true
EOF

if [ -f "$kit/scripts/dependency-report.py" ]; then
  (cd "$kit" && python3 scripts/dependency-report.py --output DEPENDENCIES.txt)
else
  echo "offline-kit: $commit predates scripts/dependency-report.py: no DEPENDENCIES.txt" >&2
fi

cat > "$kit/OFFLINE-KIT.md" <<EOF
# keyexport offline build kit

Source of commit \`$commit\` with every dependency vendored. It builds with no network
and only the Rust toolchain installed (the same version as the published build, see
\`BUILD-ENV\` of the release, for identical binaries).

1. Check the archive against the published SHA-256 before unpacking it.
2. Build the air-gapped binary:

       scripts/build-release.sh -p keyexport-offline

   (or plain \`cargo build --release --locked --offline -p keyexport-offline\`, which
   gives a working but not byte-identical binary). The script checks every source file
   against \`SOURCE_MANIFEST\` and refuses a modified tree.
3. Compare \`target/dist/SHA256SUMS\` with the published \`SHA256SUMS\`: the lines must
   be identical. \`target/dist/keyexport-offline version --json\` names commit
   \`$commit\`.

\`DEPENDENCIES.txt\` lists every crate in each binary with its version and licence.
EOF

mkdir -p "$out"
archive="$(cd "$out" && pwd -P)/$name.tar.gz"
tar --create --directory="$work" --sort=name --format=gnu \
  --owner=0 --group=0 --numeric-owner --mode='u=rwX,go=rX' --mtime="@$epoch" \
  "$name" | gzip -n > "$archive.partial"
mv "$archive.partial" "$archive"
(cd "$out" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
echo "offline-kit: $(du -h "$archive" | cut -f1) $archive" >&2
cat "$archive.sha256"
