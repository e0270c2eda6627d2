//! Ctrl-C while exports are in flight. In a batch `submit`, the first one stops the batch
//! gracefully (no new key is started, the exports in flight finish and are saved, the
//! summary marks the rest "not attempted", exit code 130); in a single-key `submit` it
//! lets the export in flight finish and its answer be saved. A second Ctrl-C ends the
//! process at once with code 130.
//!
//! Ending at once is safe by construction: a response is saved (written, fsynced, renamed,
//! folder fsynced) before its key counts as done, and the batch journal's `sending` line
//! (the transcript's `export-sent` for one key) is durable before its export is sent, so
//! a rerun skips what is saved and lists as uncertain what was in flight. The handlers
//! only set a flag (`signal-hook`); the program looks at it between steps and while it
//! waits. Before they are installed (until the operator has confirmed the export),
//! Ctrl-C ends the program at once with 130, saying that nothing was exported
//! ([`BeforeExport`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::SIGINT;
use signal_hook::iterator::{Handle, Signals};

use crate::exit::EXIT_INTERRUPTED;

/// Until the export is sent, Ctrl-C ends the run at once, saying that nothing was
/// exported (a thread waits for the signal; nothing runs in the handler).
#[derive(Debug)]
pub struct BeforeExport {
    handle: Option<Handle>,
}

impl BeforeExport {
    /// Watches for Ctrl-C until [`BeforeExport::end`]. If the handler cannot be
    /// installed, Ctrl-C keeps its default effect (the run ends; nothing was sent).
    pub fn watch() -> BeforeExport {
        let Ok(mut signals) = Signals::new([SIGINT]) else {
            return BeforeExport { handle: None };
        };
        let handle = signals.handle();
        std::thread::spawn(move || {
            if signals.forever().next().is_some() {
                eprintln!("\ninterrupted before the export was sent: nothing was exported.");
                std::process::exit(i32::from(EXIT_INTERRUPTED.code));
            }
        });
        BeforeExport {
            handle: Some(handle),
        }
    }

    /// Stops watching: the export is about to be sent, [`Interrupt`] takes over.
    pub fn end(self) {
        if let Some(handle) = self.handle {
            handle.close();
        }
    }
}

/// Whether Ctrl-C was pressed since [`Interrupt::install`].
#[derive(Debug)]
pub struct Interrupt {
    pressed: Arc<AtomicBool>,
}

impl Interrupt {
    /// Installs the handlers for the rest of the process. If that fails (it does not on
    /// Linux), Ctrl-C keeps its default effect, ending the process at once, which is safe
    /// (see the module documentation); the operator is told.
    pub fn install() -> Interrupt {
        let pressed = Arc::new(AtomicBool::new(false));
        // The exiting handler runs first and exits only if the flag was already set: on
        // the second Ctrl-C.
        let installed = signal_hook::flag::register_conditional_shutdown(
            SIGINT,
            i32::from(EXIT_INTERRUPTED.code),
            Arc::clone(&pressed),
        )
        .and_then(|_| signal_hook::flag::register(SIGINT, Arc::clone(&pressed)));
        if let Err(e) = installed {
            eprintln!(
                "warning: Ctrl-C cannot be caught ({e}): it will end the program at once \
                 (saved responses are safe)"
            );
        }
        Interrupt { pressed }
    }

    /// Whether Ctrl-C was pressed.
    pub fn happened(&self) -> bool {
        self.pressed.load(Ordering::SeqCst)
    }
}
