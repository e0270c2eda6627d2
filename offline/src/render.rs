//! Rendering for people and for `--json`: error reports, warnings, spoken fingerprints.
//!
//! Human text goes to standard error (standard output is reserved for `--json`, `--reveal`
//! and `inspect`), so scripts can capture results without the chatter.

use keyexport_shared::display::Escaped;
use keyexport_shared::exit::JsonError;

use crate::error::CliError;

/// Prints `error: <fault>` and, when there is advice, `advice: <what to do>` on stderr.
/// The fault often quotes an input (a field, a file name, a parser's message): it is
/// shown escaped, so it cannot move the cursor or fake a line.
pub fn error_text(error: &CliError, inspecting: bool) {
    eprintln!("error: {}", Escaped(error.message()));
    if let Some(advice) = error.advice_in(inspecting) {
        eprintln!("advice: {advice}");
    }
}

/// The `--json` failure object, of the shape both tools share
/// ([`keyexport_shared::exit::JsonError`]).
pub fn error_json(error: &CliError, inspecting: bool) -> String {
    JsonError {
        kind: error.kind(),
        exit_code: error.exit_code().code,
        message: error.message(),
        advice: error.advice_in(inspecting).map(str::to_owned),
        bad_signers: error
            .bad_signers()
            .iter()
            .map(ToString::to_string)
            .collect(),
        dfns_response: None,
    }
    .to_line()
}

/// A loud, boxed warning on stderr (air-gap override, unprotected key file), at most 80
/// columns wide: see [`warning_box`].
pub fn loud_warning(lines: &[&str]) {
    eprintln!("{}", warning_box(lines));
}

/// Text width inside the warning box: `! ` + 76 + ` !` is 80 columns.
const BOX_TEXT: usize = 76;

/// The lines of a warning in a box of `!`, wrapped so that no line passes 80 columns. A
/// line is broken between words; a word longer than the box (a path) is broken after a
/// `/` where it can be (else at the box's edge), every character kept, the rest of it
/// continuing at the start of the next line.
pub fn warning_box(lines: &[&str]) -> String {
    let wrapped: Vec<String> = lines.iter().flat_map(|l| wrap_line(l, BOX_TEXT)).collect();
    let width = wrapped.iter().map(|l| l.chars().count()).max().unwrap_or(0) + 4;
    let bar = "!".repeat(width);
    let mut text = bar.clone();
    for line in &wrapped {
        text.push_str(&format!("\n! {line:<w$} !", w = width - 4));
    }
    text.push('\n');
    text.push_str(&bar);
    text
}

/// `line` cut into pieces of at most `width` characters (see [`warning_box`]).
fn wrap_line(line: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for word in line.split(' ') {
        let used = current.chars().count();
        if used > 0 && used + 1 + word.chars().count() <= width {
            current.push(' ');
            current.push_str(word);
            continue;
        }
        if used > 0 {
            out.push(std::mem::take(&mut current));
        }
        let mut rest: Vec<char> = word.chars().collect();
        while rest.len() > width {
            let cut = rest[..width]
                .iter()
                .rposition(|&c| c == '/')
                .filter(|&i| i > 0)
                .map_or(width, |i| i + 1);
            out.push(rest.drain(..cut).collect());
        }
        current = rest.into_iter().collect();
    }
    out.push(current);
    out
}

/// `items` joined with ", " over as many lines as keep each within `width` characters
/// (an item longer than `width` gets a line of its own), every line after the first
/// indented by `indent` spaces: a value printed after a label of that width stays
/// within an 80-column terminal.
pub fn wrapped_list(items: &[String], indent: usize, width: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    for item in items {
        match lines.last_mut() {
            // ", " and the item, and room for the "," that ends a wrapped line.
            Some(line) if line.chars().count() + 3 + item.chars().count() <= width => {
                line.push_str(", ");
                line.push_str(item);
            }
            _ => lines.push(item.clone()),
        }
    }
    lines.join(&format!(",\n{:indent$}", ""))
}

/// Prints the transcript head for the witnesses, on its own line in groups of 8 hex digits
/// (71 columns: nothing wraps at 80, and the first and last groups are what the checklist
/// records).
pub fn transcript_head(head: &str) {
    eprintln!("Transcript head  (witnesses: write down its first and last 8 digits)");
    eprintln!("  {}", keyexport_shared::transport::group_hex(head));
}

/// Width of the labels of the summaries (`Public key   `).
const LABEL: usize = 13;

/// Prints a long hex value after its label in groups of 8 digits, at most 7 groups a line
/// (75 columns), continuation lines under the first: nothing wraps at 80 columns and the
/// first and last groups are the ones the checklist records.
pub fn hex_value(label: &str, hex: &str) {
    let groups: Vec<&[u8]> = hex.as_bytes().chunks(8).collect();
    for (i, line) in groups.chunks(7).enumerate() {
        let text = line
            .iter()
            .map(|g| String::from_utf8_lossy(g))
            .collect::<Vec<_>>()
            .join(" ");
        let label = if i == 0 { label } else { "" };
        eprintln!("{label:<LABEL$}{text}");
    }
}

