//! `keyexport-offline reconstruct` for a batch: every key of a folder (or list)
//! of response files, each on its own, continuing past keys that fail.
//!
//! A run is a batch when an input is a folder holding `*.response.json` files (as
//! `keyexport-online submit` writes for a batch request), or when the response files given
//! name two or more keys. Order: air-gap guard → output checks → read every response
//! (a file that cannot be used becomes that key's failure) → open the decryption key once
//! → each response must belong to the sealed key's ceremony and batch → rebuild, verify and
//! write every key in parallel (std threads, [`THREADS_PER_CORE`] per core, since the
//! durable writes wait on the disk) → one fsync of the `--out` folder → manifest →
//! transcript.
//!
//! Every key file is written atomically and fsynced on its own (temporary file, fsync,
//! linked into place); the folder that names them is fsynced once, after the last key file
//! and before the manifest is written or any key is reported delivered, instead of once per
//! file ([`fsio::NewFiles`]): the same durability when the run reports success, one disk
//! wait per key instead of two.
//!
//! `--out DIR` receives one file per key, named by key id, in the single-key formats, plus
//! `manifest.json` and `manifest.csv` (public facts only). `--json` prints
//! `{"keys": [...]}`: per key the single-key object with its `keyId`, or
//! `{"keyId", "error": {...}}`. The exit code is 4 when any key failed.

