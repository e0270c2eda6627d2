//! The signature schemes of `keyexport-offline sign`: a leaf that imports nothing of the
//! crate (the command is `crate::sign`).
//!
//! Many users only need to move funds once after an export, and an ed25519 export is a raw
//! expanded scalar that no wallet can import. This module signs with the key where it was
//! rebuilt, so it never has to leave the offline machine. [`sign`] refuses a scheme that does
//! not fit the key's curve and a key that does not generate the export's public key, signs,
//! and verifies its own signature against the export's public key (through a different code
//! path than the signer's) before returning anything.
//!
//! # Schemes and what each one signs
//!
//! | scheme            | curve     | message                           | signature (64 bytes)  |
//! |-------------------|-----------|-----------------------------------|-----------------------|
//! | `ecdsa-secp256k1` | secp256k1 | a 32-byte digest                  | `r ‖ s`, low-S        |
//! | `bip340`          | secp256k1 | a 32-byte message (a sighash)     | `R.x ‖ s`             |
//! | `bip340-taproot`  | secp256k1 | a 32-byte BIP-341 sighash         | `R.x ‖ s`             |
//! | `ed25519`         | ed25519   | the whole message, any length     | `R ‖ S` (RFC 8032)    |
//! | `stark-ecdsa`     | stark     | a field element below 2^251       | `r ‖ s`, 32 bytes each|
//!
//! - **ecdsa-secp256k1**: RFC 6979 deterministic nonces (HMAC-SHA-256), `s` normalized to the
//!   lower half as Bitcoin and Ethereum require (k256 `sign_prehash_recoverable`). The digest
//!   is the chain's own (Keccak-256 of the RLP transaction for Ethereum, double SHA-256 sighash
//!   for Bitcoin): this module never hashes it again. With `recoverable`, the recovery id
//!   (0–3; 0 or 1 in practice) is returned for Ethereum's `v`.
//! - **bip340**: Schnorr over the export's key as an x-only key (BIP-340 negates the secret
//!   when its point has an odd y; k256 does this). Use it where the chain verifies against the
//!   untweaked key.
//! - **bip340-taproot**: a Taproot key-path spend of an output whose *internal* key is the
//!   export's key and which commits to no script tree (BIP-86 style): the secret is tweaked
//!   with `t = hash_TapTweak(P.x)` (BIP-341), and the signature verifies under the output key
//!   `Q = P + t·G`, which is what the `bc1p…` address encodes. [`SignedMessage::verifying_key`]
//!   shows `Q.x` so the user can compare it with the address's witness program.
//! - Both BIP-340 schemes use **32 zero bytes as `aux_rand`**. BIP-340 allows this: the nonce
//!   is still derived from the secret key and the message, so signatures stay secure and
//!   become deterministic (the same inputs give the same signature on every run); `aux_rand`
//!   only adds protection against side-channel and fault attacks on the signing device, which
//!   an air-gapped one-off signature does not need.
//! - **ed25519**: RFC 8032 PureEdDSA from the *expanded* scalar. RFC 8032 derives the nonce
//!   key (`prefix`, the upper half of `SHA-512(seed)`) from a seed that a Dfns export does not
//!   have, so this module derives it from the scalar with a domain-separated hash:
//!
//!   ```text
//!   prefix = SHA-512("keyexport ed25519 nonce prefix v1" ‖ scalar_le)[0..32]
//!   r      = SHA-512(prefix ‖ M) mod ℓ             (as RFC 8032 §5.1.6 step 2)
//!   ```
//!
//!   `scalar_le` is the 32-byte little-endian scalar (the export's big-endian bytes reversed).
//!   The prefix is secret, fixed per key and independent of the message, exactly the role
//!   RFC 8032's prefix plays, so signatures are deterministic and the nonce is never reused
//!   for two different messages. The signature is a standard Ed25519 signature: any verifier
//!   accepts it (it is checked with ed25519-dalek's `verify_strict`), it merely differs from
//!   the one a seed-holding wallet would make for the same message. The `v1` names this
//!   derivation; changing it would change every signature, never their validity.
//! - **stark-ecdsa**: Starknet's ECDSA (starknet-crypto, the library starknet-rs uses) over a
//!   message that is a field element: 1 to 32 big-endian bytes (left-padded to 32), value below
//!   2^251 as Starknet and cairo-lang require of a message hash (a transaction hash always is).
//!   The nonce is RFC 6979 as cairo-lang generates it, retrying with seed 1, 2, … in the
//!   (negligibly rare) case `r` or `s` falls outside `[1, 2^251)`, as cairo-lang and
//!   starknet-rs do. Starknet's public key is the x coordinate of the point; the export's
//!   33-byte compressed key carries x after a parity byte. [`SignedMessage::verifying_key`]
//!   is that x; the parity is checked too, by the shared library's full-point comparison.
//!
//! # What this module does not do
//!
//! It does not build or hash transactions: the caller brings the digest or message its chain
//! signs. Starknet field elements live in starknet-crypto's `Felt`, which cannot be wiped, so
//! the stark scalar survives in freed stack memory; the other schemes keep their secrets in
//! types that are wiped on drop.

