//! Batch ceremonies: `init` with a key id list, and `reconstruct` over a folder
//! of response files that continues past failing keys, with manifest and `--json`; and a
//! batch's decryption key split between custodians (parts of a batch, not of one key).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use keyexport_shared::dealer::Deal;
use keyexport_shared::files::batch::{BatchRequestFile, response_file_name};
use keyexport_shared::files::{KeyId, ResponseFile, sha256_hex};
use keyexport_shared::scheme::Scheme;
use predicates::prelude::*;
use rand_core::OsRng;
use serde_json::Value;

use crate::common::{PASSPHRASE, file_names, offline, passphrase_file, s, shows, stdout_json};
use crate::custody::Split;

/// `init` of a batch in `dir/ceremony`; returns the ceremony folder and the request.
fn init_batch(dir: &Path, ids: &[&str]) -> (PathBuf, BatchRequestFile) {
    let pass = passphrase_file(dir, "pass.txt", PASSPHRASE);
    init_batch_with(dir, ids, &["--passphrase-file", s(&pass)])
}

/// `init` of a batch in `dir/ceremony` with the given sealing flags.
fn init_batch_with(dir: &Path, ids: &[&str], sealing: &[&str]) -> (PathBuf, BatchRequestFile) {
    let list = dir.join("keys.txt");
    let text: String = ids.iter().map(|id| format!("{id}\n")).collect();
    std::fs::write(&list, format!("# the batch\n\n{text}")).unwrap();
    let ceremony = dir.join("ceremony");
    let output = offline()
        .args(["init", "--key-ids-file", s(&list), "--out", s(&ceremony)])
        .args(sealing)
        .output()
        .unwrap();
    crate::common::assert_success(&output);
    let bytes = std::fs::read(ceremony.join("request.json")).unwrap();
    (ceremony, BatchRequestFile::parse(&bytes).unwrap())
}