use std::collections::{BTreeMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use keyexport_shared::exit::JsonError;
use keyexport_shared::files::batch::response_file_name;
use keyexport_shared::files::{Artifact, KeyId};
use keyexport_shared::fsio::{self, FileMode, NewFiles};
use keyexport_shared::input;
use keyexport_shared::key_object::KeyObjectFacts;
use keyexport_shared::reconstruct::Reconstruction;
use keyexport_shared::wire::ExportResponse;
use serde::Serialize;
use zeroize::Zeroizing;

use super::common::{KeyFacts, Written, destroy_key_files, keystore_passphrase, transcript_path};
use crate::addresses;
use crate::addresses::Addresses;
use crate::airgap;
use crate::cli::{KeyFormat, ReconstructArgs};
use crate::error::{CliError, CliResult, InputProblem, UsageError};
use crate::hd;
use crate::inputs;
use crate::output::{self, Rendering, recipient::Recipients};
use crate::rebuild::{self, KeySource, OpenedKey, ResponseIds, signer_strings};
use crate::render;
use crate::seal;
use crate::transcript::{self, ArtifactRecord, Entry, Outcome};

/// Suffix of the response files read from a folder.
const RESPONSE_SUFFIX: &str = ".response.json";
/// Name of the JSON manifest in `--out`.
const MANIFEST_JSON: &str = "manifest.json";
/// Name of the CSV manifest in `--out`.
const MANIFEST_CSV: &str = "manifest.csv";
/// Worker threads per core: a key takes about 2 ms of CPU and one fsync (a few ms on a
/// virtual disk), so 8 threads per core keep the cores busy while others wait on the disk.
const THREADS_PER_CORE: usize = 8;

/// Whether `reconstruct`'s inputs are a batch (see the module documentation).
pub fn is_batch(inputs: &[String]) -> bool {
    let mut key_ids: HashSet<String> = HashSet::new();
    for input in inputs {
        let path = Path::new(input);
        if path.is_dir() {
            if response_files_in(path).is_ok_and(|files| !files.is_empty()) {
                return true;
            }
        } else if input != "-"
            && let Ok(bytes) = input::read(path, input::DOCUMENT)
            && let Some(id) = Artifact::response_key_id(&bytes)
        {
            key_ids.insert(id);
        }
    }
    key_ids.len() >= 2
}

fn response_files_in(dir: &Path) -> CliResult<Vec<PathBuf>> {
    inputs::files_in(dir, |name| {
        name.ends_with(RESPONSE_SUFFIX) && !name.starts_with('.')
    })
}

/// One key of the batch as read: its response, or why it cannot be used.
struct Item {
    /// The key id, or the file name when the file names no key.
    label: String,
    /// Where it came from.
    source: String,
    /// The ceremony the response file names.
    ceremony_id: Option<String>,
    response: CliResult<ExportResponse>,
    /// The key object's HD facts its response file recorded, if any.
    key_object: Option<KeyObjectFacts>,
}

/// What a run produced for one key (public facts only): the single-key `--json` object
/// after the key id.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyReport {
    key_id: String,
    #[serde(flatten)]
    facts: KeyFacts,
    /// The root's xpub (secp256k1 HD keys; never a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    xpub: Option<String>,
    /// The check of the wallets the key object lists, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    wallets: Option<hd::WalletsJson>,
    /// Whether the key is an HD root, for the manifest.
    #[serde(skip)]
    is_hd: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyFailure {
    key_id: String,
    source: String,
    /// The error object of `--json` failures (`JsonError`): what the key's failure
    /// would have been alone.
    error: JsonError,
}

impl KeyFailure {
    fn new(key_id: String, source: String, error: &CliError) -> Self {
        KeyFailure {
            key_id,
            source,
            error: JsonError {
                kind: error.kind(),
                exit_code: error.exit_code().code,
                message: error.message(),
                advice: error.advice().map(str::to_owned),
                bad_signers: signer_strings(&error.bad_signers()),
                dfns_response: None,
            },
        }
    }
}

/// One key's outcome.
#[derive(Serialize)]
#[serde(untagged)]
enum KeyOutcome {
    Ok(Box<KeyReport>),
    Failed(KeyFailure),
}

impl KeyOutcome {
    fn key_id(&self) -> &str {
        match self {
            KeyOutcome::Ok(report) => &report.key_id,
            KeyOutcome::Failed(failure) => &failure.key_id,
        }
    }
}

/// Runs a batch `reconstruct`, appending to the transcript whatever the outcome.
pub fn run(args: &ReconstructArgs) -> CliResult<()> {
    let transcript_path = transcript_path(args);
    transcript::check_target(&transcript_path)?;
    let mut entry = Entry::new("reconstruct", args.air_gap.allow_online);
    let result = execute(args, &mut entry);
    let status: CliResult<()> = match &result {
        Ok(done) if done.failed > 0 => Err(CliError::BatchFailed {
            failed: done.failed,
            total: done.total,
        }),
        Ok(_) => Ok(()),
        Err(_) => Ok(()),
    };
    entry.outcome = match (&result, &status) {
        (Err(e), _) => Outcome::Failed {
            kind: e.kind().as_str(),
            message: e.message(),
        },
        (Ok(_), status) => Outcome::of(status),
    };
    let logged = transcript::append(&transcript_path, &entry);
    let done = match (result, logged) {
        (Ok(done), Ok(head)) => {
            render::transcript_head(&head);
            done
        }
        (Ok(_), Err(e)) => return Err(e),
        (Err(e), Ok(_)) => return Err(e),
        (Err(e), Err(log_error)) => {
            eprintln!("warning: the transcript was not updated: {log_error}");
            return Err(e);
        }
    };
    std::io::stdout()
        .write_all(&done.stdout)
        .and_then(|()| std::io::stdout().flush())
        .map_err(|source| CliError::Write {
            path: PathBuf::from("-"),
            source,
        })?;
    status
}

/// What a batch run hands back to [`run`].
struct Done {
    stdout: Vec<u8>,
    failed: usize,
    total: usize,
}

/// Everything a worker thread needs to deliver one key.
struct Delivery<'a> {
    key: &'a keyexport_shared::keys::DecryptionKey,
    out: Option<&'a NewFiles>,
    format: KeyFormat,
    rendering: Rendering<'a>,
    recipients: &'a Recipients,
    encrypt_to: &'a [String],
}

impl<'a> Delivery<'a> {
    fn new(
        args: &'a ReconstructArgs,
        key: &'a keyexport_shared::keys::DecryptionKey,
        out: Option<&'a NewFiles>,
        rendering: Rendering<'a>,
        recipients: &'a Recipients,
    ) -> Self {
        Delivery {
            key,
            out,
            format: args.format,
            rendering,
            recipients,
            encrypt_to: &args.encrypt_to,
        }
    }
}

