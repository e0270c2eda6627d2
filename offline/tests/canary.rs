//! The canary ceremony on the offline machine, through the real binary: `init --canary`
//! writes a request that requires a canary; `reconstruct` of the canary's response (dealt
//! by the sandbox's dealer to the ceremony's encryption key) rebuilds and verifies it and
//! writes a receipt that `keyexport_shared::canary` verifies against the exported canary;
//! faults and impostors are refused with no receipt; `inspect` shows both.

use std::path::{Path, PathBuf};

use keyexport_shared::canary::{
    CanaryReceipt, ExportedCanary, RECEIPT_FILE_NAME, RECEIPT_PNG_NAME,
};
use keyexport_shared::dealer::{Deal, Dealt};
use keyexport_shared::ecies::encrypt_share;
use keyexport_shared::files::{Artifact, CeremonyId, KeyId, ResponseFile, sha256_hex};
use keyexport_shared::keys::EncryptionKey;
use keyexport_shared::transport::{FrameCollector, decode_image};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;

use crate::common::{PASSPHRASE, file_names, offline, passphrase_file, s, stdout_json};
use crate::snapshots::stderr_of;

/// The real key of the single-key ceremonies here.
const REAL_KEY: &str = "key-01real-0000000000000000";
/// The throwaway key the online machine created.
const CANARY_KEY: &str = "key-01canary-111111111111111";

/// A canary ceremony as `init --canary` makes it in `ROOT/ceremony`, the passphrase in
/// `ROOT/pass.txt`.
struct CanaryCeremony {
    root: PathBuf,
    dir: PathBuf,
    request_bytes: Vec<u8>,
    ceremony_id: CeremonyId,
    encryption_key: EncryptionKey,
    init: std::process::Output,
}

impl CanaryCeremony {
    /// `init --canary` with `key_args` (`--key-id …` or `--key-ids-file …`) and `extra`.
    fn new(root: &Path, key_args: &[&str], extra: &[&str]) -> CanaryCeremony {
        passphrase_file(root, "pass.txt", PASSPHRASE);
        let init = offline()
            .current_dir(root)
            .args(["init", "--canary", "--out", "ceremony"])
            .args(key_args)
            .args(["--scheme", "CGGMP24:secp256k1", "--scheme", "FROST:ed25519"])
            .args(extra)
            .output()
            .unwrap();
        crate::common::assert_success(&init);
        let dir = root.join("ceremony");
        let request_bytes = std::fs::read(dir.join("request.json")).unwrap();
        let (ceremony_id, encryption_key) = match Artifact::parse(&request_bytes).unwrap() {
            Artifact::Request(request) => {
                assert!(request.canary, "the request requires a canary");
                (request.ceremony_id, request.dfns_request.encryption_key)
            }
            Artifact::BatchRequest(batch) => {
                assert!(batch.canary, "the batch request requires a canary");
                (batch.ceremony_id, batch.dfns_request.encryption_key)
            }
            other => panic!("init wrote {}", other.describe()),
        };
        CanaryCeremony {
            root: root.to_path_buf(),
            dir,
            request_bytes,
            ceremony_id,
            encryption_key,
            init,
        }
    }

    /// `init --canary --key-id REAL_KEY`, sealed with `pass.txt`.
    fn single(root: &Path) -> CanaryCeremony {
        CanaryCeremony::new(
            root,
            &["--key-id", REAL_KEY],
            &["--passphrase-file", "pass.txt"],
        )
    }

    /// A response file of this ceremony for `key_id`, marked as the canary's, written to
    /// `ROOT/canary/response.json` (as `submit` saves it).
    fn canary_response(&self, key_id: &str, dealt: &Dealt) -> (PathBuf, ResponseFile) {
        self.response_file(key_id, &dealt.response.to_json_value().to_string())
    }

    fn response_file(&self, key_id: &str, body: &str) -> (PathBuf, ResponseFile) {
        let file = ResponseFile::new(
            self.ceremony_id.clone(),
            KeyId::new(key_id).unwrap(),
            sha256_hex(&self.request_bytes),
            "2026-12-05T17:00:00Z".into(),
            "keyexport-online 0.1.0".into(),
            "ab".repeat(32),
            body,
        )
        .unwrap()
        .with_canary(true);
        let folder = self.root.join("canary");
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join("response.json");
        std::fs::write(&path, file.to_bytes()).unwrap();
        (path, file)
    }

