//! Finding the `keyexport-offline` and `keyexport-online` binaries for the rehearsal and
//! the end-to-end tests.
//!
//! Cargo builds only the binaries of the package being run or tested, so these two may
//! be missing or stale. When run by Cargo (`cargo run`, `cargo test`: `CARGO` is set),
//! [`ensure_built`] asks Cargo to build them with the same profile as the running
//! executable (`target/<profile>/` or `target/<profile>/deps/`), which is a no-op when
//! they are up to date; Cargo releases its build lock before running a program, so the
//! nested build does not wait on the outer one. Outside Cargo, it looks for them next to
//! the running executable. Either way the directory can be forced with
//! `KEYEXPORT_BIN_DIR`.

use std::path::{Path, PathBuf};
use std::process::Command;

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

/// Builds (when run by Cargo) and locates the named binaries; returns their paths in
/// the same order.
pub fn ensure_built(names: &[&str]) -> anyhow::Result<Vec<PathBuf>> {
    let dir = match std::env::var_os("KEYEXPORT_BIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let dir = profile_dir()?;
            if let Some(cargo) = std::env::var_os("CARGO") {
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
