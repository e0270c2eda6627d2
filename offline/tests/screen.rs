//! What the operator sees: a binary run in a pseudo-terminal of a given size, its output
//! interpreted as a terminal would (vt100), and QR codes read back from the screen.
//!
//! portable-pty opens the pty at the stated size and makes the child its session leader,
//! so `/dev/tty`, echo and the terminal size behave as at a console; vt100 wraps and
//! scrolls exactly as the terminal would, so a code that does not fit is garbled here too.
//! Shared with the online crate's tests (`#[path]`).

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// How long a prompt may take to appear before the test gives up (a hung binary).
const PROMPT_WAIT: Duration = Duration::from_secs(120);

/// A finished run: its exit code, everything written to the terminal, and the final screen.
pub struct Run {
    /// Exit code of the binary.
    pub code: u32,
    /// The raw bytes written to the terminal.
    pub raw: Vec<u8>,
    /// The final screen, one string per row (trailing blanks removed).
    pub screen: Vec<String>,
    /// Columns of the terminal.
    pub cols: u16,
    /// Rows of the terminal.
    pub rows: u16,
}

impl Run {
    /// The final screen as text.
    pub fn screen_text(&self) -> String {
        self.screen.join("\n")
    }

    /// Everything written, as text (for failure messages).
    pub fn raw_text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
}

/// A step of a scripted session: once `wait_for` has appeared (after the previous step's
/// text), type `send`.
pub struct Step<'a> {
    /// Text to wait for.
    pub wait_for: &'a str,
    /// What to type (include `\n` for Enter).
    pub send: &'a str,
}

/// Runs `program args` in a `cols`x`rows` pseudo-terminal with `env`, in `cwd`, typing
/// `steps`, until it exits.
pub fn run(
    program: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    cwd: &Path,
    size: (u16, u16),
    steps: &[Step<'_>],
) -> Run {
    run_with(program, args, env, cwd, size, steps, |_| {})
}

/// As [`run`], calling `before_typing(i)` once step `i`'s text has appeared and before its
/// keys are typed (to change the world while the binary waits at a prompt).
pub fn run_with(
    program: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    cwd: &Path,
    (cols, rows): (u16, u16),
    steps: &[Step<'_>],
    mut before_typing: impl FnMut(usize),
) -> Run {
    let pair = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("open a pty");
    let mut command = CommandBuilder::new(program);
    command.args(args);
    command.cwd(cwd);
    command.env("TERM", "xterm");
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = pair.slave.spawn_command(command).expect("spawn in the pty");
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().expect("pty reader");
    let mut writer = pair.master.take_writer().expect("pty writer");
    let output = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&output);
    let pump = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        // Ends at EOF or EIO, once the child and every copy of the slave side are gone.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .expect("output lock")
                .extend_from_slice(&buf[..n]);
        }
    });
    let mut seen = 0;
    for (i, step) in steps.iter().enumerate() {
        let started = Instant::now();
        loop {
            let text = String::from_utf8_lossy(&output.lock().expect("output lock")).into_owned();
            if let Some(at) = text.get(seen..).and_then(|rest| rest.find(step.wait_for)) {
                seen += at + step.wait_for.len();
                break;
            }
            assert!(
                started.elapsed() < PROMPT_WAIT,
                "`{}` never appeared; the terminal shows:\n{text}",
                step.wait_for
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        before_typing(i);
        writer.write_all(step.send.as_bytes()).expect("type");
        writer.flush().expect("type");
    }
    let status = child.wait().expect("wait for the binary");
    drop(writer);
    drop(pair.master);
    pump.join().expect("pty reader thread");
    let raw = output.lock().expect("output lock").clone();
    let mut parser = parser(cols, rows);
    parser.process(&raw);
    let screen = parser
        .screen()
        .rows(0, cols)
        .map(|row| row.trim_end().to_owned())
        .collect();
    Run {
        code: status.exit_code(),
        raw,
        screen,
        cols,
        rows,
    }
}

/// A terminal of `cols`x`rows` that interprets what a program writes.
pub fn parser(cols: u16, rows: u16) -> vt100::Parser {
    let size = |n| std::num::NonZeroU16::new(n).expect("a terminal has a size");
    vt100::Parser::new(size(rows), size(cols), 0)
}

/// The screens shown just before each "clear screen" and at the end: what a camera saw of
/// each frame of a playback.
pub fn frames_shown(run: &Run) -> Vec<vt100::Screen> {
    const CLEAR: &[u8] = b"\x1b[2J";
    let mut shown = Vec::new();
    let mut parser = parser(run.cols, run.rows);
    let mut rest = run.raw.as_slice();
    let mut drawn = false;
    while let Some(at) = rest.windows(CLEAR.len()).position(|w| w == CLEAR) {
        parser.process(&rest[..at]);
        if drawn {
            shown.push(parser.screen().clone());
        }
        drawn = true;
        parser.process(CLEAR);
        rest = &rest[at + CLEAR.len()..];
    }
    parser.process(rest);
    if drawn {
        shown.push(parser.screen().clone());
    }
    shown
}

/// Reads the QR codes drawn with half blocks on a screen: each cell is one module wide and
/// two high; a block is a light module, anything else (blank, text) dark, as on a dark
/// terminal. Returns the texts of the codes found.
pub fn decode_screen(screen: &vt100::Screen) -> Vec<String> {
    const PX: usize = 4;
    let (rows, cols) = screen.size();
    let (rows, cols) = (usize::from(rows.get()), usize::from(cols.get()));
    let (width, height) = (cols * PX, rows * 2 * PX);
    let mut light = vec![false; (cols) * (rows * 2)];
    for row in 0..rows {
        for col in 0..cols {
            let text = screen
                .cell(row as u16, col as u16)
                .map(|c| c.contents().to_string())
                .unwrap_or_default();
            let (top, bottom) = match text.as_str() {
                "█" => (true, true),
                "▀" => (true, false),
                "▄" => (false, true),
                _ => (false, false),
            };
            light[(2 * row) * cols + col] = top;
            light[(2 * row + 1) * cols + col] = bottom;
        }
    }
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        if light[(y / PX) * cols + x / PX] {
            255
        } else {
            0
        }
    });
    image
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .collect()
}

/// The lines the binary wrote (between line breaks and cursor moves, escape sequences
/// removed) that are wider than `cols`: each would wrap on a terminal of that width.
pub fn lines_wider_than(raw: &[u8], cols: u16) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let mut lines = Vec::new();
    let mut shown = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\r' => lines.push(std::mem::take(&mut shown)),
            // CSI: ESC [ parameters final-byte; a cursor move or a clear starts a new line.
            '\x1b' => {
                if chars.next() == Some('[') {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            if matches!(c, 'H' | 'J') {
                                lines.push(std::mem::take(&mut shown));
                            }
                            break;
                        }
                    }
                }
            }
            c => shown.push(c),
        }
    }
    lines.push(shown);
    lines
        .into_iter()
        .filter(|l| l.chars().count() > usize::from(cols))
        .collect()
}
