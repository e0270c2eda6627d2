//! Addresses derived from the verified public key, so the operator can recognise the key.
//!
//! - secp256k1: Bitcoin P2WPKH (BIP-141/173, `bc1q…`/`tb1q…`), Bitcoin P2TR key-path only
//!   (BIP-341 tweak of the x-only internal key with no script tree, BIP-350 `bc1p…`/`tb1p…`),
//!   and the Ethereum address with its EIP-55 checksum.
//! - ed25519: the Solana address, which is the base58 of the 32-byte public key.
//! - stark: the Starknet public key, i.e. the x coordinate of the point as `0x` + 64 hex
//!   (an account address also depends on the account contract, so none is derived).
//!
//! Only public data goes in and out. Checked in tests against the `bitcoin` crate and
//! published vectors.

use bitcoin::hashes::{Hash, hash160};
use k256::elliptic_curve::PrimeField;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::{ProjectivePoint, Scalar};
use keyexport_shared::curve::PublicKey;
use keyexport_shared::scheme::Curve;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sha3::Keccak256;

use crate::error::{CliError, CliResult};

/// Addresses of one key; only the fields of its curve are present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Addresses {
    /// Bitcoin mainnet P2WPKH (`bc1q…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bitcoin_p2wpkh: Option<String>,
    /// Bitcoin mainnet P2TR, key path only (`bc1p…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bitcoin_p2tr: Option<String>,
    /// Bitcoin testnet/signet P2WPKH (`tb1q…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bitcoin_testnet_p2wpkh: Option<String>,
    /// Bitcoin testnet/signet P2TR, key path only (`tb1p…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bitcoin_testnet_p2tr: Option<String>,
    /// Ethereum (and EVM chains) address, EIP-55 mixed case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ethereum: Option<String>,
    /// Solana address (base58 of the ed25519 public key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solana: Option<String>,
    /// Starknet public key (x coordinate, `0x` + 64 hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starknet_public_key: Option<String>,
}

impl Addresses {
    /// `(label, value)` pairs in display order, for the human report.
    pub fn labelled(&self) -> Vec<(&'static str, &str)> {
        [
            ("Bitcoin P2WPKH", &self.bitcoin_p2wpkh),
            ("Bitcoin P2TR", &self.bitcoin_p2tr),
            ("Bitcoin testnet P2WPKH", &self.bitcoin_testnet_p2wpkh),
            ("Bitcoin testnet P2TR", &self.bitcoin_testnet_p2tr),
            ("Ethereum", &self.ethereum),
            ("Solana", &self.solana),
            ("Starknet public key", &self.starknet_public_key),
        ]
        .into_iter()
        .filter_map(|(label, value)| value.as_deref().map(|v| (label, v)))
        .collect()
    }
}

/// Why a public key could not be turned into addresses.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddressError {
    /// Not a valid SEC1 secp256k1 point.
    #[error("the public key is not a valid secp256k1 point")]
    InvalidSecp256k1,
    /// The stark key is not a 33-byte compressed point.
    #[error("the stark public key is not a 33-byte compressed point")]
    InvalidStark,
    /// The ed25519 key is not 32 bytes.
    #[error("the ed25519 public key is not 32 bytes")]
    InvalidEd25519,
    /// The BIP-341 tweak overflowed the group order or gave the point at infinity
    /// (probability ~2^-128; reported rather than hidden).
    #[error("the taproot tweak of this key is invalid")]
    TaprootTweak,
}

