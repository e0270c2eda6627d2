//! Quorum custody of the decryption key: Shamir split with Feldman commitments.
//!
//! The decryption key `d` is the constant term of a random polynomial `f` of degree
//! `K−1` over the secp256k1 scalar field; custodian `i` (1-based) holds `f(i)`. Every
//! part carries the commitments `C_j = a_j·G` to the coefficients, so a part can be
//! checked alone (`f(i)·G == Σ C_j·iʲ`) and `C_0` is the request's encryption key:
//! the parts are bound to one ceremony. Any `K` good parts rebuild `d`; a wrong or
//! foreign part is named, not used.
//!
//! `C_0` alone does not bind a part to the others: whoever knows a custodian's age
//! recipient can forge that custodian's part with a share `y` of their choice and
//! `C_1 = y·G − C_0`, which passes the part's own check. So the whole commitment set is
//! what binds the parts: [`CommitmentsDigest`] (SHA-256 of the set) is recorded at `init`
//! in the request and the transcript, and parts are grouped by it ([`select`]). A forger
//! who cannot compute discrete logarithms can make at most `K−1` parts consistent with a
//! set whose `C_0` is the ceremony's, so a group of `K` parts sharing one set is the
//! genuine split, and every `K` of them rebuild `d` (interpolation is linear:
//! `Σ λ_i f(i)·G = C_0`); a part whose set differs is named as the odd one out. Parts
//! written before the digest existed carry the same commitments and are grouped the same way.
//!
//! A part names what its ceremony exports, for people and for `reconstruct`'s checks: the
//! one Dfns key (`keyId`) of a single-key ceremony, or the keys of a batch ceremony
//! (`keyIds`), never both. Single-key parts written before batches existed
//! parse unchanged.

use std::fmt::Write as _;

use ff::Field;
use k256::elliptic_curve::PrimeField;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::{ProjectivePoint, Scalar};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::files::{CeremonyId, KeyId};
use crate::keys::{DecryptionKey, EncryptionKey};
use crate::reconstruct::polynomial::interpolate;
use crate::{Error, Result};

/// `kind` of a custody part document.
pub const PART_KIND: &str = "keyexport-custody-part";
const PART_DOC: &str = "the custody part";
/// Most custodians supported.
pub const MAX_CUSTODIANS: u8 = 16;

/// Domain separation of [`CommitmentsDigest`].
const COMMITMENTS_DOMAIN: &[u8] = b"keyexport-custody-commitments-v1";

pub use crate::files::CommitmentsDigest;

/// The digest of a commitment set: SHA-256 of a domain tag, then each commitment as a
/// compressed point (33 bytes), so every encoding of the same points has the same digest.
fn digest_of(points: &[ProjectivePoint]) -> CommitmentsDigest {
    let mut hasher = Sha256::new();
    hasher.update(COMMITMENTS_DOMAIN);
    for point in points {
        hasher.update(point.to_affine().to_encoded_point(true).as_bytes());
    }
    CommitmentsDigest::from_sha256(hasher.finalize().into())
}

/// One custodian's part of the decryption key. Secret: wiped on drop, `Debug` redacted.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustodyPart {
    kind: String,
    version: u32,
    /// The ceremony the key belongs to.
    pub ceremony_id: CeremonyId,
    /// The Dfns key a single-key ceremony exports (absent for a batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<KeyId>,
    /// The Dfns keys a batch ceremony exports (absent for a single key).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_ids: Vec<KeyId>,
    /// Who holds this part.
    pub label: String,
    /// The part's index `i` (1-based).
    pub index: u8,
    /// Parts needed (`K`).
    pub quorum: u8,
    /// Parts made (`M`).
    pub custodians: u8,
    /// Feldman commitments `C_0..C_{K−1}`, compressed points in hex; `C_0` is the
    /// encryption key's point.
    pub commitments: Vec<String>,
    /// `f(i)`, 64 hex characters.
    share: Zeroizing<String>,
}

impl std::fmt::Debug for CustodyPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CustodyPart({} #{} of {}, <secret>)",
            self.ceremony_id, self.index, self.custodians
        )
    }
}

