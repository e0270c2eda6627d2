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
//! `--parallel N` workers take the keys in the request's order and share the pacer (the
//! rate is the whole batch's), the journal, the progress and a 429's wait; one export
//! takes Dfns a second or more, so one key at a time could not use the permitted rate.
//! Ctrl-C ([`crate::interrupt`]) stops the batch the same way as a failure that concerns every
//! key; a second Ctrl-C ends the process at once.

pub mod journal;
pub mod pace;
pub mod progress;

use std::collections::HashMap;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use keyexport_shared::ErrorKind;
use keyexport_shared::batch::{BatchRequestFile, response_file_name};
use keyexport_shared::files::{Artifact, KeyId, ResponseFile, sha256_hex};
use keyexport_shared::fsio::{FileMode, write_new};
use keyexport_shared::wire::ExportResponse;
use serde::Serialize;

use self::journal::{Event, Journal, Prior};
use self::pace::{Pacer, Rate};
use self::progress::{Progress, format_duration};
use crate::cli::SubmitArgs;
use crate::connect::{Connection, connect};
use crate::dfns::client::DfnsClient;
use crate::dfns::credential::Credential;
use crate::dfns::errors::{ApiError, ApiErrorKind, Call};
use crate::dfns::keys::{ExportOutcome, KeyInfo, get_key, send_export, sign_export};
use crate::error::OnlineError;
use crate::input::Received;
use crate::interrupt::{BeforeExport, Interrupt};
use crate::submit::{announce_retry, check_public_key, note, now_rfc3339, tool};
use crate::transcript::Transcript;

/// The default responses folder, beside the request.
pub const RESPONSES_DIR: &str = "responses";
/// API calls per key: preflight, user-action init, user-action signature, export.
const CALLS_PER_KEY: u32 = 4;
/// Calls of a retried export after a 429: a new user action (2) and the export.
const CALLS_PER_RETRY: u32 = 3;
/// Exports of one key refused with 429 before the key is given up for this run.
const MAX_RATE_LIMITED: u32 = 5;
/// Longest wait after a 429 without `Retry-After`.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Keys exported at once unless `--parallel` says otherwise (docs/batch.md, "Parallel
/// exports": enough to keep 1,000 calls a minute busy when Dfns takes about 2 s a key).
pub const DEFAULT_PARALLEL: u8 = 8;
/// The most `--parallel` accepts: more would only put more keys at risk of being left
/// uncertain by a network failure, without reaching a higher permitted rate.
pub const MAX_PARALLEL: u8 = 32;
/// Longest a waiting worker sleeps before looking whether the batch stops.
const WAKE: Duration = Duration::from_millis(50);

/// What happened to one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Status {
    /// Exported by this run; the response is saved.
    Exported,
    /// Saved by an earlier run.
    Skipped,
    /// Not exported, for the reason given.
    Failed,
    /// May have been exported without a saved answer: check by hand.
    Uncertain,
    /// The batch stopped before this key.
    NotAttempted,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Exported => "exported",
            Status::Skipped => "skipped",
            Status::Failed => "FAILED",
            Status::Uncertain => "UNCERTAIN",
            Status::NotAttempted => "not attempted",
        }
    }
}

/// One row of the summary.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyResult {
    key_id: String,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl KeyResult {
    fn new(key_id: &KeyId, status: Status) -> KeyResult {
        KeyResult {
            key_id: key_id.to_string(),
            status,
            file: None,
            kind: None,
            reason: None,
        }
    }

    /// A note that is not a problem (why a key was not attempted).
    fn noting(mut self, reason: impl Into<String>) -> KeyResult {
        self.reason = Some(reason.into());
        self
    }

    fn because(mut self, kind: &str, reason: impl Into<String>) -> KeyResult {
        self.kind = Some(kind.to_owned());
        self.reason = Some(reason.into());
        self
    }

    fn with_file(mut self, path: &Path) -> KeyResult {
        self.file = Some(path.display().to_string());
        self
    }

    fn is_problem(&self) -> bool {
        matches!(self.status, Status::Failed | Status::Uncertain) || self.kind.is_some()
    }
}

