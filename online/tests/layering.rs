//! The module graph of `online/src` has no cycle: no module imports one that imports it
//! back (ARCHITECTURE.md lists the layers).
//!
//! A module depends on every module it names through `crate::`, `super::` or `self::`
//! (in `use` lines and inline paths; test modules excluded) and on the modules it
//! declares. The graph is checked twice: file by file, and between the top-level modules
//! (`submit::batch::plan` counts as `submit`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module path: `["submit", "batch", "plan"]`; the crate root is empty.
type Module = Vec<String>;

/// The source of every module of the tree under `src`, by module path.
fn modules(src: &Path) -> BTreeMap<Module, String> {
    let mut found = BTreeMap::new();
    let mut folders = vec![src.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut module: Module = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if module == ["main"] || module == ["lib"] || module.last().unwrap() == "mod" {
                module.pop();
            }
            found.insert(module, std::fs::read_to_string(&path).unwrap());
        }
    }
    found
}

/// The source without its unit tests and line comments.
fn code(source: &str) -> String {
    let source = match source.find("#[cfg(test)]\nmod tests") {
        Some(at) => &source[..at],
        None => source,
    };
    source
        .lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string ends the line early: only paths after it are lost.
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path named from `module` through `crate::`, `super::` or `self::`, made absolute;
/// a `{…}` group adds one path per item.
fn named_paths(module: &Module, code: &str) -> Vec<Module> {
    let mut paths = Vec::new();
    for (at, _) in code.match_indices("::") {
        let head_start = code[..at]
            .rfind(|c: char| !is_ident(c))
            .map_or(0, |i| i + 1);
        let head = &code[head_start..at];
        let mut base: Module = match head {
            "crate" => Vec::new(),
            "self" => module.clone(),
            "super" => module[..module.len().saturating_sub(1)].to_vec(),
            _ => continue,
        };
        // Only the first `::` of a path starts it.
        if code[..head_start].ends_with("::") {
            continue;
        }
        let rest = &code[at + 2..];
        let end = rest
            .find(|c: char| !(is_ident(c) || c == ':'))
            .unwrap_or(rest.len());
        let mut parts: Vec<String> = rest[..end]
            .split("::")
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        while parts.first().is_some_and(|p| p == "super") {
            parts.remove(0);
            base.pop();
        }
        base.extend(parts);
        if rest[end..].starts_with('{') {
            let group = &rest[end + 1..rest[end..].find('}').map_or(rest.len(), |i| end + i)];
            for item in group.split(',') {
                let item = item.split(" as ").next().unwrap_or("").trim();
                if !item.is_empty() && item != "self" {
                    let mut path = base.clone();
                    path.extend(item.split("::").map(str::to_owned));
                    paths.push(path);
                }
            }
        }
        paths.push(base);
    }
    paths
}

/// The modules `source` declares with `mod name;`.
fn declared(source: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("pub(crate) ").unwrap_or(line);
            let line = line.strip_prefix("pub ").unwrap_or(line);
            let name = line.strip_prefix("mod ")?.strip_suffix(';')?;
            name.chars().all(is_ident).then(|| name.to_owned())
        })
        .collect()
}

/// Which modules each module depends on.
fn graph(modules: &BTreeMap<Module, String>) -> BTreeMap<Module, BTreeSet<Module>> {
    let resolve = |path: &Module| -> Option<Module> {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|prefix| modules.contains_key(prefix))
    };
    modules
        .iter()
        .map(|(module, source)| {
            let mut targets: BTreeSet<Module> = named_paths(module, &code(source))
                .iter()
                .filter_map(resolve)
                .filter(|target| target != module)
                .collect();
            for child in declared(source) {
                let mut path = module.clone();
                path.push(child);
                if modules.contains_key(&path) {
                    targets.insert(path);
                }
            }
            (module.clone(), targets)
        })
        .collect()
}

/// The graph between top-level modules.
fn top_level(graph: &BTreeMap<Module, BTreeSet<Module>>) -> BTreeMap<Module, BTreeSet<Module>> {
    let top = |m: &Module| m.iter().take(1).cloned().collect::<Module>();
    let mut collapsed: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, targets) in graph {
        let from = top(module);
        let entry = collapsed.entry(from.clone()).or_default();
        entry.extend(targets.iter().map(top).filter(|to| *to != from));
    }
    for targets in collapsed.clone().values() {
        for target in targets {
            collapsed.entry(target.clone()).or_default();
        }
    }
    collapsed
}

/// A cycle of `graph`, as the modules along it, if there is one.
fn cycle(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<String>> {
    fn visit(
        node: &Module,
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        on_path: &mut Vec<Module>,
        done: &mut BTreeSet<Module>,
    ) -> Option<Vec<String>> {
        if let Some(at) = on_path.iter().position(|m| m == node) {
            let mut found: Vec<String> = on_path[at..].iter().map(name).collect();
            found.push(name(node));
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        on_path.push(node.clone());
        for target in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(target, graph, on_path, done) {
                return Some(found);
            }
        }
        on_path.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

fn name(module: &Module) -> String {
    if module.is_empty() {
        "crate".into()
    } else {
        module.join("::")
    }
}

#[test]
fn online_modules_import_no_module_that_imports_them_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = modules(&src);
    assert!(modules.len() > 10, "{:?}", modules.keys());
    let graph = graph(&modules);
    // The layers ARCHITECTURE.md names.
    // cli imports only the exit-code table (for `--help`), itself a leaf.
    let exit = vec!["exit".to_owned()];
    let cli = &graph[&vec!["cli".to_owned()]];
    assert!(
        cli.iter().all(|m| *m == exit),
        "cli imports only exit: {cli:?}"
    );
    assert!(graph[&exit].is_empty(), "exit is a leaf");
    let single = &graph[&vec!["submit".to_owned(), "single".to_owned()]];
    assert!(single.contains(&vec!["export".to_owned()]), "{single:?}");
    assert_eq!(cycle(&graph), None, "a cycle between files");
    assert_eq!(
        cycle(&top_level(&graph)),
        None,
        "a cycle between top-level modules"
    );
}

#[test]
fn the_check_finds_a_cycle_through_a_parent_a_group_or_an_inline_path() {
    let tree = |files: &[(&str, &str)]| -> BTreeMap<Module, String> {
        files
            .iter()
            .map(|(path, source)| {
                let module = path
                    .split("::")
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect();
                (module, (*source).to_owned())
            })
            .collect()
    };
    // A child importing from its parent, which declares it.
    let parent = tree(&[
        ("", "mod a;"),
        ("a", "pub mod b;\npub const N: u8 = 1;"),
        ("a::b", "use super::N;"),
    ]);
    assert_eq!(
        cycle(&graph(&parent)),
        Some(vec!["a".into(), "a::b".into(), "a".into()])
    );
    // Through a `{…}` group and an inline path, between top-level modules.
    let siblings = tree(&[
        ("", "mod x;\nmod y;"),
        ("x", "use crate::{y::f, z};"),
        ("y", "fn f() { crate::x::g() }"),
    ]);
    assert!(cycle(&graph(&siblings)).is_some());
    // Test modules and comments do not count.
    let tests_only = tree(&[
        ("", "mod x;\nmod y;"),
        ("x", "use crate::y::f;"),
        (
            "y",
            "// crate::x::g\n#[cfg(test)]\nmod tests { use crate::x::g; }",
        ),
    ]);
    assert_eq!(cycle(&graph(&tests_only)), None);
}