    /// A 2-of-3 canary of `scheme`, dealt from a seeded generator (the same key, signer ids
    /// and addresses every run, so its screens can be snapshot).
    fn deal(&self, scheme: &str, seed: u64) -> Dealt {
        Deal::new(scheme.parse().unwrap(), 2, 3)
            .run(&self.encryption_key, &mut StdRng::seed_from_u64(seed))
    }

    /// `reconstruct --decryption-key ceremony/decryption-key.age --passphrase-file
    /// pass.txt --response canary/response.json` run inside the root.
    fn reconstruct(&self) -> assert_cmd::Command {
        self.reconstruct_of("canary/response.json")
    }

    /// The same with `--response RESPONSE`.
    fn reconstruct_of(&self, response: &str) -> assert_cmd::Command {
        let mut cmd = offline();
        cmd.current_dir(&self.root).args(reconstruct_args(response));
        cmd
    }

    fn receipt_files(&self) -> [PathBuf; 2] {
        [
            self.dir.join(RECEIPT_FILE_NAME),
            self.dir.join(RECEIPT_PNG_NAME),
        ]
    }

    /// The screen with this ceremony's random ids replaced by names.
    fn redact(&self, text: &str) -> String {
        let fingerprint = self.encryption_key.fingerprint().to_string();
        let mut out = Vec::new();
        let mut in_aloud = false;
        let mut previous = "";
        for line in text.lines() {
            if previous.starts_with("Transcript head  ") {
                previous = line;
                out.push("  [HEAD]".to_owned());
                continue;
            }
            previous = line;
            if line.starts_with("  aloud") {
                in_aloud = true;
                out.push("  aloud      [SPOKEN FINGERPRINT]".to_owned());
                continue;
            }
            if in_aloud && line.starts_with("             ") {
                continue;
            }
            in_aloud = false;
            out.push(
                line.replace(self.ceremony_id.as_str(), "[CEREMONY]")
                    .replace(&fingerprint, "[FINGERPRINT]")
                    .replace(s(&self.root), "[ROOT]"),
            );
        }
        out.join("\n")
    }
}

/// No line of `text` passes 80 columns.
/// What an offline machine's operator sees of `stderr`: without the test run's own
/// warnings (the air-gap override's banner on a networked test machine, the fast scrypt).
fn offline_screen(stderr: &[u8]) -> String {
    String::from_utf8(stderr.to_vec())
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('!') && !l.contains("KEYEXPORT_TEST_"))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn assert_fits_80_columns(text: &str) {
    // The test build's own warning (a fast scrypt) is not part of the screen.
    for line in text.lines().filter(|l| !l.contains("KEYEXPORT_TEST_")) {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}",
            line.chars().count()
        );
    }
}

fn last_transcript_line(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("transcript.jsonl")).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

/// `reconstruct` with the sealed key and its passphrase file (paths inside the root) and
/// `--response RESPONSE`.
fn reconstruct_args(response: &str) -> [&str; 7] {
    [
        "reconstruct",
        "--decryption-key",
        "ceremony/decryption-key.age",
        "--passphrase-file",
        "pass.txt",
        "--response",
        response,
    ]
}

