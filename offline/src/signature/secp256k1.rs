//! secp256k1 signing: ECDSA (RFC 6979, low-S, recoverable) and BIP-340 Schnorr, plain or
//! as a Taproot key-path spend (BIP-341 tweak without a script tree), through k256.
//!
//! Each signature is verified against the export's public key, parsed afresh from its
//! bytes, before it is returned; the signing key's own derivation must also give that key.

use k256::ecdsa::signature::hazmat::PrehashVerifier;
use k256::elliptic_curve::PrimeField;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::{NonZeroScalar, ProjectivePoint, Scalar, ecdsa, schnorr};
use keyexport_shared::curve::{PrivateKey, PublicKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{
    Made, MessageDigest, SignError, SignScheme, Signature, digest32, key_mismatch, self_check,
};

/// BIP-340 `aux_rand`: all zero, so signatures are deterministic (see the module docs).
const AUX_RAND: [u8; 32] = [0; 32];

/// Whether a BIP-340 signature is for the key itself or for its Taproot output key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tweak {
    /// Sign for the export's x-only key.
    None,
    /// Sign for `Q = P + hash_TapTweak(P.x)·G` (BIP-341 key path, no script tree).
    TaprootKeyPath,
}

/// ECDSA over a 32-byte digest.
pub(super) fn ecdsa(
    key: &PrivateKey,
    public_key: &PublicKey,
    message: &[u8],
    recoverable: bool,
) -> Result<Made, SignError> {
    const SCHEME: SignScheme = SignScheme::EcdsaSecp256k1;
    let digest = digest32(SCHEME, message)?;
    let bytes = Zeroizing::new(k256::FieldBytes::from(*key.to_be_bytes()));
    let signing_key =
        ecdsa::SigningKey::from_bytes(&bytes).map_err(|_| key_mismatch(public_key))?;
    let expected = ecdsa::VerifyingKey::from_sec1_bytes(public_key.as_bytes())
        .map_err(|_| key_mismatch(public_key))?;
    if *signing_key.verifying_key() != expected {
        return Err(key_mismatch(public_key));
    }
    let (signature, recovery_id) =
        signing_key
            .sign_prehash_recoverable(&digest)
            .map_err(|_| SignError::Signing {
                scheme: SCHEME,
                reason: "k256 found no valid nonce",
            })?;
    let low_s = signature.normalize_s().is_none();
    let verifies = expected.verify_prehash(&digest, &signature).is_ok();
    let recovers = ecdsa::VerifyingKey::recover_from_prehash(&digest, &signature, recovery_id)
        .is_ok_and(|recovered| recovered == expected);
    if !(low_s && verifies && recovers) {
        return Err(self_check(SCHEME, public_key));
    }
    Ok(Made {
        signature: Signature {
            bytes: signature.to_bytes().into(),
            recovery_id: recoverable.then(|| recovery_id.to_byte()),
        },
        digest: MessageDigest::Signed(digest),
        verifying_key: public_key.as_bytes().to_vec(),
    })
}

