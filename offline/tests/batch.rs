//! Batch ceremonies (issue 10): `init` with a key id list, and `reconstruct` over a folder
//! of response files that continues past failing keys, with manifest and `--json`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use keyexport_shared::batch::{BatchRequestFile, response_file_name};
use keyexport_shared::dealer::Deal;
use keyexport_shared::files::{KeyId, ResponseFile, sha256_hex};
use keyexport_shared::scheme::Scheme;
use rand_core::OsRng;
use serde_json::Value;

use crate::common::{PASSPHRASE, file_names, offline, passphrase_file, s, stdout_json};

/// `init` of a batch in `dir/ceremony`; returns the ceremony folder and the request.
fn init_batch(dir: &Path, ids: &[&str]) -> (PathBuf, BatchRequestFile) {
    let list = dir.join("keys.txt");
    let text: String = ids.iter().map(|id| format!("{id}\n")).collect();
    std::fs::write(&list, format!("# the batch\n\n{text}")).unwrap();
    let pass = passphrase_file(dir, "pass.txt", PASSPHRASE);
    let ceremony = dir.join("ceremony");
    let output = offline()
        .args(["init", "--key-ids-file", s(&list), "--out", s(&ceremony)])
        .args(["--passphrase-file", s(&pass)])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bytes = std::fs::read(ceremony.join("request.json")).unwrap();
    (ceremony, BatchRequestFile::parse(&bytes).unwrap())
}

#[test]
fn init_writes_one_batch_request_and_qr_codes_only_when_they_fit() {
    let dir = tempfile::tempdir().unwrap();
    let (ceremony, request) = init_batch(dir.path(), &["key-a", "key-b", "key-c"]);
    let ids: Vec<&str> = request.key_ids.iter().map(KeyId::as_str).collect();
    assert_eq!(ids, ["key-a", "key-b", "key-c"]);
    assert!(file_names(&ceremony).contains(&"request.png".to_owned()));

    let many: Vec<String> = (0..300)
        .map(|i| format!("key-01j8xkq7t3v4w5x6y7z8a9b0c1-{i:04}"))
        .collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let big = dir.path().join("big");
    std::fs::create_dir(&big).unwrap();
    let (ceremony, request) = init_batch(&big, &many);
    assert_eq!(request.key_ids.len(), 300);
    assert!(!file_names(&ceremony).contains(&"request.png".to_owned()));
}

