//! `reconstruct`: output formats, addresses, reveal, JSON, transcript, multiple inputs.

use std::os::unix::fs::PermissionsExt;
use std::str::FromStr;

use predicates::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::{Ceremony, offline, s, stdout_json, vector};

#[test]
fn hex_output_file() {
    let c = Ceremony::from_vector("cggmp24-secp256k1-2of3");
    let out = c.dir().join("key.hex");
    c.reconstruct()
        .args(["--out", s(&out)])
        .assert()
        .success()
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "Verified     the rebuilt key matches the public key",
        ))
        .stderr(predicate::str::contains(format!(
            "Wrote {} (hex, mode 0600)",
            out.display()
        )))
        .stderr(predicate::str::contains("UNPROTECTED decryption key"))
        .stderr(predicate::str::contains(c.expected_key()).not());
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        format!("{}\n", c.expected_key())
    );
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn wif_output_mainnet_and_testnet() {
    let c = Ceremony::from_vector("frost_bitcoin-secp256k1-2of3");
    for (network, theirs) in [
        ("mainnet", bitcoin::NetworkKind::Main),
        ("testnet", bitcoin::NetworkKind::Test),
    ] {
        let out = c.dir().join(format!("key-{network}.wif"));
        c.reconstruct()
            .args(["--out", s(&out), "--format", "wif", "--network", network])
            .assert()
            .success();
        let wif = std::fs::read_to_string(&out).unwrap();
        let parsed = bitcoin::PrivateKey::from_wif(wif.trim()).unwrap();
        assert!(parsed.compressed);
        assert_eq!(parsed.network, theirs);
        assert_eq!(hex::encode(parsed.inner.secret_bytes()), c.expected_key());
    }
}

#[test]
fn wallet_formats_refuse_other_curves() {
    let c = Ceremony::from_vector("frost-ed25519-2of3");
    for format in ["wif", "eth-keystore"] {
        let out = c.dir().join("key.out");
        c.reconstruct()
            .args(["--out", s(&out), "--format", format])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "error: --format {format} holds secp256k1 keys only; this response is for ed25519"
            )));
        assert!(!out.exists());
    }
}

#[test]
fn reveal_prints_only_the_key_on_stdout() {
    let c = Ceremony::from_vector("cggmp21-stark-2of3");
    c.reconstruct()
        .arg("--reveal")
        .assert()
        .success()
        .stdout(format!("{}\n", c.expected_key()))
        .stderr(predicate::str::ends_with(
            "Private key  next line: 64 hex digits, big-endian. Never read it aloud.\n",
        ));
}

#[test]
fn nothing_requested_writes_nothing() {
    let c = Ceremony::from_vector("cggmp21-stark-2of3");
    c.reconstruct()
        .assert()
        .success()
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "Nothing written: add --out FILE (or --reveal) to deliver the key.",
        ));
}

#[test]
fn secp256k1_addresses_match_the_bitcoin_crate() {
    for name in [
        "cggmp24-secp256k1-2of3",
        "glow20_dh-secp256k1-3of4",
        "cggmp21-secp256k1-2of3",
    ] {
        let c = Ceremony::from_vector(name);
        let output = c.reconstruct().arg("--json").output().unwrap();
        assert_eq!(output.status.code(), Some(0));
        let json = stdout_json(&output);
        let public = bitcoin::PublicKey::from_str(json["publicKey"].as_str().unwrap()).unwrap();
        let compressed = bitcoin::CompressedPublicKey(public.inner);
        let secp = bitcoin::secp256k1::Secp256k1::verification_only();
        let (xonly, _) = public.inner.x_only_public_key();
        let a = &json["addresses"];
        for (network, wpkh, tr) in [
            (bitcoin::Network::Bitcoin, "bitcoinP2wpkh", "bitcoinP2tr"),
            (
                bitcoin::Network::Testnet,
                "bitcoinTestnetP2wpkh",
                "bitcoinTestnetP2tr",
            ),
        ] {
            assert_eq!(
                a[wpkh],
                bitcoin::Address::p2wpkh(&compressed, network).to_string(),
                "{name}"
            );
            assert_eq!(
                a[tr],
                bitcoin::Address::p2tr(&secp, xonly, None, network).to_string(),
                "{name}"
            );
        }
        // Ethereum: keccak of the uncompressed key, checked against the independent
        // private-key route (k256 from the expected scalar).
        let secret = k256::SecretKey::from_slice(&hex::decode(c.expected_key()).unwrap()).unwrap();
        use k256::elliptic_curve::sec1::ToEncodedPoint;
        let xy = secret.public_key().to_encoded_point(false);
        let hash = sha3::Keccak256::digest(&xy.as_bytes()[1..]);
        let ethereum = a["ethereum"].as_str().unwrap();
        assert_eq!(
            ethereum.to_ascii_lowercase(),
            format!("0x{}", hex::encode(&hash[12..]))
        );
        assert!(a.get("solana").is_none());
    }
}