/// `reconstruct` with the batch's sealed key in `ceremony`, opened with the passphrase in
/// `pass`; the test adds the responses and its flags.
fn reconstruct_sealed(ceremony: &Path, pass: &Path) -> assert_cmd::Command {
    let mut cmd = offline();
    cmd.args(["reconstruct", "--decryption-key"])
        .arg(ceremony.join("decryption-key.age"))
        .args(["--passphrase-file", s(pass)]);
    cmd
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

    // Bad custody settings of a batch are refused before any passphrase is asked (there
    // is no terminal here) and before any key or folder exists.
    let output = offline()
        .args(["init", "--key-id", "key-a", "--key-id", "key-b"])
        .args(["--custodians", "3", "--quorum", "4"])
        .args(["--out", s(&dir.path().join("c4"))])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("2 ≤ quorum ≤ custodians"));
    let output = offline()
        .args(["init", "--key-id", "key-a", "--key-id", "key-b"])
        .args(["--custodians", "2", "--quorum", "2"])
        .args(["--custodian-recipient", "nobody=age1x"])
        .args(["--out", s(&dir.path().join("c4"))])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no custodian is labelled nobody"));
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
        // The secp256k1 key is an HD root: its xpub goes into the report and manifest.
        let mut deal = Deal::new(scheme, 2, 3);
        deal.hd = *id == "key-ok-0";
        let key = deal_response(&responses, &request, &sha, id, &deal, false);
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
    let output = reconstruct_sealed(&ceremony, &pass)
        .args(["--response", s(&responses)])
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
    // The failed keys, each with the one `--json` error shape, and the run's own `batch`
    // failure as the operator reads it.
    let failed: Vec<&Value> = ["key-broken", "key-missing"]
        .iter()
        .map(|id| by_id[id])
        .collect();
    let report = stderr
        .lines()
        .filter(|l| l.starts_with("error:") || l.starts_with("advice:"))
        .collect::<Vec<_>>()
        .join("\n");
    insta::with_settings!({filters => vec![
        (s(dir.path()), "[TMP]"),
        (r"signers? [0-9A-Za-z_+/=, -]+", "signers [IDS]"),
        (r#""[0-9A-Za-z+/]{43}=""#, r#""[SIGNER]""#),
    ]}, {
        insta::assert_json_snapshot!("batch_failed_keys", failed);
        insta::assert_snapshot!("kind_batch", format!("exit code: {:?}\n{report}", output.status.code()));
    });

    // The manifests hold public facts only.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["keys"].as_array().unwrap().len(), 6);
    let csv = std::fs::read_to_string(out.join("manifest.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7);
    assert!(csv.starts_with("keyId,status,curve,protocol,publicKey,hd,xpub,addresses,outputFile"));
    let xpub = by_id["key-ok-0"]["xpub"].as_str().unwrap();
    assert!(xpub.starts_with("xpub"), "{xpub}");
    assert!(by_id["key-ok-1"].get("xpub").is_none());
    let rows = manifest["keys"].as_array().unwrap();
    let row = |id: &str| rows.iter().find(|r| r["keyId"] == id).unwrap();
    assert_eq!(row("key-ok-0")["hd"], true);
    assert_eq!(row("key-ok-0")["xpub"], xpub);
    assert_eq!(row("key-ok-2")["hd"], false);
    assert!(csv.contains(&format!(",true,{xpub},")));
    let manifest_text = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    for private_key in expected.values() {
        assert!(!csv.contains(private_key.as_str()));
        assert!(!manifest_text.contains(private_key.as_str()));
    }

    // The same response files without --out: verified, nothing written, same verdicts.
    let output = reconstruct_sealed(&ceremony, &pass)
        .args(["--json", "--response"])
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
    let output = reconstruct_sealed(&ceremony, &pass)
        .args(["--json", "--response"])
        .arg(responses.join(response_file_name(&KeyId::new("key-ok-1").unwrap())))
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(stdout_json(&output)["curve"], "ed25519");
}

/// A batch ceremony whose decryption key is split 2-of-3: alice and bob seal their parts
/// with passphrase files, carol's is sealed to an age recipient.
struct CustodyBatch {
    ceremony: PathBuf,
    request: BatchRequestFile,
    alice: PathBuf,
    bob: PathBuf,
    carol_identity: PathBuf,
}

impl CustodyBatch {
    fn new(dir: &Path, ids: &[&str]) -> CustodyBatch {
        let alice = passphrase_file(dir, "alice.pass", "alice's long passphrase");
        let bob = passphrase_file(dir, "bob.pass", "bob's long passphrase");
        let identity = age::x25519::Identity::generate();
        let carol_identity = dir.join("carol.identity.txt");
        {
            use age::secrecy::ExposeSecret;
            std::fs::write(
                &carol_identity,
                format!("{}\n", identity.to_string().expose_secret()),
            )
            .unwrap();
        }
        let carol = format!("carol={}", identity.to_public());
        let (ceremony, request) = init_batch_with(
            dir,
            ids,
            &[
                "--custodians",
                "3",
                "--quorum",
                "2",
                "--custodian-label",
                "alice",
                "--custodian-label",
                "bob",
                "--custodian-label",
                "carol",
                "--custodian-recipient",
                carol.as_str(),
                "--passphrase-file",
                s(&alice),
                "--passphrase-file",
                s(&bob),
            ],
        );
        CustodyBatch {
            ceremony,
            request,
            alice,
            bob,
            carol_identity,
        }
    }

    fn part(&self, label: &str) -> PathBuf {
        self.ceremony
            .join(format!("{label}.decryption-key-part.age"))
    }

    /// `reconstruct` of `responses` with parts given as (label, passphrase file or none).
    fn reconstruct(&self, responses: &Path, parts: &[(&str, Option<&Path>)]) -> Command {
        let mut cmd = offline();
        cmd.args(["reconstruct", "--response", s(responses)]);
        for (label, pass) in parts {
            cmd.args(["--decryption-key", s(&self.part(label))]);
            match pass {
                Some(pass) => cmd.args(["--passphrase-file", s(pass)]),
                None => cmd.args(["--identity", s(&self.carol_identity)]),
            };
        }
        cmd
    }
}

#[test]
fn custody_parts_rebuild_every_key_of_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let ids = ["key-c1", "key-c2", "key-c3", "key-c4"];
    let batch = CustodyBatch::new(dir.path(), &ids);
    let mut names = file_names(&batch.ceremony);
    names.retain(|n| n.ends_with(".decryption-key-part.age") || n == "decryption-key.age");
    assert_eq!(
        names,
        [
            "alice.decryption-key-part.age",
            "bob.decryption-key-part.age",
            "carol.decryption-key-part.age"
        ]
    );
    let listed: Vec<&str> = batch.request.key_ids.iter().map(KeyId::as_str).collect();
    assert_eq!(listed, ids);
    // Each custodian checks their part alone against the batch request.
    offline()
        .args(["custody", "verify", s(&batch.part("carol"))])
        .args(["--request", s(&batch.ceremony.join("request.json"))])
        .args(["--identity", s(&batch.carol_identity)])
        .assert()
        .success()
        .stderr(predicate::str::contains("Key ids      4 keys (batch)"))
        .stderr(predicate::str::contains(
            "Bound        to the encryption key",
        ));

    let sha = sha256_hex(&std::fs::read(batch.ceremony.join("request.json")).unwrap());
    let responses = dir.path().join("responses");
    std::fs::create_dir(&responses).unwrap();
    let schemes: [&str; 4] = [
        "CGGMP24:secp256k1",
        "FROST:ed25519",
        "CGGMP21:stark",
        "CGGMP24:secp256k1",
    ];
    let mut expected: HashMap<&str, String> = HashMap::new();
    for (id, scheme) in ids.iter().zip(schemes) {
        let deal = Deal::new(scheme.parse().unwrap(), 2, 3);
        let key = deal_response(&responses, &batch.request, &sha, id, &deal, false);
        expected.insert(id, key);
    }
    let bad = passphrase_file(dir.path(), "bad.pass", "not the passphrase");

    // A wrong passphrase for alice, with enough others: named, and every key rebuilt.
    let output = batch
        .reconstruct(
            &responses,
            &[
                ("alice", Some(&bad)),
                ("bob", Some(&batch.bob)),
                ("carol", None),
            ],
        )
        .arg("--json")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(shows(&stderr, "alice ("), "{stderr}");
    assert!(
        shows(&stderr, "decryption-key-part.age): wrong passphrase"),
        "{stderr}"
    );
    assert!(
        stderr.contains("from 2 of the parts (2 needed): bob, carol"),
        "{stderr}"
    );
    let report = stdout_json(&output);
    let keys = report["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 4);
    assert!(keys.iter().all(|k| k.get("error").is_none()), "{report}");

    // Too few good parts: the threshold error, and nothing written.
    let out = dir.path().join("keys");
    batch
        .reconstruct(
            &responses,
            &[("alice", Some(&bad)), ("bob", Some(&batch.bob))],
        )
        .args(["--out", s(&out)])
        .assert()
        .code(4)
        .stderr(predicate::str::contains(
            "1 good custody part(s), 2 needed; set aside: alice",
        ));
    assert!(!out.exists());

    // One response of the batch on its own (single-key path) opens with the parts too.
    batch
        .reconstruct(
            &responses.join(response_file_name(&KeyId::new("key-c2").unwrap())),
            &[("alice", Some(&batch.alice)), ("bob", Some(&batch.bob))],
        )
        .arg("--reveal")
        .assert()
        .success()
        .stdout(format!("{}\n", expected["key-c2"]));

    // Two parts, one recipient-sealed: every key delivered, then the parts used are
    // destroyed as for a batch's sealed key (all keys succeeded); bob's part stays.
    let output = batch
        .reconstruct(
            &responses,
            &[("alice", Some(&batch.alice)), ("carol", None)],
        )
        .args(["--out", s(&out), "--json", "--destroy-decryption-key"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report = stdout_json(&output);
    for key in report["keys"].as_array().unwrap() {
        let id = key["keyId"].as_str().unwrap();
        let path = key["output"]["path"].as_str().unwrap();
        assert_eq!(std::fs::read_to_string(path).unwrap().trim(), expected[id]);
    }
    assert_eq!(report["keys"].as_array().unwrap().len(), 4);
    assert!(out.join("manifest.json").exists());
    assert!(!batch.part("alice").exists() && !batch.part("carol").exists());
    assert!(batch.part("bob").exists());
    let transcript = std::fs::read_to_string(batch.ceremony.join("transcript.jsonl")).unwrap();
    let last: Value = serde_json::from_str(transcript.lines().last().unwrap()).unwrap();
    assert_eq!(
        last["custody"]["used"],
        serde_json::json!(["alice", "carol"])
    );
    assert_eq!(last["destroyed"].as_array().unwrap().len(), 2);
}

#[test]
fn single_key_and_batch_custody_parts_are_not_mixed() {
    let dir = tempfile::tempdir().unwrap();
    let batch = CustodyBatch::new(dir.path(), &["key-m1", "key-m2"]);
    let sha = sha256_hex(&std::fs::read(batch.ceremony.join("request.json")).unwrap());
    let responses = dir.path().join("responses");
    std::fs::create_dir(&responses).unwrap();
    let deal = Deal::new("CGGMP24:secp256k1".parse().unwrap(), 2, 3);
    for id in ["key-m1", "key-m2"] {
        deal_response(&responses, &batch.request, &sha, id, &deal, false);
    }
    let single = Split::new(dir.path(), "single", 2, 3);

    // A single-key ceremony's parts given for a batch: named, nothing rebuilt.
    let out = dir.path().join("keys");
    let mut cmd = offline();
    cmd.args(["reconstruct", "--response", s(&responses), "--out", s(&out)]);
    for i in [0, 1] {
        cmd.args(["--decryption-key", s(&single.part(i))]);
        cmd.args(["--passphrase-file", s(&single.passes[i])]);
    }
    cmd.assert()
        .code(4)
        .stderr(predicate::str::contains("0 good custody part(s)"))
        .stderr(predicate::str::contains(format!(
            "single-c1 ({}): it is the part of a single-key ceremony ({}, key key-01custody), not of a batch",
            s(&single.part(0)),
            single.request.ceremony_id
        )));
    assert!(!out.exists());

    // A batch's parts given for a single key's response: another ceremony, said to be a batch.
    let response = single.response(&single.deal());
    batch
        .reconstruct(
            &response,
            &[("alice", Some(&batch.alice)), ("bob", Some(&batch.bob))],
        )
        .assert()
        .code(4)
        .stderr(predicate::str::contains(format!(
            "it belongs to another ceremony ({}, a batch of 2 keys)",
            batch.request.ceremony_id
        )));

    // custody verify: a single-key part is not the batch request's, and the reverse.
    single
        .verify(0)
        .args(["--request", s(&batch.ceremony.join("request.json"))])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("belongs to another ceremony"));
    offline()
        .args(["custody", "verify", s(&batch.part("bob"))])
        .args(["--request", s(&single.request_path())])
        .args(["--passphrase-file", s(&batch.bob)])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("a batch of 2 keys"));
}

#[test]
fn batch_reports_hd_keys_and_fields_dfns_added() {
    let dir = tempfile::tempdir().unwrap();
    let (ceremony, request) = init_batch(dir.path(), &["key-hd", "key-new-field"]);
    let sha = sha256_hex(&std::fs::read(ceremony.join("request.json")).unwrap());
    let responses = dir.path().join("responses");
    std::fs::create_dir(&responses).unwrap();
    let scheme: Scheme = "CGGMP24:secp256k1".parse().unwrap();
    let hd = Deal {
        hd: true,
        ..Deal::new(scheme, 2, 3)
    };
    deal_response(&responses, &request, &sha, "key-hd", &hd, false);
    // A response body with a member Dfns might add.
    let dealt = Deal::new(scheme, 2, 3).run(&request.dfns_request.encryption_key, &mut OsRng);
    let mut body = dealt.response.to_json_value();
    body["keyShareFormat"] = serde_json::json!("v2");
    let id = KeyId::new("key-new-field").unwrap();
    let file = ResponseFile::new(
        request.ceremony_id.clone(),
        id.clone(),
        sha.clone(),
        "2026-01-01T00:00:00Z".into(),
        "test".into(),
        "0".repeat(64),
        &body.to_string(),
    )
    .unwrap();
    std::fs::write(responses.join(response_file_name(&id)), file.to_bytes()).unwrap();

    let pass = dir.path().join("pass.txt");
    let output = reconstruct_sealed(&ceremony, &pass)
        .args(["--response", s(&responses), "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("the Dfns documents of 1 key(s) carry fields this tool does not know"),
        "{stderr}"
    );
    let report = stdout_json(&output);
    let by_id: HashMap<&str, &Value> = report["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["keyId"].as_str().unwrap(), k))
        .collect();
    assert_eq!(by_id["key-hd"]["hd"], true);
    assert!(by_id["key-hd"].get("chainCode").is_none());
    assert_eq!(by_id["key-hd"]["unknownFields"], serde_json::json!([]));
    assert_eq!(by_id["key-new-field"]["hd"], false);
    assert_eq!(
        by_id["key-new-field"]["unknownFields"],
        serde_json::json!([{"document": "response", "field": "keyShareFormat"}])
    );
}
