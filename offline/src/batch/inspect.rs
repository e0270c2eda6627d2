//! `keyexport-offline inspect` of a batch: a batch request file, and a batch's
//! responses folder.
//!
//! A batch request shows what a single request shows (ceremony, encryption key and its
//! fingerprint, schemes) plus its key ids: every one with `--json`, the first
//! [`SHOWN_IDS`] and a count on the terminal. A responses folder shows which keys have a
//! saved response, which keys of the batch have none (when the batch request is known: given
//! on the same command line, or `request.json` beside the folder, either recognised by the
//! digest every response carries), and what the online side's journal says about the keys
//! without a response (failed, uncertain). Read-only; nothing secret is involved (the shares
//! stay encrypted and are not shown).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use keyexport_shared::display::Escaped;
use keyexport_shared::files::batch::BatchRequestFile;
use keyexport_shared::files::{Artifact, sha256_hex};
use keyexport_shared::input;
use serde::{Deserialize, Serialize};

use crate::error::{CliError, CliResult, InputProblem};
use crate::inputs;

/// How many key ids the terminal shows before "… and N more".
const SHOWN_IDS: usize = 10;
/// Suffix of the response files of a batch folder.
const RESPONSE_SUFFIX: &str = ".response.json";
/// The online side's journal in a responses folder.
const JOURNAL: &str = "journal.jsonl";
/// Where `init` puts the request, beside the `responses` folder.
const REQUEST_BESIDE: &str = "request.json";

/// A batch artifact (public facts only).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum BatchReport {
    /// A `keyexport-batch-request` file.
    Request(Box<RequestReport>),
    /// A folder of response files.
    Responses(Box<ResponsesReport>),
}

/// A batch request file.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestReport {
    source: String,
    kind: &'static str,
    sha256: String,
    ceremony_id: String,
    created: String,
    tool_version: String,
    encryption_key: String,
    fingerprint: String,
    supported_schemes: Vec<String>,
    key_count: usize,
    key_ids: Vec<String>,
    /// A canary ceremony: one throwaway key is exported and rebuilt before the batch.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    canary: bool,
}

/// A responses folder.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponsesReport {
    source: String,
    kind: &'static str,
    /// The ceremonies the response files name (one for a sound folder).
    ceremony_ids: Vec<String>,
    /// The request digests the response files carry (one for a sound folder).
    request_sha256: Vec<String>,
    /// The batch request the folder was matched with, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<String>,
    /// Keys in that request.
    #[serde(skip_serializing_if = "Option::is_none")]
    key_count: Option<usize>,
    /// Key ids with a saved response, in name order.
    saved: Vec<String>,
    /// Keys of the request without a saved response (only when the request is known).
    #[serde(skip_serializing_if = "Option::is_none")]
    missing: Option<Vec<String>>,
    /// Keys the journal records as failed (nothing exported), without a saved response.
    failed: Vec<KeyNote>,
    /// Keys the journal records as possibly exported without a saved response.
    uncertain: Vec<KeyNote>,
    /// Response files that cannot be read as a response of this folder.
    unreadable: Vec<FileNote>,
    /// Whether the folder holds a journal.
    journal: bool,
}

/// A key and what the journal says about it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyNote {
    key_id: String,
    reason: String,
}

/// A file and what is wrong with it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FileNote {
    file: String,
    problem: String,
}

/// A batch request as read (by `inputs::gather`): where it came from, the file, and the
/// SHA-256 of its bytes.
pub type SeenRequest = (String, BatchRequestFile, String);

/// Splits `inputs` into the batch responses folders (described here) and the rest (files,
/// QR image folders and `-`, for `inputs::gather`).
pub fn response_folders(inputs: &[String]) -> CliResult<(Vec<PathBuf>, Vec<String>)> {
    let mut folders: Vec<PathBuf> = Vec::new();
    let mut rest = Vec::new();
    for input in inputs {
        let path = Path::new(input);
        if input != "-" && path.is_dir() && is_responses_folder(path)? {
            folders.push(path.to_path_buf());
        } else {
            rest.push(input.clone());
        }
    }
    Ok((folders, rest))
}

