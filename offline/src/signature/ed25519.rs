//! Ed25519 (RFC 8032 PureEdDSA) signing from the expanded secret scalar a Dfns export gives.
//!
//! RFC 8032 signs with `(s, prefix)` derived from a seed; an export has only `s`. The nonce
//! prefix is therefore derived from `s` with a domain-separated SHA-512 (the module docs of
//! `sign` give the formula and why it is sound), and ed25519-dalek's `hazmat::raw_sign` signs
//! with the pair. The verifying key handed to `raw_sign` is derived from the same scalar and
//! checked equal to the export's key first: a mismatched key there is what leaks a secret in
//! the "double public key" attack on raw Ed25519 signing APIs.

use curve25519_dalek::Scalar;
use ed25519_dalek::VerifyingKey;
use ed25519_dalek::hazmat::{ExpandedSecretKey, raw_sign};
use keyexport_shared::curve::{PrivateKey, PublicKey};
use sha2::{Digest, Sha256, Sha512};
use zeroize::Zeroizing;

use super::{Made, MessageDigest, SignError, SignScheme, Signature, key_mismatch, self_check};

/// Domain separator of the nonce prefix derivation; `v1` names this derivation.
const NONCE_PREFIX_DOMAIN: &[u8] = b"keyexport ed25519 nonce prefix v1";

/// Signs the whole `message` (any length).
pub(super) fn sign(
    key: &PrivateKey,
    public_key: &PublicKey,
    message: &[u8],
) -> Result<Made, SignError> {
    let expanded = expanded_secret_key(key).ok_or_else(|| key_mismatch(public_key))?;
    let derived = VerifyingKey::from(&expanded);
    let export_bytes: &[u8; 32] = public_key
        .as_bytes()
        .try_into()
        .map_err(|_| key_mismatch(public_key))?;
    let expected = VerifyingKey::from_bytes(export_bytes).map_err(|_| key_mismatch(public_key))?;
    if derived != expected {
        return Err(key_mismatch(public_key));
    }
    let signature = raw_sign::<Sha512>(&expanded, message, &derived);
    expected
        .verify_strict(message, &signature)
        .map_err(|_| self_check(SignScheme::Ed25519, public_key))?;
    Ok(Made {
        signature: Signature {
            bytes: signature.to_bytes(),
            recovery_id: None,
        },
        digest: MessageDigest::Sha256(Sha256::digest(message).into()),
        verifying_key: export_bytes.to_vec(),
    })
}

