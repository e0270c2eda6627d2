//! `keyexport-offline show FILE`: plays the request's (or a canary receipt's) QR frames in
//! the terminal for the online machine's camera, sized to the terminal.
//!
//! `init` draws no code in the terminal (five codes of 97 columns wrap on an 80-column
//! console and scroll the values the witness must compare off the screen); `request.png`
//! is what gets carried. This is the alternative when a camera reads the screen: frames
//! are cut small enough that each code fits the terminal whole, and a terminal too small
//! for any code that scans is refused with the size needed.

use std::io::Write as _;
use std::time::Duration;

use keyexport_shared::batch::BatchRequestFile;
use keyexport_shared::canary::CanaryReceipt;
use keyexport_shared::files::{Artifact, RequestFile};
use keyexport_shared::transport::{
    CAPTION_ROWS, FrameOptions, TerminalSize, TransportError, fit_terminal, payload_digest,
};

use crate::cli::ShowArgs;
use crate::error::{CliError, CliResult};

/// The size assumed when standard output is not a terminal: the smallest console.
const DEFAULT_SIZE: TerminalSize = TerminalSize { cols: 80, rows: 24 };

/// Runs `show`.
pub fn run(args: &ShowArgs) -> CliResult<()> {
    let path = args.file.display().to_string();
    let bytes = std::fs::read(&args.file).map_err(|source| CliError::ReadInput {
        path: path.clone(),
        source,
    })?;
    let is_request = matches!(
        Artifact::parse(&bytes),
        Ok(Artifact::Request(RequestFile { .. }))
    ) || BatchRequestFile::parse(&bytes).is_ok();
    let is_receipt = CanaryReceipt::is_receipt(&bytes) && CanaryReceipt::parse(&bytes).is_ok();
    if !is_request && !is_receipt {
        return Err(CliError::Input {
            path,
            problem: "not a request file: `show` plays the request.json written by `init` (or the canary-receipt.json written by `reconstruct`)".into(),
        });
    }
    let advice = if is_receipt {
        "Make the terminal at least that size (a smaller font, a larger window), or carry canary-receipt.png or canary-receipt.json instead."
    } else {
        "Make the terminal at least that size (a smaller font, a larger window), or carry request.png or request.json instead."
    };
    let stdout = std::io::stdout();
    let size = current_size(&stdout);
    let options = FrameOptions {
        fps: args.fps,
        ..FrameOptions::default()
    };
    let fit = fit_terminal(&bytes, size, CAPTION_ROWS, &options).map_err(|e| match e {
        TransportError::TerminalTooSmall {
            needed_cols,
            needed_rows,
            cols,
            rows,
        } => CliError::TerminalTooSmall {
            needed_cols,
            needed_rows,
            cols,
            rows,
            advice,
        },
        source => CliError::Transport {
            input: path.clone(),
            source,
        },
    })?;
    let name = args
        .file
        .file_name()
        .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
    let screens = fit.screens(&name, &payload_digest(&bytes), size.cols);
    let pause = Duration::from_millis(1000 / u64::from(options.fps));
    let mut out = stdout.lock();
    let mut round = 0;
    while args.loops == 0 || round < args.loops {
        for screen in &screens {
            if write!(out, "{screen}").and_then(|()| out.flush()).is_err() {
                // The terminal went away (pipe closed): nothing left to show to.
                return Ok(());
            }
            std::thread::sleep(pause);
        }
        round += 1;
    }
    let _ = writeln!(out);
    Ok(())
}

/// The size of the terminal on `stream`, or 80x24 when it is not a terminal.
pub fn current_size(stream: impl std::os::fd::AsFd) -> TerminalSize {
    terminal_size::terminal_size_of(stream).map_or(DEFAULT_SIZE, |(w, h)| TerminalSize {
        cols: w.0,
        rows: h.0,
    })
}