/// The `error` object a `--json` run printed, having checked that it exited with `code`.
fn json_error(run: &std::process::Output, code: i32) -> Value {
    assert_eq!(
        run.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    stdout_json(run)["error"].clone()
}

/// The message of [`json_error`].
fn json_error_message(run: &std::process::Output, code: i32) -> String {
    json_error(run, code)["message"]
        .as_str()
        .expect("an error message")
        .to_owned()
}

#[test]
fn init_canary_writes_a_request_that_requires_a_canary_and_says_what_comes_next() {
    let tmp = tempfile::tempdir().unwrap();
    let ceremony = CanaryCeremony::single(tmp.path());
    let request: Value = serde_json::from_slice(&ceremony.request_bytes).unwrap();
    assert_eq!(request["canary"], true);
    assert_eq!(request["keyId"], REAL_KEY);
    // The screen an offline machine shows fits 80x24.
    let stderr = offline_screen(&ceremony.init.stderr);
    assert_fits_80_columns(&stderr);
    assert!(stderr.lines().count() <= 24, "{stderr}");
    let line = last_transcript_line(&ceremony.dir);
    assert_eq!(line["command"], "init");
    assert_eq!(line["canary"], true);
    // The same sealed key as any ceremony: one decryption-key.age, no second key.
    assert_eq!(
        file_names(&ceremony.dir),
        [
            "decryption-key.age",
            "request.json",
            "request.png",
            "transcript.jsonl"
        ]
    );
    insta::assert_snapshot!(ceremony.redact(&stderr));

    // Without --canary, the request says nothing of a canary and init's screen neither.
    let plain = tempfile::tempdir().unwrap();
    let pass = passphrase_file(plain.path(), "pass.txt", PASSPHRASE);
    let out = plain.path().join("ceremony");
    let run = offline()
        .args(["init", "--key-id", REAL_KEY, "--out", s(&out)])
        .args(["--passphrase-file", s(&pass)])
        .output()
        .unwrap();
    assert!(run.status.success());
    let text = std::fs::read_to_string(out.join("request.json")).unwrap();
    assert!(!text.contains("canary"), "{text}");
    assert!(!String::from_utf8_lossy(&run.stderr).contains("Canary"));
    assert!(last_transcript_line(&out).get("canary").is_none());
}

#[test]
fn one_canary_serves_a_batch() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("keys.txt"),
        "key-01batch-a\nkey-01batch-b\nkey-01batch-c\n",
    )
    .unwrap();
    let ceremony = CanaryCeremony::new(
        tmp.path(),
        &["--key-ids-file", "keys.txt"],
        &["--passphrase-file", "pass.txt"],
    );
    let request: Value = serde_json::from_slice(&ceremony.request_bytes).unwrap();
    assert_eq!(request["canary"], true);
    assert_eq!(request["keyIds"].as_array().unwrap().len(), 3);
    let stderr = String::from_utf8(ceremony.init.stderr.clone()).unwrap();
    assert_fits_80_columns(&stderr);
    assert_eq!(stderr.matches("Canary       required").count(), 1);

    // The batch's canary rebuilds with the batch's sealed key and gets its receipt.
    let dealt = ceremony.deal("FROST:ed25519", 7);
    let (_, file) = ceremony.canary_response(CANARY_KEY, &dealt);
    ceremony.reconstruct().assert().success();
    let receipt =
        CanaryReceipt::parse(&std::fs::read(&ceremony.receipt_files()[0]).unwrap()).unwrap();
    receipt
        .verify(&ExportedCanary::from_response(&file).unwrap())
        .unwrap();

    // A "canary" that is one of the batch's keys is refused.
    for path in ceremony.receipt_files() {
        std::fs::remove_file(path).unwrap();
    }
    ceremony.canary_response("key-01batch-b", &dealt);
    let refused = ceremony.reconstruct().arg("--json").output().unwrap();
    assert_eq!(json_error(&refused, 3)["kind"], "input");
    assert!(ceremony.receipt_files().iter().all(|p| !p.exists()));
}