/// What a rerun does with one key.
#[derive(Debug)]
enum Plan {
    /// Export it.
    Export,
    /// Export it if Dfns shows it not exported (an uncertain key, `--retry-uncertain`).
    Recheck(String),
    /// Report the earlier run's outcome without any call.
    Done(KeyResult),
}

/// The state of a running batch, shared by its workers.
struct Batch<'a> {
    client: &'a DfnsClient,
    credential: &'a Credential,
    request: &'a BatchRequestFile,
    request_sha256: &'a str,
    /// Head of this run's `batch-started` transcript line.
    transcript_head: String,
    body: Vec<u8>,
    dir: &'a Path,
    journal: &'a Journal,
    pacer: Mutex<Pacer>,
    /// Set by a failure that every later key would meet: start no new key.
    halted: AtomicBool,
    interrupt: &'a Interrupt,
    /// Whether the operator was told that Ctrl-C was seen.
    announced: AtomicBool,
}

/// A key to export, at its place in the request.
struct Job {
    index: usize,
    key_id: KeyId,
    /// Set for an uncertain key being retried (`--retry-uncertain`).
    recheck: Option<String>,
}

/// The workers' shared state: the keys, the next one to take, what came of them.
struct Dispatch<'a> {
    batch: Batch<'a>,
    jobs: Vec<Job>,
    next: AtomicUsize,
    rate: Rate,
    results: Mutex<Vec<Option<KeyResult>>>,
    progress: Mutex<Progress>,
    /// Failures that stopped the batch, by request index.
    stops: Mutex<Vec<(usize, OnlineError)>>,
    /// Responses that could not be saved, by request index.
    unsaved: Mutex<Vec<(usize, OnlineError)>>,
}

