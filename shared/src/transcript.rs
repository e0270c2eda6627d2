//! The tamper-evident ceremony transcript: JSON lines in a hash chain.
//!
//! Every line is a JSON object whose first two fields are `seq` (0, 1, 2, …) and
//! `prev`, the SHA-256 of the previous line's bytes (64 zeros for the first). Editing,
//! deleting or reordering any line breaks the chain at a line that [`verify`] names.
//! The SHA-256 of the last line is the *head*: witnesses write it down at each step,
//! which also catches the one change a chain cannot show — cutting lines off the end.
//! Lines may list `artifacts` (`{"path", "sha256"}`); [`verify`] checks that each file
//! still has its recorded digest.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::files::sha256_hex;
use crate::fsio::{self, FileMode};
use crate::{Error, Result};

/// The transcript's file name inside a ceremony folder.
pub const FILE_NAME: &str = "transcript.jsonl";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const DOC: &str = "the transcript";

/// Appends `entry` (a JSON object without `seq`/`prev`) and returns the new head.
pub fn append(path: &Path, entry: Map<String, Value>) -> Result<String> {
    let (seq, prev) = match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|_| Error::WrongDocument {
                expected: "a transcript (JSON lines)",
                found: "binary data".into(),
            })?;
            let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
            (
                lines.len(),
                lines
                    .last()
                    .map_or_else(|| GENESIS.to_string(), |l| sha256_hex(l.as_bytes())),
            )
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (0, GENESIS.to_string()),
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    let mut line = Map::new();
    line.insert("seq".into(), Value::from(seq));
    line.insert("prev".into(), Value::from(prev));
    for (key, value) in entry {
        if key != "seq" && key != "prev" {
            line.insert(key, value);
        }
    }
    let text = Value::Object(line).to_string();
    fsio::append_line(path, &text, FileMode::Public)?;
    Ok(sha256_hex(text.as_bytes()))
}

/// A problem found by [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// Line `line` (1-based) is not a JSON object with `seq` and `prev`.
    Malformed {
        /// 1-based line number.
        line: usize,
    },
    /// Line `line` does not follow the one before it: that line or this one was
    /// edited, or lines were removed or reordered between them.
    BrokenChain {
        /// 1-based line number.
        line: usize,
        /// The `seq` the line carries.
        seq: u64,
    },
    /// An artifact no longer has the digest recorded at line `line`.
    ArtifactChanged {
        /// 1-based line number.
        line: usize,
        /// The artifact's path.
        path: PathBuf,
    },
    /// An artifact recorded at line `line` is gone (for example a destroyed key file).
    ArtifactMissing {
        /// 1-based line number.
        line: usize,
        /// The artifact's path.
        path: PathBuf,
    },
    /// An artifact recorded at line `line` exists but cannot be checked: it is not a
    /// regular file (a device such as `/dev/zero`, a FIFO), is larger than any file the
    /// tools write, or cannot be read.
    ArtifactUnreadable {
        /// 1-based line number.
        line: usize,
        /// The artifact's path.
        path: PathBuf,
        /// Why it cannot be checked.
        reason: String,
    },
    /// Line `line` repeats a key in one of its objects: which value counts is undefined.
    DuplicateKey {
        /// 1-based line number.
        line: usize,
    },
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::Malformed { line } => write!(f, "line {line} is not a transcript entry"),
            // A line's edit shows on the next line (whose link no longer matches): name the
            // line before first, as the likelier one edited.
            Finding::BrokenChain { line, seq } if *line > 1 => write!(
                f,
                "line {line} (seq {seq}) does not follow line {}: line {} was edited, or a line was removed or reordered between them (or line {line}'s link was edited)",
                line - 1,
                line - 1
            ),
            Finding::BrokenChain { line, seq } => write!(
                f,
                "line {line} (seq {seq}) does not follow the line before it: a line was edited, removed or reordered here"
            ),
            Finding::ArtifactChanged { line, path } => {
                write!(
                    f,
                    "{} changed since line {line} recorded it",
                    path.display()
                )
            }
            Finding::ArtifactMissing { line, path } => {
                write!(
                    f,
                    "{} recorded at line {line} no longer exists",
                    path.display()
                )
            }
            Finding::ArtifactUnreadable { line, path, reason } => {
                write!(
                    f,
                    "{} recorded at line {line} cannot be checked: {reason}",
                    path.display()
                )
            }
            Finding::DuplicateKey { line } => write!(
                f,
                "line {line} has the same key twice in one object: which value counts is undefined"
            ),
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone)]
pub struct Report {
    /// Number of lines.
    pub lines: usize,
    /// SHA-256 of the last line (what witnesses write down).
    pub head: String,
    /// Artifacts whose digests were checked and matched.
    pub artifacts_ok: usize,
    /// Everything wrong, in file order. Missing artifacts are listed but do not by
    /// themselves make the transcript untrustworthy; see [`Report::is_intact`].
    pub findings: Vec<Finding>,
}

