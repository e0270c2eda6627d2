#!/usr/bin/env bash
# The repository keeps its own copy of the test vectors (shared/tests/vectors), so a fresh
# clone is complete. When the published folder is present beside the checkout (CI), the copy
# must equal it: any difference, or a published file missing from the copy, fails this step,
# which is how new vectors get pulled in. A user's clone has nothing beside it: the step then
# says so and passes.
set -euo pipefail
cd "$(dirname "$0")/.."

published=../shared/vectors # outside-repo: allowed (the CI comparison reads the published vectors)
copy=shared/tests/vectors

if [ ! -d "$published" ]; then
  echo "vectors: no published folder beside the checkout; the repository's copy is used as is"
  exit 0
fi
if ! diff -r "$published" "$copy"; then
  echo "vectors: $copy differs from the published vectors: copy them in (cp $published/* $copy/) and commit" >&2
  exit 1
fi
echo "vectors: $copy equals the published vectors ($(ls "$published" | wc -l) files)"