#[test]
fn the_canary_is_rebuilt_and_its_receipt_verifies_against_the_exported_canary() {
    let tmp = tempfile::tempdir().unwrap();
    let ceremony = CanaryCeremony::single(tmp.path());
    let dealt = ceremony.deal("CGGMP24:secp256k1", 1);
    let (_, file) = ceremony.canary_response(CANARY_KEY, &dealt);

    let screen = stderr_of(&reconstruct_args("canary/response.json"), &ceremony.root);
    assert!(screen.starts_with("exit code: Some(0)"), "{screen}");
    assert_fits_80_columns(&screen);
    insta::assert_snapshot!(ceremony.redact(&screen));

    // The receipt, read back and checked exactly as the online machine does.
    let [json, png] = ceremony.receipt_files();
    let bytes = std::fs::read(&json).unwrap();
    let receipt = CanaryReceipt::parse(&bytes).unwrap();
    let exported = ExportedCanary::from_response(&file).unwrap();
    receipt.verify(&exported).unwrap();
    assert_eq!(receipt.canary_key_id().as_str(), CANARY_KEY);
    assert_eq!(receipt.ceremony_id(), &ceremony.ceremony_id);
    assert_eq!(receipt.public_key(), &dealt.response.public_key);
    // Its QR sheet holds the same bytes.
    let mut collector = FrameCollector::new();
    for text in decode_image(&std::fs::read(&png).unwrap()).unwrap() {
        collector.push(&text).unwrap();
    }
    assert_eq!(collector.finish().unwrap(), bytes);
    // The canary key itself was not written anywhere.
    assert_eq!(
        file_names(&ceremony.dir),
        [
            "canary-receipt.json",
            "canary-receipt.png",
            "decryption-key.age",
            "request.json",
            "request.png",
            "transcript.jsonl"
        ]
    );
    // The transcript records the canary, the receipt and its files, and still verifies.
    let line = last_transcript_line(&ceremony.dir);
    assert_eq!(line["command"], "reconstruct");
    assert_eq!(line["canary"], true);
    assert_eq!(line["keyId"], CANARY_KEY);
    assert_eq!(line["canaryReceipt"]["canaryKeyId"], CANARY_KEY);
    assert_eq!(
        line["canaryReceipt"]["signature"],
        hex::encode(receipt.signature())
    );
    let roles: Vec<&str> = line["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["canary-receipt", "canary-receipt-qr"]);
    assert_eq!(line["outputs"][0]["sha256"], sha256_hex(&bytes));
    offline()
        .args(["transcript", "verify", s(&ceremony.dir)])
        .assert()
        .success();

    // The sealed key is still needed for the real key: never destroyed after the canary.
    let refused = ceremony
        .reconstruct()
        .args(["--out", "canary.hex", "--destroy-decryption-key", "--json"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(ceremony.dir.join("decryption-key.age").exists());
    assert!(!ceremony.root.join("canary.hex").exists());

    // A second run never writes over the receipt: refused before the passphrase is used.
    let again = ceremony.reconstruct().arg("--json").output().unwrap();
    assert_eq!(json_error(&again, 6)["kind"], "output");
    assert_eq!(std::fs::read(&json).unwrap(), bytes);

    // --json: "canary": true and the receipt as written.
    for path in ceremony.receipt_files() {
        std::fs::remove_file(path).unwrap();
    }
    let run = ceremony.reconstruct().arg("--json").output().unwrap();
    assert!(run.status.success());
    let printed = stdout_json(&run);
    assert_eq!(printed["canary"], true);
    assert_eq!(printed["publicKey"], dealt.response.public_key.to_hex());
    assert!(printed.get("privateKey").is_none());
    let written = &printed["receipt"];
    assert_eq!(
        written["path"],
        std::path::absolute(&json).unwrap().display().to_string()
    );
    assert_eq!(
        written["qrPath"],
        std::path::absolute(&png).unwrap().display().to_string()
    );
    let again = std::fs::read(&json).unwrap();
    assert_eq!(written["sha256"], sha256_hex(&again));
    assert_eq!(
        written["document"],
        serde_json::from_slice::<Value>(&again).unwrap()
    );
    CanaryReceipt::parse(&again)
        .unwrap()
        .verify(&exported)
        .unwrap();
}

#[test]
fn receipts_verify_on_every_curve_and_the_key_is_written_only_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, scheme) in [
        "FROST:ed25519",
        "CGGMP24:stark",
        "GLOW20_DH:secp256k1",
        "CGGMP24:secp256k1",
    ]
    .into_iter()
    .enumerate()
    {
        let root = tmp.path().join(format!("c{i}"));
        std::fs::create_dir(&root).unwrap();
        let ceremony = CanaryCeremony::single(&root);
        let mut deal = Deal::new(scheme.parse().unwrap(), 2, 3);
        // The canary of an HD master key is an HD master key too.
        deal.hd = i == 3;
        let dealt = deal.run(
            &ceremony.encryption_key,
            &mut StdRng::seed_from_u64(10 + i as u64),
        );
        let (_, file) = ceremony.canary_response(CANARY_KEY, &dealt);
        let mut cmd = ceremony.reconstruct();
        if i == 0 {
            cmd.args(["--out", "canary.hex"]);
        }
        let run = cmd.output().unwrap();
        assert!(
            run.status.success(),
            "{scheme}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let receipt =
            CanaryReceipt::parse(&std::fs::read(&ceremony.receipt_files()[0]).unwrap()).unwrap();
        receipt
            .verify(&ExportedCanary::from_response(&file).unwrap())
            .unwrap_or_else(|e| panic!("{scheme}: {e}"));
        assert_eq!(root.join("canary.hex").exists(), i == 0, "{scheme}");
        // The whole screen fits 80x24, the HD root's xpub included.
        let screen = offline_screen(&run.stderr);
        assert_fits_80_columns(&screen);
        assert!(screen.lines().count() <= 24, "{scheme}:\n{screen}");
    }
}

#[test]
fn with_custody_parts_the_receipt_goes_beside_the_first_part() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut extra: Vec<String> = vec![
        "--custodians".into(),
        "3".into(),
        "--quorum".into(),
        "2".into(),
    ];
    for label in ["alice", "bob", "carol"] {
        passphrase_file(
            root,
            &format!("{label}.pass"),
            &format!("the passphrase of {label}"),
        );
        extra.extend([
            "--custodian-label".into(),
            label.into(),
            "--passphrase-file".into(),
            format!("{label}.pass"),
        ]);
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let ceremony = CanaryCeremony::new(root, &["--key-id", REAL_KEY], &extra);
    // Each custodian keeps a part on a stick of their own.
    for label in ["bob", "carol"] {
        let stick = root.join(format!("{label}-stick"));
        std::fs::create_dir(&stick).unwrap();
        let name = format!("{label}.decryption-key-part.age");
        std::fs::rename(ceremony.dir.join(&name), stick.join(&name)).unwrap();
    }
    let dealt = ceremony.deal("CGGMP24:secp256k1", 3);
    let (_, file) = ceremony.canary_response(CANARY_KEY, &dealt);
    let run = offline()
        .current_dir(root)
        .args([
            "reconstruct",
            "--response",
            "canary/response.json",
            "--json",
        ])
        .args([
            "--decryption-key",
            "carol-stick/carol.decryption-key-part.age",
        ])
        .args(["--passphrase-file", "carol.pass"])
        .args(["--decryption-key", "bob-stick/bob.decryption-key-part.age"])
        .args(["--passphrase-file", "bob.pass"])
        .output()
        .unwrap();
    crate::common::assert_success(&run);
    assert_eq!(stdout_json(&run)["canary"], true);
    let stick = root.join("carol-stick");
    assert!(stick.join(RECEIPT_PNG_NAME).exists());
    let receipt =
        CanaryReceipt::parse(&std::fs::read(stick.join(RECEIPT_FILE_NAME)).unwrap()).unwrap();
    receipt
        .verify(&ExportedCanary::from_response(&file).unwrap())
        .unwrap();
    assert!(!ceremony.dir.join(RECEIPT_FILE_NAME).exists());
    assert!(!root.join("bob-stick").join(RECEIPT_FILE_NAME).exists());
}

#[test]
fn a_canary_with_a_share_format_fault_is_refused_and_no_receipt_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let ceremony = CanaryCeremony::single(tmp.path());
    // 2 of 2 shares, one of which decrypts to something that is no share document.
    let mut dealt = Deal::new("CGGMP24:secp256k1".parse().unwrap(), 2, 2)
        .run(&ceremony.encryption_key, &mut StdRng::seed_from_u64(5));
    dealt.response.shares[0].ciphertext = encrypt_share(
        &ceremony.encryption_key,
        b"{\"not\": \"a share\"}",
        &mut StdRng::seed_from_u64(6),
    );
    ceremony.canary_response(CANARY_KEY, &dealt);
    let run = ceremony.reconstruct().arg("--json").output().unwrap();
    assert_eq!(json_error(&run, 4)["kind"], "share-format");
    assert!(ceremony.receipt_files().iter().all(|p| !p.exists()));
    let line = last_transcript_line(&ceremony.dir);
    assert_eq!(line["canary"], true);
    assert_eq!(line["outcome"]["kind"], "share-format");
    assert!(line.get("canaryReceipt").is_none());
}

#[test]
fn a_real_key_presented_as_the_canary_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ceremony = CanaryCeremony::single(tmp.path());
    let dealt = ceremony.deal("CGGMP24:secp256k1", 2);
    ceremony.canary_response(REAL_KEY, &dealt);
    let run = ceremony.reconstruct().arg("--json").output().unwrap();
    let error = json_error(&run, 3);
    assert_eq!(error["kind"], "input");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(REAL_KEY) && message.contains("real keys"),
        "{message}"
    );
    assert!(ceremony.receipt_files().iter().all(|p| !p.exists()));
}

