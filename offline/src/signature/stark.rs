//! Starknet ECDSA signing through starknet-crypto, as Starknet tooling signs a transaction
//! hash: RFC 6979 nonce as cairo-lang derives it, seed bumped on the rare invalid nonce.
//!
//! Starknet's public key is the x coordinate of the point. The export's key is the 33-byte
//! compressed point, so its last 32 bytes are compared with starknet-crypto's
//! `get_public_key`, and verification uses that x; the parity byte is checked by the shared
//! library's full-point comparison in `signature::sign`.

use keyexport_shared::curve::{PrivateKey, PublicKey};
use starknet_crypto::Felt;

use super::{Made, MessageDigest, SignError, SignScheme, Signature, key_mismatch, self_check};

const SCHEME: SignScheme = SignScheme::StarkEcdsa;

/// How many RFC 6979 seeds to try. Each fails with probability below 2^-58 (`r` or `s` at or
/// above 2^251), so a second is already never needed in practice; the bound only keeps the
/// loop finite.
const MAX_SEEDS: u64 = 16;

/// Signs a field element given as 1 to 32 big-endian bytes, below 2^251.
pub(super) fn sign(
    key: &PrivateKey,
    public_key: &PublicKey,
    message: &[u8],
) -> Result<Made, SignError> {
    let padded = message_bytes(message)?;
    let message = Felt::from_bytes_be(&padded);
    let secret = Felt::from_bytes_be(key.to_be_bytes());
    let mut x = [0u8; 32];
    x.copy_from_slice(
        public_key
            .as_bytes()
            .get(1..33)
            .ok_or_else(|| key_mismatch(public_key))?,
    );
    let expected = Felt::from_bytes_be(&x);
    if starknet_crypto::get_public_key(&secret) != expected {
        return Err(key_mismatch(public_key));
    }
    let (r, s) = sign_felt(&secret, &message)?;
    match starknet_crypto::verify(&expected, &message, &r, &s) {
        Ok(true) => {}
        _ => return Err(self_check(SCHEME, public_key)),
    }
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(&r.to_bytes_be());
    bytes[32..].copy_from_slice(&s.to_bytes_be());
    Ok(Made {
        signature: Signature {
            bytes,
            recovery_id: None,
        },
        digest: MessageDigest::Signed(padded),
        verifying_key: x.to_vec(),
    })
}

/// starknet-rs `ecdsa_sign` (ported there from cairo-lang): RFC 6979 `k` with no seed, then
/// seeds 1, 2, … while starknet-crypto reports an invalid `k`.
fn sign_felt(secret: &Felt, message: &Felt) -> Result<(Felt, Felt), SignError> {
    let mut seed: Option<Felt> = None;
    for next in 1..=MAX_SEEDS {
        let k = starknet_crypto::rfc6979_generate_k(message, secret, seed.as_ref());
        match starknet_crypto::sign(secret, message, &k) {
            Ok(signature) => return Ok((signature.r, signature.s)),
            Err(starknet_crypto::SignError::InvalidK) => seed = Some(Felt::from(next)),
            Err(starknet_crypto::SignError::InvalidMessageHash) => {
                return Err(SignError::StarkMessageRange {
                    message: hex::encode(message.to_bytes_be()),
                });
            }
        }
    }
    Err(SignError::Signing {
        scheme: SCHEME,
        reason: "no RFC 6979 seed gave a valid nonce",
    })
}

/// The message left-padded to 32 bytes, checked to be 1–32 bytes and below 2^251.
pub(super) fn message_bytes(message: &[u8]) -> Result<[u8; 32], SignError> {
    if message.is_empty() || message.len() > 32 {
        return Err(SignError::StarkMessageLength { len: message.len() });
    }
    let mut padded = [0u8; 32];
    padded[32 - message.len()..].copy_from_slice(message);
    // 2^251 = 0x08 followed by 31 zero bytes.
    if padded[0] >= 0x08 {
        return Err(SignError::StarkMessageRange {
            message: hex::encode(padded),
        });
    }
    Ok(padded)
}

#[cfg(test)]
mod tests {
    use super::super::sign as sign_any;
    use super::super::test_keys::{pair, reference};
    use super::*;
    use keyexport_shared::scheme::Curve;
    use proptest::prelude::*;

    /// The key pair of a stark scalar: starknet-crypto gives x; the parity byte is the one
    /// the shared library accepts (it checks the full point).
    fn stark_pair(scalar: &[u8; 32]) -> (PrivateKey, PublicKey) {
        let x = starknet_crypto::get_public_key(&Felt::from_bytes_be(scalar)).to_bytes_be();
        [2u8, 3]
            .into_iter()
            .find_map(|parity| {
                let mut encoded = vec![parity];
                encoded.extend_from_slice(&x);
                let public = PublicKey::from_bytes(Curve::Stark, &encoded).ok()?;
                PrivateKey::from_be_bytes_verified(&public, scalar).ok()?;
                Some(pair(public, scalar))
            })
            .unwrap()
    }

