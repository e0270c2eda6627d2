//! The ceremony key pair: the secp256k1 decryption key the offline side creates and the
//! encryption key Dfns encrypts every share to (spec §2).
//!
//! Dfns serializations, both with a leading format-version byte `0x01`:
//! - decryption key: `0x01 || d` (32 bytes big-endian), written as 66 hex characters;
//! - encryption key: `0x01 || compressed d·G` (33 bytes), written as padded base64.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use rand_core::{CryptoRngCore, OsRng};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// The format-version byte in front of both Dfns key serializations.
const FORMAT_VERSION: u8 = 0x01;

/// The secret scalar `d` that opens every share of the export.
///
/// Zeroized on drop (`k256::SecretKey`); `Debug` prints only the public fingerprint.
#[derive(Clone)]
pub struct DecryptionKey(k256::SecretKey);

impl DecryptionKey {
    /// A fresh key from the operating system's random number generator.
    pub fn generate() -> DecryptionKey {
        DecryptionKey::generate_with(&mut OsRng)
    }

    /// A fresh key from the given cryptographic RNG (tests use a seeded one).
    pub fn generate_with(rng: &mut impl CryptoRngCore) -> DecryptionKey {
        DecryptionKey(k256::SecretKey::random(rng))
    }

    /// Parses the Dfns serialization `01<64 hex>`. Surrounding white space is ignored.
    /// Errors give positions and lengths, never the key's characters.
    pub fn from_dfns_hex(text: &str) -> Result<DecryptionKey> {
        let text = text.trim();
        if text.len() != 66 {
            return Err(Error::DecryptionKey {
                reason: format!(
                    "expected 66 hexadecimal characters (01 followed by 64), found {} characters",
                    text.chars().count()
                ),
            });
        }
        let mut bytes = Zeroizing::new([0u8; 33]);
        if let Some(position) = text.bytes().position(|b| !b.is_ascii_hexdigit()) {
            return Err(Error::DecryptionKey {
                reason: format!("character {} is not hexadecimal", position + 1),
            });
        }
        hex::decode_to_slice(text, bytes.as_mut_slice()).map_err(|_| Error::DecryptionKey {
            reason: "not hexadecimal".into(),
        })?;
        DecryptionKey::from_dfns_bytes(&bytes)
    }

    /// Parses the 33-byte Dfns serialization `0x01 || d`.
    pub fn from_dfns_bytes(bytes: &[u8; 33]) -> Result<DecryptionKey> {
        if bytes[0] != FORMAT_VERSION {
            return Err(Error::DecryptionKey {
                reason: format!("format version byte is {:#04x}, expected 0x01", bytes[0]),
            });
        }
        k256::SecretKey::from_slice(&bytes[1..])
            .map(DecryptionKey)
            .map_err(|_| Error::DecryptionKey {
                reason: "the scalar is zero or not below the secp256k1 group order".into(),
            })
    }

    /// The Dfns serialization `01<64 hex>`, in memory that is wiped after use. The hex is
    /// written straight into the returned buffer (66 characters fit its capacity), so the
    /// key never passes through an unwiped temporary string.
    pub fn to_dfns_hex(&self) -> Zeroizing<String> {
        let scalar = Zeroizing::new(self.0.to_bytes());
        let mut digits = Zeroizing::new([0u8; 64]);
        let mut out = Zeroizing::new(String::with_capacity(66));
        out.push_str("01");
        hex::encode_to_slice(scalar.as_slice(), digits.as_mut_slice())
            .expect("32 bytes are 64 hex digits");
        // Hex digits are ASCII.
        out.extend(digits.iter().map(|&d| char::from(d)));
        out
    }

    /// The matching encryption key, `d·G`.
    pub fn encryption_key(&self) -> EncryptionKey {
        EncryptionKey(self.0.public_key())
    }

    /// The scalar, for the ECIES computation in this crate.
    pub(crate) fn scalar(&self) -> k256::NonZeroScalar {
        self.0.to_nonzero_scalar()
    }
}

impl fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DecryptionKey(<secret>, encryption key fingerprint {})",
            self.encryption_key().fingerprint()
        )
    }
}

/// The public key `d·G` that Dfns encrypts every share to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EncryptionKey(k256::PublicKey);

impl EncryptionKey {
    /// Parses the Dfns serialization: padded standard base64 of `0x01 || compressed point`.
    pub fn from_base64(text: &str) -> Result<EncryptionKey> {
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|e| Error::EncryptionKey {
                reason: format!("not standard padded base64 ({e})"),
            })?;
        EncryptionKey::from_dfns_bytes(&bytes)
    }

    /// Parses the 34-byte Dfns serialization `0x01 || compressed point`.
    pub fn from_dfns_bytes(bytes: &[u8]) -> Result<EncryptionKey> {
        if bytes.len() != 34 {
            return Err(Error::EncryptionKey {
                reason: format!(
                    "expected 34 bytes (0x01 then a compressed point), found {}",
                    bytes.len()
                ),
            });
        }
        if bytes[0] != FORMAT_VERSION {
            return Err(Error::EncryptionKey {
                reason: format!("format version byte is {:#04x}, expected 0x01", bytes[0]),
            });
        }
        if !matches!(bytes[1], 0x02 | 0x03) {
            return Err(Error::EncryptionKey {
                reason: "the point is not in compressed form".into(),
            });
        }
        k256::PublicKey::from_sec1_bytes(&bytes[1..])
            .map(EncryptionKey)
            .map_err(|_| Error::EncryptionKey {
                reason: "not a point on secp256k1".into(),
            })
    }

    /// The 34-byte Dfns serialization.
    pub fn to_dfns_bytes(&self) -> [u8; 34] {
        let mut out = [0u8; 34];
        out[0] = FORMAT_VERSION;
        out[1..].copy_from_slice(self.0.to_encoded_point(true).as_bytes());
        out
    }

    /// The Dfns serialization as padded standard base64 (48 characters).
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.to_dfns_bytes())
    }

    /// A short code two people can read aloud to check they see the same key.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.to_dfns_bytes())
    }

    /// The point, for the ECIES computation in this crate.
    pub(crate) fn point(&self) -> k256::ProjectivePoint {
        self.0.to_projective()
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptionKey({})", self.to_base64())
    }
}

