//! Encryption of one key share to the ceremony key (spec §3).
//!
//! `encryptedKeyShare = AES-256-GCM(ciphertext || tag) || E`, where `E` is a fresh
//! 33-byte compressed secp256k1 ephemeral point placed at the end. The AES key is
//! `HKDF-SHA256(salt = "DFNS_KEY_IMPORT", ikm = compressed(d·E), info = "ENCRYPTION_KEY")`
//! and the nonce is twelve zero bytes, which is safe only because every share has its
//! own ephemeral key.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use rand_core::CryptoRngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::keys::{DecryptionKey, EncryptionKey};

const HKDF_SALT: &[u8] = b"DFNS_KEY_IMPORT";
const HKDF_INFO: &[u8] = b"ENCRYPTION_KEY";
const TAG_LEN: usize = 16;
const POINT_LEN: usize = 33;

/// Why a share could not be decrypted. Deliberately coarse: all three mean "wrong
/// decryption key, or a corrupted or tampered share".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptFailure {
    /// Shorter than a tag and an ephemeral point.
    #[error("too short to be an encrypted share")]
    TooShort,
    /// The trailing 33 bytes are not a secp256k1 point.
    #[error("the ephemeral key is not a secp256k1 point")]
    BadEphemeralKey,
    /// AES-GCM authentication failed.
    #[error("authentication failed")]
    Authentication,
}

fn share_cipher(shared_point: &k256::ProjectivePoint) -> Aes256Gcm {
    let ikm = Zeroizing::new(shared_point.to_affine().to_encoded_point(true));
    let hkdf = Hkdf::<Sha256>::new(Some(HKDF_SALT), ikm.as_bytes());
    let mut key = Zeroizing::new([0u8; 32]);
    hkdf.expand(HKDF_INFO, key.as_mut_slice())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    Aes256Gcm::new(key.as_slice().into())
}

/// Decrypts one `encryptedKeyShare` (already base64-decoded).
pub fn decrypt_share(
    key: &DecryptionKey,
    encrypted: &[u8],
) -> Result<Zeroizing<Vec<u8>>, DecryptFailure> {
    if encrypted.len() < TAG_LEN + POINT_LEN {
        return Err(DecryptFailure::TooShort);
    }
    let (sealed, ephemeral) = encrypted.split_at(encrypted.len() - POINT_LEN);
    let ephemeral =
        k256::PublicKey::from_sec1_bytes(ephemeral).map_err(|_| DecryptFailure::BadEphemeralKey)?;
    let shared = ephemeral.to_projective() * *key.scalar();
    share_cipher(&shared)
        .decrypt(Nonce::from_slice(&[0u8; 12]), sealed)
        .map(Zeroizing::new)
        .map_err(|_| DecryptFailure::Authentication)
}

/// Encrypts one share plaintext to `key` with a fresh ephemeral key, as Dfns does.
/// Used by the sandbox and the tests.
pub fn encrypt_share(
    key: &EncryptionKey,
    plaintext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Vec<u8> {
    let ephemeral = k256::NonZeroScalar::random(rng);
    let ephemeral_point = (k256::ProjectivePoint::GENERATOR * *ephemeral).to_affine();
    let shared = key.point() * *ephemeral;
    let mut out = share_cipher(&shared)
        .encrypt(Nonce::from_slice(&[0u8; 12]), plaintext)
        .expect("AES-GCM encryption of a short in-memory buffer cannot fail");
    out.extend_from_slice(ephemeral_point.to_encoded_point(true).as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    proptest! {
        #[test]
        fn encrypt_then_decrypt(seed in any::<u64>(), plaintext in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let key = DecryptionKey::generate_with(&mut rng);
            let sealed = encrypt_share(&key.encryption_key(), &plaintext, &mut rng);
            prop_assert_eq!(sealed.len(), plaintext.len() + TAG_LEN + POINT_LEN);
            let opened = decrypt_share(&key, &sealed).unwrap();
            prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
        }

        #[test]
        fn any_flipped_bit_fails(seed in any::<u64>(), bit in 0usize..(50 * 8)) {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let key = DecryptionKey::generate_with(&mut rng);
            let mut sealed = encrypt_share(&key.encryption_key(), b"x", &mut rng);
            let bit = bit % (sealed.len() * 8);
            sealed[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(decrypt_share(&key, &sealed).is_err());
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let key = DecryptionKey::generate();
            prop_assert!(decrypt_share(&key, &bytes).is_err());
        }
    }

    #[test]
    fn wrong_key_fails_authentication() {
        let key = DecryptionKey::generate();
        let other = DecryptionKey::generate();
        let sealed = encrypt_share(&key.encryption_key(), b"share", &mut rand_core::OsRng);
        assert_eq!(
            decrypt_share(&other, &sealed).unwrap_err(),
            DecryptFailure::Authentication
        );
    }
}
