//! `sign`: every scheme through the binary, checked with independent verifiers (k256,
//! libsecp256k1 through the `bitcoin` crate, ed25519-dalek `verify_strict`, starknet-crypto,
//! a published cairo-lang vector); determinism; `--key` files (hex, WIF, age-encrypted with
//! plain and passphrase-protected identities); refusals; messages from QR images and UR text.

use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use keyexport_shared::dealer::{Deal, Dealt};
use keyexport_shared::keys::DecryptionKey;
use keyexport_shared::transport::{self, FrameOptions};
use predicates::prelude::*;
use rand_core::OsRng;
use serde_json::Value;
use sha3::{Digest, Keccak256};

use crate::common::{self, SealedCeremony, offline, s, stdout_json};

/// A dealt export with a plain decryption key, in its own folder.
struct Export {
    tmp: tempfile::TempDir,
    key: PathBuf,
    response: PathBuf,
    dealt: Dealt,
}

impl Export {
    fn new(scheme: &str) -> Export {
        let tmp = tempfile::tempdir().unwrap();
        let decryption = DecryptionKey::generate();
        let dealt =
            Deal::new(scheme.parse().unwrap(), 2, 3).run(&decryption.encryption_key(), &mut OsRng);
        let key = tmp.path().join("decryption-key.hex");
        std::fs::write(&key, format!("{}\n", decryption.to_dfns_hex().as_str())).unwrap();
        let response = tmp.path().join("response.json");
        std::fs::write(
            &response,
            serde_json::to_vec(&dealt.response.to_json_value()).unwrap(),
        )
        .unwrap();
        Export {
            tmp,
            key,
            response,
            dealt,
        }
    }

    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    fn public_key(&self) -> Vec<u8> {
        self.dealt.response.public_key.as_bytes().to_vec()
    }

    /// `sign --decryption-key … --response … --scheme SCHEME` plus `extra`.
    fn sign(&self, scheme: &str, extra: &[&str]) -> std::process::Output {
        offline()
            .args(["sign", "--blind", "--yes", "--decryption-key", s(&self.key)])
            .args(["--response", s(&self.response), "--scheme", scheme])
            .args(extra)
            .output()
            .unwrap()
    }

