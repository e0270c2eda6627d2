//! The online side's ceremony transcript: `transcript.jsonl` in the output
//! folder, hash-chained by `keyexport_shared::transcript` exactly like the offline one, so
//! `keyexport-offline transcript verify` checks it too.
//!
//! `submit` appends one line per step: `request-read` (after every offline check, before
//! any traffic), `preflight` (the key as Dfns describes it), `export-sent` (just before the
//! one export call; its head is what the response file records as
//! `onlineTranscriptHead`), and `response-saved` (the response and its QR/UR files, by
//! digest), or `failed` with the error kind and exit code. Each line records the build of
//! the binary. Lines never hold a credential, a token or a message from Dfns:
//! only ids, digests, public keys, and the tool's own error kind.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use keyexport_shared::files::sha256_hex;
use keyexport_shared::transcript;
use serde_json::{Map, Value, json};

use crate::error::{InputError, OnlineError, RefusedError};

/// The online transcript of one output folder.
pub struct Transcript {
    path: PathBuf,
    dir: PathBuf,
    step: &'static str,
}

impl Transcript {
    /// The transcript `transcript.jsonl` in `dir` (created by the first line).
    pub fn in_dir(dir: &Path) -> Self {
        Transcript {
            path: dir.join(transcript::FILE_NAME),
            dir: dir.to_path_buf(),
            step: "request-read",
        }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The step being worked on (named in a `failed` line).
    pub fn working_on(&mut self, step: &'static str) {
        self.step = step;
    }

    /// A file's record: its path relative to the transcript's folder when inside it (so
    /// the folder can be copied elsewhere and still verified), and its digest.
    pub fn artifact(&self, role: &str, path: &Path, bytes: &[u8]) -> Value {
        let shown = match path.parent().zip(path.file_name()) {
            Some((parent, name)) if same_dir(parent, &self.dir) => PathBuf::from(name),
            _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        };
        json!({"role": role, "path": shown.display().to_string(), "sha256": sha256_hex(bytes)})
    }

    /// The records of the files at `paths` that can be read ([`Transcript::artifact`]).
    pub fn artifacts<'a>(
        &self,
        role: &str,
        paths: impl IntoIterator<Item = &'a PathBuf>,
    ) -> Vec<Value> {
        paths
            .into_iter()
            .filter_map(|path| {
                std::fs::read(path)
                    .ok()
                    .map(|bytes| self.artifact(role, path, &bytes))
            })
            .collect()
    }

    /// Appends the line of `step` with public `facts` and `artifacts`; returns the head.
    pub fn record(
        &mut self,
        step: &'static str,
        facts: Value,
        artifacts: Vec<Value>,
    ) -> Result<String, OnlineError> {
        self.step = step;
        self.append(step, facts, artifacts, json!({"status": "ok"}))
    }

    /// Appends a `failed` line for `error` at the current step. A transcript that cannot be
    /// written then is reported on stderr: the error being reported matters more.
    pub fn record_failure(&mut self, error: &OnlineError, artifacts: Vec<Value>) {
        let outcome = json!({
            "status": "failed",
            "kind": error.kind(),
            "exitCode": error.exit_code(),
        });
        let step = self.step;
        if let Err(e) = self.append(step, json!({}), artifacts, outcome) {
            eprintln!("warning: the transcript was not updated: {e}");
        }
    }

    fn append(
        &self,
        step: &'static str,
        facts: Value,
        artifacts: Vec<Value>,
        outcome: Value,
    ) -> Result<String, OnlineError> {
        let mut line = Map::new();
        line.insert(
            "time".into(),
            humantime::format_rfc3339_seconds(SystemTime::now())
                .to_string()
                .into(),
        );
        line.insert("command".into(), "submit".into());
        line.insert("step".into(), step.into());
        line.insert(
            "toolVersion".into(),
            format!("keyexport-online {}", env!("CARGO_PKG_VERSION")).into(),
        );
        line.insert(
            "build".into(),
            serde_json::to_value(keyexport_shared::build_info!()).map_err(|error| {
                InputError::Encode {
                    what: "transcript entry",
                    error,
                }
            })?,
        );
        if let Value::Object(facts) = facts {
            line.extend(facts);
        }
        line.insert("artifacts".into(), Value::Array(artifacts));
        line.insert("outcome".into(), outcome);
        transcript::append(&self.path, line)
            .map_err(|e| RefusedError::TranscriptUnwritable(e).into())
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    let a = if a.as_os_str().is_empty() {
        Path::new(".")
    } else {
        a
    };
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The transcript head as the witnesses read it: on its own line in groups of 8 hex digits
/// (71 columns, nothing wraps at 80), then the transcript it belongs to when given.
pub fn head_lines(head: &str, path: Option<&Path>) -> String {
    let mut text = format!(
        "Transcript head  (witnesses: write down its first and last 8 digits)\n  {}",
        keyexport_shared::transport::group_hex(head)
    );
    if let Some(path) = path {
        text.push_str(&format!("\n  of {}", path.display()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_chain_and_name_their_build() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("response.json"), b"r").unwrap();
        let mut t = Transcript::in_dir(dir.path());
        let artifact = t.artifact("response", &dir.path().join("response.json"), b"r");
        assert_eq!(artifact["path"], "response.json");
        let first = t
            .record("request-read", json!({"keyId": "key-1"}), vec![artifact])
            .unwrap();
        t.working_on("preflight");
        t.record_failure(&OnlineError::Input(InputError::SeveralFiles), Vec::new());
        let report = transcript::verify(t.path()).unwrap();
        assert!(report.is_intact(), "{:?}", report.findings);
        assert_eq!(report.lines, 2);
        assert_eq!(report.artifacts_ok, 1);
        assert_ne!(report.head, first);
        let text = std::fs::read_to_string(t.path()).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["build"]["name"], "keyexport-online");
        assert_eq!(lines[0]["keyId"], "key-1");
        assert_eq!(lines[1]["step"], "preflight");
        assert_eq!(lines[1]["outcome"]["kind"], "input");
        assert_eq!(lines[1]["outcome"]["exitCode"], 3);
    }
}
