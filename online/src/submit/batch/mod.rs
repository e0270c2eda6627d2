//! `keyexport-online submit` for a batch request: every key of the request, one
//! user action and one export each, paced under Dfns' rate limits, each answer saved the
//! moment it arrives, resumable.
//!
//! The responses folder (`responses` beside the request, or `--out`) holds one ordinary
//! response file per key, `KEY_ID.response.json`, and the [`journal`]. Per key: preflight
//! (`GET /keys/{id}`: active, not exported, scheme listed) → user action → `sending` in the
//! journal → the export, sent once → the response file, written atomically → `exported`
//! in the journal → the public-key check. A rerun with the same request skips saved keys,
//! tries failed ones again, and lists the *uncertain* ones (sent, no saved answer) for a
//! manual check; `--retry-uncertain` re-sends those only once Dfns shows them not exported.
//!
//! The folder's online transcript (`transcript.jsonl`, as for a single key) gets a
//! `batch-started` line before the first export (its head is the `onlineTranscriptHead` of
//! every response saved by that run) and a `batch-finished` line with the counts and the
//! digest of every response saved by the run.
//!
//! A failure that concerns one key (unknown key, already exported, 409, 202 hold, a 429
//! that outlasts its retries) is recorded and the batch goes on; one that concerns them
//! all (token, permission, feature, credential, network) stops it: no new key is started,
//! the exports in flight finish and are saved. Either way the summary lists every key, in
//! the request's order: exported, skipped, failed (why), uncertain, not attempted.
//!
//! `--parallel N` [`workers`] take the keys in the request's order and share the pacer (the
//! rate is the whole batch's), the journal, the progress and a 429's wait; one export
//! takes Dfns a second or more, so one key at a time could not use the permitted rate.
//! Ctrl-C ([`crate::interrupt`]) stops the batch the same way as a failure that concerns every
//! key; a second Ctrl-C ends the process at once.
//!
//! A run: read the request → [`plan`] each key from the folder and the journal → connect →
//! confirm → `batch-started` → [`workers`] → [`summary`] (the table, the exit code).

pub mod journal;
pub mod pace;
pub mod plan;
pub mod progress;
pub mod summary;
pub mod workers;

use std::path::{Path, PathBuf};

use keyexport_shared::files::batch::BatchRequestFile;
use keyexport_shared::files::{KeyId, sha256_hex};

use self::journal::{Event, Journal};
use self::plan::{plan, to_send};
use self::progress::format_duration;
use self::summary::{Heading, finish, record_finish};
use self::workers::{CALLS_PER_KEY, Setup, export_all};
use super::canary;
use crate::cli::{MAX_PARALLEL, Rate, SubmitArgs};
use crate::connect::{Connection, connect};
use crate::dfns::keys::get_key;
use crate::error::{Confirm, Folder, InputError, OnlineError, RefusedError};
use crate::export::{
    Confirmation, announce_retry, note, now_rfc3339, preflight, record_preflight, tool,
};
use crate::input::Received;
use crate::interrupt::{BeforeExport, Interrupt};
use crate::transcript::{self, Transcript};

/// The default responses folder, beside the request.
pub const RESPONSES_DIR: &str = "responses";

