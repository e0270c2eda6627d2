//! Progress of a batch on standard error: a bar redrawn in place on a terminal, one line
//! per key otherwise (logs, CI), both with the estimated time left.
//!
//! The estimate is the mean time per key so far times the keys left, floored by what the
//! pacing alone imposes; it is shown once a key has been done.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

/// Width of the bar, in characters.
const BAR_WIDTH: usize = 30;

/// Progress over a known number of keys.
#[derive(Debug)]
pub struct Progress {
    terminal: bool,
    start: Instant,
    total: usize,
    done: usize,
    exported: usize,
    problems: usize,
}

impl Progress {
    /// Starts counting `total` keys.
    pub fn new(total: usize) -> Progress {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            start: Instant::now(),
            total,
            done: 0,
            exported: 0,
            problems: 0,
        }
    }

    /// One key finished: `line` describes it; `exported` / `problem` update the counts.
    pub fn key_done(&mut self, line: &str, exported: bool, problem: bool, pacing_left: Duration) {
        self.done += 1;
        self.exported += usize::from(exported);
        self.problems += usize::from(problem);
        let eta = self.eta(pacing_left);
        if self.terminal {
            // Only what needs attention scrolls up; the bar stays on the last line.
            if problem {
                eprintln!("\r{line:<100}");
            }
            eprint!(
                "\r[{}] {}/{}  exported {}  problems {}  ETA {}   ",
                bar(self.done, self.total),
                self.done,
                self.total,
                self.exported,
                self.problems,
                format_duration(eta)
            );
            if self.done == self.total {
                eprintln!();
            }
        } else {
            eprintln!(
                "[{}/{}] {line}  (ETA {})",
                self.done,
                self.total,
                format_duration(eta)
            );
        }
    }

    fn eta(&self, pacing_left: Duration) -> Duration {
        let left = self.total.saturating_sub(self.done);
        let per_key = match u32::try_from(self.done) {
            Ok(done) if done > 0 => self.start.elapsed() / done,
            _ => Duration::ZERO,
        };
        per_key
            .saturating_mul(u32::try_from(left).unwrap_or(u32::MAX))
            .max(pacing_left)
    }
}

fn bar(done: usize, total: usize) -> String {
    let filled = (done * BAR_WIDTH).checked_div(total).unwrap_or(BAR_WIDTH);
    format!("{}{}", "#".repeat(filled), ".".repeat(BAR_WIDTH - filled))
}

/// `1h02m`, `4m05s`, `12s`.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_and_durations() {
        assert_eq!(bar(0, 10), ".".repeat(30));
        assert_eq!(bar(5, 10), format!("{}{}", "#".repeat(15), ".".repeat(15)));
        assert_eq!(bar(0, 0), "#".repeat(30));
        assert_eq!(format_duration(Duration::from_secs(12)), "12s");
        assert_eq!(format_duration(Duration::from_secs(245)), "4m05s");
        assert_eq!(format_duration(Duration::from_secs(3720)), "1h02m");
    }
}
