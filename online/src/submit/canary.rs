//! The canary ceremony's online steps, for one key or a batch.
//!
//! A request made with `init --canary` is submitted twice. Without `--canary-receipt`, the
//! [`stage`]: after the real key's preflight, a throwaway key of its scheme and curve is
//! created (`POST /keys`), exported with the request's exact body, and its response saved
//! in `OUT/canary/` with its QR/UR frames, exactly like a real response; then the run
//! stops, the real key untouched. A rerun reuses the saved canary response instead of
//! creating a second canary. With `--canary-receipt`, the receipt the offline machine
//! wrote is [`check_receipt`]ed against that saved response (from public data only), the
//! throwaway key is [`delete`]d (a failure is reported, not fatal), and the real export
//! goes on as without a canary. `--skip-canary` goes on without the proof, after a
//! [`skip_warning`] that the transcript records.

use std::path::{Path, PathBuf};

use keyexport_shared::canary::{
    CANARY_RESPONSE_FOLDER, CanaryError, CanaryReceipt, ExportedCanary, RECEIPT_FILE_NAME,
    RECEIPT_PNG_NAME,
};
use keyexport_shared::display::{self, Escaped};
use keyexport_shared::files::{Artifact, CeremonyId, KeyId, ResponseFile, sha256_hex};
use keyexport_shared::fsio::{FileMode, write_new};
use keyexport_shared::transport::{FrameOptions, group_hex};
use keyexport_shared::wire::ExportResponse;
use serde_json::{Value, json};

use crate::airgap::{self, FrameFiles};
use crate::cli::SubmitArgs;
use crate::dfns::canary::{
    CanaryKeyError, CreateKeyBody, CreateOutcome, CreatedKey, DeleteOutcome, create_key, delete_key,
};
use crate::dfns::client::DfnsClient;
use crate::dfns::credential::Credential;
use crate::dfns::keys::{ExportOutcome, KeyInfo, export_key};
use crate::error::{
    Answer, CanaryStep, Folder, OnlineError, RefusedError, ResponseCheck, UnprovenError,
};
use crate::export::{ResponseRecord, check_public_key, note, save_response};
use crate::input;
use crate::interrupt::{BeforeExport, Interrupt};
use crate::transcript::{self, Transcript};

/// The canary response's name in `OUT/canary/`.
pub const RESPONSE_FILE: &str = "response.json";
/// Where a 202 (policy hold) on the canary key's creation is kept, in `OUT/canary/`.
pub const CREATE_HELD_FILE: &str = "create-held.json";
/// Where a 202 on the canary key's deletion is kept, in `OUT/canary/`.
pub const DELETE_HELD_FILE: &str = "delete-held.json";
/// Where a 202 on the canary's export is kept, in `OUT/canary/`.
pub const EXPORT_HELD_FILE: &str = "export-held.json";
const STEM: &str = "response";
/// Width of the `--skip-canary` warning box, borders included.
const BOX_WIDTH: usize = 80;

/// What this run does about the canary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode<'a> {
    /// The request asks for no canary.
    None,
    /// Export the canary and stop.
    Stage,
    /// Check this receipt, delete the canary, export the real key.
    Receipt(&'a [PathBuf]),
    /// Export the real key without the canary's proof.
    Skip,
}

/// The mode asked by the flags for a request that does (`required`) or does not ask for a
/// canary; the canary flags on a request without canary are refused before any traffic.
pub fn mode(args: &SubmitArgs, required: bool) -> Result<Mode<'_>, OnlineError> {
    match (required, args.canary_receipt.is_empty(), args.skip_canary) {
        (true, false, _) => Ok(Mode::Receipt(&args.canary_receipt)),
        (true, true, true) => Ok(Mode::Skip),
        (true, true, false) => Ok(Mode::Stage),
        (false, true, false) => Ok(Mode::None),
        (false, _, _) => Err(RefusedError::CanaryFlagsWithoutCanary.into()),
    }
}

/// The folder of the canary's files inside the output folder.
pub fn folder(out: &Path) -> PathBuf {
    out.join(CANARY_RESPONSE_FOLDER)
}

/// What every canary step needs.
pub struct Context<'a> {
    /// The Dfns client.
    pub client: &'a DfnsClient,
    /// The credential that signs the user actions.
    pub credential: &'a Credential,
    /// The ceremony.
    pub ceremony_id: &'a CeremonyId,
    /// SHA-256 of the request file.
    pub request_sha256: &'a str,
    /// The request's `dfnsRequest`, byte for byte as the real export sends it.
    pub body_to_send: &'a [u8],
    /// The output folder (the canary's files go in its `canary/` folder).
    pub out: &'a Path,
}