#[test]
fn a_canary_of_another_ceremony_or_with_a_plain_key_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ceremony = CanaryCeremony::single(tmp.path());
    let other_root = tmp.path().join("other");
    std::fs::create_dir(&other_root).unwrap();
    let other = CanaryCeremony::single(&other_root);
    let dealt = other.deal("CGGMP24:secp256k1", 4);
    let (path, _) = other.canary_response(CANARY_KEY, &dealt);
    std::fs::create_dir(tmp.path().join("canary")).unwrap();
    std::fs::copy(&path, tmp.path().join("canary/response.json")).unwrap();
    let run = ceremony.reconstruct().arg("--json").output().unwrap();
    assert!(json_error_message(&run, 3).contains("ceremony"));
    assert!(ceremony.receipt_files().iter().all(|p| !p.exists()));

    // A plain key names no ceremony: it cannot prove the sealed key.
    let plain = tmp.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    std::fs::write(plain.join("key.hex"), "01".to_owned() + &"11".repeat(32)).unwrap();
    let run = offline()
        .args(["reconstruct", "--json", "--response", s(&path)])
        .args(["--decryption-key", s(&plain.join("key.hex"))])
        .output()
        .unwrap();
    assert!(json_error_message(&run, 3).contains("plain key"));
    assert!(!plain.join(RECEIPT_FILE_NAME).exists());
}

