//! `submit` for one key: validate the request, check the key, confirm, export once, save
//! the response before anything else, then write its QR/UR frames.
//!
//! Order matters (runbook): nothing touches the network until the request,
//! configuration and output folder are checked; the export is sent once; the raw body
//! is persisted atomically the moment it arrives, and printed to stdout if that fails;
//! only then is it checked (shape, public key against the preflight) and rendered. Each
//! step is appended to the output folder's transcript once that folder is known, and a
//! failure after that too.

use std::path::{Path, PathBuf};

use keyexport_shared::display::Escaped;
use keyexport_shared::files::{Artifact, RequestFile, sha256_hex};
use keyexport_shared::fsio::{FileMode, write_new};
use keyexport_shared::transport::{FrameOptions, group_hex};
use keyexport_shared::wire::ExportResponse;
use serde_json::json;

use crate::airgap::{self, FrameFiles};
use crate::cli::SubmitArgs;
use crate::connect::{Connection, connect};
use crate::dfns::client::DfnsClient;
use crate::dfns::credential::Credential;
use crate::dfns::keys::{ExportOutcome, KeyInfo, export_key, get_key};
use crate::error::{
    Answer, Confirm, Folder, InputError, OnlineError, Refusal, RefusedError, ResponseCheck,
};
use crate::export::{
    Confirmation, ResponseRecord, announce_retry, check_public_key, note, preflight,
    record_preflight, save_response,
};
use crate::input::{self, Received};
use crate::interrupt::{BeforeExport, Interrupt};
use crate::transcript::{self, Transcript};

use super::canary;

/// The response file's name in the output folder.
pub const RESPONSE_FILE: &str = "response.json";
/// Where a 202 (policy hold) body is kept.
pub const HELD_FILE: &str = "export-held.json";
const STEM: &str = "response";

/// Runs `submit` for the single-key request in `received`.
pub fn run(
    args: &SubmitArgs,
    received: &Received,
    before: BeforeExport,
) -> Result<(), OnlineError> {
    let mut transcript: Option<Transcript> = None;
    let mut saved: Vec<serde_json::Value> = Vec::new();
    let result = execute(args, received, &mut transcript, &mut saved, before);
    if let (Err(error), Some(transcript)) = (&result, transcript.as_mut()) {
        transcript.record_failure(error, saved);
    }
    result
}

/// The request, its digest, and the folder its outputs go to.
struct Ceremony<'a> {
    received: &'a Received,
    request: RequestFile,
    request_sha256: String,
    out: PathBuf,
    /// The real export's `"canary"` object: proven (and deleted) or skipped.
    canary: Option<canary::Outcome>,
}

/// The steps, in the runbook's order; `transcript_slot` and `saved` outlive a failure so
/// that [`run`] can record it.
fn execute(
    args: &SubmitArgs,
    received: &Received,
    transcript_slot: &mut Option<Transcript>,
    saved: &mut Vec<serde_json::Value>,
    before: BeforeExport,
) -> Result<(), OnlineError> {
    // 1. Everything that can be checked offline, before any traffic.
    let mut ceremony = read_request(args, received)?;
    let canary_mode = canary::mode(args, ceremony.request.canary)?;
    let transcript = transcript_slot.insert(Transcript::in_dir(&ceremony.out));
    // The configuration is checked before anything is recorded or printed as a step: a
    // run that cannot call Dfns gets no transcript head for the witness to write down.
    transcript.working_on("preflight");
    let Connection { client, credential } = connect(&args.dfns, Box::new(announce_retry))?;
    record_request(&ceremony, transcript)?;
    // A canary receipt is checked from public data before any call to Dfns.
    let verified = match canary_mode {
        canary::Mode::Receipt(inputs) => Some(check_receipt(inputs, &ceremony, transcript)?),
        _ => None,
    };

    // 2. Read-only preflight.
    let key = check_key(&client, &ceremony.request, transcript)?;
    let body_to_send = ceremony.request.dfns_request.to_json_bytes();

    // 2b. The canary: exported instead of the real key (then stop), or proven and deleted,
    // or skipped with a warning.
    if canary_mode == canary::Mode::Stage {
        let context = canary::Context {
            client: &client,
            credential: &credential,
            ceremony_id: &ceremony.request.ceremony_id,
            request_sha256: &ceremony.request_sha256,
            body_to_send: &body_to_send,
            out: &ceremony.out,
        };
        return stage_canary(args, &context, &ceremony, &key, transcript, saved, before);
    }
    ceremony.canary = settle_canary(
        canary_mode,
        verified,
        &client,
        &credential,
        &ceremony.out,
        transcript,
    )?;
    transcript.working_on("confirm");

    // 3. The operator confirms what is about to happen.
    confirm(&ceremony.request, &key, args.yes)?;

    // 4. Export, once.
    let (export_head, body) = export_once(
        &client,
        &credential,
        &ceremony,
        &body_to_send,
        transcript,
        saved,
        before,
    )?;
    deliver(
        args,
        &ceremony,
        &key,
        &export_head,
        &body,
        transcript,
        saved,
    )
}