impl Serialize for EncryptionKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for EncryptionKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        EncryptionKey::from_base64(&text).map_err(serde::de::Error::custom)
    }
}

/// A human-comparable digest of an encryption key: the first 100 bits of
/// SHA-256(`"keyexport fingerprint v1" || 0x01 || point`), as five groups of four
/// Crockford base32 characters (no I, L, O, U), e.g. `7QF2-M9XA-K3DE-PRT6-W0BC`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    const DOMAIN: &'static [u8] = b"keyexport fingerprint v1";

    fn of(bytes: &[u8]) -> Fingerprint {
        let digest = Sha256::new()
            .chain_update(Self::DOMAIN)
            .chain_update(bytes)
            .finalize();
        Fingerprint(crockford_groups(&digest, 5))
    }

    /// The grouped text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Crockford base32 (no I, L, O, U, so nothing reads ambiguously aloud).
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The first `groups × 20` bits of `bytes` as groups of four Crockford base32
/// characters joined by `-`. `bytes` must hold at least `groups × 20` bits.
pub(crate) fn crockford_groups(bytes: &[u8], groups: usize) -> String {
    let symbols = groups * 4;
    let mut out = String::with_capacity(symbols + groups);
    for i in 0..symbols {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        let bit = i * 5;
        let window = (u16::from(bytes[bit / 8]) << 8)
            | u16::from(bytes.get(bit / 8 + 1).copied().unwrap_or(0));
        let symbol = (window >> (11 - bit % 8)) & 0x1f;
        out.push(char::from(CROCKFORD[usize::from(symbol)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    #[test]
    fn decryption_key_round_trips_and_matches_vector_encryption_key() {
        // From shared/tests/vectors/reference.json, first vector.
        let key = DecryptionKey::from_dfns_hex(
            "019a3744504560639ec670b7a17d492b273e077b0a96bef58ba7760779e544546e",
        )
        .unwrap();
        assert_eq!(
            key.encryption_key().to_base64(),
            "AQOaIc+maAZ6/Zwpc2ZzssMMbBnVHa4IWYHyMqKHRe3i/g=="
        );
        assert_eq!(
            key.to_dfns_hex().as_str(),
            "019a3744504560639ec670b7a17d492b273e077b0a96bef58ba7760779e544546e"
        );
    }

    #[test]
    fn malformed_decryption_keys_are_refused_without_echoing_them() {
        let cases = [
            ("", "found 0 characters"),
            (
                "029a3744504560639ec670b7a17d492b273e077b0a96bef58ba7760779e544546e",
                "version byte",
            ),
            (
                "019a3744504560639ec670b7a17d492b273e077b0a96bef58ba7760779e54454zz",
                "character 65",
            ),
            (
                "010000000000000000000000000000000000000000000000000000000000000000",
                "zero",
            ),
            (
                "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
                "order",
            ),
        ];
        for (text, expected) in cases {
            let err = DecryptionKey::from_dfns_hex(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
            assert!(!err.contains("9a3744"), "{err}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = DecryptionKey::from_dfns_hex(
            "019a3744504560639ec670b7a17d492b273e077b0a96bef58ba7760779e544546e",
        )
        .unwrap();
        let debug = format!("{key:?}");
        assert!(!debug.to_lowercase().contains("9a3744"), "{debug}");
    }

    #[test]
    fn encryption_key_rejects_other_versions_and_lengths() {
        let good = DecryptionKey::generate().encryption_key().to_dfns_bytes();
        let mut bad = good;
        bad[0] = 2;
        assert!(EncryptionKey::from_dfns_bytes(&bad).is_err());
        assert!(EncryptionKey::from_dfns_bytes(&good[..33]).is_err());
        assert!(EncryptionKey::from_base64("not base64!").is_err());
    }

    #[test]
    fn fingerprint_shape() {
        let fp = DecryptionKey::generate().encryption_key().fingerprint();
        let text = fp.to_string();
        assert_eq!(text.len(), 24);
        assert_eq!(text.split('-').count(), 5);
        assert!(
            text.chars()
                .all(|c| c == '-' || CROCKFORD.contains(&(c as u8)))
        );
        assert_eq!(crockford_groups(&[0xff; 13], 5), "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ");
        assert_eq!(
            crockford_groups(&[0x08, 0x42, 0x10, 0x84, 0x21], 2),
            "1111-1111"
        );
    }

    proptest! {
        #[test]
        fn keys_round_trip(seed in any::<u64>()) {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let key = DecryptionKey::generate_with(&mut rng);
            let again = DecryptionKey::from_dfns_hex(&key.to_dfns_hex()).unwrap();
            prop_assert_eq!(again.encryption_key(), key.encryption_key());
            let enc = key.encryption_key();
            prop_assert_eq!(EncryptionKey::from_base64(&enc.to_base64()).unwrap(), enc);
            prop_assert_eq!(enc.to_base64().len(), 48);
        }

        #[test]
        fn random_text_never_panics(text in ".{0,80}") {
            let _ = DecryptionKey::from_dfns_hex(&text);
            let _ = EncryptionKey::from_base64(&text);
        }
    }
}