/// `(s, SHA-512(NONCE_PREFIX_DOMAIN ‖ s_le)[..32])`, or `None` if the scalar is not
/// canonical (it always is for a key the shared library built).
fn expanded_secret_key(key: &PrivateKey) -> Option<ExpandedSecretKey> {
    let mut scalar_le = Zeroizing::new(*key.to_be_bytes());
    scalar_le.reverse();
    let scalar = Option::<Scalar>::from(Scalar::from_canonical_bytes(*scalar_le))?;
    let hash = Zeroizing::new(<[u8; 64]>::from(
        Sha512::new()
            .chain_update(NONCE_PREFIX_DOMAIN)
            .chain_update(scalar_le.as_slice())
            .finalize(),
    ));
    let mut hash_prefix = [0u8; 32];
    hash_prefix.copy_from_slice(&hash[..32]);
    Some(ExpandedSecretKey {
        scalar,
        hash_prefix,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_keys::{pair, reference};
    use super::super::{SignedMessage, sign as sign_any};
    use super::*;
    use curve25519_dalek::EdwardsPoint;
    use ed25519_dalek::SigningKey;
    use keyexport_shared::scheme::Curve;
    use proptest::prelude::*;

    /// The key pair of an expanded scalar given little-endian.
    fn ed_pair(scalar_le: [u8; 32]) -> (PrivateKey, PublicKey) {
        let scalar = Scalar::from_canonical_bytes(scalar_le).unwrap();
        let public = EdwardsPoint::mul_base(&scalar).compress().to_bytes();
        let mut be = scalar_le;
        be.reverse();
        pair(PublicKey::from_bytes(Curve::Ed25519, &public).unwrap(), &be)
    }

    fn ed_sign(pair: &(PrivateKey, PublicKey), message: &[u8]) -> SignedMessage {
        sign_any(&pair.0, &pair.1, SignScheme::Ed25519, message, false).unwrap()
    }

    /// The signature recomputed from RFC 8032 §5.1.6 with curve25519-dalek alone and the
    /// documented prefix derivation: pins the derivation and the encoding independently of
    /// ed25519-dalek's signer.
    fn rfc8032_by_hand(scalar_le: [u8; 32], message: &[u8]) -> [u8; 64] {
        let s = Scalar::from_canonical_bytes(scalar_le).unwrap();
        let a = EdwardsPoint::mul_base(&s).compress();
        let mut prefix_input = b"keyexport ed25519 nonce prefix v1".to_vec();
        prefix_input.extend_from_slice(&scalar_le);
        let prefix = &Sha512::digest(&prefix_input)[..32];
        let r = Scalar::from_bytes_mod_order_wide(
            &Sha512::new()
                .chain_update(prefix)
                .chain_update(message)
                .finalize()
                .into(),
        );
        let big_r = EdwardsPoint::mul_base(&r).compress();
        let k = Scalar::from_bytes_mod_order_wide(
            &Sha512::new()
                .chain_update(big_r.as_bytes())
                .chain_update(a.as_bytes())
                .chain_update(message)
                .finalize()
                .into(),
        );
        let big_s = r + k * s;
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(big_r.as_bytes());
        out[32..].copy_from_slice(big_s.as_bytes());
        out
    }

    #[test]
    fn signatures_follow_the_documented_nonce_derivation() {
        for (key, public) in reference(Curve::Ed25519) {
            let mut scalar_le = *key.to_be_bytes();
            scalar_le.reverse();
            for message in [&b""[..], b"abc", &[0xa5; 1000]] {
                let signed = ed_sign(&(key.clone(), public.clone()), message);
                assert_eq!(
                    signed.signature().as_bytes(),
                    &rfc8032_by_hand(scalar_le, message)
                );
                assert_eq!(
                    signed.digest(),
                    &MessageDigest::Sha256(Sha256::digest(message).into())
                );
            }
        }
    }

    /// RFC 8032 §7.1 TEST 1: the expanded scalar of its seed signs for its public key (the
    /// signature differs from the RFC's, whose nonce prefix comes from the seed, but
    /// verifies under the RFC's key).
    #[test]
    fn the_expanded_scalar_of_an_rfc8032_seed_signs_for_its_public_key() {
        let seed = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap();
        let rfc_public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
        let seed: [u8; 32] = seed.try_into().unwrap();
        let expanded = ExpandedSecretKey::from(&seed);
        let pair = ed_pair(expanded.scalar.to_bytes());
        assert_eq!(pair.1.to_hex(), rfc_public);
        let signed = ed_sign(&pair, b"");
        let verifying = SigningKey::from_bytes(&seed).verifying_key();
        let signature = ed25519_dalek::Signature::from_bytes(signed.signature().as_bytes());
        verifying.verify_strict(b"", &signature).unwrap();
    }

    #[test]
    fn a_key_of_another_public_key_is_refused() {
        let mut pairs = reference(Curve::Ed25519);
        let (_, other) = pairs.pop().unwrap();
        let (key, _) = pairs.remove(0);
        assert!(matches!(
            sign(&key, &other, b"m"),
            Err(SignError::KeyMismatch { .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn random_scalars_sign_and_verify_strictly(
            wide in proptest::collection::vec(any::<u8>(), 64),
            message in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let wide: [u8; 64] = wide.try_into().unwrap();
            let scalar = Scalar::from_bytes_mod_order_wide(&wide);
            prop_assume!(scalar != Scalar::ZERO);
            let pair = ed_pair(scalar.to_bytes());
            let signed = ed_sign(&pair, &message);
            let verifying = VerifyingKey::from_bytes(pair.1.as_bytes().try_into().unwrap()).unwrap();
            let signature = ed25519_dalek::Signature::from_bytes(signed.signature().as_bytes());
            prop_assert!(verifying.verify_strict(&message, &signature).is_ok());
            let again = ed_sign(&pair, &message);
            prop_assert_eq!(signed.signature(), again.signature());
        }
    }
}
