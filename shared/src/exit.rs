//! Exit codes: the row type of each binary's exit-code table, and the renderings of a table
//! that `--help`, README.md and docs/runbook.md carry.
//!
//! Each binary keeps one table of [`Exit`] rows (its `exit.rs`), and nothing else: an
//! error's kind finds its row through [`exit_for`], `--help` prints [`help`] of it, and
//! its tests check it with [`check_table`] and that README.md holds [`summary_table`] and
//! the runbook [`runbook_table`] of it ([`check_docs`]), so the codes are written once.
//! [`JsonError`] is the one shape of the `--json` error object of both binaries.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde::Serialize;

use crate::ErrorKind;

/// One documented exit code: its number, the error kinds it reports, what it means, and
/// what the operator does about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// The process exit status.
    pub code: u8,
    /// The `kind`s of the `--json` errors that end with this code.
    pub kinds: &'static [ErrorKind],
    /// What happened (Markdown inline code and emphasis allowed; `--help` shows it plain).
    pub meaning: &'static str,
    /// What to do (Markdown, as in the runbook).
    pub advice: &'static str,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code)
    }
}

/// The `--json` error object of both binaries (docs/formats.md, "Errors"):
/// `{"error": {"kind", "exitCode", "message", "advice", "badSigners"}}`, plus
/// `"dfnsResponse"` when `keyexport-online` could not save Dfns' answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonError {
    /// The stable name of the failure.
    pub kind: ErrorKind,
    /// The process exit status that follows.
    pub exit_code: u8,
    /// The fault (first line of the text report).
    pub message: String,
    /// What to do, or `null`.
    pub advice: Option<String>,
    /// The signers whose shares are to blame (empty when none is).
    pub bad_signers: Vec<String>,
    /// Dfns' answer as received, when it could not be saved (online only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dfns_response: Option<String>,
}

impl JsonError {
    /// The one line printed on standard output: `{"error": {...}}`, with terminal control
    /// characters in its strings escaped ([`crate::display::to_json`]).
    pub fn to_line(&self) -> String {
        #[derive(Serialize)]
        struct Wrapper<'a> {
            error: &'a JsonError,
        }
        crate::display::to_json(&Wrapper { error: self }).unwrap_or_else(|_| {
            // Serializing strings cannot fail; keep the promise of one JSON object anyway.
            format!(
                r#"{{"error":{{"kind":"internal","exitCode":{},"message":"cannot render the error","advice":null,"badSigners":[]}}}}"#,
                self.exit_code
            )
        })
    }
}

/// The message of a usage error as a command-line parser renders it (`error: …` first,
/// then usage and hints): its first line, without the `error: ` prefix.
pub fn usage_message(rendered: &str) -> &str {
    let first = rendered.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first)
}

/// The exit code of a bug: every table has a row with it ([`check_table`]).
pub const INTERNAL_CODE: u8 = 1;

/// The row of `table` that lists `kind`.
pub fn lookup(table: &[Exit], kind: ErrorKind) -> Option<Exit> {
    table
        .iter()
        .copied()
        .find(|exit| exit.kinds.contains(&kind))
}

/// The exit code that reports `kind`: the row of `table` that lists it. A kind no row lists
/// is a bug, reported with the table's row of [`INTERNAL_CODE`].
pub fn exit_for(table: &[Exit], kind: ErrorKind) -> Exit {
    lookup(table, kind)
        .or_else(|| table.iter().copied().find(|e| e.code == INTERNAL_CODE))
        // Only for a table that fails `check_table`: the internal error, undocumented.
        .unwrap_or(Exit {
            code: INTERNAL_CODE,
            kinds: &[],
            meaning: "internal error (a bug)",
            advice: "Stop, keep the message, report it.",
        })
}