fn execute(args: &ReconstructArgs, entry: &mut Entry) -> CliResult<Done> {
    airgap::enforce(args.air_gap.allow_online)?;
    let recipients = check_flags(args)?;
    let test_log_n = seal::test_log_n()?;

    let mut items = read_items(&args.responses, entry)?;
    let ids = batch_ids(&items);
    // The new keystore passphrase first, so a mistyped confirmation does not cost the
    // decryption key's passphrase too.
    let keystore_passphrase = keystore_passphrase(args, entry)?;
    let source =
        KeySource::from_flags(&args.decryption_key, &args.passphrase_file, &args.identity)?;
    let opened = rebuild::open_key(&source, &ids, entry)?;
    entry.facts.ceremony_id = opened.ceremony_id.clone();
    entry.facts.encryption_key_fingerprint =
        Some(opened.key.encryption_key().fingerprint().to_string());
    check_batch(&mut items, &opened, args);

    airgap::check_again(args.air_gap.allow_online, airgap::Moment::AfterPassphrase)?;
    if let Some(out) = &args.out {
        airgap::check_again(
            args.air_gap.allow_online,
            airgap::Moment::BeforeSecretOutput,
        )?;
        fsio::ensure_empty_dir(out).map_err(|e| CliError::shared(out.display().to_string(), e))?;
    }
    let out_files = args.out.as_deref().map(NewFiles::new);
    let rendering = Rendering {
        format: args.format,
        network: args.network,
        keystore_passphrase: keystore_passphrase.as_ref(),
        keystore_log_n: test_log_n.unwrap_or(output::keystore::STANDARD_LOG_N),
    };
    let delivery = Delivery::new(
        args,
        &opened.key,
        out_files.as_ref(),
        rendering,
        &recipients,
    );
    let delivered = deliver_all(&items, &delivery)?;
    // The key files' names are durable once their folder is synced, before the manifest
    // names them and before any key is reported delivered.
    if let (Some(files), Some(out)) = (out_files, &args.out) {
        files
            .sync()
            .map_err(|e| CliError::shared(out.display().to_string(), e))?;
    }
    let outcomes: Vec<KeyOutcome> = delivered
        .into_iter()
        .map(|(outcome, record)| {
            entry.outputs.extend(record);
            outcome
        })
        .collect();
    let failed = outcomes
        .iter()
        .filter(|o| matches!(o, KeyOutcome::Failed(_)))
        .count();
    if let Some(out) = &args.out {
        write_manifests(out, &outcomes, entry)?;
        if args.destroy_decryption_key {
            destroy_unless_failed(&opened.files, failed, entry);
        }
    }
    print_table(&outcomes, args.out.as_deref());
    Ok(Done {
        stdout: if args.json {
            keys_json(&outcomes)?
        } else {
            Vec::new()
        },
        failed,
        total: outcomes.len(),
    })
}

/// What the responses say about their ceremony: custody parts are matched to the ceremony
/// the responses name, and must be a batch's.
fn batch_ids(items: &[Item]) -> ResponseIds {
    ResponseIds {
        ceremony_id: items.iter().find_map(|i| i.ceremony_id.clone()),
        key_id: None,
        batch: true,
        key_object: None,
        canary: false,
    }
}

/// Destroys the decryption key's files once every key is delivered; keeps them when a
/// key failed, since it may need them again.
fn destroy_unless_failed(files: &[PathBuf], failed: usize, entry: &mut Entry) {
    if failed == 0 {
        destroy_key_files(files, entry);
    } else {
        eprintln!("The decryption key is kept: {failed} key(s) failed and may need it again.");
    }
}

/// Refuses the flags a batch does not take and checks the outputs before any passphrase
/// is asked; returns the `--encrypt-to` recipients.
fn check_flags(args: &ReconstructArgs) -> CliResult<Recipients> {
    if args.reveal {
        return Err(CliError::Usage(UsageError::RevealInBatch));
    }
    if !args.derive.is_empty() {
        return Err(CliError::Usage(UsageError::DeriveInBatch));
    }
    let recipients = Recipients::parse(&args.encrypt_to)?;
    if let Some(out) = &args.out {
        crate::output::file::check_new_folder(out, "--out", "a batch writes one file per key")?;
    }
    if args.destroy_decryption_key {
        crate::destroy::check(&args.decryption_key)?;
    }
    Ok(recipients)
}

/// Rebuilds, verifies and writes every key on worker threads.
fn deliver_all(
    items: &[Item],
    delivery: &Delivery<'_>,
) -> CliResult<Vec<(KeyOutcome, Option<ArtifactRecord>)>> {
    // Each key file is fsynced, so the run waits on the disk as much as on the CPU: more
    // threads than cores keep both busy.
    let threads = cores() * THREADS_PER_CORE;
    Ok(in_parallel(items, threads, |item| deliver(item, delivery)))
}

