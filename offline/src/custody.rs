//! Quorum custody of the decryption key: `init --custodians M --quorum K`,
//! `reconstruct` with K or more parts, and `custody verify PART`. The key of a batch
//! ceremony is split the same way: its parts name the batch's keys (`keyIds`)
//! instead of one key id, a batch `reconstruct` opens them once for every key and refuses
//! a single-key ceremony's parts by name, and `custody verify` takes a batch request.
//!
//! The math (Shamir split over the secp256k1 scalar field, Feldman commitments, `C_0` =
//! the request's encryption key) is `keyexport_shared::custody`; this module gives it a
//! command line. Each part is its own armored age file `LABEL.decryption-key-part.age`
//! (mode 0600), sealed either with the custodian's passphrase (scrypt, like the whole
//! sealed key) or to the custodian's age X25519 recipient. Nothing is stored outside the
//! seal: the label is in the file name, and the transcript records each part's label,
//! index, sealing and digest, so a custodian without the passphrase learns nothing from
//! the file but its name.
//!
//! `reconstruct` unseals every part it is given (passphrases from repeated
//! `--passphrase-file`, in the order of the passphrase-sealed parts, or asked on the
//! terminal naming each custodian), checks each against its commitments, and sets aside,
//! naming the custodian, any part that does not unseal, was modified, repeats an index,
//! belongs to another ceremony, or carries another commitment set than the parts that
//! agree (a forged part: see `keyexport_shared::custody`). It goes on with K good parts,
//! and otherwise stops with a threshold error that lists what was set aside.
//!
//! The commitment set's digest is recorded at `init` in the request
//! (`custodyCommitmentsSha256`) and the transcript; `custody verify --request` refuses a part
//! whose set is not the request's, and refuses a request that records none (made before
//! the digest existed), since it could not tell a forged part from a genuine one.

use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::armor::ArmoredReader;
use age::secrecy::SecretString;
use keyexport_shared::batch::BatchRequestFile;
use keyexport_shared::custody::{self, CommitmentsDigest, CustodyPart, MAX_CUSTODIANS, PartFault};
use keyexport_shared::display::Escaped;
use keyexport_shared::files::{Artifact, CeremonyId, KeyId};
use keyexport_shared::keys::{DecryptionKey, EncryptionKey};
use rand_core::OsRng;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::airgap;
use crate::cli::{CustodyVerifyArgs, InitArgs, ReconstructArgs};
use crate::error::{CliError, CliResult, PassphraseOrigin};
use crate::passphrase::{self, Confirm};
use crate::reconstruct::OpenedKey;
use crate::render;
use crate::seal;
use crate::transcript::{ArtifactRecord, Entry};

/// File name suffix of a custody part: `LABEL.decryption-key-part.age`.
pub const PART_SUFFIX: &str = ".decryption-key-part.age";
/// Longest custodian label.
const MAX_LABEL: usize = 32;

/// How one custodian's part is sealed.
enum Sealing {
    /// With the custodian's passphrase (scrypt).
    Passphrase(SecretString),
    /// To the custodian's age X25519 recipient.
    Recipient(age::x25519::Recipient),
}

/// What `init --custodians` will make, settled before the key exists.
pub struct Plan {
    quorum: u8,
    custodians: Vec<(String, Sealing)>,
}

/// One sealed part, ready to be written.
pub struct PartFile {
    /// Its file name in the ceremony folder.
    pub file_name: String,
    /// The armored age file.
    pub bytes: Vec<u8>,
    /// The scrypt work factor it is sealed with (`None`: sealed to an age recipient).
    pub scrypt_log_n: Option<u8>,
}

/// Public custody facts recorded in the transcript.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustodyFacts {
    /// Parts needed (`K`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum: Option<u8>,
    /// Parts made (`M`), at `init`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custodians: Option<u8>,
    /// Parts made at `init`: label, index and how each is sealed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartRecord>,
    /// The commitment set of the parts made (`init`) or used (`reconstruct`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitments_sha256: Option<CommitmentsDigest>,
    /// Labels of the parts used by `reconstruct`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub used: Vec<String>,
    /// Parts set aside by `reconstruct`: `label (path): reason`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub set_aside: Vec<String>,
}

