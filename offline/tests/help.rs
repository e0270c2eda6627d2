//! `--help` of every command: a one-line summary, an example, and the exit-code table.

use predicates::prelude::*;

use crate::common::offline;

#[test]
fn every_help_has_summary_example_and_exit_codes() {
    for (args, summary) in [
        (
            vec!["--help"],
            "Air-gapped side of the Dfns Export Key ceremony",
        ),
        (
            vec!["init", "--help"],
            "Create the decryption key (sealed with a passphrase) and the export request",
        ),
        (
            vec!["reconstruct", "--help"],
            "Decrypt the exported shares, rebuild and verify the key, and deliver it",
        ),
        (
            vec!["sign", "--help"],
            "Sign a transaction with the rebuilt key, shown before signing, without the key leaving this machine",
        ),
        (
            vec!["inspect", "--help"],
            "Show what a request, response, QR image or UR text holds, without any secret",
        ),
    ] {
        let assert = offline().args(&args).assert().success();
        let assert = assert
            .stdout(predicate::str::contains(summary))
            .stdout(predicate::str::contains("Exit codes:"))
            .stdout(predicate::str::contains("7  air-gap guard"));
        assert.stdout(predicate::str::contains("Example: keyexport-offline "));
    }
}

#[test]
fn usage_errors_exit_2() {
    offline().assert().code(2);
    offline()
        .args(["init", "--out", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--key-id"));
    offline()
        .args(["reconstruct", "--decryption-key", "k"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--response"));
    offline()
        .args([
            "init",
            "--key-id",
            "k",
            "--out",
            "x",
            "--scheme",
            "NOPE:secp256k1",
        ])
        .assert()
        .code(2);
    offline()
        .args([
            "reconstruct",
            "--decryption-key",
            "k",
            "--response",
            "r",
            "--encrypt-to",
            "age1x",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--out"));
}

#[test]
fn version_is_printed() {
    offline()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("keyexport-offline "));
}