    /// Signs and returns the `--json` object, asserting success.
    fn sign_json(&self, scheme: &str, extra: &[&str]) -> Value {
        let mut args = vec!["--json"];
        args.extend_from_slice(extra);
        let output = self.sign(scheme, &args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout_json(&output)
    }

    /// `sign --blind --yes --key FILE --response … --scheme SCHEME`, to which a test adds
    /// the message and its flags.
    fn sign_key_file(&self, file: &Path, scheme: &str) -> assert_cmd::Command {
        let mut cmd = offline();
        cmd.args(["sign", "--blind", "--yes", "--key", s(file)])
            .args(["--response", s(&self.response), "--scheme", scheme]);
        cmd
    }

    /// Writes the key with `reconstruct --out` (plus `extra`) and returns the file.
    fn key_file(&self, name: &str, extra: &[&str]) -> PathBuf {
        let out = self.dir().join(name);
        common::reconstruct(&self.key, &self.response)
            .args(["--out", s(&out)])
            .args(extra)
            .assert()
            .success();
        out
    }
}

fn unhex(value: &Value) -> Vec<u8> {
    hex::decode(value.as_str().unwrap()).unwrap()
}

fn stdout_line(output: &std::process::Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    text.trim_end().to_owned()
}

const DIGEST: &str = "9c22ff5f21f0b81b113e63f7db6da94fedef11b2119b4088b89664fb9a3cb658";

#[test]
fn ecdsa_verifies_with_k256_is_low_s_and_recovers_the_ethereum_address() {
    use k256::ecdsa::{RecoveryId, Signature, VerifyingKey, signature::hazmat::PrehashVerifier};
    let export = Export::new("CGGMP24:secp256k1");
    let digest = hex::decode(DIGEST).unwrap();
    let json = export.sign_json(
        "ecdsa-secp256k1",
        &["--recoverable", "--message-hex", &format!("0x{DIGEST}")],
    );
    assert_eq!(json["scheme"], "ecdsa-secp256k1");
    assert_eq!(json["curve"], "secp256k1");
    assert_eq!(unhex(&json["publicKey"]), export.public_key());
    assert_eq!(json["message"], DIGEST);
    assert_eq!(json["signedDigest"], DIGEST);
    assert_eq!(
        json["messageSha256"],
        hex::encode(sha2::Sha256::digest(&digest))
    );

    let verifying = VerifyingKey::from_sec1_bytes(&export.public_key()).unwrap();
    let signature = Signature::from_slice(&unhex(&json["signature"])).unwrap();
    verifying.verify_prehash(&digest, &signature).unwrap();
    assert!(signature.normalize_s().is_none(), "s must be low");

    let id =
        RecoveryId::from_byte(u8::try_from(json["recoveryId"].as_u64().unwrap()).unwrap()).unwrap();
    let recovered = VerifyingKey::recover_from_prehash(&digest, &signature, id).unwrap();
    assert_eq!(recovered, verifying);
    // The Ethereum address of the recovered key is the one `reconstruct` shows.
    let uncompressed = recovered.to_encoded_point(false);
    let address = &Keccak256::digest(&uncompressed.as_bytes()[1..])[12..];
    let shown = offline()
        .args(["reconstruct", "--json", "--decryption-key", s(&export.key)])
        .args(["--response", s(&export.response)])
        .output()
        .unwrap();
    assert_eq!(
        stdout_json(&shown)["addresses"]["ethereum"]
            .as_str()
            .unwrap()
            .to_lowercase(),
        format!("0x{}", hex::encode(address))
    );

    // Text output: r ‖ s ‖ recovery id.
    let text = stdout_line(&export.sign(
        "ecdsa-secp256k1",
        &["--recoverable", "--message-hex", DIGEST],
    ));
    assert_eq!(
        text,
        format!(
            "{}{:02x}",
            json["signature"].as_str().unwrap(),
            json["recoveryId"].as_u64().unwrap()
        )
    );
}

#[test]
fn bip340_and_taproot_verify_with_libsecp256k1() {
    use bitcoin::key::TapTweak;
    use bitcoin::secp256k1::{Message, Secp256k1, XOnlyPublicKey, schnorr};
    let export = Export::new("FROST_BITCOIN:secp256k1");
    let secp = Secp256k1::new();
    let compressed = k256::PublicKey::from_sec1_bytes(&export.public_key())
        .unwrap()
        .to_sec1_bytes();
    let internal = XOnlyPublicKey::from_slice(&compressed[1..]).unwrap();
    let message = Message::from_digest(hex::decode(DIGEST).unwrap().try_into().unwrap());

    let json = export.sign_json("bip340", &["--message-hex", DIGEST]);
    let signature = schnorr::Signature::from_slice(&unhex(&json["signature"])).unwrap();
    secp.verify_schnorr(&signature, &message, &internal)
        .unwrap();
    assert_eq!(unhex(&json["verifyingKey"]), internal.serialize());

    let json = export.sign_json("bip340-taproot", &["--message-hex", DIGEST]);
    let signature = schnorr::Signature::from_slice(&unhex(&json["signature"])).unwrap();
    let (output_key, _) = internal.tap_tweak(&secp, None);
    secp.verify_schnorr(&signature, &message, &output_key.to_x_only_public_key())
        .unwrap();
    assert_eq!(unhex(&json["verifyingKey"]), output_key.serialize());
    assert!(
        secp.verify_schnorr(&signature, &message, &internal)
            .is_err(),
        "a key-path signature verifies under the tweaked key only"
    );
}

#[test]
fn ed25519_verifies_strictly_over_a_long_message_from_a_file() {
    use ed25519_dalek::{Signature, VerifyingKey};
    let export = Export::new("FROST:ed25519");
    let message: Vec<u8> = (0..1500u32).map(|i| (i * 31 % 251) as u8).collect();
    let file = export.dir().join("message.bin");
    std::fs::write(&file, &message).unwrap();
    let json = export.sign_json("ed25519", &["--message-file", s(&file)]);
    assert!(json.get("signedDigest").is_none(), "{json}");
    assert_eq!(unhex(&json["message"]), message);
    let verifying = VerifyingKey::from_bytes(&export.public_key().try_into().unwrap()).unwrap();
    let signature = Signature::from_slice(&unhex(&json["signature"])).unwrap();
    verifying.verify_strict(&message, &signature).unwrap();
}

#[test]
fn stark_verifies_with_starknet_crypto() {
    use starknet_crypto::Felt;
    let export = Export::new("CGGMP21:stark");
    // A Starknet tool prints a transaction hash without leading zeros: 63 digits here.
    let hash = "5f3e8b6a7c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6";
    assert_eq!(hash.len(), 63);
    let json = export.sign_json("stark-ecdsa", &["--message-hex", &format!("0x{hash}")]);
    let signature = unhex(&json["signature"]);
    let x = Felt::from_bytes_be_slice(&export.public_key()[1..]);
    let message = Felt::from_hex(hash).unwrap();
    assert_eq!(json["signedDigest"], format!("0{hash}"));
    assert!(
        starknet_crypto::verify(
            &x,
            &message,
            &Felt::from_bytes_be_slice(&signature[..32]),
            &Felt::from_bytes_be_slice(&signature[32..]),
        )
        .unwrap()
    );
}

/// starknet-rs `test_ecdsa_sign` ("generated with cairo-lang"), signed through `--key`
/// and `--public-key`: only the public key with the right parity byte is accepted.
#[test]
fn stark_matches_the_published_cairo_lang_vector_through_a_key_file() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("stark.hex");
    std::fs::write(
        &key,
        "0139fe4d6f02e666e86a6f58e65060f115cd3c185bd9e98bd829636931458f79\n",
    )
    .unwrap();
    let x = "02c5dbad71c92a45cc4b40573ae661f8147869a91d57b8d9b8f48c8af7f83159";
    let mut accepted = Vec::new();
    for parity in ["02", "03"] {
        let output = offline()
            .args([
                "sign",
                "--blind",
                "--yes",
                "--key",
                s(&key),
                "--scheme",
                "stark-ecdsa",
            ])
            .args(["--public-key", &format!("{parity}{x}")])
            .args([
                "--message-hex",
                "0x06fea80189363a786037ed3e7ba546dad0ef7de49fccae0e31eb658b7dd4ea76",
            ])
            .output()
            .unwrap();
        match output.status.code() {
            Some(0) => accepted.push(String::from_utf8(output.stdout).unwrap()),
            Some(4) => assert!(output.stdout.is_empty()),
            other => panic!("{other:?}: {}", String::from_utf8_lossy(&output.stderr)),
        }
    }
    assert_eq!(
        accepted,
        [concat!(
            "061ec782f76a66f6984efc3a1b6d152a124c701c00abdd2bf76641b4135c770f",
            "04e44e759cea02c23568bb4d8a09929bbca8768ab68270d50c18d214166ccd9a\n"
        )]
    );
}