#[test]
fn inspect_shows_the_canary_response_and_the_receipt() {
    let tmp = tempfile::tempdir().unwrap();
    let ceremony = CanaryCeremony::single(tmp.path());
    let dealt = ceremony.deal("CGGMP24:secp256k1", 1);
    ceremony.canary_response(CANARY_KEY, &dealt);
    ceremony.reconstruct().assert().success();

    let inspect = |args: &[&str]| {
        offline()
            .current_dir(&ceremony.root)
            .arg("inspect")
            .args(args)
            .output()
            .unwrap()
    };
    let text = inspect(&[
        "canary/response.json",
        "ceremony/canary-receipt.json",
        "ceremony/request.json",
    ]);
    assert!(text.status.success());
    let stdout = String::from_utf8(text.stdout).unwrap();
    // The receipt's lines fit 80 columns (its digest, key and signature grouped).
    let receipt_block = &stdout[stdout.find("ceremony/canary-receipt.json").unwrap()..];
    assert_fits_80_columns(receipt_block);
    // The signature changes with the ceremony id: everything else is fixed.
    let receipt =
        CanaryReceipt::parse(&std::fs::read(&ceremony.receipt_files()[0]).unwrap()).unwrap();
    let mut redacted = ceremony.redact(&stdout);
    for group in hex::encode(receipt.signature()).as_bytes().chunks(8) {
        redacted = redacted.replace(std::str::from_utf8(group).unwrap(), "ssssssss");
    }
    for name in [
        "canary/response.json",
        "ceremony/canary-receipt.json",
        "ceremony/request.json",
    ] {
        let digest = sha256_hex(&std::fs::read(ceremony.root.join(name)).unwrap());
        redacted = redacted.replace(&digest, "[SHA-256]");
        for group in digest.as_bytes().chunks(8) {
            redacted = redacted.replace(std::str::from_utf8(group).unwrap(), "dddddddd");
        }
    }
    let request: Value = serde_json::from_slice(&ceremony.request_bytes).unwrap();
    for field in ["createdAt", "tool"] {
        if let Some(value) = request[field].as_str() {
            redacted = redacted.replace(value, &format!("[{field}]"));
        }
    }
    redacted = redacted.replace(
        request["dfnsRequest"]["encryptionKey"].as_str().unwrap(),
        "[ENCRYPTION KEY]",
    );
    insta::assert_snapshot!(redacted);

    // --json: the response marked as the canary, the receipt's fields and its check.
    let json = inspect(&[
        "--json",
        "canary/response.json",
        "ceremony/canary-receipt.png",
    ]);
    assert!(json.status.success());
    let printed = stdout_json(&json);
    let artifacts = printed["artifacts"].as_array().unwrap();
    assert_eq!(artifacts[0]["kind"], "response-file");
    assert_eq!(artifacts[0]["canary"], true);
    assert_eq!(artifacts[1]["kind"], "canary-receipt");
    assert_eq!(artifacts[1]["canaryKeyId"], CANARY_KEY);
    assert_eq!(artifacts[1]["ceremonyId"], ceremony.ceremony_id.as_str());
    assert_eq!(artifacts[1]["signatureScheme"], "ecdsa-secp256k1");
    assert_eq!(artifacts[1]["signatureValid"], true);

    // A receipt whose claim was edited after signing: shown, its signature invalid.
    let original = std::fs::read_to_string(&ceremony.receipt_files()[0]).unwrap();
    let edited = tmp.path().join("edited-receipt.json");
    std::fs::write(
        &edited,
        original.replace(CANARY_KEY, "key-01canary-222222222222222"),
    )
    .unwrap();
    let printed = stdout_json(&inspect(&["--json", s(&edited)]));
    assert_eq!(printed["artifacts"][0]["signatureValid"], false);
    let text = inspect(&[s(&edited)]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("INVALID"));

    // A receipt this version cannot read is refused, naming why.
    let future = tmp.path().join("future-receipt.json");
    std::fs::write(
        &future,
        original.replace("\"version\": 1", "\"version\": 2"),
    )
    .unwrap();
    let message = json_error_message(&inspect(&["--json", s(&future)]), 3);
    assert!(message.contains("version 2"), "{message}");

    // A receipt given to reconstruct as the response is named for what it is.
    let run = ceremony
        .reconstruct_of("ceremony/canary-receipt.json")
        .arg("--json")
        .output()
        .unwrap();
    assert!(json_error_message(&run, 3).contains("canary receipt"));
}