/// Why a part cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PartFault {
    /// The share does not match the part's own commitments: it was modified.
    #[error("its share does not match its commitments (the part was modified)")]
    Inconsistent,
    /// The commitments bind it to another encryption key or ceremony.
    #[error("it belongs to another ceremony ({0})")]
    ForeignCeremony(String),
    /// A single-key ceremony's part given for a batch (the ceremony and key it names).
    #[error("it is the part of a single-key ceremony ({0}), not of a batch")]
    SingleKeyPart(String),
    /// Another part already has this index.
    #[error("its index {0} was already given by another part")]
    DuplicateIndex(u8),
    /// The part document is malformed.
    #[error("it is malformed: {0}")]
    Malformed(String),
    /// Its commitment set is not the one recorded for the ceremony (in the request or
    /// the transcript): the part was forged or comes from another split.
    #[error(
        "its commitments (sha256 {found}) are not the ceremony's ({expected}): the part was forged or comes from another split"
    )]
    NotTheRecordedCommitments {
        /// The part's digest (shortened).
        found: String,
        /// The recorded digest (shortened).
        expected: String,
    },
    /// Its commitment set differs from that of the parts that rebuild the key.
    #[error(
        "its commitments (sha256 {found}) differ from those of the {agreeing} parts that agree ({expected}): the part was forged or comes from another split"
    )]
    OddOneOut {
        /// The part's digest (shortened).
        found: String,
        /// The agreeing parts' digest (shortened).
        expected: String,
        /// How many parts agree.
        agreeing: usize,
    },
    /// No set of parts large enough agrees, and this part's set differs from another's.
    #[error(
        "its commitments (sha256 {0}) differ from another part's, and too few parts agree to tell which is genuine: one was forged or comes from another split (custody verify --request names it)"
    )]
    CommitmentsDisagree(String),
}

