//! Passphrases: read from a file or typed on the terminal, never echoed, never empty.
//!
//! A new passphrase (sealing at `init`, an Ethereum keystore) is typed twice and must match;
//! an existing one (unsealing) once. Without a file and without a terminal the command fails
//! at once instead of waiting for input that cannot come. The passphrase lives in
//! [`SecretString`] from the moment it is read.
//!
//! Typing ahead is safe: from the first prompt until the command ends ([`restore_terminal`])
//! the terminal's echo stays off, so keys typed while the tool works (unsealing takes a
//! second) never appear on screen, and whatever was typed ahead is discarded before each
//! prompt instead of becoming the start of the next passphrase.

use std::fs::File;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use age::secrecy::{ExposeSecret, SecretString};

use crate::error::{CliError, CliResult, PassphraseOrigin};

/// Which passphrase is asked for; names the prompt and the flag in messages.
#[derive(Debug, Clone, Copy)]
pub struct Purpose {
    /// e.g. "the passphrase of the sealed decryption key".
    pub what: &'static str,
    /// The flag that supplies it from a file, without the dashes.
    pub flag: &'static str,
}

/// The passphrase that seals the decryption key.
pub const SEALED_KEY: Purpose = Purpose {
    what: "the passphrase of the sealed decryption key",
    flag: "passphrase-file",
};

/// The passphrase of one custodian's part of a split decryption key.
pub const CUSTODY_PART: Purpose = Purpose {
    what: "the passphrase of a custody part",
    flag: "passphrase-file",
};

/// The passphrase of an Ethereum keystore output.
pub const KEYSTORE: Purpose = Purpose {
    what: "the passphrase of the Ethereum keystore",
    flag: "keystore-passphrase-file",
};

/// Smallest length, in characters, of a new passphrase (unless it has [`MIN_WORDS`] words).
pub const MIN_CHARS: usize = 20;
/// Smallest number of words (separated by spaces) of a new passphrase shorter than
/// [`MIN_CHARS`].
pub const MIN_WORDS: usize = 5;

/// Checks a new passphrase that will seal the decryption key against the floor: at least
/// [`MIN_CHARS`] characters or [`MIN_WORDS`] words. age's scrypt slows each guess but cannot
/// save a passphrase a dictionary holds: whoever copies the sealed key can guess offline,
/// for ever. `allow_short` (the rehearsal override) lets a shorter one through; the caller
/// warns loudly and records it.
pub fn check_floor(
    passphrase: &SecretString,
    origin: &PassphraseOrigin,
    allow_short: bool,
) -> CliResult<()> {
    let text = passphrase.expose_secret();
    let strong = text.chars().count() >= MIN_CHARS || text.split_whitespace().count() >= MIN_WORDS;
    if strong || allow_short {
        Ok(())
    } else {
        Err(CliError::WeakPassphrase {
            origin: origin.clone(),
        })
    }
}

/// Whether to ask twice (new passphrase) or once (existing passphrase).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// A new passphrase: typed twice.
    Twice,
    /// An existing passphrase: typed once.
    Once,
}

/// Reads a passphrase from `file`, or asks on the terminal.
pub fn obtain(file: Option<&Path>, purpose: Purpose, confirm: Confirm) -> CliResult<SecretString> {
    match file {
        Some(path) => from_file(path),
        None => from_terminal(purpose.what, purpose, confirm),
    }
}

/// The passphrase for `purpose`, asked on the terminal as `what` (e.g. naming a custodian).
pub fn ask(what: &str, purpose: Purpose, confirm: Confirm) -> CliResult<SecretString> {
    from_terminal(what, purpose, confirm)
}

/// Reads a passphrase file: UTF-8, one trailing line break removed, not empty.
pub fn from_file(path: &Path) -> CliResult<SecretString> {
    let origin = PassphraseOrigin::File(path.to_path_buf());
    let bytes =
        keyexport_shared::input::read_secret(path).map_err(|e| CliError::PassphraseFile {
            origin: origin.clone(),
            problem: e.to_string(),
        })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| CliError::PassphraseFile {
        origin: origin.clone(),
        problem: format!("not UTF-8 (byte {})", e.valid_up_to()),
    })?;
    let line = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    if line.is_empty() {
        return Err(CliError::EmptyPassphrase { origin });
    }
    Ok(SecretString::from(line.to_owned()))
}

/// Whether a prompt is waiting for the operator (for the Ctrl-C message).
static PROMPTING: AtomicBool = AtomicBool::new(false);

/// Whether a passphrase prompt is waiting for input right now.
pub fn prompting() -> bool {
    PROMPTING.load(Ordering::SeqCst)
}

/// Reads one line at a prompt, hidden, noting that a prompt is open meanwhile.
fn prompt(text: &str) -> std::io::Result<String> {
    PROMPTING.store(true, Ordering::SeqCst);
    let read = rpassword::prompt_password(text);
    if matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::Interrupted) {
        // Ctrl-C ends the read too: the interrupt thread is reporting it and ends the run
        // with 130 ("nothing was written"). Give it the time to, rather than racing it with
        // a passphrase error; an interruption of another cause is reported after that.
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
    PROMPTING.store(false, Ordering::SeqCst);
    read
}