/// The canary's export, saved (now or by an earlier run).
pub struct Staged {
    /// The canary key's id.
    pub canary_key_id: KeyId,
    /// `OUT/canary/response.json`.
    pub response_path: PathBuf,
    /// Its bytes.
    pub file_bytes: Vec<u8>,
    /// Dfns' body in it.
    pub response: ExportResponse,
    /// Its QR/UR files.
    pub frames: FrameFiles,
    /// Whether an earlier run saved it (no canary was created by this run).
    pub reused: bool,
}

/// The canary stage: the saved canary response when an earlier run left one; otherwise
/// create the canary of `real`, export it once with the request's body and save it
/// before anything else, then its QR/UR frames. Each step is recorded in `transcript`.
pub fn stage(
    ctx: &Context<'_>,
    real: &KeyInfo,
    transcript: &mut Transcript,
    saved: &mut Vec<Value>,
    before: BeforeExport,
) -> Result<Staged, OnlineError> {
    let dir = folder(ctx.out);
    let response_path = dir.join(RESPONSE_FILE);
    if response_path.symlink_metadata().is_ok() {
        return reuse(ctx, &dir, &response_path, transcript);
    }
    prepare_folder(&dir)?;
    let (canary_id, info) = create(ctx, real, &dir, transcript, saved)?;
    let exported = export(ctx, canary_id, info, &dir, transcript, saved, before)?;
    save(ctx, exported, response_path, transcript, saved)
}

/// Makes `OUT/canary/`, refusing one that holds an earlier attempt's files.
fn prepare_folder(dir: &Path) -> Result<(), OnlineError> {
    check_canary_free(dir)?;
    std::fs::create_dir_all(dir).map_err(|error| {
        RefusedError::FolderUnwritable {
            folder: Folder::Canary,
            path: dir.to_path_buf(),
            error,
        }
        .into()
    })
}

/// `POST /keys`: the throwaway key of `real`'s scheme and curve, recorded as
/// `canary-created`. A 202 is kept in `dir` and ends the stage.
fn create(
    ctx: &Context<'_>,
    real: &KeyInfo,
    dir: &Path,
    transcript: &mut Transcript,
    saved: &mut Vec<Value>,
) -> Result<(KeyId, KeyInfo), OnlineError> {
    transcript.working_on("canary-created");
    let body = CreateKeyBody::canary_of(real, ctx.ceremony_id);
    note(&format!(
        "Creating the canary key {:?} ({} on {}) …",
        body.name,
        Escaped(&body.scheme),
        Escaped(&body.curve)
    ));
    let created = match create_key(ctx.client, ctx.credential, &body).map_err(permission)? {
        CreateOutcome::Created(created) => created,
        CreateOutcome::Held(held) => {
            return Err(canary_held(
                dir,
                CanaryStep::Create,
                &held,
                transcript,
                saved,
            ));
        }
    };
    let CreatedKey {
        id: canary_id,
        info,
    } = *created;
    transcript.record(
        "canary-created",
        json!({
            "canaryKeyId": canary_id.as_str(),
            "name": body.name,
            "scheme": info.scheme,
            "curve": info.curve,
            "publicKey": info.public_key,
            "realKeyId": real.id,
        }),
        Vec::new(),
    )?;
    note(&format!("Created the canary key {canary_id}."));
    Ok((canary_id, info))
}

/// Exports the canary once, with the request's exact body, after the
/// `canary-export-sent` line. A 202 is kept in `dir` and ends the stage.
fn export(
    ctx: &Context<'_>,
    canary_id: KeyId,
    info: KeyInfo,
    dir: &Path,
    transcript: &mut Transcript,
    saved: &mut Vec<Value>,
    before: BeforeExport,
) -> Result<Exported, OnlineError> {
    before.end();
    let export_head = transcript.record(
        "canary-export-sent",
        json!({
            "canaryKeyId": canary_id.as_str(),
            "exportBodySha256": sha256_hex(ctx.body_to_send),
        }),
        Vec::new(),
    )?;
    transcript.working_on("canary-saved");
    note(
        "Exporting the canary key (signing the request with the credential, then sending it once) …",
    );
    let interrupt = Interrupt::install();
    let outcome = export_key(ctx.client, ctx.credential, &canary_id, ctx.body_to_send)?;
    if interrupt.happened() {
        note("Ctrl-C: the canary's export was already sent; saving its answer and finishing.");
    }
    match outcome {
        ExportOutcome::Exported(body) => Ok(Exported {
            canary_id,
            info,
            export_head,
            body,
        }),
        ExportOutcome::Held(held) => Err(canary_held(
            dir,
            CanaryStep::Export(canary_id),
            &held,
            transcript,
            saved,
        )),
    }
}