impl CustodyPart {
    /// Serialized part (JSON), to be sealed for its custodian. Wiped after use.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(
            serde_json::to_vec_pretty(self).expect("a struct of strings serializes to JSON"),
        )
    }

    /// Parses a part (after unsealing). Checks only the shape; see [`CustodyPart::check`].
    pub fn from_bytes(bytes: &[u8]) -> Result<CustodyPart> {
        // The part holds a secret share: errors give a position or a key name, never
        // content.
        crate::json::check_unique_keys(bytes, PART_DOC)?;
        let part: CustodyPart = serde_json::from_slice(bytes).map_err(|e| Error::Json {
            document: PART_DOC,
            reason: format!("line {} column {}", e.line(), e.column()),
        })?;
        if part.kind != PART_KIND || part.version != 1 {
            return Err(Error::WrongDocument {
                expected: "a keyexport custody part (version 1)",
                found: format!("kind {:?} version {}", part.kind, part.version),
            });
        }
        let unique: std::collections::HashSet<&str> =
            part.key_ids.iter().map(KeyId::as_str).collect();
        let keys_fault = match (&part.key_id, part.key_ids.len()) {
            (Some(_), 0) => None,
            (Some(_), _) => Some("a part names either keyId or keyIds, not both"),
            (None, 0) => Some("missing field keyId (or keyIds for a batch)"),
            (None, 1) => Some("keyIds of a batch lists two or more keys"),
            (None, n) if unique.len() != n => Some("keyIds lists a key twice"),
            (None, _) => None,
        };
        if let Some(reason) = keys_fault {
            return Err(Error::InvalidField {
                document: PART_DOC,
                field: "keyIds".into(),
                reason: reason.into(),
            });
        }
        Ok(part)
    }

    /// Whether this is a part of a batch ceremony (it names `keyIds`).
    pub fn is_batch(&self) -> bool {
        self.key_id.is_none()
    }

    /// What the ceremony exports, for messages: `key ID` or `a batch of N keys`.
    pub fn describe_keys(&self) -> String {
        match &self.key_id {
            Some(id) => format!("key {id}"),
            None => format!("a batch of {} keys", self.key_ids.len()),
        }
    }

    /// The encryption key this part is bound to (`C_0`).
    pub fn encryption_key(&self) -> Result<EncryptionKey, PartFault> {
        let c0 = self
            .commitments
            .first()
            .ok_or_else(|| PartFault::Malformed("no commitments".into()))?;
        let bytes =
            hex::decode(c0).map_err(|_| PartFault::Malformed("commitment is not hex".into()))?;
        let mut dfns = vec![0x01];
        dfns.extend_from_slice(&bytes);
        EncryptionKey::from_dfns_bytes(&dfns)
            .map_err(|_| PartFault::Malformed("commitment is not a point".into()))
    }

    /// Checks the part alone: well formed, and its share matches its commitments.
    pub fn check(&self) -> Result<(), PartFault> {
        if self.quorum < 2 || self.quorum > self.custodians || self.custodians > MAX_CUSTODIANS {
            return Err(PartFault::Malformed(format!(
                "quorum {} of {}",
                self.quorum, self.custodians
            )));
        }
        if self.index == 0 || self.index > self.custodians {
            return Err(PartFault::Malformed(format!(
                "index {} of {}",
                self.index, self.custodians
            )));
        }
        if self.commitments.len() != usize::from(self.quorum) {
            return Err(PartFault::Malformed(
                "commitment count differs from the quorum".into(),
            ));
        }
        let points = self.commitment_points()?;
        let mut share = self.share_scalar()?;
        let x = Scalar::from(u64::from(self.index));
        let expected = points
            .iter()
            .rev()
            .fold(ProjectivePoint::IDENTITY, |acc, c| acc * x + c);
        let matches = ProjectivePoint::GENERATOR * share == expected;
        share.zeroize();
        if matches {
            Ok(())
        } else {
            Err(PartFault::Inconsistent)
        }
    }

    fn commitment_points(&self) -> Result<Vec<ProjectivePoint>, PartFault> {
        self.commitments
            .iter()
            .map(|c| {
                let bytes = hex::decode(c)
                    .map_err(|_| PartFault::Malformed("commitment is not hex".into()))?;
                k256::PublicKey::from_sec1_bytes(&bytes)
                    .map(|p| p.to_projective())
                    .map_err(|_| PartFault::Malformed("commitment is not a point".into()))
            })
            .collect()
    }

    /// The digest of this part's commitment set, which all parts of its split share.
    pub fn commitments_digest(&self) -> Result<CommitmentsDigest, PartFault> {
        Ok(digest_of(&self.commitment_points()?))
    }

    /// Checks that the part carries the commitment set recorded for its ceremony.
    pub fn check_recorded(&self, recorded: &CommitmentsDigest) -> Result<(), PartFault> {
        let found = self.commitments_digest()?;
        if &found == recorded {
            Ok(())
        } else {
            Err(PartFault::NotTheRecordedCommitments {
                found: found.short().to_owned(),
                expected: recorded.short().to_owned(),
            })
        }
    }

    fn share_scalar(&self) -> Result<Scalar, PartFault> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(self.share.as_str(), bytes.as_mut_slice())
            .map_err(|_| PartFault::Malformed("share is not 64 hex characters".into()))?;
        Option::from(Scalar::from_repr((*bytes).into()))
            .ok_or_else(|| PartFault::Malformed("share is out of range".into()))
    }
}

