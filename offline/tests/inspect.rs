//! `inspect`: what a request or response holds, without secrets or the decryption key;
//! batch requests and responses folders too.

use predicates::prelude::*;
use serde_json::Value;

use keyexport_shared::dealer::Deal;
use keyexport_shared::files::batch::BatchRequestFile;
use keyexport_shared::files::{CeremonyId, KeyId, sha256_hex};
use keyexport_shared::keys::DecryptionKey;
use keyexport_shared::wire::ExportRequestBody;

use crate::batch::deal_response;
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

/// A batch request with fixed content (so its description is a stable snapshot) and
/// twelve keys, written to `dir/request.json`; returns it with its digest.
fn fixed_batch_request(dir: &std::path::Path) -> (BatchRequestFile, String) {
    let key = DecryptionKey::from_dfns_hex(
        vector("frost-ed25519-2of3")["decryptionKey"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let ids = (1..=12)
        .map(|i| KeyId::new(&format!("key-{i:02}")).unwrap())
        .collect();
    let request = BatchRequestFile::new(
        CeremonyId::try_from("C3M9-T2QW-8XHD-KP4A".to_owned()).unwrap(),
        ids,
        ExportRequestBody {
            encryption_key: key.encryption_key(),
            supported_schemes: vec!["CGGMP24:secp256k1".parse().unwrap()],
        },
        "2026-11-28T17:00:00Z".into(),
        "keyexport-offline 0.1.0".into(),
    );
    let bytes = request.to_bytes();
    std::fs::write(dir.join("request.json"), &bytes).unwrap();
    (request, sha256_hex(&bytes))
}

/// `dir/responses`: keys 01..=09 saved except 03 (failed) and 05 (sent, no answer), 10
/// recorded uncertain, 11 and 12 never tried, and a file named for one key holding another.
fn batch_responses(dir: &std::path::Path, request: &BatchRequestFile, digest: &str) {
    let responses = dir.join("responses");
    std::fs::create_dir(&responses).unwrap();
    let deal = Deal::new("CGGMP24:secp256k1".parse().unwrap(), 2, 3);
    for i in [1, 2, 4, 6, 7, 8, 9] {
        deal_response(
            &responses,
            request,
            digest,
            &format!("key-{i:02}"),
            &deal,
            false,
        );
    }
    std::fs::copy(
        responses.join("key-01.response.json"),
        responses.join("key-11.response.json"),
    )
    .unwrap();
    let journal = [
        r#"{"event":"start","ceremonyId":"C3M9-T2QW-8XHD-KP4A","requestSha256":"x","keys":12,"at":"t0","tool":"keyexport-online 0.1.0"}"#,
        r#"{"event":"sending","keyId":"key-01","at":"t1"}"#,
        r#"{"event":"exported","keyId":"key-01","file":"key-01.response.json","at":"t2"}"#,
        r#"{"event":"failed","keyId":"key-03","kind":"not-found","reason":"Dfns knows no key key-03 (404)","at":"t3"}"#,
        r#"{"event":"sending","keyId":"key-05","at":"t4"}"#,
        r#"{"event":"uncertain","keyId":"key-10","reason":"timed out after sending the export","at":"t5"}"#,
    ];
    std::fs::write(responses.join("journal.jsonl"), journal.join("\n") + "\n").unwrap();
}

#[test]
fn batch_request_and_responses_folder_are_described() {
    let tmp = tempfile::tempdir().unwrap();
    let (request, digest) = fixed_batch_request(tmp.path());
    batch_responses(tmp.path(), &request, &digest);

    let output = offline()
        .current_dir(tmp.path())
        .env_remove("KEYEXPORT_ALLOW_ONLINE")
        .args(["inspect", "request.json", "responses"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!(String::from_utf8(output.stdout).unwrap());

    // --json lists every key id; the request beside the folder is found by its digest.
    let output = offline()
        .args(["inspect", "--json"])
        .arg(tmp.path().join("request.json"))
        .arg(tmp.path().join("responses"))
        .output()
        .unwrap();
    let json = stdout_json(&output);
    let [req, folder] = json["artifacts"].as_array().unwrap().as_slice() else {
        panic!("two artifacts expected: {json}");
    };
    assert_eq!(req["kind"], "batch-request");
    assert_eq!(req["keyCount"], 12);
    assert_eq!(req["keyIds"].as_array().unwrap().len(), 12);
    assert_eq!(req["keyIds"][11], "key-12");
    assert_eq!(req["fingerprint"], request.encryption_key_fingerprint);
    assert_eq!(req["sha256"], digest);
    assert_eq!(folder["kind"], "batch-responses");
    assert_eq!(folder["requestSha256"][0], digest);
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|k| {
                k.as_str()
                    .unwrap_or_else(|| k["keyId"].as_str().unwrap())
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(
        names(&folder["saved"]),
        [
            "key-01", "key-02", "key-04", "key-06", "key-07", "key-08", "key-09"
        ]
    );
    assert_eq!(
        names(&folder["missing"]),
        ["key-03", "key-05", "key-10", "key-11", "key-12"]
    );
    assert_eq!(names(&folder["failed"]), ["key-03"]);
    assert_eq!(names(&folder["uncertain"]), ["key-05", "key-10"]);
    assert_eq!(folder["unreadable"][0]["file"], "key-11.response.json");

    let alone = offline()
        .args(["inspect", "--json"])
        .arg(tmp.path().join("responses"))
        .output()
        .unwrap();
    let json = stdout_json(&alone);
    assert_eq!(
        json["artifacts"][0]["keyCount"], 12,
        "request.json beside the folder"
    );
}

#[test]
fn foreign_or_edited_batch_request_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (request, _) = fixed_batch_request(tmp.path());
    let text = std::fs::read_to_string(tmp.path().join("request.json")).unwrap();
    let other = DecryptionKey::generate().encryption_key().to_base64();
    let cases = [
        (
            "edited.json",
            text.replace(&request.dfns_request.encryption_key.to_base64(), &other),
            "encryptionKeyFingerprint",
        ),
        (
            "future.json",
            text.replace("\"version\": 1", "\"version\": 2"),
            "version 2",
        ),
        (
            "repeated.json",
            text.replace("\"key-02\"", "\"key-01\""),
            "listed twice",
        ),
        (
            "damaged.json",
            text[..text.len() / 2].to_owned(),
            "batch request",
        ),
    ];
    for (name, content, expected) in cases {
        let path = tmp.path().join(name);
        std::fs::write(&path, content).unwrap();
        offline()
            .args(["inspect", s(&path)])
            .assert()
            .code(3)
            .stdout("")
            .stderr(predicate::str::contains(format!(
                "error: {}:",
                path.display()
            )))
            .stderr(predicate::str::contains(expected));
    }
}

#[test]
fn inspect_errors_advise_what_to_give_not_to_run_inspect() {
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("notes.txt");
    std::fs::write(&junk, "hello\n").unwrap();
    offline()
        .args(["inspect", s(&junk)])
        .assert()
        .code(3)
        .stderr(predicates::str::contains(
            "advice: Give a request or response",
        ))
        .stderr(predicates::str::contains("Run `keyexport-offline inspect`").not());
}
