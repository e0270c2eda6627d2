//! The HD tree of an exported key that carries a chain code (spec §4a).
//!
//! A Dfns master key exports as a 32-byte secret and a 32-byte chain code: the root of a
//! hierarchical deterministic tree. Dfns' MPC stack derives child keys with the
//! `hd-wallet` crate (same authors), and so does this module, over the same curve crates
//! as the rest of the library:
//!
//! | curve     | scheme                                                                 |
//! |-----------|------------------------------------------------------------------------|
//! | secp256k1 | BIP-32 (= SLIP-10 for secp256k1), `hd_wallet::Slip10`                   |
//! | ed25519   | `hd_wallet::Edwards`: HMAC-SHA512 over the chain code, the compressed point, a zero byte and the index; the child is `parent + I_L·G` (not SLIP-10's hardened-only ed25519) |
//! | stark     | `hd_wallet::Stark`: two HMAC-SHA512 blocks, `I[..96] mod n` as the shift |
//!
//! MPC can only derive non-hardened children; the whole root secret is here, so hardened
//! indices work too. For secp256k1 the root also serializes as BIP-32 `xpub`/`xprv`
//! (`tpub`/`tprv` on test networks) at depth 0.
//!
//! The chain code is secret-adjacent: with it, the root public key and the private key of
//! any non-hardened descendant, anyone computes the root private key. It is handled here
//! as [`ChainCode`]: wiped memory, never printed.

use std::fmt;
use std::str::FromStr;

use generic_ec::{Curve as EcCurve, SecretScalar};
use hd_wallet::{ExtendedKeyPair, ExtendedSecretKey, HdWallet};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::chain_code::ChainCode;
use crate::curve::{PrivateKey, PublicKey};
use crate::scheme::Curve;

/// The first hardened index, `2^31`.
const HARDENED: u32 = 1 << 31;

/// BIP-32 limits a path to 255 levels (the depth is one byte).
const MAX_DEPTH: usize = 255;

/// What went wrong with HD derivation or serialization. Never holds key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HdError {
    /// A derivation path that does not follow the BIP-32 syntax.
    #[error("derivation path {path:?} is invalid: {reason}")]
    Path {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An extended-key serialization asked for a curve BIP-32 does not define it for.
    #[error("xpub/xprv are BIP-32 serializations of secp256k1 keys; this key is on {curve}")]
    NotSecp256k1 {
        /// The key's curve.
        curve: Curve,
    },
    /// The key bytes were not a valid scalar of their curve (never expected for a key
    /// rebuilt and verified by this library).
    #[error("the {curve} key is not a valid scalar of its curve")]
    InvalidKey {
        /// The key's curve.
        curve: Curve,
    },
}

/// The network an extended key is serialized for: it only picks the version bytes
/// (`xpub`/`xprv` or `tpub`/`tprv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// Bitcoin mainnet and every chain that uses its version bytes.
    Mainnet,
    /// Bitcoin testnet, signet and regtest.
    Testnet,
}

impl Network {
    fn public_version(self) -> [u8; 4] {
        match self {
            Network::Mainnet => [0x04, 0x88, 0xB2, 0x1E],
            Network::Testnet => [0x04, 0x35, 0x87, 0xCF],
        }
    }

    fn private_version(self) -> [u8; 4] {
        match self {
            Network::Mainnet => [0x04, 0x88, 0xAD, 0xE4],
            Network::Testnet => [0x04, 0x35, 0x83, 0x94],
        }
    }
}

/// The derivation scheme this module uses on `curve`, for help texts and reports.
pub fn scheme_name(curve: Curve) -> &'static str {
    match curve {
        Curve::Secp256k1 => "BIP-32",
        Curve::Ed25519 => "hd-wallet Edwards, as Dfns' MPC stack",
        Curve::Stark => "hd-wallet Stark, as Dfns' MPC stack",
    }
}

/// One level of a derivation path: an index below `2^31`, hardened or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildNumber(u32);

impl ChildNumber {
    /// Whether this is a hardened index (`2^31` and above in BIP-32 numbering).
    pub fn is_hardened(self) -> bool {
        self.0 >= HARDENED
    }

    /// The BIP-32 index, hardened ones with the top bit set.
    pub fn raw(self) -> u32 {
        self.0
    }
}

impl fmt::Display for ChildNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_hardened() {
            write!(f, "{}'", self.0 - HARDENED)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// A BIP-32 derivation path below the root, e.g. `m/44'/0'/0'/0/5`: `m`, then 1 to 255
/// levels of decimal indices below `2^31` (no sign, no leading zeros), each hardened with
/// a trailing `'` or `h`. Shown with `'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivationPath(Vec<ChildNumber>);

impl DerivationPath {
    /// The levels, root first.
    pub fn levels(&self) -> &[ChildNumber] {
        &self.0
    }

