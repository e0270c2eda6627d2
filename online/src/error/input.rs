//! The request or another input that cannot be used, and what `show` cannot play.

use std::path::PathBuf;

use keyexport_shared::ErrorKind;
use keyexport_shared::transport::TransportError;

/// What to give instead of a request that cannot be used.
const REQUEST_ADVICE: &str = "Give the request file written by `keyexport-offline init`, photos \
                              or screenshots of all its QR codes, or its .ur.txt file.";

/// Why an input cannot be used (the request, a canary receipt, a response to show, the
/// batch journal): the facts, the message and the advice. All are of kind `input`.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// No input path was given.
    #[error("no input given")]
    Missing,
    /// An input file cannot be read, or is too large.
    #[error("cannot read {}: {error}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// Several inputs, none of them QR images or UR text.
    #[error("several inputs were given but they are not QR images or UR text: give one file")]
    SeveralFiles,
    /// A plain file given together with QR images or UR text.
    #[error("mix of a plain file and QR images/UR text: give either the file or its frames")]
    MixedCarriers,
    /// A QR image or UR text whose frames cannot be read or belong to another payload.
    #[error("{}: {error}", path.display())]
    BadFrame {
        /// The image or UR text file.
        path: PathBuf,
        /// Why.
        error: TransportError,
    },
    /// The frames given do not make a whole file.
    #[error("the frames given do not make a complete file: {error}; scan the missing QR codes")]
    IncompleteFrames {
        /// What is missing.
        error: TransportError,
    },
    /// The bytes received are not a file of this tool, or a malformed one.
    #[error("{} ({carrier}): {error}", path.display())]
    Unparsable {
        /// The (first) input.
        path: PathBuf,
        /// How the bytes arrived: "file", "QR images", "UR text".
        carrier: &'static str,
        /// Why.
        error: keyexport_shared::Error,
    },
    /// A file of this tool, but not a request.
    #[error("{} is {found}, not a request file from `keyexport-offline init`", path.display())]
    NotARequest {
        /// The (first) input.
        path: PathBuf,
        /// What it is.
        found: &'static str,
    },
    /// A batch request that names no key.
    #[error("the batch request names no key")]
    EmptyBatch,
    /// The batch's journal exists but cannot be read.
    #[error("cannot read {}: {error}", path.display())]
    JournalUnreadable {
        /// The journal.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A line of the batch's journal, other than an unfinished last one, is damaged.
    #[error("{}: line {line} is damaged ({error})", path.display())]
    JournalDamaged {
        /// The journal.
        path: PathBuf,
        /// The line's number, from 1.
        line: usize,
        /// Why it does not parse.
        error: serde_json::Error,
    },
    /// A journal or transcript line cannot be written as JSON (a bug).
    #[error("{what}: {error}")]
    Encode {
        /// "journal entry" or "transcript entry".
        what: &'static str,
        /// Why.
        error: serde_json::Error,
    },
    /// The typed confirmation cannot be read from the terminal.
    #[error("cannot read the confirmation: {0}")]
    Confirmation(std::io::Error),
}

impl InputError {
    /// What to do.
    pub fn advice(&self) -> String {
        match self {
            InputError::Missing
            | InputError::Unreadable { .. }
            | InputError::SeveralFiles
            | InputError::MixedCarriers
            | InputError::BadFrame { .. }
            | InputError::IncompleteFrames { .. }
            | InputError::Unparsable { .. }
            | InputError::NotARequest { .. }
            | InputError::EmptyBatch => REQUEST_ADVICE.into(),
            InputError::JournalUnreadable { path, .. } => format!(
                "Make {} readable and run the same command again: it records which keys \
                 earlier runs sent, so keep it. Nothing was sent.",
                path.display()
            ),
            InputError::JournalDamaged { path, .. } => format!(
                "{} records which keys earlier runs sent and is only ever appended to: a \
                 damaged line other than the last means it was edited or the disk failed. \
                 Restore it from a copy, or check each key of the request at Dfns before \
                 going on. Nothing was sent.",
                path.display()
            ),
            InputError::Encode { .. } => "This is a bug: keep the message and report it.".into(),
            InputError::Confirmation(_) => {
                "Run submit again in a terminal and type what it asks, or pass --yes in a \
                 script that has checked the request itself. Nothing was exported."
                    .into()
            }
        }
    }
}

