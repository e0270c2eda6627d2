//! The tamper-evident transcript through the CLI: every edited, deleted or
//! reordered line and every changed file is named by `transcript verify`, which also shows
//! the build that wrote each step.

use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::common::{self, SealedCeremony, offline, passphrase_file, s, stdout_json};

/// A ceremony folder whose transcript has three lines (init, a failed and a successful
/// reconstruct), and the heads the runs printed.
struct Recorded {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    heads: Vec<String>,
}

/// The head printed under `Transcript head`, in groups of 8 hex digits, ungrouped.
fn head_of(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let mut lines = text.lines();
    lines
        .find(|l| l.starts_with("Transcript head  "))
        .unwrap_or_else(|| panic!("no head printed:\n{text}"));
    let grouped = lines.next().unwrap_or_default();
    assert!(grouped.len() <= 80, "{grouped}");
    let head: String = grouped.split_whitespace().collect();
    assert_eq!(head.len(), 64, "{text}");
    head
}

/// `keyexport-offline transcript verify PATH` (a transcript or its folder).
fn transcript_verify(path: &Path) -> assert_cmd::Command {
    let mut cmd = offline();
    cmd.args(["transcript", "verify", s(path)]);
    cmd
}

fn record() -> Recorded {
    let tmp = tempfile::tempdir().unwrap();
    let SealedCeremony {
        dir,
        passphrase_file: pass,
        response,
        init,
        ..
    } = SealedCeremony::new(tmp.path(), "key-01transcript");
    let wrong = passphrase_file(tmp.path(), "wrong.txt", "wrong");
    let key = dir.join("decryption-key.age");
    common::reconstruct(&key, &response)
        .args(["--passphrase-file", s(&wrong)])
        .assert()
        .code(5);
    let ok = common::reconstruct(&key, &response)
        .args(["--passphrase-file", s(&pass)])
        .output()
        .unwrap();
    assert!(ok.status.success());
    Recorded {
        _tmp: tmp,
        heads: vec![head_of(&init.stderr), head_of(&ok.stderr)],
        dir,
    }
}

impl Recorded {
    fn transcript(&self) -> PathBuf {
        self.dir.join("transcript.jsonl")
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.transcript())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn write(&self, lines: &[String]) {
        std::fs::write(self.transcript(), format!("{}\n", lines.join("\n"))).unwrap();
    }

    /// `transcript verify` with every head the runs printed.
    fn verify(&self) -> assert_cmd::Command {
        let mut cmd = transcript_verify(&self.dir);
        for head in &self.heads {
            cmd.args(["--head", head]);
        }
        cmd
    }
}

#[test]
fn an_intact_transcript_shows_each_step_its_build_and_the_head() {
    let r = record();
    let output = r.verify().arg("--json").output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let json = stdout_json(&output);
    assert_eq!(json["intact"], true);
    assert_eq!(json["lines"], 3);
    assert_eq!(json["head"], r.heads[1].as_str());
    let steps = json["steps"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(names, ["init", "reconstruct", "reconstruct"]);
    let outcomes: Vec<&str> = steps
        .iter()
        .map(|s| s["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["ok", "failed", "ok"]);
    let build = keyexport_shared::build_info!();
    for step in steps {
        let by = step["builtBy"].as_str().unwrap();
        assert!(by.starts_with("keyexport-offline "), "{by}");
        assert!(by.contains(build.rustc), "{by}");
        assert!(by.contains("Cargo.lock sha256 "), "{by}");
    }
    let line: serde_json::Value = serde_json::from_str(&r.lines()[0]).unwrap();
    assert_eq!(line["build"]["name"], "keyexport-offline");
    assert_eq!(
        line["build"]["cargo_lock_sha256"].as_str(),
        build.cargo_lock_sha256
    );
    r.verify()
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "Head         (compare with the paper log)\n  {}",
            keyexport_shared::transport::group_hex(&r.heads[1])
        )))
        .stderr(predicate::str::contains("#0   "))
        .stderr(predicate::str::contains("keyexport-offline "));
}