/// BIP-340 Schnorr over a 32-byte message, with or without the Taproot tweak.
pub(super) fn bip340(
    key: &PrivateKey,
    public_key: &PublicKey,
    message: &[u8],
    tweak: Tweak,
) -> Result<Made, SignError> {
    let scheme = match tweak {
        Tweak::None => SignScheme::Bip340,
        Tweak::TaprootKeyPath => SignScheme::Bip340Taproot,
    };
    let digest = digest32(scheme, message)?;
    let internal = schnorr::SigningKey::from_bytes(key.to_be_bytes().as_slice())
        .map_err(|_| key_mismatch(public_key))?;
    let compressed = public_key
        .secp256k1_compressed()
        .ok_or_else(|| key_mismatch(public_key))?;
    let mut internal_x = [0u8; 32];
    internal_x.copy_from_slice(&compressed[1..]);
    if internal.verifying_key().to_bytes().as_slice() != internal_x {
        return Err(key_mismatch(public_key));
    }
    let (signer, expected) = match tweak {
        Tweak::None => {
            let expected = schnorr::VerifyingKey::from_bytes(&internal_x)
                .map_err(|_| key_mismatch(public_key))?;
            (internal, expected)
        }
        Tweak::TaprootKeyPath => {
            let tweak = taproot_tweak(&internal_x).ok_or(SignError::Signing {
                scheme,
                reason: "the Taproot tweak is not below the group order",
            })?;
            // The output key comes from the public key alone, the signer from the secret.
            let expected = taproot_output_key(&internal_x, &tweak)
                .ok_or_else(|| self_check(scheme, public_key))?;
            let tweaked = Option::<NonZeroScalar>::from(NonZeroScalar::new(
                *internal.as_nonzero_scalar().as_ref() + tweak,
            ))
            .ok_or(SignError::Signing {
                scheme,
                reason: "the tweaked key is zero",
            })?;
            (schnorr::SigningKey::from(tweaked), expected)
        }
    };
    if *signer.verifying_key() != expected {
        return Err(self_check(scheme, public_key));
    }
    let signature = signer
        .sign_raw(&digest, &AUX_RAND)
        .map_err(|_| SignError::Signing {
            scheme,
            reason: "k256 derived a zero nonce",
        })?;
    expected
        .verify_raw(&digest, &signature)
        .map_err(|_| self_check(scheme, public_key))?;
    Ok(Made {
        signature: Signature {
            bytes: signature.to_bytes(),
            recovery_id: None,
        },
        digest: MessageDigest::Signed(digest),
        verifying_key: expected.to_bytes().to_vec(),
    })
}

/// `int(hash_TapTweak(P.x))` (BIP-341 `taproot_tweak_pubkey` with an empty script tree),
/// or `None` if it is not below the group order (BIP-341: the key is then unusable).
fn taproot_tweak(internal_x: &[u8; 32]) -> Option<Scalar> {
    let tag = Sha256::digest(b"TapTweak");
    let hash = Sha256::new()
        .chain_update(tag)
        .chain_update(tag)
        .chain_update(internal_x)
        .finalize();
    Option::from(Scalar::from_repr(hash))
}

/// `Q = lift_x(P.x) + t·G` as the x-only key a verifier uses, or `None` at infinity.
fn taproot_output_key(internal_x: &[u8; 32], tweak: &Scalar) -> Option<schnorr::VerifyingKey> {
    let internal = schnorr::VerifyingKey::from_bytes(internal_x).ok()?;
    let output = (ProjectivePoint::from(*internal.as_affine())
        + ProjectivePoint::GENERATOR * tweak)
        .to_affine();
    let encoded = output.to_encoded_point(true);
    schnorr::VerifyingKey::from_bytes(encoded.x()?).ok()
}

#[cfg(test)]
mod tests {
    use super::super::test_keys::{pair, reference};
    use super::super::{SignedMessage, sign};
    use super::*;
    use keyexport_shared::scheme::Curve;
    use proptest::prelude::*;
    use sha3::Keccak256;

    /// The key pair of a secp256k1 scalar, public key compressed.
    fn secp_pair(scalar: &[u8; 32]) -> (PrivateKey, PublicKey) {
        let signing = ecdsa::SigningKey::from_bytes(&(*scalar).into()).unwrap();
        let public = signing.verifying_key().to_encoded_point(true);
        pair(
            PublicKey::from_bytes(Curve::Secp256k1, public.as_bytes()).unwrap(),
            scalar,
        )
    }

    fn hex32(s: &str) -> [u8; 32] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    fn sign_ecdsa(scalar: &[u8; 32], digest: &[u8; 32]) -> SignedMessage {
        let (key, public) = secp_pair(scalar);
        sign(&key, &public, SignScheme::EcdsaSecp256k1, digest, true).unwrap()
    }