/// Checks a binary's table: the codes are distinct, one of them is [`INTERNAL_CODE`], and
/// no kind is listed twice.
pub fn check_table(table: &[Exit]) -> Result<(), String> {
    for (at, exit) in table.iter().enumerate() {
        if table[..at].iter().any(|e| e.code == exit.code) {
            return Err(format!("exit code {} has two rows", exit.code));
        }
        for kind in exit.kinds {
            if lookup(&table[..at], *kind).is_some()
                || exit.kinds.iter().filter(|k| *k == kind).count() > 1
            {
                return Err(format!("the kind {kind} is listed twice"));
            }
        }
    }
    if table.iter().any(|e| e.code == INTERNAL_CODE) {
        Ok(())
    } else {
        Err(format!(
            "no row for the internal error (code {INTERNAL_CODE})"
        ))
    }
}

/// The list at the end of `--help`: `Exit codes:`, then one entry per code, its meaning
/// in plain text (and its kinds, where a code has several) wrapped to 80 columns under a
/// hanging indent.
pub fn help(table: &[Exit]) -> String {
    const INDENT: usize = 7;
    const WIDTH: usize = 80;
    let mut text = String::from("Exit codes:");
    for exit in table {
        let mut plain = exit.meaning.replace("**", "").replace('`', "");
        if exit.kinds.len() > 1 {
            let kinds: Vec<&str> = exit.kinds.iter().map(|k| k.as_str()).collect();
            let _ = write!(plain, " [kinds: {}]", kinds.join(", "));
        }
        let mut line = format!("  {:>3}  ", exit.code);
        for word in plain.split(' ') {
            if line.chars().count() > INDENT
                && line.chars().count() + 1 + word.chars().count() > WIDTH
            {
                text.push('\n');
                text.push_str(line.trim_end());
                line = " ".repeat(INDENT);
            } else if line.chars().count() > INDENT {
                line.push(' ');
            }
            line.push_str(word);
        }
        text.push('\n');
        text.push_str(line.trim_end());
    }
    text
}

/// The README's table: `| Code | kind | Meaning |`, one row per code.
pub fn summary_table(table: &[Exit]) -> String {
    let mut text = String::from("| Code | `kind` | Meaning |\n| --- | --- | --- |\n");
    for exit in table {
        let _ = writeln!(
            text,
            "| {} | {} | {} |",
            exit.code,
            kinds_cell(exit),
            exit.meaning
        );
    }
    text
}

/// The kinds of a row as Markdown code, or `—`.
fn kinds_cell(exit: &Exit) -> String {
    if exit.kinds.is_empty() {
        "—".to_owned()
    } else {
        let kinds: Vec<String> = exit.kinds.iter().map(|k| format!("`{k}`")).collect();
        kinds.join(", ")
    }
}

/// The runbook's table: `| Exit | kind | Meaning | What to do |`, one row per code.
pub fn runbook_table(table: &[Exit]) -> String {
    let mut text =
        String::from("| Exit | `kind` | Meaning | What to do |\n| --- | --- | --- | --- |\n");
    for exit in table {
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} |",
            exit.code,
            kinds_cell(exit),
            exit.meaning,
            exit.advice
        );
    }
    text
}

/// Checks that `doc` (a Markdown file named `name`) holds `block` verbatim; the error
/// shows the block to paste.
pub fn check_doc(name: &str, doc: &str, block: &str) -> Result<(), String> {
    if doc.contains(block) {
        Ok(())
    } else {
        Err(format!(
            "{name} does not hold the exit-code table of the code; it should read:\n\n{block}"
        ))
    }
}

