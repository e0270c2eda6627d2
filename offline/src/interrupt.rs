//! Ctrl-C (or SIGTERM): the terminal is put back as it was (echo on: the passphrase prompts
//! keep it off), the operator is told what the interruption means, and the run ends with
//! code 130 (128 + SIGINT, the shells' convention).
//!
//! A thread waits for the signal (signal-hook's iterator: the handler only writes to a
//! pipe), so nothing unusual runs inside a signal handler. Every file this tool writes is
//! written atomically, so ending at any point leaves each file either whole or absent.

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::exit::EXIT_INTERRUPTED;
use crate::passphrase;

/// Starts watching for Ctrl-C for the rest of the run. If the handler cannot be installed
/// (it can on Linux), Ctrl-C keeps its default effect.
pub fn install() {
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let at_prompt = passphrase::prompting();
            passphrase::restore_terminal();
            if at_prompt {
                eprintln!("\ninterrupted at a passphrase prompt: nothing was written.");
            } else {
                eprintln!(
                    "\ninterrupted: the run stopped before its end. A file it names as written is whole; nothing else was written. Run it again."
                );
            }
            std::process::exit(i32::from(EXIT_INTERRUPTED.code));
        }
    });
}