/// Addresses of a secp256k1 public key (33-byte compressed or 65-byte uncompressed SEC1).
pub fn secp256k1(public_key: &[u8]) -> Result<Addresses, AddressError> {
    let key =
        k256::PublicKey::from_sec1_bytes(public_key).map_err(|_| AddressError::InvalidSecp256k1)?;
    let compressed = key.to_encoded_point(true);
    let uncompressed = key.to_encoded_point(false);

    let hash160 = hash160::Hash::hash(compressed.as_bytes()).to_byte_array();
    let output_key = taproot_output_key(&key)?;
    let segwit = |hrp, version, program: &[u8]| {
        bech32::segwit::encode(hrp, version, program)
            .expect("20- and 32-byte witness programs of version 0/1 are always encodable")
    };
    Ok(Addresses {
        bitcoin_p2wpkh: Some(segwit(bech32::hrp::BC, bech32::segwit::VERSION_0, &hash160)),
        bitcoin_p2tr: Some(segwit(
            bech32::hrp::BC,
            bech32::segwit::VERSION_1,
            &output_key,
        )),
        bitcoin_testnet_p2wpkh: Some(segwit(bech32::hrp::TB, bech32::segwit::VERSION_0, &hash160)),
        bitcoin_testnet_p2tr: Some(segwit(
            bech32::hrp::TB,
            bech32::segwit::VERSION_1,
            &output_key,
        )),
        ethereum: Some(ethereum_address(&uncompressed.as_bytes()[1..])),
        ..Addresses::default()
    })
}

/// BIP-341 key-path output key: `Q = lift_x(P) + H_TapTweak(x(P))·G`, returned as x(Q).
fn taproot_output_key(key: &k256::PublicKey) -> Result<[u8; 32], AddressError> {
    let encoded = key.to_encoded_point(true);
    let x: [u8; 32] = encoded.as_bytes()[1..]
        .try_into()
        .expect("a compressed SEC1 point is 33 bytes");
    // lift_x picks the point with even y: negate P when its y is odd (prefix 0x03).
    let point = key.to_projective();
    let internal = if encoded.as_bytes()[0] == 0x03 {
        -point
    } else {
        point
    };
    let tweak = tagged_hash(b"TapTweak", &x);
    let tweak = Option::<Scalar>::from(Scalar::from_repr(tweak.into()))
        .ok_or(AddressError::TaprootTweak)?;
    let output = internal + ProjectivePoint::GENERATOR * tweak;
    let output = output.to_affine().to_encoded_point(true);
    if output.is_identity() {
        return Err(AddressError::TaprootTweak);
    }
    Ok(output.as_bytes()[1..]
        .try_into()
        .expect("a compressed SEC1 point is 33 bytes"))
}

/// BIP-340 tagged hash: `SHA256(SHA256(tag) || SHA256(tag) || msg)`.
fn tagged_hash(tag: &[u8], msg: &[u8]) -> [u8; 32] {
    let tag_hash = Sha256::digest(tag);
    Sha256::new()
        .chain_update(tag_hash)
        .chain_update(tag_hash)
        .chain_update(msg)
        .finalize()
        .into()
}

/// Ethereum address of the 64-byte `x || y` public key, with the EIP-55 checksum.
pub fn ethereum_address(xy: &[u8]) -> String {
    let hash = Keccak256::digest(xy);
    eip55(&hash[12..])
}