/// Locks `mutex`; a worker that panicked while holding it left nothing half-done that
/// matters here (results and counters only), so its data is used as it is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `submit` for a batch request (already read from `received`).
pub fn run(
    args: &SubmitArgs,
    received: &Received,
    before: BeforeExport,
) -> Result<(), OnlineError> {
    let request = BatchRequestFile::parse(&received.bytes).map_err(|e| {
        OnlineError::Input(format!(
            "{} ({}): {e}",
            received.first.display(),
            received.carrier
        ))
    })?;
    let request_sha256 = sha256_hex(&received.bytes);
    let dir = responses_dir(args, &received.first)?;
    let (journal, history) = Journal::open(&dir, request.ceremony_id.as_str(), &request_sha256)?;
    let plans = plan(&request, &dir, &history, args.retry_uncertain);
    let to_send = plans
        .iter()
        .filter(|(_, p)| !matches!(p, Plan::Done(_)))
        .count();
    let Connection { client, credential } = connect(&args.dfns, Box::new(announce_retry))?;
    note(&format!(
        "Batch request {} ({}): ceremony {}, {} keys, digest {request_sha256}\n\
         Responses folder {}: {} key(s) to export, {} already settled by earlier runs",
        received.first.display(),
        received.carrier,
        request.ceremony_id,
        request.key_ids.len(),
        dir.display(),
        to_send,
        plans.len() - to_send,
    ));
    let parallel = usize::from(args.parallel.clamp(1, MAX_PARALLEL)).min(to_send.max(1));
    confirm(&request, to_send, args.rate, parallel, args.yes)?;
    // Only now: before the confirmation, Ctrl-C ends the program, saying nothing was sent.
    before.end();
    let interrupt = Interrupt::install();
    let mut transcript = Transcript::in_dir(&dir);
    let transcript_head = transcript.record(
        "batch-started",
        serde_json::json!({
            "ceremonyId": request.ceremony_id.as_str(),
            "encryptionKeyFingerprint": request.encryption_key_fingerprint,
            "requestSha256": request_sha256,
            "carrier": received.carrier,
            "keys": request.key_ids.len(),
            "toExport": to_send,
        }),
        Vec::new(),
    )?;
    note(&crate::transcript::head_lines(&transcript_head, None));
    journal.append(&Event::Start {
        ceremony_id: request.ceremony_id.to_string(),
        request_sha256: request_sha256.clone(),
        keys: request.key_ids.len(),
        at: now_rfc3339(),
        tool: tool(),
    })?;

    let mut progress = Progress::new(plans.len());
    let mut results: Vec<Option<KeyResult>> = Vec::with_capacity(plans.len());
    let mut jobs: Vec<Job> = Vec::with_capacity(to_send);
    for (index, (key_id, plan)) in plans.into_iter().enumerate() {
        let recheck = match plan {
            Plan::Done(result) => {
                progress.key_done(
                    &describe(&result),
                    false,
                    result.is_problem(),
                    Duration::ZERO,
                );
                results.push(Some(result));
                continue;
            }
            Plan::Export => None,
            Plan::Recheck(reason) => Some(reason),
        };
        jobs.push(Job {
            index,
            key_id,
            recheck,
        });
        results.push(None);
    }
    let dispatch = Dispatch {
        batch: Batch {
            client: &client,
            credential: &credential,
            request: &request,
            request_sha256: &request_sha256,
            transcript_head,
            body: request.dfns_request.to_json_bytes(),
            dir: &dir,
            journal: &journal,
            pacer: Mutex::new(Pacer::new(args.rate)),
            halted: AtomicBool::new(false),
            interrupt: &interrupt,
            announced: AtomicBool::new(false),
        },
        jobs,
        next: AtomicUsize::new(0),
        rate: args.rate,
        results: Mutex::new(results),
        progress: Mutex::new(progress),
        stops: Mutex::new(Vec::new()),
        unsaved: Mutex::new(Vec::new()),
    };
    std::thread::scope(|scope| {
        for _ in 0..parallel {
            scope.spawn(|| dispatch.work());
        }
    });
    let Dispatch {
        batch,
        results,
        stops,
        unsaved,
        ..
    } = dispatch;
    // A Ctrl-C that came after the last key was started interrupted nothing: the batch
    // finished, and its outcome is the ordinary one.
    let interrupted = batch.interrupt.happened() && lock(&results).iter().any(Option::is_none);
    let mut unsaved = unsaved.into_inner().unwrap_or_else(PoisonError::into_inner);
    unsaved.sort_by_key(|(index, _)| *index);
    let mut unsaved = unsaved.into_iter().map(|(_, error)| error);
    if let Some(first) = unsaved.next() {
        // Main prints the first one's body on standard output; any other goes to standard
        // error now, so that no answer Dfns gave is lost.
        for error in unsaved {
            if let Some(body) = error.unsaved_body() {
                eprintln!("error: {error}\nDfns' response, to copy into a file now:\n{body}");
            }
        }
        return Err(first);
    }
    let results: Vec<KeyResult> = results
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .zip(request.key_ids.iter())
        .map(|(result, key_id)| {
            result.unwrap_or_else(|| KeyResult::new(key_id, Status::NotAttempted))
        })
        .collect();
    let mut stops = stops.into_inner().unwrap_or_else(PoisonError::into_inner);
    stops.sort_by_key(|(index, _)| *index);
    let stopped = stops.into_iter().map(|(_, error)| error).next();
    record_finish(&mut transcript, &results, stopped.as_ref(), interrupted);
    finish(
        args,
        &request,
        &request_sha256,
        &dir,
        &results,
        stopped,
        interrupted,
    )
}

impl Dispatch<'_> {
    /// One worker: takes the next key in the request's order until none is left or the
    /// batch stops.
    fn work(&self) {
        loop {
            if self.batch.stopping() {
                return;
            }
            let Some(job) = self.jobs.get(self.next.fetch_add(1, Ordering::SeqCst)) else {
                return;
            };
            // A key whose turn never comes stays "not attempted".
            if !self.batch.wait_turn(CALLS_PER_KEY) {
                return;
            }
            let result = match self.batch.export_one(&job.key_id, job.recheck.as_deref()) {
                Ok(result) => result,
                Err(Stop::NotSaved(error)) => {
                    self.batch.halted.store(true, Ordering::SeqCst);
                    lock(&self.unsaved).push((job.index, *error));
                    return;
                }
                Err(Stop::Fatal(fatal)) => {
                    self.batch.halted.store(true, Ordering::SeqCst);
                    let (error, result) = *fatal;
                    lock(&self.stops).push((job.index, error));
                    result
                }
            };
            self.done(job.index, result);
        }
    }

    /// Records one key's row and shows it.
    fn done(&self, index: usize, result: KeyResult) {
        let started = self.next.load(Ordering::SeqCst).min(self.jobs.len());
        let pacing_left = self
            .rate
            .duration_of(u64::from(CALLS_PER_KEY) * (self.jobs.len() - started) as u64);
        lock(&self.progress).key_done(
            &describe(&result),
            result.status == Status::Exported,
            result.is_problem(),
            pacing_left,
        );
        if let Some(slot) = lock(&self.results).get_mut(index) {
            *slot = Some(result);
        }
    }
}

