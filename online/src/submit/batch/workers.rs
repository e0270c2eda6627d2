//! The batch's workers: `--parallel N` threads take the keys to export in the request's
//! order and share the pacer (the rate is the whole batch's), the journal, the progress
//! and a 429's wait.
//!
//! Per key: preflight (`GET /keys/{id}`) → user action → `sending` in the journal → the
//! export, sent once → the response file, written atomically → `exported` in the journal
//! → the public-key check. A failure that concerns one key is recorded in its row and the
//! batch goes on; one that every later key would meet, a response that cannot be saved,
//! or Ctrl-C stops it: no new key is started, the exports in flight finish and are saved.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use keyexport_shared::ErrorKind;
use keyexport_shared::files::KeyId;
use keyexport_shared::files::batch::{BatchRequestFile, response_file_name};
use keyexport_shared::fsio::{FileMode, write_new};
use keyexport_shared::wire::ExportResponse;

use super::journal::{Event, Journal};
use super::pace::Pacer;
use super::plan::Plan;
use super::progress::{Progress, format_duration};
use super::summary::{Ended, KeyResult, Status};
use crate::cli::Rate;
use crate::dfns::client::DfnsClient;
use crate::dfns::credential::Credential;
use crate::dfns::errors::{ApiError, ApiErrorKind, Call};
use crate::dfns::keys::{ExportOutcome, KeyInfo, get_key, send_export, sign_export};
use crate::error::{OnlineError, Refusal};
use crate::export::{
    ResponseRecord, check_public_key, exported_on, note, now_rfc3339, preflight, save_response,
};
use crate::interrupt::Interrupt;

/// API calls per key: preflight, user-action init, user-action signature, export.
pub const CALLS_PER_KEY: u32 = 4;
/// Calls of a retried export after a 429: a new user action (2) and the export.
const CALLS_PER_RETRY: u32 = 3;
/// Exports of one key refused with 429 before the key is given up for this run.
const MAX_RATE_LIMITED: u32 = 5;
/// Longest wait after a 429 without `Retry-After`.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Longest a waiting worker sleeps before looking whether the batch stops.
const WAKE: Duration = Duration::from_millis(50);

/// What the workers need from the run that starts them.
pub struct Setup<'a> {
    /// The Dfns client.
    pub client: &'a DfnsClient,
    /// The credential that signs each export.
    pub credential: &'a Credential,
    /// The batch request.
    pub request: &'a BatchRequestFile,
    /// Its SHA-256, recorded in each response file.
    pub request_sha256: &'a str,
    /// Head of this run's `batch-started` transcript line.
    pub transcript_head: String,
    /// The responses folder.
    pub dir: &'a Path,
    /// Its journal.
    pub journal: &'a Journal,
    /// Ctrl-C.
    pub interrupt: &'a Interrupt,
    /// `--rate`.
    pub rate: Rate,
    /// Workers to start (at least 1).
    pub parallel: usize,
}

/// Exports the keys `plans` mark for export; returns every key's row. A response that
/// could not be saved is the error (its body is printed by `main`; any other such body is
/// printed here at once, so that no answer Dfns gave is lost).
pub fn export_all(setup: Setup<'_>, plans: Vec<(KeyId, Plan)>) -> Result<Ended, OnlineError> {
    let (jobs, results, progress) = queue(plans);
    let dispatch = Dispatch {
        batch: Batch {
            client: setup.client,
            credential: setup.credential,
            request: setup.request,
            request_sha256: setup.request_sha256,
            transcript_head: setup.transcript_head,
            body: setup.request.dfns_request.to_json_bytes(),
            dir: setup.dir,
            journal: setup.journal,
            pacer: Mutex::new(Pacer::new(setup.rate)),
            halted: AtomicBool::new(false),
            interrupt: setup.interrupt,
            announced: AtomicBool::new(false),
        },
        jobs,
        next: AtomicUsize::new(0),
        rate: setup.rate,
        results: Mutex::new(results),
        progress: Mutex::new(progress),
        stops: Mutex::new(Vec::new()),
        unsaved: Mutex::new(Vec::new()),
    };
    std::thread::scope(|scope| {
        for _ in 0..setup.parallel {
            scope.spawn(|| dispatch.work());
        }
    });
    dispatch.collect()
}