    /// Whether any level is hardened (such a child cannot be derived from public data).
    pub fn has_hardened(&self) -> bool {
        self.0.iter().any(|c| c.is_hardened())
    }

    /// A file-name-safe form: `m/44'/0/5` becomes `m-44h-0-5`.
    pub fn file_stem(&self) -> String {
        let mut stem = String::from("m");
        for level in &self.0 {
            if level.is_hardened() {
                stem.push_str(&format!("-{}h", level.0 - HARDENED));
            } else {
                stem.push_str(&format!("-{}", level.0));
            }
        }
        stem
    }
}

impl fmt::Display for DerivationPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("m")?;
        for level in &self.0 {
            write!(f, "/{level}")?;
        }
        Ok(())
    }
}

impl FromStr for DerivationPath {
    type Err = HdError;

    fn from_str(text: &str) -> Result<DerivationPath, HdError> {
        let invalid = |reason: String| HdError::Path {
            path: text.to_string(),
            reason,
        };
        let mut parts = text.split('/');
        if parts.next() != Some("m") {
            return Err(invalid(
                "a path starts with \"m/\", e.g. m/0/5 or m/44'/0'/0'/0/5".into(),
            ));
        }
        let mut levels = Vec::new();
        for (position, part) in parts.enumerate() {
            let level = position + 1;
            let (digits, hardened) = match part.strip_suffix(['\'', 'h']) {
                Some(digits) => (digits, true),
                None => (part, false),
            };
            let canonical = !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && (digits == "0" || !digits.starts_with('0'));
            let index = digits
                .parse::<u32>()
                .ok()
                .filter(|&i| canonical && i < HARDENED)
                .ok_or_else(|| {
                    invalid(format!(
                        "level {level} ({part:?}) is not an index from 0 to 2147483647, \
                         optionally followed by ' or h for hardened"
                    ))
                })?;
            levels.push(ChildNumber(if hardened { index + HARDENED } else { index }));
        }
        if levels.is_empty() {
            return Err(invalid(
                "the path names the root itself; give at least one level, e.g. m/0".into(),
            ));
        }
        if levels.len() > MAX_DEPTH {
            return Err(invalid(format!(
                "{} levels; BIP-32 allows at most {MAX_DEPTH}",
                levels.len()
            )));
        }
        Ok(DerivationPath(levels))
    }
}

/// A child key derived from the root: its path, private key and public key.
///
/// The public key is computed from the private key, so the pair is consistent by
/// construction. `Debug` prints no secret.
#[derive(Debug, Clone)]
pub struct DerivedKey {
    /// The path from the root.
    pub path: DerivationPath,
    /// The child's private key (a raw scalar, like the root's).
    pub private_key: PrivateKey,
    /// The child's public key: compressed for secp256k1 and stark, 32 bytes for ed25519.
    pub public_key: PublicKey,
}

/// Derives the child at `path` from the root `root` with chain code `chain_code`, with the
/// scheme of the root's curve (see the module documentation).
pub fn derive(
    root: &PrivateKey,
    chain_code: &ChainCode,
    path: &DerivationPath,
) -> Result<DerivedKey, HdError> {
    match root.curve() {
        Curve::Secp256k1 => {
            derive_on::<hd_wallet::curves::Secp256k1, hd_wallet::Slip10>(root, chain_code, path)
        }
        Curve::Ed25519 => {
            derive_on::<hd_wallet::curves::Ed25519, hd_wallet::Edwards>(root, chain_code, path)
        }
        Curve::Stark => {
            derive_on::<hd_wallet::curves::Stark, hd_wallet::Stark>(root, chain_code, path)
        }
    }
}

fn key_pair<E: EcCurve>(
    key: &PrivateKey,
    chain_code: &ChainCode,
) -> Result<ExtendedKeyPair<E>, HdError> {
    let secret_key = SecretScalar::<E>::from_be_bytes(key.to_be_bytes())
        .map_err(|_| HdError::InvalidKey { curve: key.curve() })?;
    Ok(ExtendedKeyPair::from(ExtendedSecretKey {
        secret_key,
        chain_code: *chain_code.as_bytes(),
    }))
}

