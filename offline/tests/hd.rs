//! HD root keys: the xpub, `--derive`, `--format xprv`, `sign --derive` and the check of
//! the wallets the key object lists. Children are checked against rust-bitcoin's BIP-32.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use bitcoin::NetworkKind;
use bitcoin::bip32::{ChainCode, ChildNumber, DerivationPath, Fingerprint, Xpriv, Xpub};
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use keyexport_shared::dealer::{Deal, Dealt};
use keyexport_shared::files::{CeremonyId, KeyId, ResponseFile};
use keyexport_shared::key_object::KeyObjectFacts;
use keyexport_shared::keys::DecryptionKey;
use rand_core::OsRng;
use serde_json::{Value, json};

use crate::common::{self, offline, s, stdout_json};

/// A plain decryption key file, an HD (or ordinary) secp256k1 2-of-3 export to it, and
/// the response file recording `wallets` as the key object listed them.
struct Export {
    dir: tempfile::TempDir,
    key: PathBuf,
    response: PathBuf,
    dealt: Dealt,
}

fn export(hd: bool, wallets: impl FnOnce(&Dealt) -> Option<Value>) -> Export {
    let dir = tempfile::tempdir().unwrap();
    let decryption_key = DecryptionKey::generate();
    let key = dir.path().join("decryption-key.txt");
    std::fs::write(&key, decryption_key.to_dfns_hex().as_str()).unwrap();
    let mut deal = Deal::new("CGGMP24:secp256k1".parse().unwrap(), 2, 3);
    deal.hd = hd;
    let dealt = deal.run(&decryption_key.encryption_key(), &mut OsRng);
    let facts = KeyObjectFacts {
        master_key: Some(json!(hd)),
        wallets: wallets(&dealt),
        ..KeyObjectFacts::default()
    };
    let file = ResponseFile::new(
        CeremonyId::generate(),
        KeyId::new("key-hd-test").unwrap(),
        "0".repeat(64),
        "2026-01-01T00:00:00Z".into(),
        "test".into(),
        "0".repeat(64),
        &dealt.response.to_json_value().to_string(),
    )
    .unwrap()
    .with_key_object(facts);
    let response = dir.path().join("response.json");
    std::fs::write(&response, file.to_bytes()).unwrap();
    Export {
        dir,
        key,
        response,
        dealt,
    }
}

/// rust-bitcoin's view of the dealt root.
fn reference_root(dealt: &Dealt, network: NetworkKind) -> Xpriv {
    Xpriv {
        network,
        depth: 0,
        parent_fingerprint: Fingerprint::default(),
        child_number: ChildNumber::from_normal_idx(0).unwrap(),
        private_key: SecretKey::from_slice(dealt.private_key.to_be_bytes()).unwrap(),
        chain_code: ChainCode::from(*dealt.chain_code.as_ref().unwrap().as_bytes()),
    }
}

/// rust-bitcoin's child at `path`: (private key hex, compressed public key hex).
fn reference_child(dealt: &Dealt, path: &str) -> (String, String) {
    let secp = Secp256k1::new();
    let child = reference_root(dealt, NetworkKind::Main)
        .derive_priv(&secp, &DerivationPath::from_str(path).unwrap())
        .unwrap();
    (
        hex::encode(child.private_key.secret_bytes()),
        hex::encode(child.private_key.public_key(&secp).serialize()),
    )
}

fn reconstruct(e: &Export) -> assert_cmd::Command {
    common::reconstruct(&e.key, &e.response)
}

/// Two wallets with paths and public keys, one as real Dfns lists them (no path).
fn three_wallets(dealt: &Dealt) -> Option<Value> {
    Some(json!([
        {"id": "wa-0-1", "network": "Bitcoin", "derivationPath": "m/0/1",
         "publicKey": reference_child(dealt, "m/0/1").1},
        {"id": "wa-7", "network": "Ethereum", "derivationPath": "m/7",
         "publicKey": reference_child(dealt, "m/7").1},
        {"id": "wa-plain", "network": "Bitcoin"},
    ]))
}

