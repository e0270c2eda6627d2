//! Exact text of the important human messages (insta snapshots in `tests/snapshots/`):
//! the reconstruct summary, and the refusals an operator is most likely to meet.

use crate::common::{offline, vector, vector_files};

/// Runs the command inside `dir` (so file names are short and fixed) on a machine that
/// looks offline (fake sysfs with loopback only), and returns the exit code and standard
/// error with the time-dependent transcript head replaced by a placeholder.
pub(crate) fn stderr_of(args: &[&str], dir: &std::path::Path) -> String {
    crate::common::fake_sysfs(
        &dir.join("sysfs-net"),
        &[("lo", "unknown\n", "0x9\n", "772\n")],
    );
    let output = offline()
        .current_dir(dir)
        .env_remove("KEYEXPORT_ALLOW_ONLINE")
        .env_remove("KEYEXPORT_TEST_SCRYPT_LOG_N")
        .env("KEYEXPORT_TEST_SYSFS_NET", dir.join("sysfs-net"))
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8(output.stderr).unwrap();
    format!(
        "exit code: {:?}\n{}",
        output.status.code(),
        regex_free_head(&text)
    )
}

/// Replaces the transcript head (the line after `Transcript head`), which changes with the
/// time of the run.
fn regex_free_head(text: &str) -> String {
    let mut previous = "";
    text.lines()
        .map(|line| {
            let shown = if previous.starts_with("Transcript head  ") {
                "  [HEAD]".to_owned()
            } else {
                line.to_owned()
            };
            previous = line;
            shown
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn reconstruct_summary_with_a_bad_share() {
    let v = vector("robust-3of5-one-tampered");
    let tmp = tempfile::tempdir().unwrap();
    vector_files(tmp.path(), &v);
    let text = stderr_of(
        &[
            "reconstruct",
            "--decryption-key",
            "decryption-key.hex",
            "--response",
            "response.json",
            "--out",
            "key.wif",
            "--format",
            "wif",
            "--network",
            "testnet",
        ],
        tmp.path(),
    );
    insta::assert_snapshot!(text);
}

#[test]
fn ed25519_summary() {
    let v = vector("frost-ed25519-2of3");
    let tmp = tempfile::tempdir().unwrap();
    vector_files(tmp.path(), &v);
    let text = stderr_of(
        &[
            "reconstruct",
            "--decryption-key",
            "decryption-key.hex",
            "--response",
            "response.json",
        ],
        tmp.path(),
    );
    insta::assert_snapshot!(text);
}

#[test]
fn hd_root_key_summary() {
    let v = vector("hd-cggmp24-secp256k1-2of3");
    let tmp = tempfile::tempdir().unwrap();
    vector_files(tmp.path(), &v);
    let text = stderr_of(
        &[
            "reconstruct",
            "--decryption-key",
            "decryption-key.hex",
            "--response",
            "response.json",
        ],
        tmp.path(),
    );
    insta::assert_snapshot!(text);
}

#[test]
fn hd_root_key_derive_summary() {
    let v = vector("hd-cggmp24-secp256k1-2of3");
    let tmp = tempfile::tempdir().unwrap();
    vector_files(tmp.path(), &v);
    let text = stderr_of(
        &[
            "reconstruct",
            "--decryption-key",
            "decryption-key.hex",
            "--response",
            "response.json",
            "--derive",
            "m/0/5",
        ],
        tmp.path(),
    );
    insta::assert_snapshot!(text);
}

#[test]
fn chain_code_disagreement_refusal() {
    let v = vector("err-hd-2of2-chain-codes-disagree");
    let tmp = tempfile::tempdir().unwrap();
    vector_files(tmp.path(), &v);
    let text = stderr_of(
        &[
            "reconstruct",
            "--decryption-key",
            "decryption-key.hex",
            "--response",
            "response.json",
        ],
        tmp.path(),
    );
    insta::assert_snapshot!(text);
}

#[test]
fn wrong_decryption_key_refusal() {
    let v = vector("err-wrong-decryption-key");
    let tmp = tempfile::tempdir().unwrap();
    vector_files(tmp.path(), &v);
    let text = stderr_of(
        &[
            "reconstruct",
            "--decryption-key",
            "decryption-key.hex",
            "--response",
            "response.json",
        ],
        tmp.path(),
    );
    insta::assert_snapshot!(text);
}

#[test]
fn sign_summary_with_recovery_id() {
    let v = vector("cggmp24-secp256k1-2of3");
    let tmp = tempfile::tempdir().unwrap();
    vector_files(tmp.path(), &v);
    let text = stderr_of(
        &[
            "sign",
            "--blind",
            "--yes",
            "--decryption-key",
            "decryption-key.hex",
            "--response",
            "response.json",
            "--scheme",
            "ecdsa-secp256k1",
            "--recoverable",
            "--message-hex",
            "0x9c22ff5f21f0b81b113e63f7db6da94fedef11b2119b4088b89664fb9a3cb658",
        ],
        tmp.path(),
    );
    insta::assert_snapshot!(text);
}

#[test]
fn sign_refusal_of_a_key_file_of_another_key() {
    let v = vector("frost-ed25519-2of3");
    let tmp = tempfile::tempdir().unwrap();
    vector_files(tmp.path(), &v);
    // The ed25519 scalar 1: a valid key, but not this export's.
    std::fs::write(
        tmp.path().join("other.hex"),
        format!("{}01\n", "00".repeat(31)),
    )
    .unwrap();
    let text = stderr_of(
        &[
            "sign",
            "--blind",
            "--yes",
            "--key",
            "other.hex",
            "--response",
            "response.json",
            "--scheme",
            "ed25519",
            "--message-hex",
            "00ff",
        ],
        tmp.path(),
    );
    insta::assert_snapshot!(text);
}