#[test]
fn signatures_are_deterministic_across_runs() {
    for (protocol, scheme, message) in [
        ("CGGMP24:secp256k1", "ecdsa-secp256k1", DIGEST),
        ("CGGMP24:secp256k1", "bip340-taproot", DIGEST),
        ("FROST:ed25519", "ed25519", "48656c6c6f"),
        ("CGGMP21:stark", "stark-ecdsa", "0123"),
    ] {
        let export = Export::new(protocol);
        let first = stdout_line(&export.sign(scheme, &["--message-hex", message]));
        let second = stdout_line(&export.sign(scheme, &["--message-hex", message]));
        assert_eq!(first, second, "{scheme}");
        assert_eq!(first.len(), 128, "{scheme}");
    }
}

#[test]
fn key_files_in_hex_and_wif_sign_like_the_decryption_key() {
    let export = Export::new("CGGMP24:secp256k1");
    let expected = stdout_line(&export.sign("ecdsa-secp256k1", &["--message-hex", DIGEST]));
    let hex_file = export.key_file("key.hex", &[]);
    let wif_file = export.key_file("key.wif", &["--format", "wif"]);
    for file in [&hex_file, &wif_file] {
        let output = export
            .sign_key_file(file, "ecdsa-secp256k1")
            .args(["--message-hex", DIGEST])
            .output()
            .unwrap();
        assert_eq!(stdout_line(&output), expected, "{}", file.display());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("Verified     the key file matches the public key"),
            "{stderr}"
        );
    }
    // A key file away from any transcript: the new transcript is announced, and
    // --transcript adds to the ceremony's instead.
    let elsewhere = export.dir().join("delivered");
    std::fs::create_dir(&elsewhere).unwrap();
    let moved = elsewhere.join("key.hex");
    std::fs::copy(&hex_file, &moved).unwrap();
    let sign_moved = |extra: &[&str]| {
        export
            .sign_key_file(&moved, "ecdsa-secp256k1")
            .args(["--message-hex", DIGEST])
            .args(extra)
            .output()
            .unwrap()
    };
    let ceremony_transcript = export.dir().join("transcript.jsonl");
    let output = sign_moved(&["--transcript", s(&ceremony_transcript)]);
    assert!(output.status.success());
    assert!(!String::from_utf8_lossy(&output.stderr).contains("starts a new one"));
    let output = sign_moved(&[]);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("this run starts a new one"), "{stderr}");
    assert!(elsewhere.join("transcript.jsonl").exists());
    std::fs::remove_file(&moved).unwrap();
    // The transcript beside the key file records the signature, never the key.
    let transcript = std::fs::read_to_string(export.dir().join("transcript.jsonl")).unwrap();
    let last: Value = serde_json::from_str(transcript.lines().last().unwrap()).unwrap();
    assert_eq!(last["command"], "sign");
    assert_eq!(last["outcome"]["status"], "ok");
    assert_eq!(last["signed"]["signature"], expected.as_str());
    assert_eq!(
        last["messageSha256"],
        hex::encode(sha2::Sha256::digest(hex::decode(DIGEST).unwrap()))
    );
    assert!(!transcript.contains(export.dealt.private_key.to_hex().as_str()));
}