#[test]
fn show_plays_the_receipt_in_codes_that_scan_at_80x24() {
    let tmp = tempfile::tempdir().unwrap();
    let ceremony = CanaryCeremony::single(tmp.path());
    let dealt = ceremony.deal("CGGMP24:stark", 8);
    ceremony.canary_response(CANARY_KEY, &dealt);
    ceremony.reconstruct().assert().success();
    let bin = assert_cmd::cargo::cargo_bin("keyexport-offline");
    let shown = crate::screen::run(
        &bin,
        &["show", "canary-receipt.json", "--loops", "1", "--fps", "30"],
        &[("KEYEXPORT_ALLOW_ONLINE", "1")],
        &ceremony.dir,
        (80, 24),
        &[],
    );
    assert_eq!(shown.code, 0, "{}", shown.raw_text());
    let mut collector = FrameCollector::new();
    for frame in crate::screen::frames_shown(&shown) {
        let texts = crate::screen::decode_screen(&frame);
        assert_eq!(
            texts.len(),
            1,
            "a frame does not scan:\n{}",
            frame.contents()
        );
        collector.push(&texts[0]).unwrap();
    }
    assert_eq!(
        collector.finish().unwrap(),
        std::fs::read(&ceremony.receipt_files()[0]).unwrap()
    );
}