/// The canary's export as Dfns answered it.
struct Exported {
    /// The canary key's id.
    canary_id: KeyId,
    /// The created key, as Dfns described it.
    info: KeyInfo,
    /// Head of the `canary-export-sent` line.
    export_head: String,
    /// Dfns' body, as received.
    body: Vec<u8>,
}

/// Saves the canary's response in `response_path` before anything else, exactly like a
/// real response; then checks it against the created key, writes its QR/UR frames and
/// records `canary-saved`.
fn save(
    ctx: &Context<'_>,
    exported: Exported,
    response_path: PathBuf,
    transcript: &mut Transcript,
    saved: &mut Vec<Value>,
) -> Result<Staged, OnlineError> {
    let Exported {
        canary_id,
        info,
        export_head,
        body,
    } = exported;
    let record = ResponseRecord {
        ceremony_id: ctx.ceremony_id,
        key_id: &canary_id,
        request_sha256: ctx.request_sha256,
        transcript_head: &export_head,
        key: &info,
        canary: true,
    };
    let file_bytes =
        save_response(&record, &body, &response_path).map_err(|error| OnlineError::NotSaved {
            key_id: None,
            error: Box::new(error),
            body: String::from_utf8_lossy(&body).into_owned(),
        })?;
    note(&format!(
        "Saved the canary's response in {}",
        response_path.display()
    ));
    saved.push(transcript.artifact("canary-response", &response_path, &file_bytes));
    let response =
        ExportResponse::from_json(&body).map_err(|error| OnlineError::ResponseCheck {
            check: Box::new(ResponseCheck::NotAnExport {
                answer: Answer::Canary,
                error,
            }),
            saved: response_path.clone(),
        })?;
    check_public_key(&info, &response, &response_path)?;
    let dir = folder(ctx.out);
    let frames = airgap::write_frames(&dir, STEM, &file_bytes, &FrameOptions::default()).map_err(
        |error| OnlineError::Transport {
            saved: response_path.clone(),
            error: Box::new(error),
        },
    )?;
    let mut artifacts = std::mem::take(saved);
    artifacts.extend(transcript.artifacts("canary-response-qr", frames.paths()));
    match transcript.record(
        "canary-saved",
        json!({
            "canaryKeyId": canary_id.as_str(),
            "responseSha256": sha256_hex(&file_bytes),
            "publicKey": response.public_key.to_hex(),
            "onlineTranscriptHead": export_head,
        }),
        artifacts,
    ) {
        Ok(head) => note(&transcript::head_lines(&head, Some(transcript.path()))),
        Err(e) => eprintln!("warning: {e}"),
    }
    Ok(Staged {
        canary_key_id: canary_id,
        response_path,
        file_bytes,
        response,
        frames,
        reused: false,
    })
}

/// A rerun of the stage: the canary response an earlier run saved, its frames written if
/// they are missing. No second canary is created.
fn reuse(
    ctx: &Context<'_>,
    dir: &Path,
    response_path: &Path,
    transcript: &mut Transcript,
) -> Result<Staged, OnlineError> {
    let (file, file_bytes) = saved_canary(ctx.ceremony_id, response_path)?;
    let response = file
        .export_response()
        .map_err(|error| OnlineError::ResponseCheck {
            check: Box::new(ResponseCheck::NotAnExport {
                answer: Answer::SavedCanary,
                error,
            }),
            saved: response_path.to_path_buf(),
        })?;
    let existing = airgap::collisions(dir, STEM);
    let frames = if existing.is_empty() {
        airgap::write_frames(dir, STEM, &file_bytes, &FrameOptions::default()).map_err(|error| {
            OnlineError::Transport {
                saved: response_path.to_path_buf(),
                error: Box::new(error),
            }
        })?
    } else {
        FrameFiles {
            pngs: existing
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "png"))
                .cloned()
                .collect(),
            gif: airgap::gif_path(dir, STEM),
            ur_text: airgap::ur_text_path(dir, STEM),
        }
    };
    note(&format!(
        "The canary {} was already exported by an earlier run: its response {} is reused \
         (no second canary is created).",
        file.key_id,
        response_path.display()
    ));
    transcript.record(
        "canary-reused",
        json!({
            "canaryKeyId": file.key_id.as_str(),
            "responseSha256": sha256_hex(&file_bytes),
        }),
        vec![transcript.artifact("canary-response", response_path, &file_bytes)],
    )?;
    Ok(Staged {
        canary_key_id: file.key_id,
        response_path: response_path.to_path_buf(),
        file_bytes,
        response,
        frames,
        reused: true,
    })
}

