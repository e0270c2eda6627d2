//! Robust reconstruction of the exported key (spec §5).
//!
//! 1. Every share is decrypted and parsed; the ones that fail are set aside with the
//!    reason, naming their signer (decrypt, share-format, version, curve, duplicate index).
//! 2. The rest are Reed–Solomon decoded with Berlekamp–Welch ([`polynomial`]): with `m`
//!    usable shares and threshold `t`, up to ⌊(m−t)/2⌋ shares carrying wrong values are
//!    corrected in polynomial time, and their signers named.
//! 3. If that does not give a key matching `publicKey` (more wrong shares than that bound),
//!    and the number of `t`-subsets is small, every subset is tried against the public
//!    key, which identifies the honest ones as long as `t` of them remain.
//!
//! 4. The key's chain code (HD keys, spec §4a) is the value carried by a strict majority of
//!    the shares that fit the key; signers carrying another value are named, and without a
//!    strict majority no key is returned.
//!
//! A key is returned only after `secret·G == publicKey` held. Fields of the share
//! documents that this tool does not know are collected for the caller to report.

pub(crate) mod polynomial;

use ff::Field;
use zeroize::Zeroize;

use crate::chain_code::ChainCode;
use crate::curve::{CurveOps, Ed25519, PrivateKey, PublicKey, Secp256k1, Stark};
use crate::ecies::decrypt_share;
use crate::error::{BadShare, ChainCodeGroup, ShareFault, Shortfall};
use crate::keys::DecryptionKey;
use crate::scheme::{Curve, Scheme};
use crate::share::SharePlaintext;
use crate::wire::{ExportResponse, SignerId};
use crate::{Error, Result};

/// Upper bound on the `t`-subsets tried by the fallback search (step 3).
const MAX_SUBSETS: u64 = 5_000;

/// A key rebuilt and verified against the response's public key.
#[derive(Debug)]
pub struct Reconstruction {
    /// The verified private key.
    pub private_key: PrivateKey,
    /// The public key it matches.
    pub public_key: PublicKey,
    /// Protocol and curve of the key.
    pub scheme: Scheme,
    /// The threshold `t`.
    pub min_signers: u64,
    /// How many shares the response held.
    pub share_count: usize,
    /// Signers whose shares are consistent with the key, in response order.
    pub used_signers: Vec<SignerId>,
    /// Shares that were set aside or outvoted, in response order.
    pub bad_shares: Vec<BadShare>,
    /// The key's chain code when it is the root of an HD tree (`None`: an ordinary key).
    /// It is the value a strict majority of the used shares carry.
    pub chain_code: Option<ChainCode>,
    /// Fields of Dfns' documents this tool does not know (ignored, to be reported).
    pub unknown_fields: Vec<UnknownField>,
}

/// Which Dfns document an unknown field was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// The export response.
    Response,
    /// The decrypted share documents.
    Share,
}

impl DocumentKind {
    /// `response` or `share`, as `--json` names it.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Response => "response",
            DocumentKind::Share => "share",
        }
    }
}

/// A field of a Dfns document that this tool does not know. Its value is ignored and
/// never kept; the name is reported so that an operator can tell Dfns' changes apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    /// The document.
    pub document: DocumentKind,
    /// The field's name (`index.hint` for one nested in `index`).
    pub field: String,
    /// For share documents: the signers whose documents carry it, in response order.
    pub signers: Vec<SignerId>,
}

impl Reconstruction {
    /// Whether the key is the root of an HD tree (its shares carry a chain code).
    pub fn is_hd(&self) -> bool {
        self.chain_code.is_some()
    }

    /// The signers of [`Reconstruction::bad_shares`].
    pub fn bad_signers(&self) -> Vec<SignerId> {
        self.bad_shares
            .iter()
            .map(|b| b.signer_id.clone())
            .collect()
    }
}