mod ed25519;
mod secp256k1;
mod signer;
mod stark;

pub use signer::{check_message, sign};

use std::fmt;
use std::str::FromStr;

use keyexport_shared::curve::PublicKey;
use keyexport_shared::scheme::Curve;
use serde::{Serialize, Serializer};

/// A signature scheme the offline binary can sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignScheme {
    /// ECDSA over secp256k1, RFC 6979 nonces, low-S, over a 32-byte digest.
    EcdsaSecp256k1,
    /// BIP-340 Schnorr with the export's key as the x-only key.
    Bip340,
    /// BIP-340 Schnorr for a Taproot key-path spend (BIP-341 tweak, no script tree).
    Bip340Taproot,
    /// Ed25519 (RFC 8032) from the expanded scalar.
    Ed25519,
    /// Starknet ECDSA over a field element.
    StarkEcdsa,
}

impl SignScheme {
    /// Every scheme, in the order `--help` lists them.
    pub const ALL: [SignScheme; 5] = [
        SignScheme::EcdsaSecp256k1,
        SignScheme::Bip340,
        SignScheme::Bip340Taproot,
        SignScheme::Ed25519,
        SignScheme::StarkEcdsa,
    ];

    /// The name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SignScheme::EcdsaSecp256k1 => "ecdsa-secp256k1",
            SignScheme::Bip340 => "bip340",
            SignScheme::Bip340Taproot => "bip340-taproot",
            SignScheme::Ed25519 => "ed25519",
            SignScheme::StarkEcdsa => "stark-ecdsa",
        }
    }

    /// The curve whose keys this scheme signs with.
    pub fn curve(self) -> Curve {
        match self {
            SignScheme::EcdsaSecp256k1 | SignScheme::Bip340 | SignScheme::Bip340Taproot => {
                Curve::Secp256k1
            }
            SignScheme::Ed25519 => Curve::Ed25519,
            SignScheme::StarkEcdsa => Curve::Stark,
        }
    }
}

impl FromStr for SignScheme {
    type Err = SignError;

    fn from_str(s: &str) -> Result<SignScheme, SignError> {
        SignScheme::ALL
            .into_iter()
            .find(|scheme| scheme.as_str() == s)
            .ok_or_else(|| SignError::UnknownScheme { name: s.to_owned() })
    }
}

/// `--scheme` on the command line: the names of [`SignScheme::as_str`], each with its help.
impl clap::ValueEnum for SignScheme {
    fn value_variants<'a>() -> &'a [Self] {
        &SignScheme::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let help = match self {
            SignScheme::EcdsaSecp256k1 => {
                "ECDSA, RFC 6979, low-S, over a 32-byte digest (Ethereum, Bitcoin legacy/SegWit v0)"
            }
            SignScheme::Bip340 => "BIP-340 Schnorr over a 32-byte message, x-only key, untweaked",
            SignScheme::Bip340Taproot => {
                "BIP-340 Schnorr for a Taproot key-path spend (BIP-86 output key) over a 32-byte sighash"
            }
            SignScheme::Ed25519 => {
                "Ed25519 (RFC 8032) over the whole message (Solana, Aptos, Sui...)"
            }
            SignScheme::StarkEcdsa => {
                "Starknet ECDSA over a field element below 2^251 (a transaction hash)"
            }
        };
        Some(clap::builder::PossibleValue::new(self.as_str()).help(help))
    }
}

