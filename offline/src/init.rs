//! `keyexport-offline init`: create the decryption key, seal it, and write the request.
//!
//! Order matters for a custody operator: every check that can fail (air-gap guard, key id,
//! target directory, passphrase) runs before the key exists; all artifacts are built in
//! memory; only then is the directory created and each file written atomically. The printed
//! ceremony id, key id and fingerprint are what the operators compare aloud with the
//! online machine.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use age::secrecy::SecretString;

use keyexport_shared::files::batch::BatchRequestFile;
use keyexport_shared::files::{CeremonyId, KeyId, RequestFile};
use keyexport_shared::fsio::{self, FileMode};
use keyexport_shared::keys::{DecryptionKey, Fingerprint};
use keyexport_shared::scheme::Scheme;
use keyexport_shared::wire::ExportRequestBody;

use crate::airgap;
use crate::batch;
use crate::cli::InitArgs;
use crate::custody;
use crate::error::{CliError, CliResult, PassphraseOrigin, UsageError};
use crate::passphrase::{self, Confirm};
use crate::qr;
use crate::render;
use crate::seal::{self, SealedPayload};
use crate::transcript::{self, ArtifactRecord, CustodyFacts, Entry};

/// File name of the sealed decryption key inside the ceremony directory.
pub const SEALED_KEY_FILE: &str = "decryption-key.age";
/// File name of the request.
pub const REQUEST_FILE: &str = "request.json";
/// File name of the request's QR codes (one sheet holding every frame).
pub const REQUEST_PNG: &str = "request.png";

/// Runs `init`.
pub fn run(args: &InitArgs) -> CliResult<()> {
    airgap::enforce(args.air_gap.allow_online)?;
    if args.allow_short_passphrase {
        render::loud_warning(&[
            "REHEARSAL ONLY: --allow-short-passphrase lets a passphrase",
            "shorter than 20 characters and 5 words seal the key.",
            "The transcript records it. Never use it in a real ceremony.",
        ]);
    }
    let key_ids = batch::init::key_ids(args)?;
    check_target_dir(&args.out)?;
    let log_n = seal::test_log_n()?.unwrap_or(seal::DEFAULT_LOG_N);
    // Whole sealed key, or custody parts (for one key or a batch): passphrases are
    // asked before the key exists.
    let sealing = sealing(args)?;
    airgap::check_again(args.air_gap.allow_online, airgap::Moment::AfterPassphrase)?;

    let made = make(args, key_ids, sealing, log_n)?;

    airgap::check_again(
        args.air_gap.allow_online,
        airgap::Moment::BeforeSecretOutput,
    )?;
    fsio::ensure_empty_dir(&args.out)
        .map_err(|e| CliError::shared(args.out.display().to_string(), e))?;
    let mut entry = Entry::new("init", args.air_gap.allow_online);
    entry.facts.short_passphrase_allowed = args.allow_short_passphrase;
    entry.facts.canary = args.canary;
    entry.facts.ceremony_id = Some(made.ceremony_id.to_string());
    if let [key_id] = made.key_ids.as_slice() {
        entry.facts.key_id = Some(key_id.to_string());
    }
    entry.facts.encryption_key_fingerprint = Some(made.fingerprint.to_string());
    entry.facts.custody = made.custody_facts.clone();
    for path in &args.passphrase_file {
        entry.inputs.push(ArtifactRecord::passphrase_file(path));
    }
    write_files(&args.out, &made, &mut entry)?;
    let transcript_path = args.out.join(transcript::FILE_NAME);
    let head = transcript::append(&transcript_path, &entry)?;
    print_report(&args.out, &made, &transcript_path, &head);
    Ok(())
}

/// How the new decryption key will be sealed: split among custodians, or whole under one
/// passphrase (asked now, before the key exists, and held to the strength floor).
enum Sealing {
    Custody(custody::split::Plan),
    Whole(SecretString),
}

fn sealing(args: &InitArgs) -> CliResult<Sealing> {
    if let Some(plan) = custody::split::plan(args)? {
        return Ok(Sealing::Custody(plan));
    }
    let file = match args.passphrase_file.as_slice() {
        [] => None,
        [file] => Some(file.as_path()),
        _ => {
            return Err(CliError::Usage(UsageError::InitPassphraseFileRepeated));
        }
    };
    let passphrase = passphrase::obtain(file, passphrase::SEALED_KEY, Confirm::Twice)?;
    passphrase::check_floor(
        &passphrase,
        &file.map_or(PassphraseOrigin::Terminal, |f| {
            PassphraseOrigin::File(f.to_path_buf())
        }),
        args.allow_short_passphrase,
    )?;
    Ok(Sealing::Whole(passphrase))
}

/// Everything `init` writes and shows, made in memory before anything is written.
struct Made {
    ceremony_id: CeremonyId,
    key_ids: Vec<KeyId>,
    fingerprint: Fingerprint,
    supported_schemes: Vec<Scheme>,
    /// The sealed key, or the custody parts.
    key_files: Vec<KeyFile>,
    custody: Option<String>,
    custody_facts: Option<CustodyFacts>,
    request_json: Vec<u8>,
    /// How many QR frames the request takes.
    frames: usize,
    /// The request's QR sheet, when the request fits a few codes.
    png: Option<Vec<u8>>,
    /// The request requires a canary export first.
    canary: bool,
}

