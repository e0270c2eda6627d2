//! The canary ceremony through the real binary and the sandbox over HTTP: the canary
//! stage (a throwaway key created, exported, saved; the real key untouched), its rerun,
//! the receipt (made here from the canary response, decrypted with the request's
//! decryption key and signed with the rebuilt canary key, as the offline side does),
//! refusals of forged and foreign receipts, the missing permission, holds,
//! `--skip-canary`, and a batch with one canary.

use std::path::{Path, PathBuf};
use std::process::Output;

use k256::ecdsa::signature::hazmat::PrehashSigner as _;
use keyexport_shared::canary::{CanaryReceipt, ReceiptSignature};
use keyexport_shared::curve::PublicKey;
use keyexport_shared::files::{Artifact, CeremonyId, KeyId, ResponseFile};
use keyexport_shared::reconstruct::reconstruct;
use keyexport_shared::scheme::Curve;
use sandbox::{Fault, KeySpec, SandboxConfig};

use crate::common::{Asks, Ceremony, is_exported, json_out, stderr};

/// A canary ceremony: the common fixture with a canary request (one key, or a batch of
/// all), an output folder, and the real keys.
struct Canary {
    c: Ceremony,
    out: PathBuf,
    /// The real keys, before any canary.
    real_ids: Vec<String>,
}

impl std::ops::Deref for Canary {
    type Target = Ceremony;

    fn deref(&self) -> &Ceremony {
        &self.c
    }
}

impl Canary {
    fn single(config: SandboxConfig) -> Canary {
        Canary::start(config, false)
    }

    fn batch(config: SandboxConfig) -> Canary {
        Canary::start(config, true)
    }

    /// `config`'s keys, or one CGGMP24 secp256k1 master key.
    fn start(mut config: SandboxConfig, batch: bool) -> Canary {
        if config.keys.is_empty() {
            let mut key = KeySpec::new("CGGMP24:secp256k1".parse().unwrap());
            key.master_key = true;
            config.keys = vec![key];
        }
        let c = Ceremony::asking(
            config,
            Asks {
                batch,
                canary: true,
            },
        );
        let out = c.dir.path().join("out");
        let real_ids = c.sandbox.keys().into_iter().map(|k| k.id).collect();
        Canary { c, out, real_ids }
    }

    /// `submit --yes --request REQUEST --out OUT`, without `--json`.
    fn submit_text(&self) -> assert_cmd::Command {
        let mut cmd = self.c.submit_text(&self.request);
        cmd.arg("--out").arg(&self.out);
        cmd
    }

    fn real_key(&self) -> String {
        self.real_ids[0].clone()
    }

    /// `submit --yes --json --request REQUEST --out OUT ARGS`.
    fn submit(&self, args: &[&str]) -> Output {
        let mut cmd = self.submit_text();
        cmd.arg("--json").args(args);
        cmd.output().unwrap()
    }

    /// `submit … --canary-receipt RECEIPT`.
    fn submit_receipt(&self, receipt: &Path) -> Output {
        let receipt = receipt.to_str().unwrap();
        self.submit(&["--canary-receipt", receipt])
    }

    fn canary_response(&self) -> ResponseFile {
        let bytes = std::fs::read(self.out.join("canary/response.json")).unwrap();
        match Artifact::parse(&bytes).unwrap() {
            Artifact::Response(file) => file,
            other => panic!("{}", other.describe()),
        }
    }

    /// The receipt the offline side makes: the canary rebuilt with the request's
    /// decryption key signs for `ceremony_id`.
    fn receipt_for(&self, ceremony_id: &CeremonyId) -> CanaryReceipt {
        let file = self.canary_response();
        let response = file.export_response().unwrap();
        let rebuilt = reconstruct(&response, &self.decryption_key).unwrap();
        let secret = hex::decode(rebuilt.private_key.to_hex().as_str()).unwrap();
        let signer = k256::ecdsa::SigningKey::from_slice(&secret).unwrap();
        CanaryReceipt::create(
            ceremony_id.clone(),
            file.key_id.clone(),
            response.protocol,
            response.public_key.clone(),
            |scheme, message| {
                assert_eq!(scheme, ReceiptSignature::EcdsaSecp256k1);
                Ok::<_, String>(sign(&signer, message))
            },
        )
        .unwrap()
    }

    fn receipt(&self) -> CanaryReceipt {
        self.receipt_for(&self.ceremony_id)
    }

    /// Writes `bytes` as `name` in the ceremony folder.
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// (method, path) of every call but the user-action rounds.
    fn calls(&self) -> Vec<(String, String)> {
        self.sandbox
            .requests()
            .into_iter()
            .filter(|r| !r.path.starts_with("/auth/"))
            .map(|r| (r.method, r.path))
            .collect()
    }