/// The reports of the batch requests read and of the responses folders, each folder
/// matched with the request it answers when that is known.
pub fn reports(requests: &[SeenRequest], folders: &[PathBuf]) -> CliResult<Vec<BatchReport>> {
    let mut reports: Vec<BatchReport> = requests
        .iter()
        .map(|(source, file, sha256)| {
            BatchReport::Request(Box::new(request_report(source, file, sha256)))
        })
        .collect();
    for folder in folders {
        reports.push(BatchReport::Responses(Box::new(responses_report(
            folder, requests,
        )?)));
    }
    Ok(reports)
}

fn is_responses_folder(dir: &Path) -> CliResult<bool> {
    Ok(entries(dir)?
        .iter()
        .any(|name| name.ends_with(RESPONSE_SUFFIX) || name == JOURNAL))
}

/// The visible file names of a folder, sorted.
fn entries(dir: &Path) -> CliResult<Vec<String>> {
    Ok(inputs::files_in(dir, |name| !name.starts_with('.'))?
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
        .collect())
}

fn request_report(source: &str, file: &BatchRequestFile, sha256: &str) -> RequestReport {
    let body = &file.dfns_request;
    RequestReport {
        source: source.to_owned(),
        kind: "batch-request",
        sha256: sha256.to_owned(),
        ceremony_id: file.ceremony_id.to_string(),
        created: file.created_at.clone(),
        tool_version: file.tool.clone(),
        encryption_key: body.encryption_key.to_base64(),
        fingerprint: body.encryption_key.fingerprint().to_string(),
        supported_schemes: body
            .supported_schemes
            .iter()
            .map(ToString::to_string)
            .collect(),
        key_count: file.key_ids.len(),
        key_ids: file.key_ids.iter().map(ToString::to_string).collect(),
        canary: file.canary,
    }
}

fn responses_report(dir: &Path, requests: &[SeenRequest]) -> CliResult<ResponsesReport> {
    let names = entries(dir)?;
    let Saved {
        saved,
        unreadable,
        ceremony_ids,
        digests,
    } = saved_responses(dir, &names);
    // The batch request: one given on the command line, or `request.json` beside the
    // folder, whose digest is the one the responses carry.
    let beside = dir.parent().map(|p| p.join(REQUEST_BESIDE));
    let beside = beside.and_then(|path| {
        let bytes = input::read(&path, input::DOCUMENT).ok()?;
        let file = BatchRequestFile::parse(&bytes).ok()?;
        Some((path.display().to_string(), file, sha256_hex(&bytes)))
    });
    let request = requests
        .iter()
        .chain(beside.as_ref())
        .find(|(_, _, sha256)| digests.len() == 1 && digests.contains(sha256));

    let journal = names.iter().any(|n| n == JOURNAL);
    let (failed, uncertain) = if journal {
        journal_notes(&dir.join(JOURNAL), &saved)?
    } else {
        (Vec::new(), Vec::new())
    };
    let missing = request.map(|(_, file, _)| {
        let saved_set: BTreeSet<&str> = saved.iter().map(String::as_str).collect();
        file.key_ids
            .iter()
            .map(ToString::to_string)
            .filter(|id| !saved_set.contains(id.as_str()))
            .collect()
    });
    Ok(ResponsesReport {
        source: dir.display().to_string(),
        kind: "batch-responses",
        ceremony_ids: ceremony_ids.into_iter().collect(),
        request_sha256: digests.into_iter().collect(),
        request: request.map(|(source, _, _)| source.clone()),
        key_count: request.map(|(_, file, _)| file.key_ids.len()),
        saved,
        missing,
        failed,
        uncertain,
        unreadable,
        journal,
    })
}

/// The response files of a folder: the keys saved, the files that are not a key's saved
/// response (and why), the ceremonies and request digests they name.
struct Saved {
    saved: Vec<String>,
    unreadable: Vec<FileNote>,
    ceremony_ids: BTreeSet<String>,
    digests: BTreeSet<String>,
}