    /// RFC 6979 secp256k1 known answers (SHA-256 of the text as digest, low-S), published in
    /// bitcointalk topic 285142 (msg 3299061) and reused by python-ecdsa, Trezor and
    /// bitcoin-s; the signatures here are the DER ones of that post in compact form.
    #[test]
    fn ecdsa_matches_the_published_rfc6979_secp256k1_vectors() {
        let n_minus_1 = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140";
        let one = "0000000000000000000000000000000000000000000000000000000000000001";
        let cases = [
            (
                one,
                "Satoshi Nakamoto",
                "934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d8\
                 2442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5",
            ),
            (
                one,
                "Everything should be made as simple as possible, but not simpler.",
                "33a69cd2065432a30f3d1ce4eb0d59b8ab58c74f27c41a7fdb5696ad4e6108c9\
                 6f807982866f785d3f6418d24163ddae117b7db4d5fdf0071de069fa54342262",
            ),
            (
                one,
                "All those moments will be lost in time, like tears in rain. Time to die...",
                "8600dbd41e348fe5c9465ab92d23e3db8b98b873beecd930736488696438cb6b\
                 547fe64427496db33bf66019dacbf0039c04199abb0122918601db38a72cfc21",
            ),
            (
                n_minus_1,
                "Satoshi Nakamoto",
                "fd567d121db66e382991534ada77a6bd3106f0a1098c231e47993447cd6af2d0\
                 6b39cd0eb1bc8603e159ef5c20a5c8ad685a45b06ce9bebed3f153d10d93bed5",
            ),
            (
                "f8b8af8ce3c7cca5e300d33939540c10d45ce001b8f252bfbc57ba0342904181",
                "Alan Turing",
                "7063ae83e7f62bbb171798131b4a0564b956930092b33b07b395615d9ec7e15c\
                 58dfcc1e00a35e1572f366ffe34ba0fc47db1e7189759b9fb233c5b05ab388ea",
            ),
        ];
        for (scalar, text, expected) in cases {
            let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
            let signed = sign_ecdsa(&hex32(scalar), &digest);
            assert_eq!(signed.signature().to_hex(), expected, "{text}");
            assert_eq!(signed.digest(), &MessageDigest::Signed(digest));
        }
    }

    /// The web3.js `signTransaction` example (also ethers-rs' and k256's Ethereum test):
    /// EIP-155 mainnet transaction, Keccak-256 of its RLP as digest; r, s and v = 37
    /// (recovery id 0 + 35 + 2·chain id 1).
    #[test]
    fn ecdsa_reproduces_a_published_ethereum_transaction_signature() {
        let scalar = hex32("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318");
        let rlp = hex::decode(
            "e9808504e3b29200831e848094f0109fc8df283027b6285cc889f5aa624eac1f55843b9aca0080018080",
        )
        .unwrap();
        let digest: [u8; 32] = Keccak256::digest(&rlp).into();
        let signed = sign_ecdsa(&scalar, &digest);
        assert_eq!(
            signed.signature().to_hex(),
            "c9cf86333bcb065d140032ecaab5d9281bde80f21b9687b3e94161de42d51895\
             727a108a0b8d101465414033c3f705a9c7b826e596766046ee1183dbc8aeaa68"
        );
        assert_eq!(signed.signature().recovery_id(), Some(0));
    }

    #[test]
    fn ecdsa_omits_the_recovery_id_unless_asked() {
        let (key, public) = reference(Curve::Secp256k1).remove(0);
        let plain = sign(&key, &public, SignScheme::EcdsaSecp256k1, &[3; 32], false).unwrap();
        let recoverable = sign(&key, &public, SignScheme::EcdsaSecp256k1, &[3; 32], true).unwrap();
        assert_eq!(plain.signature().recovery_id(), None);
        assert!(recoverable.signature().recovery_id().is_some());
        assert_eq!(
            plain.signature().as_bytes(),
            recoverable.signature().as_bytes()
        );
    }

    #[test]
    fn ecdsa_signs_for_an_uncompressed_public_key_too() {
        let pairs = reference(Curve::Secp256k1);
        let (key, public) = pairs
            .into_iter()
            .find(|(_, public)| public.as_bytes().len() == 65)
            .unwrap();
        let signed = sign(&key, &public, SignScheme::EcdsaSecp256k1, &[4; 32], false).unwrap();
        let verifying = ecdsa::VerifyingKey::from_sec1_bytes(public.as_bytes()).unwrap();
        let signature = ecdsa::Signature::from_slice(signed.signature().as_bytes()).unwrap();
        verifying.verify_prehash(&[4; 32], &signature).unwrap();
        let signed = sign(&key, &public, SignScheme::Bip340Taproot, &[4; 32], false).unwrap();
        assert_eq!(signed.verifying_key().len(), 32);
    }