/// Why `show` cannot play a file.
#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    /// The file cannot be read or is not a file of this tool.
    #[error(transparent)]
    Input(InputError),
    /// The file is a request, which the offline machine shows.
    #[error("{} is a request file, not a response", path.display())]
    Request {
        /// The file.
        path: PathBuf,
    },
    /// The terminal is too small for a QR code that scans.
    #[error("{error}")]
    TerminalTooSmall {
        /// The transport's account of the sizes.
        error: TransportError,
        /// Columns needed.
        needed_cols: usize,
        /// Rows needed.
        needed_rows: usize,
    },
    /// The file cannot be cut into QR frames.
    #[error("cannot encode {} as QR frames: {error}", path.display())]
    Encode {
        /// The file.
        path: PathBuf,
        /// Why.
        error: TransportError,
    },
}

impl ShowError {
    /// `usage` for the terminal (like a bad argument), `input` for the file.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ShowError::TerminalTooSmall { .. } => ErrorKind::Usage,
            _ => ErrorKind::Input,
        }
    }

    /// What to do.
    pub fn advice(&self) -> String {
        match self {
            ShowError::Input(_) => "Give the response.json written by `keyexport-online \
                                    submit`, or its response.ur.txt."
                .into(),
            ShowError::Request { .. } => "`keyexport-online show` plays the response written \
                                          by `submit` (response.json or response.ur.txt); the \
                                          offline machine shows the request with \
                                          `keyexport-offline show`."
                .into(),
            ShowError::TerminalTooSmall {
                needed_cols,
                needed_rows,
                ..
            } => format!(
                "Make the terminal at least {needed_cols}x{needed_rows} (a smaller font, a \
                 larger window), or carry the PNG files written by `submit` \
                 (response-qr-NN.png, response-qr.gif) instead."
            ),
            ShowError::Encode { .. } => "Carry the response file itself on removable media.".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{OnlineError, UnprovenError};

    /// Every way an input fails is of kind `input` (exit 3) with its own advice; `show`'s
    /// terminal too small is `usage`; an unreadable canary receipt leaves it unproven. (Over
    /// 80 lines because it spells out every variant once, on purpose.)
    #[test]
    fn input_errors_keep_the_input_code_and_carry_advice() {
        let io = || std::io::Error::from(std::io::ErrorKind::NotFound);
        let json = || serde_json::from_str::<u8>("x").unwrap_err();
        let transport = || TransportError::TerminalTooSmall {
            needed_cols: 90,
            needed_rows: 40,
            cols: 80,
            rows: 24,
        };
        let path = PathBuf::from("in.json");
        let inputs = vec![
            InputError::Missing,
            InputError::Unreadable {
                path: path.clone(),
                error: io(),
            },
            InputError::SeveralFiles,
            InputError::MixedCarriers,
            InputError::BadFrame {
                path: path.clone(),
                error: transport(),
            },
            InputError::IncompleteFrames { error: transport() },
            InputError::Unparsable {
                path: path.clone(),
                carrier: "file",
                error: keyexport_shared::files::Artifact::parse(b"{}").unwrap_err(),
            },
            InputError::NotARequest {
                path: path.clone(),
                found: "a response file",
            },
            InputError::EmptyBatch,
            InputError::JournalUnreadable {
                path: path.clone(),
                error: io(),
            },
            InputError::JournalDamaged {
                path: path.clone(),
                line: 2,
                error: json(),
            },
            InputError::Encode {
                what: "journal entry",
                error: json(),
            },
            InputError::Confirmation(io()),
        ];
        let mut advice = std::collections::HashSet::new();
        for input in inputs {
            let text = input.to_string();
            let e = OnlineError::from(input);
            assert_eq!((e.kind(), e.exit_code()), (ErrorKind::Input, 3), "{text}");
            assert!(!text.is_empty());
            advice.insert(e.advice().unwrap());
        }
        // The request's advice, the journal's two, the bug's, the confirmation's.
        assert_eq!(advice.len(), 5, "{advice:?}");
        let receipt = OnlineError::from(UnprovenError::ReceiptUnreadable(InputError::SeveralFiles));
        assert_eq!(receipt.exit_code(), 15);
        assert!(
            receipt
                .to_string()
                .starts_with("cannot read the canary receipt: ")
        );
        let small = OnlineError::from(ShowError::TerminalTooSmall {
            error: transport(),
            needed_cols: 90,
            needed_rows: 40,
        });
        assert_eq!(small.exit_code(), 2);
        assert!(small.advice().unwrap().contains("at least 90x40"));
        for show in [
            ShowError::Input(InputError::SeveralFiles),
            ShowError::Request { path: path.clone() },
            ShowError::Encode {
                path: path.clone(),
                error: transport(),
            },
        ] {
            assert_eq!(OnlineError::from(show).exit_code(), 3);
        }
    }
}
