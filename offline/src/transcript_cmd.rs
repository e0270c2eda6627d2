//! `keyexport-offline transcript verify DIR`: check a ceremony transcript and
//! show which build wrote each step.
//!
//! The chain and artifact checks are `keyexport_shared::transcript::verify`; this module
//! lists the steps (seq, time, command or online step, outcome, and the `build` each line
//! records), then every problem found, then the head the witnesses compare with the paper
//! log; each `--head` written on the paper log must still be the digest of a line, which
//! catches what a chain cannot show (an edited or removed last line). It reads online
//! transcripts too: they have the same format. A transcript with a
//! broken chain or a changed file fails with exit code 3; files that are merely gone (such
//! as destroyed key files) are listed but do not fail it.

use std::path::{Path, PathBuf};

use keyexport_shared::display::Escaped;
use keyexport_shared::files::sha256_hex;
use keyexport_shared::input;
use keyexport_shared::transcript::{self, Finding};
use serde::Serialize;
use serde_json::Value;

use crate::cli::{HeadRef, TranscriptVerifyArgs};
use crate::error::{CliError, CliResult};
use crate::inputs::read_text;

/// One step as shown.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Step {
    line: usize,
    seq: Option<u64>,
    time: Option<String>,
    step: Option<String>,
    outcome: Option<String>,
    /// `name version (commit …, clean|DIRTY tree; …)`, or `unknown build`.
    built_by: String,
    /// The same, as lines that fit 80 columns (for the text report).
    #[serde(skip)]
    build_lines: Vec<String>,
}

/// Runs `transcript verify`: the report on stderr (and `--json` on stdout).
pub fn run(args: &TranscriptVerifyArgs) -> CliResult<()> {
    let path = transcript_path(&args.path);
    let text = read_text(&path, input::TRANSCRIPT, "a transcript")?;
    let report =
        transcript::verify(&path).map_err(|e| CliError::shared(path.display().to_string(), e))?;
    let steps: Vec<Step> = text
        .lines()
        .enumerate()
        .map(|(i, raw)| step(i + 1, raw))
        .collect();
    let line_digests: Vec<String> = text.lines().map(|l| sha256_hex(l.as_bytes())).collect();
    let mut findings: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    let mut heads_missing = 0;
    for head in &args.heads {
        if !line_digests.iter().any(|d| head.matches(d)) {
            heads_missing += 1;
            findings.push(format!(
                "head {head} from the paper log is the digest of no line: a line up to the one it was written for was edited or removed"
            ));
        }
    }
    let intact = report.is_intact() && heads_missing == 0;
    let missing = report
        .findings
        .iter()
        .filter(|f| matches!(f, Finding::ArtifactMissing { .. }))
        .count();
    if args.json {
        print_json(&path, intact, &report, &steps, &findings)?;
    }
    // Every field below comes from the transcript's lines, which anyone with the folder
    // can write: shown escaped, so no line can move the cursor or fake "Intact".
    eprintln!("Transcript   {}", Escaped(path.display()));
    print_steps(&steps);
    print_findings(&report, &findings, missing);
    eprintln!("Head         (compare with the paper log)");
    eprintln!("  {}", keyexport_shared::transport::group_hex(&report.head));
    if args.heads.iter().any(|h| matches!(h, HeadRef::First(_))) {
        eprintln!("Note         a head given by its first 8 hex digits only is a weak check");
        eprintln!("             (a forger can match 8 digits by trial): give FIRST8…LAST8.");
    }
    if intact {
        eprintln!("Intact       the chain is whole, no recorded file changed");
        if !args.heads.is_empty() {
            eprintln!("             and it passes through every head given");
        }
        Ok(())
    } else {
        Err(CliError::TranscriptNotIntact {
            path,
            count: report.findings.len() - missing + heads_missing,
        })
    }
}

/// `--json`: the whole report as one object on standard output.
fn print_json(
    path: &Path,
    intact: bool,
    report: &transcript::Report,
    steps: &[Step],
    findings: &[String],
) -> CliResult<()> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Out<'a> {
        transcript: String,
        intact: bool,
        lines: usize,
        head: &'a str,
        artifacts_ok: usize,
        steps: &'a [Step],
        findings: &'a [String],
    }
    let out = Out {
        transcript: path.display().to_string(),
        intact,
        lines: report.lines,
        head: &report.head,
        artifacts_ok: report.artifacts_ok,
        steps,
        findings,
    };
    let json = keyexport_shared::display::to_json(&out)
        .map_err(|e| CliError::Internal(format!("JSON output: {e}")))?;
    println!("{json}");
    Ok(())
}

/// One line per step, then each build they name, described once.
fn print_steps(steps: &[Step]) {
    // Each build is described once, below; a step names its build by number, so a line
    // fits 80 columns.
    let mut builds: Vec<&[String]> = Vec::new();
    for s in steps {
        let number = match builds.iter().position(|b| *b == s.build_lines.as_slice()) {
            Some(i) => i + 1,
            None => {
                builds.push(&s.build_lines);
                builds.len()
            }
        };
        eprintln!(
            "  #{:<3} {:<20} {:<24} {:<7} build {number}",
            s.seq.map_or_else(|| "?".to_owned(), |n| n.to_string()),
            // Escaped to a String first, so the column widths apply.
            Escaped(s.time.as_deref().unwrap_or("?")).to_string(),
            Escaped(s.step.as_deref().unwrap_or("?")).to_string(),
            Escaped(s.outcome.as_deref().unwrap_or("-")).to_string(),
        );
    }
    for (i, lines) in builds.iter().enumerate() {
        for (j, line) in lines.iter().enumerate() {
            let label = if j == 0 {
                format!("Build {}", i + 1)
            } else {
                String::new()
            };
            eprintln!("{label:<13}{}", Escaped(line));
        }
    }
}