/// The canary response saved in `path`, which must be this ceremony's canary's.
fn saved_canary(
    ceremony_id: &CeremonyId,
    path: &Path,
) -> Result<(ResponseFile, Vec<u8>), OnlineError> {
    let path = path.to_path_buf();
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(UnprovenError::NoCanaryResponse { path }.into());
        }
        Err(error) => return Err(UnprovenError::CanaryResponseUnreadable { path, error }.into()),
    };
    let unproven = match Artifact::parse(&bytes) {
        Ok(Artifact::Response(file)) if file.canary && file.ceremony_id == *ceremony_id => {
            return Ok((file, bytes));
        }
        Ok(Artifact::Response(file)) if file.canary => UnprovenError::OtherCeremony {
            path,
            found: file.ceremony_id,
            expected: ceremony_id.clone(),
        },
        Ok(other) => UnprovenError::NotACanaryResponse {
            path,
            found: other.describe(),
        },
        Err(error) => UnprovenError::CanaryResponseUnparsable { path, error },
    };
    Err(unproven.into())
}

/// Refuses a canary folder that holds a hold's answer or stray frames of an earlier run.
fn check_canary_free(dir: &Path) -> Result<(), OnlineError> {
    let taken = airgap::taken(dir, &[CREATE_HELD_FILE, EXPORT_HELD_FILE], STEM);
    if taken.is_empty() {
        return Ok(());
    }
    Err(RefusedError::CanaryFolderTaken { paths: taken }.into())
}

fn permission(error: CanaryKeyError) -> OnlineError {
    match error {
        CanaryKeyError::MissingPermission {
            call,
            permission,
            message,
        } => OnlineError::CanaryPermission {
            call,
            permission,
            message,
        },
        CanaryKeyError::Api(e) => OnlineError::Api(e),
    }
}

/// Saves a 202's body in `dir/name` when it can; returns where.
fn save_held(
    dir: &Path,
    name: &str,
    body: &[u8],
    transcript: &Transcript,
) -> (Option<PathBuf>, Vec<Value>) {
    let path = dir.join(name);
    match write_new(&path, body, FileMode::Public) {
        Ok(()) => {
            let artifact = transcript.artifact(name.trim_end_matches(".json"), &path, body);
            (Some(path), vec![artifact])
        }
        Err(_) => (None, Vec::new()),
    }
}

/// The error of a canary `step` Dfns held (202): its body saved in `dir` when it can
/// (`create-held.json` or `export-held.json`), and the file recorded in `saved`.
fn canary_held(
    dir: &Path,
    step: CanaryStep,
    body: &[u8],
    transcript: &Transcript,
    saved: &mut Vec<Value>,
) -> OnlineError {
    let name = match step {
        CanaryStep::Create => CREATE_HELD_FILE,
        CanaryStep::Export(_) => EXPORT_HELD_FILE,
    };
    let (kept, artifacts) = save_held(dir, name, body, transcript);
    saved.extend(artifacts);
    OnlineError::CanaryHeld {
        step,
        saved: kept,
        body: String::from_utf8_lossy(body).into_owned(),
    }
}

/// What the operator reads at the end of the canary stage, or the one JSON object.
pub struct StageReport<'a> {
    /// The staged canary.
    pub staged: &'a Staged,
    /// The ceremony.
    pub ceremony_id: &'a CeremonyId,
    /// The real key ids (one, or the batch's).
    pub real_key_ids: Vec<&'a str>,
    /// SHA-256 of the request file.
    pub request_sha256: &'a str,
    /// The request file as given, for the next command.
    pub request: &'a Path,
    /// The output folder, for the next command.
    pub out: &'a Path,
    /// For a batch: the key whose scheme and curve the canary has (a batch mixing curves
    /// proves one curve).
    pub batch_of: Option<&'a KeyInfo>,
}

