//! `keyexport-online show FILE`: plays a response's QR frames in the terminal, one after
//! the other, for the offline machine's camera to read.
//!
//! FILE is the `response.json` written by `submit` or its `.ur.txt`; either way the
//! exact file bytes are recovered and encoded with the same frame options `submit`
//! uses, so the frames carry the same payload as the PNG files.

use std::io::Write as _;
use std::time::Duration;

use keyexport_shared::files::Artifact;
use keyexport_shared::transport::{FrameOptions, encode_frames, payload_digest, render_terminal};

use crate::cli::ShowArgs;
use crate::error::OnlineError;
use crate::input;

/// Runs `show`.
pub fn run(args: &ShowArgs) -> Result<(), OnlineError> {
    let received = input::receive(std::slice::from_ref(&args.file))?;
    let artifact = input::parse(&received)?;
    if matches!(artifact, Artifact::Request(_)) {
        return Err(OnlineError::Input(format!(
            "{} is a request file; `show` plays responses (the offline machine shows requests)",
            args.file.display()
        )));
    }
    let options = FrameOptions {
        fps: args.fps,
        ..FrameOptions::default()
    };
    let frames = encode_frames(&received.bytes, &options)
        .map_err(|e| OnlineError::Input(format!("cannot encode {}: {e}", args.file.display())))?;
    let rendered = frames
        .iter()
        .map(|f| render_terminal(f, options.ec_level))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| OnlineError::Input(format!("cannot render the frames: {e}")))?;
    let digest = payload_digest(&received.bytes);
    let pause = Duration::from_millis(1000 / u64::from(options.fps.max(1)));
    let mut stdout = std::io::stdout().lock();
    let mut round = 0;
    while args.loops == 0 || round < args.loops {
        for (index, qr) in rendered.iter().enumerate() {
            // Clear the screen and home the cursor, so each frame replaces the last.
            let shown = write!(
                stdout,
                "\x1b[2J\x1b[H{qr}\nframe {} of {} · {} · SHA-256 {digest}\n",
                index + 1,
                rendered.len(),
                args.file.display()
            )
            .and_then(|()| stdout.flush());
            if shown.is_err() {
                // The terminal went away (pipe closed): nothing left to show to.
                return Ok(());
            }
            std::thread::sleep(pause);
        }
        round += 1;
    }
    Ok(())
}
