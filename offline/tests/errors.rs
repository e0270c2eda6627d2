//! One snapshot per error kind: the exact exit code, `--json` error object and text report
//! an operator or a script sees (insta snapshots in `tests/snapshots/`).

use std::path::Path;

use crate::common::{fake_sysfs, offline, passphrase_file, vector, vector_files};

/// Runs `keyexport-offline ARGS` inside `dir` (short, fixed file names) on a machine whose
/// network interfaces are `interfaces` (`(name, operstate)`; a fake sysfs), and returns
/// the exit code, standard output and standard error as one text.
fn run(dir: &Path, interfaces: &[(&str, &str)], args: &[&str]) -> String {
    let sysfs = dir.join("sysfs-net");
    for (name, state) in interfaces {
        let kind = if *name == "lo" { "772\n" } else { "1\n" };
        fake_sysfs(&sysfs, &[(name, &format!("{state}\n"), "0x1003\n", kind)]);
    }
    let output = offline()
        .current_dir(dir)
        .env_remove("KEYEXPORT_ALLOW_ONLINE")
        .env_remove("KEYEXPORT_TEST_SCRYPT_LOG_N")
        .env("KEYEXPORT_TEST_SYSFS_NET", &sysfs)
        .args(args)
        .output()
        .unwrap();
    format!(
        "exit code: {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap()
    )
}

const OFFLINE: &[(&str, &str)] = &[("lo", "unknown")];

/// `reconstruct --json` of the plain decryption key and the response in the folder (as
/// [`vector_files`] names them).
const RECONSTRUCT: [&str; 6] = [
    "reconstruct",
    "--json",
    "--decryption-key",
    "decryption-key.hex",
    "--response",
    "response.json",
];

/// A folder holding the vector `name`'s plain decryption key and response.
fn vector_folder(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    vector_files(tmp.path(), &vector(name));
    tmp
}

/// [`RECONSTRUCT`] in `dir` with `interfaces` up, then `extra` flags.
fn reconstruct(dir: &Path, interfaces: &[(&str, &str)], extra: &[&str]) -> String {
    let args: Vec<&str> = RECONSTRUCT.iter().chain(extra).copied().collect();
    run(dir, interfaces, &args)
}

/// `reconstruct --json` of the vector `name` (a plain decryption key and its response).
fn reconstruct_vector(name: &str) -> String {
    reconstruct(vector_folder(name).path(), OFFLINE, &[])
}

#[test]
fn each_reconstruction_kind() {
    for (kind, name) in [
        ("threshold", "err-below-threshold"),
        ("decrypt", "err-tampered-ciphertext-at-threshold"),
        ("public-key", "err-public-key-mismatch"),
        ("duplicate-index", "err-duplicate-index"),
        ("version", "err-share-version-2"),
        ("curve", "err-share-curve-mismatch"),
        ("unsupported", "err-unsupported-protocol"),
        ("share-format", "err-garbage-share-plaintext"),
        ("chain-code", "err-hd-2of2-chain-codes-disagree"),
    ] {
        let text = reconstruct_vector(name);
        assert!(text.contains(&format!(r#""kind":"{kind}""#)), "{text}");
        insta::assert_snapshot!(format!("kind_{kind}"), text);
    }
}

#[test]
fn kind_usage() {
    let tmp = tempfile::tempdir().unwrap();
    let args = [
        "reconstruct",
        "--json",
        "--decryption-key",
        "k",
        "--response",
        "r",
        "--format",
        "pem",
    ];
    insta::assert_snapshot!(run(tmp.path(), OFFLINE, &args));
}

#[test]
fn kind_input() {
    let tmp = vector_folder("err-below-threshold");
    std::fs::write(tmp.path().join("response.json"), "{\"hello\": 1}\n").unwrap();
    insta::assert_snapshot!(reconstruct(tmp.path(), OFFLINE, &[]));
}

#[test]
fn kind_output() {
    let tmp = vector_folder("err-below-threshold");
    std::fs::write(tmp.path().join("key.hex"), "taken\n").unwrap();
    insta::assert_snapshot!(reconstruct(tmp.path(), OFFLINE, &["--out", "key.hex"]));
}

#[test]
fn kind_offline_secret() {
    let tmp = vector_folder("err-below-threshold");
    std::fs::write(
        tmp.path().join("response.json"),
        "age-encryption.org/v1\n-> scrypt c2FsdA 18\n",
    )
    .unwrap();
    insta::assert_snapshot!(reconstruct(tmp.path(), OFFLINE, &[]));
}

#[test]
fn kind_air_gap() {
    let tmp = vector_folder("err-below-threshold");
    let interfaces = [("lo", "unknown"), ("eth0", "up")];
    insta::assert_snapshot!(reconstruct(tmp.path(), &interfaces, &[]));
}

#[test]
fn kind_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    passphrase_file(tmp.path(), "pass.txt", "a");
    let args = [
        "init",
        "--key-id",
        "key-01j8example",
        "--out",
        "ceremony",
        "--passphrase-file",
        "pass.txt",
    ];
    insta::assert_snapshot!(run(tmp.path(), OFFLINE, &args));
}