    fn count(&self, method: &str, path: &str) -> usize {
        self.calls()
            .iter()
            .filter(|(m, p)| m == method && p == path)
            .count()
    }

    /// Export calls for the real keys, and whether the sandbox shows any exported.
    fn real_exports(&self) -> usize {
        let exported = self
            .sandbox
            .keys()
            .iter()
            .filter(|k| self.real_ids.contains(&k.id) && k.exported)
            .count();
        let calls: usize = self
            .real_ids
            .iter()
            .map(|id| self.count("POST", &format!("/keys/{id}/export")))
            .sum();
        calls + exported
    }

    /// The transcript in OUT records `step` as done.
    fn assert_step_ok(&self, step: &str) {
        let steps = self.transcript_steps(&self.out);
        assert!(
            steps.iter().any(|(s, o)| s == step && o == "ok"),
            "{step}: {steps:?}"
        );
    }

    fn transcript_steps(&self, dir: &Path) -> Vec<(String, String)> {
        let path = dir.join("transcript.jsonl");
        let report = keyexport_shared::transcript::verify(&path).unwrap();
        assert!(report.is_intact(), "{:?}", report.findings);
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["step"].as_str().unwrap().to_owned(),
                    v["outcome"]["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

fn sign(signer: &k256::ecdsa::SigningKey, message: &[u8; 32]) -> [u8; 64] {
    let signature: k256::ecdsa::Signature = signer.sign_prehash(message).unwrap();
    let signature = signature.normalize_s().unwrap_or(signature);
    signature.to_bytes().into()
}

fn assert_stage(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", stderr(output));
    let json = json_out(output);
    assert_eq!(json["stage"], "canary-exported", "{json}");
    assert_eq!(json["realKeyTouched"], false);
    json
}

fn assert_refused(output: &Output, code: i32, kind: &str) -> serde_json::Value {
    assert_eq!(output.status.code(), Some(code), "{}", stderr(output));
    let json = json_out(output)["error"].clone();
    assert_eq!(json["kind"], kind, "{json}");
    assert_eq!(json["exitCode"], code, "{json}");
    json
}

#[test]
fn the_canary_is_exported_first_then_the_receipt_lets_the_real_key_go() {
    let c = Canary::single(SandboxConfig::default());
    let real = c.real_key();

    // Stage: the canary, not the real key.
    let first = assert_stage(&c.submit(&[]));
    let canary_id = first["canaryKeyId"].as_str().unwrap().to_owned();
    assert_ne!(canary_id, real);
    assert_eq!(first["reused"], false);
    assert_eq!(first["keyIds"], serde_json::json!([real]));
    let file = c.canary_response();
    assert!(file.canary && file.key_id.as_str() == canary_id);
    assert_eq!(file.ceremony_id, c.ceremony_id);
    for name in ["response-qr-01.png", "response-qr.gif", "response.ur.txt"] {
        assert!(c.out.join("canary").join(name).is_file(), "{name}");
    }
    assert_eq!(
        c.calls(),
        [
            ("GET".to_owned(), format!("/keys/{real}")),
            ("POST".to_owned(), "/keys".to_owned()),
            ("POST".to_owned(), format!("/keys/{canary_id}/export")),
        ]
    );
    assert!(!c.out.join("response.json").exists());
    let canary_key = c
        .sandbox
        .keys()
        .into_iter()
        .find(|k| k.id == canary_id)
        .unwrap();
    // The real key is an HD master key: so is its canary.
    assert!(canary_key.master_key && canary_key.exported && !canary_key.deleted);

    // A rerun reuses the canary: no second key is created.
    let again = assert_stage(&c.submit(&[]));
    assert_eq!(
        (again["canaryKeyId"].as_str(), again["reused"].as_bool()),
        (Some(canary_id.as_str()), Some(true))
    );
    assert_eq!(c.count("POST", "/keys"), 1);
    assert_eq!(c.real_exports(), 0);

    // The text stage says what to carry back and the next command.
    let text = c.submit_text().output().unwrap();
    let printed = String::from_utf8_lossy(&text.stdout);
    assert!(printed.contains("CANARY EXPORTED"), "{printed}");
    assert!(printed.contains("canary-receipt.json"), "{printed}");
    assert!(printed.contains("--canary-receipt"), "{printed}");
    let frames = first["qrPngs"].as_array().unwrap().len();
    let digest: Vec<&str> = first["responseSha256"]
        .as_str()
        .unwrap()
        .as_bytes()
        .chunks(8)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let shown = printed
        .replace(&c.dir.path().display().to_string(), "[DIR]")
        .replace(&canary_id, "[CANARY]")
        .replace(&digest.join(" "), "[SHA-256]")
        .replace(&format!("its {frames} QR"), "its N QR");
    insta::assert_snapshot!(shown);
    // Everything but the paths (a temporary folder here) fits 80 columns.
    let tmp = c.dir.path().display().to_string();
    for line in printed.lines().filter(|l| !l.contains(&tmp)) {
        assert!(line.chars().count() <= 80, "{line:?}");
    }

    // The receipt, as the QR sheet the offline machine writes.
    let receipt = c.write("canary-receipt.png", &c.receipt().to_png().unwrap());
    let output = c.submit_receipt(&receipt);
    assert!(output.status.success(), "{}", stderr(&output));
    let json = json_out(&output);
    assert_eq!(
        (json["stage"].as_str(), json["status"].as_str()),
        (Some("exported"), Some("exported"))
    );
    assert_eq!(json["canary"]["proven"], true);
    assert_eq!(json["canary"]["canaryKeyId"], canary_id.as_str());
    assert_eq!(json["canary"]["deleted"], "deleted");
    assert!(
        c.sandbox
            .keys()
            .iter()
            .any(|k| k.id == canary_id && k.deleted)
    );
    assert!(is_exported(&c.sandbox, &real));
    let response =
        match Artifact::parse(&std::fs::read(c.out.join("response.json")).unwrap()).unwrap() {
            Artifact::Response(file) => {
                assert!(!file.canary && file.key_id.as_str() == real);
                file.export_response().unwrap()
            }
            other => panic!("{}", other.describe()),
        };
    let rebuilt = reconstruct(&response, &c.decryption_key).unwrap();
    assert_eq!(
        rebuilt.private_key.to_hex().as_str(),
        c.sandbox.private_key_hex(&real).unwrap().as_str()
    );
    // The stage and its two reruns made 3 + 1 + 1 calls. Then: the receipt checked before
    // any call, the preflight, the deletion, the export.
    let calls = c.calls();
    assert_eq!(calls.len(), 8, "{calls:?}");
    assert_eq!(
        calls[calls.len() - 3..],
        [
            ("GET".to_owned(), format!("/keys/{real}")),
            ("DELETE".to_owned(), format!("/keys/{canary_id}")),
            ("POST".to_owned(), format!("/keys/{real}/export")),
        ]
    );
    let steps: Vec<String> = c
        .transcript_steps(&c.out)
        .into_iter()
        .map(|(step, status)| format!("{step}:{status}"))
        .collect();
    for step in [
        "canary-created:ok",
        "canary-export-sent:ok",
        "canary-saved:ok",
        "canary-reused:ok",
        "canary-verified:ok",
        "canary-deleted:ok",
        "export-sent:ok",
        "response-saved:ok",
    ] {
        assert!(steps.iter().any(|s| s == step), "{step} not in {steps:?}");
    }
}

#[test]
fn forged_altered_and_foreign_receipts_are_refused_before_the_real_key() {
    let c = Canary::single(SandboxConfig::default());
    assert_stage(&c.submit(&[]));
    let canary = c.canary_response();
    let response = canary.export_response().unwrap();

    // Another ceremony's receipt, validly signed by the canary.
    let foreign = c.write(
        "foreign.json",
        &c.receipt_for(&CeremonyId::generate()).to_bytes(),
    );
    // A forgery: a receipt for this canary signed by another key (named as its own).
    let other = k256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let other_public =
        PublicKey::from_bytes(Curve::Secp256k1, &other.verifying_key().to_sec1_bytes()).unwrap();
    let forged = CanaryReceipt::create(
        c.ceremony_id.clone(),
        canary.key_id.clone(),
        response.protocol,
        other_public,
        |_, message| Ok::<_, String>(sign(&other, message)),
    )
    .unwrap();
    let forged = c.write("forged.json", &forged.to_bytes());
    // A valid receipt altered after signing: it names another canary key id.
    let valid = String::from_utf8(c.receipt().to_bytes()).unwrap();
    let altered = c.write(
        "altered.json",
        valid
            .replace(canary.key_id.as_str(), "key-01snl-7k5e2-aaaaaaaaaaaaaaaa")
            .as_bytes(),
    );
    // Signed by the canary, but for another canary key id of this ceremony.
    let other_canary = {
        let file = c.canary_response();
        let rebuilt = reconstruct(&response, &c.decryption_key).unwrap();
        let secret = hex::decode(rebuilt.private_key.to_hex().as_str()).unwrap();
        let signer = k256::ecdsa::SigningKey::from_slice(&secret).unwrap();
        CanaryReceipt::create(
            c.ceremony_id.clone(),
            KeyId::new("key-01snl-7k5e2-bbbbbbbbbbbbbbbb").unwrap(),
            response.protocol,
            file.export_response().unwrap().public_key,
            |_, message| Ok::<_, String>(sign(&signer, message)),
        )
        .unwrap()
    };
    let other_canary = c.write("other-canary.json", &other_canary.to_bytes());
    // Not a receipt at all: the request.
    let cases = [
        (&other_canary, "not for the canary this ceremony exported"),
        (&foreign, "belongs to ceremony"),
        (&forged, "not by the canary exported"),
        (&altered, "signature does not verify"),
        (&c.request, "not \"keyexport-canary-receipt\""),
    ];
    for (receipt, says) in cases {
        let output = c.submit_receipt(receipt);
        let json = assert_refused(&output, 15, "canary-unproven");
        let message = json["message"].as_str().unwrap();
        assert!(message.contains(says), "{}: {message}", receipt.display());
        assert!(stderr(&output).contains("The real key was not touched"));
    }
    // A receipt that cannot be read.
    let output = c.submit_receipt(&c.dir.path().join("missing-receipt.json"));
    let json = assert_refused(&output, 15, "canary-unproven");
    let dir = c.dir.path().to_string_lossy().into_owned();
    insta::assert_snapshot!(
        "receipt_unreadable",
        serde_json::to_string_pretty(&json)
            .unwrap()
            .replace(&dir, "[DIR]")
    );
    // No call after the stage's three: no preflight, no deletion, no real export.
    assert_eq!(c.calls().len(), 3, "{:?}", c.calls());
    assert_eq!(c.real_exports(), 0);
    assert!(c.sandbox.keys().iter().all(|k| !k.deleted));
    assert!(!c.out.join("response.json").exists());
    let steps = c.transcript_steps(&c.out);
    assert_eq!(
        steps.last().unwrap(),
        &("canary-verified".to_owned(), "failed".to_owned())
    );

    // A receipt given with another --out has no canary response to be checked against.
    let good = c.write("canary-receipt.json", &c.receipt().to_bytes());
    let mut cmd = crate::common::submit(&c);
    cmd.arg("--out")
        .arg(c.dir.path().join("elsewhere"))
        .arg("--canary-receipt")
        .arg(&good);
    let json = assert_refused(&cmd.output().unwrap(), 15, "canary-unproven");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("no canary response"),
        "{json}"
    );
    assert_eq!(c.real_exports(), 0);
}

#[test]
fn without_keys_create_the_operator_is_told_the_permission_and_the_way_around() {
    let c = Canary::single(SandboxConfig::default().fault(Fault::MissingCreatePermission));
    let output = c.submit(&[]);
    let json = assert_refused(&output, 16, "canary-permission");
    assert!(
        json["message"].as_str().unwrap().contains("Keys:Create"),
        "{json}"
    );
    let advice = json["advice"].as_str().unwrap();
    assert!(
        advice.contains("Keys:Create") && advice.contains("--skip-canary"),
        "{advice}"
    );
    assert_eq!(c.sandbox.keys().len(), 1);
    assert_eq!(c.real_exports(), 0);
    let steps = c.transcript_steps(&c.out);
    assert_eq!(
        steps.last().unwrap(),
        &("canary-created".to_owned(), "failed".to_owned())
    );
}

#[test]
fn holds_on_the_canary_are_saved_and_said_plainly() {
    // Creation held: no key, the body kept.
    let c = Canary::single(SandboxConfig::default().fault(Fault::CreateKeyHeld));
    let output = c.submit(&[]);
    let json = assert_refused(&output, 9, "held-for-approval");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("create the canary key"),
        "{json}"
    );
    assert!(json["advice"].as_str().unwrap().contains("--skip-canary"));
    let held = c.out.join("canary/create-held.json");
    assert!(held.is_file());
    assert_eq!(c.sandbox.keys().len(), 1);
    // A rerun does not pass the earlier hold by.
    let json = assert_refused(&c.submit(&[]), 5, "refused");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("create-held.json"),
        "{json}"
    );