/// Prints the stage's outcome: what to carry back and the next commands.
pub fn report_stage(json_mode: bool, report: &StageReport<'_>) {
    let staged = report.staged;
    let response_sha256 = sha256_hex(&staged.file_bytes);
    let next = format!(
        "keyexport-online submit --request {} --out {} --canary-receipt PATH/{}",
        report.request.display(),
        report.out.display(),
        RECEIPT_FILE_NAME
    );
    let pngs: Vec<String> = staged
        .frames
        .pngs
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    if json_mode {
        print_stage_json(report, &response_sha256, &pngs, &next);
    } else {
        print_stage_text(report, &response_sha256, &pngs, &next);
    }
}

/// The stage's one JSON object (`"stage": "canary-exported"`).
fn print_stage_json(report: &StageReport<'_>, response_sha256: &str, pngs: &[String], next: &str) {
    let staged = report.staged;
    let value = json!({
        "stage": "canary-exported",
        "ceremonyId": report.ceremony_id.as_str(),
        "keyIds": report.real_key_ids,
        "canaryKeyId": staged.canary_key_id.as_str(),
        "reused": staged.reused,
        "requestSha256": report.request_sha256,
        "response": staged.response_path.display().to_string(),
        "responseSha256": response_sha256,
        "qrPngs": pngs,
        "qrGif": staged.frames.gif.display().to_string(),
        "urText": staged.frames.ur_text.display().to_string(),
        "summary": {
            "protocol": staged.response.protocol,
            "curve": staged.response.curve,
            "publicKey": staged.response.public_key.to_hex(),
            "publicKeyMatchesCreatedKey": true,
            "minSigners": staged.response.min_signers,
            "shares": staged.response.shares.len(),
        },
        "batchCanaryOf": report.batch_of.map(|k| json!({
            "keyId": k.id, "scheme": k.scheme, "curve": k.curve,
        })),
        "realKeyTouched": false,
        "carryBack": [RECEIPT_FILE_NAME, RECEIPT_PNG_NAME],
        "next": next,
    });
    println!(
        "{}",
        display::to_json(&value).unwrap_or_else(|_| value.to_string())
    );
}

/// The stage's text: what was exported, what to carry back, the next commands.
fn print_stage_text(report: &StageReport<'_>, response_sha256: &str, pngs: &[String], next: &str) {
    let staged = report.staged;
    let folder = staged.response_path.parent().unwrap_or(report.out);
    let mut text = format!(
        "CANARY EXPORTED: a throwaway key, not the real key (untouched).\n  \
         canary key   {}\n  scheme       {} on {}\n",
        staged.canary_key_id, staged.response.protocol, staged.response.curve,
    );
    if staged.reused {
        text.push_str("  (saved by an earlier run: no second canary was created)\n");
    }
    if let Some(key) = report.batch_of {
        text.push_str(&format!(
            "One canary for the batch, of the scheme and curve of its first key\n  {}\n\
             A batch mixing curves proves this curve only.\n",
            key.id
        ));
    }
    text.push_str(&format!(
        "Canary response, its {} QR PNG file(s), animation and UR text, in\n  {}\n\
         Response SHA-256 (compare with the offline machine's `inspect`):\n  {}\n\n\
         Next:\n\
         1. Carry that folder to the offline machine (or play its QR codes there with\n   \
            `keyexport-online show {}`)\n   \
            and run `keyexport-offline reconstruct` on the canary response.\n\
         2. Carry back {} (or a photo of {}), written\n   \
            in the ceremony folder.\n\
         3. Here, with the same --out:\n   {}",
        pngs.len(),
        folder.display(),
        group_hex(response_sha256),
        staged.response_path.display(),
        RECEIPT_FILE_NAME,
        RECEIPT_PNG_NAME,
        next
    ));
    println!("{text}");
}

/// A receipt that proves this ceremony's canary was rebuilt offline.
pub struct Verified {
    /// The receipt.
    pub receipt: CanaryReceipt,
    /// The canary it proves.
    pub canary: ExportedCanary,
    /// SHA-256 of the receipt's bytes.
    pub receipt_sha256: String,
    /// The receipt as given (first input) and how it arrived.
    pub input: PathBuf,
    /// "file", "QR images" or "UR text".
    pub carrier: &'static str,
    /// The receipt's bytes, when they are exactly a file's.
    pub file_bytes: Option<Vec<u8>>,
}