/// One part as recorded at `init`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartRecord {
    /// Custodian label.
    pub label: String,
    /// Share index `i`.
    pub index: u8,
    /// `passphrase` or the age recipient it is sealed to.
    pub sealed_with: String,
}

/// Checks a custodian label: 1 to 32 of `A–Z a–z 0–9 . _ -`, not starting with `.` or `-`.
fn check_label(label: &str) -> CliResult<()> {
    let valid = !label.is_empty()
        && label.len() <= MAX_LABEL
        && !label.starts_with(['.', '-'])
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "--custodian-label {label:?}: a label is 1 to {MAX_LABEL} letters, digits, '.', '_' or '-', not starting with '.' or '-' (it names the part's file)"
        )))
    }
}

/// Reads the custody flags of `init`; `None` without `--custodians`. Asks the passphrases
/// of the custodians without a recipient (files first, in order, then the terminal).
pub fn plan(args: &InitArgs) -> CliResult<Option<Plan>> {
    let (Some(custodians), Some(quorum)) = (args.custodians, args.quorum) else {
        return Ok(None);
    };
    if !(2..=MAX_CUSTODIANS).contains(&custodians) || quorum < 2 || quorum > custodians {
        return Err(CliError::Usage(format!(
            "--custodians {custodians} --quorum {quorum}: need 2 ≤ quorum ≤ custodians ≤ {MAX_CUSTODIANS}"
        )));
    }
    let labels: Vec<String> = if args.custodian_labels.is_empty() {
        (1..=custodians).map(|i| format!("custodian-{i}")).collect()
    } else if args.custodian_labels.len() == usize::from(custodians) {
        args.custodian_labels.clone()
    } else {
        return Err(CliError::Usage(format!(
            "{} --custodian-label given for --custodians {custodians}; give one per custodian, or none",
            args.custodian_labels.len()
        )));
    };
    for (i, label) in labels.iter().enumerate() {
        check_label(label)?;
        // Case-insensitive: USB sticks are often FAT, where alice and Alice collide.
        if labels[..i].iter().any(|l| l.eq_ignore_ascii_case(label)) {
            return Err(CliError::Usage(format!(
                "--custodian-label {label} is given twice; labels must differ (ignoring case)"
            )));
        }
    }
    let mut recipients: BTreeMap<String, age::x25519::Recipient> = BTreeMap::new();
    for value in &args.custodian_recipients {
        let (label, recipient) = value.split_once('=').ok_or_else(|| {
            CliError::Usage(format!(
                "--custodian-recipient {value}: expected LABEL=age1…"
            ))
        })?;
        if !labels.iter().any(|l| l == label) {
            return Err(CliError::Usage(format!(
                "--custodian-recipient {value}: no custodian is labelled {label}"
            )));
        }
        let parsed = age::x25519::Recipient::from_str(recipient.trim()).map_err(|e| {
            CliError::Usage(format!(
                "--custodian-recipient {value}: not an age X25519 recipient ({e})"
            ))
        })?;
        if recipients.insert(label.to_owned(), parsed).is_some() {
            return Err(CliError::Usage(format!(
                "--custodian-recipient: custodian {label} is given two recipients"
            )));
        }
    }
    let needing_passphrase = labels
        .iter()
        .filter(|l| !recipients.contains_key(*l))
        .count();
    if args.passphrase_file.len() > needing_passphrase {
        return Err(CliError::Usage(format!(
            "{} --passphrase-file given, but only {needing_passphrase} custodian(s) seal their part with a passphrase",
            args.passphrase_file.len()
        )));
    }
    let mut files = args.passphrase_file.iter();
    let mut planned = Vec::with_capacity(labels.len());
    for label in labels {
        let sealing = match recipients.remove(&label) {
            Some(recipient) => Sealing::Recipient(recipient),
            None => {
                let (secret, origin) = match files.next() {
                    Some(file) => (
                        passphrase::from_file(file)?,
                        PassphraseOrigin::File(file.clone()),
                    ),
                    None => (
                        passphrase::ask(
                            &format!("the passphrase of custodian {label}'s part"),
                            passphrase::CUSTODY_PART,
                            Confirm::Twice,
                        )?,
                        PassphraseOrigin::Terminal,
                    ),
                };
                passphrase::check_floor(&secret, &origin, args.allow_short_passphrase)?;
                Sealing::Passphrase(secret)
            }
        };
        planned.push((label, sealing));
    }
    Ok(Some(Plan {
        quorum,
        custodians: planned,
    }))
}