/// Generates the decryption key and the ceremony id, seals the key (whole or in parts),
/// and builds the request and its QR sheet.
fn make(args: &InitArgs, key_ids: Vec<KeyId>, sealing: Sealing, log_n: u8) -> CliResult<Made> {
    let supported_schemes = if args.schemes.is_empty() {
        Scheme::ISSUED.to_vec()
    } else {
        dedup(&args.schemes)
    };
    let decryption_key = DecryptionKey::generate();
    let encryption_key = decryption_key.encryption_key();
    let ceremony_id = CeremonyId::generate();
    let dfns_request = ExportRequestBody {
        encryption_key,
        supported_schemes,
    };
    let (key_files, custody_facts, custody) = match sealing {
        Sealing::Custody(plan) => {
            let (parts, facts) = plan.seal(&decryption_key, &ceremony_id, &key_ids, log_n)?;
            let files: Vec<KeyFile> = parts
                .into_iter()
                .map(|p| KeyFile {
                    role: "decryption-key-part",
                    name: p.file_name,
                    bytes: p.bytes,
                    scrypt_log_n: p.scrypt_log_n,
                })
                .collect();
            (files, Some(facts), Some(plan.describe()))
        }
        Sealing::Whole(passphrase) => {
            let file = seal_whole(&decryption_key, &ceremony_id, &key_ids, passphrase, log_n)?;
            (vec![file], None, None)
        }
    };
    let request_json = request_bytes(
        &ceremony_id,
        &key_ids,
        &dfns_request,
        custody_facts.as_ref(),
        args.canary,
    );
    // A long batch request does not fit a few QR codes: it travels on removable media.
    let frames = qr::sheet_frames(&request_json)?;
    let png = if frames.len() <= batch::init::MAX_QR_FRAMES {
        Some(qr::sheet_png(&frames)?)
    } else {
        None
    };
    Ok(Made {
        ceremony_id,
        key_ids,
        fingerprint: encryption_key.fingerprint(),
        supported_schemes: dfns_request.supported_schemes,
        key_files,
        custody,
        custody_facts,
        request_json,
        frames: frames.len(),
        png,
        canary: args.canary,
    })
}

/// The whole decryption key sealed under one passphrase, naming its key (or its batch's).
fn seal_whole(
    decryption_key: &DecryptionKey,
    ceremony_id: &CeremonyId,
    key_ids: &[KeyId],
    passphrase: SecretString,
    log_n: u8,
) -> CliResult<KeyFile> {
    let payload = match key_ids {
        [key_id] => SealedPayload::new(
            ceremony_id.to_string(),
            key_id.to_string(),
            decryption_key.to_dfns_hex(),
        ),
        _ => SealedPayload::new(
            ceremony_id.to_string(),
            String::new(),
            decryption_key.to_dfns_hex(),
        )
        .for_batch(key_ids.iter().map(ToString::to_string).collect()),
    };
    Ok(KeyFile {
        role: "sealed-key",
        name: SEALED_KEY_FILE.to_owned(),
        bytes: seal::seal(&payload, passphrase, log_n)?,
        scrypt_log_n: Some(log_n),
    })
}

/// One key: a single-key request. Several: a batch request. With custody parts, the
/// request records their commitment set, which binds the parts together; a canary
/// ceremony's request says a canary export comes first (one for the whole batch).
fn request_bytes(
    ceremony_id: &CeremonyId,
    key_ids: &[KeyId],
    dfns_request: &ExportRequestBody,
    custody_facts: Option<&CustodyFacts>,
    canary: bool,
) -> Vec<u8> {
    let commitments = custody_facts.and_then(|facts| facts.commitments_sha256.clone());
    let created_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let tool = transcript::TOOL_VERSION.to_owned();
    match key_ids {
        [key_id] => RequestFile::new(
            ceremony_id.clone(),
            key_id.clone(),
            dfns_request.clone(),
            created_at,
            tool,
        )
        .with_custody_commitments(commitments)
        .with_canary(canary)
        .to_bytes(),
        _ => BatchRequestFile::new(
            ceremony_id.clone(),
            key_ids.to_vec(),
            dfns_request.clone(),
            created_at,
            tool,
        )
        .with_custody_commitments(commitments)
        .with_canary(canary)
        .to_bytes(),
    }
}