/// The `batch-finished` transcript line: counts, and every response saved by this run.
fn record_finish(
    transcript: &mut Transcript,
    results: &[KeyResult],
    stopped: Option<&OnlineError>,
    interrupted: bool,
) {
    let count = |status: Status| results.iter().filter(|r| r.status == status).count();
    let artifacts: Vec<serde_json::Value> = results
        .iter()
        .filter(|r| r.status == Status::Exported)
        .filter_map(|r| r.file.as_ref())
        .filter_map(|file| {
            let path = Path::new(file);
            std::fs::read(path)
                .ok()
                .map(|bytes| transcript.artifact("response", path, &bytes))
        })
        .collect();
    let facts = serde_json::json!({
        "exported": count(Status::Exported),
        "skipped": count(Status::Skipped),
        "failed": count(Status::Failed),
        "uncertain": count(Status::Uncertain),
        "notAttempted": count(Status::NotAttempted),
        "stoppedBy": stopped.map(OnlineError::kind),
        "interrupted": interrupted,
    });
    match transcript.record("batch-finished", facts, artifacts) {
        Ok(head) => note(&crate::transcript::head_lines(
            &head,
            Some(transcript.path()),
        )),
        // The responses are saved; only the record of them failed.
        Err(e) => eprintln!("warning: the transcript was not updated: {e}"),
    }
}

/// Why the batch stops before its end.
enum Stop {
    /// The response could not be saved: its body must reach the operator now.
    NotSaved(Box<OnlineError>),
    /// A failure that every later key would meet, with the key's own row.
    Fatal(Box<(OnlineError, KeyResult)>),
}

fn responses_dir(args: &SubmitArgs, first_input: &Path) -> Result<PathBuf, OnlineError> {
    let dir = match &args.out {
        Some(dir) => dir.clone(),
        None => match first_input.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.join(RESPONSES_DIR),
            _ => PathBuf::from(RESPONSES_DIR),
        },
    };
    std::fs::create_dir_all(&dir).map_err(|e| OnlineError::Refused {
        message: format!("cannot create the responses folder {}: {e}", dir.display()),
        advice: "Choose a writable folder with --out before exporting.".into(),
    })?;
    Ok(dir)
}

/// Decides, from the files and the journal, what this run does with each key.
fn plan(
    request: &BatchRequestFile,
    dir: &Path,
    history: &[Event],
    retry_uncertain: bool,
) -> Vec<(KeyId, Plan)> {
    let priors: HashMap<String, Prior> = journal::priors(history);
    request
        .key_ids
        .iter()
        .map(|key_id| {
            let path = dir.join(response_file_name(key_id));
            let plan = match std::fs::read(&path) {
                Ok(bytes) => Plan::Done(saved(key_id, request, &path, &bytes)),
                Err(_) => match priors.get(key_id.as_str()) {
                    Some(Prior::Uncertain(reason)) if retry_uncertain => {
                        Plan::Recheck(reason.clone())
                    }
                    Some(Prior::Uncertain(reason)) => Plan::Done(
                        KeyResult::new(key_id, Status::Uncertain).because(
                            "uncertain",
                            format!(
                                "{reason}; check the key at Dfns (not re-sent: see --retry-uncertain)"
                            ),
                        ),
                    ),
                    Some(Prior::Failed(_)) | None => Plan::Export,
                },
            };
            (key_id.clone(), plan)
        })
        .collect()
}

/// The row of a key whose response file is already in the folder.
fn saved(key_id: &KeyId, request: &BatchRequestFile, path: &Path, bytes: &[u8]) -> KeyResult {
    match Artifact::parse(bytes) {
        Ok(Artifact::Response(file))
            if file.key_id == *key_id && file.ceremony_id == request.ceremony_id =>
        {
            KeyResult::new(key_id, Status::Skipped).with_file(path)
        }
        _ => KeyResult::new(key_id, Status::Failed)
            .because(
                "file-in-the-way",
                "the folder holds a file by this key's name that is not its response from this ceremony; move it away and run again",
            )
            .with_file(path),
    }
}

