//! The batch journal, `journal.jsonl` in the responses folder: what a batch submit did,
//! one JSON line per event, appended and fsynced before the next step.
//!
//! It is the write-ahead record that makes a rerun safe: `sending` is written before a
//! key's export is sent, so a key whose run died between sending and saving the answer is
//! found again as *uncertain* and never re-sent silently. Saved responses are the files
//! themselves; the journal only says what happened to the others. Every run starts with
//! a `start` line naming the ceremony and the request digest, so a folder can only be
//! resumed by the request that began it.
//!
//! The batch's workers share one journal: each line is written whole under a lock, then
//! fsynced outside it, so the workers' waits on the disk overlap. Every line is fsynced
//! before the caller goes on except `exported`: a rerun takes a saved response file as
//! the truth whatever the journal says ([`priors`] is only asked about keys without one),
//! and the response is durable before its `exported` line is written, so losing that
//! line in a crash changes nothing; it reaches the disk with the next line's fsync.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::error::{InputError, OnlineError, RefusedError};

/// File name of the journal in the responses folder.
pub const FILE_NAME: &str = "journal.jsonl";
/// Its mode: readable by all, like the responses (nothing in it is secret).
const MODE: u32 = 0o644;

/// One journal line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "event",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum Event {
    /// A run of `submit` begins.
    Start {
        /// The batch's ceremony.
        ceremony_id: String,
        /// SHA-256 of the batch request file.
        request_sha256: String,
        /// Keys in the batch.
        keys: usize,
        /// When (RFC 3339).
        at: String,
        /// Tool and version.
        tool: String,
    },
    /// The export of a key is about to be sent.
    Sending {
        /// The key.
        key_id: String,
        /// When.
        at: String,
    },
    /// The export was refused before being carried out (429): nothing exported.
    NotSent {
        /// The key.
        key_id: String,
        /// Why.
        reason: String,
        /// When.
        at: String,
    },
    /// The response was saved.
    Exported {
        /// The key.
        key_id: String,
        /// The response file's name in the folder.
        file: String,
        /// When.
        at: String,
    },
    /// The key was not exported, for a known reason.
    Failed {
        /// The key.
        key_id: String,
        /// A short stable name of the reason (`not-found`, `already-exported`, …).
        kind: String,
        /// The reason.
        reason: String,
        /// When.
        at: String,
    },
    /// The export may have been carried out but no answer was saved.
    Uncertain {
        /// The key.
        key_id: String,
        /// Why.
        reason: String,
        /// When.
        at: String,
    },
}

/// What earlier runs left for one key without a saved response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prior {
    /// Failed for a known reason: nothing was exported; it is tried again.
    Failed(String),
    /// The export may have been sent without a saved answer.
    Uncertain(String),
}

/// An open journal, shared by the batch's workers.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    /// Opened at the first line; the lock keeps lines whole.
    file: Mutex<Option<Arc<File>>>,
}