fn derive_on<E: EcCurve, H: HdWallet<E>>(
    root: &PrivateKey,
    chain_code: &ChainCode,
    path: &DerivationPath,
) -> Result<DerivedKey, HdError> {
    let curve = root.curve();
    let parent = key_pair::<E>(root, chain_code)?;
    let child = H::derive_child_key_pair_with_path(&parent, path.0.iter().map(|c| c.0));
    let secret = child.secret_key().secret_key.to_be_bytes();
    let bytes: &[u8] = secret.as_nonsecret_bytes();
    let mut scalar = Zeroizing::new([0u8; 32]);
    if bytes.len() != scalar.len() {
        return Err(HdError::InvalidKey { curve });
    }
    scalar.copy_from_slice(bytes);
    let public = child.public_key().public_key.to_bytes(true);
    let public_key =
        PublicKey::from_bytes(curve, &public).map_err(|_| HdError::InvalidKey { curve })?;
    Ok(DerivedKey {
        path: path.clone(),
        private_key: PrivateKey::new(curve, scalar),
        public_key,
    })
}

/// The BIP-32 extended public key of a secp256k1 root (depth 0, no parent, index 0).
pub fn xpub(
    public_key: &PublicKey,
    chain_code: &ChainCode,
    network: Network,
) -> Result<String, HdError> {
    let compressed = public_key
        .secp256k1_compressed()
        .ok_or(HdError::NotSecp256k1 {
            curve: public_key.curve(),
        })?;
    let payload = extended_key(network.public_version(), chain_code, &compressed);
    Ok(base58check(&payload).to_string())
}

/// The BIP-32 extended private key of a secp256k1 root (depth 0, no parent, index 0), in
/// memory that is wiped after use.
pub fn xprv(
    private_key: &PrivateKey,
    chain_code: &ChainCode,
    network: Network,
) -> Result<Zeroizing<String>, HdError> {
    if private_key.curve() != Curve::Secp256k1 {
        return Err(HdError::NotSecp256k1 {
            curve: private_key.curve(),
        });
    }
    let mut key = Zeroizing::new([0u8; 33]);
    key[1..].copy_from_slice(private_key.to_be_bytes());
    let payload = extended_key(network.private_version(), chain_code, &key);
    Ok(base58check(&payload))
}

/// `version || depth 0 || parent fingerprint 0 || child number 0 || chain code || key`.
fn extended_key(version: [u8; 4], chain_code: &ChainCode, key: &[u8; 33]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(78));
    out.extend_from_slice(&version);
    out.extend_from_slice(&[0; 9]);
    out.extend_from_slice(chain_code.as_bytes());
    out.extend_from_slice(key);
    out
}

/// Base58 of `payload || first 4 bytes of SHA-256(SHA-256(payload))`.
fn base58check(payload: &[u8]) -> Zeroizing<String> {
    let checksum = Sha256::digest(Sha256::digest(payload));
    let mut data = Zeroizing::new(payload.to_vec());
    data.extend_from_slice(&checksum[..4]);
    Zeroizing::new(bs58::encode(data.as_slice()).into_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> DerivationPath {
        text.parse().unwrap()
    }

    #[test]
    fn paths_parse_and_print_canonically() {
        assert_eq!(path("m/0/5").to_string(), "m/0/5");
        assert_eq!(
            path("m/44h/0'/2147483647").to_string(),
            "m/44'/0'/2147483647"
        );
        assert_eq!(path("m/44h/0'/7").file_stem(), "m-44h-0h-7");
        assert!(path("m/1'").has_hardened());
        assert!(!path("m/1/2").has_hardened());
        assert_eq!(path("m/1'").levels()[0].raw(), HARDENED + 1);
    }

    #[test]
    fn malformed_paths_are_refused_with_the_level() {
        for bad in [
            "",
            "m",
            "m/",
            "0/5",
            "M/0",
            "m/01",
            "m/-1",
            "m/+1",
            "m/2147483648",
            "m/1''",
            "m/1H",
            "m/ 1",
            "m//1",
            "m/1/",
            "/m/1",
        ] {
            let err = bad.parse::<DerivationPath>().unwrap_err();
            assert!(matches!(err, HdError::Path { .. }), "{bad:?}");
        }
        let err = "m/0/x".parse::<DerivationPath>().unwrap_err().to_string();
        assert!(err.contains("level 2"), "{err}");
        let deep = format!("m{}", "/0".repeat(256));
        assert!(deep.parse::<DerivationPath>().is_err());
        let deepest = format!("m{}", "/0".repeat(255));
        assert!(deepest.parse::<DerivationPath>().is_ok());
    }

    #[test]
    fn extended_keys_need_secp256k1() {
        let key = PrivateKey::new(Curve::Ed25519, Zeroizing::new([1; 32]));
        let code = ChainCode::from_bytes([2; 32]);
        assert_eq!(
            xprv(&key, &code, Network::Mainnet).unwrap_err(),
            HdError::NotSecp256k1 {
                curve: Curve::Ed25519
            }
        );
    }
}