/// Decrypts, rebuilds and verifies the key of `response` with `key`.
pub fn reconstruct(response: &ExportResponse, key: &DecryptionKey) -> Result<Reconstruction> {
    let share_count = response.shares.len();
    let t = response.min_signers;
    if t < 2 || t > share_count as u64 {
        return Err(Error::Threshold {
            min_signers: t,
            shares: share_count,
        });
    }
    let mut opened = Vec::with_capacity(share_count);
    let mut bad = Vec::new();
    let mut unknown_fields: Vec<UnknownField> = response
        .unknown_fields
        .iter()
        .map(|field| UnknownField {
            document: DocumentKind::Response,
            field: field.clone(),
            signers: Vec::new(),
        })
        .collect();
    for (position, share) in response.shares.iter().enumerate() {
        let parsed = decrypt_share(key, &share.ciphertext)
            .map_err(|_| ShareFault::Decrypt)
            .and_then(|plaintext| SharePlaintext::parse(&plaintext, response.curve));
        match parsed {
            Ok(plaintext) => {
                for field in &plaintext.unknown_fields {
                    note_share_field(&mut unknown_fields, field, &share.signer_id);
                }
                opened.push(Opened {
                    position,
                    signer_id: share.signer_id.clone(),
                    plaintext,
                })
            }
            Err(fault) => bad.push((
                position,
                BadShare {
                    signer_id: share.signer_id.clone(),
                    fault,
                },
            )),
        }
    }
    let decoded = match response.curve {
        Curve::Secp256k1 => decode::<Secp256k1>(response, opened, bad)?,
        Curve::Ed25519 => decode::<Ed25519>(response, opened, bad)?,
        Curve::Stark => decode::<Stark>(response, opened, bad)?,
    };
    Ok(Reconstruction {
        private_key: decoded.private_key,
        public_key: response.public_key.clone(),
        scheme: response.scheme(),
        min_signers: t,
        share_count,
        used_signers: decoded.used,
        bad_shares: decoded.bad,
        chain_code: decoded.chain_code,
        unknown_fields,
    })
}

fn note_share_field(fields: &mut Vec<UnknownField>, name: &str, signer: &SignerId) {
    match fields
        .iter_mut()
        .find(|f| f.document == DocumentKind::Share && f.field == name)
    {
        Some(known) => {
            if !known.signers.contains(signer) {
                known.signers.push(signer.clone());
            }
        }
        None => fields.push(UnknownField {
            document: DocumentKind::Share,
            field: name.to_owned(),
            signers: vec![signer.clone()],
        }),
    }
}

/// A share that decrypted and parsed.
struct Opened {
    position: usize,
    signer_id: SignerId,
    plaintext: SharePlaintext,
}

/// One usable share as field elements.
struct Point<F: Zeroize> {
    position: usize,
    signer_id: SignerId,
    x: F,
    y: F,
    chain_code: Option<ChainCode>,
}

impl<F: Zeroize> Drop for Point<F> {
    fn drop(&mut self) {
        self.y.zeroize();
    }
}

struct Decoded {
    private_key: PrivateKey,
    used: Vec<SignerId>,
    bad: Vec<BadShare>,
    chain_code: Option<ChainCode>,
}