impl Report {
    /// The chain is whole and no recorded artifact changed.
    pub fn is_intact(&self) -> bool {
        self.findings
            .iter()
            .all(|f| matches!(f, Finding::ArtifactMissing { .. }))
    }
}

/// Checks the chain of the transcript at `path` and every artifact it names (relative
/// paths are taken from the transcript's folder).
pub fn verify(path: &Path) -> Result<Report> {
    let bytes = crate::input::read(path, crate::input::TRANSCRIPT)
        .map_err(|e| Error::io("cannot read", path, e))?;
    let text = String::from_utf8(bytes).map_err(|_| Error::WrongDocument {
        expected: "a transcript (JSON lines)",
        found: "binary data".into(),
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut findings = Vec::new();
    let mut prev = GENESIS.to_string();
    let mut artifacts_ok = 0;
    let mut count = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        count = line;
        if serde_json::from_str::<Value>(raw).is_ok()
            && crate::json::check_unique_keys(raw.as_bytes(), DOC).is_err()
        {
            findings.push(Finding::DuplicateKey { line });
        }
        let parsed: Option<Map<String, Value>> = serde_json::from_str(raw).ok();
        let Some(object) = parsed.filter(|o| o.contains_key("seq") && o.contains_key("prev"))
        else {
            findings.push(Finding::Malformed { line });
            prev = sha256_hex(raw.as_bytes());
            continue;
        };
        let seq = object
            .get("seq")
            .and_then(Value::as_u64)
            .unwrap_or(u64::MAX);
        if object.get("prev").and_then(Value::as_str) != Some(prev.as_str()) || seq != i as u64 {
            findings.push(Finding::BrokenChain { line, seq });
        }
        artifacts_ok += check_artifacts(&object, line, &base, &mut findings);
        prev = sha256_hex(raw.as_bytes());
    }
    if count == 0 {
        return Err(Error::MissingField {
            document: DOC,
            field: "any line",
        });
    }
    Ok(Report {
        lines: count,
        head: prev,
        artifacts_ok,
        findings,
    })
}

/// Checks the files line `line` (its JSON `object`) names against their recorded SHA-256
/// (relative paths from `base`); returns how many match, each other one a finding.
fn check_artifacts(
    object: &Map<String, Value>,
    line: usize,
    base: &Path,
    findings: &mut Vec<Finding>,
) -> usize {
    let mut ok = 0;
    for artifact in object
        .get("artifacts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(file), Some(digest)) = (
            artifact.get("path").and_then(Value::as_str),
            artifact.get("sha256").and_then(Value::as_str),
        ) else {
            continue;
        };
        if file == "-" {
            continue;
        }
        let full = base.join(file);
        match crate::input::read(&full, crate::input::ARTIFACT) {
            Ok(content) if sha256_hex(&content) == digest => ok += 1,
            Ok(_) => findings.push(Finding::ArtifactChanged {
                line,
                path: PathBuf::from(file),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                findings.push(Finding::ArtifactMissing {
                    line,
                    path: PathBuf::from(file),
                });
            }
            Err(e) => findings.push(Finding::ArtifactUnreadable {
                line,
                path: PathBuf::from(file),
                reason: e.to_string(),
            }),
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(n: u64, artifact: Option<(&str, &[u8])>) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("command".into(), json!(format!("step {n}")));
        if let Some((path, bytes)) = artifact {
            map.insert(
                "artifacts".into(),
                json!([{"role": "x", "path": path, "sha256": sha256_hex(bytes)}]),
            );
        }
        map
    }

    fn setup() -> (tempfile::TempDir, PathBuf, String) {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("request.json"), b"request").unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut head = String::new();
        for n in 0..4 {
            let artifact = (n == 1).then_some(("request.json", b"request".as_slice()));
            head = append(&path, entry(n, artifact)).unwrap();
        }
        (dir, path, head)
    }

    #[test]
    fn intact_chain_verifies_with_its_head() {
        let (_dir, path, head) = setup();
        let report = verify(&path).unwrap();
        assert!(report.is_intact(), "{:?}", report.findings);
        assert_eq!(report.head, head);
        assert_eq!(report.lines, 4);
        assert_eq!(report.artifacts_ok, 1);
    }

    #[test]
    fn edits_deletions_reorders_and_changed_artifacts_are_named() {
        let (dir, path, _) = setup();
        let original = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = original.lines().collect();
        let edited = original.replace("step 2", "step 9");
        let deleted = [lines[0], lines[1], lines[3]].join("\n");
        let reordered = [lines[0], lines[2], lines[1], lines[3]].join("\n");
        for (text, expected_line) in [(edited, 4), (deleted, 3), (reordered, 2)] {
            fs::write(&path, text).unwrap();
            let report = verify(&path).unwrap();
            assert!(!report.is_intact());
            match &report.findings[0] {
                Finding::BrokenChain { line, .. } => assert_eq!(*line, expected_line),
                other => panic!("{other:?}"),
            }
        }
        fs::write(&path, &original).unwrap();
        fs::write(dir.path().join("request.json"), b"changed").unwrap();
        let report = verify(&path).unwrap();
        assert_eq!(
            report.findings,
            vec![Finding::ArtifactChanged {
                line: 2,
                path: "request.json".into()
            }]
        );
        fs::remove_file(dir.path().join("request.json")).unwrap();
        assert!(verify(&path).unwrap().is_intact());
    }

    #[test]
    fn a_device_as_artifact_fails_fast_instead_of_being_read() {
        let (_dir, path, _) = setup();
        let mut step = Map::new();
        step.insert(
            "artifacts".into(),
            json!([{"role": "x", "path": "/dev/zero", "sha256": sha256_hex(b"")}]),
        );
        append(&path, step).unwrap();
        let report = verify(&path).unwrap();
        assert!(!report.is_intact());
        match &report.findings[..] {
            [
                Finding::ArtifactUnreadable {
                    line: 5,
                    path,
                    reason,
                },
            ] => {
                assert_eq!(path, Path::new("/dev/zero"));
                assert!(reason.contains("not a regular file"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_line_with_a_repeated_key_is_a_finding() {
        let (_dir, path, _) = setup();
        let text = fs::read_to_string(&path).unwrap();
        let last = text.lines().last().unwrap();
        let prev = sha256_hex(last.as_bytes());
        let line = format!(
            r#"{{"seq":4,"prev":"{prev}","command":"reconstruct","outcome":{{"status":"failed","status":"ok"}}}}"#
        );
        fs::write(&path, format!("{text}{line}\n")).unwrap();
        let report = verify(&path).unwrap();
        assert_eq!(report.findings, vec![Finding::DuplicateKey { line: 5 }]);
        assert!(!report.is_intact());
    }
}