/// The count of files checked and gone, then every problem found.
fn print_findings(report: &transcript::Report, findings: &[String], missing: usize) {
    eprintln!(
        "Files        {} unchanged, {missing} gone",
        report.artifacts_ok
    );
    for (i, finding) in findings.iter().enumerate() {
        let gone = report
            .findings
            .get(i)
            .is_some_and(|f| matches!(f, Finding::ArtifactMissing { .. }));
        eprintln!(
            "  {}: {}",
            if gone { "gone" } else { "problem" },
            Escaped(finding)
        );
    }
}

/// `DIR/transcript.jsonl` for a folder, the path itself otherwise.
fn transcript_path(given: &Path) -> PathBuf {
    if given.is_dir() {
        given.join(transcript::FILE_NAME)
    } else {
        given.to_path_buf()
    }
}

/// What a line says about itself (whatever its state: a broken line is shown too).
fn step(line: usize, raw: &str) -> Step {
    let value: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let step = match (text("command"), text("step")) {
        (Some(command), Some(step)) => Some(format!("{command}/{step}")),
        (command, step) => command.or(step),
    };
    let outcome = value
        .get("outcome")
        .and_then(|o| o.get("status"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Step {
        line,
        seq: value.get("seq").and_then(Value::as_u64),
        time: text("time"),
        step,
        outcome,
        built_by: built_by(value.get("build")),
        build_lines: build_lines(value.get("build")),
    }
}

/// The build recorded in a line, as lines of at most 80 columns (after a 13-column label).
fn build_lines(build: Option<&Value>) -> Vec<String> {
    let Some(build) = build.filter(|b| b.is_object()) else {
        return vec!["unknown (no build recorded)".to_owned()];
    };
    let field = |key: &str| build.get(key).and_then(Value::as_str).unwrap_or("unknown");
    let tree = match build.get("dirty").and_then(Value::as_bool) {
        Some(false) => "clean tree",
        Some(true) => "DIRTY tree",
        None => "tree state unknown",
    };
    // 8 groups of 8: two lines of 4 under the label.
    let lock = keyexport_shared::transport::group_hex(field("cargo_lock_sha256"));
    vec![
        format!("{} {}, {tree}", field("name"), field("version")),
        format!("commit {}", field("commit")),
        field("rustc").to_owned(),
        format!("{} {}", field("target"), field("profile")),
        format!("Cargo.lock sha256 {}", lock.get(..35).unwrap_or(&lock)),
        format!("                  {}", lock.get(36..).unwrap_or("")),
    ]
}

/// One line naming the build recorded in a transcript line.
fn built_by(build: Option<&Value>) -> String {
    let Some(build) = build.filter(|b| b.is_object()) else {
        return "unknown build (no build recorded)".to_owned();
    };
    let field = |key: &str| build.get(key).and_then(Value::as_str).unwrap_or("unknown");
    let tree = match build.get("dirty").and_then(Value::as_bool) {
        Some(false) => "clean tree",
        Some(true) => "DIRTY tree",
        None => "tree state unknown",
    };
    format!(
        "{} {} (commit {}, {tree}; {}; {} {}; Cargo.lock sha256 {})",
        field("name"),
        field("version"),
        field("commit"),
        field("rustc"),
        field("target"),
        field("profile"),
        field("cargo_lock_sha256"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_name_their_build() {
        let info = keyexport_shared::build_info!();
        let line = serde_json::json!({
            "seq": 0, "prev": "0", "time": "2026-11-28T20:00:00Z", "command": "init",
            "build": info, "outcome": {"status": "ok"}
        })
        .to_string();
        let s = step(1, &line);
        assert_eq!(s.step.as_deref(), Some("init"));
        assert_eq!(s.outcome.as_deref(), Some("ok"));
        assert!(
            s.built_by.starts_with("keyexport-offline "),
            "{}",
            s.built_by
        );
        assert!(s.built_by.contains(info.rustc), "{}", s.built_by);
        let online = step(2, r#"{"seq":1,"command":"submit","step":"preflight"}"#);
        assert_eq!(online.step.as_deref(), Some("submit/preflight"));
        assert!(online.built_by.starts_with("unknown build"));
        assert_eq!(step(3, "not json").seq, None);
    }

    #[test]
    fn heads_are_accepted_in_the_checklist_forms() {
        let digest = "7240f9c8aa11bb22cc33dd44ee55ff66778899aabbccddeeff0011220bd41a2c";
        for form in [
            digest.to_owned(),
            digest.to_ascii_uppercase(),
            "7240f9c8…0bd41a2c".to_owned(),
            "7240f9c8...0bd41a2c".to_owned(),
            "7240 f9c8 … 0bd4 1a2c".to_owned(),
            "7240f9c8".to_owned(),
        ] {
            let head: HeadRef = form.parse().unwrap();
            assert!(head.matches(digest), "{form}");
        }
        let other: HeadRef = "7240f9c8…0bd41a2d".parse().unwrap();
        assert!(!other.matches(digest));
        for bad in [
            "",
            "7240f9c",
            "7240f9c8a",
            "7240f9c8…",
            "…0bd41a2c",
            "7240f9cg",
            &digest[1..],
            "7240f9c8…0bd41a2c…00",
        ] {
            assert!(bad.parse::<HeadRef>().is_err(), "{bad}");
        }
    }
}