fn saved_responses(dir: &Path, names: &[String]) -> Saved {
    let mut found = Saved {
        saved: Vec::new(),
        unreadable: Vec::new(),
        ceremony_ids: BTreeSet::new(),
        digests: BTreeSet::new(),
    };
    for name in names.iter().filter(|n| n.ends_with(RESPONSE_SUFFIX)) {
        let path = dir.join(name);
        let problem = match input::read(&path, input::DOCUMENT) {
            Err(e) => Some(e.to_string()),
            Ok(bytes) => match Artifact::parse(&bytes) {
                Ok(Artifact::Response(file)) => {
                    if format!("{}{RESPONSE_SUFFIX}", file.key_id) == *name {
                        found.ceremony_ids.insert(file.ceremony_id.to_string());
                        found.digests.insert(file.request_sha256.clone());
                        found.saved.push(file.key_id.to_string());
                        None
                    } else {
                        Some(format!(
                            "holds the response for key {}, but its name says otherwise",
                            file.key_id
                        ))
                    }
                }
                Ok(other) => Some(format!("{}, not a saved response", other.describe())),
                Err(e) => Some(e.to_string()),
            },
        };
        if let Some(problem) = problem {
            found.unreadable.push(FileNote {
                file: name.clone(),
                problem,
            });
        }
    }
    found
}

/// The keys the online side's journal says failed or are uncertain, among those without a
/// saved response.
fn journal_notes(journal_path: &Path, saved: &[String]) -> CliResult<(Vec<KeyNote>, Vec<KeyNote>)> {
    let text = inputs::read_text(journal_path, input::TRANSCRIPT, "a submit journal")?;
    let saved_set: BTreeSet<&str> = saved.iter().map(String::as_str).collect();
    let (mut failed, mut uncertain) = (Vec::new(), Vec::new());
    for (key_id, state) in journal_states(&text, journal_path)? {
        if saved_set.contains(key_id.as_str()) {
            continue;
        }
        match state {
            KeyState::Failed(reason) => failed.push(KeyNote { key_id, reason }),
            KeyState::Uncertain(reason) => uncertain.push(KeyNote { key_id, reason }),
        }
    }
    Ok((failed, uncertain))
}

/// One line of the online side's journal, as far as `inspect` needs it (the online crate
/// writes it; this reader tolerates fields it does not use).
#[derive(Deserialize)]
#[serde(
    tag = "event",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
enum JournalLine {
    Start {},
    Sending { key_id: String, at: String },
    NotSent { key_id: String },
    Exported { key_id: String, file: String },
    Failed { key_id: String, reason: String },
    Uncertain { key_id: String, reason: String },
}

/// What the journal leaves a key in, when it has no saved response.
enum KeyState {
    Failed(String),
    Uncertain(String),
}

/// The last word of the journal on each key (as `submit` reads it on a rerun). A damaged
/// last line (a run that died writing it) is ignored; a damaged line elsewhere is an error.
fn journal_states(text: &str, path: &Path) -> CliResult<BTreeMap<String, KeyState>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut states = BTreeMap::new();
    for (number, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event = match serde_json::from_str::<JournalLine>(line) {
            Ok(event) => event,
            Err(_) if number + 1 == lines.len() && !text.ends_with('\n') => continue,
            Err(e) => {
                return Err(CliError::Input {
                    path: path.display().to_string(),
                    problem: InputProblem::JournalLine {
                        line: number + 1,
                        reason: e.to_string(),
                    },
                });
            }
        };
        match event {
            JournalLine::Start {} => {}
            JournalLine::Sending { key_id, at } => {
                states.insert(
                    key_id,
                    KeyState::Uncertain(format!(
                        "its export was sent at {at} and no answer was saved"
                    )),
                );
            }
            JournalLine::NotSent { key_id } => {
                states.remove(&key_id);
            }
            JournalLine::Exported { key_id, file } => {
                states.insert(
                    key_id,
                    KeyState::Uncertain(format!(
                        "exported into {file}, which is not in the folder"
                    )),
                );
            }
            JournalLine::Failed { key_id, reason } => {
                states.insert(key_id, KeyState::Failed(reason));
            }
            JournalLine::Uncertain { key_id, reason } => {
                states.insert(key_id, KeyState::Uncertain(reason));
            }
        }
    }
    Ok(states)
}

