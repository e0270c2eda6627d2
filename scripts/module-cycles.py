#!/usr/bin/env python3
"""Lists the module cycles of a Rust binary or library crate.

Usage: scripts/module-cycles.py offline/src [--edges]

Every `.rs` file under the folder is a module (`foo.rs` and `foo/mod.rs` are `foo`,
`foo/bar.rs` is `foo::bar`). A module depends on another when its non-test code names it
through `crate::…` (in a `use` or inline) or `super::…`; a path is credited to the longest
module it names. Unit-test modules (from the first `#[cfg(test)]` on) are left out.

The graph is checked between files (each file is a module: the rule "no module uses one
that uses it back"), and, for information, between top-level modules (`batch::init` and
`batch::inspect` both count as `batch`), where a folder holding both a leaf and a command
shows as a cycle. Each strongly connected component with more than one module is printed;
the exit code is 1 when there is a cycle between files.
"""

import re
import sys
from pathlib import Path

PATH = re.compile(r"\b(crate|super(?:::super)*)::((?:[A-Za-z_][A-Za-z0-9_]*::)*[A-Za-z_][A-Za-z0-9_]*)")
GROUP = re.compile(r"\b(crate|super(?:::super)*)::\{([^}]*)\}", re.S)


def module_of(root: Path, file: Path) -> tuple[str, ...]:
    parts = list(file.relative_to(root).with_suffix("").parts)
    if parts[-1] == "mod" or (len(parts) == 1 and parts[0] in ("main", "lib")):
        parts = parts[:-1]
    return tuple(parts)


def non_test_code(text: str) -> str:
    cut = text.find("#[cfg(test)]")
    text = text if cut < 0 else text[:cut]
    # Comments name modules without depending on them.
    return re.sub(r"//.*", "", text)


def resolve(modules, here: tuple, anchor: str, path: str, is_dir_module: bool):
    if anchor == "crate":
        base: tuple = ()
    else:
        # `super` of foo/bar.rs is foo; of foo/mod.rs (module foo) it is the crate root.
        ups = anchor.count("super")
        base = here[: len(here) - ups]
    names = tuple(n for n in path.split("::") if n != "self")
    full = base + names
    for end in range(len(full), 0, -1):
        if full[:end] in modules:
            return full[:end]
    return None


def edges(root: Path):
    files = sorted(root.rglob("*.rs"))
    modules = {module_of(root, f): f for f in files}
    graph = {m: set() for m in modules}
    for module, file in modules.items():
        code = non_test_code(file.read_text())
        refs = [(a, p) for a, p in PATH.findall(code)]
        for anchor, group in GROUP.findall(code):
            for item in group.split(","):
                item = item.strip().split(" as ")[0].split("::{")[0]
                if item:
                    refs.append((anchor, item))
        for anchor, path in refs:
            target = resolve(modules, module, anchor, path, file.name == "mod.rs")
            if target is not None and target != module and target != ():
                graph[module].add(target)
    return graph


def cycles(graph):
    """Tarjan's strongly connected components with more than one node."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def top_level(graph):
    top = {}
    for m, targets in graph.items():
        if not m:
            continue
        for t in targets:
            if t and t[0] != m[0]:
                top.setdefault(m[0], set()).add(t[0])
        top.setdefault(m[0], set())
    return top


def show(name: tuple) -> str:
    return "::".join(name) if isinstance(name, tuple) else name


def main() -> int:
    root = Path(sys.argv[1])
    graph = edges(root)
    failed = False
    for label, g in (("file", graph), ("top-level module", top_level(graph))):
        found = cycles(g)
        if "--edges" in sys.argv:
            for m in sorted(g):
                print(f"{show(m) or 'crate'} -> {', '.join(show(t) for t in sorted(g[m]))}")
        if found:
            failed = failed or label == "file"
            for component in found:
                inside = set(component)
                print(f"cycle ({label}s): {', '.join(show(c) for c in component)}")
                for c in component:
                    back = sorted(show(t) for t in g[c] if t in inside)
                    print(f"  {show(c)} -> {', '.join(back)}")
        else:
            print(f"no cycle between {label}s of {root} ({len(g)} modules)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