#[test]
fn age_encrypted_key_files_open_with_plain_and_passphrase_protected_identities() {
    let export = Export::new("FROST:ed25519");
    let expected = stdout_line(&export.sign("ed25519", &["--message-hex", "00ff"]));
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let encrypted = export.key_file("key.hex.age", &["--encrypt-to", &recipient]);

    let plain_identity = export.dir().join("identity.txt");
    std::fs::write(
        &plain_identity,
        format!(
            "# created: by the test\n# public key: {recipient}\n{}\n",
            identity.to_string().expose_secret()
        ),
    )
    .unwrap();
    // The same identity file, encrypted with a passphrase as `age -p` does.
    let protected_identity = export.dir().join("identity.txt.age");
    let passphrase = crate::common::passphrase_file(export.dir(), "id-pass.txt", "id secret");
    let sealed = common::age_seal("id secret", &std::fs::read(&plain_identity).unwrap());
    std::fs::write(&protected_identity, &sealed).unwrap();

    let sign_with = |extra: &[&str]| {
        export
            .sign_key_file(&encrypted, "ed25519")
            .args(["--message-hex", "00ff"])
            .args(extra)
            .output()
            .unwrap()
    };
    let output = sign_with(&["--identity", s(&plain_identity)]);
    assert_eq!(stdout_line(&output), expected);
    assert!(String::from_utf8_lossy(&output.stderr).contains("(hex, age-encrypted)"));
    let output = sign_with(&[
        "--identity",
        s(&protected_identity),
        "--identity-passphrase-file",
        s(&passphrase),
    ]);
    assert_eq!(stdout_line(&output), expected);

    // No identity: a usage error. Another identity: it does not open. Wrong passphrase.
    let output = sign_with(&[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--identity FILE"));
    let other = export.dir().join("other-identity.txt");
    std::fs::write(
        &other,
        format!(
            "{}\n",
            age::x25519::Identity::generate()
                .to_string()
                .expose_secret()
        ),
    )
    .unwrap();
    let output = sign_with(&["--identity", s(&other)]);
    assert_eq!(output.status.code(), Some(3));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("none of the --identity keys"));
    let wrong = crate::common::passphrase_file(export.dir(), "wrong.txt", "not it");
    let output = sign_with(&[
        "--identity",
        s(&protected_identity),
        "--identity-passphrase-file",
        s(&wrong),
    ]);
    assert_eq!(output.status.code(), Some(5));

    // An identity file whose seal claims an excessive scrypt work factor (2^30: minutes of
    // work and 1 GiB) is refused before any work, as a sealed key is.
    let costly = export.dir().join("costly-identity.txt.age");
    std::fs::write(&costly, with_work_factor(&sealed, b"30")).unwrap();
    let output = sign_with(&[
        "--identity",
        s(&costly),
        "--identity-passphrase-file",
        s(&passphrase),
    ]);
    assert_eq!(output.status.code(), Some(3));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("costly-identity.txt.age")
            && stderr.contains("sealed with scrypt work factor 30, above the accepted 22"),
        "{stderr}"
    );
}