/// The number of cores this process may use (at least one).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// `f` of every item, in the order of `items`, computed on up to `threads` threads (this
/// one among them), each taking the next item until none is left. A panic in one is
/// raised again here, once the others have finished.
fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(index) else {
                return done;
            };
            done.push((index, f(item)));
        }
    };
    let mut results = std::thread::scope(|scope| {
        // A thread the system cannot start only makes the run slower: the others, and
        // this one, take its items.
        let helpers: Vec<_> = (1..threads.min(items.len()))
            .map_while(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
            .collect();
        let mut results = work();
        for helper in helpers {
            match helper.join() {
                Ok(done) => results.extend(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        results
    });
    results.sort_unstable_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// `--json`: `{"keys": [...]}` and a newline.
fn keys_json(outcomes: &[KeyOutcome]) -> CliResult<Vec<u8>> {
    #[derive(Serialize)]
    struct Keys<'a> {
        keys: &'a [KeyOutcome],
    }
    let mut bytes = keyexport_shared::display::to_json(&Keys { keys: outcomes })
        .map_err(|e| CliError::Internal(format!("JSON output: {e}")))?
        .into_bytes();
    bytes.push(b'\n');
    Ok(bytes)
}

/// Reads every input: folders contribute their `*.response.json` files, in name order.
/// A file that cannot be used becomes a failed item; only an unreadable folder stops the run.
fn read_items(inputs: &[String], entry: &mut Entry) -> CliResult<Vec<Item>> {
    let mut files: Vec<PathBuf> = Vec::new();
    for input in inputs {
        if input == "-" {
            return Err(CliError::Usage(UsageError::BatchFromStdin));
        }
        let path = PathBuf::from(input);
        if path.is_dir() {
            files.extend(response_files_in(&path)?);
        } else {
            files.push(path);
        }
    }
    let mut seen_files: HashSet<PathBuf> = HashSet::new();
    files.retain(|path| seen_files.insert(path.clone()));
    // Each file is read and checked on its own, in parallel (parsing validates every
    // share and the public key); they are then kept in name order.
    let read: Vec<(Item, Option<ArtifactRecord>)> = in_parallel(&files, cores(), |p| read_item(p));
    let mut by_key: BTreeMap<String, Item> = BTreeMap::new();
    for (item, record) in read {
        entry.inputs.extend(record);
        insert_item(&mut by_key, item);
    }
    if by_key.is_empty() {
        return Err(CliError::Input {
            path: inputs.join(" "),
            problem: InputProblem::NoBatchResponse,
        });
    }
    Ok(by_key.into_values().collect())
}

/// Reads one response file: the key's item, and the file's record for the transcript
/// (none when it cannot be read).
fn read_item(path: &Path) -> (Item, Option<ArtifactRecord>) {
    let source = path.display().to_string();
    let fallback_label = path
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| n.trim_end_matches(RESPONSE_SUFFIX).to_owned())
        .unwrap_or_else(|| source.clone());
    let bytes = match input::read(path, input::DOCUMENT) {
        Ok(bytes) => bytes,
        Err(e) => {
            let item = Item {
                label: fallback_label,
                source: source.clone(),
                ceremony_id: None,
                key_object: None,
                response: Err(CliError::ReadInput {
                    path: source,
                    source: e,
                }),
            };
            return (item, None);
        }
    };
    let record = ArtifactRecord::new("response", &source, &bytes);
    let item = match Artifact::parse(&bytes) {
        Ok(Artifact::Response(file)) => {
            let label = file.key_id.to_string();
            let response = file
                .export_response()
                .map_err(|e| CliError::shared(source.clone(), e));
            let response =
                response.and_then(|r| check_file_name(&file.key_id, &source).map(|()| r));
            let response = response.and_then(|r| {
                if file.canary {
                    Err(CliError::Input {
                        path: source.clone(),
                        problem: InputProblem::CanaryInBatch,
                    })
                } else {
                    Ok(r)
                }
            });
            Item {
                label,
                source,
                ceremony_id: Some(file.ceremony_id.to_string()),
                response,
                key_object: file.key_object().cloned(),
            }
        }
        Ok(other) => Item {
            label: fallback_label,
            source: source.clone(),
            ceremony_id: None,
            key_object: None,
            response: Err(CliError::Input {
                path: source,
                problem: InputProblem::NoKeyId {
                    found: other.describe().to_string(),
                },
            }),
        },
        Err(e) => Item {
            label: fallback_label,
            source: source.clone(),
            ceremony_id: None,
            key_object: None,
            response: Err(CliError::shared(source, e)),
        },
    };
    (item, Some(record))
}

/// A response file's own key id must match its name when it follows the batch naming.
fn check_file_name(key_id: &KeyId, source: &str) -> CliResult<()> {
    let name = Path::new(source)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name.ends_with(RESPONSE_SUFFIX) && name != response_file_name(key_id) {
        return Err(CliError::Input {
            path: source.to_owned(),
            problem: InputProblem::NameMismatch {
                key_id: key_id.to_string(),
            },
        });
    }
    Ok(())
}

/// Keeps one item per key: the same response twice is fine, two different ones are not.
fn insert_item(by_key: &mut BTreeMap<String, Item>, item: Item) {
    match by_key.get_mut(&item.label) {
        None => {
            by_key.insert(item.label.clone(), item);
        }
        Some(existing) => {
            let same = matches!((&existing.response, &item.response), (Ok(a), Ok(b)) if a == b);
            if !same {
                existing.response = Err(CliError::Input {
                    path: item.source,
                    problem: InputProblem::DuplicateKey {
                        key_id: item.label.to_string(),
                        first: existing.source.clone(),
                    },
                });
            }
        }
    }
}

/// Every response must belong to the sealed key's ceremony and, for a batch key, to its
/// list; keys of the list without a response are reported as missing.
fn check_batch(items: &mut Vec<Item>, opened: &OpenedKey, args: &ReconstructArgs) {
    let listed: HashSet<&str> = opened.key_ids.iter().map(String::as_str).collect();
    for item in items.iter_mut() {
        let Ok(response) = &item.response else {
            continue;
        };
        if let (Some(sealed), Some(found)) = (&opened.ceremony_id, &item.ceremony_id)
            && sealed != found
        {
            item.response = Err(CliError::CeremonyMismatch {
                field: "ceremony",
                sealed: sealed.clone(),
                response: found.clone(),
            });
            continue;
        }
        let single_key_mismatch = opened.key_id.as_ref().filter(|id| **id != item.label);
        if let Some(sealed) = single_key_mismatch {
            item.response = Err(CliError::CeremonyMismatch {
                field: "key id",
                sealed: sealed.clone(),
                response: item.label.clone(),
            });
            continue;
        }
        if !listed.is_empty() && !listed.contains(item.label.as_str()) {
            item.response = Err(CliError::Input {
                path: item.source.clone(),
                problem: InputProblem::NotInBatch {
                    key_id: item.label.to_string(),
                },
            });
            continue;
        }
        if args.out.is_some() && !output::supports_curve(args.format, response.curve) {
            item.response = Err(CliError::Usage(UsageError::FormatNeedsSecp256k1 {
                format: args.format.name(),
                curve: response.curve.to_string(),
                batch: true,
            }));
        }
    }
    let present: HashSet<String> = items.iter().map(|i| i.label.clone()).collect();
    for key_id in &opened.key_ids {
        if !present.contains(key_id) {
            items.push(Item {
                label: key_id.clone(),
                source: "-".into(),
                ceremony_id: None,
                key_object: None,
                response: Err(CliError::Input {
                    path: key_id.clone(),
                    problem: InputProblem::MissingKey,
                }),
            });
        }
    }
}

/// Rebuilds, verifies and (with `--out`) writes one key. Runs on a worker thread.
fn deliver(item: &Item, how: &Delivery<'_>) -> (KeyOutcome, Option<ArtifactRecord>) {
    let failed = |error: &CliError| {
        (
            KeyOutcome::Failed(KeyFailure::new(
                item.label.clone(),
                item.source.clone(),
                error,
            )),
            None,
        )
    };
    let response = match &item.response {
        Ok(response) => response,
        Err(e) => return failed(e),
    };
    let reconstruction = match keyexport_shared::reconstruct::reconstruct(response, how.key) {
        Ok(r) => r,
        Err(e) => return failed(&CliError::shared(item.source.clone(), e)),
    };
    let addresses = match addresses::of(&reconstruction.public_key) {
        Ok(a) => a,
        Err(e) => return failed(&e),
    };
    let wallets = match hd::check_wallets(&reconstruction, item.key_object.as_ref()) {
        Ok(w) => w.as_ref().map(hd::Wallets::to_json),
        Err(e) => return failed(&e),
    };
    let (written, record) = match how.out {
        Some(files) => match write_key(&item.label, &reconstruction, files, how) {
            Ok((written, record)) => (Some(written), Some(record)),
            Err(e) => return failed(&e),
        },
        None => (None, None),
    };
    (
        KeyOutcome::Ok(Box::new(KeyReport {
            key_id: item.label.clone(),
            xpub: hd::root_xpub(&reconstruction, how.rendering.network),
            wallets,
            is_hd: reconstruction.chain_code.is_some(),
            facts: KeyFacts::new(&reconstruction, addresses, written),
        })),
        record,
    )
}

fn write_key(
    key_id: &str,
    reconstruction: &Reconstruction,
    files: &NewFiles,
    how: &Delivery<'_>,
) -> CliResult<(Written, ArtifactRecord)> {
    let rendered = output::render(
        &reconstruction.private_key,
        reconstruction.chain_code.as_ref(),
        &how.rendering,
    )?;
    let (bytes, suffix) = if how.recipients.is_empty() {
        (rendered, "")
    } else {
        (Zeroizing::new(how.recipients.encrypt(&rendered)?), ".age")
    };
    let extension = match how.format {
        KeyFormat::Hex => "hex",
        KeyFormat::Wif => "wif",
        KeyFormat::EthKeystore => "keystore.json",
        KeyFormat::Xprv => "xprv",
    };
    let name = format!("{key_id}.{extension}{suffix}");
    let path = files
        .write(&name, &bytes, FileMode::Secret)
        .map_err(|e| CliError::shared(name.clone(), e))?;
    let label = path.display().to_string();
    let record =
        ArtifactRecord::new("key-output", &label, &bytes).sealed_with(how.rendering.scrypt_log_n());
    Ok((
        Written {
            path: label,
            format: how.format.name(),
            encrypted_to: how.encrypt_to.to_vec(),
        },
        record,
    ))
}

/// One manifest row: public facts of a key and where its file went.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ManifestRow<'a> {
    key_id: &'a str,
    status: &'static str,
    curve: &'a str,
    protocol: &'a str,
    public_key: &'a str,
    /// Whether the key is an HD root (exported with a chain code).
    hd: bool,
    /// The HD root's xpub (secp256k1; public, never the chain code alone or a secret).
    xpub: Option<&'a str>,
    addresses: Option<&'a Addresses>,
    output_file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a JsonError>,
}

fn manifest_rows(outcomes: &[KeyOutcome]) -> Vec<ManifestRow<'_>> {
    outcomes
        .iter()
        .map(|o| match o {
            KeyOutcome::Ok(r) => ManifestRow {
                key_id: &r.key_id,
                status: "ok",
                curve: &r.facts.curve,
                protocol: &r.facts.protocol,
                public_key: &r.facts.public_key,
                hd: r.is_hd,
                xpub: r.xpub.as_deref(),
                addresses: Some(&r.facts.addresses),
                output_file: r.facts.output.as_ref().map(|w| w.path.as_str()),
                error: None,
            },
            KeyOutcome::Failed(f) => ManifestRow {
                key_id: &f.key_id,
                status: "failed",
                curve: "",
                protocol: "",
                public_key: "",
                hd: false,
                xpub: None,
                addresses: None,
                output_file: None,
                error: Some(&f.error),
            },
        })
        .collect()
}