/// Prints `Note` and `text` after the summaries' label, wrapped between words so that no
/// line passes 80 columns, continuation lines under the first.
pub fn note(text: &str) {
    for (i, line) in wrap_line(text, 80 - LABEL).iter().enumerate() {
        let label = if i == 0 { "Note" } else { "" };
        eprintln!("{label:<LABEL$}{line}");
    }
}

/// Prints `label  value` on one line when it fits 80 columns, else the label and, below
/// it, the value whole (an address is copied or compared as one piece).
pub fn labelled_line(indent: usize, label: &str, width: usize, value: &str) {
    let pad = " ".repeat(indent);
    if indent + width.max(label.chars().count()) + value.chars().count() <= 80 {
        eprintln!("{pad}{label:<width$}{value}");
    } else {
        eprintln!("{pad}{label}");
        eprintln!("{pad}  {value}");
    }
}

/// Prints the fingerprint spelled for reading aloud, one group per line so no word is cut
/// at the terminal's edge.
pub fn aloud(fingerprint: &str) {
    for (i, group) in spoken(fingerprint).split(" / ").enumerate() {
        let label = if i == 0 { "  aloud" } else { "" };
        eprintln!("{label:<13}{group}");
    }
}

/// Spells a fingerprint with the NATO/ICAO alphabet so two people can compare it aloud:
/// `K7QF-2M9X` → `kilo seven quebec foxtrot / two mike nine x-ray`.
pub fn spoken(fingerprint: &str) -> String {
    fingerprint
        .split('-')
        .map(|group| {
            group
                .chars()
                .filter_map(spoken_char)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

fn spoken_char(c: char) -> Option<&'static str> {
    const LETTERS: [&str; 26] = [
        "alfa", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
        "sierra", "tango", "uniform", "victor", "whiskey", "x-ray", "yankee", "zulu",
    ];
    const DIGITS: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    let c = c.to_ascii_uppercase();
    match c {
        'A'..='Z' => LETTERS.get(usize::from(c as u8 - b'A')).copied(),
        '0'..='9' => DIGITS.get(usize::from(c as u8 - b'0')).copied(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_spelled() {
        assert_eq!(
            spoken("K7QF-2M9X"),
            "kilo seven quebec foxtrot / two mike nine x-ray"
        );
    }

    #[test]
    fn lists_wrap_within_80_columns() {
        use keyexport_shared::scheme::Scheme;
        let all: Vec<String> = Scheme::all().iter().map(ToString::to_string).collect();
        let text = format!("  {:<16}{}", "schemes", wrapped_list(&all, 18, 62));
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        assert_eq!(text.matches(", ").count() + text.matches(",\n").count(), 17);
        assert_eq!(text.replace(",\n", ", ").split(", ").count(), 18);
        let short = ["A:b".to_owned(), "C:d".to_owned()];
        assert_eq!(wrapped_list(&short, 4, 62), "A:b, C:d");
        assert_eq!(wrapped_list(&short, 4, 5), "A:b,\n    C:d");
    }

    #[test]
    fn warning_boxes_fit_80_columns_and_keep_every_character() {
        let path = format!(
            "/media/operator/{}/ceremony/key.hex",
            "very-long-folder".repeat(8)
        );
        let first = format!("The key was written unprotected to {path}: move it now.");
        let text = warning_box(&[&first, "Short line."]);
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        let inner: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("! "))
            .map(|l| l[2..l.len() - 2].trim_end())
            .collect();
        // The path comes back whole when its pieces are joined, broken after a `/`.
        let joined = inner.concat();
        assert!(joined.contains(&path), "{text}");
        assert!(inner.iter().any(|l| l.ends_with('/')), "{text}");
        assert_eq!(inner.last(), Some(&"Short line."));
        // A word with no `/` is cut at the edge of the box, nothing dropped.
        let word = "x".repeat(200);
        let text = warning_box(&[&word]);
        assert!(text.lines().all(|l| l.chars().count() == 80), "{text}");
        assert_eq!(text.matches('x').count(), 200);
        // Short warnings keep their narrow box.
        assert_eq!(warning_box(&["ab"]), "!!!!!!\n! ab !\n!!!!!!");
    }

    #[test]
    fn json_error_shape() {
        let json = error_json(&CliError::PassphraseMismatch, false);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["error"]["kind"], "passphrase");
        assert_eq!(v["error"]["exitCode"], 5);
        assert_eq!(v["error"]["message"], "the two passphrases typed differ");
        assert_eq!(v["error"]["badSigners"], serde_json::json!([]));
    }
}