impl Plan {
    /// Splits `key` and seals each part for its custodian. `key_ids` are the ceremony's
    /// keys: one, or a batch's.
    pub fn seal(
        &self,
        key: &DecryptionKey,
        ceremony_id: &CeremonyId,
        key_ids: &[KeyId],
        log_n: u8,
    ) -> CliResult<(Vec<PartFile>, CustodyFacts)> {
        let labels: Vec<String> = self.custodians.iter().map(|(l, _)| l.clone()).collect();
        let parts = custody::split(key, ceremony_id, key_ids, &labels, self.quorum, &mut OsRng)
            .map_err(|e| CliError::Internal(format!("custody split: {e}")))?;
        let commitments = parts
            .first()
            .map(CustodyPart::commitments_digest)
            .transpose()
            .map_err(|e| CliError::Internal(format!("custody split: {e}")))?;
        let mut files = Vec::with_capacity(parts.len());
        let mut records = Vec::with_capacity(parts.len());
        for (part, (label, sealing)) in parts.iter().zip(&self.custodians) {
            let plaintext = part.to_bytes();
            let (bytes, sealed_with, scrypt_log_n) = match sealing {
                Sealing::Passphrase(pass) => (
                    seal::seal_bytes(&plaintext, pass.clone(), log_n)?,
                    "passphrase".to_owned(),
                    Some(log_n),
                ),
                Sealing::Recipient(recipient) => {
                    let encryptor = age::Encryptor::with_recipients(std::iter::once(
                        recipient as &dyn age::Recipient,
                    ))
                    .map_err(|e| CliError::Internal(format!("age: {e}")))?;
                    (
                        seal::encrypt_to_armor(encryptor, &plaintext)?,
                        recipient.to_string(),
                        None,
                    )
                }
            };
            files.push(PartFile {
                file_name: format!("{label}{PART_SUFFIX}"),
                bytes,
                scrypt_log_n,
            });
            records.push(PartRecord {
                label: label.clone(),
                index: part.index,
                sealed_with,
            });
        }
        let facts = CustodyFacts {
            quorum: Some(self.quorum),
            custodians: u8::try_from(self.custodians.len()).ok(),
            parts: records,
            commitments_sha256: commitments,
            ..CustodyFacts::default()
        };
        Ok((files, facts))
    }

    /// `K of M`, for the summary.
    pub fn describe(&self) -> String {
        format!("{} of {}", self.quorum, self.custodians.len())
    }
}

/// Whether `reconstruct` was given custody parts rather than one sealed key: more than
/// one `--decryption-key`, or a file named like a part.
pub fn is_custody(paths: &[PathBuf]) -> bool {
    paths.len() > 1 || paths.iter().any(|p| part_label_from_name(p).is_some())
}

/// The label in a part's file name, if it is named `LABEL.decryption-key-part.age`.
fn part_label_from_name(path: &Path) -> Option<String> {
    path.file_name()?
        .to_str()?
        .strip_suffix(PART_SUFFIX)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
}

/// Why a part could not be opened: fatal for the run, or a reason to set it aside.
enum OpenFailure {
    Fatal(CliError),
    SetAside(String),
}

impl From<CliError> for OpenFailure {
    fn from(e: CliError) -> Self {
        match e {
            CliError::WrongPassphrase { .. } => OpenFailure::SetAside("wrong passphrase".into()),
            CliError::Input { problem, .. } => OpenFailure::SetAside(problem),
            fatal => OpenFailure::Fatal(fatal),
        }
    }
}

/// Where passphrases for passphrase-sealed parts come from.
struct Passphrases<'a> {
    files: std::slice::Iter<'a, PathBuf>,
    /// The files used so far (recorded by path in the transcript).
    used: Vec<&'a Path>,
}