/// `sealed` (binary age, one scrypt stanza `-> scrypt SALT N`) with `N` replaced.
fn with_work_factor(sealed: &[u8], log_n: &[u8]) -> Vec<u8> {
    let stanza = sealed.windows(10).position(|w| w == b"-> scrypt ").unwrap();
    let line_end = stanza + sealed[stanza..].iter().position(|&b| b == b'\n').unwrap();
    let factor = line_end
        - sealed[..line_end]
            .iter()
            .rev()
            .position(|&b| b == b' ')
            .unwrap();
    [&sealed[..factor], log_n, &sealed[line_end..]].concat()
}

#[test]
fn a_key_file_of_another_key_is_refused_and_nothing_is_printed() {
    let export = Export::new("CGGMP24:secp256k1");
    let other = Export::new("CGGMP24:secp256k1");
    let foreign = other.key_file("other.hex", &[]);
    let output = export
        .sign_key_file(&foreign, "ecdsa-secp256k1")
        .args(["--json", "--message-hex", DIGEST])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    let json = stdout_json(&output);
    assert_eq!(json["error"]["kind"], "public-key");
    let message = json["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("the key does not match the public key")
            && message.contains(&hex::encode(export.public_key())),
        "{message}"
    );
    assert!(json.get("signature").is_none());
    assert!(!message.contains(other.dealt.private_key.to_hex().as_str()));

    // Without --json: nothing on standard output.
    export
        .sign_key_file(&foreign, "ecdsa-secp256k1")
        .args(["--message-hex", DIGEST])
        .assert()
        .code(4)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("does not match the public key"));
}

#[test]
fn messages_a_scheme_cannot_sign_are_refused_before_any_key_is_opened() {
    let export = Export::new("CGGMP24:secp256k1");
    // A missing decryption key proves nothing was opened: the message is refused first.
    let missing = export.dir().join("missing.age");
    let refuse = |scheme: &str, message: &str, code: i32, text: &str| {
        offline()
            .args(["sign", "--blind", "--yes", "--decryption-key", s(&missing)])
            .args(["--response", s(&export.response), "--scheme", scheme])
            .args(["--message-hex", message])
            .assert()
            .code(code)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(text));
    };
    refuse(
        "ecdsa-secp256k1",
        &DIGEST[2..],
        3,
        "scheme ecdsa-secp256k1 signs a 32-byte digest, but the message is 31 bytes",
    );
    refuse(
        "bip340",
        &format!("{DIGEST}00"),
        3,
        "but the message is 33 bytes",
    );
    refuse("ecdsa-secp256k1", &DIGEST[1..], 3, "an odd number");
    refuse(
        "stark-ecdsa",
        &format!("08{}", &DIGEST[2..]),
        3,
        "below 2^251",
    );
    refuse("ed25519", "", 3, "the message is empty");
    refuse("ecdsa-secp256k1", "zz", 3, "not hex");
    // A scheme of another curve is refused once the response is read, before the key.
    refuse("ed25519", "00", 2, "scheme ed25519 signs with ed25519 keys");
    // --recoverable only for ecdsa-secp256k1.
    offline()
        .args(["sign", "--blind", "--yes", "--decryption-key", s(&missing)])
        .args(["--response", s(&export.response), "--scheme", "bip340"])
        .args(["--recoverable", "--message-hex", DIGEST])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "recovery id exists only for ecdsa-secp256k1",
        ));
    // Standard input carries one thing only.
    offline()
        .args(["sign", "--blind", "--yes", "--decryption-key", s(&missing)])
        .args(["--response", "-", "--scheme", "bip340", "--message-ur", "-"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("standard input cannot carry both"));
    // Exactly one message source.
    offline()
        .args(["sign", "--blind", "--yes", "--decryption-key", s(&missing)])
        .args(["--response", s(&export.response), "--scheme", "bip340"])
        .args(["--message-hex", DIGEST, "--message-file", s(&missing)])
        .assert()
        .code(2);
}