impl fmt::Display for SignScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why nothing was signed. No variant carries secret material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The scheme name is not one of [`SignScheme::ALL`].
    #[error(
        "unknown signature scheme {name:?} (known: ecdsa-secp256k1, bip340, bip340-taproot, ed25519, stark-ecdsa)"
    )]
    UnknownScheme {
        /// The name given.
        name: String,
    },
    /// The scheme signs with another curve's keys than the key given.
    #[error("scheme {scheme} signs with {expected} keys, but this key is on {actual}")]
    CurveMismatch {
        /// The scheme asked for.
        scheme: SignScheme,
        /// The curve the scheme needs.
        expected: Curve,
        /// The curve of the key (or of its public key, if they differ).
        actual: Curve,
    },
    /// The private key does not generate the export's public key.
    #[error("the private key does not match the public key {public_key}")]
    KeyMismatch {
        /// The export's public key (hex).
        public_key: String,
    },
    /// A digest scheme was given a message that is not 32 bytes.
    #[error("scheme {scheme} signs a 32-byte digest, but the message is {len} bytes")]
    DigestLength {
        /// The scheme asked for.
        scheme: SignScheme,
        /// The message length given.
        len: usize,
    },
    /// The stark message is empty or longer than a field element.
    #[error(
        "scheme stark-ecdsa signs a field element of 1 to 32 bytes, but the message is {len} bytes"
    )]
    StarkMessageLength {
        /// The message length given.
        len: usize,
    },
    /// The stark message is a number of 2^251 or more.
    #[error("scheme stark-ecdsa signs a field element below 2^251, but the message is 0x{message}")]
    StarkMessageRange {
        /// The message, 32 bytes hex (it is public).
        message: String,
    },
    /// A recovery id was asked for a scheme that has none.
    #[error("a recovery id exists only for ecdsa-secp256k1, not for {scheme}")]
    RecoveryUnsupported {
        /// The scheme asked for.
        scheme: SignScheme,
    },
    /// The signing library refused (a probability-zero event such as a zero nonce or an
    /// out-of-range Taproot tweak).
    #[error("{scheme} signing failed: {reason}")]
    Signing {
        /// The scheme asked for.
        scheme: SignScheme,
        /// What the library reported.
        reason: &'static str,
    },
    /// The new signature did not verify against the export's public key; it was discarded.
    #[error(
        "the {scheme} signature made does not verify against the public key {public_key}; it was discarded"
    )]
    SelfCheck {
        /// The scheme asked for.
        scheme: SignScheme,
        /// The export's public key (hex).
        public_key: String,
    },
}

/// A 64-byte signature in its scheme's standard encoding, with the ECDSA recovery id when
/// one was asked for.
#[derive(Clone, PartialEq, Eq)]
pub struct Signature {
    bytes: [u8; 64],
    recovery_id: Option<u8>,
}

impl Signature {
    /// The signature: `r ‖ s` (ECDSA, stark), `R.x ‖ s` (BIP-340), `R ‖ S` (Ed25519).
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.bytes
    }

    /// The ECDSA recovery id (0–3), when `recoverable` was asked for.
    pub fn recovery_id(&self) -> Option<u8> {
        self.recovery_id
    }

    /// Lowercase hex of [`Signature::as_bytes`].
    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Signature({}, recovery_id: {:?})",
            self.to_hex(),
            self.recovery_id
        )
    }
}

/// What the signature covers, for display and for comparison with the online side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageDigest {
    /// The 32 bytes that were signed as given (ECDSA and BIP-340 digests, the stark field
    /// element left-padded to 32 bytes).
    Signed([u8; 32]),
    /// SHA-256 of the message (Ed25519 signs the whole message, which may be long); shown so
    /// the user can check it is the message they meant.
    Sha256([u8; 32]),
}

/// A signature that has been checked against the export's public key.
#[derive(Debug, Clone)]
pub struct SignedMessage {
    scheme: SignScheme,
    public_key: PublicKey,
    verifying_key: Vec<u8>,
    digest: MessageDigest,
    signature: Signature,
}

impl SignedMessage {
    /// The scheme.
    pub fn scheme(&self) -> SignScheme {
        self.scheme
    }

    /// The export's public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The key the signature verifies under, in the scheme's own encoding: the export's
    /// SEC1 key (ecdsa-secp256k1), its x-only key (bip340), the tweaked Taproot output key
    /// (bip340-taproot), the 32-byte key (ed25519), the x coordinate (stark-ecdsa).
    pub fn verifying_key(&self) -> &[u8] {
        &self.verifying_key
    }

    /// What the signature covers.
    pub fn digest(&self) -> &MessageDigest {
        &self.digest
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }
}

