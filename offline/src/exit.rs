//! The exit codes of `keyexport-offline`: one named constant per code, with what it means
//! and what to do beside it, and the one table ([`EXIT_CODES`]) that `--help` prints and
//! tests compare with README.md and docs/runbook.md. An error's kind chooses its row
//! (`keyexport_shared::exit::exit_for`); this file holds the table only.

use keyexport_shared::ErrorKind;
use keyexport_shared::exit::Exit;

/// Exit code: success.
pub const EXIT_OK: Exit = Exit {
    code: 0,
    kinds: &[],
    meaning: "success",
    advice: "—",
};
/// Exit code: internal error.
pub const EXIT_INTERNAL: Exit = Exit {
    code: 1,
    kinds: &[ErrorKind::Internal],
    meaning: "internal error (a bug)",
    advice: "Stop, keep the message and the transcript, report it. Nothing secret is printed.",
};
/// Exit code: invalid command-line arguments (clap's own convention).
pub const EXIT_USAGE: Exit = Exit {
    code: 2,
    kinds: &[ErrorKind::Usage],
    meaning: "invalid arguments; `show`, `sign --qr`: the terminal is too small for a QR code that scans",
    advice: "Read `--help` and correct the command. For `show`: enlarge the window to the size named, or carry the PNG files.",
};
/// Exit code: unreadable, malformed, incomplete or foreign input.
pub const EXIT_INPUT: Exit = Exit {
    code: 3,
    kinds: &[ErrorKind::Input],
    meaning: "unreadable, malformed or foreign input: not a request/response, wrong ceremony or key id, incomplete QR frames, unreadable decryption key file; for `sign`, a message the scheme cannot sign (not 32 bytes, not a field element, not hex); a transcript that is not intact",
    advice: "Run `inspect` on the input. For a response of another ceremony: use the decryption key of *that* ceremony (its `init` folder). For missing frames: photograph more.",
};
/// Exit code: the shares did not yield a verified key.
pub const EXIT_RECONSTRUCTION: Exit = Exit {
    code: 4,
    kinds: &[
        ErrorKind::Threshold,
        ErrorKind::Decrypt,
        ErrorKind::PublicKey,
        ErrorKind::DuplicateIndex,
        ErrorKind::Version,
        ErrorKind::Curve,
        ErrorKind::Unsupported,
        ErrorKind::ShareFormat,
        ErrorKind::ChainCode,
        ErrorKind::Batch,
    ],
    meaning: "reconstruction failed: the shares did not give a verified key (with custody: too few good parts); `sign`: the key does not match the public key (`public-key`); a wallet of the key object does not derive from the key (`public-key`); a batch: at least one key failed, the count is in the message (`batch`)",
    advice: "See the table below. For `sign --key`: use the key file written for this export, or sign with `--decryption-key` and `--response`. Nothing was signed.",
};
/// Exit code: passphrase problems.
pub const EXIT_PASSPHRASE: Exit = Exit {
    code: 5,
    kinds: &[ErrorKind::Passphrase],
    meaning: "passphrase wrong, empty, unconfirmed, (a new one) shorter than 20 characters and 5 words, or no terminal to ask on",
    advice: "Try again with the passphrase of Step 1 (at `init`: choose five or more random words). Nothing was written.",
};
/// Exit code: an output could not be written or would overwrite something.
pub const EXIT_OUTPUT: Exit = Exit {
    code: 6,
    kinds: &[ErrorKind::Output],
    meaning: "output exists, `--out` folder not empty or missing, or cannot be written (checked before any passphrase is asked)",
    advice: "Choose a new path in an existing folder you can write to. Files are never overwritten.",
};
/// Exit code: the air-gap guard refused to run.
pub const EXIT_AIR_GAP: Exit = Exit {
    code: 7,
    kinds: &[ErrorKind::AirGap],
    meaning: "air-gap guard: a network interface other than `lo` is up",
    advice: "Disconnect (`nmcli networking off`, `rfkill block all`, unplug the cable) and check `ip -brief link`. Never use `--allow-online` in a real ceremony.",
};
/// Exit code: an offline secret was given where public input belongs.
pub const EXIT_OFFLINE_SECRET: Exit = Exit {
    code: 8,
    kinds: &[ErrorKind::OfflineSecret],
    meaning: "an offline secret (sealed decryption key, custody part, encrypted key) given where a request or response belongs",
    advice: "On the offline machine: give the right file. If that file is on the online machine or on a stick that went there: **stop**, wipe it there and on the stick, tell the witness and note it on the paper log.",
};
/// Exit code: interrupted by Ctrl-C (the shell's 128 + SIGINT).
pub const EXIT_INTERRUPTED: Exit = Exit {
    code: 130,
    kinds: &[],
    meaning: "interrupted (Ctrl-C)",
    advice: "At a passphrase prompt nothing was written. Later, a file the output names as written is whole (files are written atomically) and nothing else was: run the command again.",
};

/// The exit-code table, in order: the one source of `--help`'s list and of the tables in
/// README.md and docs/runbook.md.
pub const EXIT_CODES: [Exit; 10] = [
    EXIT_OK,
    EXIT_INTERNAL,
    EXIT_USAGE,
    EXIT_INPUT,
    EXIT_RECONSTRUCTION,
    EXIT_PASSPHRASE,
    EXIT_OUTPUT,
    EXIT_AIR_GAP,
    EXIT_OFFLINE_SECRET,
    EXIT_INTERRUPTED,
];

#[cfg(test)]
mod tests {
    use keyexport_shared::exit;

    use super::*;

    /// Distinct codes, one row per kind, a row for the internal error.
    #[test]
    fn the_table_is_well_formed() {
        exit::check_table(&EXIT_CODES).unwrap_or_else(|e| panic!("{e}"));
    }

    /// README.md and docs/runbook.md carry the table of [`EXIT_CODES`], verbatim.
    #[test]
    fn docs_hold_the_exit_code_table() {
        let readme = include_str!("../../README.md");
        let runbook = include_str!("../../docs/runbook.md");
        exit::check_docs("keyexport-offline", &EXIT_CODES, readme, runbook)
            .unwrap_or_else(|e| panic!("{e}"));
    }
}