    // The canary's export held (as the real one would be): the canary exists, unexported.
    let c = Canary::single(SandboxConfig::default().fault(Fault::PolicyHold));
    let output = c.submit(&[]);
    let json = assert_refused(&output, 9, "held-for-approval");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("export the canary key"),
        "{json}"
    );
    assert!(c.out.join("canary/export-held.json").is_file());
    assert_eq!(c.sandbox.keys().len(), 2);
    assert!(c.sandbox.keys().iter().all(|k| !k.exported));
    assert!(!c.out.join("canary/response.json").exists());
}

#[test]
fn skip_canary_warns_records_and_exports_the_real_key() {
    let c = Canary::single(SandboxConfig::default());
    let output = c.submit(&["--skip-canary"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json = json_out(&output);
    assert_eq!(json["status"], "exported");
    assert_eq!(
        json["canary"],
        serde_json::json!({"proven": false, "skipped": true})
    );
    let err = stderr(&output);
    assert!(err.contains("WARNING: --skip-canary"), "{err}");
    let boxed: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with('|') || l.starts_with('+'))
        .collect();
    assert!(boxed.len() >= 4);
    assert!(boxed.iter().all(|l| l.chars().count() == 80), "{boxed:?}");
    assert_eq!(c.count("POST", "/keys"), 0);
    assert!(is_exported(&c.sandbox, &c.real_key()));
    c.assert_step_ok("canary-skipped");

    // Both canary flags are refused on a request without canary.
    let plain = crate::common::ceremony("CGGMP24:secp256k1", SandboxConfig::default());
    let mut cmd = crate::common::submit(&plain);
    cmd.arg("--skip-canary");
    let json = assert_refused(&cmd.output().unwrap(), 5, "refused");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("does not ask for a canary")
    );
    assert!(plain.sandbox.requests().is_empty());
}