fn decode<C: CurveOps>(
    response: &ExportResponse,
    opened: Vec<Opened>,
    mut bad: Vec<(usize, BadShare)>,
) -> Result<Decoded> {
    let t = usize::try_from(response.min_signers).unwrap_or(usize::MAX);
    let points = points_of::<C>(opened, &mut bad);
    let usable = set_aside_repeated(points, &mut bad);
    bad.sort_by_key(|(position, _)| *position);
    if usable.len() < t {
        return Err(Error::from_shortfall(Shortfall {
            bad: bad.into_iter().map(|(_, b)| b).collect(),
            usable: usable.len(),
            needed: t,
        }));
    }

    let xs: Vec<C::Scalar> = usable.iter().map(|p| p.x).collect();
    let mut ys: Vec<C::Scalar> = usable.iter().map(|p| p.y).collect();
    let found = find_polynomial::<C>(&xs, &ys, t, &response.public_key);
    ys.zeroize();
    let Some(mut poly) = found.polynomial else {
        return Err(Error::PublicKey {
            public_key: response.public_key.to_hex(),
            suspects: found
                .suspects
                .iter()
                .map(|&i| usable[i].signer_id.clone())
                .collect(),
        });
    };
    let mut fitting = Vec::new();
    for point in &usable {
        if polynomial::evaluate(&poly, &point.x) == point.y {
            fitting.push(point);
        } else {
            bad.push((
                point.position,
                BadShare {
                    signer_id: point.signer_id.clone(),
                    fault: ShareFault::WrongValue,
                },
            ));
        }
    }
    let secret = C::scalar_to_be(&poly[0]);
    poly.zeroize();
    let chain_code = majority_chain_code(&fitting)?;
    let mut used = Vec::new();
    for point in fitting {
        if point.chain_code == chain_code {
            used.push(point.signer_id.clone());
        } else {
            bad.push((
                point.position,
                BadShare {
                    signer_id: point.signer_id.clone(),
                    fault: ShareFault::ChainCode,
                },
            ));
        }
    }
    bad.sort_by_key(|(position, _)| *position);
    Ok(Decoded {
        private_key: PrivateKey::new(response.curve, secret),
        used,
        bad: bad.into_iter().map(|(_, b)| b).collect(),
        chain_code,
    })
}

/// The opened shares as points `(index, secret share)` of the curve's scalar field; a
/// share whose numbers are not scalars, or whose index is zero, is set aside in `bad`.
fn points_of<C: CurveOps>(
    opened: Vec<Opened>,
    bad: &mut Vec<(usize, BadShare)>,
) -> Vec<Point<C::Scalar>> {
    let mut points: Vec<Point<C::Scalar>> = Vec::with_capacity(opened.len());
    for share in opened {
        let x = C::scalar_from_be(&share.plaintext.index);
        let y = C::scalar_from_be(&share.plaintext.secret);
        let fault = match (x, y) {
            (None, _) => Some("index.scalar is not below the curve order"),
            (_, None) => Some("secret_share.scalar is not below the curve order"),
            (Some(x), _) if bool::from(x.is_zero()) => Some("index is zero"),
            (Some(x), Some(y)) => {
                points.push(Point {
                    position: share.position,
                    signer_id: share.signer_id.clone(),
                    x,
                    y,
                    chain_code: share.plaintext.chain_code.clone(),
                });
                None
            }
        };
        if let Some(reason) = fault {
            bad.push((
                share.position,
                BadShare {
                    signer_id: share.signer_id,
                    fault: ShareFault::ShareFormat(reason.into()),
                },
            ));
        }
    }
    points
}

/// The points whose index no other point has; every point of a repeated index is set
/// aside in `bad`.
fn set_aside_repeated<F: PartialEq + Zeroize>(
    points: Vec<Point<F>>,
    bad: &mut Vec<(usize, BadShare)>,
) -> Vec<Point<F>> {
    // Two shares at one index cannot both be right, and nothing says which is:
    // set aside every share of a repeated index.
    let repeated: Vec<bool> = points
        .iter()
        .map(|p| points.iter().filter(|q| q.x == p.x).count() > 1)
        .collect();
    let mut usable = Vec::with_capacity(points.len());
    for (point, repeated) in points.into_iter().zip(repeated) {
        if repeated {
            bad.push((
                point.position,
                BadShare {
                    signer_id: point.signer_id.clone(),
                    fault: ShareFault::DuplicateIndex,
                },
            ));
        } else {
            usable.push(point);
        }
    }
    usable
}