#[test]
fn messages_from_qr_images_and_ur_text_sign_like_hex() {
    let export = Export::new("CGGMP24:secp256k1");
    let expected = stdout_line(&export.sign("ecdsa-secp256k1", &["--message-hex", DIGEST]));
    let digest = hex::decode(DIGEST).unwrap();
    let frames = transport::encode_frames(&digest, &FrameOptions::default()).unwrap();
    assert_eq!(frames.len(), 1);

    // A PNG of the UR frame.
    let png = export.dir().join("message-ur.png");
    std::fs::write(
        &png,
        transport::render_png(&frames[0], &FrameOptions::default()).unwrap(),
    )
    .unwrap();
    let qr = export.sign("ecdsa-secp256k1", &["--message-qr", s(&png)]);
    assert_eq!(stdout_line(&qr), expected);

    // A plain QR code of the hex, as most tools show a transaction hash, in a folder.
    let folder = export.dir().join("photos");
    std::fs::create_dir(&folder).unwrap();
    let code = qrcode::QrCode::new(format!("0x{DIGEST}")).unwrap();
    code.render::<image::Luma<u8>>()
        .build()
        .save(folder.join("hash.png"))
        .unwrap();
    let qr = export.sign("ecdsa-secp256k1", &["--message-qr", s(&folder)]);
    assert_eq!(stdout_line(&qr), expected);

    // UR text: as an argument, in a file, and on standard input.
    let frame = frames[0].as_str().to_owned();
    let ur = export.sign("ecdsa-secp256k1", &["--message-ur", &frame.to_lowercase()]);
    assert_eq!(stdout_line(&ur), expected);
    let text_file = export.dir().join("message.ur.txt");
    std::fs::write(&text_file, format!("{frame}\n")).unwrap();
    let ur = export.sign("ecdsa-secp256k1", &["--message-ur", s(&text_file)]);
    assert_eq!(stdout_line(&ur), expected);
    let stdin = offline()
        .args([
            "sign",
            "--blind",
            "--yes",
            "--decryption-key",
            s(&export.key),
        ])
        .args(["--response", s(&export.response)])
        .args(["--scheme", "ecdsa-secp256k1", "--message-ur", "-"])
        .write_stdin(format!("{frame}\n"))
        .output()
        .unwrap();
    assert_eq!(stdout_line(&stdin), expected);

    // A long ed25519 message in several fountain frames, from UR text in any order.
    let export = Export::new("FROST:ed25519");
    let message: Vec<u8> = (0..700u32).map(|i| (i % 256) as u8).collect();
    let file = export.dir().join("message.bin");
    std::fs::write(&file, &message).unwrap();
    let expected = stdout_line(&export.sign("ed25519", &["--message-file", s(&file)]));
    let mut frames = transport::encode_frames(&message, &FrameOptions::default()).unwrap();
    assert!(frames.len() > 2);
    frames.reverse();
    let text: String = frames.iter().map(|f| format!("{f}\n")).collect();
    let text_file = export.dir().join("long.ur.txt");
    std::fs::write(&text_file, text).unwrap();
    let ur = export.sign("ed25519", &["--message-ur", s(&text_file)]);
    assert_eq!(stdout_line(&ur), expected);

    // An incomplete frame set is refused.
    let first = export.dir().join("first.ur.txt");
    std::fs::write(&first, format!("{}\n", frames.last().unwrap())).unwrap();
    let output = export.sign("ed25519", &["--message-ur", s(&first)]);
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("incomplete"));
}