/// Writes the key files, the request and its QR sheet into `out`, each atomically, and
/// records them in the transcript entry.
fn write_files(out: &Path, made: &Made, entry: &mut Entry) -> CliResult<()> {
    let mut files: Vec<Planned<'_>> = made
        .key_files
        .iter()
        .map(|f| Planned {
            role: f.role,
            name: f.name.as_str(),
            bytes: f.bytes.as_slice(),
            mode: FileMode::Secret,
            scrypt_log_n: f.scrypt_log_n,
        })
        .collect();
    files.push(Planned {
        role: "request",
        name: REQUEST_FILE,
        bytes: &made.request_json,
        mode: FileMode::Public,
        scrypt_log_n: None,
    });
    if let Some(png) = &made.png {
        files.push(Planned {
            role: "request-qr",
            name: REQUEST_PNG,
            bytes: png,
            mode: FileMode::Public,
            scrypt_log_n: None,
        });
    }
    for file in files {
        let path = out.join(file.name);
        fsio::write_new(&path, file.bytes, file.mode)
            .map_err(|e| CliError::shared(path.display().to_string(), e))?;
        entry.outputs.push(
            ArtifactRecord::new(file.role, &path.display().to_string(), file.bytes)
                .sealed_with(file.scrypt_log_n),
        );
    }
    Ok(())
}

/// What was written first; what the witness compares and writes down last, so that it
/// stays on an 80x24 screen.
fn print_report(out: &Path, made: &Made, transcript_path: &Path, head: &str) {
    eprintln!("Wrote");
    for file in &made.key_files {
        let what = if made.custody.is_some() {
            "custody part: its custodian's own stick"
        } else {
            "sealed decryption key: stays on this machine"
        };
        eprintln!("  {}  {what}", out.join(&file.name).display());
    }
    let mut written = vec![(
        out.join(REQUEST_FILE),
        "the request: carry it to the online machine",
    )];
    if made.png.is_some() {
        written.push((out.join(REQUEST_PNG), "the same as QR codes (any order)"));
    }
    written.push((transcript_path.to_path_buf(), "ceremony transcript"));
    for (path, what) in written {
        eprintln!("  {}  {what}", path.display());
    }
    if made.png.is_none() {
        eprintln!(
            "The request needs {} QR codes, too many to scan reliably: carry {} to the online machine on removable media (USB).",
            made.frames,
            out.join(REQUEST_FILE).display()
        );
    } else {
        eprintln!(
            "To show the codes on a screen: keyexport-offline show {}",
            out.join(REQUEST_FILE).display()
        );
    }
    if made.canary {
        print_canary_next();
    }
    eprintln!("Schemes      {}", schemes_summary(&made.supported_schemes));
    if let Some(described) = &made.custody {
        eprintln!("Custody      the decryption key is split: {described} parts rebuild it");
    }
    eprintln!("Ceremony     {}", made.ceremony_id);
    batch::init::print_key_ids(&made.key_ids);
    eprintln!("Fingerprint  {}", made.fingerprint);
    render::aloud(made.fingerprint.as_str());
    render::transcript_head(head);
    eprintln!("Compare the fingerprint aloud with keyexport-online's before it calls Dfns.");
}

/// What a canary ceremony does next: the canary's crossing before the real key's.
fn print_canary_next() {
    eprintln!("Canary       required: submit first exports a throwaway key and stops; bring");
    eprintln!("             back its canary/response.json and run reconstruct on it here,");
    eprintln!("             then carry the canary-receipt.json it writes to the online side.");
}

/// A file holding the decryption key: the whole sealed key, or one custody part.
struct KeyFile {
    role: &'static str,
    name: String,
    bytes: Vec<u8>,
    /// The scrypt work factor it is sealed with (`None`: sealed to an age recipient).
    scrypt_log_n: Option<u8>,
}

/// One file `init` writes into the ceremony folder.
struct Planned<'a> {
    role: &'static str,
    name: &'a str,
    bytes: &'a [u8],
    mode: FileMode,
    /// The scrypt work factor it is sealed with, for the transcript.
    scrypt_log_n: Option<u8>,
}

/// `DIR` must be absent, or an empty directory (checked before anything is created).
fn check_target_dir(dir: &Path) -> CliResult<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                Err(CliError::OutputDirNotEmpty {
                    path: dir.to_path_buf(),
                })
            } else {
                Ok(())
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(CliError::Write {
            path: PathBuf::from(dir),
            source,
        }),
    }
}

/// The schemes offered, on one line of at most 80 columns: listed when few, counted
/// when many (every one is in the request, and `inspect` lists them).
fn schemes_summary(schemes: &[Scheme]) -> String {
    if schemes.len() == Scheme::ISSUED.len() && Scheme::ISSUED.iter().all(|s| schemes.contains(s)) {
        return format!(
            "the {} pairs Dfns issues (the default; inspect lists them)",
            schemes.len()
        );
    }
    let listed = schemes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if listed.chars().count() <= 80 - 13 {
        listed
    } else {
        format!(
            "{} protocol and curve pairs (all in the request; inspect lists them)",
            schemes.len()
        )
    }
}

/// Removes repeated schemes, keeping the operator's order.
fn dedup(schemes: &[Scheme]) -> Vec<Scheme> {
    let mut out: Vec<Scheme> = Vec::with_capacity(schemes.len());
    for scheme in schemes {
        if !out.contains(scheme) {
            out.push(*scheme);
        }
    }
    out
}