/// The keys to export, in the request's order; a row for every key settled without a
/// call (shown as done at once); the progress over every key.
fn queue(plans: Vec<(KeyId, Plan)>) -> (Vec<Job>, Vec<Option<KeyResult>>, Progress) {
    let mut progress = Progress::new(plans.len());
    let mut results: Vec<Option<KeyResult>> = Vec::with_capacity(plans.len());
    let mut jobs: Vec<Job> = Vec::new();
    for (index, (key_id, plan)) in plans.into_iter().enumerate() {
        let recheck = match plan {
            Plan::Done(result) => {
                progress.key_done(
                    &result.describe(),
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
    (jobs, results, progress)
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

/// Why the batch stops before its end.
enum Stop {
    /// The response could not be saved: its body must reach the operator now.
    NotSaved(Box<OnlineError>),
    /// A failure that every later key would meet, with the key's own row.
    Fatal(Box<(OnlineError, KeyResult)>),
}

/// Locks `mutex`; a worker that panicked while holding it left nothing half-done that
/// matters here (results and counters only), so its data is used as it is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The errors pushed by the workers, in the request's order.
fn in_order(errors: Mutex<Vec<(usize, OnlineError)>>) -> impl Iterator<Item = OnlineError> {
    let mut errors = errors.into_inner().unwrap_or_else(PoisonError::into_inner);
    errors.sort_by_key(|(index, _)| *index);
    errors.into_iter().map(|(_, error)| error)
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
            &result.describe(),
            result.status == Status::Exported,
            result.is_problem(),
            pacing_left,
        );
        if let Some(slot) = lock(&self.results).get_mut(index) {
            *slot = Some(result);
        }
    }

    /// Once every worker is done: the rows (keys never started are "not attempted"), the
    /// failure that stopped the batch, and whether Ctrl-C did.
    fn collect(self) -> Result<Ended, OnlineError> {
        let Dispatch {
            batch,
            results,
            stops,
            unsaved,
            ..
        } = self;
        // A Ctrl-C that came after the last key was started interrupted nothing: the batch
        // finished, and its outcome is the ordinary one.
        let interrupted = batch.interrupt.happened() && lock(&results).iter().any(Option::is_none);
        let mut unsaved = in_order(unsaved);
        if let Some(first) = unsaved.next() {
            // Main prints the first one's body on standard output; any other goes to
            // standard error now, so that no answer Dfns gave is lost.
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
            .zip(batch.request.key_ids.iter())
            .map(|(result, key_id)| {
                result.unwrap_or_else(|| KeyResult::new(key_id, Status::NotAttempted))
            })
            .collect();
        Ok(Ended {
            results,
            stopped: in_order(stops).next(),
            interrupted,
        })
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
                    if !self.wait_after_429(key_id, &error, *retry_after, refusals) {
                        return Ok(KeyResult::new(key_id, Status::NotAttempted)
                            .noting(format!("{error}; the batch stopped before a new attempt")));
                    }
                    continue;
                }
            }
            return self.send_failed(key_id, error);
        }
    }

    /// After a 429: every worker waits (the budget is the organization's, not this
    /// key's), for `Retry-After` or a backoff; `false` if the batch stops meanwhile.
    fn wait_after_429(
        &self,
        key_id: &KeyId,
        error: &ApiError,
        retry_after: Option<Duration>,
        refusals: u32,
    ) -> bool {
        let wait = retry_after
            .unwrap_or_else(|| Duration::from_secs(1 << refusals.min(5)).min(MAX_BACKOFF));
        note(&format!(
            "{key_id}: {error}; waiting {} before a new attempt",
            format_duration(wait)
        ));
        lock(&self.pacer).hold(Instant::now() + wait);
        self.wait_turn(CALLS_PER_RETRY)
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
        let refusal = match preflight(key, &self.request.dfns_request) {
            Ok(()) => return Ok(None),
            Err(refusal) => refusal,
        };
        let reason = match &refusal {
            Refusal::AlreadyExported => {
                let when = exported_on(key);
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
                        KeyResult::new(key_id, Status::Uncertain)
                            .because(ErrorKind::ExportUncertain, reason),
                    ));
                }
                format!(
                    "already exported at Dfns{when}; its response is not in this folder (find the one saved when it was exported)"
                )
            }
            Refusal::NotActive(status) => format!("the key is not active (status {status})"),
            Refusal::SchemeNotListed => format!(
                "the key is on curve {}, which the request's supportedSchemes do not list",
                key.curve
            ),
        };
        self.log(Event::Failed {
            key_id: key_id.to_string(),
            kind: refusal.kind().to_owned(),
            reason: reason.clone(),
            at: now_rfc3339(),
        })?;
        Ok(Some(
            KeyResult::new(key_id, Status::Failed).because(ErrorKind::Refused, reason),
        ))
    }

    /// Saves the answer at once, then checks it.
    fn save(&self, key_id: &KeyId, key: &KeyInfo, body: &[u8]) -> Result<KeyResult, Stop> {
        let path = self.dir.join(response_file_name(key_id));
        let record = ResponseRecord {
            ceremony_id: &self.request.ceremony_id,
            key_id,
            request_sha256: self.request_sha256,
            transcript_head: &self.transcript_head,
            key,
            canary: false,
        };
        save_response(&record, body, &path).map_err(|error| {
            Stop::NotSaved(Box::new(OnlineError::NotSaved {
                key_id: Some(key_id.clone()),
                error: Box::new(error),
                body: String::from_utf8_lossy(body).into_owned(),
            }))
        })?;
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
                ErrorKind::ResponseCheck,
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
        Ok(KeyResult::new(key_id, Status::Failed).because(ErrorKind::HeldForApproval, reason))
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
            return Ok(KeyResult::new(key_id, Status::Uncertain)
                .because(ErrorKind::ExportUncertain, reason));
        }
        self.not_exported(key_id, error)
    }

    /// A failure before or instead of an export: nothing was exported.
    fn not_exported(&self, key_id: &KeyId, error: ApiError) -> Result<KeyResult, Stop> {
        let fatal = stops_the_batch(&error);
        self.log(Event::Failed {
            key_id: key_id.to_string(),
            kind: failure_kind(&error).to_owned(),
            reason: error.to_string(),
            at: now_rfc3339(),
        })?;
        let result = KeyResult::new(key_id, Status::Failed)
            .because(OnlineError::api_kind(&error), error.to_string());
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
                kind: Some(e.kind()),
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