fn write_manifests(out: &Path, outcomes: &[KeyOutcome], entry: &mut Entry) -> CliResult<()> {
    let rows = manifest_rows(outcomes);
    let mut json = serde_json::to_vec_pretty(&serde_json::json!({ "keys": rows }))
        .map_err(|e| CliError::Internal(format!("manifest: {e}")))?;
    json.push(b'\n');
    let mut csv = String::from(
        "keyId,status,curve,protocol,publicKey,hd,xpub,addresses,outputFile,errorKind,errorMessage\n",
    );
    for row in &rows {
        let addresses = row
            .addresses
            .map(|a| {
                a.labelled()
                    .iter()
                    .map(|(label, value)| format!("{label}={value}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        let fields = [
            row.key_id,
            row.status,
            row.curve,
            row.protocol,
            row.public_key,
            if row.hd { "true" } else { "false" },
            row.xpub.unwrap_or_default(),
            &addresses,
            row.output_file.unwrap_or_default(),
            row.error.map(|e| e.kind.as_str()).unwrap_or_default(),
            row.error.map(|e| e.message.as_str()).unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        csv.push_str(&line.join(","));
        csv.push('\n');
    }
    for (name, bytes) in [(MANIFEST_JSON, json), (MANIFEST_CSV, csv.into_bytes())] {
        let path = out.join(name);
        fsio::write_new(&path, &bytes, FileMode::Public)
            .map_err(|e| CliError::shared(path.display().to_string(), e))?;
        entry.outputs.push(ArtifactRecord::new(
            "manifest",
            &path.display().to_string(),
            &bytes,
        ));
    }
    Ok(())
}

/// RFC 4180 quoting: fields holding a comma, quote or line break are quoted.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// The human report on stderr: one line per key, then the counts.
fn print_table(outcomes: &[KeyOutcome], out: Option<&Path>) {
    let width = outcomes
        .iter()
        .map(|o| o.key_id().len())
        .max()
        .unwrap_or(6)
        .max(6);
    eprintln!("{:<width$}  {:<8}  detail", "key id", "status");
    for outcome in outcomes {
        match outcome {
            KeyOutcome::Ok(r) => eprintln!(
                "{:<width$}  {:<8}  {}:{} {} verified{}",
                r.key_id,
                "ok",
                r.facts.protocol,
                r.facts.curve,
                r.facts.public_key,
                r.facts
                    .output
                    .as_ref()
                    .map(|w| format!(" → {}", w.path))
                    .unwrap_or_default()
            ),
            KeyOutcome::Failed(f) => eprintln!(
                "{:<width$}  {:<8}  {} ({})",
                f.key_id,
                "FAILED",
                keyexport_shared::display::Escaped(&f.error.message),
                f.error.kind
            ),
        }
    }
    let failed = outcomes
        .iter()
        .filter(|o| matches!(o, KeyOutcome::Failed(_)))
        .count();
    let unknown = outcomes
        .iter()
        .filter(|o| matches!(o, KeyOutcome::Ok(r) if !r.facts.unknown_fields.is_empty()))
        .count();
    if unknown > 0 {
        eprintln!(
            "warning: the Dfns documents of {unknown} key(s) carry fields this tool does not know; they were ignored (--json lists them as unknownFields). Tell the keyexport maintainers."
        );
    }
    eprintln!(
        "{} key(s): {} rebuilt and verified, {} failed.",
        outcomes.len(),
        outcomes.len() - failed,
        failed
    );
    match out {
        Some(dir) => eprintln!(
            "Manifest: {} and {} (public facts only).",
            dir.join(MANIFEST_JSON).display(),
            dir.join(MANIFEST_CSV).display()
        ),
        None => eprintln!("Nothing written: add --out DIR to deliver one file per key."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("key-a"), "key-a");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn in_parallel_keeps_the_order_and_computes_each_item_once() {
        let items: Vec<u32> = (0..1000).collect();
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let squares = in_parallel(&items, 16, |n| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            n * n
        });
        assert_eq!(squares, items.iter().map(|n| n * n).collect::<Vec<_>>());
        assert_eq!(calls.into_inner(), items.len());
    }

    #[test]
    fn in_parallel_works_on_one_thread_and_on_nothing() {
        assert_eq!(in_parallel(&[1, 2, 3], 1, |n| n + 1), vec![2, 3, 4]);
        assert_eq!(in_parallel(&[1, 2, 3], 0, |n| n + 1), vec![2, 3, 4]);
        assert!(in_parallel(&[] as &[u8], 8, |n| *n).is_empty());
    }

    #[test]
    fn in_parallel_raises_a_worker_panic_again() {
        let items: Vec<u32> = (0..64).collect();
        let outcome = std::panic::catch_unwind(|| {
            in_parallel(&items, 8, |n| {
                assert_ne!(*n, 40, "item 40");
                *n
            })
        });
        assert!(outcome.is_err());
    }
}