/// Reads the receipt (file, photos of its QR codes, UR text) and checks it against the
/// canary response saved in `OUT/canary/`: a refusal names the check that failed.
pub fn check_receipt(
    inputs: &[PathBuf],
    out: &Path,
    ceremony_id: &CeremonyId,
) -> Result<Verified, OnlineError> {
    let (file, _) = saved_canary(ceremony_id, &folder(out).join(RESPONSE_FILE))?;
    let canary = ExportedCanary::from_response(&file).map_err(refused)?;
    let received = input::receive(inputs).map_err(|e| match e {
        OnlineError::Input(error) => UnprovenError::ReceiptUnreadable(error).into(),
        other => other,
    })?;
    let receipt = CanaryReceipt::parse(&received.bytes).map_err(|error| {
        match Artifact::parse(&received.bytes) {
            Ok(artifact) => UnprovenError::NotAReceipt {
                error,
                path: received.first.clone(),
                found: artifact.describe(),
            }
            .into(),
            Err(_) => refused(error),
        }
    })?;
    if !receipt.unknown_fields().is_empty() {
        note(&format!(
            "note: the canary receipt has fields this version does not know (ignored): {}",
            Escaped(&receipt.unknown_fields().join(", "))
        ));
    }
    receipt.verify(&canary).map_err(refused)?;
    let file_bytes = std::fs::read(&received.first)
        .ok()
        .filter(|b| *b == received.bytes);
    note(&format!(
        "The canary receipt ({}, {}) is valid: the canary {} of ceremony {} was rebuilt and \
         verified offline with this ceremony's decryption key.",
        received.first.display(),
        received.carrier,
        canary.canary_key_id,
        canary.ceremony_id
    ));
    Ok(Verified {
        receipt_sha256: sha256_hex(&received.bytes),
        receipt,
        canary,
        input: received.first,
        carrier: received.carrier,
        file_bytes,
    })
}

fn refused(error: CanaryError) -> OnlineError {
    UnprovenError::ReceiptRefused(error).into()
}

/// The `canary-verified` transcript line.
pub fn record_verified(
    transcript: &mut Transcript,
    verified: &Verified,
) -> Result<(), OnlineError> {
    let artifacts = verified
        .file_bytes
        .as_ref()
        .map(|bytes| vec![transcript.artifact("canary-receipt", &verified.input, bytes)])
        .unwrap_or_default();
    transcript.record(
        "canary-verified",
        json!({
            "canaryKeyId": verified.canary.canary_key_id.as_str(),
            "ceremonyId": verified.canary.ceremony_id.as_str(),
            "publicKey": verified.receipt.public_key().to_hex(),
            "signatureScheme": verified.receipt.signature_scheme().as_str(),
            "receiptSha256": verified.receipt_sha256,
            "carrier": verified.carrier,
        }),
        artifacts,
    )?;
    Ok(())
}

/// What became of the canary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    /// Deleted.
    Deleted,
    /// A policy holds the deletion (the key stays until approved).
    Held,
    /// The deletion failed; why.
    Failed(String),
}

impl Deletion {
    /// The stable name, for JSON and the transcript.
    pub fn as_str(&self) -> &'static str {
        match self {
            Deletion::Deleted => "deleted",
            Deletion::Held => "held",
            Deletion::Failed(_) => "failed",
        }
    }
}