/// The canary receipt, checked against the saved canary response (public data only) and
/// recorded as `canary-verified`.
fn check_receipt(
    inputs: &[PathBuf],
    ceremony: &Ceremony<'_>,
    transcript: &mut Transcript,
) -> Result<canary::Verified, OnlineError> {
    transcript.working_on("canary-verified");
    let verified = canary::check_receipt(inputs, &ceremony.out, &ceremony.request.ceremony_id)?;
    canary::record_verified(transcript, &verified)?;
    transcript.working_on("preflight");
    Ok(verified)
}

/// The canary stage instead of the real export: the canary exported and saved, what to
/// carry back printed; the real key is not touched.
fn stage_canary(
    args: &SubmitArgs,
    context: &canary::Context<'_>,
    ceremony: &Ceremony<'_>,
    key: &KeyInfo,
    transcript: &mut Transcript,
    saved: &mut Vec<serde_json::Value>,
    before: BeforeExport,
) -> Result<(), OnlineError> {
    let staged = canary::stage(context, key, transcript, saved, before)?;
    canary::report_stage(
        args.json,
        &canary::StageReport {
            staged: &staged,
            ceremony_id: &ceremony.request.ceremony_id,
            real_key_ids: vec![ceremony.request.key_id.as_str()],
            request_sha256: &ceremony.request_sha256,
            request: &ceremony.received.first,
            out: &ceremony.out,
            batch_of: None,
        },
    );
    Ok(())
}

/// Before the real export of a canary request: with a verified receipt the canary key is
/// deleted (proven); with `--skip-canary` the warning is shown and recorded (skipped).
/// `None` for a request without a canary.
fn settle_canary(
    mode: canary::Mode<'_>,
    verified: Option<canary::Verified>,
    client: &DfnsClient,
    credential: &Credential,
    out: &Path,
    transcript: &mut Transcript,
) -> Result<Option<canary::Outcome>, OnlineError> {
    match (mode, verified) {
        (_, Some(verified)) => {
            let deletion = canary::delete(
                client,
                credential,
                &verified.canary.canary_key_id,
                out,
                transcript,
            );
            Ok(Some(canary::Outcome::Proven {
                verified: Box::new(verified),
                deletion,
            }))
        }
        (canary::Mode::Skip, None) => {
            canary::skip_warning(transcript)?;
            Ok(Some(canary::Outcome::Skipped))
        }
        (_, None) => Ok(None),
    }
}

/// Step 4: the `export-sent` line first (the response file records its head), then the
/// export, sent once. Returns that head and Dfns' body; a 202 is kept and ends the run.
fn export_once(
    client: &DfnsClient,
    credential: &Credential,
    ceremony: &Ceremony<'_>,
    body_to_send: &[u8],
    transcript: &mut Transcript,
    saved: &mut Vec<serde_json::Value>,
    before: BeforeExport,
) -> Result<(String, Vec<u8>), OnlineError> {
    let key_id = &ceremony.request.key_id;
    before.end();
    let export_head = transcript.record(
        "export-sent",
        json!({
            "keyId": key_id.as_str(),
            "exportBodySha256": sha256_hex(body_to_send),
        }),
        Vec::new(),
    )?;
    transcript.working_on("response-saved");
    note("Exporting (signing the request with the credential, then sending it once) …");
    // From here a first Ctrl-C no longer ends the program: the answer is saved first.
    let interrupt = Interrupt::install();
    let outcome = export_key(client, credential, key_id, body_to_send)?;
    if interrupt.happened() {
        note(
            "Ctrl-C: the export was already sent; saving its answer and finishing (Ctrl-C \
             again quits at once and may lose it).",
        );
    }
    match outcome {
        ExportOutcome::Exported(body) => Ok((export_head, body)),
        ExportOutcome::Held(body) => Err(held(&ceremony.out, &body, transcript, saved)),
    }
}