impl<'a> Passphrases<'a> {
    fn new(files: &'a [PathBuf]) -> Self {
        Passphrases {
            files: files.iter(),
            used: Vec::new(),
        }
    }

    fn next(&mut self, who: &str) -> CliResult<SecretString> {
        match self.files.next() {
            Some(file) => {
                self.used.push(file);
                passphrase::from_file(file)
            }
            None => passphrase::ask(
                &format!("the passphrase of {who}"),
                passphrase::CUSTODY_PART,
                Confirm::Once,
            ),
        }
    }
}

/// Reads age identity files (X25519 `AGE-SECRET-KEY-1…` lines).
fn load_identities(paths: &[PathBuf]) -> CliResult<Vec<Box<dyn age::Identity + Send + Sync>>> {
    let mut all = Vec::new();
    for path in paths {
        let label = path.display().to_string();
        let read = keyexport_shared::input::read(path, keyexport_shared::input::SECRET);
        let bytes = Zeroizing::new(read.map_err(|source| CliError::ReadInput {
            path: label.clone(),
            source,
        })?);
        let file = age::IdentityFile::from_buffer(BufReader::new(&bytes[..])).map_err(|e| {
            CliError::Input {
                path: label.clone(),
                problem: format!("not an age identity file: {e}"),
            }
        })?;
        all.extend(file.into_identities().map_err(|e| CliError::Input {
            path: label.clone(),
            problem: format!("unusable age identity: {e}"),
        })?);
    }
    Ok(all)
}

/// Unseals one part file and parses it (no check against commitments yet).
fn open_part(
    bytes: &[u8],
    path: &str,
    who: &str,
    passphrases: &mut Passphrases<'_>,
    identities: &[Box<dyn age::Identity + Send + Sync>],
) -> Result<CustodyPart, OpenFailure> {
    let decryptor = age::Decryptor::new(ArmoredReader::new(bytes))
        .map_err(|e| OpenFailure::SetAside(format!("not a readable age file: {e}")))?;
    let plaintext = if decryptor.is_scrypt() {
        let pass = passphrases.next(who).map_err(OpenFailure::Fatal)?;
        seal::unseal_bytes(bytes, pass, path)?
    } else {
        if identities.is_empty() {
            return Err(OpenFailure::SetAside(
                "sealed to an age recipient, and no --identity was given".into(),
            ));
        }
        let mut reader = decryptor
            .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
            .map_err(|_| {
                OpenFailure::SetAside(
                    "no --identity given opens it (sealed to another recipient)".into(),
                )
            })?;
        let mut plaintext = Zeroizing::new(Vec::with_capacity(4096));
        reader
            .read_to_end(&mut plaintext)
            .map_err(|e| OpenFailure::SetAside(format!("unreadable age payload: {e}")))?;
        plaintext
    };
    CustodyPart::from_bytes(&plaintext)
        .map_err(|e| OpenFailure::SetAside(format!("not a custody part: {e}")))
}

/// A part that unsealed, with where it came from.
struct Opened {
    path: String,
    part: CustodyPart,
}

impl Opened {
    fn name(&self) -> String {
        format!("{} ({})", self.part.label, self.path)
    }
}