/// Runs `submit` for a batch request (already read from `received`).
pub fn run(
    args: &SubmitArgs,
    received: &Received,
    before: BeforeExport,
) -> Result<(), OnlineError> {
    let request = BatchRequestFile::parse(&received.bytes).map_err(|e| received.unparsable(e))?;
    let canary_mode = canary::mode(args, request.canary)?;
    let request_sha256 = sha256_hex(&received.bytes);
    let dir = responses_dir(args, &received.first)?;
    let (journal, history) = Journal::open(&dir, request.ceremony_id.as_str(), &request_sha256)?;
    let plans = plan(&request, &dir, &history, args.retry_uncertain);
    let to_send = to_send(&plans);
    let batch = Batch {
        args,
        received,
        request: &request,
        request_sha256: &request_sha256,
        dir: &dir,
        journal: &journal,
    };
    let Connection { client, credential } = connect(&args.dfns, Box::new(announce_retry))?;
    announce(&batch, to_send, plans.len() - to_send);
    let mut transcript = Transcript::in_dir(&dir);
    let context = canary::Context {
        client: &client,
        credential: &credential,
        ceremony_id: &request.ceremony_id,
        request_sha256: &request_sha256,
        body_to_send: &request.dfns_request.to_json_bytes(),
        out: &dir,
    };
    match canary_mode {
        canary::Mode::None => {}
        canary::Mode::Stage => {
            let mut saved = Vec::new();
            return stage_canary(&batch, &context, &mut transcript, &mut saved, before)
                .inspect_err(|e| transcript.record_failure(e, saved));
        }
        canary::Mode::Receipt(inputs) => {
            prove_canary(&context, inputs, &mut transcript)
                .inspect_err(|e| transcript.record_failure(e, Vec::new()))?;
        }
        canary::Mode::Skip => canary::skip_warning(&mut transcript)?,
    }
    export_keys(&batch, &context, plans, to_send, &mut transcript, before)
}

/// What the export of a batch's keys works from.
struct Batch<'a> {
    /// The command line.
    args: &'a SubmitArgs,
    /// The request as read (its first input, its carrier).
    received: &'a Received,
    /// The request, parsed.
    request: &'a BatchRequestFile,
    /// SHA-256 of the request file.
    request_sha256: &'a str,
    /// The responses folder.
    dir: &'a Path,
    /// The responses folder's journal.
    journal: &'a Journal,
}

/// What the run is about to do, before any call.
fn announce(batch: &Batch<'_>, to_send: usize, settled: usize) {
    note(&format!(
        "Batch request {} ({}): ceremony {}, {} keys, digest {}\n\
         Responses folder {}: {} key(s) to export, {} already settled by earlier runs",
        batch.received.first.display(),
        batch.received.carrier,
        batch.request.ceremony_id,
        batch.request.key_ids.len(),
        batch.request_sha256,
        batch.dir.display(),
        to_send,
        settled,
    ));
}

/// The exports: the operator confirms, `batch-started` is recorded, the [`workers`]
/// export each key to send, then the [`summary`] chooses the exit code.
fn export_keys(
    batch: &Batch<'_>,
    context: &canary::Context<'_>,
    plans: Vec<(KeyId, plan::Plan)>,
    to_send: usize,
    transcript: &mut Transcript,
    before: BeforeExport,
) -> Result<(), OnlineError> {
    let args = batch.args;
    let parallel = usize::from(args.parallel.clamp(1, MAX_PARALLEL)).min(to_send.max(1));
    confirm(batch.request, to_send, args.rate, parallel, args.yes)?;
    // Only now: before the confirmation, Ctrl-C ends the program, saying nothing was sent.
    before.end();
    let interrupt = Interrupt::install();
    let transcript_head = start(transcript, batch, to_send)?;
    let setup = Setup {
        client: context.client,
        credential: context.credential,
        request: batch.request,
        request_sha256: batch.request_sha256,
        transcript_head,
        dir: batch.dir,
        journal: batch.journal,
        interrupt: &interrupt,
        rate: args.rate,
        parallel,
    };
    let ended = export_all(setup, plans)?;
    record_finish(transcript, &ended);
    let heading = Heading {
        request: batch.request,
        request_sha256: batch.request_sha256,
        dir: batch.dir,
    };
    finish(args.json, &heading, ended)
}