impl Batch<'_> {
    /// Exports one key. `recheck` is set for an uncertain key being retried.
    fn export_one(&self, key_id: &KeyId, recheck: Option<&str>) -> Result<KeyResult, Stop> {
        let key = match get_key(self.client, key_id) {
            Ok(key) => key,
            Err(e) => return self.not_exported(key_id, e),
        };
        if let Some(result) = self.preflight(key_id, &key, recheck)? {
            return Ok(result);
        }
        let mut refusals = 0;
        loop {
            let token = match sign_export(self.client, self.credential, key_id, &self.body) {
                Ok(token) => token,
                Err(e) => return self.not_exported(key_id, e),
            };
            self.log(Event::Sending {
                key_id: key_id.to_string(),
                at: now_rfc3339(),
            })?;
            let error = match send_export(self.client, key_id, &self.body, &token) {
                Ok(ExportOutcome::Exported(body)) => return self.save(key_id, &key, &body),
                Ok(ExportOutcome::Held(body)) => return self.held(key_id, &body),
                Err(error) => error,
            };
            if let ApiErrorKind::RateLimited { retry_after, .. } = &error.kind {
                // A 429 is answered before the export is carried out: nothing exported.
                refusals += 1;
                self.log(Event::NotSent {
                    key_id: key_id.to_string(),
                    reason: error.to_string(),
                    at: now_rfc3339(),
                })?;
                if refusals < MAX_RATE_LIMITED {
                    let wait = retry_after.unwrap_or_else(|| {
                        Duration::from_secs(1 << refusals.min(5)).min(MAX_BACKOFF)
                    });
                    note(&format!(
                        "{key_id}: {error}; waiting {} before a new attempt",
                        format_duration(wait)
                    ));
                    // Every worker waits: the budget is the organization's, not this key's.
                    lock(&self.pacer).hold(Instant::now() + wait);
                    if !self.wait_turn(CALLS_PER_RETRY) {
                        return Ok(KeyResult::new(key_id, Status::NotAttempted)
                            .noting(format!("{error}; the batch stopped before a new attempt")));
                    }
                    continue;
                }
            }
            return self.send_failed(key_id, error);
        }
    }

    /// Whether to start nothing new: a failure every key would meet, or Ctrl-C (told to
    /// the operator once).
    fn stopping(&self) -> bool {
        if self.interrupt.happened() {
            if !self.announced.swap(true, Ordering::SeqCst) {
                note(
                    "\nCtrl-C: no new key is started; the exports in flight finish and are \
                     saved. Ctrl-C again quits at once (saved responses are safe).",
                );
            }
            return true;
        }
        self.halted.load(Ordering::SeqCst)
    }

    /// Waits for the pacer's slot for `calls` calls; `false` if the batch stops meanwhile.
    fn wait_turn(&self, calls: u32) -> bool {
        let delay = lock(&self.pacer).reserve(calls, Instant::now());
        let end = Instant::now() + delay;
        loop {
            if self.stopping() {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            std::thread::sleep((end - now).min(WAKE));
        }
    }

    /// The preflight's verdict: `Some(row)` when the key is not to be exported.
    fn preflight(
        &self,
        key_id: &KeyId,
        key: &KeyInfo,
        recheck: Option<&str>,
    ) -> Result<Option<KeyResult>, Stop> {
        let refuse = |kind: &str, reason: String| -> Result<Option<KeyResult>, Stop> {
            self.log(Event::Failed {
                key_id: key_id.to_string(),
                kind: kind.to_owned(),
                reason: reason.clone(),
                at: now_rfc3339(),
            })?;
            Ok(Some(
                KeyResult::new(key_id, Status::Failed).because(kind, reason),
            ))
        };
        if key.is_exported() {
            let when = key
                .date_exported
                .as_deref()
                .map(|d| format!(" (on {d})"))
                .unwrap_or_default();
            if let Some(earlier) = recheck {
                let reason = format!(
                    "{earlier}, and Dfns shows the key exported{when}: the encrypted shares were produced but not saved; contact Dfns support with the key id and time"
                );
                self.log(Event::Uncertain {
                    key_id: key_id.to_string(),
                    reason: reason.clone(),
                    at: now_rfc3339(),
                })?;
                return Ok(Some(
                    KeyResult::new(key_id, Status::Uncertain).because("exported-unsaved", reason),
                ));
            }
            return refuse(
                "already-exported",
                format!(
                    "already exported at Dfns{when}; its response is not in this folder (find the one saved when it was exported)"
                ),
            );
        }
        if !key.is_active() {
            return refuse(
                "not-active",
                format!("the key is not active (status {})", key.status),
            );
        }
        let listed = self
            .request
            .dfns_request
            .supported_schemes
            .iter()
            .any(|s| s.curve.as_str() == key.curve);
        if !listed {
            return refuse(
                "scheme-not-listed",
                format!(
                    "the key is on curve {}, which the request's supportedSchemes do not list",
                    key.curve
                ),
            );
        }
        Ok(None)
    }

    /// Saves the answer at once, then checks it.
    fn save(&self, key_id: &KeyId, key: &KeyInfo, body: &[u8]) -> Result<KeyResult, Stop> {
        let path = self.dir.join(response_file_name(key_id));
        let not_saved = |reason: String| {
            Stop::NotSaved(Box::new(OnlineError::NotSaved {
                reason: format!("{key_id}: {reason}"),
                body: String::from_utf8_lossy(body).into_owned(),
            }))
        };
        let text = std::str::from_utf8(body)
            .map_err(|_| not_saved("the response body is not UTF-8 text".into()))?;
        let file = ResponseFile::new(
            self.request.ceremony_id.clone(),
            key_id.clone(),
            self.request_sha256.to_owned(),
            now_rfc3339(),
            tool(),
            self.transcript_head.clone(),
            text,
        )
        .map_err(|e| not_saved(e.to_string()))?
        .with_key_object(key.key_object_facts());
        write_new(&path, &file.to_bytes(), FileMode::Public)
            .map_err(|e| not_saved(e.to_string()))?;
        self.log(Event::Exported {
            key_id: key_id.to_string(),
            file: response_file_name(key_id),
            at: now_rfc3339(),
        })?;
        let exported = KeyResult::new(key_id, Status::Exported).with_file(&path);
        let checked = ExportResponse::from_json(body)
            .map_err(|e| format!("the response is not a valid export: {e}"))
            .and_then(|response| {
                check_public_key(key, &response, &path).map_err(|e| e.to_string())
            });
        Ok(match checked {
            Ok(()) => exported,
            Err(problem) => exported.because(
                "response-check",
                format!(
                    "saved, but {problem}; do not export again: reconstruct verifies it independently"
                ),
            ),
        })
    }

    /// HTTP 202: a policy holds this key's export; nothing exported.
    fn held(&self, key_id: &KeyId, body: &[u8]) -> Result<KeyResult, Stop> {
        let path = self.dir.join(format!("{key_id}.held.json"));
        let saved = write_new(&path, body, FileMode::Public)
            .map(|()| format!("; Dfns' answer is in {}", path.display()))
            .unwrap_or_default();
        let reason = format!(
            "a policy holds the export for approval (HTTP 202): not exported{saved}; have the approval rejected, exempt the export, and run again"
        );
        self.log(Event::Failed {
            key_id: key_id.to_string(),
            kind: "held-for-approval".into(),
            reason: reason.clone(),
            at: now_rfc3339(),
        })?;
        Ok(KeyResult::new(key_id, Status::Failed).because("held-for-approval", reason))
    }

    /// The export was sent and failed.
    fn send_failed(&self, key_id: &KeyId, error: ApiError) -> Result<KeyResult, Stop> {
        if matches!(error.call, Call::Export(_)) && error.may_have_reached_server() {
            let reason = format!(
                "{error}: the export may have been carried out; check the key at Dfns before anything else"
            );
            self.log(Event::Uncertain {
                key_id: key_id.to_string(),
                reason: reason.clone(),
                at: now_rfc3339(),
            })?;
            return Ok(KeyResult::new(key_id, Status::Uncertain).because("uncertain", reason));
        }
        self.not_exported(key_id, error)
    }

    /// A failure before or instead of an export: nothing was exported.
    fn not_exported(&self, key_id: &KeyId, error: ApiError) -> Result<KeyResult, Stop> {
        let fatal = stops_the_batch(&error);
        let kind = failure_kind(&error);
        self.log(Event::Failed {
            key_id: key_id.to_string(),
            kind: kind.to_owned(),
            reason: error.to_string(),
            at: now_rfc3339(),
        })?;
        let result = KeyResult::new(key_id, Status::Failed).because(kind, error.to_string());
        if fatal {
            Err(Stop::Fatal(Box::new((OnlineError::Api(error), result))))
        } else {
            Ok(result)
        }
    }

    fn log(&self, event: Event) -> Result<(), Stop> {
        self.journal.append(&event).map_err(|e| {
            let key = match &event {
                Event::Start { .. } => String::new(),
                Event::Sending { key_id, .. }
                | Event::NotSent { key_id, .. }
                | Event::Exported { key_id, .. }
                | Event::Failed { key_id, .. }
                | Event::Uncertain { key_id, .. } => key_id.clone(),
            };
            let row = KeyResult {
                key_id: key,
                status: Status::Failed,
                file: None,
                kind: Some("journal".into()),
                reason: Some(e.to_string()),
            };
            Stop::Fatal(Box::new((e, row)))
        })
    }
}