impl Journal {
    /// Opens (or starts) the journal of `dir` for this request. Refuses a folder whose
    /// journal belongs to another request. Returns the journal and every earlier event.
    pub fn open(
        dir: &Path,
        ceremony_id: &str,
        request_sha256: &str,
    ) -> Result<(Journal, Vec<Event>), OnlineError> {
        let path = dir.join(FILE_NAME);
        let events = match std::fs::read_to_string(&path) {
            Ok(text) => parse(&text).map_err(|(line, error)| InputError::JournalDamaged {
                path: path.clone(),
                line,
                error,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(InputError::JournalUnreadable { path, error }.into()),
        };
        for event in &events {
            if let Event::Start {
                ceremony_id: c,
                request_sha256: r,
                ..
            } = event
                && (c != ceremony_id || r != request_sha256)
            {
                return Err(RefusedError::JournalOfAnotherRequest {
                    path,
                    ceremony_id: c.clone(),
                    request_sha256: r.clone(),
                }
                .into());
            }
        }
        Ok((
            Journal {
                path,
                file: Mutex::new(None),
            },
            events,
        ))
    }

    /// Appends one event; durably before returning, except `exported` (see the module
    /// documentation).
    pub fn append(&self, event: &Event) -> Result<(), OnlineError> {
        let mut line = serde_json::to_string(event).map_err(|error| InputError::Encode {
            what: "journal entry",
            error,
        })?;
        line.push('\n');
        let file = self.write(&line).map_err(|e| self.failed(e))?;
        if matches!(event, Event::Exported { .. }) {
            return Ok(());
        }
        // Outside the lock: other workers write their lines meanwhile, and this fsync
        // covers at least everything written before it, this line included.
        file.sync_data().map_err(|e| self.failed(e))
    }

    /// Writes `line` whole (one `write` on a file opened for appending) and returns the file.
    fn write(&self, line: &str) -> std::io::Result<Arc<File>> {
        let mut slot = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        let file = match &*slot {
            Some(file) => Arc::clone(file),
            None => {
                let file = Arc::new(self.open_file()?);
                *slot = Some(Arc::clone(&file));
                file
            }
        };
        (&*file).write_all(line.as_bytes())?;
        Ok(file)
    }

    /// Opens the journal for appending; a new one's folder entry is made durable too.
    fn open_file(&self) -> std::io::Result<File> {
        let mut options = OpenOptions::new();
        options.append(true).mode(MODE);
        match options.clone().create_new(true).open(&self.path) {
            Ok(file) => {
                if let Some(dir) = self.path.parent() {
                    File::open(dir)?.sync_all()?;
                }
                Ok(file)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => options.open(&self.path),
            Err(e) => Err(e),
        }
    }

    fn failed(&self, error: std::io::Error) -> OnlineError {
        RefusedError::JournalUnwritable {
            path: self.path.clone(),
            error,
        }
        .into()
    }
}

/// Parses a journal. A damaged last line (the run died while writing it) is dropped; a
/// damaged line elsewhere is refused with its number (from 1).
fn parse(text: &str) -> Result<Vec<Event>, (usize, serde_json::Error)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut events = Vec::with_capacity(lines.len());
    for (number, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Event>(line) {
            Ok(event) => events.push(event),
            Err(_) if number + 1 == lines.len() && !text.ends_with('\n') => {}
            Err(e) => return Err((number + 1, e)),
        }
    }
    Ok(events)
}

/// The state each key was left in by earlier runs (keys with a saved response excluded by
/// the caller, which looks at the files).
pub fn priors(events: &[Event]) -> HashMap<String, Prior> {
    let mut state: HashMap<String, Prior> = HashMap::new();
    for event in events {
        match event {
            Event::Start { .. } => {}
            Event::Sending { key_id, at } => {
                state.insert(
                    key_id.clone(),
                    Prior::Uncertain(format!(
                        "an earlier run sent its export at {at} and stopped before saving an answer"
                    )),
                );
            }
            Event::Uncertain { key_id, reason, .. } => {
                state.insert(key_id.clone(), Prior::Uncertain(reason.clone()));
            }
            Event::Exported { key_id, file, at } => {
                state.insert(
                    key_id.clone(),
                    Prior::Uncertain(format!(
                        "exported at {at} into {file}, but that file is no longer in the folder"
                    )),
                );
            }
            Event::NotSent { key_id, .. } => {
                state.remove(key_id);
            }
            Event::Failed { key_id, reason, .. } => {
                state.insert(key_id.clone(), Prior::Failed(reason.clone()));
            }
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sending(key: &str) -> Event {
        Event::Sending {
            key_id: key.into(),
            at: "t".into(),
        }
    }

    #[test]
    fn events_round_trip_as_lines() {
        let events = vec![
            Event::Start {
                ceremony_id: "C".into(),
                request_sha256: "ab".into(),
                keys: 2,
                at: "t".into(),
                tool: "x".into(),
            },
            sending("key-a"),
            Event::Exported {
                key_id: "key-a".into(),
                file: "key-a.response.json".into(),
                at: "t".into(),
            },
        ];
        let text: String = events
            .iter()
            .map(|e| format!("{}\n", serde_json::to_string(e).unwrap()))
            .collect();
        assert!(
            text.contains(r#""event":"sending","keyId":"key-a""#),
            "{text}"
        );
        assert_eq!(parse(&text).unwrap(), events);
    }

    #[test]
    fn a_torn_last_line_is_dropped_a_damaged_middle_is_not() {
        let good = serde_json::to_string(&sending("key-a")).unwrap();
        assert_eq!(
            parse(&format!("{good}\n{{\"event\":\"sen")).unwrap().len(),
            1
        );
        assert!(parse(&format!("{{\"event\"\n{good}\n")).is_err());
    }

    #[test]
    fn sending_without_answer_is_uncertain_and_429_clears_it() {
        let events = vec![
            sending("key-a"),
            sending("key-b"),
            Event::NotSent {
                key_id: "key-b".into(),
                reason: "429".into(),
                at: "t".into(),
            },
            Event::Failed {
                key_id: "key-c".into(),
                kind: "not-found".into(),
                reason: "no such key".into(),
                at: "t".into(),
            },
        ];
        let priors = priors(&events);
        assert!(matches!(priors.get("key-a"), Some(Prior::Uncertain(_))));
        assert_eq!(priors.get("key-b"), None);
        assert_eq!(
            priors.get("key-c"),
            Some(&Prior::Failed("no such key".into()))
        );
    }

    #[test]
    fn another_requests_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (journal, events) = Journal::open(dir.path(), "C1", "aa").unwrap();
        assert!(events.is_empty());
        journal
            .append(&Event::Start {
                ceremony_id: "C1".into(),
                request_sha256: "aa".into(),
                keys: 2,
                at: "t".into(),
                tool: "x".into(),
            })
            .unwrap();
        assert_eq!(Journal::open(dir.path(), "C1", "aa").unwrap().1.len(), 1);
        assert!(matches!(
            Journal::open(dir.path(), "C2", "aa"),
            Err(OnlineError::Refused(
                RefusedError::JournalOfAnotherRequest { .. }
            ))
        ));
    }
}
