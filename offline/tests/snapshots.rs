//! Exact text of the important human messages (insta snapshots in `tests/snapshots/`):
//! the reconstruct summary, and the refusals an operator is most likely to meet.

use crate::common::{OFFLINE_MACHINE, RECONSTRUCT_VECTOR, run_on_machine, vector_folder};

/// Runs the command inside `dir` (so file names are short and fixed) on a machine that
/// looks offline (fake sysfs with loopback only), and returns the exit code and standard
/// error with the time-dependent transcript head replaced by a placeholder.
pub(crate) fn stderr_of(args: &[&str], dir: &std::path::Path) -> String {
    let output = run_on_machine(dir, OFFLINE_MACHINE, args);
    let text = String::from_utf8(output.stderr).unwrap();
    format!(
        "exit code: {:?}\n{}",
        output.status.code(),
        regex_free_head(&text)
    )
}

/// [`stderr_of`] `reconstruct` of the vector `name`'s files, then `extra` flags.
fn reconstruct_vector(name: &str, extra: &[&str]) -> String {
    let tmp = vector_folder(name);
    stderr_of(&[&RECONSTRUCT_VECTOR[..], extra].concat(), tmp.path())
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
    insta::assert_snapshot!(reconstruct_vector(
        "robust-3of5-one-tampered",
        &[
            "--out",
            "key.wif",
            "--format",
            "wif",
            "--network",
            "testnet",
        ]
    ));
}

#[test]
fn ed25519_summary() {
    insta::assert_snapshot!(reconstruct_vector("frost-ed25519-2of3", &[]));
}

#[test]
fn hd_root_key_summary() {
    insta::assert_snapshot!(reconstruct_vector("hd-cggmp24-secp256k1-2of3", &[]));
}

#[test]
fn hd_root_key_derive_summary() {
    insta::assert_snapshot!(reconstruct_vector(
        "hd-cggmp24-secp256k1-2of3",
        &["--derive", "m/0/5"]
    ));
}

#[test]
fn chain_code_disagreement_refusal() {
    insta::assert_snapshot!(reconstruct_vector("err-hd-2of2-chain-codes-disagree", &[]));
}

#[test]
fn wrong_decryption_key_refusal() {
    insta::assert_snapshot!(reconstruct_vector("err-wrong-decryption-key", &[]));
}

#[test]
fn sign_summary_with_recovery_id() {
    let tmp = vector_folder("cggmp24-secp256k1-2of3");
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
    let tmp = vector_folder("frost-ed25519-2of3");
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
