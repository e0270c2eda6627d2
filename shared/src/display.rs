//! Text that came from an input, made safe to show on a terminal.
//!
//! Whoever writes the USB stick or the ceremony folder chooses the bytes of every
//! field we show: a signer id, a transcript's `time`, a custodian's name, a file name,
//! the text of a parser error. A terminal obeys control sequences in what it prints
//! (ESC and CSI can move the cursor and overwrite the "Public key" line the operators
//! compare aloud; a newline can fake a whole line such as "Intact"), and bidirectional
//! overrides make text read differently from its bytes. So every such text goes
//! through this module before it is printed, in human and JSON output alike:
//!
//! - [`escape`] / [`Escaped`] for human text: each dangerous character becomes a
//!   visible Rust-style escape (`\u{1b}`), a backslash becomes `\\`, so the shown text
//!   maps back to exactly one input;
//! - [`to_json`] for `--json` output: the same characters are written as JSON `\uXXXX`
//!   escapes, so the JSON value is unchanged for a program and inert on a terminal.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

/// Whether `c` must not reach a terminal as it is: every control character (C0
/// including newline and tab, DEL, C1 including the one-byte CSI U+009B), the
/// bidirectional marks, embeddings, overrides and isolates, zero-width characters,
/// the line and paragraph separators, and the byte order mark.
pub fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// `text` with every dangerous character (see [`is_dangerous`]) written as `\u{…}`
/// and every backslash doubled; borrowed when nothing needed escaping.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c == '\\' || is_dangerous(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if is_dangerous(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Displays a value's text escaped (see [`escape`]): `println!("{}", Escaped(&id))`.
pub struct Escaped<T>(pub T);

impl<T: fmt::Display> fmt::Display for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string();
        let escaped = escape(&text);
        // Padding and alignment (`{:<20}`) apply to the escaped text.
        f.pad(&escaped)
    }
}

/// Compact JSON of `value` in which every dangerous character inside a string is a
/// `\uXXXX` escape (serde_json already escapes C0 controls; this adds DEL, C1, the
/// bidirectional and zero-width characters).
///
/// # Errors
/// As [`serde_json::to_string`] (a map with non-string keys).
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::new();
    write_json(&mut out, value)?;
    // serde_json writes only UTF-8; the escapes added here are ASCII.
    String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

/// Writes the JSON of [`to_json`] into `writer` (a zeroizing buffer when the value holds
/// a secret).
///
/// # Errors
/// As [`serde_json::to_writer`].
pub fn write_json<W: std::io::Write, T: Serialize + ?Sized>(
    writer: W,
    value: &T,
) -> serde_json::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(writer, TerminalSafe);
    value.serialize(&mut serializer)
}

/// serde_json's compact formatter, with dangerous characters escaped inside strings.
struct TerminalSafe;

impl serde_json::ser::Formatter for TerminalSafe {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (at, c) in fragment.char_indices() {
            if is_dangerous(c) {
                writer.write_all(&fragment.as_bytes()[start..at])?;
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
                start = at + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn terminal_sequences_become_visible() {
        assert_eq!(escape("plain text"), Cow::Borrowed("plain text"));
        assert_eq!(escape("a\u{1b}[2Kb"), "a\\u{1b}[2Kb");
        assert_eq!(escape("x\u{9b}31m"), "x\\u{9b}31m");
        assert_eq!(escape("line\nIntact"), "line\\u{a}Intact");
        assert_eq!(escape("\u{202e}gnp.exe"), "\\u{202e}gnp.exe");
        assert_eq!(escape("back\\slash"), "back\\\\slash");
        assert_eq!(
            escape("zero\u{200b}width\u{feff}"),
            "zero\\u{200b}width\\u{feff}"
        );
        assert_eq!(escape("müller ✓"), "müller ✓");
        assert_eq!(format!("[{:<6}]", Escaped("\u{7}")), "[\\u{7} ]");
    }

    #[test]
    fn json_keeps_the_value_and_is_inert() {
        let value = serde_json::json!({"time": "\u{1b}[1A\u{9b}2K\u{202e}x\ny"});
        let text = to_json(&value).unwrap();
        assert!(text.is_ascii(), "{text}");
        assert!(!text.contains('\u{1b}'));
        assert_eq!(text, r#"{"time":"\u001b[1A\u009b2K\u202ex\ny"}"#);
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    proptest! {
        #[test]
        fn escaped_text_has_no_dangerous_character(text in any::<String>()) {
            prop_assert!(!escape(&text).chars().any(is_dangerous));
            let json = to_json(&text).unwrap();
            prop_assert!(!json.chars().any(is_dangerous));
            prop_assert_eq!(serde_json::from_str::<String>(&json).unwrap(), text);
        }
    }
}