/// EIP-55 mixed-case checksum encoding of a 20-byte address, with `0x`.
pub fn eip55(address: &[u8]) -> String {
    let lower = hex::encode(address);
    let hash = Keccak256::digest(lower.as_bytes());
    let mut out = String::with_capacity(42);
    out.push_str("0x");
    for (i, c) in lower.chars().enumerate() {
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
        if c.is_ascii_alphabetic() && nibble >= 8 {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Addresses of an ed25519 public key (32 bytes, standard encoding).
pub fn ed25519(public_key: &[u8]) -> Result<Addresses, AddressError> {
    if public_key.len() != 32 {
        return Err(AddressError::InvalidEd25519);
    }
    Ok(Addresses {
        solana: Some(bs58::encode(public_key).into_string()),
        ..Addresses::default()
    })
}

/// Addresses of a stark public key (33-byte compressed: parity prefix, then x).
pub fn stark(public_key: &[u8]) -> Result<Addresses, AddressError> {
    match public_key {
        [0x02 | 0x03, x @ ..] if x.len() == 32 => Ok(Addresses {
            starknet_public_key: Some(format!("0x{}", hex::encode(x))),
            ..Addresses::default()
        }),
        _ => Err(AddressError::InvalidStark),
    }
}

/// The addresses of a public key (the root's, or a derived child's).
pub(crate) fn of(public_key: &PublicKey) -> CliResult<Addresses> {
    let public = public_key.as_bytes();
    let derived = match public_key.curve() {
        Curve::Secp256k1 => secp256k1(public),
        Curve::Ed25519 => ed25519(public),
        Curve::Stark => stark(public),
    };
    derived.map_err(|e| CliError::Internal(format!("address derivation: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test vectors from EIP-55 itself ("All caps", "All Lower", "Normal").
    #[test]
    fn eip55_published_vectors() {
        for expected in [
            "0x52908400098527886E0F7030069857D2E4169EE7",
            "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
            "0xde709f2102306220921060314715629080e2fb77",
            "0x27b1fdb04752bbc536007a920d24acb045561c26",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            let bytes = hex::decode(&expected[2..]).unwrap();
            assert_eq!(eip55(&bytes), expected);
        }
    }

    /// Private key 1: its Ethereum address is well known.
    #[test]
    fn ethereum_address_of_generator() {
        let g = k256::PublicKey::from_affine(k256::AffinePoint::GENERATOR).unwrap();
        let addresses = secp256k1(g.to_encoded_point(false).as_bytes()).unwrap();
        assert_eq!(
            addresses.ethereum.as_deref(),
            Some("0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf")
        );
        // BIP-173 vector: P2WPKH of the generator's compressed key.
        assert_eq!(
            addresses.bitcoin_p2wpkh.as_deref(),
            Some("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
        );
    }

    /// BIP-86 test vector (first receiving address of the "abandon … about" wallet).
    #[test]
    fn taproot_bip86_vector() {
        let internal =
            hex::decode("03cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115")
                .unwrap();
        let addresses = secp256k1(&internal).unwrap();
        assert_eq!(
            addresses.bitcoin_p2tr.as_deref(),
            Some("bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr")
        );
    }

    /// The Solana system program's id is the all-zero key.
    #[test]
    fn solana_system_program() {
        let addresses = ed25519(&[0u8; 32]).unwrap();
        assert_eq!(
            addresses.solana.as_deref(),
            Some("11111111111111111111111111111111")
        );
        assert_eq!(ed25519(&[0u8; 31]), Err(AddressError::InvalidEd25519));
    }

    #[test]
    fn stark_public_key_is_x() {
        let mut key = vec![0x03];
        key.extend([0xab; 32]);
        assert_eq!(
            stark(&key).unwrap().starknet_public_key.unwrap(),
            format!("0x{}", "ab".repeat(32))
        );
        assert_eq!(stark(&key[..32]), Err(AddressError::InvalidStark));
        key[0] = 0x04;
        assert_eq!(stark(&key), Err(AddressError::InvalidStark));
    }

    /// Published pair from starknet-rs (`starknet-crypto`, `get_public_key` test): the
    /// Starknet public key is the x coordinate of `sk·G`. One of the two compressed
    /// encodings of that x must verify against the private key with the shared curve code.
    #[test]
    fn starknet_published_vector() {
        use keyexport_shared::curve::{PrivateKey, PublicKey};
        use keyexport_shared::scheme::Curve;
        let private: [u8; 32] =
            hex::decode("03c1e9550e66958296d11b60f8e8e7a7ad990d07fa65d5f7652c4a6c87d4e3cc")
                .unwrap()
                .try_into()
                .unwrap();
        let x = "077a3b314db07c45076d11f62b6f9e748a39790441823307743cf00d6597ea43";
        let matching: Vec<Vec<u8>> = ["02", "03"]
            .iter()
            .map(|prefix| hex::decode(format!("{prefix}{x}")).unwrap())
            .filter(|bytes| {
                PublicKey::from_bytes(Curve::Stark, bytes)
                    .is_ok_and(|pk| PrivateKey::from_be_bytes_verified(&pk, &private).is_ok())
            })
            .collect();
        assert_eq!(matching.len(), 1);
        assert_eq!(
            stark(&matching[0]).unwrap().starknet_public_key.unwrap(),
            format!("0x{x}")
        );
    }

    #[test]
    fn invalid_secp256k1_is_refused() {
        assert_eq!(secp256k1(&[5u8; 33]), Err(AddressError::InvalidSecp256k1));
    }
}