/// Failures every later key would meet too: the batch stops.
fn stops_the_batch(error: &ApiError) -> bool {
    matches!(
        error.kind,
        ApiErrorKind::Unauthorized(_)
            | ApiErrorKind::Forbidden(_)
            | ApiErrorKind::NotEnabled(_)
            | ApiErrorKind::CredentialNotAllowed { .. }
            | ApiErrorKind::Transport { .. }
            | ApiErrorKind::Redirect { .. }
    )
}

fn failure_kind(error: &ApiError) -> &'static str {
    match &error.kind {
        ApiErrorKind::NotFound(_) => "not-found",
        ApiErrorKind::Conflict(_) => "conflict",
        ApiErrorKind::BadRequest(_) => "bad-request",
        ApiErrorKind::RateLimited { .. } => "rate-limited",
        ApiErrorKind::Unauthorized(_) => "unauthorized",
        ApiErrorKind::Forbidden(_) => "forbidden",
        ApiErrorKind::NotEnabled(_) => "not-enabled",
        ApiErrorKind::CredentialNotAllowed { .. } => "credential",
        ApiErrorKind::Transport { .. } => "network",
        ApiErrorKind::Server { .. } => "server",
        ApiErrorKind::Redirect { .. }
        | ApiErrorKind::Unexpected { .. }
        | ApiErrorKind::InvalidResponse(_) => "unexpected",
    }
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
    if yes {
        note("--yes given: not asking for confirmation.");
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(OnlineError::Refused {
            message: "no terminal to confirm the export on".into(),
            advice: "Run submit in a terminal to type the number of keys, or pass --yes in a \
                     script that has checked the ceremony id and fingerprint itself."
                .into(),
        });
    }
    eprint!("Type the number of keys to export ({to_send}) to confirm: ");
    // Nothing useful can be done if stderr cannot be flushed; the prompt still follows.
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| OnlineError::Input(format!("cannot read the confirmation: {e}")))?;
    if line.trim() == to_send.to_string() {
        Ok(())
    } else {
        Err(OnlineError::Refused {
            message: "the number typed does not match; nothing was exported".into(),
            advice: "Run submit again and type the number of keys shown.".into(),
        })
    }
}

