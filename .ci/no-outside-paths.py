#!/usr/bin/env python3
"""Fail when a tracked source, test, script or manifest names a path outside the repository.

A fresh clone is the product: nothing may read `../shared` or anything else beside the
checkout. Every path-like token with a `..` segment in a tracked .rs/.toml/.sh/.py file (and
the scripts in .ci/ and scripts/) is resolved against the file's folder and against its
crate's folder (what `CARGO_MANIFEST_DIR` joins resolve against); if it leaves the repository
under both, the line is reported. A line may opt out with the marker
`outside-repo: allowed (reason)`; only the CI vector comparison does.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))
MARKER = "outside-repo: allowed"
TOKEN = re.compile(r"[\w.\-/]*\.\.(?:/[\w.\-/]*)?")
EXTENSIONS = (".rs", ".toml", ".sh", ".py")


def crate_dir(path):
    folder = os.path.dirname(path)
    while folder.startswith(ROOT):
        if os.path.exists(os.path.join(folder, "Cargo.toml")):
            return folder
        folder = os.path.dirname(folder)
    return ROOT


def escapes(token, bases):
    if ".." not in token.split("/"):
        return False
    if token.startswith("/.."):
        token = token[1:]  # a continuation of a joined base: concat!(env!(..), "/../x")
    elif token.startswith("/"):
        return False  # an absolute path is not a path beside the checkout
    for base in bases:
        resolved = os.path.normpath(os.path.join(base, token))
        if resolved == ROOT or resolved.startswith(ROOT + os.sep):
            return False
    return True


def main():
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    problems = []
    for name in files:
        path = os.path.join(ROOT, name)
        if not (name.endswith(EXTENSIONS) or name.startswith((".ci/", "scripts/"))):
            continue
        if not os.path.isfile(path):
            continue
        default_bases = {os.path.dirname(path), crate_dir(path)}
        if not name.endswith((".rs", ".toml")):
            default_bases = {os.path.dirname(path), ROOT}  # scripts run from the root
        recent = []
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                recent = (recent + [line])[-3:]
                if MARKER in line:
                    continue
                # A join onto the crate's folder (possibly split over lines) resolves there only.
                joined = any("CARGO_MANIFEST_DIR" in seen for seen in recent)
                bases = {crate_dir(path)} if joined else default_bases
                for token in TOKEN.findall(line):
                    if escapes(token, bases):
                        problems.append(f"{name}:{number}: {token!r} leaves the repository: {line.strip()}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(
            f"{len(problems)} path(s) outside the repository: a fresh clone has nothing beside it; "
            "keep what is needed inside the repository",
            file=sys.stderr,
        )
        return 1
    print(f"no tracked file reads outside the repository ({len(files)} files looked at)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