/// Parses the request and settles its output folder, refusing one that holds an earlier
/// run's outputs.
fn read_request<'a>(
    args: &SubmitArgs,
    received: &'a Received,
) -> Result<Ceremony<'a>, OnlineError> {
    let request = match input::parse(received)? {
        Artifact::Request(request) => request,
        other => {
            return Err(InputError::NotARequest {
                path: received.first.clone(),
                found: other.describe(),
            }
            .into());
        }
    };
    let request_sha256 = sha256_hex(&received.bytes);
    let out = output_dir(args, &received.first)?;
    check_outputs_free(&out)?;
    Ok(Ceremony {
        received,
        request,
        request_sha256,
        out,
        canary: None,
    })
}

/// The `request-read` transcript line (with the request file, when it holds exactly the
/// bytes read: not for QR images), its head, and the request as the operator compares it.
fn record_request(ceremony: &Ceremony<'_>, transcript: &mut Transcript) -> Result<(), OnlineError> {
    let Ceremony {
        received,
        request,
        request_sha256,
        ..
    } = ceremony;
    let mut request_artifacts = Vec::new();
    if std::fs::read(&received.first).is_ok_and(|b| sha256_hex(&b) == *request_sha256) {
        request_artifacts.push(transcript.artifact("request", &received.first, &received.bytes));
    }
    let head = transcript.record(
        "request-read",
        json!({
            "ceremonyId": request.ceremony_id.as_str(),
            "keyId": request.key_id.as_str(),
            "encryptionKeyFingerprint": request.encryption_key_fingerprint,
            "requestSha256": request_sha256,
            "carrier": received.carrier,
        }),
        request_artifacts,
    )?;
    note(&transcript::head_lines(&head, None));
    transcript.working_on("preflight");
    note(&format!(
        "Request {} ({}): ceremony {}, key {}\n  SHA-256\n    {}",
        received.first.display(),
        received.carrier,
        request.ceremony_id,
        request.key_id,
        hex_lines(request_sha256)
    ));
    Ok(())
}

/// `GET /keys/{id}`: the key is shown, must be exportable, and is recorded.
fn check_key(
    client: &DfnsClient,
    request: &RequestFile,
    transcript: &mut Transcript,
) -> Result<KeyInfo, OnlineError> {
    note(&format!(
        "Checking key {} at {} …",
        request.key_id,
        client.base()
    ));
    let key = get_key(client, &request.key_id)?;
    show_key(&key);
    check_exportable(&key, request)?;
    record_preflight(transcript, &key)?;
    transcript.working_on("confirm");
    Ok(key)
}

/// HTTP 202: the body is kept in [`HELD_FILE`] when it can be; nothing was exported.
fn held(
    out: &Path,
    body: &[u8],
    transcript: &Transcript,
    saved: &mut Vec<serde_json::Value>,
) -> OnlineError {
    let path = out.join(HELD_FILE);
    let held_saved = write_new(&path, body, FileMode::Public).ok().map(|()| path);
    if let Some(path) = &held_saved {
        saved.push(transcript.artifact("export-held", path, body));
    }
    OnlineError::Held {
        saved: held_saved,
        body: String::from_utf8_lossy(body).into_owned(),
    }
}