/// The terminal description of a batch artifact.
pub fn print(report: &BatchReport) {
    match report {
        BatchReport::Request(r) => {
            println!("{}", Escaped(&r.source));
            line(
                "kind",
                "batch export request (made by keyexport-offline init)",
            );
            line("sha256", &r.sha256);
            line("ceremony", &r.ceremony_id);
            line("created", &r.created);
            line("tool", &r.tool_version);
            line("encryption key", &r.encryption_key);
            line("fingerprint", &r.fingerprint);
            line(
                "schemes",
                &crate::render::wrapped_list(&r.supported_schemes, 18, 62),
            );
            line("keys", &r.key_count.to_string());
            list("key ids", &r.key_ids, "all listed with --json");
            if r.canary {
                line(
                    "canary",
                    "required: one throwaway key, exported and rebuilt first",
                );
            }
            line("secrets", "none (a request holds none)");
        }
        BatchReport::Responses(r) => {
            println!("{}", Escaped(&r.source));
            line(
                "kind",
                "batch responses folder (saved by keyexport-online submit)",
            );
            line("ceremony", &r.ceremony_ids.join(", "));
            line("request sha256", &r.request_sha256.join(", "));
            match (&r.request, r.key_count) {
                (Some(request), Some(count)) => {
                    line("request", &format!("{request} ({count} keys)"));
                }
                _ => line(
                    "request",
                    "not found (give the batch request too to list the missing keys)",
                ),
            }
            line("saved", &format!("{} response(s)", r.saved.len()));
            list("", &r.saved, "all listed with --json");
            if let Some(missing) = &r.missing {
                line(
                    "missing",
                    &format!("{} key(s) without a response", missing.len()),
                );
                list("", missing, "all listed with --json");
            }
            if !r.journal {
                line("journal", "none in this folder");
            }
            for (label, notes) in [("failed", &r.failed), ("uncertain", &r.uncertain)] {
                if !notes.is_empty() {
                    line(label, &format!("{} key(s)", notes.len()));
                    for note in notes {
                        println!(
                            "  {:<16}  {}: {}",
                            "",
                            Escaped(&note.key_id),
                            Escaped(&note.reason)
                        );
                    }
                }
            }
            for note in &r.unreadable {
                line("NOT USABLE", &format!("{}: {}", note.file, note.problem));
            }
            line("secrets", "none shown (shares stay encrypted)");
        }
    }
}

/// One `label value` line; the value may come from the inputs and is shown escaped.
fn line(label: &str, value: &str) {
    println!("  {label:<16}{}", Escaped(value));
}

/// The first [`SHOWN_IDS`] ids, one per line, then how many more.
fn list(label: &str, ids: &[String], rest: &str) {
    for (i, id) in ids.iter().take(SHOWN_IDS).enumerate() {
        line(if i == 0 { label } else { "" }, id);
    }
    if ids.len() > SHOWN_IDS {
        line(
            "",
            &format!("… and {} more ({rest})", ids.len() - SHOWN_IDS),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_leaves_each_key_in_its_last_state() {
        let text = concat!(
            r#"{"event":"start","ceremonyId":"C","requestSha256":"ab","keys":4,"at":"t","tool":"x"}"#,
            "\n",
            r#"{"event":"sending","keyId":"key-a","at":"t1"}"#,
            "\n",
            r#"{"event":"sending","keyId":"key-b","at":"t1"}"#,
            "\n",
            r#"{"event":"exported","keyId":"key-b","file":"key-b.response.json","at":"t2"}"#,
            "\n",
            r#"{"event":"failed","keyId":"key-c","kind":"not-found","reason":"no such key","at":"t"}"#,
            "\n",
            r#"{"event":"sending","keyId":"key-d","at":"t1"}"#,
            "\n",
            r#"{"event":"not-sent","keyId":"key-d","reason":"429","at":"t"}"#,
            "\n",
            r#"{"event":"sen"#,
        );
        let states = journal_states(text, Path::new("journal.jsonl")).unwrap();
        assert!(matches!(&states["key-a"], KeyState::Uncertain(r) if r.contains("t1")));
        assert!(
            matches!(&states["key-b"], KeyState::Uncertain(r) if r.contains("key-b.response.json"))
        );
        assert!(matches!(&states["key-c"], KeyState::Failed(r) if r == "no such key"));
        assert!(!states.contains_key("key-d"));
        let damaged = text.replacen("\"sending\"", "\"sen", 1);
        assert!(journal_states(&damaged, Path::new("journal.jsonl")).is_err());
    }
}