    fn hex32(s: &str) -> [u8; 32] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// starknet-rs `starknet-core/src/crypto.rs` `test_ecdsa_sign` and
    /// `test_ecdsa_verify_valid_signature`, "generated with cairo-lang".
    #[test]
    fn matches_the_cairo_lang_signature_vector() {
        let (key, public) = stark_pair(&hex32(
            "0139fe4d6f02e666e86a6f58e65060f115cd3c185bd9e98bd829636931458f79",
        ));
        let message = hex32("06fea80189363a786037ed3e7ba546dad0ef7de49fccae0e31eb658b7dd4ea76");
        let signed = sign_any(&key, &public, SignScheme::StarkEcdsa, &message, false).unwrap();
        assert_eq!(
            hex::encode(signed.verifying_key()),
            "02c5dbad71c92a45cc4b40573ae661f8147869a91d57b8d9b8f48c8af7f83159"
        );
        assert_eq!(
            signed.signature().to_hex(),
            "061ec782f76a66f6984efc3a1b6d152a124c701c00abdd2bf76641b4135c770f\
             04e44e759cea02c23568bb4d8a09929bbca8768ab68270d50c18d214166ccd9a"
        );
    }

    /// crypto-cpp's `crypto_lib_test.go` (via starknet-crypto's tests): key 0x12 → x.
    #[test]
    fn public_key_x_matches_the_crypto_cpp_vector() {
        let mut scalar = [0u8; 32];
        scalar[31] = 0x12;
        let (_, public) = stark_pair(&scalar);
        assert_eq!(
            hex::encode(&public.as_bytes()[1..]),
            "019661066e96a8b9f06a1d136881ee924dfb6a885239caa5fd3f87a54c6b25c4"
        );
    }

    #[test]
    fn short_messages_are_left_padded_field_elements() {
        let (key, public) = reference(Curve::Stark).remove(0);
        let short = sign_any(&key, &public, SignScheme::StarkEcdsa, &[0x01, 0x02], false).unwrap();
        let mut padded = [0u8; 32];
        padded[30..].copy_from_slice(&[0x01, 0x02]);
        let full = sign_any(&key, &public, SignScheme::StarkEcdsa, &padded, false).unwrap();
        assert_eq!(short.signature(), full.signature());
        assert_eq!(short.digest(), &MessageDigest::Signed(padded));
    }

    #[test]
    fn messages_outside_the_field_rule_are_refused() {
        let (key, public) = reference(Curve::Stark).remove(0);
        let sign_stark = |m: &[u8]| sign_any(&key, &public, SignScheme::StarkEcdsa, m, false);
        assert!(matches!(
            sign_stark(&[]),
            Err(SignError::StarkMessageLength { len: 0 })
        ));
        assert!(matches!(
            sign_stark(&[1; 33]),
            Err(SignError::StarkMessageLength { len: 33 })
        ));
        let mut two_251 = [0u8; 32];
        two_251[0] = 0x08;
        assert!(matches!(
            sign_stark(&two_251),
            Err(SignError::StarkMessageRange { .. })
        ));
        let mut below = [0xff; 32];
        below[0] = 0x07;
        assert!(sign_stark(&below).is_ok());
    }

    #[test]
    fn the_opposite_point_is_refused() {
        // Same x, other parity: starknet-crypto alone would accept it (it keeps x only).
        let (key, public) = reference(Curve::Stark).remove(0);
        let mut flipped = public.as_bytes().to_vec();
        flipped[0] ^= 1;
        let flipped = PublicKey::from_bytes(Curve::Stark, &flipped).unwrap();
        let err = sign_any(&key, &flipped, SignScheme::StarkEcdsa, &[1], false).unwrap_err();
        assert!(matches!(err, SignError::KeyMismatch { .. }), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn random_keys_sign_and_verify(
            scalar in proptest::array::uniform32(any::<u8>()),
            message in proptest::array::uniform32(any::<u8>()),
        ) {
            let mut scalar = scalar;
            scalar[0] &= 0x07;
            prop_assume!(scalar != [0; 32]);
            let mut message = message;
            message[0] &= 0x07;
            let (key, public) = stark_pair(&scalar);
            let signed = sign_any(&key, &public, SignScheme::StarkEcdsa, &message, false).unwrap();
            let bytes = signed.signature().as_bytes();
            let r = Felt::from_bytes_be(&bytes[..32].try_into().unwrap());
            let s = Felt::from_bytes_be(&bytes[32..].try_into().unwrap());
            let x = Felt::from_bytes_be(&public.as_bytes()[1..].try_into().unwrap());
            prop_assert!(starknet_crypto::verify(&x, &Felt::from_bytes_be(&message), &r, &s).unwrap());
            // A different message does not verify.
            let mut other = message;
            other[31] ^= 1;
            prop_assert!(!starknet_crypto::verify(&x, &Felt::from_bytes_be(&other), &r, &s).unwrap());
        }
    }
}
