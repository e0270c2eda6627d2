//! Helpers shared by the CLI tests: a command with the test environment, vector loading.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// Passphrase used by every test ceremony.
pub const PASSPHRASE: &str = "correct horse battery staple";

/// The binary with the test environment: air-gap override, fast scrypt.
pub fn offline() -> Command {
    let mut cmd = Command::cargo_bin("keyexport-offline").expect("binary is built by cargo test");
    cmd.env("KEYEXPORT_ALLOW_ONLINE", "1")
        .env("KEYEXPORT_TEST_SCRYPT_LOG_N", "2")
        .env_remove("KEYEXPORT_TEST_SYSFS_NET");
    cmd
}

/// The project's vector directory (`../shared/vectors` from the workspace root).
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")
}

/// Every vector of both files, as JSON values.
pub fn all_vectors() -> Vec<Value> {
    let dir = vectors_dir();
    let reference: Value = serde_json::from_slice(
        &std::fs::read(dir.join("reference.json")).expect("reference.json is readable"),
    )
    .expect("reference.json is JSON");
    let generated: Value = serde_json::from_slice(
        &std::fs::read(dir.join("generated.json")).expect("generated.json is readable"),
    )
    .expect("generated.json is JSON");
    let mut all = reference
        .as_array()
        .expect("reference.json is an array")
        .clone();
    all.extend(
        generated["vectors"]
            .as_array()
            .expect("generated.json has vectors")
            .iter()
            .cloned(),
    );
    all
}

/// The vector called `name`.
pub fn vector(name: &str) -> Value {
    all_vectors()
        .into_iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no vector {name}"))
}

/// Writes a passphrase file into `dir` and returns its path.
pub fn passphrase_file(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("{content}\n")).expect("tempdir is writable");
    path
}

/// Writes the vector's plain decryption key and response into `dir`.
pub fn vector_files(dir: &Path, v: &Value) -> (PathBuf, PathBuf) {
    let key = dir.join("decryption-key.hex");
    std::fs::write(
        &key,
        format!("{}\n", v["decryptionKey"].as_str().expect("hex")),
    )
    .expect("tempdir is writable");
    let response = dir.join("response.json");
    std::fs::write(&response, serde_json::to_vec(&v["response"]).expect("json"))
        .expect("tempdir is writable");
    (key, response)
}

/// Parses the single JSON object a `--json` run prints.
pub fn stdout_json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Entries of `dir`, sorted, as names.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir is readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Path as a `&str` for command arguments.
pub fn s(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}