#[test]
fn every_edited_deleted_or_reordered_line_is_named() {
    let r = record();
    let original = r.lines();
    let last = original.len() - 1;
    let expect = |lines: Vec<String>, named: String| {
        r.write(&lines);
        r.verify()
            .assert()
            .code(3)
            .stderr(predicate::str::contains(named))
            .stderr(predicate::str::contains("is not intact"));
    };
    for i in 0..=last {
        let following = if i < last {
            format!("line {} (seq {}) does not follow", i + 2, i + 1)
        } else {
            "from the paper log is the digest of no line".to_owned()
        };
        let mut edited = original.clone();
        assert!(edited[i].contains(r#""allowOnline":true"#));
        edited[i] = edited[i].replace(r#""allowOnline":true"#, r#""allowOnline":false"#);
        if i < last {
            // The edited line itself is named, not only the next one whose link broke.
            expect(
                edited.clone(),
                format!("does not follow line {}: line {} was edited", i + 1, i + 1),
            );
        }
        expect(edited, following.clone());

        let mut deleted = original.clone();
        deleted.remove(i);
        let named = if i < last {
            format!("line {} (seq {}) does not follow", i + 1, i + 1)
        } else {
            following
        };
        expect(deleted, named);
    }
    for i in 0..last {
        let mut reordered = original.clone();
        reordered.swap(i, i + 1);
        expect(
            reordered,
            format!("line {} (seq {}) does not follow", i + 1, i + 1),
        );
    }
    r.write(&original);
    r.verify().assert().success();
}

#[test]
fn every_changed_artifact_is_named() {
    let r = record();
    // Every file any line recorded (request, QR sheet, sealed key, response), changed in
    // turn and restored: named with the first line that recorded it.
    let mut recorded: Vec<(usize, String)> = Vec::new();
    for (i, line) in r.lines().iter().enumerate() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        for artifact in value["artifacts"].as_array().unwrap() {
            let path = artifact["path"].as_str().unwrap().to_owned();
            if !recorded.iter().any(|(_, p)| p == &path) {
                recorded.push((i + 1, path));
            }
        }
    }
    assert!(recorded.len() >= 4, "{recorded:?}");
    for (line, path) in &recorded {
        // Named relative to the transcript's folder when inside it, absolute otherwise.
        let file = r.dir.join(path);
        let original = std::fs::read(&file).unwrap();
        let mut changed = original.clone();
        changed.push(b'\n');
        std::fs::write(&file, changed).unwrap();
        r.verify()
            .assert()
            .code(3)
            .stderr(predicate::str::contains(format!(
                "{path} changed since line {line} recorded it"
            )));
        std::fs::write(&file, original).unwrap();
    }
    r.verify().assert().success();
    // A transcript given by its path works the same; a folder without one is an input error.
    transcript_verify(&r.transcript())
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "Head         (compare with the paper log)\n  {}",
            keyexport_shared::transport::group_hex(&r.heads[1])
        )));
    let empty = tempfile::tempdir().unwrap();
    transcript_verify(empty.path())
        .assert()
        .code(3)
        .stderr(predicate::str::contains("transcript.jsonl"));
}

#[test]
fn heads_are_accepted_as_the_checklist_writes_them() {
    let r = record();
    let head = &r.heads[0];
    let ends = format!("{}…{}", &head[..8], &head[56..]);
    let grouped = keyexport_shared::transport::group_hex(head);
    for form in [
        head.to_owned(),
        ends.clone(),
        format!("{}...{}", &head[..8], &head[56..]),
        grouped,
    ] {
        transcript_verify(&r.dir)
            .args(["--head", &form])
            .assert()
            .success();
    }
    // The first 8 alone match, with a note that they are a weak check.
    transcript_verify(&r.dir)
        .args(["--head", &head[..8]])
        .assert()
        .success()
        .stderr(predicate::str::contains("weak check"));
    // A head of no line is tampering (3); a malformed head is a usage error (2).
    let mut other = head.clone();
    other.replace_range(56.., "00000000");
    if other == *head {
        other.replace_range(56.., "11111111");
    }
    transcript_verify(&r.dir)
        .arg("--head")
        .arg(format!("{}…{}", &other[..8], &other[56..]))
        .assert()
        .code(3);
    for malformed in ["7240f9c", "7240f9c8…", "zzzzzzzz", &head[..20]] {
        transcript_verify(&r.dir)
            .args(["--head", malformed])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("is not a transcript head"));
    }
}

#[test]
fn the_report_fits_80_columns() {
    let r = record();
    let output = r.verify().output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stderr).unwrap();
    for line in text.lines() {
        // The transcript's own path is the one value that can be longer.
        if !line.starts_with("Transcript   ") {
            assert!(line.chars().count() <= 80, "{line}");
        }
    }
    // One build wrote every step: it is described once.
    assert_eq!(text.matches("Build 1").count(), 1, "{text}");
    assert!(!text.contains("Build 2"), "{text}");
}
