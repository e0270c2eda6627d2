//! Captures what a binary needs to describe its own build (`version --json`).
//!
//! Emitted as `cargo:rustc-env` variables read by `src/build_info.rs`:
//!
//! - `KEYEXPORT_COMMIT`: the source commit, from git when the workspace root is a git
//!   checkout, else from the `SOURCE_COMMIT` file the offline kit writes, else `unknown`;
//! - `KEYEXPORT_DIRTY`: `true`/`false` when tracked files differ from that commit (git:
//!   `git status`; kit: the `SOURCE_MANIFEST` checksums), `unknown` when it cannot be told;
//! - `KEYEXPORT_RUSTC`: `rustc -V` of the compiler building this crate;
//! - `KEYEXPORT_TARGET`, `KEYEXPORT_PROFILE`: target triple and cargo profile;
//! - `KEYEXPORT_CARGO_LOCK_SHA256`: SHA-256 of the workspace `Cargo.lock`.
//!
//! Reproducibility: two clones of one commit (and the offline kit made from it) must
//! capture byte-identical values, so nothing here depends on an absolute path, a clock,
//! the user or the host name, and the git and kit modes report the same fields.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// File at the workspace root holding the commit a source tree without `.git` was made from.
const SOURCE_COMMIT_FILE: &str = "SOURCE_COMMIT";
/// File at the workspace root listing `sha256  path` of every file of that commit.
const SOURCE_MANIFEST_FILE: &str = "SOURCE_MANIFEST";
const UNKNOWN: &str = "unknown";

/// Where the source revision comes from, and whether the tree matches it.
struct Revision {
    commit: String,
    dirty: Option<bool>,
    /// Files whose change can change `commit` or `dirty` (relative to the workspace root).
    watched: Vec<PathBuf>,
}

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let workspace_root = manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.clone());

    let revision = if workspace_root.join(".git").exists() {
        git_revision(&workspace_root)
    } else if workspace_root.join(SOURCE_COMMIT_FILE).is_file() {
        kit_revision(&workspace_root)
    } else {
        Revision {
            commit: UNKNOWN.to_owned(),
            dirty: None,
            watched: Vec::new(),
        }
    };

    let lock = workspace_root.join("Cargo.lock");
    let lock_sha256 = match fs::read(&lock) {
        Ok(bytes) => hex(&Sha256::digest(&bytes)),
        Err(_) => UNKNOWN.to_owned(),
    };

    emit("KEYEXPORT_COMMIT", &revision.commit);
    emit(
        "KEYEXPORT_DIRTY",
        match revision.dirty {
            Some(true) => "true",
            Some(false) => "false",
            None => UNKNOWN,
        },
    );
    emit("KEYEXPORT_RUSTC", &rustc_version());
    emit("KEYEXPORT_TARGET", &env("TARGET"));
    emit("KEYEXPORT_PROFILE", &env("PROFILE"));
    emit("KEYEXPORT_CARGO_LOCK_SHA256", &lock_sha256);

    // Rerun exactly when a captured value can change; cargo already reruns on a new
    // compiler or target. Only existing files are named: cargo treats a missing one as
    // always changed, which would rebuild this crate on every build.
    let mut watched = vec![
        PathBuf::from("build.rs"),
        lock,
        workspace_root.join(SOURCE_COMMIT_FILE),
        workspace_root.join(SOURCE_MANIFEST_FILE),
    ];
    watched.extend(
        revision
            .watched
            .iter()
            .map(|path| workspace_root.join(path)),
    );
    for path in watched
        .iter()
        .filter(|path| manifest_dir.join(path).is_file())
    {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// Git checkout: `HEAD`'s commit; dirty when a tracked file differs from it.
fn git_revision(root: &Path) -> Revision {
    let Some(commit) = git(root, &["rev-parse", "--verify", "HEAD"]) else {
        // `.git` exists but git is missing or the repository is unusable.
        return Revision {
            commit: UNKNOWN.to_owned(),
            dirty: None,
            watched: vec![PathBuf::from(".git")],
        };
    };
    // `--no-optional-locks`: do not refresh the index, whose change would rerun this script.
    let dirty = git(
        root,
        &[
            "--no-optional-locks",
            "status",
            "--porcelain",
            "--untracked-files=no",
        ],
    )
    .map(|status| !status.is_empty());

    let mut watched: Vec<PathBuf> = Vec::new();
    // HEAD, the branch it points to, packed refs and the index (staging changes the
    // dirty state); `--git-path` resolves them for worktrees too.
    let mut git_paths = vec![
        "HEAD".to_owned(),
        "index".to_owned(),
        "packed-refs".to_owned(),
    ];
    if let Some(reference) = git(root, &["symbolic-ref", "-q", "HEAD"]) {
        git_paths.push(reference);
    }
    for git_path in git_paths {
        if let Some(path) = git(root, &["rev-parse", "--git-path", &git_path]) {
            watched.push(PathBuf::from(path));
        }
    }
    // Every tracked file: editing one makes the tree dirty.
    if let Some(files) = git(root, &["ls-files", "-z"]) {
        watched.extend(
            files
                .split('\0')
                .filter(|name| !name.is_empty())
                .map(PathBuf::from),
        );
    }
    Revision {
        commit,
        dirty,
        watched,
    }
}

/// Offline kit: the commit named in `SOURCE_COMMIT`; dirty when a file listed in
/// `SOURCE_MANIFEST` is missing or differs from its recorded SHA-256.
fn kit_revision(root: &Path) -> Revision {
    let commit = fs::read_to_string(root.join(SOURCE_COMMIT_FILE))
        .ok()
        .map(|text| text.trim().to_owned())
        .filter(|text| text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| UNKNOWN.to_owned());
    let Ok(manifest) = fs::read_to_string(root.join(SOURCE_MANIFEST_FILE)) else {
        return Revision {
            commit,
            dirty: None,
            watched: Vec::new(),
        };
    };
    let mut dirty = false;
    let mut watched = Vec::new();
    for line in manifest.lines().filter(|line| !line.is_empty()) {
        // `sha256sum` format: 64 hex digits, two spaces, the path.
        let Some((digest, name)) = line.split_once("  ") else {
            dirty = true;
            continue;
        };
        let path = PathBuf::from(name);
        match fs::read(root.join(&path)) {
            Ok(bytes) if hex(&Sha256::digest(&bytes)) == digest => {}
            _ => dirty = true,
        }
        watched.push(path);
    }
    Revision {
        commit,
        dirty: Some(dirty),
        watched,
    }
}

/// Runs git in `root`, returning its trimmed standard output if it succeeded.
fn git(root: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout)
        .ok()
        .map(|text| text.trim_end_matches('\n').to_owned())
}

/// `rustc -V` of the compiler cargo uses for this build.
fn rustc_version() -> String {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| text.trim().to_owned())
        .unwrap_or_else(|| UNKNOWN.to_owned())
}

/// A variable cargo always sets for build scripts.
fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| UNKNOWN.to_owned())
}

fn emit(name: &str, value: &str) {
    // Values are single-line by construction (commit, `rustc -V`, triple, hex).
    println!("cargo:rustc-env={name}={value}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