    #[test]
    fn digest_schemes_refuse_other_lengths() {
        let (key, public) = reference(Curve::Secp256k1).remove(0);
        for scheme in [
            SignScheme::EcdsaSecp256k1,
            SignScheme::Bip340,
            SignScheme::Bip340Taproot,
        ] {
            for len in [0, 20, 31, 33, 64] {
                let err = sign(&key, &public, scheme, &vec![1; len], false).unwrap_err();
                assert!(
                    matches!(err, SignError::DigestLength { scheme: s, len: l } if s == scheme && l == len),
                    "{err}"
                );
            }
        }
    }

    /// BIP-340 test-vectors.csv, indexes 0–3 (bitcoin/bips, bip-0340/test-vectors.csv):
    /// (secret key, x-only public key, aux_rand, message, signature).
    const BIP340_VECTORS: [(&str, &str, &str, &str, &str); 4] = [
        (
            "0000000000000000000000000000000000000000000000000000000000000003",
            "f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9",
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0000000000000000000000000000000000000000000000000000000000000000",
            "e907831f80848d1069a5371b402410364bdf1c5f8307b0084c55f1ce2dca8215\
             25f66a4a85ea8b71e482a74f382d2ce5ebeee8fdb2172f477df4900d310536c0",
        ),
        (
            "b7e151628aed2a6abf7158809cf4f3c762e7160f38b4da56a784d9045190cfef",
            "dff1d77f2a671c5f36183726db2341be58feae1da2deced843240f7b502ba659",
            "0000000000000000000000000000000000000000000000000000000000000001",
            "243f6a8885a308d313198a2e03707344a4093822299f31d0082efa98ec4e6c89",
            "6896bd60eeae296db48a229ff71dfe071bde413e6d43f917dc8dcf8c78de3341\
             8906d11ac976abccb20b091292bff4ea897efcb639ea871cfa95f6de339e4b0a",
        ),
        (
            "c90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b14e5c9",
            "dd308afec5777e13121fa72b9cc1b7cc0139715309b086c960e18fd969774eb8",
            "c87aa53824b4d7ae2eb035a2b5bbbccc080e76cdc6d1692c4b0b62d798e6d906",
            "7e2d58d8b3bcdf1abadec7829054f90dda9805aab56c77333024b9d0a508b75c",
            "5831aaeed7b44bb74e5eab94ba9d4294c49bcf2a60728d8b4c200f50dd313c1b\
             ab745879a5ad954a72c45a91c3a51d3c7adea98d82f8481e0e1e03674a6f3fb7",
        ),
        (
            "0b432b2677937381aef05bb02a66ecd012773062cf3fa2549e44f58ed2401710",
            "25d1dff95105f5253c4022f628a996ad3a0d95fbf21d468a1b33f8c160d8f517",
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "7eb0509757e246f19449885651611cb965ecc1a187dd51b64fda1edc9637d5ec\
             97582b9cb13db3933705b32ba982af5af25fd78881ebb32771fc5922efc66ea3",
        ),
    ];

    #[test]
    fn bip340_reproduces_vector_0_whose_aux_rand_is_ours() {
        let (secret, x_only, aux, message, expected) = BIP340_VECTORS[0];
        assert_eq!(hex32(aux), [0; 32]);
        let (key, public) = secp_pair(&hex32(secret));
        let signed = sign(&key, &public, SignScheme::Bip340, &hex32(message), false).unwrap();
        assert_eq!(signed.signature().to_hex(), expected);
        assert_eq!(hex::encode(signed.verifying_key()), x_only);
    }