#[test]
fn ed25519_reports_solana_address_and_scalar_note() {
    let c = Ceremony::from_vector("ku23-ed25519-2of3");
    let output = c.reconstruct().arg("--json").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let json = stdout_json(&output);
    let public = hex::decode(json["publicKey"].as_str().unwrap()).unwrap();
    assert_eq!(
        json["addresses"]["solana"],
        bs58::encode(&public).into_string()
    );
    assert_eq!(json["addresses"].as_object().unwrap().len(), 1);
    assert!(
        json["note"]
            .as_str()
            .unwrap()
            .contains("expanded secret scalar")
    );
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("RFC 8032 seed; it cannot be turned into a seed")
    );
}

#[test]
fn stark_reports_the_starknet_public_key() {
    let c = Ceremony::from_vector("cggmp24-stark-2of3");
    let output = c.reconstruct().arg("--json").output().unwrap();
    let json = stdout_json(&output);
    let public = json["publicKey"].as_str().unwrap();
    assert_eq!(
        json["addresses"]["starknetPublicKey"],
        format!("0x{}", &public[2..])
    );
}

#[test]
fn robust_run_names_the_bad_signer() {
    let c = Ceremony::from_vector("robust-3of5-one-tampered");
    let v = &c.vector;
    let bad = v["expected"]["badSigners"][0].as_str().unwrap().to_owned();
    c.reconstruct()
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "Bad shares   set aside; the key was rebuilt without them:\n             {bad} (decrypt)"
        )));
}

#[test]
fn transcript_beside_the_key_and_custom() {
    let c = Ceremony::from_vector("cggmp24-secp256k1-2of3");
    let v = &c.vector;
    let out = c.dir().join("key.hex");
    c.reconstruct().args(["--out", s(&out)]).assert().success();
    let text = std::fs::read_to_string(c.dir().join("transcript.jsonl")).unwrap();
    assert!(!text.contains(c.expected_key()));
    assert!(!text.contains(&v["decryptionKey"].as_str().unwrap()[2..]));
    let line: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(line["command"], "reconstruct");
    assert_eq!(line["outcome"]["status"], "ok");
    assert_eq!(line["publicKey"], v["response"]["publicKey"]);
    let digest_of =
        |path: &std::path::Path| hex::encode(Sha256::digest(std::fs::read(path).unwrap()));
    let inputs = line["inputs"].as_array().unwrap();
    assert!(inputs.iter().any(|i| i["sha256"] == digest_of(&c.response)));
    assert!(inputs.iter().any(|i| i["sha256"] == digest_of(&c.key)));
    assert_eq!(line["outputs"][0]["sha256"], digest_of(&out));

    // A failed run is recorded too, in a transcript of the operator's choosing.
    let custom = c.dir().join("elsewhere.jsonl");
    c.reconstruct()
        .args(["--out", s(&out), "--transcript", s(&custom)])
        .assert()
        .code(6);
    let line: Value =
        serde_json::from_str(std::fs::read_to_string(&custom).unwrap().trim()).unwrap();
    assert_eq!(line["outcome"]["status"], "failed");
    assert_eq!(line["outcome"]["kind"], "output");
}

#[test]
fn same_response_twice_is_fine_different_responses_are_not() {
    let c = Ceremony::from_vector("cggmp24-secp256k1-2of3");
    let w = vector("cggmp21-secp256k1-2of3");
    let copy = c.dir().join("copy.json");
    std::fs::copy(&c.response, &copy).unwrap();
    c.reconstruct()
        .args(["--reveal", "--response", s(&copy)])
        .assert()
        .success()
        .stdout(format!("{}\n", c.expected_key()));
    let other = c.dir().join("other.json");
    std::fs::write(&other, serde_json::to_vec(&w["response"]).unwrap()).unwrap();
    c.reconstruct()
        .args(["--response", s(&other)])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("holds a different response than"));
}

#[test]
fn json_response_on_standard_input() {
    let c = Ceremony::from_vector("cggmp24-secp256k1-2of3");
    let v = &c.vector;
    offline()
        .args([
            "reconstruct",
            "--reveal",
            "--decryption-key",
            s(&c.key),
            "--response",
            "-",
        ])
        .write_stdin(serde_json::to_vec_pretty(&v["response"]).unwrap())
        .assert()
        .success()
        .stdout(format!("{}\n", c.expected_key()));
}

#[test]
fn encrypted_shares_alias_is_accepted() {
    let c = Ceremony::from_vector("cggmp24-secp256k1-2of3");
    let v = &c.vector;
    let mut response = v["response"].clone();
    let shares = response
        .as_object_mut()
        .unwrap()
        .remove("encryptedKeyShares")
        .unwrap();
    response["encryptedShares"] = shares;
    let path = c.dir().join("sdk.json");
    std::fs::write(&path, serde_json::to_vec(&response).unwrap()).unwrap();
    offline()
        .args([
            "reconstruct",
            "--reveal",
            "--decryption-key",
            s(&c.key),
            "--response",
            s(&path),
        ])
        .assert()
        .success()
        .stdout(format!("{}\n", c.expected_key()));
}

