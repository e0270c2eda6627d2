//! Whole ceremonies with a sealed key: `init`, a real export dealt to its encryption key
//! (`keyexport_shared::dealer`), then `reconstruct` from a response file or a raw response.

use keyexport_shared::files::{CeremonyId, KeyId};
use keyexport_shared::scheme::Scheme;
use predicates::prelude::*;
use serde_json::Value;

use crate::common::{SealedCeremony, s, stdout_json};

/// A sealed ceremony whose request offers every scheme, in a folder of its own.
fn ceremony() -> (tempfile::TempDir, SealedCeremony) {
    let tmp = tempfile::tempdir().unwrap();
    let c = SealedCeremony::every_scheme(tmp.path(), "key-01abc-ceremony");
    (tmp, c)
}

#[test]
fn response_file_of_this_ceremony_rebuilds_the_key() {
    let (_tmp, c) = ceremony();
    let dealt = c.deal("CGGMP24:secp256k1", 2, 3);
    let response = c.response_file(
        &dealt,
        c.request.ceremony_id.clone(),
        c.request.key_id.clone(),
        "response.json",
    );
    c.reconstruct()
        .args(["--response", s(&response), "--reveal"])
        .assert()
        .success()
        .stdout(format!("{}\n", dealt.private_key.to_hex().as_str()))
        .stderr(predicate::str::contains(format!(
            "Ceremony     {}",
            c.request.ceremony_id
        )))
        .stderr(predicate::str::contains("UNPROTECTED").not());
    // init's line, then this run's.
    let transcript = std::fs::read_to_string(c.dir.join("transcript.jsonl")).unwrap();
    let lines: Vec<Value> = transcript
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["command"], "reconstruct");
    assert_eq!(lines[1]["ceremonyId"], c.request.ceremony_id.to_string());
    assert!(!transcript.contains(dealt.private_key.to_hex().as_str()));
    // The chain and every recorded artifact check out with the shared verifier.
    let report = keyexport_shared::transcript::verify(&c.dir.join("transcript.jsonl")).unwrap();
    assert!(report.is_intact(), "{:?}", report.findings);
    assert_eq!(report.lines, 2);
    assert!(report.artifacts_ok >= 4, "{report:?}");
}

#[test]
fn every_scheme_through_the_sealed_key() {
    let (_tmp, c) = ceremony();
    for scheme in Scheme::all() {
        let dealt = c.deal(&scheme.to_string(), 2, 3);
        let response = c.raw_response(&dealt, "raw.json");
        let output = c
            .reconstruct()
            .args(["--response", s(&response), "--json", "--reveal"])
            .output()
            .unwrap();
        let json = stdout_json(&output);
        assert_eq!(output.status.code(), Some(0), "{scheme}: {json}");
        assert_eq!(
            json["privateKey"],
            dealt.private_key.to_hex().as_str(),
            "{scheme}"
        );
        assert_eq!(
            format!(
                "{}:{}",
                json["protocol"].as_str().unwrap(),
                json["curve"].as_str().unwrap()
            ),
            scheme.to_string()
        );
        assert_eq!(json["minSigners"], 2);
        assert_eq!(json["shareCount"], 3);
        assert_eq!(json["usedSigners"].as_array().unwrap().len(), 3);
        assert_eq!(json["badSigners"], serde_json::json!([]));
        std::fs::remove_file(&response).unwrap();
    }
}

#[test]
fn response_from_another_ceremony_is_refused() {
    let (_tmp, c) = ceremony();
    let dealt = c.deal("FROST:ed25519", 2, 3);
    let other = CeremonyId::generate();
    let response = c.response_file(
        &dealt,
        other.clone(),
        c.request.key_id.clone(),
        "foreign.json",
    );
    let out = c.root.join("key.hex");
    c.reconstruct()
        .args(["--response", s(&response), "--out", s(&out)])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(format!(
            "error: the response is for ceremony {other}, but the decryption key belongs to ceremony {}",
            c.request.ceremony_id
        )));
    assert!(!out.exists());

    let response = c.response_file(
        &dealt,
        c.request.ceremony_id.clone(),
        KeyId::new("key-someone-else").unwrap(),
        "other-key.json",
    );
    c.reconstruct()
        .args(["--response", s(&response), "--out", s(&out)])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "error: the response is for key id key-someone-else, but the decryption key belongs to key id key-01abc-ceremony",
        ));
    assert!(!out.exists());
}

#[test]
fn request_given_as_response_is_refused() {
    let (_tmp, c) = ceremony();
    let request = c.dir.join("request.json");
    let output = c
        .reconstruct()
        .args(["--response", s(&request), "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let json = stdout_json(&output);
    assert_eq!(json["error"]["kind"], "input");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("request.json: this is an export request (made by init), not the response"),
        "{json}"
    );
}

#[test]
fn a_response_for_another_encryption_key_fails_to_decrypt() {
    let (_tmp, c) = ceremony();
    let (_other, d) = ceremony();
    let dealt = d.deal("CGGMP21:stark", 2, 2);
    let response = c.raw_response(&dealt, "theirs.json");
    let output = c
        .reconstruct()
        .args(["--response", s(&response), "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    let json = stdout_json(&output);
    assert_eq!(json["error"]["kind"], "decrypt");
    assert_eq!(json["error"]["badSigners"].as_array().unwrap().len(), 2);
    assert!(
        json["error"]["advice"]
            .as_str()
            .unwrap()
            .contains("compare the encryption-key fingerprint")
    );
}

#[test]
fn sealed_key_needs_a_passphrase_without_terminal() {
    let (_tmp, c) = ceremony();
    let dealt = c.deal("KU23:ed25519", 2, 3);
    let response = c.raw_response(&dealt, "raw.json");
    crate::common::offline_without_terminal()
        .args([
            "reconstruct",
            "--decryption-key",
            s(&c.sealed()),
            "--response",
            s(&response),
        ])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(5)
        .stderr(predicate::str::contains("no --passphrase-file was given"));
}

/// Without --transcript, a run appends to the transcript beside the sealed key.
#[test]
fn transcript_defaults_to_the_sealed_keys_directory() {
    let (_tmp, c) = ceremony();
    let dealt = c.deal("GLOW20_DH:secp256k1", 3, 4);
    let response = c.raw_response(&dealt, "raw.json");
    c.reconstruct()
        .args(["--response", s(&response)])
        .assert()
        .success();
    let lines = std::fs::read_to_string(c.dir.join("transcript.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 2);
    assert!(!c.root.join("transcript.jsonl").exists());
}