#[test]
fn key_ids_are_merged_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let pass = passphrase_file(dir.path(), "pass.txt", PASSPHRASE);
    let list = dir.path().join("keys.txt");
    std::fs::write(&list, "key-a\nkey/b\n").unwrap();
    let output = offline()
        .args([
            "init",
            "--key-ids-file",
            s(&list),
            "--passphrase-file",
            s(&pass),
        ])
        .args(["--out", s(&dir.path().join("c1"))])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("line 2"));

    std::fs::write(&list, "key-a # first\nkey-b\n").unwrap();
    let output = offline()
        .args(["init", "--key-id", "key-b", "--key-ids-file", s(&list)])
        .args([
            "--passphrase-file",
            s(&pass),
            "--out",
            s(&dir.path().join("c2")),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("key-b is given twice"));

    // Repeated --key-id makes a batch; nothing was created by the refused runs.
    let output = offline()
        .args(["init", "--key-id", "key-a", "--key-id", "key-b"])
        .args([
            "--passphrase-file",
            s(&pass),
            "--out",
            s(&dir.path().join("c3")),
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let bytes = std::fs::read(dir.path().join("c3/request.json")).unwrap();
    assert_eq!(BatchRequestFile::parse(&bytes).unwrap().key_ids.len(), 2);
    assert!(!dir.path().join("c1").exists() && !dir.path().join("c2").exists());

    // Custody parts bind one key id: a batch is refused before any key exists.
    let output = offline()
        .args(["init", "--key-id", "key-a", "--key-id", "key-b"])
        .args(["--custodians", "3", "--quorum", "2"])
        .args(["--out", s(&dir.path().join("c4"))])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("custody parts"));
    assert!(!dir.path().join("c4").exists());
}

/// Writes the response file of `key_id` into `folder`, dealt to the request's key.
pub(crate) fn deal_response(
    folder: &Path,
    request: &BatchRequestFile,
    request_sha256: &str,
    key_id: &str,
    deal: &Deal,
    tamper: bool,
) -> String {
    let mut dealt = deal.run(&request.dfns_request.encryption_key, &mut OsRng);
    if tamper {
        dealt.response.shares[0].ciphertext[0] ^= 1;
    }
    let id = KeyId::new(key_id).unwrap();
    let file = ResponseFile::new(
        request.ceremony_id.clone(),
        id.clone(),
        request_sha256.to_owned(),
        "2026-01-01T00:00:00Z".into(),
        "test".into(),
        "0".repeat(64),
        &dealt.response.to_json_value().to_string(),
    )
    .unwrap();
    std::fs::write(folder.join(response_file_name(&id)), file.to_bytes()).unwrap();
    dealt.private_key.to_hex().to_string()
}

#[test]
fn reconstruct_continues_past_failing_keys_and_writes_a_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let ids = [
        "key-ok-0",
        "key-ok-1",
        "key-ok-2",
        "key-tampered",
        "key-broken",
        "key-missing",
    ];
    let (ceremony, request) = init_batch(dir.path(), &ids);
    let sha = sha256_hex(&std::fs::read(ceremony.join("request.json")).unwrap());
    let responses = dir.path().join("responses");
    std::fs::create_dir(&responses).unwrap();
    let schemes: [Scheme; 3] = [
        "CGGMP24:secp256k1".parse().unwrap(),
        "FROST:ed25519".parse().unwrap(),
        "CGGMP21:stark".parse().unwrap(),
    ];
    let mut expected: HashMap<&str, String> = HashMap::new();
    for (id, scheme) in ids[..3].iter().zip(schemes) {
        let key = deal_response(
            &responses,
            &request,
            &sha,
            id,
            &Deal::new(scheme, 2, 3),
            false,
        );
        expected.insert(id, key);
    }
    // 2-of-3 with one tampered share: still rebuilt, the share set aside and named.
    let key = deal_response(
        &responses,
        &request,
        &sha,
        "key-tampered",
        &Deal::new(schemes[0], 2, 3),
        true,
    );
    expected.insert("key-tampered", key);
    // 2-of-2 with one tampered share: this key fails, the others go on.
    deal_response(
        &responses,
        &request,
        &sha,
        "key-broken",
        &Deal::new(schemes[1], 2, 2),
        true,
    );
    // The online side's journal lives in the same folder and is ignored.
    std::fs::write(responses.join("journal.jsonl"), "{}\n").unwrap();

    let out = dir.path().join("keys");
    let pass = dir.path().join("pass.txt");
    let output = offline()
        .args(["reconstruct", "--decryption-key"])
        .arg(ceremony.join("decryption-key.age"))
        .args(["--passphrase-file", s(&pass), "--response", s(&responses)])
        .args(["--out", s(&out), "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("2 of 6 key(s) failed"), "{stderr}");
    let report = stdout_json(&output);
    let keys = report["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 6);
    let by_id: HashMap<&str, &Value> = keys
        .iter()
        .map(|k| (k["keyId"].as_str().unwrap(), k))
        .collect();
    for (id, private_key) in &expected {
        let key = by_id[id];
        assert!(key.get("error").is_none(), "{id}: {key}");
        let path = key["output"]["path"].as_str().unwrap();
        assert_eq!(std::fs::read_to_string(path).unwrap().trim(), private_key);
        assert!(path.ends_with(&format!("{id}.hex")));
    }
    assert_eq!(by_id["key-ok-1"]["curve"], "ed25519");
    assert_eq!(by_id["key-ok-2"]["protocol"], "CGGMP21");
    assert_eq!(by_id["key-tampered"]["badShares"][0]["kind"], "decrypt");
    assert_eq!(by_id["key-broken"]["error"]["kind"], "decrypt");
    assert_eq!(by_id["key-missing"]["error"]["kind"], "input");

    // The manifests hold public facts only.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["keys"].as_array().unwrap().len(), 6);
    let csv = std::fs::read_to_string(out.join("manifest.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7);
    assert!(csv.starts_with("keyId,status,curve,protocol,publicKey,addresses,outputFile"));
    let manifest_text = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    for private_key in expected.values() {
        assert!(!csv.contains(private_key.as_str()));
        assert!(!manifest_text.contains(private_key.as_str()));
    }

    // The same response files without --out: verified, nothing written, same verdicts.
    let output = offline()
        .args(["reconstruct", "--decryption-key"])
        .arg(ceremony.join("decryption-key.age"))
        .args(["--passphrase-file", s(&pass), "--json", "--response"])
        .arg(responses.join(response_file_name(&KeyId::new("key-ok-0").unwrap())))
        .arg(responses.join(response_file_name(&KeyId::new("key-ok-2").unwrap())))
        .output()
        .unwrap();
    let report = stdout_json(&output);
    let keys = report["keys"].as_array().unwrap();
    // Given two files of a six-key batch: two rebuilt, four reported missing.
    assert_eq!(keys.len(), 6);
    assert_eq!(keys.iter().filter(|k| k.get("error").is_none()).count(), 2);

    // One response of the batch on its own goes through the single-key path.
    let output = offline()
        .args(["reconstruct", "--decryption-key"])
        .arg(ceremony.join("decryption-key.age"))
        .args(["--passphrase-file", s(&pass), "--json", "--response"])
        .arg(responses.join(response_file_name(&KeyId::new("key-ok-1").unwrap())))
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(stdout_json(&output)["curve"], "ed25519");
}
