//! Interoperability: files written by keyexport-offline open with independent tools.
//!
//! - the sealed decryption key opens with the reference `rage` CLI given the passphrase
//!   (fed through `PINENTRY_PROGRAM`, a minimal pinentry speaking the Assuan protocol),
//!   and with the `age` crate's own decryptor;
//! - an `--encrypt-to` output opens with `rage -d -i identity`;
//! - an `eth-keystore` output opens with the `eth-keystore` crate.
//!
//! `rage` is installed with `cargo install rage --locked` when it is not on the PATH; if that
//! is impossible the rage half of a test is skipped with the reason printed (never a fake
//! pass): the age-crate half still runs.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::OnceLock;

use base64::Engine as _;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use serde_json::Value;

use crate::common::{Ceremony, PASSPHRASE, age_open, offline, passphrase_file, s};

/// Finds `rage`, installing it once if needed. `Err` carries the reason to skip.
fn rage() -> Result<PathBuf, String> {
    static RAGE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    RAGE.get_or_init(|| {
        let find = || {
            let mut candidates = vec![PathBuf::from("rage")];
            if let Some(home) = std::env::var_os("CARGO_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
            {
                candidates.push(home.join("bin/rage"));
            }
            candidates.into_iter().find(|c| {
                Process::new(c)
                    .arg("--version")
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
        };
        if let Some(found) = find() {
            return Ok(found);
        }
        eprintln!("rage not found: running `cargo install rage --locked` (one-time)");
        let status = Process::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["install", "rage", "--locked"])
            .status()
            .map_err(|e| format!("cannot run cargo install rage: {e}"))?;
        if !status.success() {
            return Err(format!("cargo install rage --locked failed ({status})"));
        }
        find().ok_or_else(|| "rage installed but not found on PATH or in ~/.cargo/bin".into())
    })
    .clone()
}

/// A minimal pinentry: answers OK to everything and returns the passphrase for GETPIN.
fn fake_pinentry(dir: &Path, passphrase: &str) -> PathBuf {
    let path = dir.join("fake-pinentry");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\necho 'OK Pleased to meet you'\nwhile read -r cmd rest; do\n  case \"$cmd\" in\n    GETPIN) printf 'D %s\\nOK\\n' '{passphrase}';;\n    BYE) echo OK; exit 0;;\n    *) echo OK;;\n  esac\ndone\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
    path
}

/// Runs `init` into `dir/ceremony` and returns the ceremony directory.
fn init_ceremony(dir: &Path) -> PathBuf {
    let pass = passphrase_file(dir, "pass.txt", PASSPHRASE);
    let ceremony = dir.join("ceremony");
    offline()
        .args(["init", "--key-id", "key-interop", "--out", s(&ceremony)])
        .args(["--passphrase-file", s(&pass)])
        .assert()
        .success();
    ceremony
}

/// Finds the (only) `encryptionKey` string anywhere in a request document.
fn encryption_key_of(request: &Value) -> Option<String> {
    match request {
        Value::Object(map) => map.iter().find_map(|(k, v)| match (k.as_str(), v) {
            ("encryptionKey", Value::String(s)) => Some(s.clone()),
            _ => encryption_key_of(v),
        }),
        Value::Array(items) => items.iter().find_map(encryption_key_of),
        _ => None,
    }
}

/// Checks a sealed plaintext: it carries a Dfns decryption key whose public half is the
/// request's encryption key (spec section 2: `0x01 || d` and `0x01 || compressed d·G`).
fn check_sealed_plaintext(plaintext: &[u8], ceremony: &Path) {
    let sealed: Value = serde_json::from_slice(plaintext).unwrap();
    assert_eq!(sealed["kind"], "keyexport-sealed-decryption-key");
    assert_eq!(sealed["keyId"], "key-interop");
    let dk = hex::decode(sealed["decryptionKey"].as_str().unwrap()).unwrap();
    assert_eq!(dk.len(), 33);
    assert_eq!(dk[0], 1);
    let secret = k256::SecretKey::from_slice(&dk[1..]).unwrap();
    let mut expected = vec![1u8];
    expected.extend_from_slice(secret.public_key().to_encoded_point(true).as_bytes());
    let request: Value =
        serde_json::from_slice(&std::fs::read(ceremony.join("request.json")).unwrap()).unwrap();
    assert_eq!(
        encryption_key_of(&request).unwrap(),
        base64::engine::general_purpose::STANDARD.encode(expected)
    );
}

#[test]
fn sealed_key_opens_with_the_age_crate() {
    let tmp = tempfile::tempdir().unwrap();
    let ceremony = init_ceremony(tmp.path());
    let plaintext = age_open(&ceremony.join("decryption-key.age"), PASSPHRASE);
    check_sealed_plaintext(&plaintext, &ceremony);
}

#[test]
fn sealed_key_opens_with_rage() {
    let rage = match rage() {
        Ok(rage) => rage,
        Err(reason) => {
            eprintln!("SKIPPED sealed_key_opens_with_rage: {reason}");
            return;
        }
    };
    let tmp = tempfile::tempdir().unwrap();
    let ceremony = init_ceremony(tmp.path());
    let out = tmp.path().join("plain.json");
    let output = Process::new(&rage)
        .env("PINENTRY_PROGRAM", fake_pinentry(tmp.path(), PASSPHRASE))
        .args(["-d", "-o", s(&out), s(&ceremony.join("decryption-key.age"))])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "rage -d failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    check_sealed_plaintext(&std::fs::read(&out).unwrap(), &ceremony);

    // And a wrong passphrase is refused by rage too.
    let output = Process::new(&rage)
        .env("PINENTRY_PROGRAM", fake_pinentry(tmp.path(), "not it"))
        .args(["-d", s(&ceremony.join("decryption-key.age"))])
        .output()
        .unwrap();
    assert!(!output.status.success());
}

#[test]
fn encrypt_to_output_opens_with_rage_and_age() {
    let c = Ceremony::from_vector("cggmp24-secp256k1-2of3");
    let v = &c.vector;
    let identity = age::x25519::Identity::generate();
    let out = c.dir().join("key.hex.age");
    c.reconstruct()
        .args([
            "--out",
            s(&out),
            "--encrypt-to",
            &identity.to_public().to_string(),
        ])
        .assert()
        .success();
    let expected = format!("{}\n", v["expected"]["privateKey"].as_str().unwrap());
    let sealed = std::fs::read(&out).unwrap();
    assert!(sealed.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));

    let decryptor = age::Decryptor::new(age::armor::ArmoredReader::new(&sealed[..])).unwrap();
    let mut plaintext = String::new();
    decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .unwrap()
        .read_to_string(&mut plaintext)
        .unwrap();
    assert_eq!(plaintext, expected);

    let rage = match rage() {
        Ok(rage) => rage,
        Err(reason) => {
            eprintln!("SKIPPED rage half of encrypt_to_output_opens_with_rage_and_age: {reason}");
            return;
        }
    };
    use age::secrecy::ExposeSecret;
    let identity_file = c.dir().join("identity.txt");
    std::fs::write(
        &identity_file,
        format!("{}\n", identity.to_string().expose_secret()),
    )
    .unwrap();
    let output = Process::new(&rage)
        .args(["-d", "-i", s(&identity_file), s(&out)])
        .output()
        .unwrap();
    crate::common::assert_success(&output);
    assert_eq!(String::from_utf8(output.stdout).unwrap(), expected);
}

#[test]
fn keystore_opens_with_the_eth_keystore_crate() {
    let c = Ceremony::from_vector("cggmp21-secp256k1-2of3");
    let v = &c.vector;
    let pass = passphrase_file(c.dir(), "keystore-pass.txt", "keystore secret");
    let out = c.dir().join("keystore.json");
    c.reconstruct()
        .args(["--out", s(&out), "--format", "eth-keystore"])
        .args(["--keystore-passphrase-file", s(&pass)])
        .assert()
        .success();
    let decrypted = eth_keystore::decrypt_key(&out, "keystore secret").unwrap();
    assert_eq!(
        hex::encode(decrypted),
        v["expected"]["privateKey"].as_str().unwrap()
    );
    assert!(eth_keystore::decrypt_key(&out, "keystore secreT").is_err());
}
