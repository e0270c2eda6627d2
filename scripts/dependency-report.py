#!/usr/bin/env python3
"""Dependency and licence report of the keyexport binaries, checked against deny.toml.

Lists every crate compiled into each binary of the workspace (normal and build
dependencies, for the host target, as `cargo tree` resolves them) with its version and
declared licence, then checks each licence expression against the `[licenses]` allow
list of `deny.toml` (the cargo-deny format, so the same file works with cargo-deny).
An `A OR B` expression passes when one side is allowed, `A AND B` when both are,
`A WITH exception` when `A` (or the whole expression) is allowed. A crate without an
SPDX `license` field fails unless `deny.toml` has an exception for it.

Usage: scripts/dependency-report.py [--package NAME]... [--output FILE] [--config FILE]
Without --package, every workspace member that has a binary target is reported.
Exit status: 0 all licences allowed, 1 a licence is not allowed, 2 cargo failed.
Nothing is hard-coded about the dependencies: run it on whatever the workspace holds.
"""

import argparse
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fail(message):
    """Stops with exit status 2: the report could not be made."""
    sys.stderr.write(f"dependency report: {message}\n")
    sys.exit(2)


def cargo(*args):
    """Runs cargo in the workspace root and returns its standard output."""
    result = subprocess.run(
        ["cargo", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        fail(f"`cargo {' '.join(args)}` failed")
    return result.stdout


def host_triple():
    for line in subprocess.run(
        ["rustc", "-vV"], capture_output=True, text=True, check=True
    ).stdout.splitlines():
        if line.startswith("host: "):
            return line.removeprefix("host: ")
    fail("`rustc -vV` names no host triple")


def tokenize(expression):
    """SPDX tokens; the legacy `A/B` spelling is read as `A OR B`."""
    spaced = re.sub(r"([()/])", r" \1 ", expression)
    return ["OR" if token == "/" else token for token in spaced.split()]


def licence_allowed(expression, allowed):
    """Evaluates an SPDX licence expression: OR < AND < WITH, parentheses group.

    >>> allowed = {"MIT", "Apache-2.0"}
    >>> licence_allowed("MIT OR GPL-3.0-only", allowed)
    True
    >>> licence_allowed("MIT AND GPL-3.0-only", allowed)
    False
    >>> licence_allowed("(Apache-2.0 OR MIT) AND BSD-3-Clause", allowed)
    False
    >>> licence_allowed("(Apache-2.0 OR MIT) AND BSD-3-Clause", allowed | {"BSD-3-Clause"})
    True
    >>> licence_allowed("Apache-2.0 / MIT", {"MIT"})
    True
    >>> licence_allowed("Apache-2.0 WITH LLVM-exception", allowed)
    True
    >>> licence_allowed("GPL-2.0-only WITH Classpath-exception-2.0", allowed)
    False
    >>> licence_allowed("MPL-2.0 OR (MIT AND GPL-2.0-only)", allowed)
    False
    >>> licence_allowed("(MIT", allowed)
    Traceback (most recent call last):
    ValueError: licence expression ends early: '(MIT'
    """
    tokens = tokenize(expression)
    position = 0

    def peek():
        return tokens[position] if position < len(tokens) else None

    def take():
        nonlocal position
        token = peek()
        if token is None:
            raise ValueError(f"licence expression ends early: {expression!r}")
        position += 1
        return token

    def parse_or():
        result = parse_and()
        while peek() == "OR":
            take()
            right = parse_and()
            result = result or right
        return result

    def parse_and():
        result = parse_with()
        while peek() == "AND":
            take()
            right = parse_with()
            result = result and right
        return result

    def parse_with():
        token = take()
        if token == "(":
            inner = parse_or()
            if take() != ")":
                raise ValueError(f"unbalanced parentheses: {expression!r}")
            return inner
        if token in ("AND", "OR", "WITH", ")"):
            raise ValueError(f"unexpected {token!r} in {expression!r}")
        if peek() == "WITH":
            take()
            exception = take()
            # An exception only adds permissions to the licence it qualifies.
            return f"{token} WITH {exception}" in allowed or token in allowed
        return token in allowed

    verdict = parse_or()
    if peek() is not None:
        raise ValueError(f"unexpected {peek()!r} in {expression!r}")
    return verdict


def load_policy(config):
    licences = tomllib.loads(config.read_text()).get("licenses", {})
    allowed = set(licences.get("allow", []))
    exceptions = {}
    for exception in licences.get("exceptions", []):
        name = exception.get("crate", exception.get("name"))
        exceptions[name] = set(exception.get("allow", []))
    return allowed, exceptions


def binary_packages(metadata):
    members = set(metadata["workspace_members"])
    return [
        package["name"]
        for package in metadata["packages"]
        if package["id"] in members
        and any("bin" in target["kind"] for target in package["targets"])
    ]


def crates_of(package):
    """(name, version) of every crate built into `package`, itself included."""
    tree = cargo(
        "tree", "--locked", "-p", package, "-e", "normal,build",
        "--prefix", "none", "--format", "{p}",
    )
    crates = set()
    for line in tree.splitlines():
        match = re.match(r"^(\S+) v(\S+)", line)
        if match:
            crates.add((match.group(1), match.group(2)))
    if not crates:
        fail(f"cargo tree listed nothing for {package}")
    return crates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", "-p", action="append", help="binary package to report")
    parser.add_argument("--output", "-o", type=Path, help="write the report here, not to stdout")
    parser.add_argument("--config", type=Path, default=ROOT / "deny.toml", help="allow-list file")
    options = parser.parse_args()

    allowed, exceptions = load_policy(options.config)
    metadata = json.loads(
        cargo("metadata", "--locked", "--format-version", "1",
              "--filter-platform", host_triple())
    )
    licence_of = {}
    for package in metadata["packages"]:
        licence = package["license"]
        if licence is None and package.get("license_file"):
            licence = f"LicenseRef-file:{package['license_file'].rsplit('/', 1)[-1]}"
        licence_of.setdefault((package["name"], package["version"]), licence)

    binaries = options.package or binary_packages(metadata)
    used_by = {}
    for binary in binaries:
        for crate in crates_of(binary):
            used_by.setdefault(crate, []).append(binary)

    rows = []
    violations = []
    for (name, version), users in sorted(used_by.items()):
        licence = licence_of.get((name, version))
        if licence is None:
            verdict = False
            licence = "(none declared)"
        else:
            try:
                verdict = licence_allowed(licence, allowed | exceptions.get(name, set()))
            except ValueError as error:
                verdict = False
                licence = f"{licence} (unparsable: {error})"
        rows.append((name, version, licence, ",".join(users), verdict))
        if not verdict:
            violations.append(f"{name} {version}: licence {licence!r} (in {', '.join(users)})")

    widths = [max(len(str(row[column])) for row in rows) for column in range(3)]
    lines = [f"# Dependency report: {', '.join(binaries)} ({len(rows)} crates)"]
    lines.append(f"# allow-list: {options.config.name}: {', '.join(sorted(allowed))}")
    for binary in binaries:
        count = sum(1 for row in rows if binary in row[3].split(","))
        lines.append(f"# {binary}: {count} crates")
    lines.append(
        f"{'crate'.ljust(widths[0])}  {'version'.ljust(widths[1])}  "
        f"{'licence'.ljust(widths[2])}  binaries"
    )
    for name, version, licence, users, verdict in rows:
        mark = "" if verdict else "  <-- NOT ALLOWED"
        lines.append(
            f"{name.ljust(widths[0])}  {version.ljust(widths[1])}  "
            f"{licence.ljust(widths[2])}  {users}{mark}"
        )
    report = "\n".join(lines) + "\n"
    if options.output:
        options.output.write_text(report)
    else:
        sys.stdout.write(report)

    if violations:
        sys.stderr.write(
            "licence check: these crates have a licence outside the allow-list in "
            f"{options.config}:\n"
        )
        for violation in violations:
            sys.stderr.write(f"  {violation}\n")
        sys.stderr.write(
            "Replace the crate, or, after review, allow the licence (or add a per-crate "
            "exception) in deny.toml with the reason.\n"
        )
        return 1
    print(
        f"licence check: all {len(rows)} crates of {', '.join(binaries)} have allowed licences",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