/// Checks that README.md (`readme`) holds the summary table and docs/runbook.md
/// (`runbook`) the detailed table of `binary`'s exit codes, each under `### binary`.
pub fn check_docs(binary: &str, table: &[Exit], readme: &str, runbook: &str) -> Result<(), String> {
    let heading = format!("### {binary}\n\n");
    let summary = format!("{heading}{}", summary_table(table));
    let detailed = format!("{heading}{}", runbook_table(table));
    check_doc("README.md", readme, &summary)?;
    check_doc("docs/runbook.md", runbook, &detailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: [Exit; 2] = [
        Exit {
            code: 0,
            kinds: &[],
            meaning: "success",
            advice: "—",
        },
        Exit {
            code: 130,
            kinds: &[ErrorKind::Interrupted, ErrorKind::Input],
            meaning: "a **long** meaning with `code` in it that goes on and on well past the \
                      edge of an eighty-column terminal so that it has to wrap",
            advice: "Run it again.",
        },
    ];

    #[test]
    fn help_wraps_within_80_columns_under_a_hanging_indent() {
        let text = help(&TABLE);
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        assert_eq!(
            text,
            "Exit codes:\n    0  success\n  130  a long meaning with code in it that goes on and \
             on well past the edge of\n       an eighty-column terminal so that it has to wrap \
             [kinds: interrupted,\n       input]"
        );
    }

    #[test]
    fn tables_list_every_code_and_kind() {
        assert_eq!(
            runbook_table(&TABLE),
            "| Exit | `kind` | Meaning | What to do |\n| --- | --- | --- | --- |\n\
             | 0 | — | success | — |\n| 130 | `interrupted`, `input` | a **long** meaning with \
             `code` in it that goes on and on well past the edge of an eighty-column terminal so \
             that it has to wrap | Run it again. |\n"
        );
        assert!(summary_table(&TABLE).contains("| 0 | — | success |\n"));
        assert_eq!(lookup(&TABLE, ErrorKind::Input).map(|e| e.code), Some(130));
        assert_eq!(lookup(&TABLE, ErrorKind::Usage), None);
        assert!(check_doc("x", "a\n| 0 | success |\nb", "| 0 | success |\n").is_ok());
        assert!(check_doc("x", "nothing", "| 0 | success |\n").is_err());
        assert_eq!(
            usage_message("error: unexpected argument '--x' found\n\nUsage: tool"),
            "unexpected argument '--x' found"
        );
    }

    #[test]
    fn a_kind_of_no_row_ends_with_the_internal_row() {
        const INTERNAL: Exit = Exit {
            code: INTERNAL_CODE,
            kinds: &[],
            meaning: "a bug",
            advice: "Report it.",
        };
        let table = [TABLE[0], INTERNAL, TABLE[1]];
        assert_eq!(exit_for(&table, ErrorKind::Input).code, 130);
        assert_eq!(exit_for(&table, ErrorKind::Usage), INTERNAL);
        assert_eq!(check_table(&table), Ok(()));
        assert_eq!(
            check_table(&TABLE),
            Err("no row for the internal error (code 1)".into())
        );
        assert_eq!(exit_for(&TABLE, ErrorKind::Usage).code, INTERNAL_CODE);
        let twice = [
            INTERNAL,
            TABLE[1],
            Exit {
                code: 3,
                ..TABLE[1]
            },
        ];
        assert_eq!(
            check_table(&twice),
            Err("the kind interrupted is listed twice".into())
        );
        let again = [INTERNAL, INTERNAL];
        assert_eq!(check_table(&again), Err("exit code 1 has two rows".into()));
    }

    #[test]
    fn json_error_has_one_shape() {
        let mut error = JsonError {
            kind: ErrorKind::PublicKey,
            exit_code: 4,
            message: "bad \u{1b}[2J".into(),
            advice: None,
            bad_signers: vec!["s1".into()],
            dfns_response: None,
        };
        assert_eq!(
            error.to_line(),
            r#"{"error":{"kind":"public-key","exitCode":4,"message":"bad \u001b[2J","advice":null,"badSigners":["s1"]}}"#
        );
        error.dfns_response = Some("{}".into());
        let value: serde_json::Value = serde_json::from_str(&error.to_line()).unwrap();
        assert_eq!(value["error"]["dfnsResponse"], "{}");
    }
}