/// The terminal settings found before echo was turned off, put back by
/// [`restore_terminal`].
static SAVED_TERMINAL: Mutex<Option<(File, rustix::termios::Termios)>> = Mutex::new(None);

/// Turns echo off on the terminal (once per run, remembering the settings found) and drops
/// anything typed ahead. Failing that, the prompt still works (rpassword hides what is
/// typed); only typed-ahead keys would show.
fn quiet_terminal() {
    let Ok(mut saved) = SAVED_TERMINAL.lock() else {
        return;
    };
    if saved.is_none() {
        let Ok(tty) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
        else {
            return;
        };
        let Ok(original) = rustix::termios::tcgetattr(&tty) else {
            return;
        };
        let mut quiet = original.clone();
        quiet.local_modes.remove(rustix::termios::LocalModes::ECHO);
        quiet
            .local_modes
            .insert(rustix::termios::LocalModes::ECHONL);
        if rustix::termios::tcsetattr(&tty, rustix::termios::OptionalActions::Now, &quiet).is_ok() {
            *saved = Some((tty, original));
        }
    }
    if let Some((tty, _)) = saved.as_ref() {
        let _ = rustix::termios::tcflush(tty, rustix::termios::QueueSelector::IFlush);
    }
}

/// Puts the terminal back as it was before the first prompt (echo on), discarding keys
/// typed meanwhile so they do not reach the shell. Called once the command has finished.
pub fn restore_terminal() {
    let Ok(mut saved) = SAVED_TERMINAL.lock() else {
        return;
    };
    if let Some((tty, original)) = saved.take() {
        let _ = rustix::termios::tcflush(&tty, rustix::termios::QueueSelector::IFlush);
        let _ = rustix::termios::tcsetattr(&tty, rustix::termios::OptionalActions::Now, &original);
    }
}

fn from_terminal(what: &str, purpose: Purpose, confirm: Confirm) -> CliResult<SecretString> {
    let has_terminal = File::open("/dev/tty").is_ok_and(|tty| tty.is_terminal());
    if !has_terminal {
        return Err(CliError::NoTerminal {
            what: purpose.what,
            flag: purpose.flag,
        });
    }
    quiet_terminal();
    let prompt_error = |e: std::io::Error| CliError::PassphraseFile {
        origin: PassphraseOrigin::Terminal,
        problem: e.to_string(),
    };
    let first = SecretString::from(prompt(&format!("Enter {what}: ")).map_err(prompt_error)?);
    if first.expose_secret().is_empty() {
        return Err(CliError::EmptyPassphrase {
            origin: PassphraseOrigin::Terminal,
        });
    }
    if confirm == Confirm::Twice {
        quiet_terminal();
        let second = SecretString::from(prompt(&format!("Repeat {what}: ")).map_err(prompt_error)?);
        if first.expose_secret() != second.expose_secret() {
            return Err(CliError::PassphraseMismatch);
        }
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(content: &[u8]) -> CliResult<String> {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("pass");
        std::fs::write(&path, content).unwrap();
        from_file(&path).map(|s| s.expose_secret().to_owned())
    }

    #[test]
    fn one_trailing_newline_is_dropped() {
        assert_eq!(read(b"correct horse\n").unwrap(), "correct horse");
        assert_eq!(read(b"correct horse\r\n").unwrap(), "correct horse");
        assert_eq!(read(b"two newlines\n\n").unwrap(), "two newlines\n");
        assert_eq!(read(b" spaces kept ").unwrap(), " spaces kept ");
    }

    #[test]
    fn the_floor_is_twenty_characters_or_five_words() {
        let origin = PassphraseOrigin::Terminal;
        let check = |p: &str, allow| check_floor(&SecretString::from(p.to_owned()), &origin, allow);
        assert!(check("correct horse battery staple", false).is_ok());
        assert!(check("a b c d e", false).is_ok());
        assert!(check("abcdefghijklmnopqrs", false).is_err());
        assert!(check("a b c d", false).is_err());
        assert!(check("a", false).is_err());
        assert!(check("a", true).is_ok());
        let message = check("Secr3t", false).unwrap_err().to_string();
        assert!(!message.contains("Secr3t"), "{message}");
    }

    #[test]
    fn empty_is_refused() {
        assert!(matches!(read(b""), Err(CliError::EmptyPassphrase { .. })));
        assert!(matches!(read(b"\n"), Err(CliError::EmptyPassphrase { .. })));
    }

    #[test]
    fn non_utf8_is_refused_without_echo() {
        let err = read(b"Secr\xffet").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("not UTF-8 (byte 4)"), "{message}");
        assert!(!message.contains("Secr"));
    }
}