/// The chain code carried by a strict majority of `points` (the shares that fit the
/// verified key), `None` meaning "no chain code"; without a strict majority, the
/// `chain-code` error naming who carries what.
fn majority_chain_code<F: Zeroize>(points: &[&Point<F>]) -> Result<Option<ChainCode>> {
    // Distinct values in order of first appearance, with the points carrying each.
    let mut groups: Vec<(&Option<ChainCode>, Vec<&Point<F>>)> = Vec::new();
    for point in points {
        match groups
            .iter_mut()
            .find(|(value, _)| **value == point.chain_code)
        {
            Some((_, members)) => members.push(point),
            None => groups.push((&point.chain_code, vec![point])),
        }
    }
    if let Some((value, _)) = groups
        .iter()
        .find(|(_, members)| 2 * members.len() > points.len())
    {
        return Ok((*value).clone());
    }
    groups.sort_by_key(|(_, members)| std::cmp::Reverse(members.len()));
    Err(Error::ChainCode {
        used: points.len(),
        groups: groups
            .into_iter()
            .map(|(value, members)| ChainCodeGroup {
                has_code: value.is_some(),
                signers: members.iter().map(|p| p.signer_id.clone()).collect(),
            })
            .collect(),
    })
}

/// The outcome of the search for the key polynomial.
struct Search<F> {
    /// The polynomial whose constant term generates the public key.
    polynomial: Option<Vec<F>>,
    /// Without one: indexes of points that disagreed with the best candidate.
    suspects: Vec<usize>,
}

fn find_polynomial<C: CurveOps>(
    xs: &[C::Scalar],
    ys: &[C::Scalar],
    t: usize,
    public_key: &PublicKey,
) -> Search<C::Scalar> {
    let mut suspects = Vec::new();
    if let Some(mut poly) = polynomial::berlekamp_welch(xs, ys, t) {
        if public_key.is_generated_by::<C>(&poly[0]) {
            return Search {
                polynomial: Some(poly),
                suspects,
            };
        }
        suspects = (0..xs.len())
            .filter(|&i| polynomial::evaluate(&poly, &xs[i]) != ys[i])
            .collect();
        poly.zeroize();
    }
    if binomial(xs.len() as u64, t as u64) <= MAX_SUBSETS {
        let mut subset: Vec<usize> = (0..t).collect();
        loop {
            let sx: Vec<C::Scalar> = subset.iter().map(|&i| xs[i]).collect();
            let mut sy: Vec<C::Scalar> = subset.iter().map(|&i| ys[i]).collect();
            let mut poly = polynomial::interpolate(&sx, &sy);
            sy.zeroize();
            if let Some(poly) = poly.take_if(|p| public_key.is_generated_by::<C>(&p[0])) {
                return Search {
                    polynomial: Some(poly),
                    suspects: Vec::new(),
                };
            }
            if let Some(mut p) = poly {
                p.zeroize();
            }
            if !next_subset(&mut subset, xs.len()) {
                break;
            }
        }
    }
    Search {
        polynomial: None,
        suspects,
    }
}

/// Advances `subset` (sorted indexes into `0..n`) to the next combination.
fn next_subset(subset: &mut [usize], n: usize) -> bool {
    let k = subset.len();
    for i in (0..k).rev() {
        if subset[i] < n - k + i {
            subset[i] += 1;
            for j in i + 1..k {
                subset[j] = subset[j - 1] + 1;
            }
            return true;
        }
    }
    false
}

/// `n choose k`, saturating.
fn binomial(n: u64, k: u64) -> u64 {
    let k = k.min(n.saturating_sub(k));
    let mut result: u64 = 1;
    for i in 0..k {
        result = match result.checked_mul(n - i) {
            Some(v) => v / (i + 1),
            None => return u64::MAX,
        };
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_enumerate_all_combinations() {
        let mut subset = vec![0, 1];
        let mut count = 1;
        while next_subset(&mut subset, 5) {
            count += 1;
        }
        assert_eq!(count, 10);
        assert_eq!(binomial(5, 2), 10);
        assert_eq!(binomial(31, 16), 300_540_195);
        assert_eq!(binomial(200, 100), u64::MAX);
    }
}