    #[test]
    fn bip340_matches_the_official_vectors() {
        for (index, (secret, x_only, aux, message, expected)) in BIP340_VECTORS.iter().enumerate() {
            let (key, public) = secp_pair(&hex32(secret));
            let message = hex32(message);
            // Every vector, with its own aux_rand, through the signer `bip340` uses.
            let signer = schnorr::SigningKey::from_bytes(&hex32(secret)).unwrap();
            assert_eq!(hex::encode(signer.verifying_key().to_bytes()), *x_only);
            let signature = signer.sign_raw(&message, &hex32(aux)).unwrap();
            assert_eq!(
                hex::encode(signature.to_bytes()),
                *expected,
                "index {index}"
            );
            // And our zero-aux signature for the same key and message verifies.
            let signed = sign(&key, &public, SignScheme::Bip340, &message, false).unwrap();
            let verifying = schnorr::VerifyingKey::from_bytes(&hex32(x_only)).unwrap();
            let ours =
                schnorr::Signature::try_from(signed.signature().as_bytes().as_slice()).unwrap();
            verifying.verify_raw(&message, &ours).unwrap();
        }
    }

    /// BIP-86 test vectors (bitcoin/bips, bip-0086.mediawiki): m/86'/0'/0'/0/0 and
    /// m/86'/0'/0'/0/1 of the "abandon … about" mnemonic, internal key → output key.
    #[test]
    fn taproot_output_keys_match_the_bip86_vectors() {
        let cases = [
            (
                "cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115",
                "a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c",
            ),
            (
                "83dfe85a3151d2517290da461fe2815591ef69f2b18a2ce63f01697a8b313145",
                "a82f29944d65b86ae6b5e5cc75e294ead6c59391a1edc5e016e3498c67fc7bbb",
            ),
        ];
        for (internal, output) in cases {
            let internal = hex32(internal);
            let tweak = taproot_tweak(&internal).unwrap();
            let output_key = taproot_output_key(&internal, &tweak).unwrap();
            assert_eq!(hex::encode(output_key.to_bytes()), output);
        }
    }

    #[test]
    fn taproot_signatures_verify_under_the_output_key_only() {
        for (key, public) in reference(Curve::Secp256k1) {
            let message = [0x42; 32];
            let signed = sign(&key, &public, SignScheme::Bip340Taproot, &message, false).unwrap();
            let internal_x = hex32(&hex::encode(&public.secp256k1_compressed().unwrap()[1..]));
            let output =
                taproot_output_key(&internal_x, &taproot_tweak(&internal_x).unwrap()).unwrap();
            assert_eq!(signed.verifying_key(), output.to_bytes().as_slice());
            let signature =
                schnorr::Signature::try_from(signed.signature().as_bytes().as_slice()).unwrap();
            output.verify_raw(&message, &signature).unwrap();
            let internal = schnorr::VerifyingKey::from_bytes(&internal_x).unwrap();
            assert!(internal.verify_raw(&message, &signature).is_err());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Random keys and digests: each signature verifies with k256's verifiers, parsed
        /// from the bytes returned, and ECDSA's recovers the public key.
        #[test]
        fn random_keys_sign_and_verify(
            scalar in proptest::array::uniform32(any::<u8>()),
            digest in proptest::array::uniform32(any::<u8>()),
        ) {
            prop_assume!(ecdsa::SigningKey::from_bytes(&scalar.into()).is_ok());
            let (key, public) = secp_pair(&scalar);
            let verifying = ecdsa::VerifyingKey::from_sec1_bytes(public.as_bytes()).unwrap();

            let signed = sign(&key, &public, SignScheme::EcdsaSecp256k1, &digest, true).unwrap();
            let signature = ecdsa::Signature::from_slice(signed.signature().as_bytes()).unwrap();
            prop_assert!(signature.normalize_s().is_none());
            prop_assert!(verifying.verify_prehash(&digest, &signature).is_ok());
            let recovery = ecdsa::RecoveryId::from_byte(signed.signature().recovery_id().unwrap()).unwrap();
            let recovered = ecdsa::VerifyingKey::recover_from_prehash(&digest, &signature, recovery).unwrap();
            prop_assert_eq!(recovered, verifying);

            let signed = sign(&key, &public, SignScheme::Bip340, &digest, false).unwrap();
            let x_only = schnorr::VerifyingKey::from_bytes(&public.as_bytes()[1..]).unwrap();
            let signature = schnorr::Signature::try_from(signed.signature().as_bytes().as_slice()).unwrap();
            prop_assert!(x_only.verify_raw(&digest, &signature).is_ok());
        }
    }
}
