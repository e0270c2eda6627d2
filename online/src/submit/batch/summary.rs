//! The end of a batch: one row per key in the request's order ([`KeyResult`]), the
//! `batch-finished` transcript line, the summary (a table, or one JSON object with
//! `--json`), and the exit code.
//!
//! The exit code is chosen in [`outcome`], by the first that applies: a failure that
//! stopped the batch (its own code), Ctrl-C (130), a key uncertain (8), a saved response
//! failing a check (10), a key not exported (13); otherwise success.

use std::path::Path;

use keyexport_shared::ErrorKind;
use keyexport_shared::files::KeyId;
use keyexport_shared::files::batch::BatchRequestFile;
use serde::Serialize;

use crate::error::{BatchError, OnlineError};
use crate::export::note;
use crate::transcript::{self, Transcript};

/// What happened to one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyResult {
    pub key_id: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The failure's kind, named as in the exit-code tables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ErrorKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl KeyResult {
    /// A row with nothing to say yet.
    pub fn new(key_id: &KeyId, status: Status) -> KeyResult {
        KeyResult {
            key_id: key_id.to_string(),
            status,
            file: None,
            kind: None,
            reason: None,
        }
    }

    /// A note that is not a problem (why a key was not attempted).
    pub fn noting(mut self, reason: impl Into<String>) -> KeyResult {
        self.reason = Some(reason.into());
        self
    }

    /// A problem: its kind and what happened.
    pub fn because(mut self, kind: ErrorKind, reason: impl Into<String>) -> KeyResult {
        self.kind = Some(kind);
        self.reason = Some(reason.into());
        self
    }

    /// The key's response file.
    pub fn with_file(mut self, path: &Path) -> KeyResult {
        self.file = Some(path.display().to_string());
        self
    }

    /// Whether the row is shown as a problem in the progress counts.
    pub fn is_problem(&self) -> bool {
        matches!(self.status, Status::Failed | Status::Uncertain) || self.kind.is_some()
    }

    /// The row as one line: key, status, reason or file.
    pub fn describe(&self) -> String {
        format!(
            "{}  {}  {}",
            self.key_id,
            self.status.label(),
            self.detail()
        )
    }

    fn detail(&self) -> String {
        self.reason
            .clone()
            .or_else(|| self.file.clone())
            .unwrap_or_default()
    }
}

/// How a batch ended: every key's row, and what stopped it early, if anything.
#[derive(Debug)]
pub struct Ended {
    /// One row per key, in the request's order.
    pub results: Vec<KeyResult>,
    /// The failure every later key would have met, if one stopped the batch.
    pub stopped: Option<OnlineError>,
    /// Whether Ctrl-C stopped the batch before every key was started.
    pub interrupted: bool,
}

/// The rows counted by status, and the saved responses failing a check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub exported: usize,
    pub skipped: usize,
    pub failed: usize,
    pub uncertain: usize,
    pub not_attempted: usize,
    pub check_failed: usize,
}

impl Counts {
    /// Counts `results`.
    pub fn of(results: &[KeyResult]) -> Counts {
        let count = |status: Status| results.iter().filter(|r| r.status == status).count();
        Counts {
            exported: count(Status::Exported),
            skipped: count(Status::Skipped),
            failed: count(Status::Failed),
            uncertain: count(Status::Uncertain),
            not_attempted: count(Status::NotAttempted),
            check_failed: results
                .iter()
                .filter(|r| r.kind == Some(ErrorKind::ResponseCheck))
                .count(),
        }
    }
}

/// The `batch-finished` transcript line: counts, and every response saved by this run.
pub fn record_finish(transcript: &mut Transcript, ended: &Ended) {
    let counts = Counts::of(&ended.results);
    let artifacts: Vec<serde_json::Value> = ended
        .results
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
        "exported": counts.exported,
        "skipped": counts.skipped,
        "failed": counts.failed,
        "uncertain": counts.uncertain,
        "notAttempted": counts.not_attempted,
        "stoppedBy": ended.stopped.as_ref().map(OnlineError::kind),
        "interrupted": ended.interrupted,
    });
    match transcript.record("batch-finished", facts, artifacts) {
        Ok(head) => note(&transcript::head_lines(&head, Some(transcript.path()))),
        // The responses are saved; only the record of them failed.
        Err(e) => eprintln!("warning: the transcript was not updated: {e}"),
    }
}