/// Splits `key` into `custodians` parts of which any `quorum` rebuild it. `key_ids` are
/// the ceremony's keys: one for a single-key ceremony, two or more for a batch.
pub fn split(
    key: &DecryptionKey,
    ceremony_id: &CeremonyId,
    key_ids: &[KeyId],
    labels: &[String],
    quorum: u8,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<CustodyPart>> {
    let custodians = u8::try_from(labels.len()).unwrap_or(u8::MAX);
    if quorum < 2 || quorum > custodians || custodians > MAX_CUSTODIANS {
        return Err(Error::InvalidField {
            document: "the custody settings",
            field: "quorum".into(),
            reason: format!(
                "need 2 ≤ quorum ({quorum}) ≤ custodians ({custodians}) ≤ {MAX_CUSTODIANS}"
            ),
        });
    }
    let (key_id, batch_ids) = match key_ids {
        [] => {
            return Err(Error::InvalidField {
                document: "the custody settings",
                field: "keyIds".into(),
                reason: "no key id".into(),
            });
        }
        [one] => (Some(one.clone()), Vec::new()),
        many => (None, many.to_vec()),
    };
    let mut coefficients = vec![*key.scalar()];
    coefficients.extend((1..quorum).map(|_| Scalar::random(&mut *rng)));
    let commitments: Vec<String> = coefficients
        .iter()
        .map(|a| {
            hex::encode(
                (ProjectivePoint::GENERATOR * a)
                    .to_affine()
                    .to_encoded_point(true)
                    .as_bytes(),
            )
        })
        .collect();
    let parts = labels
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let index = u8::try_from(i + 1).expect("at most 16 custodians");
            let x = Scalar::from(u64::from(index));
            let mut y = coefficients
                .iter()
                .rev()
                .fold(Scalar::ZERO, |acc, c| acc * x + c);
            let mut repr: [u8; 32] = y.to_bytes().into();
            // Written in place into its final buffer (64 characters fit the capacity), so
            // the share never passes through an unwiped temporary.
            let mut share = Zeroizing::new(String::with_capacity(64));
            for byte in repr {
                let _ = write!(share, "{byte:02x}");
            }
            repr.zeroize();
            y.zeroize();
            CustodyPart {
                kind: PART_KIND.into(),
                version: 1,
                ceremony_id: ceremony_id.clone(),
                key_id: key_id.clone(),
                key_ids: batch_ids.clone(),
                label: label.clone(),
                index,
                quorum,
                custodians,
                commitments: commitments.clone(),
                share,
            }
        })
        .collect();
    coefficients.zeroize();
    Ok(parts)
}

/// Which of a set of individually checked parts (each consistent with its own
/// commitments, all with the ceremony's `C_0`) belong to the genuine split.
#[derive(Debug, Default)]
pub struct Selection {
    /// Positions of the usable parts: one split's, each index once, in the order given.
    pub usable: Vec<usize>,
    /// Positions of the parts set aside, and why.
    pub set_aside: Vec<(usize, PartFault)>,
}

/// Groups `parts` by commitment set. The group with `K` distinct indexes (`K` = its
/// quorum) is the genuine split: at most one can exist (see the module documentation). Its
/// parts are usable, a repeated index is set aside, and every part of another set is named
/// as the odd one out. When no group is complete and the sets differ, no part can be told
/// genuine: all are set aside, each naming its set. When all parts share one set, all are
/// usable (the caller counts them against the quorum).
pub fn select(parts: &[&CustodyPart]) -> Selection {
    let mut selection = Selection::default();
    let mut groups: Vec<(CommitmentsDigest, Vec<usize>)> = Vec::new();
    for (position, part) in parts.iter().enumerate() {
        match part.commitments_digest() {
            Err(fault) => selection.set_aside.push((position, fault)),
            Ok(digest) => match groups.iter_mut().find(|(d, _)| d == &digest) {
                Some((_, members)) => members.push(position),
                None => groups.push((digest, vec![position])),
            },
        }
    }
    let distinct = |members: &[usize]| {
        members
            .iter()
            .map(|&m| parts[m].index)
            .collect::<std::collections::BTreeSet<u8>>()
            .len()
    };
    let complete: Vec<usize> = groups
        .iter()
        .enumerate()
        .filter(|(_, (_, members))| {
            members
                .first()
                .is_some_and(|&m| distinct(members) >= usize::from(parts[m].quorum))
        })
        .map(|(g, _)| g)
        .collect();
    let chosen = match (complete.as_slice(), groups.len()) {
        ([one], _) => Some(*one),
        ([], 1) => Some(0),
        _ => None,
    };
    for (g, (digest, members)) in groups.iter().enumerate() {
        for &position in members {
            let fault = match chosen {
                Some(c) if c == g => {
                    let index = parts[position].index;
                    if selection.usable.iter().any(|&u| parts[u].index == index) {
                        Some(PartFault::DuplicateIndex(index))
                    } else {
                        None
                    }
                }
                Some(c) => Some(PartFault::OddOneOut {
                    found: digest.short().to_owned(),
                    expected: groups[c].0.short().to_owned(),
                    agreeing: distinct(&groups[c].1),
                }),
                None => Some(PartFault::CommitmentsDisagree(digest.short().to_owned())),
            };
            match fault {
                Some(fault) => selection.set_aside.push((position, fault)),
                None => selection.usable.push(position),
            }
        }
    }
    selection.usable.sort_unstable();
    selection.set_aside.sort_by_key(|(position, _)| *position);
    selection
}