/// The public facts of a signature, camelCase for `--json` (docs/formats.md):
/// `scheme`, `publicKey`, `verifyingKey`, `signedDigest` (digest schemes only: the 32 bytes
/// signed), `signature` and, when asked for, `recoveryId`.
impl Serialize for SignedMessage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Json<'a> {
            scheme: &'a str,
            public_key: String,
            verifying_key: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            signed_digest: Option<String>,
            signature: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            recovery_id: Option<u8>,
        }
        Json {
            scheme: self.scheme.as_str(),
            public_key: self.public_key.to_hex(),
            verifying_key: hex::encode(&self.verifying_key),
            signed_digest: match self.digest {
                MessageDigest::Signed(bytes) => Some(hex::encode(bytes)),
                MessageDigest::Sha256(_) => None,
            },
            signature: self.signature.to_hex(),
            recovery_id: self.signature.recovery_id,
        }
        .serialize(serializer)
    }
}

/// What a scheme module returns: a signature already verified against the export's key.
struct Made {
    signature: Signature,
    digest: MessageDigest,
    verifying_key: Vec<u8>,
}

fn key_mismatch(public_key: &PublicKey) -> SignError {
    SignError::KeyMismatch {
        public_key: public_key.to_hex(),
    }
}

fn self_check(scheme: SignScheme, public_key: &PublicKey) -> SignError {
    SignError::SelfCheck {
        scheme,
        public_key: public_key.to_hex(),
    }
}

/// The 32-byte digest a digest scheme signs.
fn digest32(scheme: SignScheme, message: &[u8]) -> Result<[u8; 32], SignError> {
    message.try_into().map_err(|_| SignError::DigestLength {
        scheme,
        len: message.len(),
    })
}

#[cfg(test)]
pub(crate) mod test_keys {
    //! Key pairs for the scheme tests: Dfns reference exports and keys made from scalars.

    use keyexport_shared::curve::{PrivateKey, PublicKey};
    use keyexport_shared::scheme::Curve;

    /// The reference vectors (Dfns' own implementation), from the repository's copy.
    const REFERENCE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/tests/vectors/reference.json"
    ));

    /// Every successful reference export of `curve`, as (private key, public key).
    pub(crate) fn reference(curve: Curve) -> Vec<(PrivateKey, PublicKey)> {
        let vectors: serde_json::Value = serde_json::from_str(REFERENCE).unwrap();
        vectors
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["response"]["curve"] == curve.as_str())
            .filter_map(|v| {
                let scalar = v["expected"]["privateKey"].as_str()?;
                let public = hex::decode(v["response"]["publicKey"].as_str()?).unwrap();
                let public = PublicKey::from_bytes(curve, &public).unwrap();
                let scalar: [u8; 32] = hex::decode(scalar).unwrap().try_into().unwrap();
                let key = PrivateKey::from_be_bytes_verified(&public, &scalar).unwrap();
                Some((key, public))
            })
            .collect()
    }

    /// The key pair of `scalar`, given the public key encoding the signing library derives.
    pub(crate) fn pair(public: PublicKey, scalar: &[u8; 32]) -> (PrivateKey, PublicKey) {
        let key = PrivateKey::from_be_bytes_verified(&public, scalar).unwrap();
        (key, public)
    }
}

#[cfg(test)]
mod tests {
    use super::test_keys::reference;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn scheme_names_round_trip() {
        for scheme in SignScheme::ALL {
            assert_eq!(scheme.to_string().parse::<SignScheme>().unwrap(), scheme);
        }
        assert!(matches!(
            "ecdsa".parse::<SignScheme>(),
            Err(SignError::UnknownScheme { name }) if name == "ecdsa"
        ));
    }

    #[test]
    fn every_reference_export_signs_with_every_scheme_of_its_curve() {
        for curve in Curve::ALL {
            let pairs = reference(curve);
            assert!(pairs.len() >= 2, "reference vectors for {curve}");
            for (key, public) in pairs {
                for scheme in SignScheme::ALL.into_iter().filter(|s| s.curve() == curve) {
                    let signed = sign(&key, &public, scheme, &[0x05; 32], false).unwrap();
                    assert_eq!(signed.scheme(), scheme);
                    assert_eq!(signed.public_key(), &public);
                }
            }
        }
    }