/// What the summary names besides the rows.
pub struct Heading<'a> {
    pub request: &'a BatchRequestFile,
    pub request_sha256: &'a str,
    /// The responses folder.
    pub dir: &'a Path,
}

/// Prints the summary (table or JSON) and maps the outcome to an exit code.
pub fn finish(json: bool, heading: &Heading<'_>, ended: Ended) -> Result<(), OnlineError> {
    let counts = Counts::of(&ended.results);
    if json {
        print_json(heading, &ended, &counts);
    } else {
        print_table(heading, &ended, &counts);
    }
    outcome(&counts, ended.stopped, ended.interrupted)
}

fn print_json(heading: &Heading<'_>, ended: &Ended, counts: &Counts) {
    let value = serde_json::json!({
        "status": match (&ended.stopped, ended.interrupted) {
            (Some(_), _) => "stopped",
            (None, true) => "interrupted",
            (None, false) => "finished",
        },
        "ceremonyId": heading.request.ceremony_id.as_str(),
        "requestSha256": heading.request_sha256,
        "responses": heading.dir.display().to_string(),
        "counts": {
            "exported": counts.exported,
            "skipped": counts.skipped,
            "failed": counts.failed,
            "uncertain": counts.uncertain,
            "notAttempted": counts.not_attempted,
        },
        "error": ended.stopped.as_ref().map(OnlineError::to_json),
        "keys": ended.results,
    });
    println!("{value}");
}

fn print_table(heading: &Heading<'_>, ended: &Ended, counts: &Counts) {
    let results = &ended.results;
    let dir = heading.dir.display();
    let width = results
        .iter()
        .map(|r| r.key_id.len())
        .max()
        .unwrap_or(6)
        .max(6);
    println!("{:<width$}  {:<13}  detail", "key id", "status");
    for r in results {
        println!(
            "{:<width$}  {:<13}  {}",
            r.key_id,
            r.status.label(),
            r.detail()
        );
    }
    let Counts {
        exported,
        skipped,
        failed,
        uncertain,
        not_attempted,
        ..
    } = *counts;
    println!(
        "{} keys: {exported} exported, {skipped} skipped (saved earlier), {failed} failed, \
         {uncertain} uncertain, {not_attempted} not attempted.\nResponses: {dir}",
        results.len(),
    );
    if uncertain > 0 {
        println!(
            "UNCERTAIN keys may have been exported without a saved answer: check each at \
             Dfns (GET /keys/{{id}} or the dashboard) before anything else."
        );
    }
    // Only a batch that ran to its end has a next step; an interrupted or stopped one
    // is told to run again (its error follows).
    if exported + skipped > 0 && !ended.interrupted && ended.stopped.is_none() {
        println!(
            "Next: carry the whole folder {dir} to the offline machine on removable media and \
             run `keyexport-offline reconstruct --decryption-key DECRYPTION-KEY --response \
             {dir} --out NEW-FOLDER` (DECRYPTION-KEY: the ceremony's decryption-key.age, or \
             each custody part)."
        );
    }
}