/// The outcome of combining parts.
#[derive(Debug)]
pub struct Combined {
    /// The rebuilt decryption key (checked against `C_0`).
    pub key: DecryptionKey,
    /// Labels of the parts used.
    pub used: Vec<String>,
    /// Labels of the parts set aside, and why.
    pub rejected: Vec<(String, PartFault)>,
    /// The commitment set of the parts used.
    pub commitments: CommitmentsDigest,
}

/// Each part's own checks and its ceremony: the parts that pass, and the others labelled
/// with their fault.
fn check_each<'a>(
    parts: &'a [CustodyPart],
    expected: &EncryptionKey,
) -> (Vec<&'a CustodyPart>, Vec<(String, PartFault)>) {
    let mut checked = Vec::new();
    let mut rejected = Vec::new();
    for part in parts {
        let fault = match part.check() {
            Err(fault) => Some(fault),
            Ok(()) => match part.encryption_key() {
                Ok(key) if &key != expected => {
                    Some(PartFault::ForeignCeremony(part.ceremony_id.to_string()))
                }
                Err(fault) => Some(fault),
                Ok(_) => None,
            },
        };
        match fault {
            Some(fault) => rejected.push((part.label.clone(), fault)),
            None => checked.push(part),
        }
    }
    (checked, rejected)
}

