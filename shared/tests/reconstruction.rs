//! Property tests of the whole path: deal a key with the trusted dealer, corrupt some
//! shares, and check reconstruction finds the key and names exactly the corrupted
//! signers, or fails, but never returns a wrong key and never panics.

use keyexport_shared::dealer::Deal;
use keyexport_shared::keys::DecryptionKey;
use keyexport_shared::reconstruct::reconstruct;
use keyexport_shared::scheme::{Curve, Protocol, Scheme};
use keyexport_shared::share::DocumentFormat;
use keyexport_shared::wire::ExportResponse;
use proptest::prelude::*;
use proptest::sample::subsequence;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn curve() -> impl Strategy<Value = Curve> {
    prop_oneof![
        Just(Curve::Secp256k1),
        Just(Curve::Ed25519),
        Just(Curve::Stark)
    ]
}

/// (t, n) with 2 ≤ t ≤ n ≤ 64.
fn threshold() -> impl Strategy<Value = (usize, usize)> {
    (2usize..=64).prop_flat_map(|n| (2usize..=n, Just(n)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// Up to ⌊(n−t)/2⌋ wrong values are always corrected and named.
    #[test]
    fn corrects_up_to_half_the_redundancy(
        seed in any::<u64>(), curve in curve(), (t, n) in threshold(),
        random_indexes in any::<bool>(), fraction in 0.0f64..=1.0,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let key = DecryptionKey::generate_with(&mut rng);
        let limit = (n - t) / 2;
        let wrong = (limit as f64 * fraction).round() as usize;
        let mut positions: Vec<usize> = (0..n).collect();
        rand::seq::SliceRandom::shuffle(positions.as_mut_slice(), &mut rng);
        positions.truncate(wrong);
        let deal = Deal {
            scheme: Scheme { protocol: Protocol::Cggmp24, curve },
            min_signers: t,
            signers: n,
            random_indexes,
            wrong_values: positions.clone(),
            ..Deal::new(Scheme { protocol: Protocol::Cggmp24, curve }, t, n)
        };
        let dealt = deal.run(&key.encryption_key(), &mut rng);
        let rebuilt = reconstruct(&dealt.response, &key).unwrap();
        prop_assert_eq!(rebuilt.private_key.to_be_bytes(), dealt.private_key.to_be_bytes());
        let mut expected: Vec<_> = positions.iter().map(|&p| dealt.response.shares[p].signer_id.clone()).collect();
        let position_of = |id: &keyexport_shared::wire::SignerId| dealt.response.shares.iter().position(|s| &s.signer_id == id);
        expected.sort_by_key(|id| position_of(id));
        prop_assert_eq!(rebuilt.bad_signers(), expected);
        prop_assert_eq!(rebuilt.used_signers.len(), n - wrong);
    }

    /// Beyond the bound: an error, or the right key with exactly the corrupted signers
    /// named (the public key can single out honest subsets) — never a wrong key.
    #[test]
    fn heavy_corruption_never_yields_a_wrong_key(
        seed in any::<u64>(), curve in curve(), (t, n) in (2usize..=12).prop_flat_map(|n| (2usize..=n, Just(n))),
        extra in 1usize..6,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let key = DecryptionKey::generate_with(&mut rng);
        let wrong = ((n - t) / 2 + extra).min(n);
        let deal = Deal {
            scheme: Scheme { protocol: Protocol::Frost, curve },
            min_signers: t,
            signers: n,
            random_indexes: true,
            wrong_values: (0..wrong).collect(),
            ..Deal::new(Scheme { protocol: Protocol::Frost, curve }, t, n)
        };
        let dealt = deal.run(&key.encryption_key(), &mut rng);
        match reconstruct(&dealt.response, &key) {
            Ok(rebuilt) => {
                prop_assert_eq!(rebuilt.private_key.to_be_bytes(), dealt.private_key.to_be_bytes());
                prop_assert_eq!(rebuilt.bad_shares.len(), wrong);
                prop_assert!(n - wrong >= t);
            }
            Err(err) => prop_assert_eq!(err.kind(), keyexport_shared::ErrorKind::PublicKey),
        }
    }

    /// Mutating any byte of a valid response body gives an error or the right key (and
    /// the right chain code, HD or not, current or legacy share documents).
    #[test]
    fn mutated_responses_never_panic_or_mislead(
        seed in any::<u64>(), curve in curve(), position in any::<prop::sample::Index>(), byte in any::<u8>(),
        hd in any::<bool>(), legacy in any::<bool>(),
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let key = DecryptionKey::generate_with(&mut rng);
        let deal = Deal {
            hd,
            format: if legacy { DocumentFormat::Legacy } else { DocumentFormat::Current },
            ..Deal::new(Scheme { protocol: Protocol::Cggmp21, curve }, 2, 3)
        };
        let dealt = deal.run(&key.encryption_key(), &mut rng);
        let mut body = serde_json::to_vec(&dealt.response.to_json_value()).unwrap();
        let i = position.index(body.len());
        body[i] = byte;
        if let Ok(rebuilt) = ExportResponse::from_json(&body).and_then(|r| reconstruct(&r, &key)) {
            prop_assert_eq!(rebuilt.private_key.to_be_bytes(), dealt.private_key.to_be_bytes());
            prop_assert_eq!(&rebuilt.chain_code, if legacy { &None } else { &dealt.chain_code });
        }
    }

    /// Random chain codes, signers carrying other chain codes (or one where the key has
    /// none) and signers carrying wrong values: the key and its chain code are exact, the
    /// odd signers named, or, without a strict majority on the chain code, `chain-code`
    /// and no key. Never a wrong key, never a wrong chain code.
    #[test]
    fn chain_codes_are_outvoted_never_wrong(
        seed in any::<u64>(), curve in curve(), (t, n) in (2usize..=9).prop_flat_map(|n| (2usize..=n, Just(n))),
        hd in any::<bool>(), others in 0usize..=9, wrong_fraction in 0.0f64..=1.0,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let key = DecryptionKey::generate_with(&mut rng);
        let mut positions: Vec<usize> = (0..n).collect();
        rand::seq::SliceRandom::shuffle(positions.as_mut_slice(), &mut rng);
        let wrong = (((n - t) / 2) as f64 * wrong_fraction).round() as usize;
        let wrong_values: Vec<usize> = positions[..wrong].to_vec();
        let other_chain_code: Vec<usize> = positions[wrong..].iter().copied().take(others).collect();
        let deal = Deal {
            hd,
            wrong_values: wrong_values.clone(),
            other_chain_code: other_chain_code.clone(),
            random_indexes: true,
            ..Deal::new(Scheme { protocol: Protocol::Ku23, curve }, t, n)
        };
        let dealt = deal.run(&key.encryption_key(), &mut rng);
        let fitting = n - wrong;
        let honest = fitting - other_chain_code.len();
        match reconstruct(&dealt.response, &key) {
            Ok(rebuilt) => {
                prop_assert!(2 * honest > fitting);
                prop_assert_eq!(rebuilt.private_key.to_be_bytes(), dealt.private_key.to_be_bytes());
                prop_assert_eq!(&rebuilt.chain_code, &dealt.chain_code);
                prop_assert_eq!(rebuilt.is_hd(), hd);
                let mut expected: Vec<usize> = wrong_values.iter().chain(&other_chain_code).copied().collect();
                expected.sort_unstable();
                let named: Vec<_> = expected.iter().map(|&p| dealt.response.shares[p].signer_id.clone()).collect();
                prop_assert_eq!(rebuilt.bad_signers(), named);
                for bad in &rebuilt.bad_shares {
                    let position = dealt.response.shares.iter().position(|s| s.signer_id == bad.signer_id).unwrap();
                    let kind = if other_chain_code.contains(&position) { keyexport_shared::ErrorKind::ChainCode } else { keyexport_shared::ErrorKind::PublicKey };
                    prop_assert_eq!(bad.fault.kind(), kind);
                }
                prop_assert_eq!(rebuilt.used_signers.len(), honest);
            }
            Err(err) => {
                prop_assert!(2 * honest <= fitting, "{}", err);
                prop_assert_eq!(err.kind(), keyexport_shared::ErrorKind::ChainCode);
                let secret = dealt.private_key.to_hex();
                prop_assert!(!err.to_string().contains(secret.as_str()));
                if let Some(code) = &dealt.chain_code {
                    prop_assert!(!err.to_string().contains(code.to_hex().as_str()));
                }
            }
        }
    }

    /// Truncating a share's ciphertext or dropping shares: errors name the kind.
    #[test]
    fn dropped_and_truncated_shares(seed in any::<u64>(), curve in curve(), drop in subsequence((0..5usize).collect::<Vec<_>>(), 0..=5)) {
        let mut rng = StdRng::seed_from_u64(seed);
        let key = DecryptionKey::generate_with(&mut rng);
        let mut dealt = Deal::new(Scheme { protocol: Protocol::Ku23, curve }, 3, 5).run(&key.encryption_key(), &mut rng);
        for &i in &drop {
            dealt.response.shares[i].ciphertext.truncate(40);
        }
        match reconstruct(&dealt.response, &key) {
            Ok(rebuilt) => {
                prop_assert!(drop.len() <= 2);
                prop_assert_eq!(rebuilt.private_key.to_be_bytes(), dealt.private_key.to_be_bytes());
                prop_assert_eq!(rebuilt.bad_shares.len(), drop.len());
            }
            Err(err) => {
                prop_assert!(drop.len() > 2);
                prop_assert_eq!(err.kind(), keyexport_shared::ErrorKind::Decrypt);
                prop_assert_eq!(err.bad_signers().len(), drop.len());
            }
        }
    }
}

#[test]
fn wrong_decryption_key_names_every_signer() {
    let mut rng = StdRng::seed_from_u64(1);
    let key = DecryptionKey::generate_with(&mut rng);
    let other = DecryptionKey::generate_with(&mut rng);
    let dealt = Deal::new(
        Scheme {
            protocol: Protocol::Cggmp24,
            curve: Curve::Secp256k1,
        },
        2,
        3,
    )
    .run(&key.encryption_key(), &mut rng);
    let err = reconstruct(&dealt.response, &other).unwrap_err();
    assert_eq!(err.kind(), keyexport_shared::ErrorKind::Decrypt);
    assert_eq!(err.bad_signers().len(), 3);
}