/// Steps 5 to 7: the answer saved before anything else, then checked, then written as
/// QR/UR frames for the trip back, recorded and reported.
fn deliver(
    args: &SubmitArgs,
    ceremony: &Ceremony<'_>,
    key: &KeyInfo,
    export_head: &str,
    body: &[u8],
    transcript: &mut Transcript,
    saved: &mut Vec<serde_json::Value>,
) -> Result<(), OnlineError> {
    // 5. Persist before anything else.
    let out = &ceremony.out;
    let response_path = out.join(RESPONSE_FILE);
    let file_bytes = persist(ceremony, key, export_head, body, &response_path)?;
    saved.push(transcript.artifact("response", &response_path, &file_bytes));

    // 6. Check it.
    let response = ExportResponse::from_json(body).map_err(|error| OnlineError::ResponseCheck {
        check: Box::new(ResponseCheck::NotAnExport {
            answer: Answer::Export,
            error,
        }),
        saved: response_path.clone(),
    })?;
    check_public_key(key, &response, &response_path)?;
    note(&format!(
        "The response's publicKey equals the preflight's:\n    {}",
        hex_lines(&response.public_key.to_string())
    ));

    // 7. The trip back across the air gap.
    let frames = airgap::write_frames(out, STEM, &file_bytes, &FrameOptions::default()).map_err(
        |error| OnlineError::Transport {
            saved: response_path.clone(),
            error: Box::new(error),
        },
    )?;
    record_saved(
        transcript,
        saved,
        &frames,
        &file_bytes,
        &response,
        export_head,
    );
    report(
        args.json,
        ceremony,
        &response,
        &response_path,
        &frames,
        &sha256_hex(&file_bytes),
    );
    Ok(())
}

/// Writes the response file atomically. If that fails the error carries the raw body,
/// which `main` prints to stdout at once so it is not lost. Returns the file's bytes.
fn persist(
    ceremony: &Ceremony<'_>,
    key: &KeyInfo,
    export_head: &str,
    body: &[u8],
    path: &Path,
) -> Result<Vec<u8>, OnlineError> {
    let record = ResponseRecord {
        ceremony_id: &ceremony.request.ceremony_id,
        key_id: &ceremony.request.key_id,
        request_sha256: &ceremony.request_sha256,
        transcript_head: export_head,
        key,
        canary: false,
    };
    let bytes = save_response(&record, body, path).map_err(|error| OnlineError::NotSaved {
        key_id: None,
        error: Box::new(error),
        body: String::from_utf8_lossy(body).into_owned(),
    })?;
    note(&format!("Saved the Dfns response in {}", path.display()));
    Ok(bytes)
}

/// The `response-saved` transcript line, with the response and its QR/UR files. The
/// response is saved whatever happens here: a failure to record it is only a warning.
fn record_saved(
    transcript: &mut Transcript,
    saved: &mut Vec<serde_json::Value>,
    frames: &FrameFiles,
    file_bytes: &[u8],
    response: &ExportResponse,
    export_head: &str,
) {
    let mut artifacts = std::mem::take(saved);
    artifacts.extend(transcript.artifacts("response-qr", frames.paths()));
    match transcript.record(
        "response-saved",
        json!({
            "responseSha256": sha256_hex(file_bytes),
            "publicKey": response.public_key.to_hex(),
            "onlineTranscriptHead": export_head,
        }),
        artifacts,
    ) {
        Ok(head) => note(&transcript::head_lines(&head, Some(transcript.path()))),
        // The response is saved; only the record of it failed.
        Err(e) => eprintln!("warning: {e}"),
    }
}

fn output_dir(args: &SubmitArgs, first_input: &Path) -> Result<PathBuf, OnlineError> {
    let dir = match &args.out {
        Some(dir) => dir.clone(),
        None => match first_input.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        },
    };
    // Created when absent, as `keyexport-offline init --out` does.
    if let Err(error) = std::fs::create_dir_all(&dir) {
        return Err(RefusedError::FolderUnwritable {
            folder: Folder::Output,
            path: dir,
            error,
        }
        .into());
    }
    if !dir.is_dir() {
        return Err(RefusedError::NotAFolder { path: dir }.into());
    }
    Ok(dir)
}

/// Refuses to start if any output already exists: the export cannot be repeated, so
/// its outputs must not collide with an earlier run's.
fn check_outputs_free(dir: &Path) -> Result<(), OnlineError> {
    let taken = airgap::taken(dir, &[RESPONSE_FILE, HELD_FILE], STEM);
    if taken.is_empty() {
        return Ok(());
    }
    Err(RefusedError::OutputsExist { paths: taken }.into())
}

fn show_key(key: &KeyInfo) {
    // The public key on its own line, in groups of 8: it is compared with Step 5's.
    note(&format!(
        "Dfns key {}: name {:?}, curve {}, scheme {}, status {}{}\n  public key\n    {}",
        key.id,
        key.name.as_deref().unwrap_or(""),
        key.curve,
        key.scheme,
        key.status,
        if key.is_exported() {
            " (already exported)"
        } else {
            ""
        },
        hex_lines(&key.public_key.to_string())
    ));
}