#[test]
fn a_batch_gets_one_canary_of_its_first_key() {
    let keys = ["CGGMP24:secp256k1", "FROST:ed25519", "CGGMP24:secp256k1"]
        .map(|s| KeySpec::new(s.parse().unwrap()))
        .to_vec();
    let c = Canary::batch(SandboxConfig::with_keys(keys));
    let json = assert_stage(&c.submit(&[]));
    let first = c.real_key();
    assert_eq!(json["batchCanaryOf"]["keyId"], first.as_str());
    assert_eq!(json["batchCanaryOf"]["curve"], "secp256k1");
    assert_eq!(json["keyIds"].as_array().unwrap().len(), 3);
    assert_eq!(c.count("POST", "/keys"), 1);
    assert_eq!(c.real_exports(), 0);
    let text = c.submit_text().output().unwrap();
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("proves this curve only"),
        "{}",
        stderr(&text)
    );
    assert_eq!(c.count("POST", "/keys"), 1);

    let receipt = c.write("canary-receipt.json", &c.receipt().to_bytes());
    let output = c.submit_receipt(&receipt);
    assert!(output.status.success(), "{}", stderr(&output));
    let canary_id = c.canary_response().key_id;
    assert!(
        c.sandbox
            .keys()
            .iter()
            .any(|k| k.id == canary_id.as_str() && k.deleted)
    );
    let real: Vec<_> = c
        .sandbox
        .keys()
        .into_iter()
        .filter(|k| k.id != canary_id.as_str())
        .collect();
    assert_eq!(real.len(), 3);
    assert!(real.iter().all(|k| k.exported));
    let steps: Vec<String> = c
        .transcript_steps(&c.out)
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    for step in [
        "canary-saved",
        "canary-verified",
        "canary-deleted",
        "batch-started",
    ] {
        assert!(steps.iter().any(|s| s == step), "{step}: {steps:?}");
    }
}

#[test]
fn the_text_report_of_the_real_export_says_what_became_of_the_canary() {
    let c = Canary::single(SandboxConfig::default());
    let output = c.submit_text().arg("--skip-canary").output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.contains("Canary: SKIPPED (--skip-canary), as the transcript records."),
        "{printed}"
    );
}

#[test]
fn a_held_deletion_of_the_canary_is_reported_and_the_real_export_goes_on() {
    let c = Canary::single(SandboxConfig::default().fault(Fault::DeleteKeyHeld));
    assert_stage(&c.submit(&[]));
    let receipt = c.write("canary-receipt.json", &c.receipt().to_bytes());
    let output = c.submit_receipt(&receipt);
    assert!(output.status.success(), "{}", stderr(&output));
    let json = json_out(&output);
    assert_eq!(json["canary"]["deleted"], "held");
    assert!(
        stderr(&output).contains("a policy holds the deletion of the canary key"),
        "{}",
        stderr(&output)
    );
    assert!(c.out.join("canary/delete-held.json").is_file());
    assert!(c.sandbox.keys().iter().all(|k| !k.deleted));
    assert!(is_exported(&c.sandbox, &c.real_key()));
    c.assert_step_ok("canary-deleted");
}