/// Rebuilds the decryption key from parts of the ceremony whose encryption key is
/// `expected`. Each part is checked; bad and foreign ones, and parts of another commitment
/// set than the genuine split's ([`select`]), are set aside and named.
pub fn combine(parts: &[CustodyPart], expected: &EncryptionKey) -> Result<Combined> {
    let (checked, mut rejected) = check_each(parts, expected);
    let selection = select(&checked);
    rejected.extend(
        selection
            .set_aside
            .into_iter()
            .map(|(position, fault)| (checked[position].label.clone(), fault)),
    );
    let good: Vec<&CustodyPart> = selection.usable.iter().map(|&u| checked[u]).collect();
    let quorum = good.first().map(|p| usize::from(p.quorum)).unwrap_or(2);
    if good.len() < quorum {
        let reasons: Vec<String> = rejected.iter().map(|(l, f)| format!("{l}: {f}")).collect();
        return Err(Error::InvalidField {
            document: "the custody parts",
            field: "quorum".into(),
            reason: format!(
                "{} good part(s), {quorum} needed{}",
                good.len(),
                if reasons.is_empty() {
                    String::new()
                } else {
                    format!(" (set aside: {})", reasons.join("; "))
                }
            ),
        });
    }
    let chosen = &good[..quorum];
    let commitments = chosen[0]
        .commitments_digest()
        .map_err(|f| Error::InvalidField {
            document: "the custody parts",
            field: chosen[0].label.clone(),
            reason: f.to_string(),
        })?;
    let xs: Vec<Scalar> = chosen
        .iter()
        .map(|p| Scalar::from(u64::from(p.index)))
        .collect();
    let mut ys = Zeroizing::new(Vec::with_capacity(quorum));
    for part in chosen {
        ys.push(part.share_scalar().map_err(|f| Error::InvalidField {
            document: "the custody parts",
            field: part.label.clone(),
            reason: f.to_string(),
        })?);
    }
    // The key is the constant term of the polynomial through the parts.
    let polynomial = Zeroizing::new(interpolate(&xs, &ys).ok_or_else(|| Error::InvalidField {
        document: "the custody parts",
        field: "index".into(),
        reason: "two parts carry the same index".into(),
    })?);
    let secret = Zeroizing::new(polynomial.first().copied().unwrap_or(Scalar::ZERO));
    let mut bytes = Zeroizing::new([0u8; 33]);
    bytes[0] = 0x01;
    let mut repr: [u8; 32] = secret.to_bytes().into();
    bytes[1..].copy_from_slice(&repr);
    repr.zeroize();
    let key = DecryptionKey::from_dfns_bytes(&bytes)?;
    if &key.encryption_key() != expected {
        return Err(Error::InvalidField {
            document: "the custody parts",
            field: "commitments".into(),
            reason: "the parts rebuild a key that is not the ceremony's encryption key".into(),
        });
    }
    Ok(Combined {
        key,
        used: chosen.iter().map(|p| p.label.clone()).collect(),
        rejected,
        commitments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn key_id() -> KeyId {
        KeyId::new("key-01custody").unwrap()
    }

    fn labels(m: usize) -> Vec<String> {
        (1..=m).map(|i| format!("custodian-{i}")).collect()
    }

    /// `key` split among `m` custodians, quorum `k`, for the one key [`key_id`] of
    /// `ceremony`.
    fn split_one(
        key: &DecryptionKey,
        ceremony: &CeremonyId,
        m: usize,
        k: u8,
        rng: &mut impl CryptoRngCore,
    ) -> Vec<CustodyPart> {
        split(
            key,
            ceremony,
            std::slice::from_ref(&key_id()),
            &labels(m),
            k,
            rng,
        )
        .unwrap()
    }

    /// A generator seeded with `seed`, a decryption key drawn from it, and that key split
    /// among `m` custodians, quorum 2, for one key of a new ceremony.
    fn fresh_split(seed: u64, m: usize) -> (StdRng, DecryptionKey, Vec<CustodyPart>) {
        let mut rng = StdRng::seed_from_u64(seed);
        let key = DecryptionKey::generate_with(&mut rng);
        let parts = split_one(&key, &CeremonyId::generate(), m, 2, &mut rng);
        (rng, key, parts)
    }

    #[test]
    fn every_quorum_of_every_split_up_to_five() {
        let mut rng = StdRng::seed_from_u64(9);
        let ceremony = CeremonyId::generate();
        for m in 2..=5usize {
            for k in 2..=m {
                let key = DecryptionKey::generate_with(&mut rng);
                let parts = split_one(&key, &ceremony, m, k as u8, &mut rng);
                for part in &parts {
                    part.check().unwrap();
                    let again = CustodyPart::from_bytes(&part.to_bytes()).unwrap();
                    assert_eq!(again.encryption_key().unwrap(), key.encryption_key());
                }
                // Every window of k consecutive parts, and the last k.
                for start in 0..=m - k {
                    let combined =
                        combine(&parts[start..start + k], &key.encryption_key()).unwrap();
                    assert_eq!(combined.key.encryption_key(), key.encryption_key());
                }
                let short = combine(&parts[..k - 1], &key.encryption_key()).unwrap_err();
                assert!(short.to_string().contains("needed"), "{short}");
            }
        }
    }

    #[test]
    fn modified_and_foreign_parts_are_named_and_outvoted() {
        let (mut rng, key, mut parts) = fresh_split(10, 4);
        let other = DecryptionKey::generate_with(&mut rng);
        let foreign = split_one(&other, &CeremonyId::generate(), 2, 2, &mut rng);
        parts[0].share = Zeroizing::new(hex::encode(Scalar::from(5u64).to_bytes()));
        assert_eq!(parts[0].check(), Err(PartFault::Inconsistent));
        let mixed = vec![
            parts[0].clone(),
            foreign[0].clone(),
            parts[2].clone(),
            parts[3].clone(),
        ];
        let combined = combine(&mixed, &key.encryption_key()).unwrap();
        assert_eq!(combined.key.encryption_key(), key.encryption_key());
        assert_eq!(combined.rejected.len(), 2);
        assert_eq!(combined.rejected[0].1, PartFault::Inconsistent);
        assert!(matches!(
            combined.rejected[1].1,
            PartFault::ForeignCeremony(_)
        ));
        assert!(!format!("{:?}", parts[2]).contains(parts[2].share.as_str()));
    }

    /// A part for index `index` forged from the public `C_0` of `genuine`: share `y`,
    /// `C_1 = (y·G − C_0) / index` (quorum 2), consistent with its own commitments.
    fn forged(genuine: &CustodyPart, index: u8, rng: &mut impl CryptoRngCore) -> CustodyPart {
        let c0 = genuine.commitment_points().unwrap()[0];
        let y = Scalar::random(&mut *rng);
        let inverse = Option::<Scalar>::from(Scalar::from(u64::from(index)).invert()).unwrap();
        let c1 = (ProjectivePoint::GENERATOR * y - c0) * inverse;
        let mut part = genuine.clone();
        part.index = index;
        part.label = format!("forger-{index}");
        part.commitments[1] = hex::encode(c1.to_affine().to_encoded_point(true).as_bytes());
        part.share = Zeroizing::new(hex::encode(y.to_bytes()));
        part
    }

    #[test]
    fn a_forged_part_is_the_odd_one_out_and_the_recorded_digest_refuses_it() {
        let (mut rng, key, parts) = fresh_split(13, 3);
        let recorded = parts[0].commitments_digest().unwrap();
        let fake = forged(&parts[1], 1, &mut rng);
        // The forgery passes every check a part can make alone, and has the ceremony's C_0.
        fake.check().unwrap();
        assert_eq!(fake.encryption_key().unwrap(), key.encryption_key());
        assert!(matches!(
            fake.check_recorded(&recorded),
            Err(PartFault::NotTheRecordedCommitments { .. })
        ));
        parts[1].check_recorded(&recorded).unwrap();

        // Forged + two genuine: rebuilt from the genuine two, the forged one named.
        let mixed = vec![fake.clone(), parts[1].clone(), parts[2].clone()];
        let combined = combine(&mixed, &key.encryption_key()).unwrap();
        assert_eq!(combined.key.encryption_key(), key.encryption_key());
        assert_eq!(combined.used, ["custodian-2", "custodian-3"]);
        assert_eq!(combined.commitments, recorded);
        assert_eq!(combined.rejected.len(), 1);
        assert_eq!(combined.rejected[0].0, "forger-1");
        assert!(matches!(
            combined.rejected[0].1,
            PartFault::OddOneOut { agreeing: 2, .. }
        ));

        // Forged + one genuine (the quorum): no set is complete, both are named.
        let selection = select(&[&fake, &parts[2]]);
        assert!(selection.usable.is_empty());
        assert_eq!(selection.set_aside.len(), 2);
        assert!(
            selection
                .set_aside
                .iter()
                .all(|(_, f)| matches!(f, PartFault::CommitmentsDisagree(_)))
        );
        assert!(combine(&[fake, parts[2].clone()], &key.encryption_key()).is_err());

        // The same genuine part twice: one is used, the repeat named.
        let selection = select(&[&parts[0], &parts[0], &parts[2]]);
        assert_eq!(selection.usable, [0, 2]);
        assert_eq!(selection.set_aside, [(1, PartFault::DuplicateIndex(1))]);
    }

    #[test]
    fn the_commitments_digest_ignores_the_point_encoding() {
        let (_, _, parts) = fresh_split(14, 2);
        let mut uncompressed = parts[0].clone();
        uncompressed.commitments = parts[0]
            .commitment_points()
            .unwrap()
            .iter()
            .map(|p| hex::encode(p.to_affine().to_encoded_point(false).as_bytes()))
            .collect();
        uncompressed.check().unwrap();
        assert_eq!(
            uncompressed.commitments_digest().unwrap(),
            parts[1].commitments_digest().unwrap()
        );
        let digest = parts[0].commitments_digest().unwrap();
        assert_eq!(digest.as_str().len(), 64);
        assert!(CommitmentsDigest::try_from(digest.to_string()).is_ok());
        assert!(CommitmentsDigest::try_from(digest.as_str().to_uppercase()).is_err());
    }

    /// A single-key part as written before batch parts existed (share and commitments
    /// from a real split, so it also passes `check`).
    fn single_key_document(part: &CustodyPart) -> serde_json::Value {
        serde_json::json!({
            "kind": PART_KIND,
            "version": 1,
            "ceremonyId": part.ceremony_id.to_string(),
            "keyId": "key-01custody",
            "label": part.label,
            "index": part.index,
            "quorum": part.quorum,
            "custodians": part.custodians,
            "commitments": part.commitments,
            "share": part.share.as_str(),
        })
    }

    #[test]
    fn single_key_parts_parse_as_before_and_batch_parts_name_their_keys() {
        let mut rng = StdRng::seed_from_u64(11);
        let key = DecryptionKey::generate_with(&mut rng);
        let ceremony = CeremonyId::generate();
        let single = split_one(&key, &ceremony, 2, 2, &mut rng);
        let old = single_key_document(&single[0]);
        let parsed = CustodyPart::from_bytes(&serde_json::to_vec(&old).unwrap()).unwrap();
        parsed.check().unwrap();
        assert_eq!(parsed.key_id, Some(key_id()));
        assert!(!parsed.is_batch());
        // Written back exactly as the old format: no keyIds member.
        let again: serde_json::Value = serde_json::from_slice(&parsed.to_bytes()).unwrap();
        assert_eq!(again, old);

        let ids: Vec<KeyId> = ["key-a", "key-b", "key-c"]
            .iter()
            .map(|i| KeyId::new(i).unwrap())
            .collect();
        let batch = split(&key, &ceremony, &ids, &labels(3), 2, &mut rng).unwrap();
        let parsed = CustodyPart::from_bytes(&batch[1].to_bytes()).unwrap();
        assert!(parsed.is_batch() && parsed.key_id.is_none());
        assert_eq!(parsed.key_ids, ids);
        assert_eq!(parsed.describe_keys(), "a batch of 3 keys");
        let document: serde_json::Value = serde_json::from_slice(&parsed.to_bytes()).unwrap();
        assert!(document.get("keyId").is_none());
        let combined = combine(&batch[1..], &key.encryption_key()).unwrap();
        assert_eq!(combined.key.encryption_key(), key.encryption_key());
        assert!(split(&key, &ceremony, &[], &labels(2), 2, &mut rng).is_err());
    }

    #[test]
    fn part_documents_are_parsed_strictly() {
        let (_, _, single) = fresh_split(12, 2);
        let base = single_key_document(&single[0]);
        let variants: [(&str, serde_json::Value); 5] = [
            ("both", serde_json::json!({"keyIds": ["key-a", "key-b"]})),
            ("unknown member", serde_json::json!({"batch": true})),
            (
                "one batch key",
                serde_json::json!({"keyId": null, "keyIds": ["key-a"]}),
            ),
            (
                "repeated batch key",
                serde_json::json!({"keyId": null, "keyIds": ["key-a", "key-a"]}),
            ),
            ("no key", serde_json::json!({"keyId": null})),
        ];
        for (case, changes) in variants {
            let mut document = base.clone();
            for (name, value) in changes.as_object().unwrap() {
                if value.is_null() {
                    document.as_object_mut().unwrap().remove(name);
                } else {
                    document[name] = value.clone();
                }
            }
            assert!(
                CustodyPart::from_bytes(&serde_json::to_vec(&document).unwrap()).is_err(),
                "{case} was accepted"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn batch_parts_round_trip(count in 2usize..40, m in 2u8..6) {
            let mut rng = StdRng::seed_from_u64(u64::try_from(count).unwrap());
            let key = DecryptionKey::generate_with(&mut rng);
            let ids: Vec<KeyId> = (0..count)
                .map(|i| KeyId::new(&format!("key-{i:03}")).unwrap())
                .collect();
            let parts = split(&key, &CeremonyId::generate(), &ids, &labels(usize::from(m)), 2, &mut rng)
                .unwrap();
            for part in &parts {
                let again = CustodyPart::from_bytes(&part.to_bytes()).unwrap();
                again.check().unwrap();
                proptest::prop_assert_eq!(&again.key_ids, &ids);
                proptest::prop_assert_eq!(again.to_bytes(), part.to_bytes());
            }
        }
    }
}
