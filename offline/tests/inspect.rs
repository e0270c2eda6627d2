//! `inspect`: what a request or response holds, without secrets or the decryption key.

use predicates::prelude::*;
use serde_json::Value;

use crate::common::{PASSPHRASE, offline, passphrase_file, s, stdout_json, vector};

#[test]
fn request_file_is_described() {
    let tmp = tempfile::tempdir().unwrap();
    let pass = passphrase_file(tmp.path(), "pass.txt", PASSPHRASE);
    let dir = tmp.path().join("c");
    offline()
        .args([
            "init",
            "--key-id",
            "key-inspect",
            "--out",
            s(&dir),
            "--passphrase-file",
            s(&pass),
        ])
        .args(["--scheme", "FROST:ed25519"])
        .assert()
        .success();
    let request = dir.join("request.json");
    let text: Value = serde_json::from_slice(&std::fs::read(&request).unwrap()).unwrap();
    let ceremony = text["ceremonyId"].as_str().unwrap();
    let fingerprint = text["encryptionKeyFingerprint"].as_str().unwrap();
    offline()
        .env_remove("KEYEXPORT_ALLOW_ONLINE")
        .args(["inspect", s(&request)])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "kind            export request (made by keyexport-offline init)",
        ))
        .stdout(predicate::str::contains(format!(
            "ceremony        {ceremony}"
        )))
        .stdout(predicate::str::contains("key id          key-inspect"))
        .stdout(predicate::str::contains(format!(
            "fingerprint     {fingerprint}"
        )))
        .stdout(predicate::str::contains("schemes         FROST:ed25519"));

    let output = offline()
        .args(["inspect", "--json", s(&request)])
        .output()
        .unwrap();
    let json = stdout_json(&output);
    let item = &json["artifacts"][0];
    assert_eq!(item["kind"], "request");
    assert_eq!(item["ceremonyId"], ceremony);
    assert_eq!(item["fingerprint"], fingerprint);
    assert_eq!(
        item["sha256"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            std::fs::read(&request).unwrap()
        ))
    );
}

#[test]
fn raw_response_is_described_without_secrets() {
    let v = vector("cggmp21-secp256k1-3of4");
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("r.json");
    std::fs::write(&path, serde_json::to_vec(&v["response"]).unwrap()).unwrap();
    let output = offline()
        .args(["inspect", "--json", s(&path)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let json = stdout_json(&output);
    let item = &json["artifacts"][0];
    assert_eq!(item["kind"], "dfns-response");
    assert_eq!(item["protocol"], "CGGMP21");
    assert_eq!(item["curve"], "secp256k1");
    assert_eq!(item["minSigners"], 3);
    assert_eq!(item["shareCount"], 4);
    assert_eq!(item["publicKey"], v["response"]["publicKey"]);
    assert_eq!(item["signers"].as_array().unwrap().len(), 4);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let share = v["response"]["encryptedKeyShares"][0]["encryptedKeyShare"]
        .as_str()
        .unwrap();
    assert!(
        !stdout.contains(share),
        "inspect must not print share ciphertexts"
    );

    offline()
        .args(["inspect", s(&path)])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "kind            Dfns export response (raw API body)",
        ))
        .stdout(predicate::str::contains("threshold       3 of 4 shares"))
        .stdout(predicate::str::contains(
            "scheme          CGGMP21 / secp256k1",
        ));
}

#[test]
fn garbage_is_refused_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("notes.txt");
    std::fs::write(&path, "hello\n").unwrap();
    offline()
        .args(["inspect", s(&path)])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(format!(
            "error: {}:",
            path.display()
        )));
}