#[test]
fn hd_root_shows_xpub_children_and_verified_wallets() {
    let e = export(true, three_wallets);
    let output = reconstruct(&e)
        .args(["--json", "--derive", "m/0/5", "--derive", "m/44h/0'/1"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let json = stdout_json(&output);
    let reference = Xpub::from_priv(
        &Secp256k1::new(),
        &reference_root(&e.dealt, NetworkKind::Main),
    );
    assert_eq!(json["xpub"], reference.to_string());
    assert!(json.get("xprv").is_none() && json.get("privateKey").is_none());
    let derived = json["derived"].as_array().unwrap();
    assert_eq!(derived.len(), 2);
    for (entry, path) in derived.iter().zip(["m/0/5", "m/44'/0'/1"]) {
        assert_eq!(entry["path"], path);
        assert_eq!(entry["publicKey"], reference_child(&e.dealt, path).1);
        assert!(
            entry["addresses"]["bitcoinP2wpkh"]
                .as_str()
                .unwrap()
                .starts_with("bc1q")
        );
        assert!(
            entry.get("privateKey").is_none(),
            "no child secret without --reveal"
        );
    }
    assert_eq!(json["wallets"]["verified"], 2);
    assert_eq!(json["wallets"]["notCheckable"], 1);
    assert_eq!(json["wallets"]["wallets"][2]["status"], "not-checkable");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "Wallets      2 verified, 1 not checkable (no derivation path in the key object)"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("Derived      m/0/5 (BIP-32"), "{stderr}");
    // The xpub is wrapped to fit 80 columns.
    assert!(
        stderr
            .lines()
            .all(|l| l.chars().count() <= 80 || !l.starts_with("Xpub"))
    );
}

#[test]
fn reveal_adds_the_xprv_and_the_children_private_keys() {
    let e = export(true, |_| None);
    let output = reconstruct(&e)
        .args([
            "--json",
            "--reveal",
            "--network",
            "testnet",
            "--derive",
            "m/3",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let json = stdout_json(&output);
    let root = reference_root(&e.dealt, NetworkKind::Test);
    assert_eq!(json["xprv"], root.to_string());
    assert!(json["xpub"].as_str().unwrap().starts_with("tpub"));
    assert_eq!(
        json["derived"][0]["privateKey"],
        reference_child(&e.dealt, "m/3").0
    );
    // Without --json, --reveal prints the root, then each child after its path.
    let text = reconstruct(&e)
        .args(["--reveal", "--derive", "m/3"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(text.stdout).unwrap();
    assert_eq!(
        stdout,
        format!(
            "{}\nm/3 {}\n",
            e.dealt.private_key.to_hex().as_str(),
            reference_child(&e.dealt, "m/3").0
        )
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn xprv_file_and_one_file_per_derived_child() {
    let e = export(true, |_| None);
    let xprv = e.dir.path().join("root.xprv");
    reconstruct(&e)
        .args(["--out", s(&xprv), "--format", "xprv"])
        .assert()
        .success();
    let root = reference_root(&e.dealt, NetworkKind::Main);
    assert_eq!(std::fs::read_to_string(&xprv).unwrap(), format!("{root}\n"));
    assert_eq!(mode(&xprv), 0o600);
    // Never over an existing file.
    reconstruct(&e)
        .args(["--out", s(&xprv), "--format", "xprv"])
        .assert()
        .code(6);

    let out = e.dir.path().join("key.hex");
    reconstruct(&e)
        .args(["--out", s(&out), "--derive", "m/0/5"])
        .assert()
        .success();
    let child = e.dir.path().join("key.m-0-5.hex");
    assert_eq!(
        std::fs::read_to_string(&child).unwrap(),
        format!("{}\n", reference_child(&e.dealt, "m/0/5").0)
    );
    assert_eq!(mode(&child), 0o600);
    // A child file already there is refused before anything is written.
    std::fs::remove_file(&out).unwrap();
    reconstruct(&e)
        .args(["--out", s(&out), "--derive", "m/0/5"])
        .assert()
        .code(6);
    assert!(!out.exists());
}

#[test]
fn a_key_without_chain_code_refuses_derive_and_xprv() {
    let e = export(false, |_| None);
    let output = reconstruct(&e).args(["--derive", "m/0"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--derive needs an HD root key"), "{stderr}");
    let out = e.dir.path().join("k.xprv");
    reconstruct(&e)
        .args(["--out", s(&out), "--format", "xprv"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--format xprv needs an HD root key",
        ));
    assert!(!out.exists());
    // No xpub and no derived keys for an ordinary key.
    let json = stdout_json(&reconstruct(&e).arg("--json").output().unwrap());
    assert!(json.get("xpub").is_none() && json.get("derived").is_none());
}

#[test]
fn a_wallet_that_does_not_derive_from_the_key_fails_naming_it() {
    let e = export(true, |dealt| {
        Some(json!([
            {"id": "wa-good", "derivationPath": "m/0/1",
             "publicKey": reference_child(dealt, "m/0/1").1},
            {"id": "wa-forged", "derivationPath": "m/0/2",
             "publicKey": reference_child(dealt, "m/0/3").1},
        ]))
    });
    let out = e.dir.path().join("key.hex");
    let output = reconstruct(&e)
        .args(["--json", "--out", s(&out)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    let json = stdout_json(&output);
    assert_eq!(json["error"]["kind"], "public-key", "{json}");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("wallet wa-forged (m/0/2)"),
        "{json}"
    );
    assert!(
        !out.exists(),
        "nothing is written when a wallet does not verify"
    );
}

#[test]
fn inspect_shows_the_key_object_facts() {
    let e = export(true, three_wallets);
    let output = offline()
        .args(["inspect", s(&e.response)])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("masterKey       true"), "{stdout}");
    assert!(
        stdout.contains("wallets         3 listed by the key object"),
        "{stdout}"
    );
    assert!(stdout.contains("wa-0-1 Bitcoin m/0/1"), "{stdout}");
    let json = stdout_json(
        &offline()
            .args(["inspect", "--json", s(&e.response)])
            .output()
            .unwrap(),
    );
    assert_eq!(json["artifacts"][0]["keyObject"]["masterKey"], true);
    assert_eq!(
        json["artifacts"][0]["keyObject"]["wallets"][1]["derivationPath"],
        "m/7"
    );
}

#[test]
fn sign_with_a_derived_child() {
    let e = export(true, |_| None);
    let output = offline()
        .args([
            "sign",
            "--blind",
            "--yes",
            "--decryption-key",
            s(&e.key),
            "--response",
            s(&e.response),
            "--derive",
            "m/0/5",
            "--scheme",
            "ecdsa-secp256k1",
            "--message-hex",
            &"11".repeat(32),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let json = stdout_json(&output);
    let child_public = reference_child(&e.dealt, "m/0/5").1;
    assert_eq!(json["publicKey"], child_public, "{json}");
    // The signature verifies under the child's public key (libsecp256k1).
    let secp = Secp256k1::new();
    let signature = bitcoin::secp256k1::ecdsa::Signature::from_compact(
        &hex::decode(json["signature"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let public =
        bitcoin::secp256k1::PublicKey::from_slice(&hex::decode(child_public).unwrap()).unwrap();
    secp.verify_ecdsa(
        &bitcoin::secp256k1::Message::from_digest([0x11; 32]),
        &signature,
        &public,
    )
    .unwrap();
}
