//! Finding the `keyexport-offline` and `keyexport-online` binaries for the rehearsal and
//! the end-to-end tests.
//!
//! Cargo builds only the binaries of the package being run or tested, so these two may
//! be missing or stale. When run by Cargo (`cargo run`, `cargo test`: `CARGO` is set),
//! [`ensure_built`] asks Cargo to build them with the same profile as the running
//! executable (`target/<profile>/` or `target/<profile>/deps/`): always with
//! [`Build::Always`] (the rehearsal: a no-op when they are up to date, and never a stale
//! binary after an edit); only when missing or older than a source file of the crates
//! they are made of with [`Build::IfOutdated`] (tests: `cargo test --workspace` has just
//! built every binary of the workspace, and a nested build with another feature set would
//! recompile much of the dependency tree; but `cargo test -p sandbox` alone after an edit
//! must not test yesterday's binary); only when missing with [`Build::IfMissing`]
//! (`rehearse --no-build`). Cargo releases its build lock before running a program, so
//! the nested build does not wait on the outer one. Outside Cargo, they are looked for
//! next to the running executable. Either way the directory can be forced with
//! `KEYEXPORT_BIN_DIR`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// The workspace folders whose files the two binaries are built from.
const SOURCES: [&str; 3] = ["shared", "offline", "online"];

/// The workspace's manifest, known at compile time.
fn workspace_manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml")
}

/// The `target/<profile>` directory the running executable lives in.
fn profile_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let mut dir = exe
        .parent()
        .ok_or_else(|| anyhow::anyhow!("the running executable has no directory"))?
        .to_path_buf();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    Ok(dir)
}

/// When to ask Cargo to build the binaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// Every time (a no-op when up to date).
    Always,
    /// When one of them is missing or older than a file of [`SOURCES`], the workspace's
    /// `Cargo.toml` or `Cargo.lock`.
    IfOutdated,
    /// Only when one of them is missing.
    IfMissing,
}

/// Builds (when run by Cargo, per `when`) and locates the named binaries; returns their
/// paths in the same order.
pub fn ensure_built(names: &[&str], when: Build) -> anyhow::Result<Vec<PathBuf>> {
    let dir = match std::env::var_os("KEYEXPORT_BIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let dir = profile_dir()?;
            let missing = names.iter().any(|name| !dir.join(name).is_file());
            let wanted = match when {
                Build::Always => true,
                Build::IfOutdated => missing || outdated(&dir, names),
                Build::IfMissing => missing,
            };
            if let Some(cargo) = std::env::var_os("CARGO")
                && wanted
            {
                build(&cargo, &dir, names)?;
            }
            dir
        }
    };
    names
        .iter()
        .map(|name| {
            let path = dir.join(name);
            anyhow::ensure!(
                path.is_file(),
                "{} not found; build it first: cargo build --release -p {name} \
                 (or set KEYEXPORT_BIN_DIR to the folder holding it)",
                path.display()
            );
            Ok(path)
        })
        .collect()
}

/// Whether a source file is newer than the oldest of the binaries (no readable time at
/// all counts as outdated: building again is the safe side).
fn outdated(dir: &Path, names: &[&str]) -> bool {
    let oldest_binary = names
        .iter()
        .map(|name| modified(&dir.join(name)))
        .min()
        .flatten();
    let Some(oldest_binary) = oldest_binary else {
        return true;
    };
    let root = workspace_manifest()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut newest = [root.join("Cargo.toml"), root.join("Cargo.lock")]
        .iter()
        .map(|path| modified(path))
        .max()
        .flatten();
    for folder in SOURCES {
        newest = newest.max(newest_in(&root.join(folder)));
    }
    newest.is_none_or(|newest| newest > oldest_binary)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of the files under `dir`.
fn newest_in(dir: &Path) -> Option<SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.filter_map(Result::ok) {
        let path = entry.path();
        let time = match entry.file_type() {
            Ok(kind) if kind.is_dir() => newest_in(&path),
            _ => modified(&path),
        };
        newest = newest.max(time);
    }
    newest
}

fn build(cargo: &std::ffi::OsStr, dir: &Path, names: &[&str]) -> anyhow::Result<()> {
    let profile = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow::anyhow!("cannot tell the build profile from {}", dir.display()))?;
    let target_dir = dir
        .parent()
        .ok_or_else(|| anyhow::anyhow!("{} has no parent", dir.display()))?;
    let mut command = Command::new(cargo);
    command
        .arg("build")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(workspace_manifest())
        .arg("--target-dir")
        .arg(target_dir);
    match profile {
        "debug" => {}
        "release" => {
            command.arg("--release");
        }
        other => {
            command.args(["--profile", other]);
        }
    }
    for name in names {
        command.args(["-p", name]);
    }
    let status = command.status()?;
    anyhow::ensure!(
        status.success(),
        "building {} failed ({status})",
        names.join(", ")
    );
    Ok(())
}
