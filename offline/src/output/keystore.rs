//! Ethereum keystore v3 ("Web3 Secret Storage"), the JSON that geth and MetaMask import.
//!
//! `derived = scrypt(passphrase, salt, n, r = 8, p = 1, dklen = 32)`; the key is encrypted with
//! AES-128-CTR under `derived[0..16]` and a random IV; `mac = keccak256(derived[16..32] ||
//! ciphertext)`. `n` is geth's standard 2^18 (lowered only by the test hook of debug builds,
//! `seal::test_log_n`). The file is checked in tests against the independent
//! `eth-keystore` crate.

use aes::cipher::{KeyIvInit, StreamCipher};
use age::secrecy::{ExposeSecret, SecretString};
use k256::elliptic_curve::sec1::ToEncodedPoint;
use rand_core::{OsRng, RngCore};
use serde::Serialize;
use sha3::{Digest, Keccak256};
use zeroize::Zeroizing;

use crate::addresses;
use crate::error::{CliError, CliResult};

/// geth's `StandardScryptN` = 2^18.
pub const STANDARD_LOG_N: u8 = 18;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;
const DKLEN: usize = 32;

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

#[derive(Serialize)]
struct Keystore {
    address: String,
    crypto: Crypto,
    id: String,
    version: u32,
}

#[derive(Serialize)]
struct Crypto {
    cipher: &'static str,
    cipherparams: CipherParams,
    ciphertext: String,
    kdf: &'static str,
    kdfparams: KdfParams,
    mac: String,
}

#[derive(Serialize)]
struct CipherParams {
    iv: String,
}

#[derive(Serialize)]
struct KdfParams {
    dklen: usize,
    n: u64,
    p: u32,
    r: u32,
    salt: String,
}

/// Encrypts a secp256k1 private key (big-endian) into keystore v3 JSON.
pub fn encrypt(key: &[u8; 32], passphrase: &SecretString, log_n: u8) -> CliResult<Vec<u8>> {
    let secret = k256::SecretKey::from_slice(key)
        .map_err(|_| CliError::Internal("the key is not a valid secp256k1 scalar".into()))?;
    let public = secret.public_key().to_encoded_point(false);
    let address = addresses::ethereum_address(&public.as_bytes()[1..]);

    let mut salt = [0u8; 32];
    let mut iv = [0u8; 16];
    let mut uuid = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    OsRng.fill_bytes(&mut iv);
    OsRng.fill_bytes(&mut uuid);

    let params = scrypt::Params::new(log_n, SCRYPT_R, SCRYPT_P, DKLEN)
        .map_err(|e| CliError::Internal(format!("scrypt parameters: {e}")))?;
    let mut derived = Zeroizing::new([0u8; DKLEN]);
    scrypt::scrypt(
        passphrase.expose_secret().as_bytes(),
        &salt,
        &params,
        &mut derived[..],
    )
    .map_err(|e| CliError::Internal(format!("scrypt: {e}")))?;

    // The ciphertext is not secret once encrypted; encrypt in place in a copy of the key.
    let mut ciphertext = Zeroizing::new(*key);
    Aes128Ctr::new(derived[..16].into(), (&iv).into()).apply_keystream(&mut ciphertext[..]);
    let mac = Keccak256::new()
        .chain_update(&derived[16..32])
        .chain_update(&ciphertext[..])
        .finalize();

    let keystore = Keystore {
        address: address[2..].to_ascii_lowercase(),
        crypto: Crypto {
            cipher: "aes-128-ctr",
            cipherparams: CipherParams {
                iv: hex::encode(iv),
            },
            ciphertext: hex::encode(&ciphertext[..]),
            kdf: "scrypt",
            kdfparams: KdfParams {
                dklen: DKLEN,
                n: 1u64 << log_n,
                p: SCRYPT_P,
                r: SCRYPT_R,
                salt: hex::encode(salt),
            },
            mac: hex::encode(mac),
        },
        id: uuid_v4(uuid),
        version: 3,
    };
    let mut json = serde_json::to_vec_pretty(&keystore)
        .map_err(|e| CliError::Internal(format!("keystore JSON: {e}")))?;
    json.push(b'\n');
    Ok(json)
}

/// Formats 16 random bytes as an RFC 4122 version-4 UUID.
fn uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn independent_implementation_decrypts_it() {
        let key = [0x11u8; 32];
        let pass = SecretString::from("keystore pass".to_owned());
        let json = encrypt(&key, &pass, 4).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("ks.json");
        std::fs::write(&path, &json).unwrap();
        let decrypted = eth_keystore::decrypt_key(&path, "keystore pass").unwrap();
        assert_eq!(decrypted, key);
        assert!(eth_keystore::decrypt_key(&path, "wrong").is_err());
    }

    #[test]
    fn document_shape() {
        let mut one = [0u8; 32];
        one[31] = 1;
        let json = encrypt(&one, &SecretString::from("p".to_owned()), 2).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["version"], 3);
        assert_eq!(v["address"], "7e5f4552091a69125d5dfcb7b8c2659029395bdf");
        assert_eq!(v["crypto"]["cipher"], "aes-128-ctr");
        assert_eq!(v["crypto"]["kdf"], "scrypt");
        assert_eq!(v["crypto"]["kdfparams"]["n"], 4);
        assert_eq!(v["crypto"]["kdfparams"]["r"], 8);
        let id = v["id"].as_str().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(!String::from_utf8_lossy(&json).contains(&"0".repeat(62)));
    }
}
