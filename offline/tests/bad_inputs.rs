//! The bad-input matrix: each bad input gets its own clear message and a non-zero exit
//! code, and no run leaves a partial output file.

use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::common::{Ceremony, SealedCeremony, offline, passphrase_file, s, stdout_json, vector};

/// Runs `reconstruct --json` with `--out` in `dir` and checks: exit code, error kind,
/// the `--json` error object and the error and advice lines (snapshot `name`, the
/// folder shown as `[DIR]`), and that the output file was not created.
fn refused(dir: &Path, key: &Path, responses: &[&Path], code: i32, kind: &str, name: &str) {
    let out = dir.join("key-out.hex");
    let mut cmd = offline();
    cmd.args([
        "reconstruct",
        "--json",
        "--decryption-key",
        s(key),
        "--out",
        s(&out),
    ]);
    for response in responses {
        cmd.args(["--response", s(response)]);
    }
    let output = cmd.output().unwrap();
    let json = stdout_json(&output);
    assert_eq!(output.status.code(), Some(code), "{json}");
    assert_eq!(json["error"]["kind"], kind, "{json}");
    let message = json["error"]["message"].as_str().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("error: {message}")), "{stderr}");
    let from_error = &stderr[stderr.find("error: ").unwrap()..];
    let folder = dir.to_string_lossy();
    insta::assert_snapshot!(
        name,
        format!("{}\n{from_error}", String::from_utf8_lossy(&output.stdout))
            .replace(folder.as_ref(), "[DIR]")
    );
    assert!(!out.exists(), "a refused run left {}", out.display());
    let leftovers: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// The ceremony most of these tests spoil one input of.
fn setup() -> Ceremony {
    Ceremony::from_vector("cggmp24-secp256k1-2of3")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn empty_file() {
    let c = setup();
    let empty = write(c.dir(), "empty.json", b"");
    refused(c.dir(), &c.key, &[&empty], 3, "input", "empty_file");
}

#[test]
fn truncated_json() {
    let c = setup();
    let full = std::fs::read(&c.response).unwrap();
    let cut = write(c.dir(), "cut.json", &full[..full.len() / 2]);
    refused(c.dir(), &c.key, &[&cut], 3, "input", "truncated_json");
}

#[test]
fn binary_garbage() {
    let c = setup();
    let garbage: Vec<u8> = (0..512u32).map(|i| (i * 131 % 251) as u8).collect();
    let path = write(c.dir(), "garbage.bin", &garbage);
    refused(c.dir(), &c.key, &[&path], 3, "input", "binary_garbage");
}

#[test]
fn missing_shares() {
    let c = setup();
    let mut response = c.vector["response"].clone();
    response["encryptedKeyShares"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    let path = write(
        c.dir(),
        "one-share.json",
        &serde_json::to_vec(&response).unwrap(),
    );
    refused(c.dir(), &c.key, &[&path], 4, "threshold", "missing_shares");
}

#[test]
fn wrong_decryption_key() {
    let c = setup();
    let other = vector("cggmp21-stark-2of3");
    let key = write(
        c.dir(),
        "other.hex",
        other["decryptionKey"].as_str().unwrap().as_bytes(),
    );
    refused(
        c.dir(),
        &key,
        &[&c.response],
        4,
        "decrypt",
        "wrong_decryption_key",
    );
}

#[test]
fn decryption_key_file_that_is_not_a_key() {
    let c = setup();
    let key = write(c.dir(), "notakey.txt", b"01zz\n");
    refused(c.dir(), &key, &[&c.response], 3, "input", "not_a_key");
}

#[test]
fn existing_output_file_is_never_overwritten() {
    let c = setup();
    let out = write(c.dir(), "existing.hex", b"precious\n");
    let output = offline()
        .args(["reconstruct", "--json", "--decryption-key", s(&c.key)])
        .args(["--response", s(&c.response), "--out", s(&out)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(6));
    let json = stdout_json(&output);
    assert_eq!(json["error"]["kind"], "output");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with("existing.hex already exists; refusing to overwrite it")
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"precious\n");
}

#[test]
fn wrong_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let c = SealedCeremony::new(tmp.path(), "k");
    let wrong = passphrase_file(tmp.path(), "wrong.txt", "Tr0ub4dor&3");
    let out = tmp.path().join("key.hex");
    offline()
        .args(["reconstruct", "--decryption-key", s(&c.sealed())])
        .args(["--response", s(&c.response), "--passphrase-file", s(&wrong)])
        .args(["--out", s(&out)])
        .assert()
        .code(5)
        .stderr(predicate::str::contains(
            "error: wrong passphrase for the sealed decryption key",
        ))
        .stderr(predicate::str::contains("Tr0ub4dor").not());
    assert!(!out.exists());
}

#[test]
fn empty_passphrase_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = write(tmp.path(), "empty-pass.txt", b"\n");
    let ceremony = tmp.path().join("ceremony");
    offline()
        .args([
            "init",
            "--key-id",
            "k",
            "--out",
            s(&ceremony),
            "--passphrase-file",
            s(&empty),
        ])
        .assert()
        .code(5)
        .stderr(predicate::str::contains(
            "is empty; an empty passphrase is refused",
        ));
    assert!(!ceremony.exists());
}

#[test]
fn no_terminal_and_no_passphrase_file_fails_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let ceremony = tmp.path().join("ceremony");
    crate::common::offline_without_terminal()
        .args(["init", "--key-id", "k", "--out", s(&ceremony)])
        .write_stdin("")
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(5)
        .stderr(predicate::str::contains(
            "the passphrase of the sealed decryption key is needed, but no --passphrase-file was given and there is no terminal to ask on",
        ));
}