/// Hex in groups of 8, eight groups (64 digits) a line, continuation lines indented as
/// the values under a label: nothing wraps at 80 columns.
fn hex_lines(hex: &str) -> String {
    hex.as_bytes()
        .chunks(64)
        .map(|line| group_hex(&String::from_utf8_lossy(line)))
        .collect::<Vec<_>>()
        .join("\n    ")
}

/// The preflight's verdict, as an error with advice.
fn check_exportable(key: &KeyInfo, request: &RequestFile) -> Result<(), OnlineError> {
    let refusal = match preflight(key, &request.dfns_request) {
        Ok(()) => return Ok(()),
        Err(refusal) => refusal,
    };
    let key_id = key.id.clone();
    Err(match refusal {
        Refusal::AlreadyExported => RefusedError::AlreadyExported {
            key_id,
            on: key.date_exported.clone(),
        },
        Refusal::NotActive(status) => RefusedError::NotActive { key_id, status },
        Refusal::SchemeNotListed => RefusedError::SchemeNotListed {
            key_id,
            curve: key.curve.clone(),
            listed: request
                .dfns_request
                .supported_schemes
                .iter()
                .map(ToString::to_string)
                .collect(),
        },
    }
    .into())
}

/// Shows what is about to happen and has the operator type the key id.
fn confirm(request: &RequestFile, key: &KeyInfo, yes: bool) -> Result<(), OnlineError> {
    note(&format!(
        "\nAbout to export, ONCE and irreversibly (the key stops signing in Dfns):\n  \
         key id                      {}\n  scheme                      {} on {}\n  \
         ceremony id                 {}\n  encryption-key fingerprint  {}\n\
         Compare the ceremony id and fingerprint with the offline machine's screen.",
        request.key_id,
        Escaped(&key.scheme),
        Escaped(&key.curve),
        request.ceremony_id,
        request.dfns_request.encryption_key.fingerprint()
    ));
    Confirmation {
        what: Confirm::KeyId,
        expected: request.key_id.as_str(),
        prompt: "Type the key id to confirm: ",
    }
    .ask(yes)
}

fn report(
    json_mode: bool,
    ceremony: &Ceremony<'_>,
    response: &ExportResponse,
    response_path: &Path,
    frames: &FrameFiles,
    response_sha256: &str,
) {
    let request = &ceremony.request;
    let request_sha256 = &ceremony.request_sha256;
    let pngs: Vec<String> = frames
        .pngs
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    if json_mode {
        let mut value = json!({
            "stage": "exported",
            "status": "exported",
            "keyId": request.key_id.as_str(),
            "ceremonyId": request.ceremony_id.as_str(),
            "requestSha256": request_sha256,
            "response": response_path.display().to_string(),
            "responseSha256": response_sha256,
            "qrPngs": pngs,
            "qrGif": frames.gif.display().to_string(),
            "urText": frames.ur_text.display().to_string(),
            "summary": {
                "protocol": response.protocol,
                "curve": response.curve,
                "publicKey": response.public_key.to_hex(),
                "publicKeyMatchesPreflight": true,
                "minSigners": response.min_signers,
                "shares": response.shares.len(),
            },
        });
        if let (Some(canary), Some(map)) = (&ceremony.canary, value.as_object_mut()) {
            map.insert("canary".into(), canary.to_json());
        }
        println!(
            "{}",
            keyexport_shared::display::to_json(&value).unwrap_or_else(|_| value.to_string())
        );
    } else {
        println!(
            "Exported key {} ({} on {}, {} of {} shares needed).\n\
             Response saved: {}\n\
             Response SHA-256 (compare with the offline machine's `inspect`):\n  {}\n\
             QR frames: {} PNG file(s) ({} … ), animation {}, UR text {}\n\
             Next: carry these to the offline machine, or play them with \
             `keyexport-online show {}`.",
            request.key_id,
            response.protocol,
            response.curve,
            response.min_signers,
            response.shares.len(),
            response_path.display(),
            group_hex(response_sha256),
            pngs.len(),
            pngs.first().map(String::as_str).unwrap_or(""),
            frames.gif.display(),
            frames.ur_text.display(),
            response_path.display()
        );
        if let Some(canary) = &ceremony.canary {
            println!("{}", canary.line());
        }
    }
}
