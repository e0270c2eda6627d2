//! Running the ceremony binaries and carrying their QR images, shown as the operator
//! would see them: step headers, each command line, its output indented.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context as _, ensure};

/// Prints a step header the way the runbook numbers its steps (`2a` is the canary's).
pub(super) fn step(number: &str, title: &str) {
    println!("\n── Step {number}/6 · {title}");
}

/// Shows a child's command line and its output, indented.
fn show(program: &Path, args: &[OsString], output: &Output) {
    let name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    println!("   $ {name} {}", args.join(" "));
    for line in String::from_utf8_lossy(&output.stderr).lines() {
        println!("   │ {line}");
    }
}

/// Runs a ceremony binary and shows what it printed; fails if it fails.
pub(super) fn run_tool(
    program: &Path,
    args: &[OsString],
    env: &[(&str, String)],
) -> anyhow::Result<Output> {
    let output = run_shown(program, args, env)?;
    ensure!(
        output.status.success(),
        "{} failed ({})",
        program.display(),
        output.status
    );
    Ok(output)
}

/// Runs a ceremony binary and shows what it printed, whatever its exit status.
pub(super) fn run_shown(
    program: &Path,
    args: &[OsString],
    env: &[(&str, String)],
) -> anyhow::Result<Output> {
    let mut command = Command::new(program);
    command.args(args);
    for name in [
        "DFNS_API_URL",
        "DFNS_AUTH_TOKEN",
        "DFNS_CRED_ID",
        "DFNS_PRIVATE_KEY",
        "DFNS_PRIVATE_KEY_FILE",
    ] {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command
        .output()
        .with_context(|| format!("cannot run {}", program.display()))?;
    show(program, args, &output);
    Ok(output)
}

/// The one JSON object a ceremony binary printed with `--json`.
pub(super) fn json_of(output: &Output, tool: &str) -> anyhow::Result<serde_json::Value> {
    serde_json::from_slice(&output.stdout)
        .with_context(|| format!("{tool} did not print one JSON object"))
}

/// The PNG images in `dir` whose names start with `prefix`, sorted; at least one.
pub(super) fn pngs_in(dir: &Path, prefix: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the folder {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".png"))
        })
        .collect();
    found.sort();
    ensure!(!found.is_empty(), "no {prefix}*.png in {}", dir.display());
    Ok(found)
}

/// Copies images into `to`, as a camera would bring them to the other machine.
pub(super) fn carry(images: &[PathBuf], to: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(to)?;
    images
        .iter()
        .map(|image| {
            let name = image
                .file_name()
                .ok_or_else(|| anyhow::anyhow!("{} has no file name", image.display()))?;
            let copy = to.join(name);
            std::fs::copy(image, &copy)?;
            Ok(copy)
        })
        .collect()
}

/// One command-line argument.
pub(super) fn arg(text: impl Into<OsString>) -> OsString {
    text.into()
}