/// The batch's exit: the first that applies of the failure that stopped it, Ctrl-C, an
/// uncertain key, a saved response failing a check, a key not exported.
pub fn outcome(
    counts: &Counts,
    stopped: Option<OnlineError>,
    interrupted: bool,
) -> Result<(), OnlineError> {
    if let Some(error) = stopped {
        return Err(OnlineError::BatchStopped(Box::new(error)));
    }
    let error = if interrupted {
        BatchError::Interrupted {
            not_attempted: counts.not_attempted,
        }
    } else if counts.uncertain > 0 {
        BatchError::Uncertain {
            count: counts.uncertain,
        }
    } else if counts.check_failed > 0 {
        BatchError::CheckFailed {
            count: counts.check_failed,
        }
    } else if counts.failed > 0 {
        BatchError::Incomplete {
            count: counts.failed,
        }
    } else {
        return Ok(());
    };
    Err(error.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ConfigError, RefusedError};

    /// The exit code of `outcome`: 0 for success.
    fn code(counts: &Counts, stopped: Option<OnlineError>, interrupted: bool) -> u8 {
        match outcome(counts, stopped, interrupted) {
            Ok(()) => 0,
            Err(error) => error.exit_code(),
        }
    }

    /// Every mix of uncertain, check-failed and failed keys (with exported, skipped and
    /// not-attempted ones beside them, which never change the code).
    fn mixes() -> Vec<Counts> {
        let mut mixes = Vec::new();
        for uncertain in [0, 2] {
            for check_failed in [0, 1] {
                for failed in [0, 3] {
                    mixes.push(Counts {
                        exported: 4 + check_failed,
                        skipped: 1,
                        failed,
                        uncertain,
                        not_attempted: 5,
                        check_failed,
                    });
                }
            }
        }
        mixes
    }

    fn refused() -> OnlineError {
        RefusedError::CanaryFlagsWithoutCanary.into()
    }

    #[test]
    fn a_failure_that_stopped_the_batch_gives_its_own_code_whatever_else_happened() {
        for counts in mixes() {
            for interrupted in [false, true] {
                assert_eq!(code(&counts, Some(refused()), interrupted), 5, "{counts:?}");
                let config = OnlineError::from(ConfigError::NoToken);
                assert_eq!(code(&counts, Some(config), interrupted), 4, "{counts:?}");
            }
        }
        let Err(error) = outcome(&Counts::default(), Some(refused()), false) else {
            panic!("a stopped batch succeeded");
        };
        let stopped = refused();
        assert_eq!(error.to_string(), format!("the batch stopped: {stopped}"));
        assert_eq!(error.advice(), stopped.advice());
        assert_eq!(error.kind().as_str(), "refused");
    }

    #[test]
    fn ctrl_c_gives_130_unless_a_failure_stopped_the_batch() {
        for counts in mixes() {
            assert_eq!(code(&counts, None, true), 130, "{counts:?}");
        }
        let Err(error) = outcome(&mixes()[0], None, true) else {
            panic!("an interrupted batch succeeded");
        };
        assert_eq!(
            error.to_string(),
            "interrupted: run the same command again to resume (5 key(s) not attempted)"
        );
        assert_eq!(error.kind().as_str(), "interrupted");
    }

    #[test]
    fn uncertain_then_check_failed_then_failed_keys_choose_the_code() {
        // In the order of `mixes`: (uncertain, check-failed, failed) from (0, 0, 0) to
        // (2, 1, 3).
        let expected = [0, 13, 10, 10, 8, 8, 8, 8];
        for (counts, expected) in mixes().iter().zip(expected) {
            assert_eq!(code(counts, None, false), expected, "{counts:?}");
        }
        // Each alone, by its documented code and kind.
        let only = |counts: Counts| outcome(&counts, None, false).unwrap_err();
        let uncertain = only(Counts {
            uncertain: 1,
            ..Counts::default()
        });
        assert_eq!(
            (uncertain.exit_code(), uncertain.kind().as_str()),
            (8, "export-uncertain")
        );
        let check = only(Counts {
            exported: 1,
            check_failed: 1,
            ..Counts::default()
        });
        assert_eq!(
            (check.exit_code(), check.kind().as_str()),
            (10, "response-check")
        );
        let failed = only(Counts {
            failed: 1,
            ..Counts::default()
        });
        assert_eq!(
            (failed.exit_code(), failed.kind().as_str()),
            (13, "batch-incomplete")
        );
        assert_eq!(failed.to_string(), "1 key(s) were not exported");
    }

    #[test]
    fn exported_skipped_and_not_attempted_keys_alone_succeed() {
        let counts = Counts {
            exported: 3,
            skipped: 2,
            not_attempted: 1,
            ..Counts::default()
        };
        assert_eq!(code(&counts, None, false), 0);
        assert_eq!(code(&Counts::default(), None, false), 0);
    }

    #[test]
    fn counts_come_from_the_rows() {
        let key = |n: &str| KeyId::new(n).unwrap();
        let rows = [
            KeyResult::new(&key("a"), Status::Exported),
            KeyResult::new(&key("b"), Status::Exported)
                .because(ErrorKind::ResponseCheck, "differs"),
            KeyResult::new(&key("c"), Status::Skipped),
            KeyResult::new(&key("d"), Status::Failed).because(ErrorKind::DfnsRefused, "HTTP 404"),
            KeyResult::new(&key("e"), Status::Uncertain)
                .because(ErrorKind::ExportUncertain, "no answer"),
            KeyResult::new(&key("f"), Status::NotAttempted),
        ];
        assert_eq!(
            Counts::of(&rows),
            Counts {
                exported: 2,
                skipped: 1,
                failed: 1,
                uncertain: 1,
                not_attempted: 1,
                check_failed: 1,
            }
        );
        assert_eq!(rows[3].describe(), "d  FAILED  HTTP 404");
        assert!(!rows[0].is_problem() && rows[1].is_problem());
    }
}
