//! `keyexport-online show FILE`: plays a response's QR frames in the terminal, one after
//! the other, for the offline machine's camera to read.
//!
//! FILE is the `response.json` written by `submit` or its `.ur.txt`; either way the
//! exact file bytes are recovered and cut into frames sized to the terminal: a code that
//! wraps or scrolls cannot be scanned, so on a small terminal the frames carry smaller
//! fragments (more of them), and a terminal too small for any code that scans is refused
//! with the size needed. With standard output not a terminal the frames are sized for
//! 80x24.

use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use keyexport_shared::files::Artifact;
use keyexport_shared::transport::{
    CAPTION_ROWS, FrameOptions, TerminalSize, TransportError, fit_terminal, payload_digest,
};

use crate::cli::ShowArgs;
use crate::error::{OnlineError, ShowError};
use crate::input;

/// The size assumed when standard output is not a terminal.
const DEFAULT_SIZE: TerminalSize = TerminalSize { cols: 80, rows: 24 };

/// Runs `show`.
pub fn run(args: &ShowArgs) -> Result<(), OnlineError> {
    let received = input::receive(std::slice::from_ref(&args.file)).map_err(show_input)?;
    let artifact = input::parse(&received).map_err(show_input)?;
    if matches!(artifact, Artifact::Request(_) | Artifact::BatchRequest(_)) {
        return Err(ShowError::Request {
            path: args.file.clone(),
        }
        .into());
    }
    let stdout = std::io::stdout();
    let size = if stdout.is_terminal() {
        terminal_size::terminal_size_of(&stdout).map_or(DEFAULT_SIZE, |(w, h)| TerminalSize {
            cols: w.0,
            rows: h.0,
        })
    } else {
        DEFAULT_SIZE
    };
    let options = FrameOptions {
        fps: args.fps,
        ..FrameOptions::default()
    };
    let fit =
        fit_terminal(&received.bytes, size, CAPTION_ROWS, &options).map_err(
            |error| match error {
                TransportError::TerminalTooSmall {
                    needed_cols,
                    needed_rows,
                    ..
                } => ShowError::TerminalTooSmall {
                    error,
                    needed_cols,
                    needed_rows,
                },
                error => ShowError::Encode {
                    path: args.file.clone(),
                    error,
                },
            },
        )?;
    let name = args.file.file_name().map_or_else(
        || args.file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let screens = fit.screens(&name, &payload_digest(&received.bytes), size.cols);
    let pause = Duration::from_millis(1000 / u64::from(options.fps));
    let mut stdout = stdout.lock();
    let mut round = 0;
    while args.loops == 0 || round < args.loops {
        for screen in &screens {
            if write!(stdout, "{screen}")
                .and_then(|()| stdout.flush())
                .is_err()
            {
                // The terminal went away (pipe closed): nothing left to show to.
                return Ok(());
            }
            std::thread::sleep(pause);
        }
        round += 1;
    }
    // Leave the prompt below the last caption.
    let _ = writeln!(stdout);
    Ok(())
}

/// An unreadable FILE, with advice about `show`'s input (not `submit`'s).
fn show_input(error: OnlineError) -> OnlineError {
    match error {
        OnlineError::Input(error) => ShowError::Input(error).into(),
        other => other,
    }
}
