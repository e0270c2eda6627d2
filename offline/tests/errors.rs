//! One snapshot per error kind: the exact exit code, `--json` error object and text report
//! an operator or a script sees (insta snapshots in `tests/snapshots/`).

use std::path::Path;

use crate::common::{
    OFFLINE_MACHINE as OFFLINE, RECONSTRUCT_VECTOR, passphrase_file, run_on_machine, vector_folder,
};

/// Runs `keyexport-offline ARGS` inside `dir` on a machine whose network interfaces are
/// `interfaces` ([`run_on_machine`]), and returns the exit code, standard output and
/// standard error as one text.
fn run(dir: &Path, interfaces: &[(&str, &str)], args: &[&str]) -> String {
    let output = run_on_machine(dir, interfaces, args);
    format!(
        "exit code: {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap()
    )
}

/// `reconstruct --json` of the vector files in `dir` with `interfaces` up, then `extra`
/// flags.
fn reconstruct(dir: &Path, interfaces: &[(&str, &str)], extra: &[&str]) -> String {
    run(
        dir,
        interfaces,
        &[&RECONSTRUCT_VECTOR[..], &["--json"], extra].concat(),
    )
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

/// Input errors about secret files and flags, which `inspect` cannot explain: each says
/// what to give instead (one snapshot each).
#[test]
fn input_problems_with_their_own_advice() {
    let tmp = vector_folder("frost-ed25519-2of3");
    let dir = tmp.path();
    std::fs::rename(dir.join("decryption-key.hex"), dir.join("real.hex")).unwrap();
    std::os::unix::fs::symlink("real.hex", dir.join("decryption-key.hex")).unwrap();
    let destroy_link = reconstruct(
        dir,
        OFFLINE,
        &["--out", "key.hex", "--destroy-decryption-key"],
    );
    insta::assert_snapshot!("input_destroy_symlink", destroy_link);

    std::fs::write(dir.join("part.age"), "not an age file\n").unwrap();
    let part = run(dir, OFFLINE, &["custody", "verify", "part.age"]);
    insta::assert_snapshot!("input_custody_part_not_age", part);

    std::fs::write(dir.join("identity.txt"), "AGE-SECRET-KEY-1NOTAKEY\n").unwrap();
    let identity = run(
        dir,
        OFFLINE,
        &[
            "custody",
            "verify",
            "--identity",
            "identity.txt",
            "part.age",
        ],
    );
    insta::assert_snapshot!("input_identity_file", identity);

    std::fs::write(dir.join("key.json"), "{\"crypto\": {}}\n").unwrap();
    let keystore = run(
        dir,
        OFFLINE,
        &[
            "sign",
            "--json",
            "--blind",
            "--yes",
            "--key",
            "key.json",
            "--response",
            "response.json",
            "--scheme",
            "ed25519",
            "--message-hex",
            "00",
        ],
    );
    insta::assert_snapshot!("input_key_file_keystore", keystore);
}

/// A flag combination refused before any secret is made (a typed usage error, unlike
/// clap's own in [`kind_usage`]).
#[test]
fn usage_quorum_above_custodians() {
    let tmp = tempfile::tempdir().unwrap();
    let args = [
        "init",
        "--key-id",
        "key-01j8example",
        "--out",
        "ceremony",
        "--custodians",
        "3",
        "--quorum",
        "4",
    ];
    insta::assert_snapshot!(run(tmp.path(), OFFLINE, &args));
}