/// The canary stage of a batch: one canary, of the first key's scheme and curve (its
/// preflight must pass), exported and saved in `DIR/canary/`; then the run stops.
fn stage_canary(
    batch: &Batch<'_>,
    context: &canary::Context<'_>,
    transcript: &mut Transcript,
    saved: &mut Vec<serde_json::Value>,
    before: BeforeExport,
) -> Result<(), OnlineError> {
    let request = batch.request;
    transcript.working_on("preflight");
    let first = request.key_ids.first().ok_or(InputError::EmptyBatch)?;
    note(&format!(
        "Checking key {first} (the canary takes its scheme and curve) at {} …",
        context.client.base()
    ));
    let key = get_key(context.client, first)?;
    if let Err(refusal) = preflight(&key, &request.dfns_request) {
        return Err(RefusedError::FirstKeyNotExportable {
            key_id: first.to_string(),
            refusal,
        }
        .into());
    }
    record_preflight(transcript, &key)?;
    let staged = canary::stage(context, &key, transcript, saved, before)?;
    let real_key_ids: Vec<&str> = request.key_ids.iter().map(KeyId::as_str).collect();
    canary::report_stage(
        batch.args.json,
        &canary::StageReport {
            staged: &staged,
            ceremony_id: &request.ceremony_id,
            real_key_ids,
            request_sha256: context.request_sha256,
            request: &batch.received.first,
            out: context.out,
            batch_of: Some(&key),
        },
    );
    Ok(())
}

/// A batch's canary receipt, checked before any call, then the canary deleted.
fn prove_canary(
    context: &canary::Context<'_>,
    inputs: &[PathBuf],
    transcript: &mut Transcript,
) -> Result<(), OnlineError> {
    transcript.working_on("canary-verified");
    let verified = canary::check_receipt(inputs, context.out, context.ceremony_id)?;
    canary::record_verified(transcript, &verified)?;
    canary::delete(
        context.client,
        context.credential,
        &verified.canary.canary_key_id,
        context.out,
        transcript,
    );
    Ok(())
}

/// The run's `batch-started` transcript line (its head is returned: every response this
/// run saves records it), then the journal's `start` line.
fn start(
    transcript: &mut Transcript,
    batch: &Batch<'_>,
    to_export: usize,
) -> Result<String, OnlineError> {
    let Batch {
        request,
        request_sha256,
        received,
        journal,
        ..
    } = batch;
    let head = transcript.record(
        "batch-started",
        serde_json::json!({
            "ceremonyId": request.ceremony_id.as_str(),
            "encryptionKeyFingerprint": request.encryption_key_fingerprint,
            "requestSha256": request_sha256,
            "carrier": received.carrier,
            "keys": request.key_ids.len(),
            "toExport": to_export,
        }),
        Vec::new(),
    )?;
    note(&transcript::head_lines(&head, None));
    journal.append(&Event::Start {
        ceremony_id: request.ceremony_id.to_string(),
        request_sha256: (*request_sha256).to_owned(),
        keys: request.key_ids.len(),
        at: now_rfc3339(),
        tool: tool(),
    })?;
    Ok(head)
}

fn responses_dir(args: &SubmitArgs, first_input: &Path) -> Result<PathBuf, OnlineError> {
    let dir = match &args.out {
        Some(dir) => dir.clone(),
        None => match first_input.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.join(RESPONSES_DIR),
            _ => PathBuf::from(RESPONSES_DIR),
        },
    };
    if let Err(error) = std::fs::create_dir_all(&dir) {
        return Err(RefusedError::FolderUnwritable {
            folder: Folder::Responses,
            path: dir,
            error,
        }
        .into());
    }
    Ok(dir)
}

/// Shows what is about to happen and has the operator type the number of keys.
fn confirm(
    request: &BatchRequestFile,
    to_send: usize,
    rate: Rate,
    parallel: usize,
    yes: bool,
) -> Result<(), OnlineError> {
    let least = rate.duration_of(u64::from(CALLS_PER_KEY) * to_send as u64);
    note(&format!(
        "\nAbout to export {to_send} key(s), ONCE each and irreversibly (they stop signing in Dfns):\n  \
         ceremony id                 {}\n  encryption-key fingerprint  {}\n  \
         rate                        {rate} ({CALLS_PER_KEY} calls per key: at least {})\n  \
         keys at a time              {parallel}\n\
         Compare the ceremony id and fingerprint with the offline machine's screen.",
        request.ceremony_id,
        request.dfns_request.encryption_key.fingerprint(),
        format_duration(least),
    ));
    if to_send == 0 {
        return Ok(());
    }
    let expected = to_send.to_string();
    Confirmation {
        what: Confirm::KeyCount,
        expected: &expected,
        prompt: &format!("Type the number of keys to export ({to_send}) to confirm: "),
    }
    .ask(yes)
}
