//! A trusted dealer that produces real Dfns-shaped exports.
//!
//! It draws a random key, Shamir-splits it `t`-of-`n` over the curve's scalar field
//! and encrypts every share to an encryption key exactly as Dfns signers do (spec §3–§4a).
//! An HD key also gets a random chain code, carried by every share.
//! The sandbox serves its output and the tests feed it to [`crate::reconstruct`].
//! Nothing here is used on the real ceremony path.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ff::Field;
use rand_core::CryptoRngCore;
use zeroize::Zeroize;

use crate::chain_code::ChainCode;
use crate::curve::{CurveOps, Ed25519, PrivateKey, PublicKey, Secp256k1, Stark};
use crate::ecies::encrypt_share;
use crate::keys::EncryptionKey;
use crate::scheme::{Curve, Scheme};
use crate::share::{DocumentFormat, SharePlaintext};
use crate::wire::{EncryptedShare, ExportResponse, SignerId};

/// What to deal.
#[derive(Debug, Clone)]
pub struct Deal {
    /// Protocol and curve of the key.
    pub scheme: Scheme,
    /// The threshold `t`.
    pub min_signers: usize,
    /// The number of shares `n`.
    pub signers: usize,
    /// Random non-zero indexes instead of `1..=n`.
    pub random_indexes: bool,
    /// Positions (0-based) whose share carries a random wrong value, still well formed
    /// and correctly encrypted: a faulty or malicious signer.
    pub wrong_values: Vec<usize>,
    /// An HD key: a random chain code in every share.
    pub hd: bool,
    /// Positions (0-based) whose share carries another random chain code than the key's
    /// (for a key without one: a chain code where the others carry none).
    pub other_chain_code: Vec<usize>,
    /// The share document written: the current one (`chain_code` last) or the legacy one.
    pub format: DocumentFormat,
}

/// A dealt key and its export.
#[derive(Debug)]
pub struct Dealt {
    /// The key that was split.
    pub private_key: PrivateKey,
    /// Its chain code (HD keys only).
    pub chain_code: Option<ChainCode>,
    /// The export response, as Dfns would return it.
    pub response: ExportResponse,
}

impl Deal {
    /// A `t`-of-`n` deal with sequential indexes and honest shares.
    pub fn new(scheme: Scheme, min_signers: usize, signers: usize) -> Deal {
        Deal {
            scheme,
            min_signers,
            signers,
            random_indexes: false,
            wrong_values: Vec::new(),
            hd: false,
            other_chain_code: Vec::new(),
            format: DocumentFormat::Current,
        }
    }

    /// Deals a fresh key and encrypts its shares to `to`.
    pub fn run(&self, to: &EncryptionKey, rng: &mut impl CryptoRngCore) -> Dealt {
        match self.scheme.curve {
            Curve::Secp256k1 => self.run_on::<Secp256k1>(to, rng),
            Curve::Ed25519 => self.run_on::<Ed25519>(to, rng),
            Curve::Stark => self.run_on::<Stark>(to, rng),
        }
    }

    fn run_on<C: CurveOps>(&self, to: &EncryptionKey, rng: &mut impl CryptoRngCore) -> Dealt {
        let curve = self.scheme.curve;
        let mut coefficients: Vec<C::Scalar> = (0..self.min_signers.max(1))
            .map(|_| non_zero::<C>(&mut *rng))
            .collect();
        // Drawn right after the polynomial, so that one seed always gives the same key
        // and chain code whatever the number of signers or faults.
        let chain_code = self.hd.then(|| random_chain_code(&mut *rng));
        let secret = C::scalar_to_be(&coefficients[0]);
        let public_bytes = C::public_key_bytes(&coefficients[0], true);
        let public_key =
            PublicKey::from_bytes(curve, &public_bytes).expect("a generated point is on its curve");
        let mut indexes: Vec<C::Scalar> = Vec::with_capacity(self.signers);
        while indexes.len() < self.signers {
            let candidate = if self.random_indexes {
                non_zero::<C>(&mut *rng)
            } else {
                C::Scalar::from(indexes.len() as u64 + 1)
            };
            if !indexes.contains(&candidate) {
                indexes.push(candidate);
            }
        }
        let shares = indexes
            .iter()
            .enumerate()
            .map(|(position, x)| {
                let mut y = if self.wrong_values.contains(&position) {
                    C::Scalar::random(&mut *rng)
                } else {
                    coefficients
                        .iter()
                        .rev()
                        .fold(C::Scalar::ZERO, |acc, c| acc * x + c)
                };
                let plaintext = SharePlaintext {
                    index: *C::scalar_to_be(x),
                    secret: C::scalar_to_be(&y),
                    chain_code: if self.other_chain_code.contains(&position) {
                        Some(random_chain_code(&mut *rng))
                    } else {
                        chain_code.clone()
                    },
                    unknown_fields: Vec::new(),
                };
                y.zeroize();
                let mut id = [0u8; 32];
                rng.fill_bytes(&mut id);
                EncryptedShare {
                    signer_id: SignerId::new(BASE64.encode(id)),
                    ciphertext: encrypt_share(
                        to,
                        &plaintext.to_json(curve, self.format),
                        &mut *rng,
                    ),
                }
            })
            .collect();
        coefficients.zeroize();
        Dealt {
            private_key: PrivateKey::new(curve, secret),
            chain_code,
            response: ExportResponse {
                public_key,
                protocol: self.scheme.protocol,
                curve,
                min_signers: self.min_signers as u64,
                shares,
                unknown_fields: Vec::new(),
            },
        }
    }
}

fn random_chain_code(rng: &mut impl CryptoRngCore) -> ChainCode {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    rng.fill_bytes(bytes.as_mut_slice());
    ChainCode::from_bytes(*bytes)
}

fn non_zero<C: CurveOps>(rng: &mut impl CryptoRngCore) -> C::Scalar {
    loop {
        let candidate = C::Scalar::random(&mut *rng);
        if !bool::from(candidate.is_zero()) {
            return candidate;
        }
    }
}