    #[test]
    fn a_scheme_of_another_curve_is_refused() {
        let (key, public) = reference(Curve::Ed25519).remove(0);
        for scheme in [SignScheme::EcdsaSecp256k1, SignScheme::StarkEcdsa] {
            let err = sign(&key, &public, scheme, &[1; 32], false).unwrap_err();
            assert!(
                matches!(
                    err,
                    SignError::CurveMismatch {
                        actual: Curve::Ed25519,
                        ..
                    }
                ),
                "{err}"
            );
        }
        let (_, secp_public) = reference(Curve::Secp256k1).remove(0);
        let err = sign(&key, &secp_public, SignScheme::Ed25519, b"m", false).unwrap_err();
        assert!(matches!(
            err,
            SignError::CurveMismatch {
                actual: Curve::Secp256k1,
                ..
            }
        ));
    }

    #[test]
    fn a_key_that_does_not_match_the_public_key_is_refused_on_every_curve() {
        for curve in Curve::ALL {
            let mut pairs = reference(curve);
            let (_, other_public) = pairs.pop().unwrap();
            let (key, _) = pairs.remove(0);
            for scheme in SignScheme::ALL.into_iter().filter(|s| s.curve() == curve) {
                let err = sign(&key, &other_public, scheme, &[7; 32], false).unwrap_err();
                assert!(
                    matches!(&err, SignError::KeyMismatch { public_key } if *public_key == other_public.to_hex()),
                    "{scheme}: {err}"
                );
            }
        }
    }

    #[test]
    fn recovery_is_refused_for_schemes_without_one() {
        let (key, public) = reference(Curve::Secp256k1).remove(0);
        let err = sign(&key, &public, SignScheme::Bip340, &[1; 32], true).unwrap_err();
        assert!(matches!(
            err,
            SignError::RecoveryUnsupported {
                scheme: SignScheme::Bip340
            }
        ));
    }

    #[test]
    fn json_output_names_every_public_field() {
        let (key, public) = reference(Curve::Secp256k1).remove(0);
        let signed = sign(&key, &public, SignScheme::EcdsaSecp256k1, &[9; 32], true).unwrap();
        let json = serde_json::to_value(&signed).unwrap();
        assert_eq!(json["scheme"], "ecdsa-secp256k1");
        assert_eq!(json["publicKey"], public.to_hex());
        assert_eq!(json["verifyingKey"], public.to_hex());
        assert_eq!(json["signedDigest"], hex::encode([9u8; 32]));
        assert_eq!(json["signature"], signed.signature().to_hex());
        assert_eq!(
            json["recoveryId"],
            u64::from(signed.signature().recovery_id().unwrap())
        );
        assert!(!json.to_string().contains(key.to_hex().as_str()));
        let (key, public) = reference(Curve::Ed25519).remove(0);
        let signed = sign(&key, &public, SignScheme::Ed25519, b"any length", false).unwrap();
        let json = serde_json::to_value(&signed).unwrap();
        assert!(json.get("signedDigest").is_none(), "{json}");
        assert!(json.get("recoveryId").is_none(), "{json}");
    }

    #[test]
    fn check_message_agrees_with_sign() {
        for curve in Curve::ALL {
            let (key, public) = reference(curve).remove(0);
            for scheme in SignScheme::ALL.into_iter().filter(|s| s.curve() == curve) {
                for message in [
                    &[][..],
                    &[1; 31],
                    &[1; 32],
                    &[1; 33],
                    &[0x08; 32],
                    &[0x07; 2],
                ] {
                    let checked = check_message(scheme, message);
                    let signed = sign(&key, &public, scheme, message, false);
                    assert_eq!(
                        checked.is_ok(),
                        signed.is_ok(),
                        "{scheme}, {} bytes: {checked:?}",
                        message.len()
                    );
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        #[test]
        fn signing_is_deterministic_for_every_scheme(message in proptest::array::uniform32(any::<u8>())) {
            // The top bits cleared keep the message a valid stark field element.
            let mut message = message;
            message[0] &= 0x07;
            for curve in Curve::ALL {
                let (key, public) = reference(curve).remove(0);
                for scheme in SignScheme::ALL.into_iter().filter(|s| s.curve() == curve) {
                    let first = sign(&key, &public, scheme, &message, false).unwrap();
                    let second = sign(&key, &public, scheme, &message, false).unwrap();
                    prop_assert_eq!(first.signature(), second.signature());
                }
            }
        }
    }
}