/// `DELETE /keys/{canary}`: reported and recorded, never fatal (the canary is proven).
pub fn delete(
    client: &DfnsClient,
    credential: &Credential,
    canary_key_id: &KeyId,
    out: &Path,
    transcript: &mut Transcript,
) -> Deletion {
    note(&format!("Deleting the canary key {canary_key_id} …"));
    let mut artifacts = Vec::new();
    let deletion = match delete_key(client, credential, canary_key_id) {
        Ok(DeleteOutcome::Deleted(info)) => {
            note(&format!(
                "Deleted the canary key {canary_key_id} (Dfns now shows it {}).",
                Escaped(&info.status)
            ));
            Deletion::Deleted
        }
        Ok(DeleteOutcome::Held(body)) => {
            let (kept, records) = save_held(&folder(out), DELETE_HELD_FILE, &body, transcript);
            artifacts = records;
            if let Some(path) = kept {
                note(&format!("Dfns' answer is saved in {}.", path.display()));
            }
            eprintln!(
                "warning: a policy holds the deletion of the canary key {canary_key_id} for \
                 approval (HTTP 202): it stays in Dfns until approved. It is a throwaway key \
                 whose shares were exported; have the deletion approved or delete it in the \
                 dashboard. Going on with the real export."
            );
            Deletion::Held
        }
        Err(e) => {
            let reason = e.to_string();
            eprintln!(
                "warning: the canary key {canary_key_id} could not be deleted: {}. It is a \
                 throwaway key whose shares were exported: delete it in the Dfns dashboard \
                 (permission Keys:Delete). Going on with the real export.",
                Escaped(&reason)
            );
            Deletion::Failed(reason)
        }
    };
    let mut facts = json!({
        "canaryKeyId": canary_key_id.as_str(),
        "result": deletion.as_str(),
    });
    if let (Deletion::Failed(_), Some(map)) = (&deletion, facts.as_object_mut()) {
        // The tool's own words only: Dfns' message stays out of the transcript.
        map.insert("reason".into(), "the deletion call failed".into());
    }
    if let Err(e) = transcript.record("canary-deleted", facts, artifacts) {
        eprintln!("warning: {e}");
    }
    deletion
}

/// The `--skip-canary` warning box (80 columns, on stderr) and its transcript line.
pub fn skip_warning(transcript: &mut Transcript) -> Result<(), OnlineError> {
    eprintln!("{}", warning_box(SKIP_WARNING));
    transcript.record(
        "canary-skipped",
        json!({"reason": "--skip-canary: the real key is exported without a canary's proof"}),
        Vec::new(),
    )?;
    Ok(())
}

const SKIP_WARNING: &[&str] = &[
    "WARNING: --skip-canary",
    "",
    "This ceremony asked for a canary: a throwaway key exported and rebuilt",
    "offline first, to prove the sealed key, credential, transport and people",
    "work before the irreversible export. That proof is SKIPPED.",
    "",
    "If anything on the path is broken, it is found only after the real key",
    "has stopped signing in Dfns. This choice is recorded in the transcript.",
];

/// `lines` in a box of [`BOX_WIDTH`] columns.
fn warning_box(lines: &[&str]) -> String {
    let inner = BOX_WIDTH - 4;
    let rule = format!("+{}+", "-".repeat(BOX_WIDTH - 2));
    let mut text = rule.clone();
    for line in lines {
        text.push_str(&format!("\n| {line:<inner$} |"));
    }
    text.push('\n');
    text.push_str(&rule);
    text
}

/// What became of a canary request's canary, for the real export's report.
pub enum Outcome {
    /// The receipt verified; the canary key's deletion.
    Proven {
        /// The receipt and the canary it proves.
        verified: Box<Verified>,
        /// What became of the canary key.
        deletion: Deletion,
    },
    /// `--skip-canary`.
    Skipped,
}

impl Outcome {
    /// The `"canary"` object of the real export's JSON output.
    pub fn to_json(&self) -> Value {
        match self {
            Outcome::Proven { verified, deletion } => json!({
                "proven": true,
                "canaryKeyId": verified.canary.canary_key_id.as_str(),
                "receipt": verified.input.display().to_string(),
                "receiptSha256": verified.receipt_sha256,
                "deleted": deletion.as_str(),
            }),
            Outcome::Skipped => json!({"proven": false, "skipped": true}),
        }
    }

    /// The line of the real export's text report.
    pub fn line(&self) -> String {
        match self {
            Outcome::Proven { verified, deletion } => format!(
                "Canary: proven by its receipt (canary key {}, {}).",
                verified.canary.canary_key_id,
                match deletion {
                    Deletion::Deleted => "deleted",
                    Deletion::Held => "deletion held: have it approved or delete it",
                    Deletion::Failed(_) => "not deleted: delete it in the dashboard",
                }
            ),
            Outcome::Skipped => {
                "Canary: SKIPPED (--skip-canary), as the transcript records.".to_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warning_box_is_80_columns() {
        let text = warning_box(SKIP_WARNING);
        for line in text.lines() {
            assert_eq!(line.chars().count(), BOX_WIDTH, "{line:?}");
        }
        assert_eq!(text.lines().count(), SKIP_WARNING.len() + 2);
    }
}