fn describe(result: &KeyResult) -> String {
    let detail = result
        .reason
        .clone()
        .or_else(|| result.file.clone())
        .unwrap_or_default();
    format!("{}  {}  {detail}", result.key_id, result.status.label())
}

/// Prints the summary (table or JSON) and maps the outcome to an exit code.
fn finish(
    args: &SubmitArgs,
    request: &BatchRequestFile,
    request_sha256: &str,
    dir: &Path,
    results: &[KeyResult],
    stopped: Option<OnlineError>,
    interrupted: bool,
) -> Result<(), OnlineError> {
    let count = |status: Status| results.iter().filter(|r| r.status == status).count();
    let (exported, skipped, failed, uncertain, not_attempted) = (
        count(Status::Exported),
        count(Status::Skipped),
        count(Status::Failed),
        count(Status::Uncertain),
        count(Status::NotAttempted),
    );
    let check_failed = results
        .iter()
        .filter(|r| r.kind.as_deref() == Some("response-check"))
        .count();
    if args.json {
        let value = serde_json::json!({
            "status": match (&stopped, interrupted) {
                (Some(_), _) => "stopped",
                (None, true) => "interrupted",
                (None, false) => "finished",
            },
            "ceremonyId": request.ceremony_id.as_str(),
            "requestSha256": request_sha256,
            "responses": dir.display().to_string(),
            "counts": {
                "exported": exported,
                "skipped": skipped,
                "failed": failed,
                "uncertain": uncertain,
                "notAttempted": not_attempted,
            },
            "error": stopped.as_ref().map(|e| serde_json::json!({
                "kind": e.kind(),
                "message": e.to_string(),
                "advice": e.advice(),
            })),
            "keys": results,
        });
        println!("{value}");
    } else {
        let width = results
            .iter()
            .map(|r| r.key_id.len())
            .max()
            .unwrap_or(6)
            .max(6);
        println!("{:<width$}  {:<13}  detail", "key id", "status");
        for r in results {
            let detail = match (&r.reason, &r.file) {
                (Some(reason), _) => reason.clone(),
                (None, Some(file)) => file.clone(),
                (None, None) => String::new(),
            };
            println!("{:<width$}  {:<13}  {detail}", r.key_id, r.status.label());
        }
        println!(
            "{} keys: {exported} exported, {skipped} skipped (saved earlier), {failed} failed, \
             {uncertain} uncertain, {not_attempted} not attempted.\nResponses: {}",
            results.len(),
            dir.display()
        );
        if uncertain > 0 {
            println!(
                "UNCERTAIN keys may have been exported without a saved answer: check each at \
                 Dfns (GET /keys/{{id}} or the dashboard) before anything else."
            );
        }
        // Only a batch that ran to its end has a next step; an interrupted or stopped one
        // is told to run again (its error follows).
        if exported + skipped > 0 && !interrupted && stopped.is_none() {
            println!(
                "Next: carry the whole folder {} to the offline machine on removable media and \
                 run `keyexport-offline reconstruct --decryption-key DECRYPTION-KEY --response \
                 {} --out NEW-FOLDER` (DECRYPTION-KEY: the ceremony's decryption-key.age, or \
                 each custody part).",
                dir.display(),
                dir.display()
            );
        }
    }
    if let Some(error) = stopped {
        return Err(OnlineError::Batch {
            kind: error.kind(),
            message: format!("the batch stopped: {error}"),
            advice: error.advice().unwrap_or_default(),
        });
    }
    if interrupted {
        return Err(OnlineError::Batch {
            kind: ErrorKind::Interrupted,
            message: format!(
                "interrupted: run the same command again to resume ({not_attempted} key(s) \
                 not attempted)"
            ),
            advice: "Every response received was saved before this summary. The same command \
                     skips the saved keys and exports the others."
                .into(),
        });
    }
    let outcome = if uncertain > 0 {
        Some((
            ErrorKind::ExportUncertain,
            format!("{uncertain} key(s) may have been exported without a saved answer"),
            "Check each UNCERTAIN key at Dfns before anything else; run the same command with \
             --retry-uncertain to re-send those Dfns shows as not exported.",
        ))
    } else if check_failed > 0 {
        Some((
            ErrorKind::ResponseCheck,
            format!("{check_failed} saved response(s) fail a check"),
            "Those keys are exported and their responses saved unchanged: do not export them \
             again; `keyexport-offline reconstruct` verifies them independently.",
        ))
    } else if failed > 0 {
        Some((
            ErrorKind::BatchIncomplete,
            format!("{failed} key(s) were not exported"),
            "Each is listed with its reason. Fix what it names and run the same command again: \
             saved keys are skipped, failed keys are tried again.",
        ))
    } else {
        None
    };
    match outcome {
        Some((kind, message, advice)) => Err(OnlineError::Batch {
            kind,
            message,
            advice: advice.into(),
        }),
        None => Ok(()),
    }
}
