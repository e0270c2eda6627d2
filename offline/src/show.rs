//! `keyexport-offline show FILE`: plays the request's (or a canary receipt's) QR frames in
//! the terminal for the online machine's camera, sized to the terminal; or the answer
//! `sign --ur-out` wrote for a wallet (`crypto-psbt.txt`, `eth-signature.txt`), for the
//! wallet's camera.
//!
//! `init` draws no code in the terminal (five codes of 97 columns wrap on an 80-column
//! console and scroll the values the witness must compare off the screen); `request.png`
//! is what gets carried. This is the alternative when a camera reads the screen: frames
//! are cut small enough that each code fits the terminal whole, and a terminal too small
//! for any code that scans is refused with the size needed.

use std::io::Write as _;
use std::time::Duration;

use keyexport_shared::canary::CanaryReceipt;
use keyexport_shared::files::Artifact;
use keyexport_shared::transport::{
    CAPTION_ROWS, Content, FrameCollector, FrameOptions, TerminalSize, TransportError, UrType,
    fit_terminal, fit_terminal_ur, payload_digest, sniff, ur_lines,
};

use crate::cli::ShowArgs;
use crate::error::{CliError, CliResult, InputProblem};
use crate::inputs::read_input;

/// The size assumed when standard output is not a terminal: the smallest console.
const DEFAULT_SIZE: TerminalSize = TerminalSize { cols: 80, rows: 24 };

/// Runs `show`.
pub fn run(args: &ShowArgs) -> CliResult<()> {
    let path = args.file.display().to_string();
    let bytes = read_input(&path, &args.file, keyexport_shared::input::DOCUMENT)?;
    let is_request = matches!(
        Artifact::parse(&bytes),
        Ok(Artifact::Request(_) | Artifact::BatchRequest(_))
    );
    let is_receipt = CanaryReceipt::is_receipt(&bytes) && CanaryReceipt::parse(&bytes).is_ok();
    // Otherwise the answer `sign --ur-out` wrote for a wallet: its frames, replayed at
    // the terminal's size.
    let answer = if is_request || is_receipt {
        None
    } else {
        Some(wallet_answer(&path, &bytes)?)
    };
    let advice = if is_receipt {
        "Make the terminal at least that size (a smaller font, a larger window), or carry canary-receipt.png or canary-receipt.json instead."
    } else if answer.is_some() {
        "Make the terminal at least that size (a smaller font, a larger window), or show the wallet the TYPE-NN.png files `sign --ur-out` wrote beside it."
    } else {
        "Make the terminal at least that size (a smaller font, a larger window), or carry request.png or request.json instead."
    };
    let stdout = std::io::stdout();
    let size = current_size(&stdout);
    let options = FrameOptions {
        fps: args.fps,
        ..FrameOptions::default()
    };
    let fitted = match &answer {
        None => fit_terminal(&bytes, size, CAPTION_ROWS, &options),
        Some((ur_type, cbor)) => fit_terminal_ur(*ur_type, cbor, size, CAPTION_ROWS, &options),
    };
    let fit = fitted.map_err(|e| match e {
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
    let digest = match &answer {
        None => payload_digest(&bytes),
        Some((_, cbor)) => payload_digest(cbor),
    };
    let screens = fit.screens(&name, &digest, size.cols);
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

/// The UR type and message of a frames file `sign --ur-out` wrote (`crypto-psbt.txt`,
/// `eth-signature.txt`).
fn wallet_answer(path: &str, bytes: &[u8]) -> CliResult<(UrType, Vec<u8>)> {
    let not_showable = || CliError::Input {
        path: path.to_owned(),
        problem: InputProblem::NotShowable,
    };
    if sniff(bytes) != Some(Content::UrText) {
        return Err(not_showable());
    }
    let mut collector =
        FrameCollector::accepting(&[UrType::CryptoPsbt, UrType::Psbt, UrType::EthSignature]);
    let text = String::from_utf8_lossy(bytes);
    for (number, line) in ur_lines(&text) {
        collector.push(line).map_err(|source| CliError::Transport {
            input: format!("{path}, line {number}"),
            source,
        })?;
    }
    collector
        .finish_message()
        .map_err(|source| CliError::Transport {
            input: path.to_owned(),
            source,
        })
}

/// The size of the terminal on `stream`, or 80x24 when it is not a terminal.
pub fn current_size(stream: impl std::os::fd::AsFd) -> TerminalSize {
    terminal_size::terminal_size_of(stream).map_or(DEFAULT_SIZE, |(w, h)| TerminalSize {
        cols: w.0,
        rows: h.0,
    })
}