/// A field Dfns might add, in the response and in the share documents: reported on the
/// terminal and in `--json`, never fatal; the key and chain code are still exact.
#[test]
fn unknown_fields_of_dfns_documents_are_reported_not_fatal() {
    use keyexport_shared::ecies::{decrypt_share, encrypt_share};
    use keyexport_shared::keys::DecryptionKey;

    let c = Ceremony::from_vector("hd-cggmp24-secp256k1-2of3");
    let v = &c.vector;
    let key = DecryptionKey::from_dfns_hex(v["decryptionKey"].as_str().unwrap()).unwrap();
    let mut response = v["response"].clone();
    response["keyShareFormat"] = serde_json::json!("v2");
    let shares = response["encryptedKeyShares"].as_array_mut().unwrap();
    let mut signers = Vec::new();
    for share in shares.iter_mut().take(2) {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let sealed = b64
            .decode(share["encryptedKeyShare"].as_str().unwrap())
            .unwrap();
        let plain = String::from_utf8(decrypt_share(&key, &sealed).unwrap().to_vec()).unwrap();
        let widened = plain.replacen(
            "{\"version\":1,",
            "{\"version\":1,\"derivation\":{\"p\":[0]},",
            1,
        );
        assert_ne!(plain, widened);
        let sealed = encrypt_share(
            &key.encryption_key(),
            widened.as_bytes(),
            &mut rand_core::OsRng,
        );
        share["encryptedKeyShare"] = serde_json::json!(b64.encode(sealed));
        signers.push(share["signerId"].clone());
    }
    std::fs::write(&c.response, serde_json::to_vec(&response).unwrap()).unwrap();
    let output = c
        .reconstruct()
        .args(["--json", "--reveal"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json = stdout_json(&output);
    assert_eq!(json["privateKey"], v["expected"]["privateKey"]);
    assert_eq!(json["chainCode"], v["expected"]["chainCode"]);
    assert_eq!(json["hd"], true);
    assert_eq!(json["badSigners"], serde_json::json!([]));
    assert_eq!(
        json["unknownFields"],
        serde_json::json!([
            {"document": "response", "field": "keyShareFormat"},
            {"document": "share", "field": "derivation", "signers": signers},
        ])
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: Dfns' documents carry fields this tool does not know; they were ignored\n  response field keyShareFormat\n  share field derivation (2 signers)\n"),
        "{stderr}"
    );
}

/// The shares disagree on the chain code with no strict majority: exit 4, `chain-code`,
/// nothing delivered, the disagreeing signers listed without any chain code value.
#[test]
fn chain_code_disagreement_delivers_nothing() {
    let c = Ceremony::from_vector("err-hd-2of2-chain-codes-disagree");
    let v = &c.vector;
    let out = c.dir().join("key.hex");
    let output = c
        .reconstruct()
        .arg("--reveal")
        .args(["--out", s(&out)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    assert!(output.stdout.is_empty());
    assert!(!out.exists());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("disagree on its chain code"), "{stderr}");
    for share in v["response"]["encryptedKeyShares"].as_array().unwrap() {
        assert!(
            stderr.contains(share["signerId"].as_str().unwrap()),
            "{stderr}"
        );
    }
}

#[test]
fn an_unusable_output_path_is_refused_before_the_passphrase() {
    let c = Ceremony::from_vector("cggmp24-secp256k1-2of3");
    // A sealed key with no passphrase file and no terminal: had the passphrase been asked
    // first, this would fail with exit 5 (no terminal).
    let sealed = c.dir().join("decryption-key.age");
    std::fs::write(
        &sealed,
        "-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\n-----END AGE ENCRYPTED FILE-----\n",
    )
    .unwrap();
    let missing = c.dir().join("nosuch/dir/key.hex");
    let read_only = c.dir().join("read-only");
    std::fs::create_dir(&read_only).unwrap();
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o500)).unwrap();
    let mut cases = vec![(missing, "does not exist")];
    // root writes anywhere: the read-only folder is a refusal only for other users.
    if std::fs::write(read_only.join("probe"), b"").is_err() {
        cases.push((read_only.join("key.hex"), "cannot create a file in"));
    }
    for (out, problem) in cases {
        offline()
            .args(["reconstruct", "--decryption-key", s(&sealed)])
            .args(["--response", s(&c.response), "--out", s(&out)])
            .assert()
            .code(6)
            .stderr(predicate::str::contains(problem))
            .stderr(predicate::str::contains("output path"))
            .stderr(predicate::str::contains("passphrase").not());
    }
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn a_sealed_key_given_as_the_response_is_named_as_a_secret() {
    let c = Ceremony::from_vector("cggmp24-secp256k1-2of3");
    offline()
        .args(["inspect", s(&c.key)])
        .assert()
        .code(8)
        .stderr(predicate::str::contains("a secret of the offline machine"))
        .stderr(predicate::str::contains("wipe"));
}