/// `reconstruct` with custody parts: rebuilds the decryption key from K good parts.
/// `response_ceremony` is the ceremony the response files name, when they name one;
/// `batch` says they are a batch's, for which only a batch ceremony's parts are good.
pub fn open_parts(
    args: &ReconstructArgs,
    response_ceremony: Option<&str>,
    batch: bool,
    entry: &mut Entry,
) -> CliResult<OpenedKey> {
    let identities = load_identities(&args.identity)?;
    let mut set_aside: Vec<String> = Vec::new();
    let mut opened: Vec<Opened> = Vec::new();
    let mut records = Vec::new();
    let mut passphrases = Passphrases::new(&args.passphrase_file);
    for path in &args.decryption_key {
        let shown = path.display().to_string();
        let who = part_label_from_name(path).map_or_else(
            || format!("the custody part {shown}"),
            |l| format!("custodian {l}'s part"),
        );
        let name =
            part_label_from_name(path).map_or_else(|| shown.clone(), |l| format!("{l} ({shown})"));
        let bytes = match keyexport_shared::input::read(path, keyexport_shared::input::DOCUMENT) {
            Ok(bytes) => Zeroizing::new(bytes),
            Err(e) => {
                set_aside.push(format!("{name}: cannot read: {e}"));
                continue;
            }
        };
        records.push(ArtifactRecord::new("decryption-key-part", &shown, &bytes));
        match open_part(&bytes, &shown, &who, &mut passphrases, &identities) {
            Ok(part) => opened.push(Opened { path: shown, part }),
            Err(OpenFailure::SetAside(reason)) => set_aside.push(format!("{name}: {reason}")),
            Err(OpenFailure::Fatal(e)) => {
                record_inputs(entry, records, &passphrases);
                return Err(e);
            }
        }
    }
    record_inputs(entry, records, &passphrases);
    if passphrases.files.len() > 0 {
        return Err(CliError::Usage(format!(
            "{} --passphrase-file left over: give one per passphrase-sealed part, in the order of the parts",
            passphrases.files.len()
        )));
    }

    let expected = ceremony_key(&opened, response_ceremony, batch)?;
    let mut good: Vec<&Opened> = Vec::new();
    for candidate in &opened {
        let part = &candidate.part;
        let fault = match (part.check(), &expected) {
            (Err(fault), _) => Some(fault),
            (Ok(()), _) if batch && !part.is_batch() => Some(PartFault::SingleKeyPart(format!(
                "{}, {}",
                part.ceremony_id,
                part.describe_keys()
            ))),
            (Ok(()), _) if response_ceremony.is_some_and(|c| c != part.ceremony_id.as_str()) => {
                Some(PartFault::ForeignCeremony(foreign_name(part)))
            }
            (Ok(()), None) => None,
            (Ok(()), Some((key, ceremony))) => match part.encryption_key() {
                Err(fault) => Some(fault),
                Ok(k) if &k != key || &part.ceremony_id != ceremony => {
                    Some(PartFault::ForeignCeremony(foreign_name(part)))
                }
                Ok(_) => None,
            },
        };
        match fault {
            Some(fault) => set_aside.push(format!("{}: {fault}", candidate.name())),
            None => good.push(candidate),
        }
    }
    // One split's parts only: a part whose commitment set differs from the others' is
    // forged or from another split, and is named.
    let claimed_quorum = good.first().map(|g| g.part.quorum);
    let selection = custody::select(&good.iter().map(|g| &g.part).collect::<Vec<_>>());
    set_aside.extend(
        selection
            .set_aside
            .iter()
            .map(|(position, fault)| format!("{}: {fault}", good[*position].name())),
    );
    let good: Vec<&Opened> = selection.usable.iter().map(|&u| good[u]).collect();
    let needed = good.first().map(|g| g.part.quorum).or(claimed_quorum);
    let mut facts = CustodyFacts {
        quorum: needed,
        set_aside: set_aside.clone(),
        ..CustodyFacts::default()
    };
    let enough = needed.is_some_and(|k| good.len() >= usize::from(k));
    let (Some((key, ceremony)), true) = (expected, enough) else {
        entry.facts.custody = Some(facts);
        return Err(CliError::CustodyQuorum {
            good: good.len(),
            needed,
            set_aside,
        });
    };
    let parts: Vec<CustodyPart> = good.iter().map(|g| g.part.clone()).collect();
    let combined = custody::combine(&parts, &key).map_err(|e| CliError::Shared {
        input: None,
        source: e,
    })?;
    facts.used = combined.used.clone();
    facts.commitments_sha256 = Some(combined.commitments.clone());
    entry.facts.custody = Some(facts);
    eprintln!(
        "Custody      rebuilt the decryption key from {} of the parts ({} needed): {}",
        combined.used.len(),
        needed.unwrap_or_default(),
        Escaped(combined.used.join(", "))
    );
    if !set_aside.is_empty() {
        let escaped: Vec<String> = set_aside.iter().map(|l| Escaped(l).to_string()).collect();
        let mut lines = vec!["Custody parts set aside (not used):"];
        lines.extend(escaped.iter().map(String::as_str));
        render::loud_warning(&lines);
    }
    // The good parts are of one ceremony, so they name the same keys.
    let first = good.first().map(|g| &g.part);
    Ok(OpenedKey {
        key: combined.key,
        ceremony_id: Some(ceremony.to_string()),
        key_id: first
            .and_then(|p| p.key_id.as_ref())
            .map(ToString::to_string),
        files: good.iter().map(|g| PathBuf::from(&g.path)).collect(),
        key_ids: first
            .map(|p| p.key_ids.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
    })
}

/// How a part of another ceremony is named: its ceremony id, and for a batch's part what
/// it exports (a single-key part keeps the bare id, as before batches).
fn foreign_name(part: &CustodyPart) -> String {
    if part.is_batch() {
        format!("{}, {}", part.ceremony_id, part.describe_keys())
    } else {
        part.ceremony_id.to_string()
    }
}

fn record_inputs(entry: &mut Entry, parts: Vec<ArtifactRecord>, passphrases: &Passphrases<'_>) {
    entry.inputs.extend(parts);
    entry.inputs.extend(
        passphrases
            .used
            .iter()
            .map(|p| ArtifactRecord::passphrase_file(p)),
    );
}

/// The encryption key (and ceremony) the parts must be bound to: that of the largest group
/// of self-consistent parts sharing one `C_0` and ceremony id, among those of the
/// response's ceremony when it names one (and of a batch ceremony for a batch). `None`
/// when no part is usable.
fn ceremony_key(
    opened: &[Opened],
    response_ceremony: Option<&str>,
    batch: bool,
) -> CliResult<Option<(EncryptionKey, CeremonyId)>> {
    let mut groups: Vec<(EncryptionKey, CeremonyId, usize)> = Vec::new();
    for o in opened {
        if o.part.check().is_err()
            || (batch && !o.part.is_batch())
            || response_ceremony.is_some_and(|c| c != o.part.ceremony_id.as_str())
        {
            continue;
        }
        let Ok(key) = o.part.encryption_key() else {
            continue;
        };
        match groups
            .iter_mut()
            .find(|(k, c, _)| k == &key && c == &o.part.ceremony_id)
        {
            Some(group) => group.2 += 1,
            None => groups.push((key, o.part.ceremony_id.clone(), 1)),
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.2));
    match groups.as_slice() {
        [] => Ok(None),
        [(_, a, n), (_, b, m), ..] if n == m => Err(CliError::Input {
            path: "--decryption-key".into(),
            problem: format!(
                "the parts belong to different ceremonies ({a} and {b}, {n} part(s) each); give the parts of one ceremony"
            ),
        }),
        [(key, ceremony, _), ..] => Ok(Some((*key, ceremony.clone()))),
    }
}

/// `keyexport-offline custody verify PART`.
pub fn verify(args: &CustodyVerifyArgs) -> CliResult<()> {
    airgap::enforce(args.air_gap.allow_online)?;
    let request = args.request.as_deref().map(read_request).transpose()?;
    let identities = load_identities(&args.identity)?;
    let shown = args.part.display().to_string();
    let who = part_label_from_name(&args.part).map_or_else(
        || format!("the custody part {shown}"),
        |l| format!("custodian {l}'s part"),
    );
    let bytes = Zeroizing::new(
        keyexport_shared::input::read(&args.part, keyexport_shared::input::DOCUMENT).map_err(
            |source| CliError::ReadInput {
                path: shown.clone(),
                source,
            },
        )?,
    );
    let files: Vec<PathBuf> = args.passphrase_file.iter().cloned().collect();
    let mut passphrases = Passphrases::new(&files);
    let part = match open_part(&bytes, &shown, &who, &mut passphrases, &identities) {
        Ok(part) => part,
        Err(OpenFailure::Fatal(e)) => return Err(e),
        Err(OpenFailure::SetAside(reason)) if reason == "wrong passphrase" => {
            return Err(CliError::WrongPassphrase {
                path: args.part.clone(),
            });
        }
        Err(OpenFailure::SetAside(problem)) => {
            return Err(CliError::Input {
                path: shown,
                problem,
            });
        }
    };
    airgap::check_again(args.air_gap.allow_online, airgap::Moment::AfterPassphrase)?;
    let fault = |fault: PartFault| CliError::Input {
        path: shown.clone(),
        problem: format!("custodian {}'s part: {fault}", part.label),
    };
    part.check().map_err(fault)?;
    let key = part.encryption_key().map_err(fault)?;
    let commitments = part.commitments_digest().map_err(fault)?;
    if let (Some(request), Some(path)) = (&request, &args.request) {
        if request.ceremony_id != part.ceremony_id || request.encryption_key != key {
            return Err(fault(PartFault::ForeignCeremony(foreign_name(&part))));
        }
        let Some(recorded) = &request.commitments else {
            return Err(CliError::Input {
                path: path.display().to_string(),
                problem: "this request records no custody commitments (custodyCommitmentsSha256): it was made without --custodians or by an older keyexport, so it cannot show that a part is genuine; verify the part without --request and compare its commitments with the init line of the ceremony's transcript".into(),
            });
        };
        part.check_recorded(recorded).map_err(fault)?;
    }
    let fingerprint = key.fingerprint();
    eprintln!("Part         {}", Escaped(&shown));
    eprintln!(
        "Custodian    {} (part {} of {})",
        Escaped(&part.label),
        part.index,
        part.custodians
    );
    eprintln!(
        "Quorum       {} of {} parts rebuild the key",
        part.quorum, part.custodians
    );
    eprintln!("Ceremony     {}", part.ceremony_id);
    match &part.key_id {
        Some(id) => eprintln!("Key id       {id}"),
        None => eprintln!("Key ids      {} keys (batch)", part.key_ids.len()),
    }
    eprintln!("Fingerprint  {fingerprint}");
    render::aloud(fingerprint.as_str());
    eprintln!("Commitments  {commitments}");
    eprintln!("Verified     the part unseals and its share matches its commitments");
    match &args.request {
        Some(path) => eprintln!(
            "Bound        to the encryption key and commitments of {}",
            path.display()
        ),
        None => eprintln!(
            "Compare the ceremony id and fingerprint with the paper log (or pass --request)."
        ),
    }
    Ok(())
}

/// What `custody verify --request` compares a part with, from a single-key or a batch
/// request.
struct RequestFacts {
    ceremony_id: CeremonyId,
    encryption_key: EncryptionKey,
    commitments: Option<CommitmentsDigest>,
}

fn read_request(path: &Path) -> CliResult<RequestFacts> {
    let shown = path.display().to_string();
    let bytes = keyexport_shared::input::read(path, keyexport_shared::input::DOCUMENT).map_err(
        |source| CliError::ReadInput {
            path: shown.clone(),
            source,
        },
    )?;
    if BatchRequestFile::is_batch_request(&bytes) {
        let request = BatchRequestFile::parse(&bytes).map_err(|e| CliError::shared(shown, e))?;
        return Ok(RequestFacts {
            ceremony_id: request.ceremony_id,
            encryption_key: request.dfns_request.encryption_key,
            commitments: request.custody_commitments_sha256,
        });
    }
    match Artifact::parse(&bytes).map_err(|e| CliError::shared(shown.clone(), e))? {
        Artifact::Request(request) => Ok(RequestFacts {
            ceremony_id: request.ceremony_id,
            encryption_key: request.dfns_request.encryption_key,
            commitments: request.custody_commitments_sha256,
        }),
        other => Err(CliError::Input {
            path: shown,
            problem: format!("this is {}, not the request of init", other.describe()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_filename_safe() {
        for good in ["alice", "Bob_2", "c.d-e", "x"] {
            check_label(good).unwrap();
        }
        for bad in ["", ".hidden", "-flag", "a/b", "a b", "ä", &"x".repeat(33)] {
            assert!(check_label(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn part_names_give_their_label() {
        assert_eq!(
            part_label_from_name(Path::new("/m/alice.decryption-key-part.age")).as_deref(),
            Some("alice")
        );
        assert_eq!(part_label_from_name(Path::new("decryption-key.age")), None);
        assert!(!is_custody(&[PathBuf::from("decryption-key.age")]));
        assert!(is_custody(&[PathBuf::from("a"), PathBuf::from("b")]));
    }
}