#[test]
fn the_signature_qr_image_holds_the_printed_signature() {
    let export = Export::new("CGGMP24:secp256k1");
    let png = export.dir().join("signature.png");
    let output = export.sign(
        "ecdsa-secp256k1",
        &[
            "--recoverable",
            "--message-hex",
            DIGEST,
            "--qr-out",
            s(&png),
        ],
    );
    let printed = stdout_line(&output);
    assert_eq!(printed.len(), 130);
    let scanned = transport::decode_image(&std::fs::read(&png).unwrap()).unwrap();
    assert_eq!(scanned, [printed]);
    // Never over an existing file, and refused before signing.
    let again = export.sign(
        "ecdsa-secp256k1",
        &["--message-hex", DIGEST, "--qr-out", s(&png)],
    );
    assert_eq!(again.status.code(), Some(6));
    assert!(again.stdout.is_empty());
}

/// A whole ceremony: `init` seals the decryption key, the export is dealt to its request,
/// `sign` opens the sealed key with the passphrase, checks the response's ceremony, and
/// records the signature in the ceremony's transcript.
#[test]
fn a_sealed_ceremony_signs_and_refuses_a_response_of_another_ceremony() {
    use k256::ecdsa::{Signature, VerifyingKey, signature::hazmat::PrehashVerifier};
    use keyexport_shared::files::CeremonyId;

    let tmp = tempfile::tempdir().unwrap();
    let c = SealedCeremony::every_scheme(tmp.path(), "key-01abc-sign");
    let request = &c.request;
    let dealt = c.deal("CGGMP24:secp256k1", 2, 3);
    let response_for = |ceremony: CeremonyId, name: &str| {
        c.response_file(&dealt, ceremony, request.key_id.clone(), name)
    };
    let response = response_for(request.ceremony_id.clone(), "keyexport-response.json");
    let sign = |response: &Path| {
        offline()
            .args([
                "sign",
                "--blind",
                "--yes",
                "--decryption-key",
                s(&c.sealed()),
            ])
            .args(["--passphrase-file", s(&c.passphrase_file)])
            .args(["--response", s(response)])
            .args(["--scheme", "ecdsa-secp256k1", "--message-hex", DIGEST])
            .output()
            .unwrap()
    };
    let output = sign(&response);
    let signature = Signature::from_slice(&hex::decode(stdout_line(&output)).unwrap()).unwrap();
    VerifyingKey::from_sec1_bytes(dealt.response.public_key.as_bytes())
        .unwrap()
        .verify_prehash(&hex::decode(DIGEST).unwrap(), &signature)
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("Ceremony     {}", request.ceremony_id))
            && stderr.contains("Verified     the rebuilt key matches the public key")
            && stderr.contains("Verified     the signature verifies against the public key"),
        "{stderr}"
    );
    assert!(!stderr.contains(dealt.private_key.to_hex().as_str()));

    let foreign = response_for(CeremonyId::generate(), "foreign.json");
    let output = sign(&foreign);
    assert_eq!(output.status.code(), Some(3));
    assert!(output.stdout.is_empty());

    // init, the signature, the refusal: one chained transcript in the ceremony folder.
    let path = c.dir.join("transcript.jsonl");
    let lines: Vec<Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["command"], "sign");
    assert_eq!(lines[1]["ceremonyId"], request.ceremony_id.to_string());
    assert_eq!(lines[1]["signed"]["scheme"], "ecdsa-secp256k1");
    assert_eq!(lines[1]["signed"]["signedDigest"], DIGEST);
    assert_eq!(lines[2]["outcome"]["status"], "failed");
    assert!(
        keyexport_shared::transcript::verify(&path)
            .unwrap()
            .is_intact()
    );
}
